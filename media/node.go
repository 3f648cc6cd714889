package media

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/turn/v5"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// Auditor writes moderation audit entries; store.Store is one. Media control actions
// (promote, demote, media_mute, media_unmute, media_remove) are written before they take
// effect, so an action that cannot be audited does not happen.
type Auditor interface {
	ApplyModeration(ctx context.Context, ch store.ModerationChange) (store.AuditEntry, error)
}

// Node runs the media sessions this node owns and relays the commands of its own clients
// to sessions other nodes own. It does not know WebSockets: the hub hands it Requests and
// gives it a function that delivers frames to a connection by key.
type Node struct {
	cfg Config
	log *slog.Logger
	br  broker.Broker
	aud Auditor
	reg Registry

	deliver atomic.Pointer[func(key string, frame []byte)]

	engMu   sync.Mutex // guards eng, turnSrv, turnURL
	eng     *engine
	turnSrv *turn.Server
	turnURL string

	mu       sync.Mutex                   // guards sessions, pending, clients, closed
	sessions map[string]*Session          // room slug → session this node owns
	pending  map[string]chan struct{}     // token → a Handle waiting for its reply
	clients  map[string]map[string]string // local client key → room → owning node
	closed   bool

	seq  atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

// NewNode returns a node; Start must be called before Handle.
func NewNode(cfg Config, br broker.Broker, aud Auditor) *Node {
	cfg.defaults()
	return &Node{cfg: cfg, log: cfg.Logger.With("component", "media"), br: br, aud: aud, reg: cfg.Registry,
		sessions: make(map[string]*Session), pending: make(map[string]chan struct{}),
		clients: make(map[string]map[string]string), stop: make(chan struct{})}
}

// SetDeliver sets how frames reach this node's connections (the hub's queue by key).
func (n *Node) SetDeliver(f func(key string, frame []byte)) { n.deliver.Store(&f) }

// Start runs the owner heartbeat, the watch over remote sessions, and the embedded TURN
// server when configured (which binds the media ports at once).
func (n *Node) Start(context.Context) error {
	if n.cfg.TURN.Port > 0 {
		if err := n.Listen(); err != nil {
			return err
		}
	}
	n.wg.Add(1)
	go n.run()
	return nil
}

// Listen binds the ICE ports (and starts the embedded TURN server) now rather than at the
// first session, so a port already taken fails the node's start.
func (n *Node) Listen() error {
	_, err := n.engine()
	return err
}

func (n *Node) engine() (*engine, error) {
	n.engMu.Lock()
	defer n.engMu.Unlock()
	if n.eng != nil {
		return n.eng, nil
	}
	e, err := newEngine(n.cfg)
	if err != nil {
		return nil, err
	}
	if n.cfg.TURN.Port > 0 {
		srv, url, err := startTURN(n.cfg, e.udpAddr)
		if err != nil {
			e.close()
			return nil, err
		}
		n.turnSrv, n.turnURL = srv, url
	}
	n.eng = e
	n.log.Info("media listening", "udp", e.udpAddr.String(), "tcp", n.cfg.TCPPort, "turn", n.turnURL)
	return e, nil
}

// Handle runs one media command: on this node when it owns the room's session, otherwise
// on the owner through the broker. It returns once the reply has been delivered to the
// client, or with the error the caller should reply with instead.
func (n *Node) Handle(ctx context.Context, req Request) error {
	if !slices.Contains(Commands, req.Type) {
		return protocol.Errorf(protocol.CodeBadRequest, "unknown command type %q", req.Type)
	}
	if req.RoomKind != "webinar" && req.RoomKind != "support" {
		return protocol.Errorf(protocol.CodeBadRequest, "room %q has no media sessions; only webinar and support rooms do", req.Room)
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.CommandTimeout)
	defer cancel()
	var owner string
	var err error
	if req.Type == "media.start" {
		if req.Actor.Rank < RankHost {
			return protocol.Errorf(protocol.CodeForbidden, "only hosts, clinicians and moderators start a session")
		}
		owner, err = n.reg.Claim(ctx, req.Room, n.cfg.NodeID, n.cfg.OwnerTTL)
	} else {
		owner, err = n.reg.Owner(ctx, req.Room)
	}
	if err != nil {
		return &protocol.Error{Code: protocol.CodeUnavailable, Message: "media sessions are unavailable right now; try again", Cause: err}
	}
	if owner == "" {
		return protocol.Errorf(CodeNotStarted, "no media session is running in this room")
	}
	req.Token = n.cfg.NodeID + "/" + strconv.FormatUint(n.seq.Add(1), 10)
	done := make(chan struct{})
	n.mu.Lock()
	n.pending[req.Token] = done
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.pending, req.Token)
		n.mu.Unlock()
	}()
	if owner == n.cfg.NodeID {
		n.execute(req)
	} else if err := n.forward(ctx, owner, req); err != nil {
		return &protocol.Error{Code: protocol.CodeUnavailable, Message: "cannot reach the media session's node; try again", Cause: err}
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return &protocol.Error{Code: protocol.CodeUnavailable, Message: "the media session did not answer in time", Cause: ctx.Err()}
	}
}

// execute runs a request on this node, which owns (or just claimed) the room's session.
// It never blocks: the session runs it on its own loop.
func (n *Node) execute(req Request) {
	n.mu.Lock()
	s := n.sessions[req.Room]
	started := false
	if s == nil && req.Type == "media.start" && !n.closed {
		s = newSession(n, req)
		n.sessions[req.Room] = s
		started = true
	}
	n.mu.Unlock()
	if started {
		// The room's members learn of it (their clients offer to join), scheduled or not.
		s.announce()
	}
	if s == nil {
		if req.Type != "media.leave" {
			// The registry names us but nothing runs here (a restart under the same name):
			// clear the record so the next start can claim it.
			go func() { _ = n.reg.Release(context.Background(), req.Room, n.cfg.NodeID) }()
		}
		n.replyError(req, protocol.Errorf(CodeNotStarted, "no media session is running in this room"))
		return
	}
	if !s.post(func() { s.handle(req) }) {
		n.replyError(req, protocol.Errorf(CodeNotStarted, "the media session has ended"))
	}
}

