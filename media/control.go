package media

import (
	"context"
	"encoding/json"
	"time"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

func (s *Session) capacity() int {
	if s.kind == "support" {
		return s.n.cfg.SupportCapacity
	}
	return s.n.cfg.WebinarCapacity
}

func (s *Session) join(req Request) {
	uid := req.Actor.User.ID
	if p := s.byClient[req.Client]; p != nil { // joined already on this connection
		s.send(delivery{to: []ClientRef{req.Client}, frame: s.replyFrame(req, s.joinReply(p)), token: req.Token, joined: s.room})
		return
	}
	if s.removed[uid] {
		s.fail(req, protocol.Errorf(protocol.CodeForbidden, "you were removed from this session"))
		return
	}
	if n := s.capacity(); len(s.parts) >= n {
		s.fail(req, protocol.Errorf(CodeSessionFull, "the session is full (%d participants)", n))
		return
	}
	p, err := s.newParticipant(req)
	if err != nil {
		s.fail(req, &protocol.Error{Code: protocol.CodeUnavailable, Message: "media is unavailable on this server", Cause: err})
		return
	}
	s.parts[p.id] = p
	s.byClient[p.client] = p
	s.order = append(s.order, p)
	metricParticipants.Inc()
	for _, q := range s.order {
		for _, pt := range q.pubs {
			if pt.live {
				s.subscribe(p, pt)
			}
		}
	}
	s.dirty = true
	s.send(delivery{to: []ClientRef{p.client}, frame: s.replyFrame(req, s.joinReply(p)), token: req.Token, joined: s.room})
}

func (s *Session) joinReply(p *participant) map[string]any {
	return map[string]any{"participant": p.id, "role": s.role(p),
		"ice_servers": s.n.iceServers(p.actor.User.ID), "state": s.state(p.actor.Rank >= RankHost)}
}

func (s *Session) endCmd(req Request) {
	if req.Actor.Rank < RankHost {
		s.fail(req, protocol.Errorf(protocol.CodeForbidden, "only hosts, clinicians and moderators end a session"))
		return
	}
	s.reply(req, nil)
	s.end("ended")
}

// control runs promote, demote, mute and remove: the actor must outrank the target, the
// audit entry is written first, and only then does the change take effect.
func (s *Session) control(req Request, cmd command) {
	if req.Actor.Rank < RankHost {
		s.fail(req, protocol.Errorf(protocol.CodeForbidden, "only hosts, clinicians and moderators may do that"))
		return
	}
	targets := s.participantsOf(cmd.User)
	if cmd.User == "" || len(targets) == 0 {
		s.fail(req, protocol.Errorf(protocol.CodeNotFound, "no participant %q in this session", cmd.User))
		return
	}
	if targets[0].actor.Rank >= req.Actor.Rank {
		s.fail(req, protocol.Errorf(protocol.CodeForbidden, "you cannot act on a host or moderator of equal or higher rank"))
		return
	}
	detail := map[string]any{}
	var action string
	switch req.Type {
	case "media.promote", "media.demote":
		if s.kind != "webinar" {
			s.fail(req, protocol.Errorf(protocol.CodeBadRequest, "everyone speaks in a support session"))
			return
		}
		action = req.Type[len("media."):]
	case "media.mute":
		if !validKind(cmd.Kind) || cmd.Muted == nil {
			s.fail(req, protocol.Errorf(protocol.CodeBadRequest, "media.mute needs kind (audio, video or screen) and muted (true or false)"))
			return
		}
		action, detail["kind"] = "media_unmute", cmd.Kind
		if *cmd.Muted {
			action = "media_mute"
		}
	case "media.remove":
		action = "media_remove"
	}
	if err := s.audit(req, action, cmd.User, cmd.Reason, detail); err != nil {
		s.fail(req, err)
		return
	}
	switch req.Type {
	case "media.promote":
		s.speakers[cmd.User] = true
		s.lowerHand(cmd.User)
		for _, p := range targets {
			for _, pt := range p.pubs {
				s.goLive(pt)
			}
		}
	case "media.demote":
		delete(s.speakers, cmd.User)
		for _, p := range targets {
			for _, pt := range p.pubs {
				s.withdraw(pt)
			}
		}
	case "media.mute":
		s.setMuted(cmd.User, cmd.Kind, *cmd.Muted)
	case "media.remove":
		s.expel(cmd.User, "removed")
	}
	s.dirty = true
	s.reply(req, nil)
}

// audit writes one media control action to the room's audit log.
func (s *Session) audit(req Request, action, target, reason string, detail map[string]any) error {
	if s.n.aud == nil {
		return protocol.Errorf(protocol.CodeInternal, "media control is not audited on this node")
	}
	detail["room"] = s.room
	d, _ := json.Marshal(detail)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.n.aud.ApplyModeration(ctx, store.ModerationChange{Audit: store.AuditEntry{
		RoomID: s.roomID, ActorID: req.Actor.User.ID, TargetID: target, Action: action,
		Reason: reason, Detail: string(d), At: time.Now()}})
	if err != nil {
		return &protocol.Error{Code: protocol.CodeUnavailable, Message: "storage is unavailable; nothing was changed, try again", Cause: err}
	}
	metricControl.WithLabelValues(action).Inc()
	return nil
}

// expel takes every participant of a user out and keeps the user out until the session
// ends: a host's media.remove, or the room's remove or ban.
func (s *Session) expel(userID, reason string) {
	s.removed[userID] = true
	s.lowerHand(userID)
	for _, p := range s.participantsOf(userID) {
		s.send(delivery{to: []ClientRef{p.client}, left: s.room,
			frame: mustJSON(wireEnded{Type: "media.ended", Room: s.room, Reason: reason})})
		s.drop(p)
	}
	s.dirty = true
}

func (s *Session) hand(req Request, p *participant, cmd command) {
	if cmd.Raised == nil {
		s.fail(req, protocol.Errorf(protocol.CodeBadRequest, "media.hand needs raised (true or false)"))
		return
	}
	uid := p.actor.User.ID
	if *cmd.Raised {
		raised := false
		for _, h := range s.hands {
			raised = raised || h.user.ID == uid
		}
		if !raised {
			s.hands = append(s.hands, hand{user: p.actor.User, at: time.Now()})
		}
	} else {
		s.hands = s.removeHand(uid)
	}
	s.dirty = true
	s.reply(req, map[string]any{"raised": *cmd.Raised})
}

func (s *Session) removeHand(userID string) []hand {
	out := s.hands[:0]
	for _, h := range s.hands {
		if h.user.ID != userID {
			out = append(out, h)
		}
	}
	return out
}

// lowerHand lowers a user's hand for them (promoted, removed, gone) and tells them.
func (s *Session) lowerHand(userID string) {
	before := len(s.hands)
	s.hands = s.removeHand(userID)
	if len(s.hands) == before {
		return
	}
	for _, p := range s.participantsOf(userID) {
		s.sendEvent(p.client, wireHandEvent{Type: "media.hand", Room: s.room, Raised: false})
	}
	s.dirty = true
}

// state is the session as one participant may see it: hosts also see the raised hands.
func (s *Session) state(hostView bool) wireState {
	st := wireState{Type: "media.state", Room: s.room, Kind: s.kind, StartedAt: protocol.TS(s.startedAt),
		Participants: []wireParticipant{}, Tracks: []wireTrack{}}
	for _, p := range s.order {
		wp := wireParticipant{ID: p.id, User: p.actor.User, Role: s.role(p), Muted: []string{}, Publishing: []string{}}
		for _, kind := range []string{KindAudio, KindVideo, KindScreen} {
			if s.isMuted(p.actor.User.ID, kind) {
				wp.Muted = append(wp.Muted, kind)
			}
			pt := p.pubs[kind]
			if pt == nil || !pt.live {
				continue
			}
			wp.Publishing = append(wp.Publishing, kind)
			st.Tracks = append(st.Tracks, wireTrack{ID: pt.id, Participant: p.id, User: p.actor.User.ID,
				Kind: kind, Muted: pt.muted.Load(), Layers: pt.layerNames()})
		}
		st.Participants = append(st.Participants, wp)
	}
	if hostView {
		st.Hands = []wireHand{}
		for _, h := range s.hands {
			st.Hands = append(st.Hands, wireHand{User: h.user, RaisedAt: protocol.TS(h.at)})
		}
	}
	return st
}

// broadcastState sends the state to every participant, encoded once per view.
func (s *Session) broadcastState() {
	var hosts, others []ClientRef
	for _, p := range s.order {
		if p.actor.Rank >= RankHost {
			hosts = append(hosts, p.client)
		} else {
			others = append(others, p.client)
		}
	}
	if len(hosts) > 0 {
		s.send(delivery{to: hosts, frame: mustJSON(s.state(true))})
	}
	if len(others) > 0 {
		s.send(delivery{to: others, frame: mustJSON(s.state(false))})
	}
}
