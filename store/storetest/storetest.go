// Package storetest is the conformance suite every store.Store backend must pass. Backends
// call Run from their own tests with a function that opens a fresh, empty store.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/store"
)

// Run runs every conformance test. open must return a fresh, empty store; Run closes it.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	fresh := func(t *testing.T) store.Store {
		t.Helper()
		s := open(t)
		t.Cleanup(func() { s.Close() })
		return s
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Users/CreateAndGet", testUserCreateGet},
		{"Users/DuplicateEmail", testUserDuplicateEmail},
		{"Users/DuplicateDisplayName", testUserDuplicateDisplayName},
		{"Users/NotFound", testUserNotFound},
		{"Users/SetRoleAndCount", testUserSetRoleCount},
		{"Sessions/Live", testSessionLive},
		{"Sessions/Expired", testSessionExpired},
		{"Sessions/Revoked", testSessionRevoked},
		{"Rooms/CreateDefaults", testRoomCreateDefaults},
		{"Rooms/DuplicateSlug", testRoomDuplicateSlug},
		{"Rooms/UpdateAndGuidelinesVersion", testRoomUpdate},
		{"Rooms/List", testRoomList},
		{"Rooms/NotFound", testRoomNotFound},
		{"Membership/AcceptGuidelines", testAcceptGuidelines},
		{"Membership/SetRoomRole", testSetRoomRole},
		{"Membership/UnknownRoom", testMembershipUnknownRoom},
		{"Messages/Append", testAppend},
		{"Messages/AppendIdempotent", testAppendIdempotent},
		{"Messages/AppendUnknownRoom", testAppendUnknownRoom},
		{"Messages/AppendDuplicateID", testAppendDuplicateID},
		{"Messages/ConcurrentAppendGapFree", testConcurrentAppend},
		{"Messages/ConcurrentResend", testConcurrentResend},
		{"Messages/ConcurrentRooms", testConcurrentRooms},
		{"Messages/ConcurrentMixedFailures", testConcurrentMixed},
		{"Messages/PagingAfter", testPagingAfter},
		{"Messages/PagingBefore", testPagingBefore},
		{"Messages/Delete", testDelete},
		{"Messages/NotFound", testMessageNotFound},
		{"Reports/Create", testReport},
		{"Times/UTCMicroseconds", testTimes},
		{"Errors/ClosedStoreUnavailable", testClosed},
		{"Errors/ContextDeadline", testDeadline},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, fresh(t))
		})
	}
	runModeration(t, fresh)
	runReview(t, fresh)
	runMembers(t, fresh)
	runSessions(t, fresh)
	runPrivacy(t, fresh)
	runAdverse(t, fresh)
	runEdits(t, fresh)
	runDisclosure(t, fresh)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// t0 is a fixed instant with sub-microsecond noise, to check that backends truncate alike.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC)

func mkUser(t *testing.T, s store.Store, name string) store.User {
	t.Helper()
	u, err := s.CreateUser(ctxT(t), store.NewUser{ID: ids.New("u_"), Email: name + "@example.org",
		DisplayName: name, PasswordHash: "$argon2id$x", Role: store.RoleMember, CreatedAt: t0})
	if err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

func mkRoom(t *testing.T, s store.Store, slug string) store.Room {
	t.Helper()
	r, err := s.CreateRoom(ctxT(t), store.Room{ID: ids.New("r_"), Slug: slug, Name: "Room " + slug,
		Condition: "t1d", Guidelines: "be kind", CreatedAt: t0})
	if err != nil {
		t.Fatalf("create room %s: %v", slug, err)
	}
	return r
}

func post(t *testing.T, s store.Store, room store.Room, u store.User, cid, text string) store.Message {
	t.Helper()
	m, dup, err := s.AppendMessage(ctxT(t), store.NewMessage{ID: ids.New("m_"), RoomID: room.ID,
		AuthorID: u.ID, ClientMsgID: cid, Text: text, CreatedAt: t0})
	if err != nil {
		t.Fatalf("append %q: %v", text, err)
	}
	if dup {
		t.Fatalf("append %q: unexpected duplicate", text)
	}
	return m
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one wrapping %v", what, err, target)
	}
}

