package hub

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// conn is one client connection. Its reader goroutine runs commands one at a time, so
// replies leave in the order commands arrived; events and replies share one queue.
type conn struct {
	h       *Hub
	ws      *websocket.Conn
	user    store.User
	session store.Session

	mu      sync.Mutex // guards queue, queued, writing, closed, idle, cancel
	queue   [][]byte
	queued  int
	writing bool
	closed  bool
	idle    chan struct{}

	subMu sync.Mutex      // guards subs
	subs  map[string]*sub // room slug → subscription

	closeOnce  sync.Once
	finishOnce sync.Once
	cancel     context.CancelFunc // ends the running command's context
	ping       *time.Timer
	expiry     *time.Timer // closes the connection when its session expires

	// Parking (park_linux.go): between commands an idle reader leaves, and the poller
	// restarts it when the socket has bytes. br is the connection's read buffer (parking
	// needs it empty); fd is -1 when the connection cannot park. parked, pollID and the
	// ping state are guarded by mu.
	br     *bufio.Reader
	nc     net.Conn // under br
	fd     int
	pollID int32
	parked bool
	// lastCmd is when the reader last read a command (only the reader uses it).
	lastCmd time.Time

	fw          *frameWriter // under coder/websocket's writer; pings are written here
	pingSent    bool         // a ping is out and its timeout is running on the ping timer
	pongs       int          // pongs received
	pongsAtPing int          // pongs when the ping went out

	// The write deadline: only the running writer arms and stops it.
	deadline   *time.Timer
	writeStart atomic.Int64 // unix ns when the current frame's write began; 0 between writes
}

// start arms the connection's timers and runs its reader.
func (c *conn) start() {
	if !c.session.ExpiresAt.IsZero() {
		c.expiry = time.AfterFunc(time.Until(c.session.ExpiresAt), func() {
			c.close(websocket.StatusPolicyViolation, "session expired")
		})
	}
	c.ping = time.AfterFunc(c.h.cfg.PingInterval, c.pingOnce)
	c.readLoop()
}

// readLoop reads and runs commands until the connection ends, or until it is idle and can
// park (park_linux.go), in which case the poller runs readLoop again when bytes arrive.
func (c *conn) readLoop() {
	for {
		// No context: a cancellable one would register a callback with coder/websocket for
		// every read an idle connection blocks in. close ends the read by closing the socket.
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			// coder/websocket already closed with 1009 for an oversized frame.
			c.close(websocket.StatusNormalClosure, "")
			c.finish()
			return
		}
		if typ != websocket.MessageText {
			c.enqueue(protocol.ErrorReply("", protocol.Errorf(protocol.CodeBadRequest, "send text frames with one JSON command each")))
			continue
		}
		metricCommands.Inc()
		now := time.Now()
		chatting := !c.lastCmd.IsZero() && now.Sub(c.lastCmd) < c.h.cfg.ParkAfterQuiet
		c.lastCmd = now
		c.run(context.Background(), data)
		if !chatting && c.park() {
			return
		}
	}
}

// park hands an idle connection to the poller, when it can: nothing is buffered (a
// pipelined command would wait for more bytes that may never come) and the connection is
// open (a closing one needs its reader to finish).
func (c *conn) park() bool {
	p := c.h.poller
	if p == nil || c.fd < 0 || c.br == nil || c.br.Buffered() > 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || p.arm(c) != nil {
		return false
	}
	c.parked = true
	// Nothing is buffered: a parked connection keeps the smallest read buffer bufio allows
	// instead of its 512 bytes; wake gives the full one back.
	*c.br = *bufio.NewReaderSize(c.nc, 16)
	metricParked.Inc()
	return true
}

// finish releases what the connection holds, once, when it has ended: its rooms, its
// timers, its place in the hub.
func (c *conn) finish() {
	c.finishOnce.Do(func() {
		if c.expiry != nil {
			c.expiry.Stop()
		}
		c.ping.Stop()
		if c.h.poller != nil {
			c.h.poller.forget(c)
		}
		c.leaveAll()
		c.h.unregister(c)
		metricConnections.Dec()
		c.h.serving.Done()
	})
}

// run handles one command on a short-lived goroutine and waits for it, so replies keep
// the commands' order. Commands reach deep into the store (SQLite's stacks are deep); on
// the long-lived reader goroutine that growth would stay with every idle connection, as
// stacks shrink only slowly. Its context ends when the connection closes; it is made per
// command because a context that outlives its children keeps their bookkeeping, some
// 500 bytes per idle connection.
func (c *conn) run(ctx context.Context, data []byte) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.cancel = cancel
	c.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.handle(ctx, data)
	}()
	<-done
	c.mu.Lock()
	c.cancel = nil
	c.mu.Unlock()
}

