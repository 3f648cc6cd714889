package hub

import (
	"sync"
	"time"

	"github.com/coder/websocket"
)

// maxFrame caps how many bytes of queued events one frame carries, so that clients with a
// modest read limit (coder/websocket defaults to 32 KiB) can take our batches.
const maxFrame = 32 << 10

// enqueue hands frame to the connection's writer and starts the writer at once: replies
// and events addressed to this connection.
func (c *conn) enqueue(frame []byte) bool { return c.push(frame, true) }

// push appends frame to the queue without blocking. The same frame slice goes to every
// recipient of a room event; nobody mutates it. With start false (room fan-out) no writer
// is started until a full frame waits: the room kicks its members at the end of its flush
// window, so a burst leaves as one frame. A connection whose queue is full is closed with a reason: one slow reader
// never stalls a room.
func (c *conn) push(frame []byte, start bool) bool {
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
	if c.writing || (!start && c.queued < maxFrame) { // a full frame need not wait for the window
		c.mu.Unlock()
		return true
	}
	c.writing = true
	c.mu.Unlock()
	// The writer exists only while there is work: an idle connection holds no writer
	// goroutine and no frame buffer.
	go c.writeLoop()
	return true
}

// kick starts the writer when events wait and none runs.
func (c *conn) kick() {
	c.mu.Lock()
	if c.writing || c.closed || len(c.queue) == 0 {
		c.mu.Unlock()
		return
	}
	c.writing = true
	c.mu.Unlock()
	go c.writeLoop()
}

// writeLoop drains the queue, as many events per frame as fit, until it is empty. It
// swaps the queue with the slice it just wrote, so a busy connection reuses two slices.
func (c *conn) writeLoop() {
	var batch [][]byte
	for {
		c.mu.Lock()
		if len(c.queue) == 0 || c.closed {
			if c.queue == nil && !c.closed && cap(batch) <= 64 {
				c.queue = batch[:0] // the next burst appends without allocating
			}
			c.writing = false
			c.mu.Unlock()
			c.drained()
			return
		}
		batch, c.queue = c.queue, batch[:0]
		c.queued = 0
		c.mu.Unlock()
		err := c.writeBatch(batch)
		clear(batch) // let the frames go
		if err != nil {
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
		var err error
		if n == 1 {
			err = c.writeFrame(batch[0])
		} else {
			err = c.writeJoined(batch[:n], size)
		}
		if err != nil {
			return err
		}
		metricEventsOut.Add(float64(n))
		batch = batch[n:]
	}
	return nil
}

// writeJoined writes events as one frame, newline-separated, assembled in a pooled
// buffer: coder/websocket's streaming Writer would emit a fragment per Write call.
func (c *conn) writeJoined(events [][]byte, size int) error {
	bp := getFrameBuf(size)
	buf := (*bp)[:0]
	for i, e := range events {
		if i > 0 {
			buf = append(buf, '\n')
		}
		buf = append(buf, e...)
	}
	err := c.writeFrame(buf)
	*bp = buf
	putFrameBuf(bp)
	return err
}

// writeFrame writes one text frame under the connection's write deadline. The deadline is
// a timer owned by the connection rather than a context per write: coder/websocket
// registers a callback for every write whose context can end, which costs an allocation
// and a lock per frame.
func (c *conn) writeFrame(p []byte) error {
	c.writeStart.Store(time.Now().UnixNano())
	if c.deadline == nil {
		c.deadline = time.AfterFunc(c.h.cfg.WriteTimeout, c.writeStalled)
	} else {
		c.deadline.Reset(c.h.cfg.WriteTimeout)
	}
	err := c.fw.text(p)
	c.writeStart.Store(0)
	c.deadline.Stop()
	return err
}

// writeStalled runs when a frame has not been written within the write timeout: the
// socket is closed at once, which ends the blocked write.
func (c *conn) writeStalled() {
	start := c.writeStart.Load()
	if start == 0 || time.Since(time.Unix(0, start)) < c.h.cfg.WriteTimeout {
		return // the write finished as the timer fired
	}
	c.h.log.Debug("write timed out", "user", c.user.ID)
	_ = c.ws.CloseNow()
	c.close(websocket.StatusGoingAway, "write timed out")
}

// Frame buffers come in three sizes so that a small batch does not pin a 32 KiB buffer
// while its write waits on a slow socket.
var framePools = [...]struct {
	size int
	pool sync.Pool
}{{size: 4 << 10}, {size: 16 << 10}, {size: maxFrame}}

func getFrameBuf(n int) *[]byte {
	for i := range framePools {
		p := &framePools[i]
		if n <= p.size {
			if bp, ok := p.pool.Get().(*[]byte); ok {
				return bp
			}
			b := make([]byte, 0, p.size)
			return &b
		}
	}
	b := make([]byte, 0, n)
	return &b
}

func putFrameBuf(bp *[]byte) {
	for i := range framePools {
		if p := &framePools[i]; cap(*bp) == p.size {
			p.pool.Put(bp)
			return
		}
	}
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