func (n *Node) replyError(req Request, err error) {
	if req.ID == "" && req.Token == "" {
		return
	}
	var frame []byte
	if req.ID != "" {
		frame = protocol.ErrorReply(req.ID, protocol.AsError(err))
	}
	// Off the caller's path: a remote client's reply is a broker publish.
	go n.dispatch(delivery{to: []ClientRef{req.Client}, frame: frame, token: req.Token})
}

// delivery is one frame for some clients, in a session's order.
type delivery struct {
	to     []ClientRef
	frame  []byte // nil: nothing to show, only the token to complete
	token  string // completes the Handle waiting for this reply
	joined string // the room the client has joined (for its node's bookkeeping)
	left   string // the room the client is no longer in
	// roomEv, when set, sends frame to everyone in that room instead (its broker channel).
	roomEv string
}

// dispatch delivers d: to local clients directly, to each other node in one publish.
func (n *Node) dispatch(d delivery) {
	if d.roomEv != "" {
		n.publishRoom(d.roomEv, d.frame)
		return
	}
	var remote map[string][]string
	for _, c := range d.to {
		if c.Node == n.cfg.NodeID {
			n.deliverLocal(c.Key, d.frame, d.token, d.joined, d.left, n.cfg.NodeID)
			continue
		}
		if remote == nil {
			remote = make(map[string][]string)
		}
		remote[c.Node] = append(remote[c.Node], c.Key)
	}
	for node, keys := range remote {
		n.publish(node, relayMsg{Op: "out", From: n.cfg.NodeID, Keys: keys, Frame: d.frame,
			Token: d.token, Joined: d.joined, Left: d.left})
	}
}

// deliverLocal hands a frame to one of this node's connections and keeps the record of
// which sessions the connection is in.
func (n *Node) deliverLocal(key string, frame []byte, token, joined, left, owner string) {
	n.mu.Lock()
	if joined != "" {
		if n.clients[key] == nil {
			n.clients[key] = make(map[string]string)
		}
		n.clients[key][joined] = owner
	}
	if left != "" {
		delete(n.clients[key], left)
		if len(n.clients[key]) == 0 {
			delete(n.clients, key)
		}
	}
	done := n.pending[token]
	n.mu.Unlock()
	if frame != nil {
		if f := n.deliver.Load(); f != nil {
			(*f)(key, frame)
		}
	}
	if done != nil {
		close(done)
		n.mu.Lock()
		delete(n.pending, token) // closed once: a duplicate delivery finds nothing
		n.mu.Unlock()
	}
}

// ClientGone takes a closed connection out of every session it was in.
func (n *Node) ClientGone(key string) {
	n.mu.Lock()
	rooms := n.clients[key]
	delete(n.clients, key)
	n.mu.Unlock()
	for room, owner := range rooms {
		n.leaveFor(key, room, owner)
	}
}

// ClientLeft takes a connection that left a room (the chat leave command) out of that
// room's session: its peer connection closes and the others see it go.
func (n *Node) ClientLeft(key, room string) {
	n.mu.Lock()
	owner, ok := n.clients[key][room]
	if ok {
		delete(n.clients[key], room)
		if len(n.clients[key]) == 0 {
			delete(n.clients, key)
		}
	}
	n.mu.Unlock()
	if ok {
		n.leaveFor(key, room, owner)
	}
}

// leaveFor runs media.leave for one of this node's connections, on the session's owner.
func (n *Node) leaveFor(key, room, owner string) {
	req := Request{Type: "media.leave", Room: room, Client: ClientRef{Node: n.cfg.NodeID, Key: key}}
	if owner == n.cfg.NodeID {
		n.execute(req)
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.CommandTimeout)
		defer cancel()
		if err := n.forward(ctx, owner, req); err != nil {
			n.log.Warn("relay leave of a connection", "room", room, "err", err)
		}
	}()
}

// UserRemoved keeps a user removed or banned from the room out of its session: every node
// hears of the removal, and the one that owns the session acts on it.
func (n *Node) UserRemoved(room, userID string) {
	n.mu.Lock()
	s := n.sessions[room]
	n.mu.Unlock()
	if s != nil {
		s.post(func() { s.expel(userID, "removed") })
	}
}

func (n *Node) sessionGone(s *Session) {
	n.mu.Lock()
	if n.sessions[s.room] == s {
		delete(n.sessions, s.room)
	}
	n.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := n.reg.Release(ctx, s.room, n.cfg.NodeID); err != nil {
		n.log.Warn("release media session record", "room", s.room, "err", err)
	}
}

// Close ends this node's sessions (their members get media.ended), waiting for them until
// ctx ends, then stops the node's ports.
func (n *Node) Close(ctx context.Context) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	var ss []*Session
	for _, s := range n.sessions {
		ss = append(ss, s)
	}
	n.mu.Unlock()
	for _, s := range ss {
		s.post(func() { s.end("node shutting down") })
	}
	for _, s := range ss {
		select {
		case <-s.done:
		case <-ctx.Done():
		}
	}
	close(n.stop)
	n.wg.Wait()
	n.engMu.Lock()
	defer n.engMu.Unlock()
	if n.turnSrv != nil {
		_ = n.turnSrv.Close()
	}
	if n.eng != nil {
		n.eng.close()
	}
}
