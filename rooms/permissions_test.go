package rooms_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/rooms"
	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/sqlite"
)

// The permission matrix of docs/PROTOCOL.md (Moderation): admins > global moderators >
// room moderators > hosts > members; an actor needs at least room-moderator rank, and acts
// on a user only when that user's rank is strictly lower; otherwise `forbidden`. `delete`
// is "own message, or any as room moderator".

// role is one of the five standings the matrix is over, in rank order.
type role int

const (
	roleMember role = iota
	roleHost
	roleRoomModerator
	roleGlobalModerator
	roleAdmin
)

var allRoles = []role{roleMember, roleHost, roleRoomModerator, roleGlobalModerator, roleAdmin}

func (r role) String() string {
	return [...]string{"member", "host", "room_moderator", "global_moderator", "admin"}[r]
}

const (
	Y = true  // allowed
	N = false // forbidden
)

// onUser is the matrix of every command that acts on a user (mute, unmute, remove, ban,
// unban): rows are the actor, columns the target, in allRoles order.
var onUser = map[role][5]bool{
	//                    member host room_mod global_mod admin
	roleMember:          {N, N, N, N, N},
	roleHost:            {N, N, N, N, N},
	roleRoomModerator:   {Y, Y, N, N, N},
	roleGlobalModerator: {Y, Y, Y, N, N},
	roleAdmin:           {Y, Y, Y, Y, N},
}

// onRoom is the matrix of the room-wide commands (slow_mode, lock), by actor.
var onRoom = map[role]bool{
	roleMember: N, roleHost: N, roleRoomModerator: Y, roleGlobalModerator: Y, roleAdmin: Y,
}

// deleteOthers is the matrix of `delete` on someone else's message: rows the actor,
// columns the message's author. PROTOCOL: "own message, or any as room moderator" — any,
// whatever the author's rank. Everyone may delete their own message.
var deleteOthers = map[role][5]bool{
	//                    member host room_mod global_mod admin
	roleMember:          {N, N, N, N, N},
	roleHost:            {N, N, N, N, N},
	roleRoomModerator:   {Y, Y, Y, Y, Y},
	roleGlobalModerator: {Y, Y, Y, Y, Y},
	roleAdmin:           {Y, Y, Y, Y, Y},
}

func verdict(ok bool) string {
	if ok {
		return "allowed"
	}
	return protocol.CodeForbidden
}

// TestPermissionMatrix runs every moderation command for every actor role (and every
// target role where the command has a target), each case in a fresh room with fresh users,
// and checks the outcome, the state change and the audit log.
func TestPermissionMatrix(t *testing.T) {
	f := newFixture(t, nil)

	for _, kind := range []string{"mute", "unmute", "remove", "ban", "unban"} {
		for _, actor := range allRoles {
			for _, target := range allRoles {
				want := onUser[actor][target]
				t.Run(fmt.Sprintf("%s/%s_on_%s/%s", kind, actor, target, verdict(want)), func(t *testing.T) {
					f.checkOnUser(t, kind, actor, target, want)
				})
			}
		}
	}
	for _, kind := range []string{"slow_mode", "lock"} {
		for _, actor := range allRoles {
			want := onRoom[actor]
			t.Run(fmt.Sprintf("%s/%s/%s", kind, actor, verdict(want)), func(t *testing.T) {
				f.checkOnRoom(t, kind, actor, want)
			})
		}
	}
	for _, actor := range allRoles {
		t.Run(fmt.Sprintf("delete/%s_own_message/allowed", actor), func(t *testing.T) {
			f.checkDelete(t, actor, actor, true, true)
		})
		for _, author := range allRoles {
			want := deleteOthers[actor][author]
			t.Run(fmt.Sprintf("delete/%s_on_message_of_%s/%s", actor, author, verdict(want)), func(t *testing.T) {
				f.checkDelete(t, actor, author, false, want)
			})
		}
	}
}

// TestPermissionMatrixIsTheRankRule cross-checks the literal tables above against the rule
// as PROTOCOL states it, so a typo in a table cannot pass unnoticed.
func TestPermissionMatrixIsTheRankRule(t *testing.T) {
	for _, a := range allRoles {
		if got, want := onRoom[a], a >= roleRoomModerator; got != want {
			t.Errorf("onRoom[%s] = %v, rule says %v", a, got, want)
		}
		for _, tg := range allRoles {
			if got, want := onUser[a][tg], a >= roleRoomModerator && tg < a; got != want {
				t.Errorf("onUser[%s][%s] = %v, rule says %v", a, tg, got, want)
			}
			if got, want := deleteOthers[a][tg], a >= roleRoomModerator; got != want {
				t.Errorf("deleteOthers[%s][%s] = %v, rule says %v", a, tg, got, want)
			}
		}
	}
}

