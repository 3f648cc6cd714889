package hub

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/rooms"
)

const shardCount = 64

// index maps room slugs to the local rooms this node serves, sharded so that joins in
// different rooms do not contend on one lock.
type index struct {
	seed   maphash.Seed
	shards [shardCount]shard
}

type shard struct {
	mu    sync.Mutex            // guards rooms
	rooms map[string]*localRoom // slug → room with local subscribers
}

func newIndex() *index {
	ix := &index{seed: maphash.MakeSeed()}
	for i := range ix.shards {
		ix.shards[i].rooms = make(map[string]*localRoom)
	}
	return ix
}

func (ix *index) shard(slug string) *shard {
	return &ix.shards[maphash.String(ix.seed, slug)%shardCount]
}

func (ix *index) get(slug string) *localRoom {
	sh := ix.shard(slug)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.rooms[slug]
}

func (ix *index) all() []*localRoom {
	var out []*localRoom
	for i := range ix.shards {
		sh := &ix.shards[i]
		sh.mu.Lock()
		for _, lr := range sh.rooms {
			out = append(out, lr)
		}
		sh.mu.Unlock()
	}
	return out
}

// localRoom is one room's subscribers on this node and the ordering point of its messages:
// events reach subscribers strictly in seq order, each at most once. The broker may deliver
// out of order (concurrent posters, another node) or not at all (an outage); a short
// hold-back buffer reorders, and a gap that does not fill in time is read from the store.
type localRoom struct {
	h    *Hub
	slug string
	room *rooms.Room
	// ready is closed once the broker subscription is in place; joiners wait for it so they
	// subscribe before they read the store.
	ready  chan struct{}
	subErr error

	mu      sync.Mutex       // guards everything below
	subs    []*sub           // swap-removed; sub.idx is the position
	users   map[string]int   // user id → local subscriptions, for presence
	started bool             // next is known (the first join read the store)
	next    int64            // next seq to deliver
	pending map[int64][]byte // seq → frame, held back until the gap before it fills
	holeAt  time.Time        // since when messages have waited for seq hole; zero if none do
	hole    int64            // the missing seq they wait for
	timer   *time.Timer      // gap timer, while pending is non-empty
	filling bool             // a gap fill is reading the store
	again   bool             // a recovery was asked for during a fill: read once more after it
	dead    bool             // removed from the index; a joiner must make a new one
	kicked  time.Time        // when members' writers were last started for room events
	flushT  *time.Timer      // kicks members at the end of a flush window
	armed   bool             // flushT is set to fire: room events wait in members' queues
	waveMu  sync.Mutex       // one flush writes at a time; guards wave
	wave    []*conn          // the members a flush writes to, kept between flushes
}

// sub is one connection's subscription to one room.
type sub struct {
	c    *conn
	lr   *localRoom
	m    *rooms.Member
	idx  int
	live bool       // false while the join reads the store; events wait in buf
	last int64      // newest seq this connection has been sent
	buf  []buffered // events that arrived while joining
}

type buffered struct {
	seq   int64
	frame []byte
}

// acquire returns the local room for slug, creating it and subscribing to the broker when
// it is the first local subscriber's.
func (h *Hub) acquire(ctx context.Context, room *rooms.Room) (*localRoom, error) {
	sh := h.ix.shard(room.Slug)
	for {
		sh.mu.Lock()
		lr := sh.rooms[room.Slug]
		created := false
		if lr == nil {
			lr = &localRoom{h: h, slug: room.Slug, room: room, ready: make(chan struct{}),
				users: make(map[string]int), pending: make(map[int64][]byte)}
			sh.rooms[room.Slug] = lr
			created = true
		}
		sh.mu.Unlock()
		if created {
			lr.subErr = h.br.Subscribe(ctx, broker.RoomChannel(room.Slug))
			close(lr.ready)
		}
		<-lr.ready
		if lr.subErr != nil {
			h.dropIfEmpty(lr)
			return nil, lr.subErr
		}
		lr.mu.Lock()
		dead := lr.dead
		lr.mu.Unlock()
		if !dead {
			return lr, nil
		}
	}
}

// dropIfEmpty removes a room without subscribers from the index and the broker.
func (h *Hub) dropIfEmpty(lr *localRoom) {
	sh := h.ix.shard(lr.slug)
	sh.mu.Lock()
	lr.mu.Lock()
	empty := len(lr.subs) == 0 && !lr.dead
	if empty {
		lr.dead = true
		if lr.timer != nil {
			lr.timer.Stop()
		}
		if sh.rooms[lr.slug] == lr {
			delete(sh.rooms, lr.slug)
		}
	}
	lr.mu.Unlock()
	sh.mu.Unlock()
	if empty && lr.subErr == nil {
		if err := h.br.Unsubscribe(context.Background(), broker.RoomChannel(lr.slug)); err != nil {
			h.log.Warn("unsubscribe room", "room", lr.slug, "err", err)
		}
	}
}

