package rooms_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/rooms"
)

// Time-based moderation on an injected clock (rooms.Config.Now): nothing sleeps.

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2031, 3, 14, 9, 26, 53, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// post sends text as m and returns the protocol error (nil when the post was stored).
func post(t *testing.T, svc *rooms.Service, m *rooms.Member, text string) *protocol.Error {
	t.Helper()
	_, err := svc.Post(context.Background(), m, text, fmt.Sprintf("c-%s-%d", text, time.Now().UnixNano()))
	if err == nil {
		return nil
	}
	return protocol.AsError(err)
}

// wantRefused fails t unless pe has code.
func wantRefused(t *testing.T, pe *protocol.Error, code, when string) *protocol.Error {
	t.Helper()
	if pe == nil || pe.Code != code {
		t.Fatalf("%s: post answered %v, want %s", when, pe, code)
	}
	return pe
}

// A mute for 10 minutes refuses sends with `muted` and its `until`, and lifts by itself
// once the clock passes until: nobody unmutes, nothing is written.
func TestExpiryMuteLiftsItselfAtUntil(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	f := newFixture(t, clk.Now)
	room := f.room(t)
	mod := f.admit(t, f.user(t, room, roleRoomModerator), room.Slug)
	targetU := f.user(t, room, roleMember)
	target := f.admit(t, targetU, room.Slug)
	if pe := post(t, f.svc, target, "before the mute"); pe != nil {
		t.Fatalf("post before the mute: %v", pe)
	}

	start := clk.Now()
	until, err := f.svc.Moderate(ctx, mod, rooms.Action{Kind: "mute", Target: targetU.ID, Duration: 10 * time.Minute, Reason: "cool off"})
	if err != nil {
		t.Fatalf("mute: %v", err)
	}
	if want := start.Add(10 * time.Minute); !until.Equal(want) {
		t.Fatalf("mute until %v, want %v", until, want)
	}
	wantUntil := protocol.TS(until)

	// The target is told, with until.
	var told bool
	for _, e := range f.eventsTo(targetU.ID) {
		var ev protocol.Moderation
		if json.Unmarshal(e.Data, &ev) == nil && ev.Action == "mute" {
			told = true
			if ev.Until != wantUntil || ev.Target == nil || ev.Target.ID != targetU.ID {
				t.Errorf("mute event %+v, want until %s and the target", ev, wantUntil)
			}
		}
	}
	if !told {
		t.Errorf("the target got no mute event")
	}

	// A second node, which heard nothing, reads the mute from the store.
	other, _ := f.node(t, clk.Now)
	targetThere := f.admitOn(t, other, targetU, room.Slug)

	for _, step := range []struct {
		advance time.Duration
		when    string
	}{
		{0, "at once"},
		{5 * time.Minute, "after 5 minutes"},
		{5*time.Minute - time.Millisecond, "1 ms before until"},
	} {
		clk.Advance(step.advance)
		for node, m := range map[string]*rooms.Member{"this node": target, "another node": targetThere} {
			svc := f.svc
			if node == "another node" {
				svc = other
			}
			pe := wantRefused(t, post(t, svc, m, "muted?"), protocol.CodeMuted, step.when+" on "+node)
			if got := pe.Extra["until"]; got != wantUntil {
				t.Errorf("%s on %s: muted until %v, want %s", step.when, node, got, wantUntil)
			}
		}
	}

	clk.Advance(2 * time.Millisecond) // past until
	if pe := post(t, f.svc, target, "free again"); pe != nil {
		t.Fatalf("post after until: %v, want allowed", pe)
	}
	if pe := post(t, other, targetThere, "free there too"); pe != nil {
		t.Fatalf("post after until on another node: %v, want allowed", pe)
	}

	// Nobody lifted it: the audit log holds the mute alone and the stored mute is as set.
	if audit := f.audit(t, room.ID); len(audit) != 1 || audit[0].Action != "mute" || !audit[0].ExpiresAt.Equal(until) {
		t.Errorf("audit log %+v, want the mute alone, expiring at %v", audit, until)
	}
	if ms := f.membership(t, room.ID, targetU.ID); !ms.MutedUntil.Equal(until) {
		t.Errorf("stored muted_until %v, want %v untouched", ms.MutedUntil, until)
	}
}

