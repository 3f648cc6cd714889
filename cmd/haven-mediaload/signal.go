package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// msg is one decoded server object.
type msg map[string]any

func (m msg) str(k string) string { s, _ := m[k].(string); return s }
func (m msg) typ() string         { return m.str("type") }
func (m msg) code() string        { return m.str("code") }

// sigConn is one member's WebSocket (PROTOCOL v1): commands matched to their replies, and
// the events the tool acts on handed to onEvent. Room chatter and the session state, which
// every join re-broadcasts to everyone, are skipped without decoding.
type sigConn struct {
	ws      *websocket.Conn
	onEvent func(msg) // runs on the read loop: must not block
	nextID  atomic.Int64
	mu      sync.Mutex
	pending map[string]chan msg
	done    chan struct{}
	err     error
}

// skipped are event types the tool never looks at; servers put "type" first.
var skipped = [][]byte{
	[]byte(`{"type":"media.state"`), []byte(`{"type":"presence"`), []byte(`{"type":"typing"`),
	[]byte(`{"type":"message"`), []byte(`{"type":"session.update"`),
}

func dialSig(ctx context.Context, base, token string, onEvent func(msg)) (*sigConn, error) {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws",
		&websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{"haven.v1"}})
	if err != nil {
		return nil, fmt.Errorf("dial /ws: %w", err)
	}
	ws.SetReadLimit(64 << 20)
	c := &sigConn{ws: ws, onEvent: onEvent, pending: map[string]chan msg{}, done: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

func (c *sigConn) readLoop() {
	defer close(c.done)
	for {
		_, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.mu.Lock()
			c.err = err
			for id, ch := range c.pending {
				close(ch)
				delete(c.pending, id)
			}
			c.mu.Unlock()
			return
		}
	lines:
		for _, line := range bytes.Split(data, []byte{'\n'}) {
			for _, p := range skipped {
				if bytes.HasPrefix(line, p) {
					continue lines
				}
			}
			var m msg
			if json.Unmarshal(line, &m) != nil {
				continue
			}
			if re := m.str("re"); re != "" && (m.typ() == "ok" || m.typ() == "error") {
				c.mu.Lock()
				ch := c.pending[re]
				delete(c.pending, re)
				c.mu.Unlock()
				if ch != nil {
					ch <- m
				}
				continue
			}
			if c.onEvent != nil {
				c.onEvent(m)
			}
		}
	}
}

// do sends one command and waits for its reply (ok or error).
func (c *sigConn) do(ctx context.Context, typ string, fields map[string]any) (msg, error) {
	id := "c" + strconv.FormatInt(c.nextID.Add(1), 10)
	cmd := map[string]any{"id": id, "type": typ}
	for k, v := range fields {
		cmd[k] = v
	}
	b, err := json.Marshal(cmd)
	if err != nil {
		return nil, err
	}
	ch := make(chan msg, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("%s: connection closed: %w", typ, c.err)
	}
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		return nil, fmt.Errorf("%s: %w", typ, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%s: connection closed: %w", typ, c.closedErr())
		}
		return m, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: no reply: %w", typ, ctx.Err())
	}
}

// must is do, with an error reply turned into an error.
func (c *sigConn) must(ctx context.Context, typ string, fields map[string]any) (msg, error) {
	m, err := c.do(ctx, typ, fields)
	if err != nil {
		return nil, err
	}
	if m.typ() != "ok" {
		return m, fmt.Errorf("%s: %s: %s", typ, m.code(), m.str("message"))
	}
	return m, nil
}

func (c *sigConn) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// closed reports whether the connection has ended.
func (c *sigConn) closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *sigConn) close() { _ = c.ws.Close(websocket.StatusNormalClosure, "") }

// joinRoom joins the room, accepting its guidelines when asked to.
func (c *sigConn) joinRoom(ctx context.Context, room string) error {
	m, err := c.do(ctx, "join", map[string]any{"room": room})
	if err != nil {
		return err
	}
	if m.code() == "guidelines_required" {
		v, _ := m["guidelines_version"].(float64)
		m, err = c.do(ctx, "join", map[string]any{"room": room, "accept_guidelines": int(v)})
		if err != nil {
			return err
		}
	}
	if m.typ() != "ok" {
		return fmt.Errorf("join %s: %s: %s", room, m.code(), m.str("message"))
	}
	return nil
}

// HTTP API helpers.

type apiError struct {
	status int
	code   string
}

func (e *apiError) Error() string { return fmt.Sprintf("status %d %s", e.status, e.code) }

func doJSON(ctx context.Context, hc *http.Client, method, url, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
		return fmt.Errorf("%s %s: %w", method, url, &apiError{resp.StatusCode, e.Error.Code})
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

func login(ctx context.Context, hc *http.Client, base, email, password string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	if err := doJSON(ctx, hc, http.MethodPost, base+"/api/login", "", map[string]string{"email": email, "password": password}, &out); err != nil {
		return "", fmt.Errorf("admin log-in: %w", err)
	}
	return out.Token, nil
}

// signup creates member i of this invocation and returns its token, retrying while the
// server sheds load.
func signup(ctx context.Context, hc *http.Client, base, runID string, i int) (string, error) {
	in := map[string]string{"email": fmt.Sprintf("ml-%s-%d@mediaload.example.org", runID, i),
		"password": "mediaload-password", "display_name": fmt.Sprintf("viewer %s %d", runID, i)}
	var out struct {
		Token string `json:"token"`
	}
	var err error
	for attempt := 0; attempt < 6; attempt++ {
		err = doJSON(ctx, hc, http.MethodPost, base+"/api/signup", "", in, &out)
		var ae *apiError
		if err == nil || !errors.As(err, &ae) || (ae.status != http.StatusTooManyRequests && ae.status != http.StatusServiceUnavailable) {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 250 * time.Millisecond)
	}
	if err != nil {
		return "", fmt.Errorf("sign up viewer %d: %w", i, err)
	}
	return out.Token, nil
}

// ensureRoom creates the public webinar room slug (an existing one is reused).
func ensureRoom(ctx context.Context, hc *http.Client, base, admin, slug string) error {
	in := map[string]string{"slug": slug, "name": "Media load " + slug, "condition": "Load testing",
		"kind": "webinar", "visibility": "public", "guidelines": "Load test room."}
	err := doJSON(ctx, hc, http.MethodPost, base+"/api/rooms", admin, in, nil)
	var ae *apiError
	if err != nil && errors.As(err, &ae) && ae.status == http.StatusConflict {
		return nil
	}
	return err
}
