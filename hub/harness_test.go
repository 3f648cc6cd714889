package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/rooms"
	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/sqlite"
)

// testNode is one hub over an embedded store and the memory broker, served on 127.0.0.1.
type testNode struct {
	t    testing.TB
	h    *Hub
	st   store.Store
	url  string // ws://127.0.0.1:port
	room store.Room
	auth *tokenAuth
}

// tokenAuth accepts "Bearer <user id>" for the users it knows.
type tokenAuth struct {
	mu    sync.Mutex
	users map[string]store.User
}

func (a *tokenAuth) FromRequest(r *http.Request) (store.Session, store.User, error) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	a.mu.Lock()
	u, ok := a.users[tok]
	a.mu.Unlock()
	if !ok {
		return store.Session{}, store.User{}, protocol.Errorf(protocol.CodeUnauthorized, "unknown token")
	}
	return store.Session{ID: "s-" + tok, UserID: u.ID}, u, nil
}

func newTestNode(t testing.TB, cfg Config) *testNode {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/haven.db", sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	room, err := st.CreateRoom(ctx, store.Room{Slug: "r1", Name: "Room one", Condition: "test", Guidelines: "be kind"})
	if err != nil {
		t.Fatal(err)
	}
	br := broker.NewMemory()
	rs := rooms.New(st, br, rooms.Config{PostRate: 1000, PostBurst: 1000})
	auth := &tokenAuth{users: map[string]store.User{}}
	h := New(cfg, auth, rs, br, broker.NewMemoryPresence())
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testNode{t: t, h: h, st: st, url: "ws" + strings.TrimPrefix(srv.URL, "http"), room: room, auth: auth}
}

// user creates a member and returns its bearer token.
func (n *testNode) user(i int) string {
	n.t.Helper()
	u, err := n.st.CreateUser(context.Background(), store.NewUser{ID: fmt.Sprintf("u%d", i),
		Email: fmt.Sprintf("u%d@example.org", i), DisplayName: fmt.Sprintf("user %d", i), PasswordHash: "x"})
	if err != nil {
		n.t.Fatal(err)
	}
	n.auth.mu.Lock()
	n.auth.users[u.ID] = u
	n.auth.mu.Unlock()
	return u.ID
}

// client is a raw PROTOCOL v1 connection that keeps frame boundaries visible.
type client struct {
	t    testing.TB
	ws   *websocket.Conn
	next int
}

func (n *testNode) dial(token string) *client {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, n.url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}, Subprotocols: []string{protocol.Subprotocol}})
	if err != nil {
		n.t.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	n.t.Cleanup(func() { ws.CloseNow() })
	return &client{t: n.t, ws: ws}
}

// send writes a command without waiting for its reply; it returns the command's id.
func (c *client) send(typ string, fields map[string]any) string {
	c.t.Helper()
	c.next++
	id := fmt.Sprintf("c%d", c.next)
	cmd := map[string]any{"id": id, "type": typ}
	for k, v := range fields {
		cmd[k] = v
	}
	b, _ := json.Marshal(cmd)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
	return id
}

// frame reads one frame and splits it into its JSON objects.
func (c *client) frame(ctx context.Context) ([]map[string]any, error) {
	_, data, err := c.ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, line := range strings.Split(string(data), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return nil, fmt.Errorf("undecodable object %q in frame: %w", line, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// do sends a command and reads frames until its reply; events read meanwhile are returned.
func (c *client) do(typ string, fields map[string]any) (reply map[string]any, events []map[string]any) {
	c.t.Helper()
	id := c.send(typ, fields)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		objs, err := c.frame(ctx)
		if err != nil {
			c.t.Fatalf("%s: %v", typ, err)
		}
		for _, m := range objs {
			if m["re"] == id {
				reply = m
			} else {
				events = append(events, m)
			}
		}
		if reply != nil {
			if reply["type"] != "ok" {
				c.t.Fatalf("%s: %v", typ, reply)
			}
			return reply, events
		}
	}
}

func (c *client) join(room string) map[string]any {
	r, _ := c.do("join", map[string]any{"room": room, "accept_guidelines": 1})
	return r
}

// rawClient is a bare TCP connection that upgrades to /ws by hand and writes one masked
// frame: it allocates next to nothing on the Go heap, so memory and allocation figures of
// a benchmark are the server's.
type rawClient struct {
	nc net.Conn
}

func (n *testNode) dialRaw(token string) *rawClient {
	n.t.Helper()
	addr := strings.TrimPrefix(n.url, "ws://")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { nc.Close() })
	req := "GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Protocol: " + protocol.Subprotocol + "\r\nAuthorization: Bearer " + token + "\r\n\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		n.t.Fatal(err)
	}
	// Read the 101 response byte by byte so that nothing after it is consumed.
	var head []byte
	b := make([]byte, 1)
	for !strings.HasSuffix(string(head), "\r\n\r\n") {
		if _, err := nc.Read(b); err != nil {
			n.t.Fatalf("upgrade: %v (%q)", err, head)
		}
		head = append(head, b[0])
	}
	if !strings.HasPrefix(string(head), "HTTP/1.1 101") {
		n.t.Fatalf("upgrade refused: %q", head)
	}
	return &rawClient{nc: nc}
}

// command writes one masked text frame (with a zero mask, so the payload is unchanged).
func (c *rawClient) command(t testing.TB, body string) {
	t.Helper()
	frame := []byte{0x81}
	switch n := len(body); {
	case n < 126:
		frame = append(frame, 0x80|byte(n))
	default:
		frame = append(frame, 0x80|126, byte(n>>8), byte(n))
	}
	frame = append(frame, 0, 0, 0, 0)
	frame = append(frame, body...)
	if _, err := c.nc.Write(frame); err != nil {
		t.Fatal(err)
	}
}

// discard reads and drops everything the server sends until the connection ends.
func (c *rawClient) discard() {
	buf := make([]byte, 64<<10)
	for {
		if _, err := c.nc.Read(buf); err != nil {
			return
		}
	}
}

// waitLive waits until the room has n live subscriptions on this node.
func (n *testNode) waitLive(slug string, want int) *localRoom {
	n.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if lr := n.h.ix.get(slug); lr != nil {
			lr.mu.Lock()
			live := 0
			for _, s := range lr.subs {
				if s.live {
					live++
				}
			}
			lr.mu.Unlock()
			if live == want {
				return lr
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	n.t.Fatalf("room %s never had %d live subscriptions", slug, want)
	return nil
}

// waitWritten waits until no connection of the node has a writer running or events queued.
func (n *testNode) waitWritten() {
	n.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		busy := false
		for _, c := range n.h.snapshot("") {
			c.mu.Lock()
			busy = busy || c.writing || len(c.queue) > 0
			c.mu.Unlock()
		}
		if !busy {
			return
		}
		time.Sleep(time.Millisecond)
	}
	n.t.Fatal("connections still writing")
}

// raw connects a member that joins r1 and then reads and drops everything.
func (n *testNode) raw(token string) *rawClient {
	n.t.Helper()
	c := n.dialRaw(token)
	c.command(n.t, `{"id":"j","type":"join","room":"r1","accept_guidelines":1}`)
	go c.discard()
	return c
}
