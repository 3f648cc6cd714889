package media

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// nackHistory is how many recent packets of each published video layer subscribers can
// have retransmitted (a power of two): two seconds of video at 1.2 Mbit/s, many round
// trips.
const nackHistory = 256

// socketBuffer is the receive and send buffer asked for on the ICE UDP socket.
const socketBuffer = 4 << 20

// videoOrientationURI lets a phone publish portrait video without re-encoding.
const videoOrientationURI = "urn:3gpp:video-orientation"

// engine is the node's WebRTC stack: one UDP port (and optionally one TCP port) shared by
// every peer connection, the codecs and header extensions we negotiate, and the RTCP
// interceptors.
type engine struct {
	se      webrtc.SettingEngine // each connection gets a copy with its own DTLS hooks (srtpout.go)
	m       *webrtc.MediaEngine
	ir      *interceptor.Registry
	udpMux  ice.UDPMux
	tcp     net.Listener // nil without ICE-TCP
	tcpMux  ice.TCPMux
	udpAddr *net.UDPAddr // where the UDP port is bound (the embedded TURN relays only here)
	twcc    *twccFactory // each subscriber's transport-wide congestion control estimate
	direct  *directFactory
	sock    *udpSocket // the ICE UDP socket, which the direct RTP path writes to as well (sendbatch.go)
}

func newEngine(cfg Config) (*engine, error) {
	listenIP := net.ParseIP(cfg.ListenIP)
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: listenIP, Port: cfg.UDPPort})
	if err != nil {
		return nil, fmt.Errorf("media: listen on ICE UDP port %d: %w", cfg.UDPPort, err)
	}
	// Every publisher's packets and every subscriber's RTCP arrive on this one socket; the
	// default buffer (208 KiB) holds well under a second of them at a few hundred
	// subscribers, and a packet of a publisher's lost here is lost to every subscriber.
	// The kernel caps the size at net.core.rmem_max; a smaller buffer is no error.
	_ = udp.SetReadBuffer(socketBuffer)
	_ = udp.SetWriteBuffer(socketBuffer)
	e := &engine{udpAddr: udp.LocalAddr().(*net.UDPAddr), twcc: &twccFactory{initial: cfg.InitialBitrate},
		direct: &directFactory{}}
	if e.sock, err = newUDPSocket(udp); err != nil {
		_ = udp.Close()
		return nil, fmt.Errorf("media: ICE UDP socket: %w", err)
	}
	logs := pionLogs{log: cfg.Logger}

	var se webrtc.SettingEngine
	se.LoggerFactory = logs
	e.udpMux = webrtc.NewICEUDPMux(logs.NewLogger("udpmux"), udp)
	se.SetICEUDPMux(e.udpMux)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if cfg.TCPPort > 0 {
		e.tcp, err = net.ListenTCP("tcp", &net.TCPAddr{IP: listenIP, Port: cfg.TCPPort})
		if err != nil {
			_ = udp.Close()
			return nil, fmt.Errorf("media: listen on ICE TCP port %d: %w", cfg.TCPPort, err)
		}
		e.tcpMux = webrtc.NewICETCPMux(logs.NewLogger("tcpmux"), e.tcp, 8)
		se.SetICETCPMux(e.tcpMux)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(networks)
	if listenIP != nil && !listenIP.IsUnspecified() {
		// Candidates on other interfaces would name ports nothing listens on.
		se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(listenIP) })
	}
	if len(cfg.PublicIPs) > 0 {
		se.SetNAT1To1IPs(cfg.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	// The server has no use for mDNS: clients reach its announced address, and it learns
	// theirs from the checks (peer-reflexive), so .local candidates need no resolving.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// Every packet is encrypted once per subscriber. AES-128-GCM (what browsers offer
	// first) runs on AES-NI and CLMUL, with 10 AES rounds to AES-256's 14; Pion would
	// pick AES-256-GCM first. The HMAC-SHA1 profile stays for clients without GCM.
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AEAD_AES_256_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	// Answering a client's offer (a publisher's first), take the DTLS server role
	// (a=setup:passive, which RFC 5763 allows the answerer), as we do when the client answers
	// ours: only as DTLS server can we derive the keys that the direct SRTP path needs
	// (srtpout.go).
	if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
		e.close()
		return nil, fmt.Errorf("media: DTLS role: %w", err)
	}

	e.m, e.ir, e.se = &webrtc.MediaEngine{}, &interceptor.Registry{}, se
	e.ir.Add(e.direct) // first, so innermost: below every other interceptor
	if err := configureMedia(e.m, e.ir, e.twcc); err != nil {
		e.close()
		return nil, err
	}
	e.ir.Add(&chainFactory{direct: e.direct}) // last, so outermost: the whole chain's writer
	return e, nil
}

