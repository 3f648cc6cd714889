package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/havenhealth/haven/store"
)

// runMembers runs the member-list cases.
func runMembers(t *testing.T, fresh func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Members/OrderAndFields", testMembersOrder},
		{"Members/LimitAndRooms", testMembersLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, fresh(t))
		})
	}
}

// testMembersOrder: banned first (by name), then mutes on record (latest end first, ended
// ones included), then everyone else by name ignoring case; each row is the membership as
// Membership returns it, with the member's public face.
func testMembersOrder(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r := mkRoom(t, s, "members")
	accept := func(u store.User) {
		t.Helper()
		if _, err := s.AcceptGuidelines(ctx, r.ID, u.ID, 1, t0); err != nil {
			t.Fatal(err)
		}
	}
	mute := func(u store.User, until time.Time) {
		t.Helper()
		moderate(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: r.ID, TargetID: u.ID, Action: "mute"}, MutedUntil: &until})
	}
	ban := func(u store.User) {
		t.Helper()
		moderate(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: r.ID, TargetID: u.ID, Action: "ban"}, Banned: ptr(true)})
	}

	zed, amy, al := mkUser(t, s, "zed"), mkUser(t, s, "Amy"), mkUser(t, s, "al")
	bob, eve := mkUser(t, s, "bob"), mkUser(t, s, "Eve")
	carl, dora, finn := mkUser(t, s, "Carl"), mkUser(t, s, "dora"), mkUser(t, s, "Finn")
	mkUser(t, s, "outsider") // no membership: not listed
	for _, u := range []store.User{zed, al, bob, carl, dora, finn} {
		accept(u)
	}
	if _, err := s.SetRoomRole(ctx, r.ID, amy.ID, store.RoomRoleModerator, t0); err != nil { // role, never accepted
		t.Fatal(err)
	}
	if _, err := s.SetUserRole(ctx, al.ID, store.RoleClinician, true); err != nil {
		t.Fatal(err)
	}
	ban(eve) // banned without having joined
	ban(bob)
	mute(eve, t0.Add(3*time.Hour)) // a banned member's mute does not move them
	mute(carl, t0.Add(2*time.Hour))
	mute(dora, t0.Add(-time.Hour)) // ended, still on record
	mute(finn, t0.Add(time.Hour))
	mute(al, t0.Add(time.Hour))
	moderate(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: r.ID, TargetID: al.ID, Action: "unmute"}, MutedUntil: &time.Time{}})

	got, err := s.Memberships(ctx, r.ID, 100)
	if err != nil {
		t.Fatalf("Memberships: %v", err)
	}
	var names []string
	for _, m := range got {
		names = append(names, m.User.DisplayName)
	}
	want := []string{"bob", "Eve", "Carl", "Finn", "dora", "al", "Amy", "zed"}
	if !slices.Equal(names, want) {
		t.Fatalf("order = %v, want %v", names, want)
	}
	for _, m := range got {
		ms := membership(t, s, r.ID, m.UserID)
		if m.Membership != ms {
			t.Errorf("%s: listed %+v, Membership %+v", m.User.DisplayName, m.Membership, ms)
		}
		u, err := s.UserByID(ctx, m.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if m.User != (store.Author{ID: u.ID, DisplayName: u.DisplayName, Role: u.Role, Verified: u.Verified}) {
			t.Errorf("%s: public face %+v, user %+v", m.User.DisplayName, m.User, u)
		}
		for _, tm := range []time.Time{m.MutedUntil, m.UpdatedAt, m.AcceptedAt} {
			if !tm.IsZero() && tm.Location() != time.UTC {
				t.Errorf("%s: time %v not in UTC", m.User.DisplayName, tm)
			}
		}
	}
	byName := map[string]store.RoomMember{}
	for _, m := range got {
		byName[m.User.DisplayName] = m
	}
	if m := byName["Amy"]; m.Role != store.RoomRoleModerator || m.AcceptedVersion != 0 || m.Banned {
		t.Errorf("Amy = %+v", m)
	}
	if m := byName["al"]; m.User.Role != store.RoleClinician || !m.User.Verified || !m.MutedUntil.IsZero() || m.AcceptedVersion != 1 {
		t.Errorf("al = %+v", m)
	}
	if m := byName["Carl"]; !m.MutedUntil.Equal(t0.Add(2*time.Hour).Truncate(time.Microsecond)) || m.Banned {
		t.Errorf("Carl = %+v", m)
	}
	if m := byName["Eve"]; !m.Banned || m.AcceptedVersion != 0 || m.MutedUntil.IsZero() {
		t.Errorf("Eve = %+v", m)
	}
}

func testMembersLimit(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, other := mkRoom(t, s, "lim"), mkRoom(t, s, "other")
	for _, name := range []string{"c-one", "a-one", "b-one"} {
		u := mkUser(t, s, name)
		if _, err := s.AcceptGuidelines(ctx, r.ID, u.ID, 1, t0); err != nil {
			t.Fatal(err)
		}
	}
	elsewhere := mkUser(t, s, "elsewhere")
	if _, err := s.AcceptGuidelines(ctx, other.ID, elsewhere.ID, 1, t0); err != nil {
		t.Fatal(err)
	}
	got, err := s.Memberships(ctx, r.ID, 2)
	if err != nil || len(got) != 2 || got[0].User.DisplayName != "a-one" || got[1].User.DisplayName != "b-one" {
		t.Fatalf("limit 2 = %+v, %v", got, err)
	}
	for _, limit := range []int{0, -1} {
		if got, err := s.Memberships(ctx, r.ID, limit); err != nil || len(got) != 0 {
			t.Fatalf("limit %d = %+v, %v; want none", limit, got, err)
		}
	}
	if got, err := s.Memberships(ctx, other.ID, 10); err != nil || len(got) != 1 || got[0].UserID != elsewhere.ID || got[0].RoomID != other.ID {
		t.Fatalf("other room = %+v, %v", got, err)
	}
	if got, err := s.Memberships(ctx, "no-such-room", 10); err != nil || len(got) != 0 {
		t.Fatalf("unknown room = %+v, %v; want none and no error", got, err)
	}
}
