package e2e

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/havenhealth/haven/internal/wsclient"
)

// rtcPeer is a member's browser stand-in: its WebSocket and one Pion peer connection on
// 127.0.0.1 (no mDNS), answering the server's offers as they come.
type rtcPeer struct {
	t           *testing.T
	conn        *wsclient.Conn
	room        string
	pc          *webrtc.PeerConnection
	participant string
	events      chan wsclient.Msg
	sig         sync.Mutex // one offer/answer exchange at a time

	mu     sync.Mutex // guards tracks
	tracks map[string][]rtpIn
}

type rtpIn struct {
	payload []byte
	at      time.Time
}

func newRTCPeer(t *testing.T, conn *wsclient.Conn, room string) *rtcPeer {
	p := &rtcPeer{t: t, conn: conn, room: room, events: make(chan wsclient.Msg, 1024), tracks: map[string][]rtpIn{}}
	m := &webrtc.MediaEngine{}
	_ = m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}, webrtc.RTPCodecTypeVideo)
	_ = m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}, webrtc.RTPCodecTypeAudio)
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	p.pc = pc
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			go p.do("media.candidate", map[string]any{"candidate": c.ToJSON()})
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		go func() {
			for {
				pkt, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				p.mu.Lock()
				p.tracks[tr.ID()] = append(p.tracks[tr.ID()], rtpIn{append([]byte(nil), pkt.Payload...), time.Now()})
				p.mu.Unlock()
			}
		}()
	})
	go p.dispatch()
	return p
}

// dispatch answers server offers and queues every other event.
func (p *rtcPeer) dispatch() {
	for {
		select {
		case m := <-p.conn.Events:
			if m.Type() == "media.offer" {
				go p.answer(m.Str("sdp"))
				continue
			}
			p.events <- m
		case <-p.conn.Done():
			return
		}
	}
}

func (p *rtcPeer) answer(sdp string) {
	p.sig.Lock()
	defer p.sig.Unlock()
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return // closing
	}
	ans, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return
	}
	g := webrtc.GatheringCompletePromise(p.pc)
	if p.pc.SetLocalDescription(ans) != nil {
		return
	}
	<-g
	p.do("media.answer", map[string]any{"sdp": p.pc.LocalDescription().SDP})
}

func (p *rtcPeer) do(typ string, f map[string]any) wsclient.Msg {
	if f == nil {
		f = map[string]any{}
	}
	f["room"] = p.room
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	r, err := p.conn.Do(ctx, typ, f)
	if err != nil {
		return wsclient.Msg{"type": "error", "code": "transport", "message": err.Error()}
	}
	return r
}

func (p *rtcPeer) must(typ string, f map[string]any) wsclient.Msg {
	p.t.Helper()
	r := p.do(typ, f)
	if r.Type() != "ok" {
		p.t.Fatalf("%s: %v", typ, r)
	}
	return r
}

func (p *rtcPeer) join() {
	p.t.Helper()
	p.participant = p.must("media.join", nil).Str("participant")
}

func (p *rtcPeer) next(typ string, d time.Duration, ok func(wsclient.Msg) bool) wsclient.Msg {
	p.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-p.events:
			if m.Type() == typ && ok(m) {
				return m
			}
		case <-deadline:
			p.t.Fatalf("no %s event within %v", typ, d)
		}
	}
}

// publish sends synthetic VP8 (a keyframe every 10 frames) and Opus-sized packets, each
// payload numbered; the offer is applied only once the server accepts it.
func (p *rtcPeer) publish() *sent {
	p.t.Helper()
	v, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "s")
	a, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "s")
	vt, _ := p.pc.AddTransceiverFromTrack(v, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	at, _ := p.pc.AddTransceiverFromTrack(a, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	for try := 0; ; try++ {
		p.sig.Lock()
		offer, err := p.pc.CreateOffer(nil)
		if err != nil {
			p.t.Fatal(err)
		}
		p.must("media.publish", map[string]any{"kind": "video", "mid": vt.Mid()})
		p.must("media.publish", map[string]any{"kind": "audio", "mid": at.Mid()})
		r := p.do("media.offer", map[string]any{"sdp": offer.SDP})
		if r.Code() == "conflict" && try < 20 {
			p.sig.Unlock()
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if r.Type() != "ok" || p.pc.SetLocalDescription(offer) != nil ||
			p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r.Str("sdp")}) != nil {
			p.sig.Unlock()
			p.t.Fatalf("publish offer: %v", r)
		}
		p.sig.Unlock()
		break
	}
	s := &sent{set: map[string]bool{}}
	stop := make(chan struct{})
	done := make(chan struct{})
	p.t.Cleanup(func() { close(stop); <-done })
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := uint32(0); ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			vp := []byte{0x10, 0x11, 0x02, 0x00} // VP8 descriptor, delta frame
			if n%10 == 0 {
				vp = []byte{0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00}
			}
			vp = binary.BigEndian.AppendUint32(vp, n)
			ap := binary.BigEndian.AppendUint32([]byte{0xfc}, n)
			s.add(vp, ap)
			_ = v.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: uint16(n), Timestamp: n * 1800}, Payload: vp})
			_ = a.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(n), Timestamp: n * 960}, Payload: ap})
		}
	}()
	return s
}

type sent struct {
	mu  sync.Mutex
	set map[string]bool
}

func (s *sent) add(ps ...[]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range ps {
		s.set[string(p)] = true
	}
}

func (s *sent) sentAll(got []rtpIn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range got {
		if !s.set[string(p.payload)] {
			return false
		}
	}
	return true
}

func isVP8Key(p rtpIn) bool {
	return len(p.payload) > 4 && p.payload[0]&0x10 != 0 && p.payload[1]&0x01 == 0
}

func (p *rtcPeer) received(track string) []rtpIn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]rtpIn(nil), p.tracks[track]...)
}

func (p *rtcPeer) waitPackets(track string, n int, d time.Duration) []rtpIn {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if got := p.received(track); len(got) >= n {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("track %s: %d packets, want %d within %v", track, len(p.received(track)), n, d)
	return nil
}