// pingOnce runs on the ping timer. It alternates: write a ping (pong zero at that time),
// then, PingTimeout later, drop the connection unless a pong came; pings go out
// PingInterval apart (or PingTimeout, if that is longer). The ping is written by the frame writer, not coder/websocket's Ping,
// because a pong may be read by the poller (park_linux.go) rather than by a reader, and
// nothing waits meanwhile: an idle connection holds no goroutine for its ping.
func (c *conn) pingOnce() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if c.pingSent {
		answered := c.pongs != c.pongsAtPing
		c.pingSent = false
		c.mu.Unlock()
		if !answered {
			c.close(websocket.StatusPolicyViolation, "ping timeout")
			return
		}
		c.ping.Reset(max(0, c.h.cfg.PingInterval-c.h.cfg.PingTimeout)) // pings PingInterval apart
		return
	}
	c.pingSent, c.pongsAtPing = true, c.pongs
	c.mu.Unlock()
	if err := c.fw.control(pingFrame); err != nil {
		c.close(websocket.StatusGoingAway, "")
		return
	}
	c.ping.Reset(c.h.cfg.PingTimeout)
}

// pingFrame is an unmasked ping with an empty payload, as a server sends it.
var pingFrame = []byte{0x89, 0x00}

// notePong counts a pong, whoever read it: coder/websocket's reader or the poller.
func (c *conn) notePong() {
	c.mu.Lock()
	c.pongs++
	c.mu.Unlock()
}

// close ends the connection once, with a status and reason the client can show.
func (c *conn) close(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.queue, c.queued = nil, 0
		cancel := c.cancel
		parked := c.parked
		c.parked = false
		c.mu.Unlock()
		if parked { // no reader will see the close: leave the rooms here, before the handshake
			c.finish()
		}
		c.fw.stop() // no data frame after the close frame
		_ = c.ws.Close(code, reason)
		if cancel != nil {
			cancel()
		}
	})
}

func (c *conn) leaveAll() {
	c.h.mediaGone(c)
	c.subMu.Lock()
	subs := c.subs
	c.subs = make(map[string]*sub)
	c.subMu.Unlock()
	for _, s := range subs {
		c.h.unsubscribe(s)
	}
}

func (c *conn) reply(id string, fields map[string]any) {
	c.enqueue(protocol.Reply(id, fields))
}

func (c *conn) fail(id string, err error) {
	pe := protocol.AsError(err)
	if pe.Code == protocol.CodeInternal || pe.Code == protocol.CodeUnavailable {
		c.h.log.Error("command failed", "user", c.user.ID, "code", pe.Code, "err", err)
	}
	c.enqueue(protocol.ErrorReply(id, pe))
}

func (c *conn) handle(ctx context.Context, data []byte) {
	var cmd protocol.Command
	if err := json.Unmarshal(data, &cmd); err != nil {
		var idOnly struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(data, &idOnly) // best effort: reply with re when the id is readable
		c.fail(idOnly.ID, protocol.Errorf(protocol.CodeBadRequest, "malformed command: %v", err))
		return
	}
	if cmd.ID == "" || len(cmd.ID) > 64 {
		c.fail("", protocol.Errorf(protocol.CodeBadRequest, "every command needs an id of 1-64 characters"))
		return
	}
	if cmd.Type == "join" {
		c.join(ctx, cmd)
		return
	}
	if cmd.Type == "" {
		c.fail(cmd.ID, protocol.Errorf(protocol.CodeBadRequest, "command has no type"))
		return
	}
	if mediaCommands[cmd.Type] {
		c.mediaCommand(ctx, cmd, data) // media.go: media fields are read from the raw frame
		return
	}
	if _, known := roomCommands[cmd.Type]; !known {
		c.fail(cmd.ID, protocol.Errorf(protocol.CodeBadRequest, "unknown command type %q", cmd.Type))
		return
	}
	if cmd.Room == "" {
		c.fail(cmd.ID, protocol.Errorf(protocol.CodeBadRequest, "%s needs a room", cmd.Type))
		return
	}
	c.subMu.Lock()
	s := c.subs[cmd.Room]
	c.subMu.Unlock()
	if s == nil {
		c.fail(cmd.ID, protocol.Errorf(protocol.CodeNotMember, "join room %q first", cmd.Room))
		return
	}
	roomCommands[cmd.Type](c, ctx, s, cmd)
}

type roomCommand func(c *conn, ctx context.Context, s *sub, cmd protocol.Command)

// roomCommands are the commands that act in a room the connection has joined. Each file
// that handles some registers them in its init; the map exists before any init runs.
var roomCommands = map[string]roomCommand{}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
