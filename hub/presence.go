package hub

import (
	"context"
	"sync"
	"time"

	"github.com/havenhealth/haven/protocol"
)

// presenceNamed is the most changes a batch reports one event each, naming the user;
// a larger batch is one event with the count only.
const presenceNamed = 4

// presenceBatcher coalesces a room's presence changes on this node. A change after a quiet
// spell goes out at once, as before, with its user in joined or left; changes within the
// interval of the room's last publication wait for the interval's end. Then a batch of up
// to presenceNamed changes goes out as one event per change, each naming its user with the
// count right after it (so a quick leave and rejoin still reads right); a larger batch is
// one event with the current online count only (joined and left are optional). Without it
// a wave of N joins costs N presence events to up to N members each: O(N²) deliveries.
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
	n       int
	changes [presenceNamed]presenceChange // the first ones
	latest  int                           // the count returned for the latest change
}

func (b *presenceBatch) add(ch presenceChange) {
	if b.n < presenceNamed {
		b.changes[b.n] = ch
	}
	b.n++
	b.latest = ch.online
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
	var batch presenceBatch
	batch.add(ch)
	if b.interval <= 0 {
		b.publish(slug, batch)
		return
	}
	b.mu.Lock()
	if rp := b.rooms[slug]; rp != nil { // within the interval: wait for its end
		rp.batch.add(ch)
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
	if batch.n <= presenceNamed {
		for _, ch := range batch.changes[:batch.n] {
			ev := protocol.Presence{Type: "presence", Room: slug, Online: ch.online}
			u := ch.user
			if ch.joined {
				ev.Joined = &u
			} else {
				ev.Left = &u
			}
			b.send(ctx, slug, ev)
		}
		return
	}
	ev := protocol.Presence{Type: "presence", Room: slug, Online: batch.latest}
	if online, err := b.online(ctx, slug); err == nil {
		ev.Online = online
	}
	b.send(ctx, slug, ev)
}
