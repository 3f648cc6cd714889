// Package wsclient is a small PROTOCOL v1 client for tests and tools: it signs up over
// HTTP, dials /ws with a bearer token, splits server frames on newlines, matches replies to
// commands, and queues events for the caller.
package wsclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Msg is one decoded server object.
type Msg map[string]any

// Type is the object's type field.
func (m Msg) Type() string { s, _ := m["type"].(string); return s }

// Str returns a string field.
func (m Msg) Str(k string) string { s, _ := m[k].(string); return s }

// Int returns a numeric field.
func (m Msg) Int(k string) int64 { f, _ := m[k].(float64); return int64(f) }

// Code is an error reply's code ("" for ok).
func (m Msg) Code() string { return m.Str("code") }

// Account is a signed-up user.
type Account struct {
	ID, DisplayName, Token, Email string
}

// Signup creates an account on the server at base (http://host:port).
func Signup(ctx context.Context, base, email, password, name string) (Account, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": password, "display_name": name})
	var out struct {
		User struct {
			ID          string `json:"id"`
			DisplayName string `json:"display_name"`
		} `json:"user"`
		Token string `json:"token"`
	}
	status, err := PostJSON(ctx, base+"/api/signup", "", body, &out)
	if err != nil {
		return Account{}, err
	}
	if status != http.StatusCreated {
		return Account{}, fmt.Errorf("signup %s: status %d", email, status)
	}
	return Account{ID: out.User.ID, DisplayName: out.User.DisplayName, Token: out.Token, Email: email}, nil
}

// PostJSON sends body to url with an optional bearer token and decodes the reply into out.
func PostJSON(ctx context.Context, url, token string, body []byte, out any) (int, error) {
	return DoJSON(ctx, http.MethodPost, url, token, body, out)
}

// DoJSON sends a JSON request and decodes the JSON reply into out (when non-nil).
func DoJSON(ctx context.Context, method, url, token string, body []byte, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s %s reply: %w", method, url, err)
		}
	}
	return resp.StatusCode, nil
}

// Conn is a connected client.
type Conn struct {
	WS     *websocket.Conn
	Events chan Msg // unsolicited events, in arrival order

	nextID  atomic.Int64
	mu      sync.Mutex // guards pending
	pending map[string]chan Msg
	done    chan struct{}
	err     error // why the read loop ended; read after done
}

// Dial opens /ws on base with token (empty for none).
func Dial(ctx context.Context, base, token string) (*Conn, *http.Response, error) {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws",
		&websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{"haven.v1"}})
	if err != nil {
		return nil, resp, err
	}
	ws.SetReadLimit(16 << 20)
	c := &Conn{WS: ws, Events: make(chan Msg, 100000), pending: make(map[string]chan Msg), done: make(chan struct{})}
	go c.readLoop()
	return c, resp, nil
}

func (c *Conn) readLoop() {
	defer close(c.done)
	for {
		_, data, err := c.WS.Read(context.Background())
		if err != nil {
			c.err = err
			c.mu.Lock()
			for id, ch := range c.pending {
				close(ch)
				delete(c.pending, id)
			}
			c.mu.Unlock()
			return
		}
		for _, line := range bytes.Split(data, []byte{'\n'}) {
			var m Msg
			if err := json.Unmarshal(line, &m); err != nil {
				c.err = fmt.Errorf("undecodable server object %q: %w", line, err)
				continue
			}
			if re := m.Str("re"); re != "" && (m.Type() == "ok" || m.Type() == "error") {
				c.mu.Lock()
				ch := c.pending[re]
				delete(c.pending, re)
				c.mu.Unlock()
				if ch != nil {
					ch <- m
					continue
				}
			}
			select {
			case c.Events <- m:
			default: // a test that never reads events must not wedge the reader
			}
		}
	}
}

// Done is closed when the connection has ended; Err then says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended.
func (c *Conn) Err() error { <-c.done; return c.err }

// Do sends a command and waits for its reply.
func (c *Conn) Do(ctx context.Context, typ string, fields map[string]any) (Msg, error) {
	id := "c" + strconv.FormatInt(c.nextID.Add(1), 10)
	cmd := map[string]any{"id": id, "type": typ}
	for k, v := range fields {
		cmd[k] = v
	}
	b, _ := json.Marshal(cmd)
	ch := make(chan Msg, 1)
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.WS.Write(ctx, websocket.MessageText, b); err != nil {
		return nil, err
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%s: connection closed: %w", typ, c.err)
		}
		return m, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: no reply: %w", typ, ctx.Err())
	}
}

// WriteRaw sends raw bytes as one text frame (for malformed-input tests).
func (c *Conn) WriteRaw(ctx context.Context, b []byte) error {
	return c.WS.Write(ctx, websocket.MessageText, b)
}

// Next returns the next event of type typ, skipping others, or an error at the deadline.
func (c *Conn) Next(ctx context.Context, typ string) (Msg, error) {
	for {
		select {
		case m := <-c.Events:
			if m.Type() == typ {
				return m, nil
			}
		case <-c.done:
			select {
			case m := <-c.Events:
				if m.Type() == typ {
					return m, nil
				}
				continue
			default:
			}
			return nil, fmt.Errorf("waiting for %s: connection closed: %w", typ, c.err)
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s: %w", typ, ctx.Err())
		}
	}
}

// Close closes the connection normally.
func (c *Conn) Close() { _ = c.WS.Close(websocket.StatusNormalClosure, "") }

// CloseStatus extracts the WebSocket close status from err (-1 if none).
func CloseStatus(err error) websocket.StatusCode { return websocket.CloseStatus(err) }

// Wait waits up to d for ch to close.
func Wait(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}
