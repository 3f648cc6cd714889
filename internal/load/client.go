package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// reply is a command's answer.
type reply struct {
	OK                bool
	Code              string
	Seq, LastSeq      int64
	GuidelinesVersion int64
	RetryAfterMS      int64
	Err               error // the connection ended before the reply
}

// conn is one lean PROTOCOL v1 connection: its reader parses only the fields the load tool
// needs and hands replies to callbacks and message events to onMessage. There is no event
// queue: everything runs on the reader, which on Linux serves many connections at once (see
// rawws_linux.go), so handlers must be quick and must not block.
type conn struct {
	idx int
	tx  transport

	// onMessage sees every message event, onEvent every other event (moderation, removed,
	// presence, …); both are fixed at dial.
	onMessage func(c *conn, f *fields, now int64)
	onEvent   func(c *conn, f *fields, now int64)

	nextID  atomic.Int64
	mu      sync.Mutex // guards pending, err
	pending map[string]func(reply)
	err     error
	done    chan struct{}
	closing atomic.Bool // we are closing it: its end is not a disconnect
}

var framePool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func newHTTPClient(maxIdle int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        maxIdle,
		MaxIdleConnsPerHost: maxIdle,
		IdleConnTimeout:     30 * time.Second,
	}}
}

// handlers are a connection's event callbacks; they run on its reader.
type handlers struct {
	onMessage func(*conn, *fields, int64) // message events
	onEvent   func(*conn, *fields, int64) // every other event except reconnect
}

// transport is how a conn's frames go out and how it ends: through coder/websocket, or
// written straight to a socket that an epoll reader serves (rawws_linux.go).
type transport interface {
	write(ctx context.Context, msg []byte) error
	// close ends the connection normally and returns once it has ended (or given up).
	close()
}

// dialer opens connections; raw picks the epoll reader, which speaks plain http:// only
// (runner.dialer decides, for the whole run).
type dialer struct {
	hc  *http.Client
	raw bool
}

// dial opens /ws with a bearer token and starts reading.
func (d dialer) dial(ctx context.Context, base, token string, idx int, h handlers) (*conn, error) {
	c := &conn{idx: idx, onMessage: h.onMessage, onEvent: h.onEvent, pending: make(map[string]func(reply)), done: make(chan struct{})}
	if d.raw {
		if err := dialRaw(ctx, c, base, token); err != nil {
			return nil, err
		}
		return c, nil
	}
	hdr := http.Header{}
	hdr.Set("Authorization", "Bearer "+token)
	ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws",
		&websocket.DialOptions{HTTPClient: d.hc, HTTPHeader: hdr, Subprotocols: []string{"haven.v1"}})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial /ws: status %d: %w", resp.StatusCode, err)
		}
		return nil, fmt.Errorf("dial /ws: %w", err)
	}
	ws.SetReadLimit(readLimit)
	c.tx = wsTransport{ws}
	go c.readLoop(ws)
	return c, nil
}

// readLimit is the largest server message a connection accepts (a join reply with history).
const readLimit = 16 << 20

// wsTransport writes through coder/websocket; readLoop is its reader.
type wsTransport struct{ ws *websocket.Conn }

func (t wsTransport) write(ctx context.Context, msg []byte) error {
	return t.ws.Write(ctx, websocket.MessageText, msg)
}

func (t wsTransport) close() { _ = t.ws.Close(websocket.StatusNormalClosure, "") }

// readLoop reads c's messages through coder/websocket, one goroutine per connection.
func (c *conn) readLoop(ws *websocket.Conn) {
	defer close(c.done)
	var f fields
	for {
		_, r, err := ws.Reader(context.Background())
		if err != nil {
			c.end(err)
			return
		}
		buf := framePool.Get().(*bytes.Buffer)
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			framePool.Put(buf)
			c.end(err)
			return
		}
		c.deliver(buf.Bytes(), time.Now().UnixNano(), &f)
		if buf.Cap() <= 256<<10 { // do not keep a rare huge join reply around
			framePool.Put(buf)
		}
	}
}

// deliver handles one server message, received at now: the newline-separated objects of a
// frame, each scanned into f and passed to its handler.
func (c *conn) deliver(data []byte, now int64, f *fields) {
	for len(data) > 0 {
		line := data
		if k := bytes.IndexByte(data, '\n'); k >= 0 {
			line, data = data[:k], data[k+1:]
		} else {
			data = nil
		}
		if len(line) == 0 {
			continue
		}
		if scanObject(line, f) != nil {
			badObjects.Add(1)
			continue
		}
		switch string(f.Type) {
		case "message":
			if c.onMessage != nil {
				c.onMessage(c, f, now)
			}
		case "ok", "error":
			c.answer(f)
		case "reconnect":
			reconnects.Add(1)
		default:
			if c.onEvent != nil {
				c.onEvent(c, f, now)
			}
		}
	}
}