func testUserCreateGet(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	u, err := s.CreateUser(ctx, store.NewUser{ID: "u1", Email: "Ann@Example.ORG", DisplayName: "Ann",
		PasswordHash: "hash1", Role: store.RoleMember, CreatedAt: t0})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	want := store.User{ID: "u1", Email: "ann@example.org", DisplayName: "Ann", Role: store.RoleMember,
		CreatedAt: t0.Truncate(time.Microsecond)}
	if !sameUser(u, want) {
		t.Fatalf("created = %+v, want %+v", u, want)
	}
	got, err := s.UserByID(ctx, "u1")
	if err != nil || !sameUser(got, want) {
		t.Fatalf("UserByID = %+v, %v; want %+v", got, err, want)
	}
	got, hash, err := s.UserByEmail(ctx, "ANN@example.org")
	if err != nil || !sameUser(got, want) || hash != "hash1" {
		t.Fatalf("UserByEmail = %+v, %q, %v", got, hash, err)
	}
}

func sameUser(a, b store.User) bool {
	return a.ID == b.ID && a.Email == b.Email && a.DisplayName == b.DisplayName && a.Role == b.Role &&
		a.Verified == b.Verified && a.CreatedAt.Equal(b.CreatedAt)
}

func testUserDuplicateEmail(t *testing.T, s store.Store) {
	mkUser(t, s, "bob")
	_, err := s.CreateUser(ctxT(t), store.NewUser{ID: "u2", Email: "BOB@example.org", DisplayName: "other",
		PasswordHash: "h", Role: store.RoleMember})
	wantErr(t, err, store.ErrConflict, "duplicate email, other case")
}

func testUserDuplicateDisplayName(t *testing.T, s store.Store) {
	mkUser(t, s, "Carol")
	for _, name := range []string{"Carol", "carol", "CAROL"} {
		_, err := s.CreateUser(ctxT(t), store.NewUser{ID: ids.New("u_"), Email: ids.New("") + "@example.org",
			DisplayName: name, PasswordHash: "h", Role: store.RoleMember})
		wantErr(t, err, store.ErrConflict, "duplicate display name "+name)
	}
	if _, err := s.CreateUser(ctxT(t), store.NewUser{ID: "u_ok", Email: "x@example.org", DisplayName: "Carol2",
		PasswordHash: "h"}); err != nil {
		t.Fatalf("distinct name: %v", err)
	}
}

func testUserNotFound(t *testing.T, s store.Store) {
	_, err := s.UserByID(ctxT(t), "nobody")
	wantErr(t, err, store.ErrNotFound, "UserByID")
	_, _, err = s.UserByEmail(ctxT(t), "nobody@example.org")
	wantErr(t, err, store.ErrNotFound, "UserByEmail")
	_, err = s.SetUserRole(ctxT(t), "nobody", store.RoleAdmin, false)
	wantErr(t, err, store.ErrNotFound, "SetUserRole")
}

func testUserSetRoleCount(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	a, b := mkUser(t, s, "dan"), mkUser(t, s, "eve")
	mkUser(t, s, "fay")
	if n, err := s.CountUsersWithRole(ctx, store.RoleAdmin); err != nil || n != 0 {
		t.Fatalf("admins = %d, %v; want 0", n, err)
	}
	u, err := s.SetUserRole(ctx, a.ID, store.RoleClinician, true)
	if err != nil || u.Role != store.RoleClinician || !u.Verified {
		t.Fatalf("SetUserRole = %+v, %v", u, err)
	}
	if _, err := s.SetUserRole(ctx, b.ID, store.RoleAdmin, false); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.UserByID(ctx, a.ID); u.Role != store.RoleClinician || !u.Verified {
		t.Fatalf("after reload: %+v", u)
	}
	for role, want := range map[string]int{store.RoleAdmin: 1, store.RoleClinician: 1, store.RoleMember: 1} {
		if n, err := s.CountUsersWithRole(ctx, role); err != nil || n != want {
			t.Fatalf("count %s = %d, %v; want %d", role, n, err, want)
		}
	}
}

