package media

import (
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/havenhealth/haven/protocol"
)

// maxPending bounds a session's queued operations; beyond it commands are refused rather
// than letting a stuck session grow without limit.
const maxPending = 10000

// Session is one room's media session on its owning node. All of its state is owned by one
// goroutine (the loop) that runs commands and Pion callbacks in order, so control needs no
// locks; the forwarding path never touches it.
type Session struct {
	n         *Node
	room      string
	roomID    string
	kind      string // webinar, support
	startedAt time.Time
	startedBy protocol.User
	log       *slog.Logger
	out       *outbox

	mu    sync.Mutex // guards ops, ended
	ops   []func()
	wake  chan struct{}
	ended bool
	done  chan struct{} // closed when the loop has finished

	// Owned by the loop.
	parts    map[string]*participant // participant id → participant
	byClient map[ClientRef]*participant
	order    []*participant             // join order, for the state
	speakers map[string]bool            // user id → promoted (webinar)
	mutes    map[string]map[string]bool // user id → kind → muted by a host
	removed  map[string]bool            // user id → kept out until the session ends
	hands    []hand                     // raised hands, oldest first
	dirty    bool                       // the state changed: broadcast after this batch
	finished bool
}

type hand struct {
	user protocol.User
	at   time.Time
}

func newSession(n *Node, req Request) *Session {
	s := &Session{n: n, room: req.Room, roomID: req.RoomID, kind: req.RoomKind, startedAt: time.Now(), startedBy: req.Actor.User,
		log: n.log.With("room", req.Room), wake: make(chan struct{}, 1), done: make(chan struct{}),
		parts: make(map[string]*participant), byClient: make(map[ClientRef]*participant),
		speakers: make(map[string]bool), mutes: make(map[string]map[string]bool), removed: make(map[string]bool)}
	s.out = newOutbox(n, s.log)
	metricSessions.Inc()
	go s.loop()
	return s
}

// announce tells the room the session is running (its members' clients offer to join).
func (s *Session) announce() {
	s.send(delivery{roomEv: s.room, frame: mustJSON(wireStarted{Type: "media.started", Room: s.room,
		Kind: s.kind, StartedAt: s.startedAt.UTC(), By: s.startedBy})})
}

