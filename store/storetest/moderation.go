package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/store"
)

// runModeration runs the moderation and audit-log cases, each on a fresh store: the chain
// is deployment-wide, so cases that count entries cannot share one.
func runModeration(t *testing.T, fresh func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Moderation/MuteAndUnmute", testModMute},
		{"Moderation/BanAndUnban", testModBan},
		{"Moderation/RoomRole", testModRoomRole},
		{"Moderation/RoomPatch", testModRoomPatch},
		{"Moderation/DeleteSeq", testModDeleteSeq},
		{"Moderation/DeleteSince", testModDeleteSince},
		{"Moderation/FailedChangeStoresNothing", testModFailed},
		{"Audit/ChainVerifies", testAuditChain},
		{"Audit/ConcurrentChainLinear", testAuditConcurrent},
		{"Audit/LogFiltersAndPages", testAuditLog},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, fresh(t))
		})
	}
}

// zeroHash is the PrevHash of the first entry in the chain.
var zeroHash = make([]byte, 32)

func moderate(t *testing.T, s store.Store, ch store.ModerationChange) store.AuditEntry {
	t.Helper()
	if ch.Audit.ActorID == "" {
		ch.Audit.ActorID = "mod"
	}
	if ch.Audit.At.IsZero() {
		ch.Audit.At = t0
	}
	e, err := s.ApplyModeration(ctxT(t), ch)
	if err != nil {
		t.Fatalf("apply %s: %v", ch.Audit.Action, err)
	}
	return e
}

func membership(t *testing.T, s store.Store, roomID, userID string) store.Membership {
	t.Helper()
	m, err := s.Membership(ctxT(t), roomID, userID)
	if err != nil {
		t.Fatalf("membership %s/%s: %v", roomID, userID, err)
	}
	return m
}

// verifyAll reads the whole chain and checks it, returning it.
func verifyAll(t *testing.T, s store.Store) []store.AuditEntry {
	t.Helper()
	es, err := s.AuditChain(ctxT(t), 0, 10000)
	if err != nil {
		t.Fatalf("AuditChain: %v", err)
	}
	if bad := store.VerifyChain(zeroHash, es); bad != 0 {
		t.Fatalf("chain fails to verify at entry %d", bad)
	}
	for i, e := range es {
		if e.ID != int64(i+1) {
			t.Fatalf("entry %d has ID %d; IDs must run 1..N without gaps", i, e.ID)
		}
	}
	return es
}

func ptr[T any](v T) *T { return &v }

func testModMute(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "mute"), mkUser(t, s, "mutee")
	if _, err := s.AcceptGuidelines(ctx, r.ID, u.ID, 1, t0); err != nil {
		t.Fatal(err)
	}
	until := t0.Add(time.Hour)
	e := moderate(t, s, store.ModerationChange{
		Audit:      store.AuditEntry{RoomID: r.ID, TargetID: u.ID, Action: "mute", ExpiresAt: until, Detail: `{"duration_s":3600}`},
		MutedUntil: &until,
	})
	if e.ID != 1 || !e.ExpiresAt.Equal(until.Truncate(time.Microsecond)) {
		t.Fatalf("mute entry = %+v", e)
	}
	m := membership(t, s, r.ID, u.ID)
	if !m.MutedUntil.Equal(until.Truncate(time.Microsecond)) || m.AcceptedVersion != 1 || m.Role != store.RoomRoleMember || m.Banned {
		t.Fatalf("after mute: %+v (acceptance and role must survive)", m)
	}
	moderate(t, s, store.ModerationChange{
		Audit:      store.AuditEntry{RoomID: r.ID, TargetID: u.ID, Action: "unmute"},
		MutedUntil: &time.Time{},
	})
	if m := membership(t, s, r.ID, u.ID); !m.MutedUntil.IsZero() || m.AcceptedVersion != 1 {
		t.Fatalf("after unmute: %+v", m)
	}
	// Muting someone who never joined creates their membership.
	v := mkUser(t, s, "stranger")
	moderate(t, s, store.ModerationChange{
		Audit:      store.AuditEntry{RoomID: r.ID, TargetID: v.ID, Action: "mute"},
		MutedUntil: &until,
	})
	if m := membership(t, s, r.ID, v.ID); !m.MutedUntil.Equal(until.Truncate(time.Microsecond)) ||
		m.AcceptedVersion != 0 || m.Role != store.RoomRoleMember {
		t.Fatalf("mute of a non-member: %+v", m)
	}
}