func (f *fixture) checkOnUser(t *testing.T, kind string, actorRole, targetRole role, want bool) {
	ctx := context.Background()
	room := f.room(t)
	actorU := f.user(t, room, actorRole)
	targetU := f.user(t, room, targetRole)
	actor := f.admit(t, actorU, room.Slug)

	// Give unmute and unban something to undo.
	switch kind {
	case "unmute":
		until := f.now().Add(time.Hour)
		f.apply(t, store.ModerationChange{Audit: store.AuditEntry{RoomID: room.ID, ActorID: "setup",
			TargetID: targetU.ID, Action: "mute"}, MutedUntil: &until})
	case "unban":
		banned := true
		f.apply(t, store.ModerationChange{Audit: store.AuditEntry{RoomID: room.ID, ActorID: "setup",
			TargetID: targetU.ID, Action: "ban"}, Banned: &banned})
	}
	before := f.membership(t, room.ID, targetU.ID)
	auditBefore := f.audit(t, room.ID)

	a := rooms.Action{Kind: kind, Target: targetU.ID, Reason: "matrix"}
	if kind == "mute" {
		a.Duration = 10 * time.Minute
	}
	_, err := f.svc.Moderate(ctx, actor, a)
	after := f.membership(t, room.ID, targetU.ID)
	auditAfter := f.audit(t, room.ID)

	if !want {
		wantCode(t, err, protocol.CodeForbidden)
		if len(auditAfter) != len(auditBefore) {
			t.Errorf("a refused %s was audited: %+v", kind, auditAfter[0])
		}
		if !after.MutedUntil.Equal(before.MutedUntil) || after.Banned != before.Banned {
			t.Errorf("a refused %s changed the target: %+v → %+v", kind, before, after)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s by %s on %s: %v, want allowed", kind, actorRole, targetRole, err)
	}
	if len(auditAfter) != len(auditBefore)+1 {
		t.Fatalf("%s: audit log has %d entries, want %d", kind, len(auditAfter), len(auditBefore)+1)
	}
	if e := auditAfter[0]; e.Action != kind || e.ActorID != actorU.ID || e.TargetID != targetU.ID || e.Reason != "matrix" {
		t.Errorf("%s: audit entry %+v", kind, e)
	}
	switch kind {
	case "mute":
		if !after.MutedUntil.After(f.now()) {
			t.Errorf("mute: target's muted_until %v, want in the future", after.MutedUntil)
		}
	case "unmute":
		if !after.MutedUntil.IsZero() {
			t.Errorf("unmute: target's muted_until %v, want lifted", after.MutedUntil)
		}
	case "ban":
		if !after.Banned {
			t.Errorf("ban: target not banned")
		}
	case "unban":
		if after.Banned {
			t.Errorf("unban: target still banned")
		}
	case "remove":
		if after.Banned || !after.MutedUntil.Equal(before.MutedUntil) {
			t.Errorf("remove changed the target's standing: %+v → %+v", before, after)
		}
	}
}

func (f *fixture) checkOnRoom(t *testing.T, kind string, actorRole role, want bool) {
	ctx := context.Background()
	room := f.room(t)
	actor := f.admit(t, f.user(t, room, actorRole), room.Slug)
	a := rooms.Action{Kind: kind, Reason: "matrix"}
	switch kind {
	case "slow_mode":
		a.Seconds = 30
	case "lock":
		a.Locked = true
	}
	_, err := f.svc.Moderate(ctx, actor, a)
	stored, serr := f.st.RoomBySlug(ctx, room.Slug)
	if serr != nil {
		t.Fatal(serr)
	}
	cached := actor.Room.Info()
	audit := f.audit(t, room.ID)
	if !want {
		wantCode(t, err, protocol.CodeForbidden)
		if stored.SlowModeS != 0 || stored.Locked || cached.SlowModeS != 0 || cached.Locked {
			t.Errorf("a refused %s changed the room: stored %+v cached %+v", kind, stored, cached)
		}
		if len(audit) != 0 {
			t.Errorf("a refused %s was audited: %+v", kind, audit)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s by %s: %v, want allowed", kind, actorRole, err)
	}
	switch kind {
	case "slow_mode":
		if stored.SlowModeS != 30 || cached.SlowModeS != 30 {
			t.Errorf("slow_mode: stored %d s, cached %d s, want 30", stored.SlowModeS, cached.SlowModeS)
		}
	case "lock":
		if !stored.Locked || !cached.Locked {
			t.Errorf("lock: stored %v, cached %v, want locked", stored.Locked, cached.Locked)
		}
	}
	if len(audit) != 1 || audit[0].Action != kind || audit[0].ActorID != actor.User.ID {
		t.Errorf("%s: audit log %+v, want one %s entry by the actor", kind, audit, kind)
	}
}

func (f *fixture) checkDelete(t *testing.T, actorRole, authorRole role, own, want bool) {
	ctx := context.Background()
	room := f.room(t)
	actorU := f.user(t, room, actorRole)
	authorU := actorU
	if !own {
		authorU = f.user(t, room, authorRole)
	}
	msg := f.message(t, room, authorU)
	actor := f.admit(t, actorU, room.Slug)

	err := f.svc.Delete(ctx, actor, msg.Seq)
	stored, serr := f.st.MessageBySeq(ctx, room.ID, msg.Seq)
	if serr != nil {
		t.Fatal(serr)
	}
	if !want {
		wantCode(t, err, protocol.CodeForbidden)
		if stored.Deleted() {
			t.Errorf("a refused delete deleted the message: %+v", stored)
		}
		return
	}
	if err != nil {
		t.Fatalf("delete by %s of a message by %s: %v, want allowed", actorRole, authorRole, err)
	}
	wantBy := "moderator"
	if own {
		wantBy = "author"
	}
	if !stored.Deleted() || stored.DeletedBy != wantBy {
		t.Errorf("after delete: deleted %v by %q, want deleted by %q", stored.Deleted(), stored.DeletedBy, wantBy)
	}
}

// TestPermissionModeratorDeleteIsAudited: PROTOCOL (Moderation) says moderator deletes are
// audited in the same transaction as their effect; an author deleting their own message is
// not a moderation action.
func TestPermissionModeratorDeleteIsAudited(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	room := f.room(t)
	author := f.user(t, room, roleMember)
	mod := f.admit(t, f.user(t, room, roleRoomModerator), room.Slug)
	own := f.message(t, room, author)
	other := f.message(t, room, author)

	if err := f.svc.Delete(ctx, f.admit(t, author, room.Slug), own.Seq); err != nil {
		t.Fatalf("author's delete: %v", err)
	}
	if audit := f.audit(t, room.ID); len(audit) != 0 {
		t.Errorf("an author's own delete was audited: %+v", audit)
	}
	if err := f.svc.Delete(ctx, mod, other.Seq); err != nil {
		t.Fatalf("moderator's delete: %v", err)
	}
	audit := f.audit(t, room.ID)
	if len(audit) != 1 {
		t.Fatalf("moderator delete audit: %+v, want one entry", audit)
	}
	if e := audit[0]; len(audit) != 1 || e.Action != "delete" || e.ActorID != mod.User.ID || e.TargetID != author.ID {
		t.Errorf("moderator delete audit: %+v, want one delete entry by the moderator on the author", audit)
	}
}

// --- fixture shared by the rooms_test files -------------------------------------------

// fixture is one node's rooms.Service on a temporary SQLite store and the memory broker,
// with control events applied as the hub applies them.
type fixture struct {
	st  *sqlite.Store
	br  *broker.Memory
	svc *rooms.Service
	now func() time.Time
	n   atomic.Int64

	mu     sync.Mutex
	events []rooms.Event // room-channel events, in publish order
}

// newFixture opens a fresh store; now is the service's clock (nil: time.Now).
func newFixture(t *testing.T, now func() time.Time) *fixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "haven.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if now == nil {
		now = time.Now
	}
	f := &fixture{st: st, now: now}
	f.svc, f.br = f.node(t, now)
	return f
}

