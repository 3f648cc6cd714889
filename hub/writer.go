package hub

import (
	"context"
	"time"

	"github.com/coder/websocket"
)

// maxFrame caps how many bytes of queued events one frame carries, so that clients with a
// modest read limit (coder/websocket defaults to 32 KiB) can take our batches.
const maxFrame = 32 << 10

var newline = []byte{'\n'}

// enqueue hands frame to the connection's writer without blocking. The same frame slice
// goes to every recipient of a room event; nobody mutates it. A connection whose queue is
// full is closed with a reason: one slow reader never stalls a room.
func (c *conn) enqueue(frame []byte) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	if len(c.queue) >= c.h.cfg.QueueEvents || c.queued+len(frame) > c.h.cfg.QueueBytes {
		c.closed = true
		c.queue, c.queued = nil, 0
		c.mu.Unlock()
		metricQueueDrops.Inc()
		c.h.log.Info("disconnecting slow client", "user", c.user.ID, "reason", "send queue full")
		go c.close(websocket.StatusPolicyViolation, "slow consumer: send queue full")
		return false
	}
	c.queue = append(c.queue, frame)
	c.queued += len(frame)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		// The writer exists only while there is work: an idle connection holds no writer
		// goroutine and no buffers.
		go c.writeLoop()
	}
	return true
}

// writeLoop drains the queue, several events per frame, one write each, until it is empty.
func (c *conn) writeLoop() {
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue, c.queued = nil, 0
		if len(batch) == 0 || c.closed {
			c.writing = false
			c.mu.Unlock()
			c.drained()
			return
		}
		c.mu.Unlock()
		if err := c.writeBatch(batch); err != nil {
			c.h.log.Debug("write failed", "user", c.user.ID, "err", err)
			c.close(websocket.StatusGoingAway, "write failed")
			c.mu.Lock()
			c.writing = false
			c.mu.Unlock()
			c.drained()
			return
		}
	}
}

func (c *conn) writeBatch(batch [][]byte) error {
	for len(batch) > 0 {
		n, size := 1, len(batch[0])
		for n < len(batch) && size+1+len(batch[n]) <= maxFrame {
			size += 1 + len(batch[n])
			n++
		}
		if err := c.writeFrame(batch[:n]); err != nil {
			return err
		}
		metricEventsOut.Add(float64(n))
		batch = batch[n:]
	}
	return nil
}

func (c *conn) writeFrame(events [][]byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.h.cfg.WriteTimeout)
	defer cancel()
	if len(events) == 1 {
		return c.ws.Write(ctx, websocket.MessageText, events[0])
	}
	w, err := c.ws.Writer(ctx, websocket.MessageText)
	if err != nil {
		return err
	}
	for i, e := range events {
		if i > 0 {
			if _, err := w.Write(newline); err != nil {
				return err
			}
		}
		if _, err := w.Write(e); err != nil {
			return err
		}
	}
	return w.Close()
}

// drained wakes anyone waiting for this connection's queue to empty (drain on shutdown).
func (c *conn) drained() {
	c.mu.Lock()
	ch := c.idle
	c.idle = nil
	c.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// waitDrained blocks until the queue is written or the deadline passes.
func (c *conn) waitDrained(deadline time.Time) {
	c.mu.Lock()
	if !c.writing {
		c.mu.Unlock()
		return
	}
	if c.idle == nil {
		c.idle = make(chan struct{})
	}
	ch := c.idle
	c.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(time.Until(deadline)):
	}
}
