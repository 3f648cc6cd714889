//go:build linux

package hub

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// onlyConn returns the node's one connection.
func (n *testNode) onlyConn() *conn {
	n.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		cs := n.h.snapshot("") // the server registers a connection just after the 101
		if len(cs) == 1 {
			return cs[0]
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%d connections, want 1", len(cs))
		}
		time.Sleep(time.Millisecond)
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (c *conn) isParked() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.parked
}

func (n *testNode) gone(t *testing.T) {
	t.Helper()
	waitFor(t, "the connection is cleaned up", func() bool {
		if len(n.h.snapshot("")) != 0 {
			return false
		}
		lr := n.h.ix.get("r1")
		if lr == nil {
			return true
		}
		lr.mu.Lock()
		defer lr.mu.Unlock()
		return len(lr.subs) == 0
	})
}

func TestIdleReaderParksAndWakes(t *testing.T) {
	n := newTestNode(t, Config{ParkAfterQuiet: 50 * time.Millisecond})
	cl := n.dial(n.user(1))
	cl.join("r1")
	c := n.onlyConn()
	waitFor(t, "the reader parks", c.isParked)
	c.mu.Lock()
	size := c.br.Size()
	c.mu.Unlock()
	if size != 16 {
		t.Fatalf("a parked connection keeps a %d-byte read buffer, want 16", size)
	}
	for i := range 3 {
		time.Sleep(60 * time.Millisecond) // quiet for longer than ParkAfterQuiet
		r, _ := cl.do("send", map[string]any{"room": "r1", "text": strings.Repeat("hello ", i+1), "client_msg_id": strings.Repeat("x", i+1)})
		if r["seq"] == nil {
			t.Fatalf("send %d: no seq in %v", i, r)
		}
		waitFor(t, "the reader parks again", c.isParked)
	}
}

// A member who is chatting keeps its reader: commands closer together than
// ParkAfterQuiet do not park it.
func TestChattingReaderStays(t *testing.T) {
	n := newTestNode(t, Config{ParkAfterQuiet: time.Minute})
	cl := n.dial(n.user(1))
	cl.join("r1")
	c := n.onlyConn()
	waitFor(t, "the reader parks after the join", c.isParked)
	for i := range 3 {
		cl.do("send", map[string]any{"room": "r1", "text": strings.Repeat("hi ", i+1), "client_msg_id": strings.Repeat("y", i+1)})
	}
	time.Sleep(20 * time.Millisecond)
	if c.isParked() {
		t.Fatal("a chatting member's reader parked")
	}
}

func TestPipelinedCommandsAllAnswered(t *testing.T) {
	n := newTestNode(t, Config{})
	rc := n.dialRaw(n.user(1))
	var frames []byte
	for _, body := range []string{
		`{"id":"j","type":"join","room":"r1","accept_guidelines":1}`,
		`{"id":"a","type":"typing","room":"r1"}`,
		`{"id":"b","type":"typing","room":"r1"}`,
	} {
		frames = append(frames, 0x81, 0x80|byte(len(body)), 0, 0, 0, 0)
		frames = append(frames, body...)
	}
	if _, err := rc.nc.Write(frames); err != nil { // one write: the commands arrive together
		t.Fatal(err)
	}
	got := readUntil(t, rc, `"re":"b"`)
	for _, id := range []string{`"re":"j"`, `"re":"a"`} {
		if !strings.Contains(got, id) {
			t.Fatalf("no reply %s in %q", id, got)
		}
	}
}

// readUntil reads server frames off a raw connection until their text contains want.
func readUntil(t *testing.T, rc *rawClient, want string) string {
	t.Helper()
	rc.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer rc.nc.SetReadDeadline(time.Time{})
	br := bufio.NewReader(rc.nc)
	var all strings.Builder
	for !strings.Contains(all.String(), want) {
		op, payload, err := readFrame(br)
		if err != nil {
			t.Fatalf("waiting for %s: %v (read %q)", want, err, all.String())
		}
		if op == 0x1 {
			all.Write(payload)
		}
	}
	return all.String()
}

// readFrame reads one unmasked server frame.
func readFrame(br *bufio.Reader) (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, nil, err
	}
	size := int(h[1] & 0x7F)
	switch size {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return 0, nil, err
		}
		size = int(ext[0])<<8 | int(ext[1])
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return 0, nil, err
		}
		size = 0
		for _, b := range ext {
			size = size<<8 | int(b)
		}
	}
	payload = make([]byte, size)
	_, err = io.ReadFull(br, payload)
	return h[0] & 0x0F, payload, err
}

// A parked connection answers pings without its reader: the poller takes each pong off
// the socket, and the connection stays open and parked.
func TestParkedConnectionAnswersPings(t *testing.T) {
	n := newTestNode(t, Config{PingInterval: 300 * time.Millisecond, PingTimeout: 250 * time.Millisecond})
	rc := n.dialRaw(n.user(1))
	rc.command(t, `{"id":"j","type":"join","room":"r1","accept_guidelines":1}`)
	br := bufio.NewReader(rc.nc)
	c := n.onlyConn()
	// A pong that arrives while the reader runs is read by the reader, which then stays
	// until the next command; this test is about parked connections, so the client answers
	// once the reader has parked.
	waitFor(t, "the reader parks", c.isParked)
	go func() { // a client that answers every ping, as browsers do
		for {
			op, payload, err := readFrame(br)
			if err != nil {
				return
			}
			if op == 0x9 {
				pong := append([]byte{0x8A, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...)
				if _, err := rc.nc.Write(pong); err != nil {
					return
				}
			}
		}
	}()
	waitFor(t, "three pongs taken by the poller", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.pongs >= 3
	})
	if len(n.h.snapshot("")) != 1 {
		t.Fatal("the connection was dropped although it answered its pings")
	}
	waitFor(t, "the reader is parked between pings", c.isParked)
}

func TestParkedSilentClientDropped(t *testing.T) {
	n := newTestNode(t, Config{PingInterval: 20 * time.Millisecond, PingTimeout: 50 * time.Millisecond})
	rc := n.dialRaw(n.user(1))
	rc.command(t, `{"id":"j","type":"join","room":"r1","accept_guidelines":1}`)
	go rc.discard() // reads, never answers a ping
	n.gone(t)
}

func TestParkedClientHangsUp(t *testing.T) {
	n := newTestNode(t, Config{})
	rc := n.dialRaw(n.user(1))
	rc.command(t, `{"id":"j","type":"join","room":"r1","accept_guidelines":1}`)
	readUntil(t, rc, `"re":"j"`)
	waitFor(t, "the reader parks", n.onlyConn().isParked)
	rc.nc.Close()
	n.gone(t)
}

func TestParkedConnectionClosedByServer(t *testing.T) {
	n := newTestNode(t, Config{})
	cl := n.dial(n.user(1))
	cl.join("r1")
	c := n.onlyConn()
	waitFor(t, "the reader parks", c.isParked)
	go c.close(websocket.StatusPolicyViolation, "session revoked") // returns after the handshake
	n.gone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, err := cl.frame(ctx) // events that were on their way, then the close
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
				t.Fatalf("client read %v, want close 1008", err)
			}
			break
		}
	}
}

// With parking off, the reader stays: the same flows still work.
func TestNoParking(t *testing.T) {
	n := newTestNode(t, Config{NoParking: true})
	cl := n.dial(n.user(1))
	cl.join("r1")
	cl.do("typing", map[string]any{"room": "r1"})
	if n.onlyConn().isParked() {
		t.Fatal("parked with NoParking")
	}
}
