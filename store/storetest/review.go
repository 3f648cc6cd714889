package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/store"
)

// runReview runs the keyword-rule, held-message and report-review cases, each on a fresh
// store (they count audit entries).
func runReview(t *testing.T, fresh func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Review/Rules", testRules},
		{"Review/HoldAndDedupe", testHold},
		{"Review/HeldList", testHeldList},
		{"Review/Approve", testApprove},
		{"Review/ApproveClientIDTaken", testApproveClientIDTaken},
		{"Review/ConcurrentApprove", testConcurrentApprove},
		{"Review/ApproveRacesAppends", testApproveRacesAppends},
		{"Review/Reject", testReject},
		{"Review/Reports", testReviewReports},
		{"Review/UserRole", testUserRoleAudited},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, fresh(t))
		})
	}
}

// auditLen is the length of the whole chain, which must verify.
func auditLen(t *testing.T, s store.Store) int {
	t.Helper()
	return len(verifyAll(t, s))
}

// refused applies ch, which must fail with target and store nothing in the audit log.
func refused(t *testing.T, s store.Store, ch store.ModerationChange, target error, what string) {
	t.Helper()
	before := auditLen(t, s)
	if ch.Audit.ActorID == "" {
		ch.Audit.ActorID = "mod"
	}
	_, err := s.ApplyModeration(ctxT(t), ch)
	if target == nil {
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
	} else {
		wantErr(t, err, target, what)
	}
	if n := auditLen(t, s); n != before {
		t.Fatalf("%s: audit log grew from %d to %d entries", what, before, n)
	}
}

func hold(t *testing.T, s store.Store, room store.Room, u store.User, cid, text string, at time.Time) store.HeldMessage {
	t.Helper()
	h, dup, err := s.HoldMessage(ctxT(t), store.HeldMessage{ID: ids.New("h_"), RoomID: room.ID, Author: store.Author{ID: u.ID},
		ClientMsgID: cid, Text: text, Reason: "held by rule", RuleID: "rule-1", CreatedAt: at})
	if err != nil || dup {
		t.Fatalf("hold %q: %+v, dup=%v, %v", text, h, dup, err)
	}
	return h
}

func held(t *testing.T, s store.Store, id string) store.HeldMessage {
	t.Helper()
	h, err := s.HeldMessage(ctxT(t), id)
	if err != nil {
		t.Fatalf("held message %s: %v", id, err)
	}
	return h
}

func approve(t *testing.T, s store.Store, h store.HeldMessage, at time.Time) (store.Message, store.AuditEntry, error) {
	return s.ApproveHeld(ctxT(t), h.ID, store.AuditEntry{RoomID: h.RoomID, ActorID: "mod", TargetID: h.Author.ID,
		Action: "approve", Detail: fmt.Sprintf(`{"held_id":%q}`, h.ID), At: at})
}