// configureMedia registers VP8 and Opus, the header extensions each direction needs, and
// the interceptors: NACK generation (to publishers; subscribers' NACKs are answered in
// nack.go), receiver reports (sender reports are report.go's), transport-wide congestion
// feedback for publishers, and transport-wide sequence numbers and a GCC estimate for
// subscribers that negotiate it.
//
// Only what is forwarded or used is negotiated: mid and rid (which stream is which),
// transport-cc (publishers' congestion control) on the way in; audio level and video
// orientation both ways (forwarded, ids remapped per subscriber); abs-send-time on the way
// out, written at send time, so browsers can estimate bandwidth and send REMB.
func configureMedia(m *webrtc.MediaEngine, ir *interceptor.Registry, twf *twccFactory) error {
	videoFB := []webrtc.RTCPFeedback{
		{Type: webrtc.TypeRTCPFBGoogREMB}, {Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
		{Type: webrtc.TypeRTCPFBNACK}, {Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
		{Type: webrtc.TypeRTCPFBTransportCC},
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFB},
		PayloadType:        96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return fmt.Errorf("media: register VP8: %w", err)
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1", RTCPFeedback: []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}}},
		PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("media: register Opus: %w", err)
	}
	in := webrtc.RTPTransceiverDirectionRecvonly
	out := webrtc.RTPTransceiverDirectionSendonly
	exts := []struct {
		uri  string
		typ  webrtc.RTPCodecType
		dirs []webrtc.RTPTransceiverDirection
	}{
		// Both ways, although they matter only on the way in: a Pion-based client offers in
		// later m-lines only the extensions of its first exchange, so when that exchange is
		// the server's offer (an attendee offered tracks before publishing), extensions
		// missing from it could never be used later and its simulcast would not work.
		// (Chrome offers all of its extensions on new m-lines, so it was never affected.)
		{sdp.SDESMidURI, webrtc.RTPCodecTypeAudio, []webrtc.RTPTransceiverDirection{in, out}},
		{sdp.SDESMidURI, webrtc.RTPCodecTypeVideo, []webrtc.RTPTransceiverDirection{in, out}},
		{sdp.SDESRTPStreamIDURI, webrtc.RTPCodecTypeVideo, []webrtc.RTPTransceiverDirection{in, out}},
		{sdp.SDESRepairRTPStreamIDURI, webrtc.RTPCodecTypeVideo, []webrtc.RTPTransceiverDirection{in, out}},
		// transport-cc: publishers' congestion control on the way in, subscribers' feedback
		// (the server's bandwidth estimate of them) on the way out.
		{sdp.TransportCCURI, webrtc.RTPCodecTypeAudio, []webrtc.RTPTransceiverDirection{in, out}},
		{sdp.TransportCCURI, webrtc.RTPCodecTypeVideo, []webrtc.RTPTransceiverDirection{in, out}},
		{sdp.AudioLevelURI, webrtc.RTPCodecTypeAudio, []webrtc.RTPTransceiverDirection{in, out}},
		{videoOrientationURI, webrtc.RTPCodecTypeVideo, []webrtc.RTPTransceiverDirection{in, out}},
		{sdp.ABSSendTimeURI, webrtc.RTPCodecTypeVideo, []webrtc.RTPTransceiverDirection{out}},
	}
	for _, x := range exts {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: x.uri}, x.typ, x.dirs...); err != nil {
			return fmt.Errorf("media: register header extension %s: %w", x.uri, err)
		}
	}
	if err := configureTWCC(ir, twf); err != nil {
		return err
	}
	// Subscribers' NACKs are answered from each published layer's own history (nack.go),
	// not by Pion's responder, which keeps a history per subscriber.
	generator, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return fmt.Errorf("media: NACK generator: %w", err)
	}
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBNACK}, webrtc.RTPCodecTypeVideo)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	receiver, err := report.NewReceiverInterceptor()
	if err != nil {
		return fmt.Errorf("media: receiver reports: %w", err)
	}
	feedback, err := twcc.NewSenderInterceptor()
	if err != nil {
		return fmt.Errorf("media: TWCC feedback: %w", err)
	}
	// In Pion's order (ConfigureNack, ConfigureRTCPReports, then TWCC feedback). They only
	// serve received streams, so each waits for one (lazyrecv.go). Sender reports are ours
	// (report.go).
	for _, x := range []struct {
		name string
		f    interceptor.Factory
	}{
		{"NACK generator", generator}, {"receiver report", receiver}, {"TWCC feedback", feedback},
	} {
		f, err := newLazyRecvFactory(x.name, x.f)
		if err != nil {
			return err
		}
		ir.Add(f)
	}
	return nil
}

func (e *engine) close() {
	if e.udpMux != nil {
		_ = e.udpMux.Close()
	}
	_ = e.sock.udp.Close()
	if e.tcpMux != nil {
		_ = e.tcpMux.Close()
	}
	if e.tcp != nil {
		_ = e.tcp.Close()
	}
}

// pionLogs sends Pion's logs to slog. Pion's warnings are mostly about what remote peers do
// (a bad packet, a lost candidate), so they are logged a level lower than Pion names them.
type pionLogs struct{ log *slog.Logger }

func (p pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: p.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) logf(level slog.Level, format string, args ...any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l pionLogger) Trace(msg string)                  { l.logf(slog.LevelDebug-4, "%s", msg) }
func (l pionLogger) Tracef(format string, args ...any) { l.logf(slog.LevelDebug-4, format, args...) }
func (l pionLogger) Debug(msg string)                  { l.logf(slog.LevelDebug-4, "%s", msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.logf(slog.LevelDebug-4, format, args...) }
func (l pionLogger) Info(msg string)                   { l.logf(slog.LevelDebug, "%s", msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.logf(slog.LevelDebug, format, args...) }
func (l pionLogger) Warn(msg string)                   { l.logf(slog.LevelInfo, "%s", msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.logf(slog.LevelInfo, format, args...) }
func (l pionLogger) Error(msg string)                  { l.logf(slog.LevelWarn, "%s", msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.logf(slog.LevelWarn, format, args...) }