// add registers a joining subscription; it receives nothing until activate. It reports
// whether this is the user's first subscription here (a presence join).
func (lr *localRoom) add(s *sub) (first bool) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	s.idx = len(lr.subs)
	lr.subs = append(lr.subs, s)
	lr.users[s.m.User.ID]++
	return lr.users[s.m.User.ID] == 1
}

// remove unregisters s; it reports whether it was the user's last subscription here.
func (lr *localRoom) remove(s *sub) (last bool) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if s.idx >= len(lr.subs) || lr.subs[s.idx] != s {
		return false
	}
	end := len(lr.subs) - 1
	lr.subs[s.idx] = lr.subs[end]
	lr.subs[s.idx].idx = s.idx
	lr.subs[end] = nil
	lr.subs = lr.subs[:end]
	uid := s.m.User.ID
	if lr.users[uid]--; lr.users[uid] <= 0 {
		delete(lr.users, uid)
		return true
	}
	return false
}

// activate sends the join reply, then whatever arrived during the join that the reply did
// not already contain, and makes the subscription live: no gap, nothing twice.
func (lr *localRoom) activate(s *sub, reply []byte, lastSeq int64) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if !lr.started {
		lr.started = true
		lr.next = lastSeq + 1
		lr.flushPendingLocked()
	}
	s.c.enqueue(reply)
	s.last = lastSeq
	for _, b := range s.buf {
		if b.seq > 0 {
			if b.seq <= s.last {
				continue
			}
			s.last = b.seq
		}
		s.c.enqueue(b.frame)
	}
	s.buf = nil
	s.live = true
}

// fanOutLocked hands one encoded event to every subscriber. seq is 0 for events outside
// the message order (typing, presence, tombstones). The first event after a quiet spell
// is flushed at once; later ones wait in the queues until the flush window ends, so that
// a burst costs each member one frame and one write.
func (lr *localRoom) fanOutLocked(seq int64, frame []byte) {
	now := lr.h.cfg.FlushInterval <= 0 // no windows: each event starts its members' writers
	if !now && !lr.armed {
		// The flush runs on the timer's goroutine even when it is due at once: it writes
		// to every member itself, which the caller (holding the room) must not wait for.
		t := time.Now()
		wait := lr.windowLocked() - t.Sub(lr.kicked)
		lr.armed = true
		if lr.flushT == nil {
			lr.flushT = time.AfterFunc(max(wait, 0), lr.flush)
		} else {
			lr.flushT.Reset(max(wait, 0))
		}
	}
	n := 0
	for _, s := range lr.subs {
		if !s.live {
			s.buf = append(s.buf, buffered{seq, frame})
			continue
		}
		if seq > 0 {
			if seq <= s.last {
				continue
			}
			s.last = seq
		}
		if s.c.push(frame, now) {
			n++
		}
	}
	metricFanout.Add(float64(n))
}

// windowLocked is the room's flush window: longer for a larger room, whose every window
// costs a write per member, so that a busy large room's members get fewer, fuller frames.
func (lr *localRoom) windowLocked() time.Duration {
	cfg := &lr.h.cfg
	w := cfg.FlushInterval
	if cfg.FlushPerMember > 0 {
		w = max(w, min(cfg.MaxFlushInterval, time.Duration(len(lr.subs))*cfg.FlushPerMember))
	}
	return w
}

// flush ends a flush window: every member with room events waiting gets them written,
// by this goroutine as far as their sockets take them. One wave runs at a time, and the
// room is not held while it writes, so fan-out goes on queueing the next window's events.
func (lr *localRoom) flush() {
	lr.waveMu.Lock()
	defer lr.waveMu.Unlock()
	lr.mu.Lock()
	lr.armed = false
	lr.kicked = time.Now()
	wave := lr.wave[:0]
	for _, s := range lr.subs {
		if s.live {
			wave = append(wave, s.c)
		}
	}
	start := lr.kicked
	lr.mu.Unlock()
	for _, c := range wave {
		c.flushNow()
	}
	// A wave that takes about as long as the window means the node's writes are what
	// members wait for: the operator's signal that the node is saturated.
	metricFlushWave.Observe(time.Since(start).Seconds())
	clear(wave)
	lr.wave = wave
}

// onEphemeral delivers an unordered event.
func (lr *localRoom) onEphemeral(frame []byte) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	lr.fanOutLocked(0, frame)
}
