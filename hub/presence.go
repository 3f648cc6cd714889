package hub

import (
	"context"
	"sync"
	"time"

	"github.com/havenhealth/haven/protocol"
)

// presenceBatcher coalesces a room's presence changes on this node: at most one presence
// event per room per interval. A lone change goes out at once, as before, with its user in
// joined or left; changes that arrive within the interval of the last event wait for the
// interval's end and then go out as one event. When that batch holds a single change it
// still names the user; a larger one carries only the current online count (joined and
// left are optional). Without it a wave of N joins costs N presence events to up to N
// members each: O(N²) deliveries.
type presenceBatcher struct {
	interval time.Duration
	online   func(ctx context.Context, slug string) (int, error) // the room's count now
	send     func(ctx context.Context, slug string, ev protocol.Presence)

	mu    sync.Mutex               // guards rooms and every roomPresence in it
	rooms map[string]*roomPresence // slug → a room that published within the interval
}

// roomPresence is one room's state between two presence events.
type roomPresence struct {
	timer *time.Timer // ends the interval: publishes what waits, or forgets the room
	batch presenceBatch
}

// presenceBatch is the changes waiting for the interval to end.
type presenceBatch struct {
	n      int
	first  presenceChange
	latest int // the count returned for the latest change
}

type presenceChange struct {
	user   protocol.User
	joined bool
	online int // the count right after this change
}

func newPresenceBatcher(h *Hub, interval time.Duration) *presenceBatcher {
	return &presenceBatcher{interval: interval, rooms: make(map[string]*roomPresence),
		online: h.pres.Online,
		send: func(ctx context.Context, slug string, ev protocol.Presence) {
			h.rooms.PublishEphemeral(ctx, slug, ev)
		},
	}
}

// note records a change (its online is the count the presence tracker returned for it) and
// publishes it now, or when the room's interval ends.
func (b *presenceBatcher) note(slug string, ch presenceChange) {
	batch := presenceBatch{n: 1, first: ch, latest: ch.online}
	if b.interval <= 0 {
		b.publish(slug, batch)
		return
	}
	b.mu.Lock()
	if rp := b.rooms[slug]; rp != nil { // within the interval: wait for its end
		if rp.batch.n == 0 {
			rp.batch.first = ch
		}
		rp.batch.n++
		rp.batch.latest = ch.online
		b.mu.Unlock()
		return
	}
	b.rooms[slug] = &roomPresence{timer: time.AfterFunc(b.interval, func() { b.flush(slug) })}
	b.mu.Unlock()
	b.publish(slug, batch)
}

// flush ends a room's interval: what waited is published and a new interval begins, or,
// when nothing waited, the room is forgotten.
func (b *presenceBatcher) flush(slug string) {
	b.mu.Lock()
	rp := b.rooms[slug]
	if rp == nil {
		b.mu.Unlock()
		return
	}
	batch := rp.batch
	if batch.n == 0 {
		delete(b.rooms, slug)
		b.mu.Unlock()
		return
	}
	rp.batch = presenceBatch{}
	rp.timer = time.AfterFunc(b.interval, func() { b.flush(slug) })
	b.mu.Unlock()
	b.publish(slug, batch)
}

// flushAll publishes every waiting change now (on drain, before the node goes away).
func (b *presenceBatcher) flushAll() {
	b.mu.Lock()
	waiting := make(map[string]presenceBatch)
	for slug, rp := range b.rooms {
		rp.timer.Stop()
		if rp.batch.n > 0 {
			waiting[slug] = rp.batch
		}
		delete(b.rooms, slug)
	}
	b.mu.Unlock()
	for slug, batch := range waiting {
		b.publish(slug, batch)
	}
}

func (b *presenceBatcher) publish(slug string, batch presenceBatch) {
	ctx := context.Background()
	ev := protocol.Presence{Type: "presence", Room: slug, Online: batch.latest}
	if batch.n == 1 {
		u := batch.first.user
		ev.Online = batch.first.online
		if batch.first.joined {
			ev.Joined = &u
		} else {
			ev.Left = &u
		}
	} else if online, err := b.online(ctx, slug); err == nil {
		ev.Online = online
	}
	b.send(ctx, slug, ev)
}