func testRules(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	a, b := mkRoom(t, s, "rules-a"), mkRoom(t, s, "rules-b")
	add := func(room store.Room, id, pattern string, at time.Time) store.AuditEntry {
		t.Helper()
		return moderate(t, s, store.ModerationChange{
			Audit:   store.AuditEntry{RoomID: room.ID, ActorID: "mod-7", Action: "rule_add", Detail: fmt.Sprintf(`{"rule_id":%q}`, id), At: at},
			AddRule: &store.Rule{ID: id, Kind: store.RuleWord, Pattern: pattern, Action: store.RuleHold, Reason: "no " + pattern},
		})
	}
	add(a, "ru2", "pills", t0.Add(2*time.Second))
	add(a, "ru1", "cure", t0.Add(time.Second))
	add(b, "ru3", "miracle", t0)
	moderate(t, s, store.ModerationChange{
		Audit: store.AuditEntry{RoomID: a.ID, Action: "rule_add"},
		AddRule: &store.Rule{ID: "ru4", RoomID: a.ID, Kind: store.RuleRegex, Pattern: `(?i)buy\s+now`, Action: store.RuleBlock,
			Reason: "ads", CreatedBy: "admin-1", CreatedAt: t0.Add(3 * time.Second)},
	})
	got, err := s.Rules(ctx, a.ID)
	if err != nil || len(got) != 3 {
		t.Fatalf("Rules(a) = %+v, %v; want 3", got, err)
	}
	want := store.Rule{ID: "ru1", RoomID: a.ID, Kind: store.RuleWord, Pattern: "cure", Action: store.RuleHold,
		Reason: "no cure", CreatedBy: "mod-7", CreatedAt: t0.Add(time.Second).Truncate(time.Microsecond)}
	if got[0] != want || got[1].ID != "ru2" || got[2].ID != "ru4" || got[2].CreatedBy != "admin-1" || got[2].Pattern != `(?i)buy\s+now` {
		t.Fatalf("Rules(a) = %+v; want ru1 (%+v), ru2, ru4 oldest first", got, want)
	}
	if got[0].CreatedAt.Location() != time.UTC {
		t.Fatalf("rule CreatedAt %v not in UTC", got[0].CreatedAt)
	}

	refused(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: a.ID, Action: "rule_remove"}, RemoveRuleID: "ru3"},
		store.ErrNotFound, "remove another room's rule")
	refused(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: a.ID, Action: "rule_remove"}, RemoveRuleID: "nope"},
		store.ErrNotFound, "remove an unknown rule")
	refused(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: a.ID, Action: "rule_add"},
		AddRule: &store.Rule{ID: "ru1", Kind: store.RuleWord, Pattern: "x", Action: store.RuleAlert}},
		store.ErrConflict, "reused rule id")
	refused(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: "no-such-room", Action: "rule_add"},
		AddRule: &store.Rule{ID: "ru9", Kind: store.RuleWord, Pattern: "x", Action: store.RuleAlert}},
		store.ErrNotFound, "rule of an unknown room")
	refused(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: a.ID, Action: "rule_add"},
		AddRule: &store.Rule{ID: "ru9", RoomID: b.ID, Kind: store.RuleWord, Pattern: "x", Action: store.RuleAlert}},
		nil, "rule naming another room than its entry")

	e := moderate(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: a.ID, Action: "rule_remove"}, RemoveRuleID: "ru2"})
	if got, err := s.Rules(ctx, a.ID); err != nil || len(got) != 2 || got[0].ID != "ru1" || got[1].ID != "ru4" {
		t.Fatalf("Rules(a) after removing ru2 = %+v, %v", got, err)
	}
	if got, err := s.Rules(ctx, b.ID); err != nil || len(got) != 1 || got[0].ID != "ru3" {
		t.Fatalf("Rules(b) = %+v, %v; the other room's rule must stay", got, err)
	}
	if got, err := s.Rules(ctx, "no-such-room"); err != nil || len(got) != 0 {
		t.Fatalf("Rules(unknown) = %+v, %v", got, err)
	}
	es := verifyAll(t, s)
	if len(es) != 5 || !sameEntry(es[4], e) || es[0].Action != "rule_add" || es[0].ActorID != "mod-7" {
		t.Fatalf("audit = %+v; want 4 additions and the removal, chained", es)
	}
}

func testHold(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "hold"), mkUser(t, s, "holdee")
	if _, err := s.SetUserRole(ctx, u.ID, store.RoleClinician, true); err != nil {
		t.Fatal(err)
	}
	first := hold(t, s, r, u, "c1", "buy my cure", t0)
	want := store.HeldMessage{ID: first.ID, RoomID: r.ID,
		Author:      store.Author{ID: u.ID, DisplayName: "holdee", Role: store.RoleClinician, Verified: true},
		ClientMsgID: "c1", Text: "buy my cure", Reason: "held by rule", RuleID: "rule-1",
		CreatedAt: t0.Truncate(time.Microsecond), Status: store.HeldPending}
	if first != want {
		t.Fatalf("held = %+v\nwant %+v", first, want)
	}
	if got := held(t, s, first.ID); got != want || got.CreatedAt.Location() != time.UTC {
		t.Fatalf("HeldMessage = %+v\nwant %+v", got, want)
	}
	again, dup, err := s.HoldMessage(ctx, store.HeldMessage{ID: ids.New("h_"), RoomID: r.ID, Author: store.Author{ID: u.ID},
		ClientMsgID: "c1", Text: "resent", CreatedAt: t0.Add(time.Minute)})
	if err != nil || !dup || again != want {
		t.Fatalf("resend = %+v, dup=%v, %v; want the first hold, dup=true", again, dup, err)
	}
	// An empty client id is never deduplicated.
	n1, n2 := hold(t, s, r, u, "", "same", t0), hold(t, s, r, u, "", "same", t0)
	if n1.ID == n2.ID {
		t.Fatal("two holds without a client id were merged")
	}
	// The same client id in another room, or by another author, is another post.
	hold(t, s, mkRoom(t, s, "hold2"), u, "c1", "elsewhere", t0)
	hold(t, s, r, mkUser(t, s, "other"), "c1", "someone else", t0)

	_, _, err = s.HoldMessage(ctx, store.HeldMessage{ID: first.ID, RoomID: r.ID, Author: store.Author{ID: u.ID}, ClientMsgID: "c2", Text: "x"})
	wantErr(t, err, store.ErrConflict, "reused held id")
	_, _, err = s.HoldMessage(ctx, store.HeldMessage{ID: "h-x", RoomID: "no-such-room", Author: store.Author{ID: u.ID}, Text: "x"})
	wantErr(t, err, store.ErrNotFound, "hold in an unknown room")
	_, _, err = s.HoldMessage(ctx, store.HeldMessage{ID: "h-y", RoomID: r.ID, Author: store.Author{ID: "ghost"}, Text: "x"})
	wantErr(t, err, store.ErrNotFound, "hold by an unknown author")
	_, err = s.HeldMessage(ctx, "h-none")
	wantErr(t, err, store.ErrNotFound, "unknown held message")
}

