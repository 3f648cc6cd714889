package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/store"
)

// runPrivacy runs the consent, export, erasure and retention cases, each on a fresh store.
func runPrivacy(t *testing.T, fresh func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Privacy/ConsentGrantWithdraw", testConsentGrantWithdraw},
		{"Privacy/Export", testExport},
		{"Privacy/EraseDeleteKeepsLegalHold", testEraseDelete},
		{"Privacy/ErasePseudonymise", testErasePseudonymise},
		{"Privacy/RetentionSkipsLegalHold", testRetention},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, fresh(t))
		})
	}
}

func testConsentGrantWithdraw(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	u := mkUser(t, s, "cora")
	_, err := s.ActiveConsent(ctx, u.ID, store.ConsentHealthData)
	wantErr(t, err, store.ErrNotFound, "consent before any grant")
	c1, err := s.GrantConsent(ctx, u.ID, store.ConsentHealthData, 1, t0)
	if err != nil || c1.Version != 1 || !c1.Active() || !c1.GrantedAt.Equal(t0.Truncate(time.Microsecond)) || c1.UserID != u.ID {
		t.Fatalf("grant v1 = %+v, %v", c1, err)
	}
	again, err := s.GrantConsent(ctx, u.ID, store.ConsentHealthData, 1, t0.Add(time.Minute))
	if err != nil || again.ID != c1.ID || !again.GrantedAt.Equal(c1.GrantedAt) {
		t.Fatalf("grant v1 again = %+v, %v; want the first grant unchanged", again, err)
	}
	c2, err := s.GrantConsent(ctx, u.ID, store.ConsentHealthData, 2, t0.Add(time.Hour))
	if err != nil || c2.Version != 2 || c2.ID == c1.ID {
		t.Fatalf("grant v2 = %+v, %v", c2, err)
	}
	if act, err := s.ActiveConsent(ctx, u.ID, store.ConsentHealthData); err != nil || act.ID != c2.ID {
		t.Fatalf("active after v2 = %+v, %v", act, err)
	}
	w, err := s.WithdrawConsent(ctx, u.ID, store.ConsentHealthData, t0.Add(2*time.Hour))
	if err != nil || w.ID != c2.ID || w.Active() || !w.WithdrawnAt.Equal(t0.Add(2*time.Hour).Truncate(time.Microsecond)) {
		t.Fatalf("withdraw = %+v, %v", w, err)
	}
	_, err = s.ActiveConsent(ctx, u.ID, store.ConsentHealthData)
	wantErr(t, err, store.ErrNotFound, "consent after withdrawal")
	_, err = s.WithdrawConsent(ctx, u.ID, store.ConsentHealthData, t0.Add(3*time.Hour))
	wantErr(t, err, store.ErrNotFound, "withdraw twice")
	all, err := s.Consents(ctx, u.ID)
	if err != nil || len(all) != 2 || all[0].ID != c2.ID || all[1].ID != c1.ID ||
		!all[1].WithdrawnAt.Equal(t0.Add(time.Hour).Truncate(time.Microsecond)) {
		t.Fatalf("history = %+v, %v; want v2 then v1 (ended by v2)", all, err)
	}
	_, err = s.GrantConsent(ctx, "nobody", store.ConsentHealthData, 1, t0)
	wantErr(t, err, store.ErrNotFound, "grant for unknown user")
}

// legalHold opens an AE case on m, which puts it under legal hold.
func legalHold(t *testing.T, s store.Store, room store.Room, m store.Message) {
	t.Helper()
	if _, err := s.OpenAECase(ctxT(t), store.NewAECase{RoomID: room.ID, MessageID: m.ID, MessageSeq: m.Seq,
		AuthorID: m.Author.ID, Text: m.Text, Products: []string{"examplumab"}, Reactions: []string{"rash"},
		Terms: []string{"examplumab", "rash"}, AwareAt: t0}); err != nil {
		t.Fatalf("open AE case on seq %d: %v", m.Seq, err)
	}
}

