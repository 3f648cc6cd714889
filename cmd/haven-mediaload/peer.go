package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// Track indexes in the tool's bookkeeping.
const (
	trackVideo = 0
	trackAudio = 1
)

// peers builds the tool's peer connections: a browser stand-in that speaks VP8 and Opus,
// generates NACKs and receiver reports, and uses loopback candidates only. One API and one
// DTLS certificate serve them all (the certificate is the costly part to make).
type peers struct {
	api  *webrtc.API
	cert webrtc.Certificate
}

func newPeers(verbose bool) (*peers, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(m, ir); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	if verbose {
		lf.DefaultLogLevel = logging.LogLevelWarn
	}
	se.LoggerFactory = lf
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		return nil, err
	}
	return &peers{api: webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)),
		cert: *cert}, nil
}

func (p *peers) newPC() (*webrtc.PeerConnection, error) {
	return p.api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{p.cert}})
}

// member is one participant: its WebSocket, its peer connection, and the answers it gives
// to the server's offers.
type member struct {
	room   string
	conn   *sigConn
	pc     *webrtc.PeerConnection
	sig    sync.Mutex // one offer/answer exchange at a time
	broken atomic.Pointer[string]
	closed atomic.Bool
}

func (m *member) fail(why string) {
	if !m.closed.Load() {
		m.broken.CompareAndSwap(nil, &why)
	}
}

// brokenWhy is why the member stopped working, "" while it works.
func (m *member) brokenWhy() string {
	if p := m.broken.Load(); p != nil {
		return *p
	}
	if m.conn != nil && m.conn.closed() && !m.closed.Load() {
		return "websocket closed"
	}
	return ""
}

// onEvent answers server offers and notes the end of the member's media.
func (m *member) onEvent(e msg) {
	switch e.typ() {
	case "media.offer":
		go m.answer(e.str("sdp"))
	case "media.ended":
		m.fail("media.ended: " + e.str("reason"))
	case "removed", "reconnect":
		m.fail(e.typ())
	}
}

func (m *member) answer(sdp string) {
	m.sig.Lock()
	defer m.sig.Unlock()
	if err := m.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		m.fail("apply server offer: " + err.Error())
		return
	}
	ans, err := m.pc.CreateAnswer(nil)
	if err != nil {
		m.fail("create answer: " + err.Error())
		return
	}
	gathered := webrtc.GatheringCompletePromise(m.pc)
	if err := m.pc.SetLocalDescription(ans); err != nil {
		m.fail("set answer: " + err.Error())
		return
	}
	<-gathered
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := m.conn.must(ctx, "media.answer", map[string]any{"room": m.room, "sdp": m.pc.LocalDescription().SDP}); err != nil {
		m.fail(err.Error())
	}
}

func (m *member) watchState() {
	m.pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateDisconnected:
			m.fail("peer connection " + st.String())
		}
	})
}

func (m *member) close() {
	m.closed.Store(true)
	if m.pc != nil {
		_ = m.pc.Close()
	}
	if m.conn != nil {
		m.conn.close()
	}
}