// Process-wide oddities, reported as errors.
var badObjects, reconnects, orphanReplies atomic.Int64

func (c *conn) answer(f *fields) {
	c.mu.Lock()
	cb := c.pending[string(f.Re)]
	delete(c.pending, string(f.Re))
	c.mu.Unlock()
	if cb == nil {
		orphanReplies.Add(1)
		return
	}
	cb(reply{OK: string(f.Type) == "ok", Code: string(f.Code), Seq: f.Seq, LastSeq: f.LastSeq,
		GuidelinesVersion: f.GuidelinesVersion, RetryAfterMS: f.RetryAfterMS})
}

func (c *conn) end(err error) {
	c.mu.Lock()
	c.err = err
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, cb := range pending {
		cb(reply{Err: fmt.Errorf("connection ended: %w", err)})
	}
}

// command sends a pre-encoded command body (without id) and calls cb with its reply on the
// reader goroutine. body is the JSON object's members after the id, like `"type":"send",...`.
func (c *conn) command(ctx context.Context, body []byte, cb func(reply)) error {
	id := "c" + strconv.FormatInt(c.nextID.Add(1), 10)
	c.mu.Lock()
	if c.pending == nil {
		err := c.err
		c.mu.Unlock()
		return fmt.Errorf("connection ended: %w", err)
	}
	c.pending[id] = cb
	c.mu.Unlock()
	msg := make([]byte, 0, len(body)+24)
	msg = append(msg, `{"id":"`...)
	msg = append(msg, id...)
	msg = append(msg, `",`...)
	msg = append(msg, body...)
	msg = append(msg, '}')
	if err := c.tx.write(ctx, msg); err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return fmt.Errorf("write command: %w", err)
	}
	return nil
}

// do sends a command and waits for its reply.
func (c *conn) do(ctx context.Context, body []byte) (reply, error) {
	ch := make(chan reply, 1)
	if err := c.command(ctx, body, func(r reply) { ch <- r }); err != nil {
		return reply{}, err
	}
	select {
	case r := <-ch:
		return r, r.Err
	case <-ctx.Done():
		return reply{}, fmt.Errorf("no reply: %w", ctx.Err())
	}
}

// join joins room, accepting its guidelines when asked. onJoined runs on the reader
// goroutine with the ok reply, before any live event of the room is handled.
func (c *conn) join(ctx context.Context, room string, onJoined func(reply)) error {
	accept := int64(0)
	for attempt := 0; attempt < 2; attempt++ {
		cmd := map[string]any{"type": "join", "room": room}
		if accept > 0 {
			cmd["accept_guidelines"] = accept
		}
		b, _ := json.Marshal(cmd)
		ch := make(chan reply, 1)
		err := c.command(ctx, b[1:len(b)-1], func(r reply) {
			if r.OK && onJoined != nil {
				onJoined(r)
			}
			ch <- r
		})
		if err != nil {
			return fmt.Errorf("join %s: %w", room, err)
		}
		var r reply
		select {
		case r = <-ch:
		case <-ctx.Done():
			return fmt.Errorf("join %s: no reply: %w", room, ctx.Err())
		}
		switch {
		case r.Err != nil:
			return fmt.Errorf("join %s: %w", room, r.Err)
		case r.OK:
			return nil
		case r.Code == "guidelines_required" && accept == 0 && r.GuidelinesVersion > 0:
			accept = r.GuidelinesVersion
		default:
			return fmt.Errorf("join %s: %s", room, r.Code)
		}
	}
	return fmt.Errorf("join %s: guidelines still required after accepting them", room)
}

// disconnected reports whether the server ended the connection while we still wanted it,
// and why.
func (c *conn) disconnected() (bool, string) {
	select {
	case <-c.done:
	default:
		return false, ""
	}
	if c.closing.Load() {
		return false, ""
	}
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return true, fmt.Sprintf("closed %d %s", ce.Code, ce.Reason)
	}
	return true, fmt.Sprint(err)
}

func (c *conn) close() {
	c.closing.Store(true)
	c.tx.close()
}

// closeAll closes conns, many at once.
func closeAll(conns []*conn) {
	sem := make(chan struct{}, 256)
	var wg sync.WaitGroup
	for _, c := range conns {
		if c == nil {
			continue
		}
		c.closing.Store(true)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c.close()
		}()
	}
	wg.Wait()
}
