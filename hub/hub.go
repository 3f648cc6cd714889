// Package hub serves PROTOCOL v1 over WebSocket: upgrade and authentication, one reader per
// connection and an on-demand bounded writer, the local room index, and fan-out of events
// that arrive from the broker, encoded once for every recipient.
package hub

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/internal/httpx"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/rooms"
	"github.com/havenhealth/haven/store"
)

// Config tunes the hub. The zero value means the defaults in the comments.
type Config struct {
	NodeID         string
	AllowedOrigins []string      // extra origins allowed to open /ws cross-origin ("https://app.example.org", or "*")
	ReadLimit      int64         // largest client frame; default 64 KiB, larger closes with 1009
	QueueEvents    int           // per-connection queue length before "slow consumer"; default 1024
	QueueBytes     int           // per-connection queued bytes before "slow consumer"; default 4 MiB
	WriteTimeout   time.Duration // per frame; default 10 s
	PingInterval   time.Duration // default 25 s
	PingTimeout    time.Duration // pong deadline; default 15 s
	HoldBack       time.Duration // how long an out-of-order message waits for its gap; default 200 ms
	// FlushInterval is the longest a room event waits for the room's next events, so that
	// a burst reaches each member as one frame; the first event after a quiet spell goes
	// at once. Default 10 ms; negative sends every event at once.
	FlushInterval time.Duration
	// FlushPerMember lengthens a room's flush window with its local size: a window costs
	// one write per member, so a room of N members waits max(FlushInterval,
	// N × FlushPerMember), at most MaxFlushInterval. Defaults 10 µs (1,000 members: 10 ms,
	// 5,000: 50 ms) and 50 ms; negative keeps FlushInterval for every room.
	FlushPerMember   time.Duration
	MaxFlushInterval time.Duration
	// PresenceInterval is the least time between two presence events of a room from this
	// node; changes in between are coalesced. Default 250 ms; negative sends every change.
	PresenceInterval time.Duration
	// NoParking keeps every connection's reader goroutine while it is idle, instead of
	// handing the socket to the poller between commands (park_linux.go).
	NoParking bool
	// ParkAfterQuiet: a connection whose commands come closer together than this keeps its
	// reader. Waking a parked reader costs a goroutine, a read buffer and system calls per
	// command, which on a saturated node doubled the send-to-ack latency of members who were
	// chatting; the members worth parking are those who say nothing for a while (most of a
	// webinar's audience). Default 10 s.
	ParkAfterQuiet time.Duration
	Logger         *slog.Logger
}