// node starts a service on f's store with its own memory broker, as another node sharing
// the database would (it hears none of the first node's events).
func (f *fixture) node(t *testing.T, now func() time.Time) (*rooms.Service, *broker.Memory) {
	t.Helper()
	br := broker.NewMemory()
	svc := rooms.New(f.st, br, rooms.Config{
		Now:       now,
		PostRate:  1000, // the per-member rate limit is not what these tests are about
		PostBurst: 1000,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	ctx := context.Background()
	if err := br.Start(ctx, relay{f, svc}); err != nil {
		t.Fatal(err)
	}
	if err := br.Subscribe(ctx, broker.ControlChannel); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Close() })
	return svc, br
}

// relay is the hub's part: control events reach the service, room events are recorded.
type relay struct {
	f   *fixture
	svc *rooms.Service
}

func (r relay) HandleMessage(channel string, payload []byte) {
	e, err := rooms.DecodeEvent(payload)
	if err != nil {
		panic(err)
	}
	if channel == broker.ControlChannel {
		r.svc.HandleControl(context.Background(), e)
		return
	}
	r.f.mu.Lock()
	r.f.events = append(r.f.events, e)
	r.f.mu.Unlock()
}

func (relay) HandleReconnect() {}

// eventsTo returns the to-user events published for userID.
func (f *fixture) eventsTo(userID string) []rooms.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []rooms.Event
	for _, e := range f.events {
		if e.Kind == rooms.KindToUser && e.User == userID {
			out = append(out, e)
		}
	}
	return out
}