// Slow mode's retry_after_ms counts from the member's last accepted post on the service's
// clock; refused attempts do not restart the wait; staff are exempt; 0 turns it off.
func TestExpirySlowModeRetryAfter(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	f := newFixture(t, clk.Now)
	room := f.room(t)
	mod := f.admit(t, f.user(t, room, roleRoomModerator), room.Slug)
	member := f.admit(t, f.user(t, room, roleMember), room.Slug)
	host := f.admit(t, f.user(t, room, roleHost), room.Slug)

	if _, err := f.svc.Moderate(ctx, mod, rooms.Action{Kind: "slow_mode", Seconds: 60}); err != nil {
		t.Fatalf("slow_mode: %v", err)
	}
	if pe := post(t, f.svc, member, "first"); pe != nil {
		t.Fatalf("first post under slow mode: %v", pe)
	}
	retry := func(when string, want int64) {
		t.Helper()
		pe := wantRefused(t, post(t, f.svc, member, "again"), protocol.CodeSlowMode, when)
		if got := fmt.Sprint(pe.Extra["retry_after_ms"]); got != fmt.Sprint(want) {
			t.Errorf("%s: retry_after_ms %s, want %d", when, got, want)
		}
	}
	retry("at once", 60000)
	clk.Advance(20 * time.Second)
	retry("after 20 s", 40000)
	clk.Advance(40*time.Second - time.Millisecond)
	retry("1 ms before the minute", 1)
	clk.Advance(time.Millisecond)
	if pe := post(t, f.svc, member, "second"); pe != nil {
		t.Fatalf("post a minute after the first: %v, want allowed", pe)
	}
	clk.Advance(15 * time.Second)
	retry("15 s after the second", 45000)

	for i := range 3 {
		if pe := post(t, f.svc, host, fmt.Sprintf("host %d", i)); pe != nil {
			t.Fatalf("host under slow mode: %v, want exempt", pe)
		}
		if pe := post(t, f.svc, mod, fmt.Sprintf("moderator %d", i)); pe != nil {
			t.Fatalf("moderator under slow mode: %v, want exempt", pe)
		}
	}

	if _, err := f.svc.Moderate(ctx, mod, rooms.Action{Kind: "slow_mode", Seconds: 0}); err != nil {
		t.Fatalf("slow_mode off: %v", err)
	}
	for i := range 3 {
		if pe := post(t, f.svc, member, fmt.Sprintf("off %d", i)); pe != nil {
			t.Fatalf("post %d with slow mode off: %v", i, pe)
		}
	}
}

// A mute holds until its end whatever else a moderator does to the member meanwhile: an
// unban (of a member who is not banned) must not lift it on the nodes that hear it.
func TestExpiryMuteHoldsAcrossUnban(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	f := newFixture(t, clk.Now)
	room := f.room(t)
	mod := f.admit(t, f.user(t, room, roleRoomModerator), room.Slug)
	targetU := f.user(t, room, roleMember)
	target := f.admit(t, targetU, room.Slug)

	if _, err := f.svc.Moderate(ctx, mod, rooms.Action{Kind: "mute", Target: targetU.ID, Duration: 10 * time.Minute}); err != nil {
		t.Fatalf("mute: %v", err)
	}
	if _, err := f.svc.Moderate(ctx, mod, rooms.Action{Kind: "unban", Target: targetU.ID}); err != nil {
		t.Fatalf("unban: %v", err)
	}
	clk.Advance(time.Minute)
	pe := post(t, f.svc, target, "unbanned, still muted?")
	wantRefused(t, pe, protocol.CodeMuted, "after an unban")
}
