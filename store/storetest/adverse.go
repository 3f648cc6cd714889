package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/store"
)

// runAdverse runs the adverse-event case, follow-up, crisis alert and access-audit cases,
// each on a fresh store. Immutability of the snapshot at the database level is tested by
// each backend with raw SQL (store/*/adverse_test.go).
func runAdverse(t *testing.T, fresh func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"AE/OpenAndRead", testAEOpen},
		{"AE/OpenWithMessage", testAEWithMessage},
		{"AE/OpenWithHold", testAEWithHold},
		{"AE/OpenWithEdit", testAEWithEdit},
		{"AE/ConfiguredDueTimes", testAEConfiguredDue},
		{"AE/UnknownRoom", testAEUnknownRoom},
		{"AE/SurvivesDeleteAndBan", testAESurvives},
		{"AE/Close", testAEClose},
		{"AE/Forward", testAEForward},
		{"AE/Filters", testAEFilters},
		{"AE/Followups", testAEFollowups},
		{"AE/AlertOnceAndCount", testAEAlerted},
		{"Crisis/RecordListAcknowledge", testCrisis},
		{"Audit/AppendKeepsChain", testAppendAudit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, fresh(t))
		})
	}
}

// aeFixture is a room, an author and a published post naming a product and a reaction.
func aeFixture(t *testing.T, s store.Store, slug string) (store.Room, store.User, store.Message) {
	t.Helper()
	r, u := mkRoom(t, s, slug), mkUser(t, s, slug+"-author")
	return r, u, post(t, s, r, u, "", "since starting drugzol I get awful headaches")
}

func openCase(t *testing.T, s store.Store, c store.NewAECase) store.AECase {
	t.Helper()
	id, err := s.OpenAECase(ctxT(t), c)
	if err != nil {
		t.Fatalf("OpenAECase: %v", err)
	}
	got, err := s.AECase(ctxT(t), id)
	if err != nil {
		t.Fatalf("AECase %s: %v", id, err)
	}
	return got
}

func newCase(r store.Room, u store.User, m store.Message, aware time.Time) store.NewAECase {
	return store.NewAECase{RoomID: r.ID, MessageID: m.ID, MessageSeq: m.Seq, AuthorID: u.ID, Text: m.Text,
		Products: []string{"drugzol"}, Reactions: []string{"headache"}, Terms: []string{"drugzol", "headaches"},
		AwareAt: aware}
}

func testAEOpen(t *testing.T, s store.Store) {
	r, u, m := aeFixture(t, s, "ae-open")
	c := openCase(t, s, newCase(r, u, m, t0))
	aware := t0.Truncate(time.Microsecond)
	fwd, reg := store.AEDueTimes(aware, store.DefaultAEForwardBusinessDays, store.DefaultAERegulatoryDays)
	if c.ID == "" || c.RoomID != r.ID || c.RoomSlug != r.Slug || c.MessageID != m.ID || c.MessageSeq != m.Seq ||
		c.AuthorID != u.ID || c.Text != m.Text || c.Status != store.AEOpen {
		t.Fatalf("case = %+v", c)
	}
	if !slices.Equal(c.Products, []string{"drugzol"}) || !slices.Equal(c.Reactions, []string{"headache"}) ||
		!slices.Equal(c.Terms, []string{"drugzol", "headaches"}) {
		t.Fatalf("terms = %q %q %q", c.Products, c.Reactions, c.Terms)
	}
	if !c.AwareAt.Equal(aware) || !c.ForwardDueAt.Equal(fwd) || !c.RegulatoryDueAt.Equal(reg) ||
		c.AwareAt.Location() != time.UTC {
		t.Fatalf("times = %v %v %v; want %v %v %v (defaults)", c.AwareAt, c.ForwardDueAt, c.RegulatoryDueAt, aware, fwd, reg)
	}
	if !c.ClosedAt.IsZero() || !c.ForwardedAt.IsZero() || c.Followups == nil || len(c.Followups) != 0 {
		t.Fatalf("fresh case = %+v", c)
	}
	_, err := s.AECase(ctxT(t), "ae_nope")
	wantErr(t, err, store.ErrNotFound, "unknown case")
	_, err = s.OpenAECase(ctxT(t), store.NewAECase{ID: c.ID, RoomID: r.ID, AuthorID: u.ID, Text: "x", AwareAt: t0})
	wantErr(t, err, store.ErrConflict, "reused case ID")
}

