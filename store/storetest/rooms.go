package storetest

import (
	"testing"
	"time"

	"github.com/havenhealth/haven/store"
)

func testRoomCreateDefaults(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, err := s.CreateRoom(ctx, store.Room{ID: "r1", Slug: "t1d", Name: "Type 1", Condition: "diabetes",
		Guidelines: "g", GuidelinesVersion: 7, LastSeq: 99, CreatedAt: t0})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	want := store.Room{ID: "r1", Slug: "t1d", Name: "Type 1", Condition: "diabetes", Kind: "chat",
		Visibility: "public", Guidelines: "g", GuidelinesVersion: 1, CreatedAt: t0.Truncate(time.Microsecond)}
	if !sameRoom(r, want) {
		t.Fatalf("created = %+v\nwant %+v", r, want)
	}
	got, err := s.RoomBySlug(ctx, "t1d")
	if err != nil || !sameRoom(got, want) {
		t.Fatalf("RoomBySlug = %+v, %v", got, err)
	}
	w, err := s.CreateRoom(ctx, store.Room{ID: "r2", Slug: "web", Name: "W", Kind: "webinar",
		Visibility: "private", SlowModeS: 5, Locked: true, Sponsor: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if w.Kind != "webinar" || w.Visibility != "private" || w.SlowModeS != 5 || !w.Locked || w.Sponsor != "acme" ||
		w.CreatedAt.IsZero() {
		t.Fatalf("explicit fields lost: %+v", w)
	}
}

func sameRoom(a, b store.Room) bool {
	ac, bc := a.CreatedAt, b.CreatedAt
	a.CreatedAt, b.CreatedAt = time.Time{}, time.Time{}
	return a == b && ac.Equal(bc)
}

func testRoomDuplicateSlug(t *testing.T, s store.Store) {
	mkRoom(t, s, "dup")
	_, err := s.CreateRoom(ctxT(t), store.Room{ID: "other", Slug: "dup", Name: "x"})
	wantErr(t, err, store.ErrConflict, "duplicate slug")
}

func testRoomUpdate(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r := mkRoom(t, s, "upd")
	name, same, slow, locked, sponsor := "New name", r.Guidelines, 30, true, "acme"
	got, err := s.UpdateRoom(ctx, "upd", store.RoomPatch{Name: &name, Guidelines: &same, SlowModeS: &slow,
		Locked: &locked, Sponsor: &sponsor})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if got.Name != name || got.SlowModeS != 30 || !got.Locked || got.Sponsor != "acme" || got.Guidelines != r.Guidelines {
		t.Fatalf("updated = %+v", got)
	}
	if got.GuidelinesVersion != 1 {
		t.Fatalf("unchanged guidelines bumped version to %d", got.GuidelinesVersion)
	}
	changed := "be kind; no medical advice"
	if got, err = s.UpdateRoom(ctx, "upd", store.RoomPatch{Guidelines: &changed}); err != nil || got.GuidelinesVersion != 2 {
		t.Fatalf("changed guidelines: version %d, %v; want 2", got.GuidelinesVersion, err)
	}
	if got.Name != name || got.SlowModeS != 30 || !got.Locked {
		t.Fatalf("nil fields were not left alone: %+v", got)
	}
	unlocked := false
	if got, err = s.UpdateRoom(ctx, "upd", store.RoomPatch{Locked: &unlocked}); err != nil || got.Locked || got.GuidelinesVersion != 2 {
		t.Fatalf("unlock: %+v, %v", got, err)
	}
	reload, err := s.RoomBySlug(ctx, "upd")
	if err != nil || !sameRoom(reload, got) {
		t.Fatalf("reload = %+v, %v; want %+v", reload, err, got)
	}
	_, err = s.UpdateRoom(ctx, "missing", store.RoomPatch{Name: &name})
	wantErr(t, err, store.ErrNotFound, "update missing room")
}

func testRoomList(t *testing.T, s store.Store) {
	rooms, err := s.ListRooms(ctxT(t))
	if err != nil || len(rooms) != 0 {
		t.Fatalf("empty store: %v, %v", rooms, err)
	}
	for _, slug := range []string{"b", "c", "a"} {
		mkRoom(t, s, slug)
	}
	rooms, err = s.ListRooms(ctxT(t))
	if err != nil || len(rooms) != 3 {
		t.Fatalf("ListRooms = %v, %v", rooms, err)
	}
	seen := map[string]bool{}
	for _, r := range rooms {
		seen[r.Slug] = true
	}
	if !seen["a"] || !seen["b"] || !seen["c"] {
		t.Fatalf("ListRooms missing rooms: %+v", rooms)
	}
}

func testRoomNotFound(t *testing.T, s store.Store) {
	_, err := s.RoomBySlug(ctxT(t), "nope")
	wantErr(t, err, store.ErrNotFound, "RoomBySlug")
}

func testAcceptGuidelines(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "acc"), mkUser(t, s, "jo")
	_, err := s.Membership(ctx, r.ID, u.ID)
	wantErr(t, err, store.ErrNotFound, "membership before accepting")
	m, err := s.AcceptGuidelines(ctx, r.ID, u.ID, 1, t0)
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	if m.RoomID != r.ID || m.UserID != u.ID || m.Role != store.RoomRoleMember || m.AcceptedVersion != 1 ||
		!m.AcceptedAt.Equal(t0.Truncate(time.Microsecond)) || !m.MutedUntil.IsZero() || m.Banned {
		t.Fatalf("accepted = %+v", m)
	}
	if _, err := s.SetRoomRole(ctx, r.ID, u.ID, store.RoomRoleHost, t0); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Hour)
	m, err = s.AcceptGuidelines(ctx, r.ID, u.ID, 2, later)
	if err != nil || m.AcceptedVersion != 2 || !m.AcceptedAt.Equal(later.Truncate(time.Microsecond)) {
		t.Fatalf("re-accept = %+v, %v", m, err)
	}
	if m.Role != store.RoomRoleHost {
		t.Fatalf("accepting guidelines reset the room role to %q", m.Role)
	}
	got, err := s.Membership(ctx, r.ID, u.ID)
	if err != nil || got != m {
		t.Fatalf("Membership = %+v, %v; want %+v", got, err, m)
	}
}

func testSetRoomRole(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "role"), mkUser(t, s, "kim")
	m, err := s.SetRoomRole(ctx, r.ID, u.ID, store.RoomRoleModerator, t0)
	if err != nil || m.Role != store.RoomRoleModerator || m.AcceptedVersion != 0 || !m.UpdatedAt.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("SetRoomRole = %+v, %v", m, err)
	}
	m, err = s.SetRoomRole(ctx, r.ID, u.ID, store.RoomRoleMember, t0.Add(time.Second))
	if err != nil || m.Role != store.RoomRoleMember {
		t.Fatalf("demote = %+v, %v", m, err)
	}
	if got, err := s.Membership(ctx, r.ID, u.ID); err != nil || got.Role != store.RoomRoleMember {
		t.Fatalf("Membership = %+v, %v", got, err)
	}
}

func testMembershipUnknownRoom(t *testing.T, s store.Store) {
	u := mkUser(t, s, "lee")
	_, err := s.AcceptGuidelines(ctxT(t), "no-room", u.ID, 1, t0)
	wantErr(t, err, store.ErrNotFound, "accept guidelines of unknown room")
	_, err = s.SetRoomRole(ctxT(t), "no-room", u.ID, store.RoomRoleHost, t0)
	wantErr(t, err, store.ErrNotFound, "set role in unknown room")
}