// post queues f for the loop. It never blocks; false means the session has ended (or is
// hopelessly behind).
func (s *Session) post(f func()) bool {
	s.mu.Lock()
	if s.ended || len(s.ops) >= maxPending {
		s.mu.Unlock()
		return false
	}
	s.ops = append(s.ops, f)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

func (s *Session) loop() {
	defer close(s.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := time.Now()
	for !s.finished {
		select {
		case <-s.wake:
		case now := <-tick.C:
			s.tick(now, now.Sub(last))
			last = now
		}
		s.mu.Lock()
		batch := s.ops
		s.ops = nil
		s.mu.Unlock()
		for _, f := range batch {
			f() // after end, commands still run: they answer that the session has ended
		}
		s.settle()
	}
	s.mu.Lock()
	s.ended = true
	rest := s.ops
	s.ops = nil
	s.mu.Unlock()
	for _, f := range rest {
		f()
	}
	s.out.close()
}

// settle runs after each batch: one state broadcast for however many changes, then the
// offers that the changes made necessary.
func (s *Session) settle() {
	if s.finished {
		return
	}
	if s.dirty {
		s.dirty = false
		s.broadcastState()
	}
	for _, p := range s.order {
		s.maybeOffer(p)
	}
}

func (s *Session) tick(now time.Time, dt time.Duration) {
	for _, p := range s.order {
		for _, pt := range p.pubs {
			pt.measure(dt)
		}
	}
	for _, p := range append([]*participant(nil), s.order...) { // unanswered drops from order
		p.report()
		p.chooseLayers(now)
		if p.negotiating && now.Sub(p.offeredAt) > s.n.cfg.AnswerTimeout {
			s.unanswered(p)
		}
	}
}

func (s *Session) handle(req Request) {
	if s.finished {
		s.fail(req, protocol.Errorf(CodeNotStarted, "the media session has ended"))
		return
	}
	var cmd command
	if len(req.Body) > 0 {
		if err := json.Unmarshal(req.Body, &cmd); err != nil {
			s.fail(req, protocol.Errorf(protocol.CodeBadRequest, "malformed media command: %v", err))
			return
		}
	}
	switch req.Type {
	case "media.start":
		s.reply(req, map[string]any{"state": s.state(req.Actor.Rank >= RankHost)})
		return
	case "media.end":
		s.endCmd(req)
		return
	case "media.join":
		s.join(req)
		return
	case "media.promote", "media.demote", "media.mute", "media.remove":
		s.control(req, cmd)
		return
	}
	p := s.byClient[req.Client]
	if p == nil {
		if req.Type == "media.leave" {
			s.reply(req, nil) // already out (or a closed connection's clean-up)
			return
		}
		s.fail(req, protocol.Errorf(protocol.CodeNotMember, "join the media session first"))
		return
	}
	switch req.Type {
	case "media.leave":
		s.drop(p)
		s.send(delivery{to: []ClientRef{p.client}, frame: s.replyFrame(req, nil), token: req.Token, left: s.room})
	case "media.offer":
		s.offer(req, p, cmd)
	case "media.answer":
		s.answer(req, p, cmd)
	case "media.candidate":
		s.candidate(req, p, cmd)
	case "media.publish":
		s.publish(req, p, cmd)
	case "media.unpublish":
		s.unpublish(req, p, cmd)
	case "media.hand":
		s.hand(req, p, cmd)
	case "media.layer":
		s.layer(req, p, cmd)
	}
}

func (s *Session) replyFrame(req Request, fields map[string]any) []byte {
	if req.ID == "" {
		return nil
	}
	return protocol.Reply(req.ID, fields)
}

func (s *Session) reply(req Request, fields map[string]any) {
	s.send(delivery{to: []ClientRef{req.Client}, frame: s.replyFrame(req, fields), token: req.Token})
}

func (s *Session) fail(req Request, err error) {
	pe := protocol.AsError(err)
	if pe.Code == protocol.CodeInternal || pe.Code == protocol.CodeUnavailable {
		s.log.Error("media command failed", "type", req.Type, "user", req.Actor.User.ID, "err", err)
	}
	var frame []byte
	if req.ID != "" {
		frame = protocol.ErrorReply(req.ID, pe)
	}
	s.send(delivery{to: []ClientRef{req.Client}, frame: frame, token: req.Token})
}

func (s *Session) send(d delivery) {
	if d.frame == nil && d.token == "" && d.joined == "" && d.left == "" && d.roomEv == "" {
		return
	}
	s.out.push(d)
}

func (s *Session) sendEvent(to ClientRef, ev any) {
	s.send(delivery{to: []ClientRef{to}, frame: mustJSON(ev)})
}

// end closes the session for everyone: media.ended to each participant, every peer
// connection closed, the ownership record released.
func (s *Session) end(reason string) {
	if s.finished {
		return
	}
	var to []ClientRef
	for _, p := range s.order {
		to = append(to, p.client)
	}
	ended := mustJSON(wireEnded{Type: "media.ended", Room: s.room, Reason: reason})
	s.send(delivery{to: to, frame: ended, left: s.room})
	s.send(delivery{roomEv: s.room, frame: ended}) // members outside the session too
	for _, p := range append([]*participant(nil), s.order...) {
		s.drop(p)
	}
	s.finished = true
	s.mu.Lock()
	s.ended = true // refuse new commands at once; the node answers not_started
	s.mu.Unlock()
	metricSessions.Dec()
	s.log.Info("media session ended", "reason", reason)
	s.n.sessionGone(s) // before done closes: a draining node waits for the record to go
}

// outbox delivers a session's frames in the order the loop produced them, off the loop: a
// remote client's frames are broker publishes, which may wait on the network.
type outbox struct {
	n     *Node
	log   *slog.Logger
	mu    sync.Mutex // guards items, closed
	items []delivery
	wake  chan struct{}
	close func()
}

func newOutbox(n *Node, log *slog.Logger) *outbox {
	o := &outbox{n: n, log: log, wake: make(chan struct{}, 1)}
	stop := make(chan struct{})
	var once sync.Once
	o.close = func() { once.Do(func() { close(stop) }) }
	go o.run(stop)
	return o
}

func (o *outbox) push(d delivery) {
	o.mu.Lock()
	if len(o.items) >= maxPending {
		o.mu.Unlock()
		o.log.Warn("media outbox full; dropping a frame")
		return
	}
	o.items = append(o.items, d)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *outbox) run(stop chan struct{}) {
	for {
		stopping := false
		select {
		case <-o.wake:
		case <-stop:
			stopping = true
		}
		o.mu.Lock()
		batch := o.items
		o.items = nil
		o.mu.Unlock()
		for _, d := range batch {
			o.n.dispatch(d)
		}
		if stopping {
			return
		}
	}
}
