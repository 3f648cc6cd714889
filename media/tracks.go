package media

import (
	"github.com/pion/webrtc/v4"

	"github.com/havenhealth/haven/protocol"
)

// canPublish is the server's rule, enforced on every track whatever the client offers:
// hosts always, everyone in a support session, attendees of a webinar once promoted.
func (s *Session) canPublish(p *participant) bool {
	return p.actor.Rank >= RankHost || s.kind == "support" || s.speakers[p.actor.User.ID]
}

func (s *Session) role(p *participant) string {
	switch {
	case p.actor.Rank >= RankHost:
		return "host"
	case s.kind == "support" || s.speakers[p.actor.User.ID]:
		return "speaker"
	}
	return "attendee"
}

func (s *Session) isMuted(userID, kind string) bool { return s.mutes[userID][kind] }

func (s *Session) publish(req Request, p *participant, cmd command) {
	if !validKind(cmd.Kind) {
		s.fail(req, protocol.Errorf(protocol.CodeBadRequest, "kind must be audio, video or screen"))
		return
	}
	if !s.canPublish(p) {
		s.fail(req, protocol.Errorf(protocol.CodeForbidden, "attendees receive only; a host must promote you to speak"))
		return
	}
	if cmd.Mid != "" {
		p.declared[cmd.Mid] = cmd.Kind
	}
	if pt := p.pubs[cmd.Kind]; pt != nil && !pt.live {
		s.goLive(pt) // the same transceiver again (replaceTrack): no renegotiation needed
	}
	s.reply(req, nil)
}

func (s *Session) unpublish(req Request, p *participant, cmd command) {
	if !validKind(cmd.Kind) {
		s.fail(req, protocol.Errorf(protocol.CodeBadRequest, "kind must be audio, video or screen"))
		return
	}
	if pt := p.pubs[cmd.Kind]; pt != nil {
		s.withdraw(pt)
	}
	s.reply(req, nil)
}

// onTrack receives one incoming stream (one per simulcast layer). Its kind comes from
// media.publish's mid, or from the media type when the client did not say.
func (s *Session) onTrack(p *participant, tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
	if p.gone {
		go discard(tr)
		return
	}
	kind := ""
	for _, t := range p.pc.GetTransceivers() {
		if t.Receiver() == rcv {
			kind = p.declared[t.Mid()]
		}
	}
	isAudio := tr.Kind() == webrtc.RTPCodecTypeAudio
	if kind == "" {
		switch {
		case isAudio:
			kind = KindAudio
		case p.pubs[KindVideo] == nil || p.pubs[KindVideo].receiver == rcv:
			kind = KindVideo
		default:
			kind = KindScreen
		}
	}
	s.log.Debug("track", "participant", p.id, "kind", kind, "rid", tr.RID(), "ssrc", uint32(tr.SSRC()))
	idx, ok := layerIndex(tr.RID())
	if !ok || isAudio != (kind == KindAudio) {
		s.log.Info("ignoring a track", "participant", p.id, "kind", kind, "rid", tr.RID())
		go discard(tr)
		return
	}
	pt := p.pubs[kind]
	if pt != nil && pt.receiver != rcv {
		s.removePub(pt) // published again on a new transceiver
		pt = nil
	}
	if pt == nil {
		pt = newPubTrack(p, kind, tr, rcv)
		pt.muted.Store(s.isMuted(p.actor.User.ID, kind))
		p.pubs[kind] = pt
	}
	pt.addLayer(tr, idx, func(l *layer) {
		s.post(func() { s.layerEnded(pt, l) })
	})
	if !pt.live && s.canPublish(p) {
		s.goLive(pt)
	}
	s.dirty = true
}

// goLive lists pt and sends it to everyone else in the session.
func (s *Session) goLive(pt *pubTrack) {
	if pt.live || pt.owner.gone {
		return
	}
	pt.live = true
	metricTracks.Inc()
	for _, q := range s.order {
		s.subscribe(q, pt)
	}
	s.dirty = true
}

// withdraw stops forwarding pt at once and takes it from every subscriber. The publisher's
// stream is still read (and discarded) so that going live again needs no renegotiation.
func (s *Session) withdraw(pt *pubTrack) {
	if !pt.live {
		return
	}
	pt.live = false
	metricTracks.Dec()
	for _, d := range pt.subscribers() {
		s.unsubscribe(d)
	}
	s.dirty = true
}

func (s *Session) removePub(pt *pubTrack) {
	s.withdraw(pt)
	if pt.owner.pubs[pt.kind] == pt {
		delete(pt.owner.pubs, pt.kind)
	}
	s.dirty = true
}

func (s *Session) layerEnded(pt *pubTrack, l *layer) {
	if pt.removeLayer(l) {
		s.removePub(pt)
	}
	s.dirty = true
}

// setMuted applies a host's mute to a user's current and future tracks of kind. Forwarding
// stops with the next packet; an unmute restarts each subscriber on a keyframe.
func (s *Session) setMuted(userID, kind string, muted bool) {
	if s.mutes[userID] == nil {
		s.mutes[userID] = make(map[string]bool)
	}
	s.mutes[userID][kind] = muted
	for _, p := range s.participantsOf(userID) {
		pt := p.pubs[kind]
		if pt == nil {
			continue
		}
		pt.muted.Store(muted)
		if !muted {
			for _, d := range pt.subscribers() {
				d.restart()
			}
		}
	}
	s.dirty = true
}

func (s *Session) layer(req Request, p *participant, cmd command) {
	d := p.downs[cmd.Track]
	if d == nil {
		s.fail(req, protocol.Errorf(protocol.CodeNotFound, "you receive no track %q", cmd.Track))
		return
	}
	manual := -1
	if cmd.Layer != "auto" {
		idx, ok := layerIndex(cmd.Layer)
		if !ok || cmd.Layer == "" {
			s.fail(req, protocol.Errorf(protocol.CodeBadRequest, "layer must be q, h, f or auto"))
			return
		}
		manual = idx
	}
	d.mu.Lock()
	d.manual = manual
	d.mu.Unlock()
	if manual >= 0 && d.pub.layer(manual) != nil {
		d.mu.Lock()
		d.target, d.upVotes = manual, 0
		d.mu.Unlock()
		d.pub.requestKeyframe(manual)
	}
	s.reply(req, nil)
}
