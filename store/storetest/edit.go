package storetest

import (
	"testing"
	"time"

	"github.com/havenhealth/haven/store"
)

func runEdits(t *testing.T, fresh func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Edits/EditKeepsHistory", testEditKeepsHistory},
		{"Edits/OnlyAuthorAndLive", testEditRefusals},
		{"Edits/RoomPIIPolicy", testRoomPIIPolicy},
		{"Edits/RetentionForgetsHistory", testEditHistoryRetention},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, fresh(t))
		})
	}
}

// testEditKeepsHistory: an edit replaces the text members read, keeps the earlier texts for
// moderators (oldest first) and is reported by EditTimes within the seq range asked for.
func testEditKeepsHistory(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "edits"), mkUser(t, s, "eve")
	m1 := post(t, s, r, u, "c1", "call me on 555 0100")
	m2 := post(t, s, r, u, "c2", "untouched")
	at1, at2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
	got, err := s.EditMessage(ctx, r.ID, m1.Seq, u.ID, "call me here", at1, nil)
	if err != nil {
		t.Fatalf("edit: %v", err)
	}
	if got.Text != "call me here" || got.Seq != m1.Seq || got.ID != m1.ID || got.Author != m1.Author ||
		!got.EditedAt.Equal(at1.Truncate(time.Microsecond)) || !got.CreatedAt.Equal(m1.CreatedAt) {
		t.Fatalf("edited = %+v", got)
	}
	if _, err := s.EditMessage(ctx, r.ID, m1.Seq, u.ID, "third text", at2, nil); err != nil {
		t.Fatalf("second edit: %v", err)
	}
	read, err := s.MessageBySeq(ctx, r.ID, m1.Seq)
	if err != nil || read.Text != "third text" {
		t.Fatalf("MessageBySeq after edits = %+v, %v", read, err)
	}
	hist, err := s.MessageEditHistory(ctx, r.ID, m1.Seq)
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	if len(hist) != 2 || hist[0].Text != "call me on 555 0100" || hist[1].Text != "call me here" ||
		!hist[0].EditedAt.Equal(at1.Truncate(time.Microsecond)) || hist[0].EditedAt.Location() != time.UTC ||
		hist[0].Seq != m1.Seq || hist[0].RoomID != r.ID {
		t.Fatalf("history = %+v", hist)
	}
	if h, err := s.MessageEditHistory(ctx, r.ID, m2.Seq); err != nil || len(h) != 0 {
		t.Fatalf("history of an unedited message = %+v, %v", h, err)
	}
	times, err := s.EditTimes(ctx, r.ID, 1, 10)
	if err != nil {
		t.Fatalf("EditTimes: %v", err)
	}
	if len(times) != 1 || !times[m1.Seq].Equal(at2.Truncate(time.Microsecond)) {
		t.Fatalf("EditTimes = %v; want only seq %d at %v", times, m1.Seq, at2)
	}
	if times, err := s.EditTimes(ctx, r.ID, 2, 10); err != nil || len(times) != 0 {
		t.Fatalf("EditTimes outside the range = %v, %v", times, err)
	}
	// The other room's seq 1 is not this one.
	other := mkRoom(t, s, "edits2")
	if times, err := s.EditTimes(ctx, other.ID, 1, 10); err != nil || len(times) != 0 {
		t.Fatalf("EditTimes of another room = %v, %v", times, err)
	}
}