func testModBan(t *testing.T, s store.Store) {
	r, u := mkRoom(t, s, "ban"), mkUser(t, s, "banee")
	until := t0.Add(time.Hour)
	moderate(t, s, store.ModerationChange{
		Audit:      store.AuditEntry{RoomID: r.ID, TargetID: u.ID, Action: "mute"},
		MutedUntil: &until,
	})
	moderate(t, s, store.ModerationChange{
		Audit: store.AuditEntry{RoomID: r.ID, TargetID: u.ID, Action: "ban"}, Banned: ptr(true),
	})
	if m := membership(t, s, r.ID, u.ID); !m.Banned || !m.MutedUntil.Equal(until.Truncate(time.Microsecond)) {
		t.Fatalf("after ban: %+v (the mute must be left alone)", m)
	}
	moderate(t, s, store.ModerationChange{
		Audit: store.AuditEntry{RoomID: r.ID, TargetID: u.ID, Action: "unban"}, Banned: ptr(false),
	})
	if m := membership(t, s, r.ID, u.ID); m.Banned {
		t.Fatalf("after unban: %+v", m)
	}
}

func testModRoomRole(t *testing.T, s store.Store) {
	r, u := mkRoom(t, s, "role"), mkUser(t, s, "host")
	moderate(t, s, store.ModerationChange{
		Audit:    store.AuditEntry{RoomID: r.ID, TargetID: u.ID, Action: "room_role", Detail: `{"role":"host"}`},
		RoomRole: ptr(store.RoomRoleHost),
	})
	if m := membership(t, s, r.ID, u.ID); m.Role != store.RoomRoleHost {
		t.Fatalf("after room_role: %+v", m)
	}
	moderate(t, s, store.ModerationChange{
		Audit: store.AuditEntry{RoomID: r.ID, TargetID: u.ID, Action: "ban"}, Banned: ptr(true),
	})
	if m := membership(t, s, r.ID, u.ID); m.Role != store.RoomRoleHost || !m.Banned {
		t.Fatalf("ban changed the role: %+v", m)
	}
}

func testModRoomPatch(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r := mkRoom(t, s, "patch")
	moderate(t, s, store.ModerationChange{
		Audit: store.AuditEntry{RoomID: r.ID, Action: "slow_mode", Detail: `{"seconds":30}`},
		Room:  &store.RoomPatch{SlowModeS: ptr(30)},
	})
	moderate(t, s, store.ModerationChange{
		Audit: store.AuditEntry{RoomID: r.ID, Action: "lock", Detail: `{"locked":true}`},
		Room:  &store.RoomPatch{Locked: ptr(true), Guidelines: ptr(r.Guidelines)},
	})
	got, err := s.RoomBySlug(ctx, r.Slug)
	if err != nil || got.SlowModeS != 30 || !got.Locked || got.GuidelinesVersion != 1 || got.Name != r.Name {
		t.Fatalf("after slow mode and lock: %+v, %v (unchanged guidelines must not bump the version)", got, err)
	}
	moderate(t, s, store.ModerationChange{
		Audit: store.AuditEntry{RoomID: r.ID, Action: "rule"},
		Room:  &store.RoomPatch{Guidelines: ptr("be kinder"), Locked: ptr(false)},
	})
	if got, _ := s.RoomBySlug(ctx, r.Slug); got.GuidelinesVersion != 2 || got.Guidelines != "be kinder" ||
		got.Locked || got.SlowModeS != 30 {
		t.Fatalf("after rule change: %+v", got)
	}
	_, err = s.ApplyModeration(ctx, store.ModerationChange{
		Audit: store.AuditEntry{RoomID: "no-such-room", ActorID: "mod", Action: "lock"},
		Room:  &store.RoomPatch{Locked: ptr(true)},
	})
	wantErr(t, err, store.ErrNotFound, "patch of an unknown room")
}

