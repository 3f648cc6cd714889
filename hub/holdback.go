package hub

import (
	"context"
	"time"

	"github.com/havenhealth/haven/rooms"
)

// Message order on one node: messages from the broker are delivered in seq order, each at
// most once. One that arrives ahead of a gap waits (HoldBack) for the gap to fill from the
// broker; a gap that stays open is read from the store (fillGap), as is everything after
// a broker outage (recover).

// onMessage delivers a stored message in seq order.
func (lr *localRoom) onMessage(seq int64, frame []byte) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if !lr.started {
		lr.pending[seq] = frame // the first join decides where the order starts
		return
	}
	if seq < lr.next {
		metricDuplicates.Inc()
		return
	}
	lr.pending[seq] = frame
	if seq > lr.next {
		metricReorders.Inc()
		if lr.holeAt.IsZero() {
			lr.holeAt, lr.hole = time.Now(), lr.next
		}
	}
	lr.flushPendingLocked()
}

// flushPendingLocked delivers consecutive held-back messages and arms the gap timer when a
// hole remains.
func (lr *localRoom) flushPendingLocked() {
	for seq := range lr.pending {
		if seq < lr.next {
			delete(lr.pending, seq)
		}
	}
	for {
		frame, ok := lr.pending[lr.next]
		if !ok {
			break
		}
		delete(lr.pending, lr.next)
		lr.fanOutLocked(lr.next, frame)
		lr.next++
	}
	if !lr.holeAt.IsZero() && lr.next > lr.hole {
		// The hole closed (from the broker or a store read): a cross-node reorder costs
		// every message behind it this long.
		now := time.Now()
		metricHoldbackWait.Observe(now.Sub(lr.holeAt).Seconds())
		lr.holeAt = time.Time{}
		if len(lr.pending) > 0 {
			lr.holeAt, lr.hole = now, lr.next
		}
	}
	switch {
	case len(lr.pending) == 0 && lr.timer != nil:
		lr.timer.Stop()
		lr.timer = nil
	case len(lr.pending) > 0 && lr.timer == nil && !lr.filling:
		lr.timer = time.AfterFunc(lr.h.cfg.HoldBack, lr.fillGap)
	}
}

// fillGap reads from the store what the broker did not deliver in time (or at all, during
// an outage) and delivers it in order.
func (lr *localRoom) fillGap() {
	lr.mu.Lock()
	if lr.filling {
		lr.again = true // what the running fill already read may predate the request
	}
	if lr.dead || lr.filling || !lr.started {
		lr.mu.Unlock()
		return
	}
	lr.filling = true
	lr.timer = nil
	from := lr.next - 1
	lr.mu.Unlock()

	metricGapFills.Inc()
	const page = 500
	for {
		msgs, err := lr.h.rooms.After(context.Background(), lr.room, from, page)
		lr.mu.Lock()
		if err != nil {
			lr.h.log.Warn("gap fill failed; retrying", "room", lr.slug, "after", from, "err", err)
			lr.filling = false
			if !lr.dead && lr.timer == nil {
				lr.timer = time.AfterFunc(lr.h.cfg.HoldBack*4, lr.fillGap)
			}
			lr.mu.Unlock()
			return
		}
		for _, m := range msgs {
			if m.Seq < lr.next {
				continue
			}
			if m.Seq > lr.next {
				break // cannot happen with gap-free seqs; stop rather than skip
			}
			frame := lr.pending[m.Seq]
			delete(lr.pending, m.Seq)
			if !m.Deleted() {
				if frame == nil {
					frame = rooms.EncodeMessage(lr.slug, m)
				}
				lr.fanOutLocked(m.Seq, frame)
			}
			lr.next++
		}
		progressed := lr.next-1 > from
		from = lr.next - 1
		more := (len(msgs) == page || lr.again) && !lr.dead
		lr.again = false
		if !more {
			lr.filling = false
			if !progressed {
				lr.skipHoleLocked()
			}
			lr.flushPendingLocked()
			lr.mu.Unlock()
			return
		}
		lr.mu.Unlock()
	}
}

// recover closes any gap against the store at once: after a broker outage nothing may
// arrive to reveal that messages were missed.
func (lr *localRoom) recover() {
	lr.mu.Lock()
	started := lr.started
	lr.mu.Unlock()
	if started {
		lr.fillGap()
	}
}

// skipHoleLocked jumps over a hole the store cannot fill. Seqs are gap-free by
// construction, so this is a safety valve that keeps one lost event from holding a room's
// stream forever; it is logged loudly.
func (lr *localRoom) skipHoleLocked() {
	if len(lr.pending) == 0 {
		return
	}
	lowest := int64(-1)
	for seq := range lr.pending {
		if lowest < 0 || seq < lowest {
			lowest = seq
		}
	}
	if lowest > lr.next {
		lr.h.log.Error("skipping seq hole the store cannot fill", "room", lr.slug, "from", lr.next, "to", lowest-1)
		lr.next = lowest
	}
}