// room creates a fresh room.
func (f *fixture) room(t *testing.T) store.Room {
	t.Helper()
	n := f.n.Add(1)
	r, err := f.st.CreateRoom(context.Background(), store.Room{ID: fmt.Sprintf("r_%d", n),
		Slug: fmt.Sprintf("room-%d", n), Name: fmt.Sprintf("Room %d", n), Guidelines: "Be kind."})
	if err != nil {
		t.Fatalf("create room: %v", err)
	}
	if err := f.br.Subscribe(context.Background(), broker.RoomChannel(r.Slug)); err != nil {
		t.Fatal(err)
	}
	return r
}

// user creates a fresh user standing as r in room.
func (f *fixture) user(t *testing.T, room store.Room, r role) store.User {
	t.Helper()
	ctx := context.Background()
	n := f.n.Add(1)
	global := store.RoleMember
	switch r {
	case roleGlobalModerator:
		global = store.RoleModerator
	case roleAdmin:
		global = store.RoleAdmin
	}
	u, err := f.st.CreateUser(ctx, store.NewUser{ID: fmt.Sprintf("u_%d", n), Email: fmt.Sprintf("u%d@example.org", n),
		DisplayName: fmt.Sprintf("%s-%d", r, n), PasswordHash: "not-a-hash", Role: global})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	var roomRole string
	switch r {
	case roleHost:
		roomRole = store.RoomRoleHost
	case roleRoomModerator:
		roomRole = store.RoomRoleModerator
	}
	if roomRole != "" {
		if _, err := f.st.SetRoomRole(ctx, room.ID, u.ID, roomRole, time.Time{}); err != nil {
			t.Fatalf("set room role: %v", err)
		}
	}
	return u
}

// admit joins u to the room on f's service, accepting the guidelines.
func (f *fixture) admit(t *testing.T, u store.User, slug string) *rooms.Member {
	t.Helper()
	return f.admitOn(t, f.svc, u, slug)
}

// admitOn joins u to the room on svc, accepting the guidelines; released when t ends.
func (f *fixture) admitOn(t *testing.T, svc *rooms.Service, u store.User, slug string) *rooms.Member {
	t.Helper()
	ctx := context.Background()
	r, err := svc.Get(ctx, slug)
	if err != nil {
		t.Fatalf("room %s: %v", slug, err)
	}
	m, err := svc.Admit(ctx, u, slug, r.Info().GuidelinesVersion)
	if err != nil {
		t.Fatalf("admit %s: %v", u.DisplayName, err)
	}
	t.Cleanup(func() { svc.Release(m) })
	return m
}

// message stores a message by author straight into the room.
func (f *fixture) message(t *testing.T, room store.Room, author store.User) store.Message {
	t.Helper()
	n := f.n.Add(1)
	m, _, err := f.st.AppendMessage(context.Background(), store.NewMessage{ID: fmt.Sprintf("m_%d", n),
		RoomID: room.ID, AuthorID: author.ID, ClientMsgID: fmt.Sprintf("c%d", n), Text: fmt.Sprintf("message %d", n)})
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return m
}

func (f *fixture) apply(t *testing.T, ch store.ModerationChange) {
	t.Helper()
	if _, err := f.st.ApplyModeration(context.Background(), ch); err != nil {
		t.Fatalf("apply moderation: %v", err)
	}
}

// membership is the stored standing (zero when there is none).
func (f *fixture) membership(t *testing.T, roomID, userID string) store.Membership {
	t.Helper()
	m, err := f.st.Membership(context.Background(), roomID, userID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return m
}

// audit is the room's audit log, newest first.
func (f *fixture) audit(t *testing.T, roomID string) []store.AuditEntry {
	t.Helper()
	es, err := f.st.AuditLog(context.Background(), roomID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// wantCode fails t unless err is a protocol error with code.
func wantCode(t *testing.T, err error, code string) *protocol.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	pe := protocol.AsError(err)
	if pe == nil || pe.Code != code {
		t.Fatalf("got %v, want %s", err, code)
	}
	return pe
}