func testHeldList(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	a, b, u := mkRoom(t, s, "queue-a"), mkRoom(t, s, "queue-b"), mkUser(t, s, "queued")
	var hs []store.HeldMessage
	for i := range 4 {
		hs = append(hs, hold(t, s, a, u, fmt.Sprint("c", i), fmt.Sprint("post ", i), t0.Add(time.Duration(4-i)*time.Second)))
	}
	hold(t, s, b, u, "cb", "other room", t0)
	moderate(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: a.ID, Action: "reject"}, RejectHeldID: hs[1].ID})
	texts := func(l []store.HeldMessage) (out []string) {
		for _, h := range l {
			out = append(out, h.Text)
		}
		return out
	}
	for _, c := range []struct {
		status string
		limit  int
		want   string
	}{
		{store.HeldPending, 10, "[post 3 post 2 post 0]"},
		{store.HeldPending, 2, "[post 3 post 2]"},
		{"", 10, "[post 3 post 2 post 1 post 0]"},
		{store.HeldRejected, 10, "[post 1]"},
		{store.HeldApproved, 10, "[]"},
		{store.HeldPending, 0, "[]"},
	} {
		got, err := s.HeldMessages(ctx, a.ID, c.status, c.limit)
		if err != nil || fmt.Sprint(texts(got)) != c.want {
			t.Errorf("HeldMessages(%q, %d) = %v, %v; want %s (oldest first)", c.status, c.limit, texts(got), err, c.want)
		}
		for _, h := range got {
			if h.RoomID != a.ID || h.Author.DisplayName != "queued" {
				t.Errorf("HeldMessages leaked or lacks the author: %+v", h)
			}
		}
	}
}

func testApprove(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, other, u := mkRoom(t, s, "approve"), mkRoom(t, s, "approve2"), mkUser(t, s, "approvee")
	post(t, s, r, u, "p1", "one")
	post(t, s, r, u, "p2", "two")
	h := hold(t, s, r, u, "c1", "held post", t0)
	unchanged := func(err, target error, what string) {
		t.Helper()
		wantErr(t, err, target, what)
		if n := auditLen(t, s); n != 1 {
			t.Fatalf("%s: audit log has %d entries, want 1", what, n)
		}
	}
	_, _, err := s.ApproveHeld(ctx, h.ID, store.AuditEntry{RoomID: other.ID, ActorID: "mod", Action: "approve"})
	wantErr(t, err, store.ErrNotFound, "approve in another room")
	_, _, err = s.ApproveHeld(ctx, "h-none", store.AuditEntry{RoomID: r.ID, ActorID: "mod", Action: "approve"})
	wantErr(t, err, store.ErrNotFound, "approve an unknown held message")
	if n := auditLen(t, s); n != 0 {
		t.Fatalf("failed approvals left %d audit entries", n)
	}

	at := t0.Add(time.Hour)
	m, e, err := approve(t, s, h, at)
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	if m.Seq != 3 || m.RoomID != r.ID || m.ID == "" || m.Author != h.Author || m.ClientMsgID != "c1" || m.Text != "held post" ||
		!m.CreatedAt.Equal(at.Truncate(time.Microsecond)) || m.CreatedAt.Location() != time.UTC || m.Deleted() {
		t.Fatalf("approved message = %+v; want seq 3 at the approval time, author %+v", m, h.Author)
	}
	es := verifyAll(t, s)
	if len(es) != 1 || !sameEntry(es[0], e) || e.Action != "approve" || e.RoomID != r.ID || !e.At.Equal(m.CreatedAt) {
		t.Fatalf("audit = %+v, returned %+v", es, e)
	}
	if got, err := s.MessagesAfter(ctx, r.ID, 2, 10); err != nil || len(got) != 1 || got[0] != m {
		t.Fatalf("MessagesAfter(2) = %+v, %v; want the approved message", got, err)
	}
	if room, err := s.RoomBySlug(ctx, r.Slug); err != nil || room.LastSeq != 3 {
		t.Fatalf("room after approval: %+v, %v; want last seq 3", room, err)
	}
	got := held(t, s, h.ID)
	if got.Status != store.HeldApproved || got.Seq != 3 || got.DecidedBy != "mod" || !got.DecidedAt.Equal(m.CreatedAt) ||
		got.Text != h.Text {
		t.Fatalf("held after approval = %+v", got)
	}

	_, _, err = approve(t, s, h, at)
	unchanged(err, store.ErrConflict, "second approval")
	_, err = s.ApplyModeration(ctx, store.ModerationChange{Audit: store.AuditEntry{RoomID: r.ID, ActorID: "mod", Action: "reject"},
		RejectHeldID: h.ID})
	unchanged(err, store.ErrConflict, "rejection after approval")

	// The author's resend after approval returns the published message.
	re, dup, err := s.AppendMessage(ctx, store.NewMessage{ID: ids.New("m_"), RoomID: r.ID, AuthorID: u.ID, ClientMsgID: "c1", Text: "held post"})
	if err != nil || !dup || re.Seq != 3 {
		t.Fatalf("resend after approval = %+v, dup=%v, %v; want seq 3, duplicate", re, dup, err)
	}
	if next := post(t, s, r, u, "p4", "four"); next.Seq != 4 {
		t.Fatalf("append after approval got seq %d, want 4", next.Seq)
	}
	again, dup, err := s.HoldMessage(ctx, store.HeldMessage{ID: ids.New("h_"), RoomID: r.ID, Author: store.Author{ID: u.ID}, ClientMsgID: "c1", Text: "x"})
	if err != nil || !dup || again.Seq != 3 || again.Status != store.HeldApproved {
		t.Fatalf("hold resend after approval = %+v, dup=%v, %v; want the approved hold with its seq", again, dup, err)
	}
}