func testModDeleteSeq(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "del"), mkUser(t, s, "poster")
	m := post(t, s, r, u, "c1", "regrettable")
	at := t0.Add(time.Minute)
	moderate(t, s, store.ModerationChange{
		Audit:     store.AuditEntry{RoomID: r.ID, TargetID: u.ID, Action: "delete", At: at, Detail: fmt.Sprintf(`{"seq":%d}`, m.Seq)},
		DeleteSeq: m.Seq, DeleteBy: "moderator",
	})
	got, err := s.MessageBySeq(ctx, r.ID, m.Seq)
	if err != nil || got.Text != "regrettable" || got.DeletedBy != "moderator" ||
		!got.DeletedAt.Equal(at.Truncate(time.Microsecond)) {
		t.Fatalf("after delete: %+v, %v (text must be kept)", got, err)
	}
	// A second deletion is recorded but keeps the first one's time and actor.
	moderate(t, s, store.ModerationChange{
		Audit:     store.AuditEntry{RoomID: r.ID, Action: "delete", At: at.Add(time.Hour)},
		DeleteSeq: m.Seq, DeleteBy: "author",
	})
	if got, _ := s.MessageBySeq(ctx, r.ID, m.Seq); got.DeletedBy != "moderator" || !got.DeletedAt.Equal(at.Truncate(time.Microsecond)) {
		t.Fatalf("after second delete: %+v", got)
	}
	verifyAll(t, s)
}

func testModDeleteSince(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, other := mkRoom(t, s, "since"), mkRoom(t, s, "since2")
	u, v := mkUser(t, s, "spammer"), mkUser(t, s, "bystander")
	postAt := func(room store.Room, who store.User, at time.Time, text string) store.Message {
		t.Helper()
		m, _, err := s.AppendMessage(ctx, store.NewMessage{ID: ids.New("m_"), RoomID: room.ID, AuthorID: who.ID, Text: text, CreatedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	since := t0.Add(-time.Hour)
	old := postAt(r, u, since.Add(-time.Microsecond), "old")
	edge := postAt(r, u, since, "at the boundary")
	recent := postAt(r, u, t0, "recent")
	own, err := s.DeleteMessage(ctx, r.ID, postAt(r, u, t0, "self-deleted").Seq, "author", t0)
	if err != nil {
		t.Fatal(err)
	}
	others := postAt(r, v, t0, "someone else")
	elsewhere := postAt(other, u, t0, "other room")
	at := t0.Add(time.Minute)
	moderate(t, s, store.ModerationChange{
		Audit:       store.AuditEntry{RoomID: r.ID, TargetID: u.ID, Action: "remove", At: at},
		Banned:      ptr(true),
		DeleteSince: since,
	})
	for _, c := range []struct {
		room    store.Room
		m       store.Message
		deleted bool
		by      string
	}{
		{r, old, false, ""}, {r, edge, true, "moderator"}, {r, recent, true, "moderator"},
		{r, own, true, "author"}, {r, others, false, ""}, {other, elsewhere, false, ""},
	} {
		got, err := s.MessageBySeq(ctx, c.room.ID, c.m.Seq)
		if err != nil || got.Deleted() != c.deleted || got.DeletedBy != c.by || got.Text != c.m.Text {
			t.Errorf("%q: %+v, %v; want deleted=%v by %q", c.m.Text, got, err, c.deleted, c.by)
		}
		if c.deleted && c.by == "moderator" && !got.DeletedAt.Equal(at.Truncate(time.Microsecond)) {
			t.Errorf("%q deleted at %v, want %v", c.m.Text, got.DeletedAt, at)
		}
	}
}

func testModFailed(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "fail"), mkUser(t, s, "lucky")
	until := t0.Add(time.Hour)
	_, err := s.ApplyModeration(ctx, store.ModerationChange{
		Audit:      store.AuditEntry{RoomID: r.ID, TargetID: u.ID, ActorID: "mod", Action: "delete", At: t0},
		MutedUntil: &until, Banned: ptr(true),
		Room:      &store.RoomPatch{Locked: ptr(true)},
		DeleteSeq: 99, DeleteBy: "moderator",
	})
	wantErr(t, err, store.ErrNotFound, "delete of a missing message")
	_, err = s.Membership(ctx, r.ID, u.ID)
	wantErr(t, err, store.ErrNotFound, "membership after the failed change")
	if got, _ := s.RoomBySlug(ctx, r.Slug); got.Locked {
		t.Fatalf("failed change locked the room: %+v", got)
	}
	_, err = s.ApplyModeration(ctx, store.ModerationChange{
		Audit:  store.AuditEntry{RoomID: r.ID, TargetID: "ghost", ActorID: "mod", Action: "ban"},
		Banned: ptr(true),
	})
	wantErr(t, err, store.ErrNotFound, "ban of an unknown user")
	if es, err := s.AuditChain(ctx, 0, 100); err != nil || len(es) != 0 {
		t.Fatalf("audit after failed changes = %+v, %v; want none", es, err)
	}
	if e := moderate(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: r.ID, Action: "lock"},
		Room: &store.RoomPatch{Locked: ptr(true)}}); e.ID != 1 || string(e.PrevHash) != string(zeroHash) {
		t.Fatalf("first entry after failures = %+v", e)
	}
}

