package hub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// serverConn returns the hub's side of the connection authenticated as token.
func (n *testNode) serverConn(token string) *conn {
	n.t.Helper()
	cs := n.h.snapshot("s-" + token)
	if len(cs) != 1 {
		n.t.Fatalf("%d server connections for %s", len(cs), token)
	}
	return cs[0]
}

func TestQueuedEventsLeaveAsOneFrame(t *testing.T) {
	n := newTestNode(t, Config{})
	tok := n.user(1)
	cl := n.dial(tok)
	cl.join("r1")
	n.waitWritten()
	c := n.serverConn(tok)
	for i := range 5 {
		c.push([]byte(fmt.Sprintf(`{"type":"typing","room":"r1","n":%d}`, i)), false)
	}
	c.kick()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ours []map[string]any
	for len(ours) == 0 { // skip the join's own presence event
		objs, err := cl.frame(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range objs {
			if m["type"] == "typing" {
				ours = append(ours, m)
			}
		}
	}
	if len(ours) != 5 {
		t.Fatalf("frame carried %d of the 5 events: %v", len(ours), ours)
	}
	for i, m := range ours {
		if m["n"] != float64(i) {
			t.Fatalf("event %d out of order: %v", i, ours)
		}
	}
}

func TestLargeBatchSplitsAtMaxFrame(t *testing.T) {
	n := newTestNode(t, Config{})
	tok := n.user(1)
	cl := n.dial(tok)
	cl.join("r1")
	n.waitWritten()
	c := n.serverConn(tok)
	pad := strings.Repeat("x", 10<<10)
	for i := range 7 { // 7 × 10 KiB: more than one 32 KiB frame
		c.push([]byte(fmt.Sprintf(`{"type":"typing","n":%d,"pad":"%s"}`, i, pad)), false)
	}
	c.kick()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	next := 0
	for next < 7 {
		objs, err := cl.frame(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if size := len(objs) * (10 << 10); size > maxFrame {
			t.Fatalf("frame of %d events exceeds %d bytes", len(objs), maxFrame)
		}
		for _, m := range objs {
			if m["type"] == "presence" {
				continue
			}
			if m["n"] != float64(next) {
				t.Fatalf("got event %v, want n=%d", m["n"], next)
			}
			next++
		}
	}
}

// TestRoomBurstSharesAFrame: room events inside one flush window reach a member together.
func TestRoomBurstSharesAFrame(t *testing.T) {
	// A window no test outlasts: the room's first event goes at once, the rest wait for
	// the flush this test triggers.
	n := newTestNode(t, Config{FlushInterval: time.Hour, PresenceInterval: -1})
	reader := n.dial(n.user(1))
	reader.join("r1")
	n.waitWritten() // a writer still running would take the room's events with it
	sender := n.dial(n.user(2))
	sender.join("r1")
	for i := range 6 {
		sender.do("send", map[string]any{"room": "r1", "text": fmt.Sprintf("m%d", i), "client_msg_id": fmt.Sprint(i)})
	}
	n.h.ix.get("r1").flush()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var texts []string
	var objs []map[string]any
	for len(texts) == 0 { // the first frame with messages must carry them all
		var err error
		if objs, err = reader.frame(ctx); err != nil {
			t.Fatal(err)
		}
		for _, m := range objs {
			if m["type"] == "message" {
				texts = append(texts, m["text"].(string))
			}
		}
	}
	if strings.Join(texts, ",") != "m0,m1,m2,m3,m4,m5" {
		t.Fatalf("one frame carried %v, want all six messages in order (frame: %v)", texts, objs)
	}
}

// TestSlowConsumerClosed: a member that stops reading is disconnected with 1008 once its
// queue overflows; the room's other members keep receiving.
func TestSlowConsumerClosed(t *testing.T) {
	n := newTestNode(t, Config{QueueBytes: 256 << 10})
	slowTok := n.user(1)
	slow := n.dial(slowTok)
	slow.join("r1")
	fastTok := n.user(2)
	fast := n.raw(fastTok)
	lr := n.waitLive("r1", 2)
	c := n.serverConn(slowTok)
	frame := []byte(`{"type":"typing","room":"r1","pad":"` + strings.Repeat("x", 16<<10) + `"}`)
	for i := 0; ; i++ {
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		if closed {
			break
		}
		if i == 100_000 {
			t.Fatal("the queue never overflowed")
		}
		lr.onEphemeral(frame)
		// At a pace a reading member keeps up with even on a loaded CI machine under -race
		// (16 MB/s; four frames a millisecond once closed the reading member too).
		time.Sleep(time.Millisecond)
	}
	// Only now does the client read: what was written, then the close frame.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	for err == nil {
		_, _, err = slow.ws.Read(ctx)
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "slow consumer: send queue full" {
		t.Fatalf("slow client ended with %v, want 1008 slow consumer", err)
	}
	if fc := n.serverConn(fastTok); fc.closedNow() {
		t.Fatal("the reading member was disconnected too")
	}
	_ = fast
}

func (c *conn) closedNow() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}
