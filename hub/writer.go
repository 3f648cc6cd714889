package hub

import (
	"errors"
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
	if c.claimWriter() {
		go c.writeLoop()
	}
}

// claimWriter makes the caller the connection's writer when events wait and none runs.
func (c *conn) claimWriter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writing || c.closed || len(c.queue) == 0 {
		return false
	}
	c.writing = true
	return true
}

// flushNow is kick for a room's flush: the flushing goroutine writes the queue itself for
// as long as the socket takes it, and starts a writer goroutine only when it fills. A
// goroutine per member per flush (started, its stack grown by the write path, ended) cost
// more than a fifth of a busy node's CPU in a 5,000-member room.
func (c *conn) flushNow() {
	if c.fw.now == nil {
		c.kick()
		return
	}
	if c.claimWriter() {
		c.drain(nil, 0, true)
	}
}

// writeLoop drains the queue on its own goroutine, waiting on the socket as needed.
func (c *conn) writeLoop() { c.drain(nil, 0, false) }

// drain writes batch[from:], then the queue, as many events per frame as fit, until the
// queue is empty. It swaps the queue with the slice it just wrote, so a busy connection
// reuses two slices. inline: the caller is not the connection's own writer and must not
// wait on the socket; when the socket fills, a writer goroutine takes over the rest.
func (c *conn) drain(batch [][]byte, from int, inline bool) {
	for {
		if from >= len(batch) {
			clear(batch) // let the frames go
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
			from = 0
		}
		n, err := c.writeBatch(batch[from:], inline)
		from += n
		if err == errSocketFull {
			metricWriteHandoffs.Inc()
			go c.resume(batch, from)
			return
		}
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

// resume is the writer goroutine that takes over from a flush whose write found the
// socket full: it finishes the frame the socket took part of, then the rest.
func (c *conn) resume(batch [][]byte, from int) {
	if err := c.writeFrame(nil); err != nil {
		from = len(batch) // drain sees the connection closed, or the next write fails
		c.close(websocket.StatusGoingAway, "write failed")
	}
	c.drain(batch, from, false)
}

// errSocketFull: a write that must not wait found the socket's send buffer full.
var errSocketFull = errors.New("socket send buffer full")

// writeBatch writes batch as frames and returns how many events went out (inline: were
// taken by the socket before it filled, with errSocketFull).
func (c *conn) writeBatch(batch [][]byte, inline bool) (int, error) {
	done := 0
	for done < len(batch) {
		n, size := 1, len(batch[done])
		for done+n < len(batch) && size+1+len(batch[done+n]) <= maxFrame {
			size += 1 + len(batch[done+n])
			n++
		}
		frame, bp := batch[done], (*[]byte)(nil)
		if n > 1 {
			frame, bp = joinEvents(batch[done:done+n], size)
		}
		var err error
		taken, more := true, true
		if inline {
			taken, more, err = c.fw.tryText(frame) // a tail it keeps is copied
		} else {
			err = c.writeFrame(frame)
		}
		if bp != nil {
			*bp = frame
			putFrameBuf(bp)
		}
		if err != nil {
			return done, err
		}
		if taken {
			metricEventsOut.Add(float64(n))
			done += n
		}
		if !more {
			return done, errSocketFull
		}
	}
	return done, nil
}

// joinEvents puts events in one frame, newline-separated, in a pooled buffer:
// coder/websocket's streaming Writer would emit a fragment per Write call.
func joinEvents(events [][]byte, size int) ([]byte, *[]byte) {
	bp := getFrameBuf(size)
	buf := (*bp)[:0]
	for i, e := range events {
		if i > 0 {
			buf = append(buf, '\n')
		}
		buf = append(buf, e...)
	}
	return buf, bp
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