func sameEntry(a, b store.AuditEntry) bool {
	return a.ID == b.ID && a.RoomID == b.RoomID && a.ActorID == b.ActorID && a.TargetID == b.TargetID &&
		a.Action == b.Action && a.Reason == b.Reason && a.Detail == b.Detail && a.At.Equal(b.At) &&
		a.At.Location() == time.UTC && a.ExpiresAt.Equal(b.ExpiresAt) && a.ExpiresAt.IsZero() == b.ExpiresAt.IsZero() &&
		string(a.PrevHash) == string(b.PrevHash) && string(a.Hash) == string(b.Hash)
}

func testAuditChain(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "chain"), mkUser(t, s, "target")
	local := time.FixedZone("X", -(3*3600 + 1800))
	var stored []store.AuditEntry
	for i := range 5 {
		at := t0.Add(time.Duration(i) * time.Second).In(local) // with sub-microsecond noise
		stored = append(stored, moderate(t, s, store.ModerationChange{
			Audit: store.AuditEntry{RoomID: r.ID, TargetID: u.ID, ActorID: "mod-1", Action: "mute",
				Reason: fmt.Sprintf("reason %d — ünïcode", i), Detail: fmt.Sprintf(`{ "duration_s" : %d,"b":1 }`, i*60),
				At: at, ExpiresAt: at.Add(time.Duration(i) * time.Minute)},
			MutedUntil: ptr(at.Add(time.Duration(i) * time.Minute)),
		}))
	}
	// A deployment-wide entry with no room, target or expiry.
	stored = append(stored, moderate(t, s, store.ModerationChange{Audit: store.AuditEntry{Action: "role", Reason: "promote"}}))
	for i, e := range stored {
		if e.ID != int64(i+1) || len(e.Hash) != 32 || e.At.Location() != time.UTC || e.At.Nanosecond()%1000 != 0 {
			t.Fatalf("returned entry %d = %+v", i, e)
		}
	}
	if string(stored[0].PrevHash) != string(zeroHash) || string(stored[1].PrevHash) != string(stored[0].Hash) {
		t.Fatalf("chain links: %x, %x", stored[0].PrevHash, stored[1].PrevHash)
	}
	es := verifyAll(t, s)
	if len(es) != len(stored) {
		t.Fatalf("chain has %d entries, want %d", len(es), len(stored))
	}
	for i := range es {
		if !sameEntry(es[i], stored[i]) {
			t.Fatalf("read back entry %d:\n got %+v\nwant %+v", i+1, es[i], stored[i])
		}
	}
	// Verification can resume from any entry.
	part, err := s.AuditChain(ctx, 2, 2)
	if err != nil || len(part) != 2 || part[0].ID != 3 || part[1].ID != 4 {
		t.Fatalf("AuditChain(2, 2) = %+v, %v", part, err)
	}
	if bad := store.VerifyChain(es[1].Hash, part); bad != 0 {
		t.Fatalf("partial chain fails at %d", bad)
	}
	if none, err := s.AuditChain(ctx, 6, 10); err != nil || len(none) != 0 {
		t.Fatalf("AuditChain past the end = %+v, %v", none, err)
	}
}

