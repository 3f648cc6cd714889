package media

import (
	"fmt"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/protocol"
)

// gatherWait bounds the wait for our ICE candidates before a description is sent. With the
// UDP mux they are known at once; descriptions carry them all, so the server never trickles.
const gatherWait = 2 * time.Second

// participant is one client connection in a session, with one peer connection that both
// publishes and subscribes. Its fields are owned by the session loop.
type participant struct {
	id     string
	s      *Session
	client ClientRef
	actor  Actor
	pc     *webrtc.PeerConnection
	out    *srtpOut // its RTP's direct path (srtpout.go)
	bwe    *estimator

	pubs     map[string]*pubTrack  // kind → published track (live or withdrawn)
	declared map[string]string     // transceiver mid → kind, from media.publish
	downs    map[string]*downTrack // published track id → this participant's subscription

	negotiating bool      // our offer awaits the client's answer
	offeredAt   time.Time // when it was sent
	needOffer   bool      // tracks changed: offer once the signalling state is stable
	cands       []webrtc.ICECandidateInit
	mids        int // our m-lines named so far
	gone        bool

	// connected is set once DTLS is up. Until then Pion drops what is written to the
	// participant's tracks, so its subscriptions must not spend their first keyframe.
	connected atomic.Bool
	// udp is set while the selected ICE candidate pair is UDP: the fan-out then writes to
	// the participant's tracks itself rather than through their queues (fanout.go).
	udp atomic.Bool
	// reporting is set while its sender reports are being written (report.go).
	reporting atomic.Bool
}

func (s *Session) newParticipant(req Request) (*participant, error) {
	eng, err := s.n.engine()
	if err != nil {
		return nil, err
	}
	pc, tw, out, err := eng.newPeerConnection()
	if err != nil {
		return nil, err
	}
	p := &participant{id: ids.New("p_"), s: s, client: req.Client, actor: req.Actor, pc: pc, out: out,
		bwe:  newEstimator(float64(s.n.cfg.InitialBitrate), tw),
		pubs: make(map[string]*pubTrack), declared: make(map[string]string), downs: make(map[string]*downTrack)}
	pc.OnTrack(func(tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
		if !s.post(func() { s.onTrack(p, tr, rcv) }) {
			go discard(tr)
		}
	})
	pc.SCTP().Transport().ICETransport().OnSelectedCandidatePairChange(func(pair *webrtc.ICECandidatePair) {
		udp := pair.Local != nil && pair.Local.Protocol == webrtc.ICEProtocolUDP
		p.udp.Store(udp)
		var remote netip.AddrPort
		if udp && pair.Remote != nil {
			if ip, err := netip.ParseAddr(pair.Remote.Address); err == nil {
				remote = netip.AddrPortFrom(ip.Unmap(), pair.Remote.Port)
			}
		}
		out.route(remote, udp)
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateConnected && !p.connected.Swap(true) {
			path := "pion"
			if out.direct() {
				path = "direct"
			}
			metricConnections.WithLabelValues(path).Inc()
			s.post(func() {
				for _, d := range p.downs {
					if d.needKeyframe() {
						d.pub.requestKeyframe(d.wanted())
					}
				}
			})
		}
		// A failed connection, or one the client closed (Pion closes ours when DTLS says
		// goodbye), ends the participant; our own closes come after drop and are ignored.
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			reason := "connection_failed"
			if st == webrtc.PeerConnectionStateClosed {
				reason = "connection_closed"
			}
			s.post(func() {
				if !p.gone {
					s.log.Info("participant's connection ended", "participant", p.id, "state", st.String())
					s.send(delivery{to: []ClientRef{p.client}, left: s.room,
						frame: mustJSON(wireEnded{Type: "media.ended", Room: s.room, Reason: reason})})
					s.drop(p)
				}
			})
		}
	})
	return p, nil
}