func testExport(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	room, u, other := mkRoom(t, s, "export"), mkUser(t, s, "xena"), mkUser(t, s, "yuri")
	mkSession(t, s, u, t0.Add(time.Hour))
	if _, err := s.AcceptGuidelines(ctx, room.ID, u.ID, 1, t0); err != nil {
		t.Fatal(err)
	}
	m1 := post(t, s, room, u, "x1", "my first message")
	m2 := post(t, s, room, u, "x2", "a message I deleted")
	if _, err := s.DeleteMessage(ctx, room.ID, m2.Seq, "author", t0); err != nil {
		t.Fatal(err)
	}
	theirs := post(t, s, room, other, "y1", "someone else's words")
	if _, err := s.CreateReport(ctx, store.Report{ID: ids.New("rp_"), RoomID: room.ID, Seq: theirs.Seq,
		ReporterID: u.ID, Reason: "unkind", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GrantConsent(ctx, u.ID, store.ConsentHealthData, 1, t0); err != nil {
		t.Fatal(err)
	}
	x, err := s.ExportUser(ctx, u.ID)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	if x.User.ID != u.ID || x.User.Email != u.Email || !x.ErasedAt.IsZero() {
		t.Fatalf("profile = %+v erased %v", x.User, x.ErasedAt)
	}
	if len(x.Sessions) != 1 || x.Sessions[0].ExpiresAt.IsZero() {
		t.Fatalf("sessions = %+v", x.Sessions)
	}
	if len(x.Memberships) != 1 || x.Memberships[0].RoomSlug != "export" || x.Memberships[0].AcceptedVersion != 1 {
		t.Fatalf("memberships = %+v", x.Memberships)
	}
	if len(x.Messages) != 2 || x.Messages[0].ID != m1.ID || x.Messages[1].ID != m2.ID ||
		x.Messages[1].Text != "a message I deleted" || !x.Messages[1].Deleted() || x.Messages[0].RoomSlug != "export" {
		t.Fatalf("messages = %+v; want both, the deleted one with its text", x.Messages)
	}
	if len(x.Reports) != 1 || x.Reports[0].Seq != theirs.Seq || x.Reports[0].Reason != "unkind" {
		t.Fatalf("reports = %+v", x.Reports)
	}
	if len(x.Consents) != 1 || x.Consents[0].Kind != store.ConsentHealthData {
		t.Fatalf("consents = %+v", x.Consents)
	}
	_, err = s.ExportUser(ctx, "nobody")
	wantErr(t, err, store.ErrNotFound, "export unknown user")
}

func erase(t *testing.T, s store.Store, u store.User, content string) store.ErasureResult {
	t.Helper()
	res, err := s.EraseUser(ctxT(t), store.Erasure{UserID: u.ID, Pseudonym: "Former member " + u.ID[len(u.ID)-4:],
		PasswordHash: "$argon2id$unusable", Content: content,
		Audit: store.AuditEntry{ActorID: u.ID, TargetID: u.ID, Action: "erase_account", Detail: `{"content":"` + content + `"}`, At: t0.Add(time.Hour)}})
	if err != nil {
		t.Fatalf("erase %s: %v", u.DisplayName, err)
	}
	return res
}

func testEraseDelete(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	room, u, other := mkRoom(t, s, "erase"), mkUser(t, s, "zoe"), mkUser(t, s, "abe")
	sess := mkSession(t, s, u, time.Now().Add(time.Hour))
	if _, err := s.AcceptGuidelines(ctx, room.ID, u.ID, 1, t0); err != nil {
		t.Fatal(err)
	}
	plain := post(t, s, room, u, "z1", "my phone is 555 0100")
	held := post(t, s, room, u, "z2", "examplumab gave me a rash")
	legalHold(t, s, room, held)
	gone := post(t, s, room, u, "z3", "never mind")
	if _, err := s.DeleteMessage(ctx, room.ID, gone.Seq, "author", t0); err != nil {
		t.Fatal(err)
	}
	theirs := post(t, s, room, other, "a1", "hello zoe")
	if _, err := s.CreateReport(ctx, store.Report{ID: ids.New("rp_"), RoomID: room.ID, Seq: theirs.Seq,
		ReporterID: u.ID, Reason: "r", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GrantConsent(ctx, u.ID, store.ConsentHealthData, 1, t0); err != nil {
		t.Fatal(err)
	}

	res := erase(t, s, u, store.ErasureDelete)
	if len(res.SessionIDs) != 1 || res.SessionIDs[0] != sess.ID || res.Removed != 2 || res.LegalHold != 1 {
		t.Fatalf("result = %+v", res)
	}
	// What members saw as live, newest first: not the one its author had deleted already.
	if want := []store.DeletedMessage{{RoomSlug: "erase", Seq: held.Seq}, {RoomSlug: "erase", Seq: plain.Seq}}; !slices.Equal(res.Deleted, want) {
		t.Fatalf("deleted = %+v, want %+v", res.Deleted, want)
	}
	if len(res.Renamed) != 0 {
		t.Fatalf("rooms to tell of a pseudonym after deleting everything = %q", res.Renamed)
	}
	if res.Audit.Action != "erase_account" || res.Audit.TargetID != u.ID || res.Audit.ID == 0 {
		t.Fatalf("audit = %+v", res.Audit)
	}
	verifyAll(t, s)
	if _, _, err := s.SessionUser(ctx, sess.TokenHash, time.Now()); err == nil {
		t.Fatal("a session of the erased account still resolves")
	}
	if _, _, err := s.UserByEmail(ctx, u.Email); err == nil {
		t.Fatal("the erased account is still found by its email")
	}
	tomb, err := s.UserByID(ctx, u.ID)
	if err != nil || tomb.DisplayName == u.DisplayName || tomb.Email == u.Email {
		t.Fatalf("tombstone = %+v, %v", tomb, err)
	}
	_, err = s.Membership(ctx, room.ID, u.ID)
	wantErr(t, err, store.ErrNotFound, "membership after erasure")
	_, err = s.ActiveConsent(ctx, u.ID, store.ConsentHealthData)
	wantErr(t, err, store.ErrNotFound, "consent after erasure")

	got, err := s.MessageBySeq(ctx, room.ID, plain.Seq)
	if err != nil || got.Text != "" || !got.Deleted() || got.DeletedBy != store.DeletedByErasure {
		t.Fatalf("plain message after erasure = %+v, %v; want blank and deleted", got, err)
	}
	got, err = s.MessageBySeq(ctx, room.ID, held.Seq)
	if err != nil || got.Text != held.Text || !got.Deleted() || got.Author.ID != u.ID || got.Author.DisplayName != tomb.DisplayName {
		t.Fatalf("legal-hold message after erasure = %+v, %v; want its text kept, hidden, under the pseudonym", got, err)
	}
	if got, _ := s.MessageBySeq(ctx, room.ID, theirs.Seq); got.Text != "hello zoe" || got.Deleted() {
		t.Fatalf("another member's message changed: %+v", got)
	}
	reps, err := s.Reports(ctx, room.ID, "", 10)
	if err != nil || len(reps) != 1 || reps[0].ReporterID == u.ID {
		t.Fatalf("reports = %+v, %v; want the reporter unlinked", reps, err)
	}
	_, err = s.EraseUser(ctx, store.Erasure{UserID: u.ID, Content: store.ErasureDelete,
		Audit: store.AuditEntry{ActorID: u.ID, TargetID: u.ID, Action: "erase_account"}})
	wantErr(t, err, store.ErrNotFound, "erase twice")
	_, err = s.EraseUser(ctx, store.Erasure{UserID: "nobody", Content: store.ErasureDelete,
		Audit: store.AuditEntry{ActorID: "x", TargetID: "nobody", Action: "erase_account"}})
	wantErr(t, err, store.ErrNotFound, "erase unknown user")
	// A second erased member shares the reports placeholder without conflict.
	erase(t, s, other, store.ErasureDelete)
}

func testErasePseudonymise(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	room, u := mkRoom(t, s, "pseudo"), mkUser(t, s, "pia")
	m := post(t, s, room, u, "p1", "useful tip about insulin pens")
	// Rooms whose members must be told of the pseudonym: where a message of theirs is still
	// shown, or a question; not where everything they posted was deleted.
	gone := mkRoom(t, s, "pseudo-gone")
	if _, err := s.DeleteMessage(ctx, gone.ID, post(t, s, gone, u, "p2", "withdrawn").Seq, "author", t0); err != nil {
		t.Fatal(err)
	}
	asked := mkRoom(t, s, "pseudo-asked")
	ask(t, s, mkRoomSession(t, s, asked, mkUser(t, s, "host-pia"), "Q&A", t0), u, "what about pens?", "open", t0)
	mkRoom(t, s, "pseudo-never")
	res := erase(t, s, u, store.ErasurePseudonymise)
	if res.Removed != 2 || res.LegalHold != 0 || len(res.Deleted) != 0 {
		t.Fatalf("result = %+v", res)
	}
	if want := []string{"pseudo", "pseudo-asked"}; !slices.Equal(res.Renamed, want) {
		t.Fatalf("rooms to tell of the pseudonym = %q, want %q", res.Renamed, want)
	}
	got, err := s.MessageBySeq(ctx, room.ID, m.Seq)
	if err != nil || got.Text != m.Text || got.Deleted() || got.Author.DisplayName == u.DisplayName ||
		got.Author.DisplayName != "Former member "+u.ID[len(u.ID)-4:] {
		t.Fatalf("message after pseudonymising erasure = %+v, %v", got, err)
	}
}

func testRetention(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	room, u := mkRoom(t, s, "retain"), mkUser(t, s, "rex")
	if r, err := s.SetRoomRetention(ctx, room.ID, 30, store.AuditEntry{RoomID: room.ID, ActorID: u.ID,
		Action: "room_retention", Detail: `{"retention_days":30}`}); err != nil || r.Days != 30 || r.Slug != "retain" {
		t.Fatalf("set retention = %+v, %v", r, err)
	}
	_, err := s.SetRoomRetention(ctx, "nope", 1, store.AuditEntry{ActorID: u.ID, Action: "room_retention"})
	wantErr(t, err, store.ErrNotFound, "retention of unknown room")
	all, err := s.RoomRetentions(ctx)
	if err != nil || len(all) != 1 || all[0].Days != 30 {
		t.Fatalf("retentions = %+v, %v", all, err)
	}
	var msgs []store.Message
	for i, at := range []time.Time{t0, t0.Add(time.Hour), t0.Add(48 * time.Hour)} {
		m, _, err := s.AppendMessage(ctx, store.NewMessage{ID: ids.New("m_"), RoomID: room.ID, AuthorID: u.ID,
			Text: "message " + string(rune('a'+i)), CreatedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	legalHold(t, s, room, msgs[1])
	cut, now := t0.Add(24*time.Hour), t0.Add(31*24*time.Hour)
	n, err := s.ApplyRetention(ctx, room.ID, cut, now)
	if err != nil || n != 1 {
		t.Fatalf("retention removed %d, %v; want 1 (the legal-hold one is skipped)", n, err)
	}
	if n, err := s.ApplyRetention(ctx, room.ID, cut, now); err != nil || n != 0 {
		t.Fatalf("retention rerun removed %d, %v; want 0", n, err)
	}
	page, err := s.MessagesAfter(ctx, room.ID, 0, 10)
	if err != nil || len(page) != 3 {
		t.Fatalf("messages after retention = %+v, %v; want all three seqs kept", page, err)
	}
	if page[0].Text != "" || !page[0].Deleted() || page[0].DeletedBy != store.DeletedByRetention {
		t.Fatalf("expired message = %+v", page[0])
	}
	if page[1].Text != "message b" || page[1].Deleted() || page[2].Text != "message c" || page[2].Deleted() {
		t.Fatalf("kept messages = %+v, %+v", page[1], page[2])
	}
}