func (c *Config) defaults() {
	if c.ReadLimit == 0 {
		c.ReadLimit = 64 << 10
	}
	if c.QueueEvents == 0 {
		c.QueueEvents = 1024
	}
	if c.QueueBytes == 0 {
		c.QueueBytes = 4 << 20
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.PingInterval == 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout == 0 {
		c.PingTimeout = 15 * time.Second
	}
	if c.HoldBack == 0 {
		c.HoldBack = 200 * time.Millisecond
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = 10 * time.Millisecond
	}
	if c.ParkAfterQuiet == 0 {
		c.ParkAfterQuiet = 10 * time.Second
	}
	if c.FlushPerMember == 0 {
		c.FlushPerMember = 10 * time.Microsecond
	}
	if c.MaxFlushInterval == 0 {
		c.MaxFlushInterval = 50 * time.Millisecond
	}
	if c.PresenceInterval == 0 {
		c.PresenceInterval = 250 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Authenticator resolves the session behind an upgrade request.
type Authenticator interface {
	FromRequest(r *http.Request) (store.Session, store.User, error)
}

// Hub is the WebSocket side of one node. It does not listen; mount it as an http.Handler.
type Hub struct {
	cfg   Config
	log   *slog.Logger
	auth  Authenticator
	rooms *rooms.Service
	br    broker.Broker
	pres  broker.Presence
	ix    *index
	media *mediaHub // nil until AttachMedia (media.go)

	presence *presenceBatcher
	poller   *poller // parks idle readers; nil where unavailable or disabled

	draining atomic.Bool
	serving  sync.WaitGroup                // one per ServeHTTP that upgraded; Drain waits for their clean-up
	mu       sync.Mutex                    // guards conns
	conns    map[string]map[*conn]struct{} // session id → its connections
}

var _ broker.Handler = (*Hub)(nil)

// New returns a hub. Start must be called before serving.
func New(cfg Config, auth Authenticator, rs *rooms.Service, br broker.Broker, pres broker.Presence) *Hub {
	cfg.defaults()
	h := &Hub{cfg: cfg, log: cfg.Logger, auth: auth, rooms: rs, br: br, pres: pres,
		ix: newIndex(), conns: make(map[string]map[*conn]struct{})}
	h.presence = newPresenceBatcher(h, cfg.PresenceInterval)
	if !cfg.NoParking {
		h.poller = sharedPoller()
	}
	return h
}

// Start connects the hub to the broker.
func (h *Hub) Start(ctx context.Context) error {
	if err := h.br.Start(ctx, h); err != nil {
		return err
	}
	return h.br.Subscribe(ctx, broker.ControlChannel, broker.NodeChannel(h.cfg.NodeID))
}

// ServeHTTP upgrades an authenticated, same-origin (or allowed-origin) request.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.draining.Load() {
		w.Header().Set("Retry-After", "1")
		httpx.WriteError(w, r, protocol.Errorf(protocol.CodeUnavailable, "this node is shutting down; reconnect"))
		return
	}
	if !h.originAllowed(r) {
		httpx.WriteError(w, r, protocol.Errorf(protocol.CodeForbidden, "origin %q is not allowed", r.Header.Get("Origin")))
		return
	}
	sess, user, err := h.auth.FromRequest(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if !offersSubprotocol(r) {
		httpx.WriteError(w, r, protocol.Errorf(protocol.CodeBadRequest, "the %s subprotocol is required", protocol.Subprotocol))
		return
	}
	sb := &smallBuffers{ResponseWriter: w}
	var c *conn // set before its reader starts, so before any pong is read
	ws, err := websocket.Accept(sb, r, &websocket.AcceptOptions{
		Subprotocols:       []string{protocol.Subprotocol},
		InsecureSkipVerify: true, // the origin was checked above, with our own rules
		OnPongReceived:     func(context.Context, []byte) { c.notePong() },
	})
	if err != nil {
		h.log.Debug("websocket accept", "err", err)
		return
	}
	ws.SetReadLimit(h.cfg.ReadLimit)
	c = &conn{h: h, ws: ws, user: user, session: sess, subs: make(map[string]*sub), br: sb.br, nc: sb.nc, fw: sb.fw, fd: socketFD(sb.nc)}
	h.serving.Add(1)
	h.register(c)
	metricConnections.Inc()
	// The connection lives on a goroutine of its own so that this one returns and net/http
	// frees the request, its buffers and a stack grown by the upgrade. The request's
	// context ends when ServeHTTP returns, so the connection does not use it. c.finish
	// undoes the three lines above.
	go c.start()
}

func offersSubprotocol(r *http.Request) bool {
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if strings.TrimSpace(p) == protocol.Subprotocol {
				return true
			}
		}
	}
	return false
}

// originAllowed admits requests without an Origin (non-browser clients), same-origin
// requests, and configured origins.
func (h *Hub) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, a := range h.cfg.AllowedOrigins {
		if a == "*" || strings.EqualFold(strings.TrimRight(a, "/"), origin) {
			return true
		}
	}
	return false
}

func (h *Hub) register(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.conns[c.session.ID]
	if set == nil {
		set = make(map[*conn]struct{})
		h.conns[c.session.ID] = set
	}
	set[c] = struct{}{}
}

func (h *Hub) unregister(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := h.conns[c.session.ID]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(h.conns, c.session.ID)
		}
	}
}

func (h *Hub) snapshot(sessionID string) []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*conn
	for sid, set := range h.conns {
		if sessionID != "" && sid != sessionID {
			continue
		}
		for c := range set {
			out = append(out, c)
		}
	}
	return out
}