// discard reads a track nobody forwards, so Pion's buffers do not back up.
func discard(tr *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := tr.Read(buf); err != nil {
			return
		}
	}
}

// offer applies the client's offer and answers it in the reply. The server is the
// impolite side of perfect negotiation: while its own offer is pending it refuses the
// client's with conflict; the client drops (or rolls back) its offer, answers ours, and
// offers again. A client that applies its offer only once it is accepted never needs a
// rollback, which Pion-based clients cannot do.
func (s *Session) offer(req Request, p *participant, cmd command) {
	if cmd.SDP == "" {
		s.fail(req, protocol.Errorf(protocol.CodeBadRequest, "media.offer needs sdp"))
		return
	}
	if p.negotiating || p.pc.SignalingState() != webrtc.SignalingStateStable {
		s.fail(req, protocol.Errorf(protocol.CodeConflict, "the server's offer is pending: answer it, then offer again"))
		return
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: cmd.SDP}); err != nil {
		s.fail(req, protocol.Errorf(protocol.CodeBadRequest, "the offer was refused: %v", err))
		return
	}
	p.flushCandidates()
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		s.fail(req, protocol.Errorf(protocol.CodeBadRequest, "cannot answer the offer: %v", err))
		return
	}
	if err := p.setLocal(answer); err != nil {
		s.fail(req, &protocol.Error{Code: protocol.CodeInternal, Message: "internal error", Cause: err})
		return
	}
	s.log.Debug("client offer answered", "participant", p.id)
	s.reply(req, map[string]any{"sdp": p.pc.LocalDescription().SDP})
}

// answer applies the client's answer to our offer.
func (s *Session) answer(req Request, p *participant, cmd command) {
	if !p.negotiating {
		s.fail(req, protocol.Errorf(protocol.CodeBadRequest, "no offer from the server is waiting for an answer"))
		return
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: cmd.SDP}); err != nil {
		s.fail(req, protocol.Errorf(protocol.CodeBadRequest, "the answer was refused: %v", err))
		return
	}
	p.negotiating = false
	p.flushCandidates()
	s.log.Debug("answer applied", "participant", p.id)
	s.reply(req, nil)
}

func (s *Session) candidate(req Request, p *participant, cmd command) {
	if cmd.Candidate == nil {
		s.fail(req, protocol.Errorf(protocol.CodeBadRequest, "media.candidate needs candidate"))
		return
	}
	if p.pc.RemoteDescription() == nil {
		if len(p.cands) >= 100 {
			s.fail(req, protocol.Errorf(protocol.CodeBadRequest, "too many candidates before an offer or answer"))
			return
		}
		p.cands = append(p.cands, *cmd.Candidate) // added once a description arrives
		s.reply(req, nil)
		return
	}
	if err := p.pc.AddICECandidate(*cmd.Candidate); err != nil {
		s.fail(req, protocol.Errorf(protocol.CodeBadRequest, "the candidate was refused: %v", err))
		return
	}
	s.reply(req, nil)
}

func (p *participant) flushCandidates() {
	for _, c := range p.cands {
		if err := p.pc.AddICECandidate(c); err != nil {
			p.s.log.Debug("buffered candidate refused", "participant", p.id, "err", err)
		}
	}
	p.cands = nil
}