// A case opened with its message, in the append's transaction, names the message's seq and
// puts it under legal hold; a resend opens no second case, and a failed append opens none.
func testAEWithMessage(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "ae-append"), mkUser(t, s, "ae-append-author")
	before := post(t, s, r, u, "", "nothing to report")
	text := "since starting drugzol I get awful headaches"
	withCase := func(roomID string) store.NewMessage {
		return store.NewMessage{ID: ids.New("m_"), RoomID: roomID, AuthorID: u.ID, ClientMsgID: "c-ae", Text: text,
			CreatedAt: t0, AECase: screenedCase(roomID, u.ID, text)}
	}
	nm := withCase(r.ID)
	m, dup, err := s.AppendMessage(ctx, nm)
	if err != nil || dup || m.Seq != before.Seq+1 {
		t.Fatalf("append with a case = %+v, dup %v, %v", m, dup, err)
	}
	c, err := s.AECase(ctx, nm.AECase.ID)
	if err != nil || c.MessageID != m.ID || c.MessageSeq != m.Seq || c.Text != text || c.Status != store.AEOpen {
		t.Fatalf("case = %+v, %v", c, err)
	}
	again := withCase(r.ID)
	if prev, dup, err := s.AppendMessage(ctx, again); err != nil || !dup || prev.Seq != m.Seq {
		t.Fatalf("resend = %+v, dup %v, %v", prev, dup, err)
	}
	wantNoCase(t, s, again.AECase.ID, "a resend opened a case")
	lost := withCase("r_nope")
	_, _, err = s.AppendMessage(ctx, lost)
	wantErr(t, err, store.ErrNotFound, "append with a case to an unknown room")
	wantNoCase(t, s, lost.AECase.ID, "a failed append opened a case")
	if res := erase(t, s, u, store.ErasureDelete); res.LegalHold != 1 {
		t.Fatalf("erasure = %+v, want the case's message kept under legal hold", res)
	}
}

// screenedCase is the case the screens open for text, as the pipeline hands it to the store
// with a post, hold or edit (the store fills in what opens it).
func screenedCase(roomID, authorID, text string) *store.NewAECase {
	return &store.NewAECase{ID: ids.New("ae_"), RoomID: roomID, AuthorID: authorID, Text: text,
		Products: []string{"drugzol"}, Reactions: []string{"headache"}, AwareAt: t0}
}

// wantNoCase fails unless there is no case id: what (a resend, a refused write) opened none.
func wantNoCase(t *testing.T, s store.Store, id, what string) {
	t.Helper()
	if _, err := s.AECase(ctxT(t), id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("%s: case %s: %v, want not found", what, id, err)
	}
}

