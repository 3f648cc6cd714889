package storetest

import (
	"testing"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/store"
)

func runDisclosure(t *testing.T, fresh func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Disclosure/Badges", testBadges},
		{"Disclosure/BadgesEverywhere", testBadgesEverywhere},
		{"Disclosure/BadgesUnknownUser", testBadgesUnknownUser},
		{"Disclosure/Room", testRoomDisclosure},
		{"Disclosure/RoomUnknown", testRoomDisclosureUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, fresh(t))
		})
	}
}

func badgeAudit(admin, target store.User) store.AuditEntry {
	return store.AuditEntry{ActorID: admin.ID, TargetID: target.ID, Action: "user_badges",
		Detail: `{"affiliation":"Novo Nordisk"}`, At: t0}
}

// testBadges: a badge change and its audit entry are stored together; nil fields are kept.
func testBadges(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	admin, u := mkUser(t, s, "admin"), mkUser(t, s, "rep")
	got, e, err := s.SetBadges(ctx, store.BadgeChange{Affiliation: ptr("Novo Nordisk")}, badgeAudit(admin, u))
	if err != nil {
		t.Fatalf("set badges: %v", err)
	}
	if got.Affiliation != "Novo Nordisk" || got.Verified || got.Role != store.RoleMember || got.ID != u.ID {
		t.Fatalf("set badges returned %+v", got)
	}
	if e.ID == 0 || len(e.Hash) != 32 || e.Action != "user_badges" || e.TargetID != u.ID {
		t.Fatalf("audit entry %+v", e)
	}
	chain, err := s.AuditChain(ctx, 0, 100)
	if err != nil || len(chain) != 1 || chain[0].ID != e.ID || chain[0].Detail != e.Detail {
		t.Fatalf("audit chain %+v, %v; want the one entry", chain, err)
	}
	if back, err := s.UserByID(ctx, u.ID); err != nil || back.Affiliation != "Novo Nordisk" {
		t.Fatalf("reread %+v, %v", back, err)
	}

	// Verifying leaves the affiliation alone and may set the role with it.
	got, _, err = s.SetBadges(ctx, store.BadgeChange{Verified: ptr(true), Role: ptr(store.RoleClinician)}, badgeAudit(admin, u))
	if err != nil || !got.Verified || got.Role != store.RoleClinician || got.Affiliation != "Novo Nordisk" {
		t.Fatalf("verify: %+v, %v", got, err)
	}
	got, _, err = s.SetBadges(ctx, store.BadgeChange{Affiliation: ptr("")}, badgeAudit(admin, u))
	if err != nil || got.Affiliation != "" || !got.Verified || got.Role != store.RoleClinician {
		t.Fatalf("clear affiliation: %+v, %v", got, err)
	}
	if chain, _ := s.AuditChain(ctx, 0, 100); len(chain) != 3 {
		t.Fatalf("audit chain has %d entries, want 3", len(chain))
	}
}

// testBadgesEverywhere: every read that carries an author carries the affiliation.
func testBadgesEverywhere(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	admin, u := mkUser(t, s, "admin"), mkUser(t, s, "rep")
	room := mkRoom(t, s, "disc")
	if _, _, err := s.SetBadges(ctx, store.BadgeChange{Affiliation: ptr("Acme Pharma")}, badgeAudit(admin, u)); err != nil {
		t.Fatalf("set badges: %v", err)
	}
	if _, err := s.AcceptGuidelines(ctx, room.ID, u.ID, 1, t0); err != nil {
		t.Fatalf("accept: %v", err)
	}
	m := post(t, s, room, u, "c1", "hello")
	if m.Author.Affiliation != "Acme Pharma" {
		t.Fatalf("appended author %+v", m.Author)
	}
	if ms, err := s.MessagesAfter(ctx, room.ID, 0, 10); err != nil || len(ms) != 1 || ms[0].Author.Affiliation != "Acme Pharma" {
		t.Fatalf("messages after: %+v, %v", ms, err)
	}
	if ms, err := s.MessagesBefore(ctx, room.ID, 0, 10); err != nil || len(ms) != 1 || ms[0].Author.Affiliation != "Acme Pharma" {
		t.Fatalf("messages before: %+v, %v", ms, err)
	}
	if mem, err := s.Memberships(ctx, room.ID, 10); err != nil || len(mem) != 1 || mem[0].User.Affiliation != "Acme Pharma" {
		t.Fatalf("memberships: %+v, %v", mem, err)
	}
	h, _, err := s.HoldMessage(ctx, store.HeldMessage{ID: ids.New("h_"), RoomID: room.ID, Author: store.Author{ID: u.ID},
		ClientMsgID: "c2", Text: "try Brandex", Reason: "affiliated_product", CreatedAt: t0, Status: store.HeldPending})
	if err != nil {
		t.Fatalf("hold: %v", err)
	}
	if back, err := s.HeldMessage(ctx, h.ID); err != nil || back.Author.Affiliation != "Acme Pharma" {
		t.Fatalf("held: %+v, %v", back, err)
	}
	if _, su, err := s.SessionUser(ctx, mkSessionFor(t, s, u), t0); err != nil || su.Affiliation != "Acme Pharma" {
		t.Fatalf("session user %+v, %v", su, err)
	}
}