func (p *participant) setLocal(desc webrtc.SessionDescription) error {
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(desc); err != nil {
		return fmt.Errorf("media: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-time.After(gatherWait):
		p.s.log.Warn("ICE gathering still running; sending the candidates found so far", "participant", p.id)
	}
	return nil
}

// maybeOffer sends our offer when the participant's tracks changed and the signalling
// state allows it; otherwise the change waits for the current exchange to finish.
func (s *Session) maybeOffer(p *participant) {
	if p.gone || !p.needOffer || p.negotiating || p.pc.SignalingState() != webrtc.SignalingStateStable {
		return
	}
	p.needOffer = false
	offer, err := p.pc.CreateOffer(nil)
	if err == nil {
		err = p.setLocal(offer)
	}
	if err != nil {
		s.log.Warn("cannot offer to participant", "participant", p.id, "err", err)
		return
	}
	p.negotiating, p.offeredAt = true, time.Now()
	s.log.Debug("offer sent", "participant", p.id, "tracks", len(p.downs))
	s.sendEvent(p.client, wireOffer{Type: "media.offer", Room: s.room, SDP: p.pc.LocalDescription().SDP})
}

// unanswered ends a participant that left our offer unanswered: Pion cannot roll back a
// local offer, and a client that does not answer is not following the protocol.
func (s *Session) unanswered(p *participant) {
	s.log.Info("no answer to our offer; ending the participant", "participant", p.id)
	s.send(delivery{to: []ClientRef{p.client}, left: s.room,
		frame: mustJSON(wireEnded{Type: "media.ended", Room: s.room, Reason: "no_answer"})})
	s.drop(p)
}

// subscribe sends pt to q: a new send-only transceiver (never reusing one the client
// publishes on), and an offer once the loop settles.
func (s *Session) subscribe(q *participant, pt *pubTrack) {
	if q.gone || q == pt.owner || q.downs[pt.id] != nil {
		return
	}
	layer := 0
	if pt.simulcast {
		idx, rates := pt.available()
		budget := q.bwe.estimate(time.Now())
		for i, r := range rates {
			if float64(r) <= budget || i == 0 {
				layer = idx[i]
			}
		}
	}
	d := newDownTrack(pt, q, s.n.cfg.SubscriberQueue, layer)
	tr, err := q.pc.AddTransceiverFromTrack(d, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		s.log.Warn("cannot send track to participant", "participant", q.id, "track", pt.id, "err", err)
		d.close()
		return
	}
	// Our m-lines get mids of our own ("s0", "s1", ...): a client's offer made at the same
	// time numbers its new m-lines 0, 1, ... (Pion fixes them at CreateOffer, before the
	// offer is even accepted), and equal mids would tie its tracks to ours.
	if err := tr.SetMid("s" + strconv.Itoa(q.mids)); err != nil {
		s.log.Warn("name our m-line", "participant", q.id, "err", err)
	}
	q.mids++
	d.sender = tr.Sender()
	go d.readRTCP()
	q.downs[pt.id] = d
	pt.addDown(d)
	q.needOffer = true
}

func (s *Session) unsubscribe(d *downTrack) {
	q := d.sub
	d.pub.removeDown(d)
	d.close()
	if q.downs[d.pub.id] == d {
		delete(q.downs, d.pub.id)
	}
	if !q.gone {
		if err := q.pc.RemoveTrack(d.sender); err != nil {
			s.log.Debug("remove track from participant", "participant", q.id, "err", err)
		}
		q.needOffer = true
	}
}

// drop takes a participant out: its subscriptions and publications end, its peer
// connection closes.
func (s *Session) drop(p *participant) {
	if p.gone {
		return
	}
	p.gone = true
	for _, d := range p.downs {
		d.pub.removeDown(d)
		d.close()
	}
	p.downs = nil
	for _, pt := range p.pubs {
		s.withdraw(pt)
	}
	delete(s.parts, p.id)
	delete(s.byClient, p.client)
	for i, x := range s.order {
		if x == p {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	if len(s.participantsOf(p.actor.User.ID)) == 0 {
		s.lowerHand(p.actor.User.ID)
	}
	metricParticipants.Dec()
	s.dirty = true
	go func() {
		if err := p.pc.Close(); err != nil {
			s.log.Debug("close peer connection", "participant", p.id, "err", err)
		}
	}()
}

func (s *Session) participantsOf(userID string) []*participant {
	var out []*participant
	for _, p := range s.order {
		if p.actor.User.ID == userID {
			out = append(out, p)
		}
	}
	return out
}