// A case opened with an edit names the message and commits with the edit: an edit that is
// refused (the message deleted) stores neither.
func testAEWithEdit(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "ae-edit"), mkUser(t, s, "ae-edit-author")
	m := post(t, s, r, u, "", "see you at the meetup")
	text := "since starting drugzol I get awful headaches"
	newCase := func() *store.NewAECase {
		return screenedCase(r.ID, u.ID, text)
	}
	ae := newCase()
	edited, err := s.EditMessage(ctx, r.ID, m.Seq, u.ID, text, t0.Add(time.Minute), ae)
	if err != nil || edited.Text != text {
		t.Fatalf("edit with a case = %+v, %v", edited, err)
	}
	c, err := s.AECase(ctx, ae.ID)
	if err != nil || c.MessageID != m.ID || c.MessageSeq != m.Seq || c.Text != text || c.Status != store.AEOpen {
		t.Fatalf("case = %+v, %v", c, err)
	}
	gone := post(t, s, r, u, "", "another post")
	if _, err := s.DeleteMessage(ctx, r.ID, gone.Seq, "author", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	refused := newCase()
	_, err = s.EditMessage(ctx, r.ID, gone.Seq, u.ID, text, t0.Add(time.Minute), refused)
	wantErr(t, err, store.ErrConflict, "edit of a deleted message with a case")
	wantNoCase(t, s, refused.ID, "a refused edit opened a case")
	if res := erase(t, s, u, store.ErasureDelete); res.LegalHold != 1 {
		t.Fatalf("erasure = %+v, want the edited message kept under legal hold", res)
	}
}

// A case opened with a held post names the hold; a resend of the post opens no second one.
func testAEWithHold(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "ae-hold"), mkUser(t, s, "ae-hold-author")
	text := "since starting drugzol I get awful headaches"
	hold := func() store.HeldMessage {
		return store.HeldMessage{ID: ids.New("h_"), RoomID: r.ID, Author: store.Author{ID: u.ID}, ClientMsgID: "c-held",
			Text: text, Reason: "held", CreatedAt: t0, Status: store.HeldPending,
			AECase: screenedCase(r.ID, u.ID, text)}
	}
	h := hold()
	held, dup, err := s.HoldMessage(ctx, h)
	if err != nil || dup || held.ID != h.ID {
		t.Fatalf("hold with a case = %+v, dup %v, %v", held, dup, err)
	}
	c, err := s.AECase(ctx, h.AECase.ID)
	if err != nil || c.HeldID != held.ID || c.MessageSeq != 0 || c.Text != text {
		t.Fatalf("case = %+v, %v", c, err)
	}
	again := hold()
	if first, dup, err := s.HoldMessage(ctx, again); err != nil || !dup || first.ID != h.ID {
		t.Fatalf("resend = %+v, dup %v, %v", first, dup, err)
	}
	wantNoCase(t, s, again.AECase.ID, "a resend opened a case")
}

func testAEConfiguredDue(t *testing.T, s store.Store) {
	r, u, m := aeFixture(t, s, "ae-due")
	nc := newCase(r, u, m, t0)
	nc.ForwardDueAt, nc.RegulatoryDueAt = t0.Add(3*time.Hour), t0.Add(7*24*time.Hour)
	c := openCase(t, s, nc)
	if !c.ForwardDueAt.Equal(nc.ForwardDueAt.Truncate(time.Microsecond)) ||
		!c.RegulatoryDueAt.Equal(nc.RegulatoryDueAt.Truncate(time.Microsecond)) {
		t.Fatalf("due = %v %v; want the caller's", c.ForwardDueAt, c.RegulatoryDueAt)
	}
	// A held post has no message: the case stands on its snapshot alone.
	held := openCase(t, s, store.NewAECase{RoomID: r.ID, HeldID: "h_1", AuthorID: u.ID, Text: "held text", AwareAt: t0})
	if held.HeldID != "h_1" || held.MessageSeq != 0 || held.Text != "held text" || held.Products == nil {
		t.Fatalf("held case = %+v", held)
	}
}

func testAEUnknownRoom(t *testing.T, s store.Store) {
	u := mkUser(t, s, "ae-nor")
	_, err := s.OpenAECase(ctxT(t), store.NewAECase{RoomID: "r_nope", AuthorID: u.ID, Text: "x", AwareAt: t0})
	wantErr(t, err, store.ErrNotFound, "case in an unknown room")
}