func mkSessionFor(t *testing.T, s store.Store, u store.User) []byte {
	t.Helper()
	hash := []byte(ids.New("tok_"))
	if err := s.CreateSession(ctxT(t), store.Session{ID: ids.New("s_"), TokenHash: hash, UserID: u.ID,
		CreatedAt: t0, ExpiresAt: t0.Add(24 * 3600e9)}); err != nil {
		t.Fatalf("create session: %v", err)
	}
	return hash
}

// testBadgesUnknownUser: nothing is stored, the audit entry included.
func testBadgesUnknownUser(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	admin := mkUser(t, s, "admin")
	_, _, err := s.SetBadges(ctx, store.BadgeChange{Affiliation: ptr("X")}, badgeAudit(admin, store.User{ID: "u_nobody"}))
	wantErr(t, err, store.ErrNotFound, "set badges of an unknown user")
	if chain, _ := s.AuditChain(ctx, 0, 100); len(chain) != 0 {
		t.Fatalf("audit chain has %d entries after a failed change", len(chain))
	}
}

// testRoomDisclosure: the text is stored beside the sponsor, with its audit entry.
func testRoomDisclosure(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	admin := mkUser(t, s, "admin")
	room := mkRoom(t, s, "sponsored")
	if room.Disclosure != "" {
		t.Fatalf("a new room has disclosure %q", room.Disclosure)
	}
	text := "This room is funded by Acme Pharma, which has no say over its content."
	got, e, err := s.SetRoomDisclosure(ctx, text, store.AuditEntry{RoomID: room.ID, ActorID: admin.ID,
		Action: "room_disclosure", At: t0})
	if err != nil || got.Disclosure != text || got.Slug != room.Slug || got.GuidelinesVersion != room.GuidelinesVersion {
		t.Fatalf("set disclosure: %+v, %v", got, err)
	}
	if e.ID == 0 || e.RoomID != room.ID {
		t.Fatalf("audit entry %+v", e)
	}
	if back, err := s.RoomBySlug(ctx, room.Slug); err != nil || back.Disclosure != text {
		t.Fatalf("reread %+v, %v", back, err)
	}
	if all, err := s.ListRooms(ctx); err != nil || len(all) != 1 || all[0].Disclosure != text {
		t.Fatalf("list %+v, %v", all, err)
	}
	if log, err := s.AuditLog(ctx, room.ID, 0, 10); err != nil || len(log) != 1 || log[0].Action != "room_disclosure" {
		t.Fatalf("room audit log %+v, %v", log, err)
	}
}

func testRoomDisclosureUnknown(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	admin := mkUser(t, s, "admin")
	_, _, err := s.SetRoomDisclosure(ctx, "x", store.AuditEntry{RoomID: "r_nowhere", ActorID: admin.ID, Action: "room_disclosure"})
	wantErr(t, err, store.ErrNotFound, "disclosure of an unknown room")
	if chain, _ := s.AuditChain(ctx, 0, 100); len(chain) != 0 {
		t.Fatalf("audit chain has %d entries after a failed change", len(chain))
	}
}