// testApproveClientIDTaken: a message already stored under the held post's client_msg_id
// makes the approval a conflict, with nothing stored and no seq taken.
func testApproveClientIDTaken(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "taken"), mkUser(t, s, "taker")
	h := hold(t, s, r, u, "c1", "held", t0)
	post(t, s, r, u, "c1", "published meanwhile")
	_, _, err := approve(t, s, h, t0)
	wantErr(t, err, store.ErrConflict, "approve with the client id taken")
	if n := auditLen(t, s); n != 0 {
		t.Fatalf("failed approval left %d audit entries", n)
	}
	if got := held(t, s, h.ID); got.Status != store.HeldPending || got.Seq != 0 {
		t.Fatalf("held after failed approval = %+v", got)
	}
	if room, err := s.RoomBySlug(ctx, r.Slug); err != nil || room.LastSeq != 1 {
		t.Fatalf("room after failed approval = %+v, %v; want last seq 1", room, err)
	}
	if m := post(t, s, r, u, "c2", "next"); m.Seq != 2 {
		t.Fatalf("append after failed approval got seq %d, want 2", m.Seq)
	}
}

func testReject(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, other, u := mkRoom(t, s, "reject"), mkRoom(t, s, "reject2"), mkUser(t, s, "rejectee")
	h := hold(t, s, r, u, "c1", "held", t0)
	refused(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: other.ID, Action: "reject"}, RejectHeldID: h.ID},
		store.ErrNotFound, "reject in another room")
	refused(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: r.ID, Action: "reject"}, RejectHeldID: "h-none"},
		store.ErrNotFound, "reject an unknown held message")
	at := t0.Add(time.Minute)
	e := moderate(t, s, store.ModerationChange{
		Audit:        store.AuditEntry{RoomID: r.ID, ActorID: "mod-2", TargetID: u.ID, Action: "reject", Reason: "off topic", At: at},
		RejectHeldID: h.ID,
	})
	got := held(t, s, h.ID)
	if got.Status != store.HeldRejected || got.DecidedBy != "mod-2" || !got.DecidedAt.Equal(at.Truncate(time.Microsecond)) || got.Seq != 0 {
		t.Fatalf("held after rejection = %+v", got)
	}
	refused(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: r.ID, Action: "reject"}, RejectHeldID: h.ID},
		store.ErrConflict, "second rejection")
	_, _, err := approve(t, s, h, at)
	wantErr(t, err, store.ErrConflict, "approval after rejection")
	if es := verifyAll(t, s); len(es) != 1 || !sameEntry(es[0], e) {
		t.Fatalf("audit = %+v; want only the rejection", es)
	}
	if room, _ := s.RoomBySlug(ctx, r.Slug); room.LastSeq != 0 {
		t.Fatalf("rejection published something: last seq %d", room.LastSeq)
	}
}