func testAESurvives(t *testing.T, s store.Store) {
	r, u, m := aeFixture(t, s, "ae-survive")
	c := openCase(t, s, newCase(r, u, m, t0))
	if _, err := s.DeleteMessage(ctxT(t), r.ID, m.Seq, "author", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyModeration(ctxT(t), store.ModerationChange{
		Audit:  store.AuditEntry{RoomID: r.ID, ActorID: "mod", TargetID: u.ID, Action: "ban"},
		Banned: ptr(true), DeleteSince: t0.Add(-time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.AECase(ctxT(t), c.ID)
	if err != nil {
		t.Fatalf("case after delete and ban: %v", err)
	}
	if got.Text != m.Text || got.AuthorID != u.ID || got.Status != store.AEOpen || !got.AwareAt.Equal(c.AwareAt) {
		t.Fatalf("case after delete and ban = %+v, want %+v", got, c)
	}
}

func closeAudit(r store.Room, id string) store.AuditEntry {
	return store.AuditEntry{RoomID: r.ID, ActorID: "rev", Action: "ae_close", Reason: "not_ae", Detail: `{"case":"` + id + `"}`}
}

func testAEClose(t *testing.T, s store.Store) {
	r, u, m := aeFixture(t, s, "ae-close")
	c := openCase(t, s, newCase(r, u, m, t0))
	before := auditLen(t, s)
	at := t0.Add(time.Hour)
	got, err := s.CloseAECase(ctxT(t), c.ID, "not_ae", "rev", at, closeAudit(r, c.ID))
	if err != nil {
		t.Fatalf("close: %v", err)
	}
	if got.Status != store.AEClosed || got.ClosedReason != "not_ae" || got.ClosedBy != "rev" ||
		!got.ClosedAt.Equal(at.Truncate(time.Microsecond)) || got.Text != c.Text {
		t.Fatalf("closed = %+v", got)
	}
	es := verifyAll(t, s)
	if len(es) != before+1 || es[len(es)-1].Action != "ae_close" {
		t.Fatalf("audit after close: %d entries (was %d)", len(es), before)
	}
	_, err = s.CloseAECase(ctxT(t), c.ID, "duplicate", "rev2", at, closeAudit(r, c.ID))
	wantErr(t, err, store.ErrConflict, "second close")
	if _, err := s.CloseAECase(ctxT(t), "ae_nope", "not_ae", "rev", at, closeAudit(r, "x")); err == nil {
		t.Fatal("close of an unknown case: no error")
	} else {
		wantErr(t, err, store.ErrNotFound, "close unknown")
	}
	c2 := openCase(t, s, newCase(r, u, m, t0))
	if _, err := s.CloseAECase(ctxT(t), c2.ID, "because", "rev", at, closeAudit(r, c2.ID)); err == nil {
		t.Fatal("close with an unknown reason code: no error")
	}
	if n := auditLen(t, s); n != before+1 {
		t.Fatalf("refused closes grew the audit log to %d entries (want %d)", n, before+1)
	}
	if got, _ := s.AECase(ctxT(t), c.ID); got.ClosedBy != "rev" || got.ClosedReason != "not_ae" {
		t.Fatalf("a refused close changed the case: %+v", got)
	}
}

func testAEForward(t *testing.T, s store.Store) {
	r, u, m := aeFixture(t, s, "ae-fwd")
	c := openCase(t, s, newCase(r, u, m, t0))
	at := t0.Add(2 * time.Hour)
	a := store.AuditEntry{RoomID: r.ID, ActorID: "rev", Action: "ae_forward"}
	got, err := s.ForwardAECase(ctxT(t), c.ID, "rev", at, a)
	if err != nil || got.Status != store.AEForwarded || got.ForwardedBy != "rev" || !got.ForwardedAt.Equal(at.Truncate(time.Microsecond)) {
		t.Fatalf("forward = %+v, %v", got, err)
	}
	_, err = s.ForwardAECase(ctxT(t), c.ID, "rev", at, a)
	wantErr(t, err, store.ErrConflict, "second forward")
	if got, err := s.CloseAECase(ctxT(t), c.ID, "forwarded_complete", "rev", at, closeAudit(r, c.ID)); err != nil || got.Status != store.AEClosed {
		t.Fatalf("close a forwarded case = %+v, %v", got, err)
	}
	_, err = s.ForwardAECase(ctxT(t), c.ID, "rev", at, a)
	wantErr(t, err, store.ErrConflict, "forward a closed case")
	_, err = s.ForwardAECase(ctxT(t), "ae_nope", "rev", at, a)
	wantErr(t, err, store.ErrNotFound, "forward unknown")
}

func caseIDs(cs []store.AECase) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func testAEFilters(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u, m := aeFixture(t, s, "ae-filter")
	r2 := mkRoom(t, s, "ae-filter2")
	day := 24 * time.Hour
	now := t0.Add(30 * day)
	old := openCase(t, s, newCase(r, u, m, now.Add(-20*day)))      // both clocks run out
	mid := openCase(t, s, newCase(r, u, m, now.Add(-5*day)))       // forward clock run out
	fresh := openCase(t, s, newCase(r, u, m, now.Add(-time.Hour))) // nothing due yet
	other := openCase(t, s, store.NewAECase{RoomID: r2.ID, AuthorID: u.ID, Text: "x", AwareAt: now.Add(-4 * day)})
	if _, err := s.ForwardAECase(ctx, mid.ID, "rev", now, store.AuditEntry{ActorID: "rev", Action: "ae_forward"}); err != nil {
		t.Fatal(err)
	}
	closed := openCase(t, s, newCase(r, u, m, now.Add(-25*day)))
	if _, err := s.CloseAECase(ctx, closed.ID, "duplicate", "rev", now, closeAudit(r, closed.ID)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    store.AECaseFilter
		want []string
	}{
		{"all, oldest first", store.AECaseFilter{}, []string{closed.ID, old.ID, mid.ID, other.ID, fresh.ID}},
		{"open", store.AECaseFilter{Status: store.AEOpen}, []string{old.ID, other.ID, fresh.ID}},
		{"active", store.AECaseFilter{Status: "active"}, []string{old.ID, mid.ID, other.ID, fresh.ID}},
		{"closed", store.AECaseFilter{Status: store.AEClosed}, []string{closed.ID}},
		{"room", store.AECaseFilter{RoomID: r2.ID}, []string{other.ID}},
		{"author", store.AECaseFilter{AuthorID: u.ID, Status: store.AEForwarded}, []string{mid.ID}},
		// mid is forwarded: its forward clock stopped, its regulatory clock has 10 days left.
		{"overdue", store.AECaseFilter{Overdue: true, Now: now}, []string{old.ID, other.ID}},
		{"overdue later", store.AECaseFilter{Overdue: true, Now: now.Add(11 * day)}, []string{old.ID, mid.ID, other.ID, fresh.ID}},
		{"after", store.AECaseFilter{After: old.ID}, []string{mid.ID, other.ID, fresh.ID}},
		{"after last", store.AECaseFilter{After: fresh.ID}, []string{}},
	}
	for _, tc := range tests {
		got, err := s.AECases(ctx, tc.f, 100)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(caseIDs(got), tc.want) {
			t.Fatalf("%s: got %v, want %v", tc.name, caseIDs(got), tc.want)
		}
	}
	if got, err := s.AECases(ctx, store.AECaseFilter{}, 2); err != nil || !slices.Equal(caseIDs(got), []string{closed.ID, old.ID}) {
		t.Fatalf("limit 2: %v, %v", caseIDs(got), err)
	}
	if got, err := s.AECases(ctx, store.AECaseFilter{}, 0); err != nil || len(got) != 0 {
		t.Fatalf("limit 0: %v, %v", caseIDs(got), err)
	}
	if clocks := old.OverdueClocks(now); !slices.Equal(clocks, []string{store.ClockForward, store.ClockRegulatory}) {
		t.Fatalf("OverdueClocks = %v", clocks)
	}
}

func testAEFollowups(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u, m := aeFixture(t, s, "ae-fu")
	rev := mkUser(t, s, "ae-fu-reviewer")
	c := openCase(t, s, newCase(r, u, m, t0))
	before := auditLen(t, s)
	a := store.AuditEntry{RoomID: r.ID, ActorID: rev.ID, TargetID: u.ID, Action: "ae_followup"}
	q, err := s.AddFollowup(ctx, store.AEFollowup{CaseID: c.ID, FromUser: rev.ID, ToUser: u.ID, Text: "When did it start?", At: t0}, &a)
	if err != nil || q.ID == "" {
		t.Fatalf("AddFollowup = %+v, %v", q, err)
	}
	if _, err := s.AddFollowup(ctx, store.AEFollowup{CaseID: c.ID, FromUser: u.ID, ToUser: rev.ID, Text: "Two days in", At: t0.Add(time.Minute)}, nil); err != nil {
		t.Fatal(err)
	}
	if n := auditLen(t, s); n != before+1 {
		t.Fatalf("audit entries %d, want %d (one audited follow-up)", n, before+1)
	}
	got, err := s.AECase(ctx, c.ID)
	if err != nil || len(got.Followups) != 2 || got.Followups[0].Text != "When did it start?" ||
		got.Followups[1].FromUser != u.ID || !got.Followups[0].At.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("case follow-ups = %+v, %v", got.Followups, err)
	}
	for _, who := range []string{u.ID, rev.ID} {
		list, err := s.Followups(ctx, who, 10)
		if err != nil || len(list) != 2 || list[0].ID != q.ID {
			t.Fatalf("Followups(%s) = %+v, %v", who, list, err)
		}
	}
	if list, err := s.Followups(ctx, "nobody", 10); err != nil || len(list) != 0 {
		t.Fatalf("Followups(nobody) = %+v, %v", list, err)
	}
	_, err = s.AddFollowup(ctx, store.AEFollowup{CaseID: "ae_nope", FromUser: rev.ID, ToUser: u.ID, Text: "x"}, &a)
	wantErr(t, err, store.ErrNotFound, "follow-up to an unknown case")
	if n := auditLen(t, s); n != before+1 {
		t.Fatalf("a refused follow-up was audited")
	}
}

func testAEAlerted(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u, m := aeFixture(t, s, "ae-alert")
	day := 24 * time.Hour
	now := t0.Add(30 * day)
	c := openCase(t, s, newCase(r, u, m, now.Add(-20*day)))
	openCase(t, s, newCase(r, u, m, now.Add(-5*day)))
	openCase(t, s, newCase(r, u, m, now.Add(-time.Hour)))
	n, err := s.CountAECases(ctx, now)
	if err != nil || n != (store.AECounts{Active: 3, OverdueForward: 2, OverdueRegulatory: 1}) {
		t.Fatalf("CountAECases = %+v, %v", n, err)
	}
	for i, want := range []bool{true, false} {
		first, err := s.MarkAEAlerted(ctx, c.ID, store.ClockForward, now)
		if err != nil || first != want {
			t.Fatalf("MarkAEAlerted #%d = %v, %v; want %v", i+1, first, err, want)
		}
	}
	if first, err := s.MarkAEAlerted(ctx, c.ID, store.ClockRegulatory, now); err != nil || !first {
		t.Fatalf("regulatory clock alerted separately = %v, %v", first, err)
	}
	if _, err := s.MarkAEAlerted(ctx, c.ID, "lunch", now); err == nil {
		t.Fatal("unknown clock: no error")
	}
	got, _ := s.AECase(ctx, c.ID)
	if !got.ForwardAlertedAt.Equal(now.Truncate(time.Microsecond)) || got.RegulatoryAlertedAt.IsZero() {
		t.Fatalf("alerted times = %v %v", got.ForwardAlertedAt, got.RegulatoryAlertedAt)
	}
}

func testCrisis(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "crisis"), mkUser(t, s, "crisis-author")
	r2 := mkRoom(t, s, "crisis2")
	first, err := s.RecordCrisisAlert(ctx, store.NewCrisisAlert{RoomID: r.ID, MessageSeq: 3, AuthorID: u.ID,
		Text: "i can't go on", Terms: []string{"can't go on"}, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.RecordCrisisAlert(ctx, store.NewCrisisAlert{RoomID: r2.ID, HeldID: "h_9", AuthorID: u.ID,
		Text: "method detail", Method: true, At: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.CrisisAlerts(ctx, store.CrisisAlertFilter{}, 10)
	if err != nil || len(list) != 2 || list[0].ID != second || list[1].ID != first {
		t.Fatalf("CrisisAlerts = %+v, %v", list, err)
	}
	a := list[1]
	if a.RoomSlug != r.Slug || a.MessageSeq != 3 || a.Text != "i can't go on" || a.Method ||
		!slices.Equal(a.Terms, []string{"can't go on"}) || !a.At.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("alert = %+v", a)
	}
	if b := list[0]; !b.Method || b.HeldID != "h_9" || b.Terms == nil {
		t.Fatalf("method alert = %+v", b)
	}
	if got, _ := s.CrisisAlerts(ctx, store.CrisisAlertFilter{RoomID: r2.ID}, 10); len(got) != 1 || got[0].ID != second {
		t.Fatalf("room filter = %+v", got)
	}
	if got, _ := s.CrisisAlerts(ctx, store.CrisisAlertFilter{Before: second}, 10); len(got) != 1 || got[0].ID != first {
		t.Fatalf("paging = %+v", got)
	}
	before := auditLen(t, s)
	audit := store.AuditEntry{RoomID: r.ID, ActorID: "mod", Action: "crisis_ack"}
	acked, err := s.AcknowledgeCrisisAlert(ctx, first, "mod", t0.Add(time.Hour), audit)
	if err != nil || acked.AcknowledgedBy != "mod" || !acked.AcknowledgedAt.Equal(t0.Add(time.Hour).Truncate(time.Microsecond)) {
		t.Fatalf("acknowledge = %+v, %v", acked, err)
	}
	_, err = s.AcknowledgeCrisisAlert(ctx, first, "mod2", t0, audit)
	wantErr(t, err, store.ErrConflict, "second acknowledgement")
	_, err = s.AcknowledgeCrisisAlert(ctx, "ca_nope", "mod", t0, audit)
	wantErr(t, err, store.ErrNotFound, "acknowledge unknown")
	if n := auditLen(t, s); n != before+1 {
		t.Fatalf("audit entries %d, want %d", n, before+1)
	}
	if got, _ := s.CrisisAlerts(ctx, store.CrisisAlertFilter{Unacknowledged: true}, 10); len(got) != 1 || got[0].ID != second {
		t.Fatalf("unacknowledged = %+v", got)
	}
}

func testAppendAudit(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "access"), mkUser(t, s, "accessor")
	e, err := s.AppendAudit(ctx, store.AuditEntry{RoomID: r.ID, ActorID: u.ID, Action: "view_members", At: t0})
	if err != nil || e.ID != 1 || len(e.Hash) != 32 || !e.At.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("AppendAudit = %+v, %v", e, err)
	}
	if _, err := s.ApplyModeration(ctx, store.ModerationChange{
		Audit: store.AuditEntry{RoomID: r.ID, ActorID: "mod", TargetID: u.ID, Action: "ban"}, Banned: ptr(true),
	}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := s.AppendAudit(ctx, store.AuditEntry{ActorID: ids.New("u_"), Action: "view_ae_cases"})
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatalf("concurrent AppendAudit: %v", err)
		}
	}
	if es := verifyAll(t, s); len(es) != 10 || es[0].Action != "view_members" || es[1].Action != "ban" {
		t.Fatalf("chain = %d entries", len(es))
	}
}