func testAuditConcurrent(t *testing.T, s store.Store) {
	rooms := []store.Room{mkRoom(t, s, "conc1"), mkRoom(t, s, "conc2")}
	users := []store.User{mkUser(t, s, "c1"), mkUser(t, s, "c2"), mkUser(t, s, "c3")}
	const n = 20
	var wg sync.WaitGroup
	got, errs := make([]int64, n), make([]error, n)
	for i := range n {
		wg.Go(func() {
			until := t0.Add(time.Duration(i) * time.Minute)
			ch := store.ModerationChange{
				Audit: store.AuditEntry{RoomID: rooms[i%2].ID, TargetID: users[i%3].ID, ActorID: "mod",
					Action: "mute", Reason: fmt.Sprint("r", i), At: time.Now()},
				MutedUntil: &until,
			}
			if i%4 == 0 {
				ch.Room = &store.RoomPatch{SlowModeS: ptr(i)}
			}
			e, err := s.ApplyModeration(ctxT(t), ch)
			got[i], errs[i] = e.ID, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent ApplyModeration: %v", err)
	}
	slices.Sort(got)
	for i, id := range got {
		if id != int64(i+1) {
			t.Fatalf("returned IDs %v, want 1..%d each once", got, n)
		}
	}
	if es := verifyAll(t, s); len(es) != n {
		t.Fatalf("chain has %d entries, want %d", len(es), n)
	}
}

func testAuditLog(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	a, b := mkRoom(t, s, "loga"), mkRoom(t, s, "logb")
	var inA []int64
	for i := range 7 {
		room := a
		if i%3 == 2 {
			room = b
		}
		e := moderate(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: room.ID, Action: "slow_mode"},
			Room: &store.RoomPatch{SlowModeS: ptr(i)}})
		if room.ID == a.ID {
			inA = append([]int64{e.ID}, inA...) // newest first
		}
	}
	var paged []int64
	for before := int64(0); len(paged) < 10; {
		page, err := s.AuditLog(ctx, a.ID, before, 2)
		if err != nil || len(page) > 2 {
			t.Fatalf("AuditLog(%d, 2) = %+v, %v", before, page, err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if e.RoomID != a.ID {
				t.Fatalf("room filter leaked %+v", e)
			}
			paged, before = append(paged, e.ID), e.ID
		}
	}
	if !slices.Equal(paged, inA) {
		t.Fatalf("paged room log = %v, want %v", paged, inA)
	}
	all, err := s.AuditLog(ctx, "", 0, 100)
	if err != nil || len(all) != 7 || all[0].ID != 7 || all[6].ID != 1 {
		t.Fatalf("AuditLog all rooms = %d entries, %v", len(all), err)
	}
	if page, err := s.AuditLog(ctx, "", 4, 2); err != nil || len(page) != 2 || page[0].ID != 3 || page[1].ID != 2 {
		t.Fatalf("AuditLog before 4 = %+v, %v", page, err)
	}
	if page, err := s.AuditLog(ctx, "no-such-room", 0, 10); err != nil || len(page) != 0 {
		t.Fatalf("AuditLog unknown room = %+v, %v", page, err)
	}
}