// HandleMessage receives broker deliveries. It never blocks: fan-out only enqueues, and
// anything that reads the store runs on its own goroutine.
func (h *Hub) HandleMessage(channel string, payload []byte) {
	e, err := rooms.DecodeEvent(payload)
	if err != nil {
		h.log.Warn("dropping undecodable broker event", "channel", channel, "err", err)
		return
	}
	switch e.Kind {
	case rooms.KindMessage:
		if lr := h.ix.get(e.Room); lr != nil {
			lr.onMessage(e.Seq, e.Data)
		}
	case rooms.KindEphemeral:
		if lr := h.ix.get(e.Room); lr != nil {
			lr.onEphemeral(e.Data)
		}
	case rooms.KindToUser:
		if lr := h.ix.get(e.Room); lr != nil {
			lr.toUser(e.User, e.Data)
		}
	case rooms.KindModerators:
		if lr := h.ix.get(e.Room); lr != nil {
			lr.toModerators(e.Data)
		}
	case rooms.KindRemove:
		h.removeUser(e.Room, e.User, e.Data)
	case mediaRelayKind:
		h.mediaRelay(e.Data)
	case rooms.KindRevoke:
		for _, c := range h.snapshot(e.Session) {
			go c.close(websocket.StatusPolicyViolation, "session revoked")
		}
	case rooms.KindUser:
		h.reconnectUser(e.User)
	case rooms.KindRoomUpdate, rooms.KindMember, rooms.KindRules:
		// In line, not on a goroutine: the state must be in force before the events that
		// announce it (published after it) reach members.
		h.rooms.HandleControl(context.Background(), e)
	}
}

// HandleReconnect runs after a broker outage: reload what control events may have changed
// and close every room's gap from the store.
func (h *Hub) HandleReconnect() {
	metricBrokerRecoveries.Inc()
	go func() {
		ctx := context.Background()
		for _, slug := range h.rooms.Cached() {
			if err := h.rooms.Reload(ctx, slug); err != nil {
				h.log.Warn("reload room after broker reconnect", "room", slug, "err", err)
			}
		}
		for _, lr := range h.ix.all() {
			for _, uid := range lr.userIDs() {
				if err := h.rooms.ReloadMember(ctx, lr.slug, uid); err != nil {
					h.log.Warn("reload member after broker reconnect", "room", lr.slug, "err", err)
				}
			}
			lr.recover()
		}
		h.removeBanned()
	}()
}

// UserChanged has the user's connections on every node reconnect: their role and badge are
// read when a connection opens and shown in every room it joins, and what they may do
// follows them, so a change takes effect by a fresh connection (the client recovers each
// room with since, as after a drain).
func (h *Hub) UserChanged(ctx context.Context, userID string) {
	e := rooms.Event{Kind: rooms.KindUser, User: userID}
	if err := h.br.Publish(ctx, broker.ControlChannel, e.Encode()); err != nil {
		h.log.Warn("publish account change", "user", userID, "err", err)
	}
}

// reconnectUser asks this node's connections of userID to reconnect, then closes them.
func (h *Hub) reconnectUser(userID string) {
	frame := mustJSON(protocol.Reconnect{Type: "reconnect", Reason: "account changed", RetryAfterMS: 0})
	for _, c := range h.snapshot("") {
		if c.user.ID != userID {
			continue
		}
		go func() {
			c.enqueue(frame)
			c.waitDrained(time.Now().Add(2 * time.Second))
			c.close(websocket.StatusNormalClosure, "account changed")
		}()
	}
}

// RevokeSession closes the session's connections on every node.
func (h *Hub) RevokeSession(ctx context.Context, sessionID string) {
	e := rooms.Event{Kind: rooms.KindRevoke, Session: sessionID}
	if err := h.br.Publish(ctx, broker.ControlChannel, e.Encode()); err != nil {
		h.log.Warn("publish session revocation", "err", err)
	}
}

// Drain stops accepting connections, tells every client to reconnect elsewhere, lets the
// writers finish, and closes the connections, all before ctx's deadline.
func (h *Hub) Drain(ctx context.Context) {
	h.draining.Store(true)
	frame := mustJSON(protocol.Reconnect{Type: "reconnect", Reason: "node shutting down", RetryAfterMS: 500})
	conns := h.snapshot("")
	for _, c := range conns {
		c.enqueue(frame)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Second)
	}
	for _, c := range conns {
		c.waitDrained(deadline)
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.close(websocket.StatusGoingAway, "node shutting down")
		}()
	}
	wg.Wait()
	// Each connection leaves its rooms (presence included) as its reader ends; withdrawing
	// this node's presence before they finish would let a late leave write the share back.
	done := make(chan struct{})
	go func() {
		h.serving.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Until(deadline)):
		h.log.Warn("drain: connections still finishing at the deadline")
	}
	h.presence.flushAll()
	if err := h.pres.Close(); err != nil {
		h.log.Warn("withdraw presence", "err", err)
	}
}

// Draining reports whether Drain has begun (for /readyz).
func (h *Hub) Draining() bool { return h.draining.Load() }
