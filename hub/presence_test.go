package hub

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/havenhealth/haven/protocol"
)

// recordedPresence collects what a presenceBatcher publishes.
type recordedPresence struct {
	mu     sync.Mutex
	events []protocol.Presence
	online int
}

func (r *recordedPresence) take() []protocol.Presence {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

func newRecordedBatcher(interval time.Duration) (*presenceBatcher, *recordedPresence) {
	rec := &recordedPresence{}
	b := &presenceBatcher{interval: interval, rooms: make(map[string]*roomPresence),
		online: func(context.Context, string) (int, error) {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			return rec.online, nil
		},
		send: func(_ context.Context, _ string, ev protocol.Presence) {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.events = append(rec.events, ev)
		},
	}
	return b, rec
}

func joinOf(id string, online int) presenceChange {
	return presenceChange{user: protocol.User{ID: id}, joined: true, online: online}
}

func TestPresenceBatcher(t *testing.T) {
	const interval = 250 * time.Millisecond
	t.Run("a lone change goes out at once, naming the user", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, rec := newRecordedBatcher(interval)
			b.note("r", joinOf("a", 1))
			evs := rec.take()
			if len(evs) != 1 || evs[0].Joined == nil || evs[0].Joined.ID != "a" || evs[0].Online != 1 {
				t.Fatalf("events %+v", evs)
			}
			time.Sleep(interval + time.Millisecond)
			synctest.Wait()
			if evs := rec.take(); len(evs) != 0 {
				t.Fatalf("quiet interval published %+v", evs)
			}
			if len(b.rooms) != 0 {
				t.Fatal("a quiet room is still tracked")
			}
		})
	})
	t.Run("one change within the interval waits for its end and still names the user", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, rec := newRecordedBatcher(interval)
			b.note("r", joinOf("a", 1))
			rec.take()
			time.Sleep(interval / 2)
			b.note("r", presenceChange{user: protocol.User{ID: "a"}, online: 0})
			synctest.Wait()
			if evs := rec.take(); len(evs) != 0 {
				t.Fatalf("published before the interval ended: %+v", evs)
			}
			time.Sleep(interval / 2)
			synctest.Wait()
			evs := rec.take()
			if len(evs) != 1 || evs[0].Left == nil || evs[0].Left.ID != "a" || evs[0].Online != 0 {
				t.Fatalf("events %+v", evs)
			}
		})
	})
	t.Run("a wave of joins is one count per interval", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, rec := newRecordedBatcher(interval)
			for i := 1; i <= 1000; i++ { // 1,000 joins over 1 s
				b.note("r", joinOf("u", i))
				rec.mu.Lock()
				rec.online = i
				rec.mu.Unlock()
				time.Sleep(time.Millisecond)
			}
			time.Sleep(2 * interval)
			synctest.Wait()
			evs := rec.take()
			if len(evs) > 6 {
				t.Fatalf("%d presence events for 1,000 joins", len(evs))
			}
			for _, ev := range evs[1:] {
				if ev.Joined != nil || ev.Left != nil {
					t.Fatalf("a batch named a user: %+v", ev)
				}
			}
			if last := evs[len(evs)-1]; last.Online != 1000 {
				t.Fatalf("last count %d, want 1000", last.Online)
			}
		})
	})
	t.Run("rooms are independent", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, rec := newRecordedBatcher(interval)
			b.note("r1", joinOf("a", 1))
			b.note("r2", joinOf("a", 1))
			if evs := rec.take(); len(evs) != 2 {
				t.Fatalf("events %+v", evs)
			}
		})
	})
	t.Run("a few changes are named one by one, each with its count", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, rec := newRecordedBatcher(interval)
			b.note("r", joinOf("a", 1))
			rec.take()
			b.note("r", joinOf("b", 2))
			b.note("r", presenceChange{user: protocol.User{ID: "b"}, online: 1})
			time.Sleep(interval)
			synctest.Wait()
			evs := rec.take()
			if len(evs) != 2 || evs[0].Joined == nil || evs[0].Joined.ID != "b" || evs[0].Online != 2 ||
				evs[1].Left == nil || evs[1].Left.ID != "b" || evs[1].Online != 1 {
				t.Fatalf("events %+v", evs)
			}
		})
	})
	t.Run("flushAll publishes what waits", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, rec := newRecordedBatcher(interval)
			for i := 1; i <= presenceNamed+2; i++ {
				b.note("r", joinOf("u", i))
			}
			rec.online = presenceNamed + 2
			rec.take()
			b.flushAll()
			evs := rec.take()
			if len(evs) != 1 || evs[0].Online != presenceNamed+2 || evs[0].Joined != nil {
				t.Fatalf("events %+v", evs)
			}
			if len(b.rooms) != 0 {
				t.Fatal("rooms still tracked after flushAll")
			}
		})
	})
	t.Run("a negative interval publishes every change", func(t *testing.T) {
		b, rec := newRecordedBatcher(-1)
		b.note("r", joinOf("a", 1))
		b.note("r", joinOf("b", 2))
		if evs := rec.take(); len(evs) != 2 || evs[1].Joined.ID != "b" {
			t.Fatalf("events %+v", evs)
		}
	})
}

// TestPresenceWaveOverTheWire: members joining at once see one count, not one event each.
func TestPresenceWaveOverTheWire(t *testing.T) {
	n := newTestNode(t, Config{PresenceInterval: time.Hour})
	first := n.dial(n.user(0))
	_, early := first.do("join", map[string]any{"room": "r1", "accept_guidelines": 1})
	const members = 20
	for i := 1; i < members; i++ {
		n.dial(n.user(i)).join("r1")
	}
	n.h.presence.flushAll()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []map[string]any
	for _, m := range early { // events that shared a frame with the join reply
		if m["type"] == "presence" {
			got = append(got, m)
		}
	}
	for len(got) == 0 || got[len(got)-1]["online"] != float64(members) {
		objs, err := first.frame(ctx)
		if err != nil {
			t.Fatalf("presence so far %v: %v", got, err)
		}
		for _, m := range objs {
			if m["type"] == "presence" {
				got = append(got, m)
			}
		}
	}
	// The first member's own join went out at once; the other 19 are one count.
	if len(got) != 2 || got[1]["joined"] != nil {
		t.Fatalf("presence events %v", got)
	}
}