func mkSession(t *testing.T, s store.Store, u store.User, exp time.Time) store.Session {
	t.Helper()
	ss := store.Session{ID: ids.New("s_"), TokenHash: []byte(ids.Token())[:32], UserID: u.ID, CreatedAt: t0, ExpiresAt: exp}
	if err := s.CreateSession(ctxT(t), ss); err != nil {
		t.Fatalf("create session: %v", err)
	}
	return ss
}

func testSessionLive(t *testing.T, s store.Store) {
	u := mkUser(t, s, "gus")
	ss := mkSession(t, s, u, t0.Add(time.Hour))
	got, gu, err := s.SessionUser(ctxT(t), ss.TokenHash, t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("SessionUser: %v", err)
	}
	if got.ID != ss.ID || got.UserID != u.ID || string(got.TokenHash) != string(ss.TokenHash) ||
		!got.ExpiresAt.Equal(ss.ExpiresAt.Truncate(time.Microsecond)) || !sameUser(gu, u) {
		t.Fatalf("SessionUser = %+v, %+v", got, gu)
	}
	_, _, err = s.SessionUser(ctxT(t), []byte("no such token hash, 32 bytes...."), t0)
	wantErr(t, err, store.ErrNotFound, "unknown token")
	err = s.CreateSession(ctxT(t), store.Session{ID: "dup", TokenHash: ss.TokenHash, UserID: u.ID, ExpiresAt: t0})
	wantErr(t, err, store.ErrConflict, "duplicate token hash")
}

func testSessionExpired(t *testing.T, s store.Store) {
	u := mkUser(t, s, "hal")
	ss := mkSession(t, s, u, t0.Add(time.Hour))
	_, _, err := s.SessionUser(ctxT(t), ss.TokenHash, t0.Add(time.Hour))
	wantErr(t, err, store.ErrNotFound, "session at its expiry instant")
	_, _, err = s.SessionUser(ctxT(t), ss.TokenHash, t0.Add(2*time.Hour))
	wantErr(t, err, store.ErrNotFound, "expired session")
}

func testSessionRevoked(t *testing.T, s store.Store) {
	u := mkUser(t, s, "ida")
	ss := mkSession(t, s, u, time.Now().Add(time.Hour))
	other := mkSession(t, s, u, time.Now().Add(time.Hour))
	if err := s.RevokeSession(ctxT(t), ss.ID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if err := s.RevokeSession(ctxT(t), ss.ID); err != nil {
		t.Fatalf("revoke again: %v", err)
	}
	_, _, err := s.SessionUser(ctxT(t), ss.TokenHash, time.Now())
	wantErr(t, err, store.ErrNotFound, "revoked session")
	if _, _, err := s.SessionUser(ctxT(t), other.TokenHash, time.Now()); err != nil {
		t.Fatalf("other session of the same user: %v", err)
	}
	wantErr(t, s.RevokeSession(ctxT(t), "nope"), store.ErrNotFound, "revoke unknown")
}

func testTimes(t *testing.T, s store.Store) {
	local := time.FixedZone("X", 5*3600+1800)
	u, err := s.CreateUser(ctxT(t), store.NewUser{ID: "tz", Email: "tz@example.org", DisplayName: "tz",
		PasswordHash: "h", CreatedAt: t0.In(local)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByID(ctxT(t), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := t0.Truncate(time.Microsecond)
	if !got.CreatedAt.Equal(want) || got.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreatedAt = %v, want %v in UTC", got.CreatedAt, want)
	}
}
