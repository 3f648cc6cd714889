package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/store"
)

// testConcurrentApprove: of 8 moderators approving the same post at once, exactly one
// publishes it; the others get ErrConflict and store nothing.
func testConcurrentApprove(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "race"), mkUser(t, s, "racer")
	h := hold(t, s, r, u, "c1", "contested", t0)
	const n = 8
	var wg sync.WaitGroup
	msgs, errs := make([]store.Message, n), make([]error, n)
	for i := range n {
		wg.Go(func() {
			msgs[i], _, errs[i] = s.ApproveHeld(ctx, h.ID, store.AuditEntry{RoomID: r.ID, ActorID: fmt.Sprint("mod-", i),
				Action: "approve", At: time.Now()})
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("approvals %d and %d both succeeded", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("approval %d: %v, want ErrConflict", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no approval succeeded")
	}
	if got, err := s.MessagesAfter(ctx, r.ID, 0, 10); err != nil || len(got) != 1 || got[0] != msgs[won] || got[0].Seq != 1 {
		t.Fatalf("messages = %+v, %v; want only the one approval's, at seq 1", got, err)
	}
	if got := held(t, s, h.ID); got.DecidedBy != fmt.Sprint("mod-", won) || got.Seq != 1 {
		t.Fatalf("held = %+v; want decided by the winner", got)
	}
	if es := verifyAll(t, s); len(es) != 1 || es[0].ActorID != fmt.Sprint("mod-", won) {
		t.Fatalf("audit = %+v; want the winner's entry only", es)
	}
}

// testApproveRacesAppends: approvals running among ordinary appends to the same room keep
// its seqs gap-free and strictly increasing, each message at the seq it was given.
func testApproveRacesAppends(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u, v := mkRoom(t, s, "mixed"), mkUser(t, s, "holder"), mkUser(t, s, "chatter")
	const nHeld, nPosts = 10, 50
	var hs []store.HeldMessage
	for i := range nHeld {
		hs = append(hs, hold(t, s, r, u, fmt.Sprint("h", i), fmt.Sprint("held ", i), t0))
	}
	var wg sync.WaitGroup
	got, errs := make([]store.Message, nHeld+nPosts), make([]error, nHeld+nPosts)
	for i := range nHeld + nPosts {
		wg.Go(func() {
			if i < nHeld {
				got[i], _, errs[i] = approve(t, s, hs[i], time.Now())
				return
			}
			got[i], _, errs[i] = s.AppendMessage(ctx, store.NewMessage{ID: ids.New("m_"), RoomID: r.ID, AuthorID: v.ID,
				ClientMsgID: fmt.Sprint("p", i), Text: fmt.Sprint("post ", i), CreatedAt: time.Now()})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent approvals and appends: %v", err)
	}
	stored, err := s.MessagesAfter(ctx, r.ID, 0, 1000)
	if err != nil || len(stored) != nHeld+nPosts {
		t.Fatalf("stored %d messages, %v; want %d", len(stored), err, nHeld+nPosts)
	}
	bySeq := map[int64]store.Message{}
	for i, m := range stored {
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d has seq %d; seqs must run 1..%d without gaps", i, m.Seq, len(stored))
		}
		bySeq[m.Seq] = m
	}
	for i, m := range got {
		if bySeq[m.Seq] != m {
			t.Fatalf("call %d returned %+v, stored at that seq: %+v", i, m, bySeq[m.Seq])
		}
	}
	for i, h := range hs {
		if g := held(t, s, h.ID); g.Status != store.HeldApproved || g.Seq != got[i].Seq || bySeq[g.Seq].ClientMsgID != h.ClientMsgID {
			t.Fatalf("held %d = %+v, published as %+v", i, g, got[i])
		}
	}
	if room, err := s.RoomBySlug(ctx, r.Slug); err != nil || room.LastSeq != nHeld+nPosts {
		t.Fatalf("room = %+v, %v; want last seq %d", room, err, nHeld+nPosts)
	}
	if es := verifyAll(t, s); len(es) != nHeld {
		t.Fatalf("audit has %d entries, want %d", len(es), nHeld)
	}
	if m := post(t, s, r, v, "after", "after"); m.Seq != nHeld+nPosts+1 {
		t.Fatalf("next append got seq %d, want %d", m.Seq, nHeld+nPosts+1)
	}
}