// testEditRefusals: only the author edits; a deleted or missing message cannot be edited,
// and a refused edit stores nothing.
func testEditRefusals(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u, v := mkRoom(t, s, "editr"), mkUser(t, s, "fay"), mkUser(t, s, "gus")
	m := post(t, s, r, u, "c1", "original")
	_, err := s.EditMessage(ctx, r.ID, m.Seq, v.ID, "hijacked", t0, nil)
	wantErr(t, err, store.ErrNotFound, "edit by another member")
	_, err = s.EditMessage(ctx, r.ID, 99, u.ID, "nothing there", t0, nil)
	wantErr(t, err, store.ErrNotFound, "edit of a missing seq")
	if _, err := s.DeleteMessage(ctx, r.ID, m.Seq, "author", t0); err != nil {
		t.Fatal(err)
	}
	_, err = s.EditMessage(ctx, r.ID, m.Seq, u.ID, "after deletion", t0, nil)
	wantErr(t, err, store.ErrConflict, "edit of a deleted message")
	read, err := s.MessageBySeq(ctx, r.ID, m.Seq)
	if err != nil || read.Text != "original" {
		t.Fatalf("after refused edits = %+v, %v", read, err)
	}
	if h, err := s.MessageEditHistory(ctx, r.ID, m.Seq); err != nil || len(h) != 0 {
		t.Fatalf("history after refused edits = %+v, %v", h, err)
	}
}

// testRoomPIIPolicy: a new room has no policy of its own (the deployment default applies); setting the policy is audited in the chain.
func testRoomPIIPolicy(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "piip"), mkUser(t, s, "hal")
	if p, err := s.RoomPIIPolicy(ctx, r.ID); err != nil || p != "" {
		t.Fatalf("default policy = %q, %v", p, err)
	}
	e, err := s.SetRoomPIIPolicy(ctx, r.ID, store.PIIRedact, store.AuditEntry{RoomID: r.ID, ActorID: u.ID,
		Action: "room_update", Detail: `{"pii_policy":"redact"}`, At: t0})
	if err != nil || e.ID == 0 || e.Action != "room_update" {
		t.Fatalf("set policy = %+v, %v", e, err)
	}
	if p, err := s.RoomPIIPolicy(ctx, r.ID); err != nil || p != store.PIIRedact {
		t.Fatalf("policy after set = %q, %v", p, err)
	}
	es := verifyAll(t, s)
	if len(es) != 1 || es[0].Detail != `{"pii_policy":"redact"}` {
		t.Fatalf("audit chain = %+v", es)
	}
	_, err = s.SetRoomPIIPolicy(ctx, "r_missing", store.PIIHold, store.AuditEntry{RoomID: "r_missing", ActorID: u.ID,
		Action: "room_update", At: t0})
	wantErr(t, err, store.ErrNotFound, "policy of a missing room")
	_, err = s.RoomPIIPolicy(ctx, "r_missing")
	wantErr(t, err, store.ErrNotFound, "policy of a missing room")
	if es := verifyAll(t, s); len(es) != 1 {
		t.Fatalf("a refused change was audited: %d entries", len(es))
	}
}

// testEditHistoryRetention: a message blanked by retention takes its earlier texts with it
// (the store's trigger), while a moderator's deletion keeps them.
func testEditHistoryRetention(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "editret"), mkUser(t, s, "ivy")
	m1 := post(t, s, r, u, "c1", "first")
	m2 := post(t, s, r, u, "c2", "second")
	for _, m := range []store.Message{m1, m2} {
		if _, err := s.EditMessage(ctx, r.ID, m.Seq, u.ID, m.Text+" (edited)", t0.Add(time.Minute), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DeleteMessage(ctx, r.ID, m2.Seq, "moderator", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if h, err := s.MessageEditHistory(ctx, r.ID, m2.Seq); err != nil || len(h) != 1 {
		t.Fatalf("history after a moderator's deletion = %+v, %v; want it kept", h, err)
	}
	if _, err := s.ApplyRetention(ctx, r.ID, t0.Add(time.Hour), t0.Add(2*time.Hour)); err != nil {
		t.Fatalf("retention: %v", err)
	}
	for _, m := range []store.Message{m1, m2} {
		if h, err := s.MessageEditHistory(ctx, r.ID, m.Seq); err != nil || len(h) != 0 {
			t.Fatalf("history of seq %d after retention = %+v, %v; want none", m.Seq, h, err)
		}
	}
}
