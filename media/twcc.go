package media

import (
	"fmt"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// twccFresh is how long a subscriber's transport-wide feedback stays the basis of its
// estimate; a browser sends it every 50–100 ms, so a longer silence means it has stopped.
const twccFresh = 3 * time.Second

// twccEstimator is one subscriber's send-side bandwidth estimate from transport-wide
// congestion control feedback: Pion's GCC (delay- and loss-based), fed by the transport-cc
// feedback the subscriber sends for the packets we stamp with transport-wide sequence
// numbers. It implements cc.BandwidthEstimator for the cc interceptor of the subscriber's
// peer connection.
//
// GCC is made only when a stream of the connection negotiates transport-cc: a subscriber
// without it (REMB-only clients, the load generator) costs nothing per packet and runs no
// GCC goroutines, and its estimate stays REMB and receiver-report loss (bwe.go).
type twccEstimator struct {
	initial int

	mu     sync.Mutex // guards everything below
	bwe    *gcc.SendSideBWE
	fbAt   time.Time // last transport-cc feedback
	closed bool
}

var _ cc.BandwidthEstimator = (*twccEstimator)(nil)

func newTWCCEstimator(initial int) *twccEstimator { return &twccEstimator{initial: initial} }

// AddStream wraps a stream's writer so GCC records each packet's send time, when the stream
// carries transport-wide sequence numbers; other streams are left alone.
func (e *twccEstimator) AddStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if !hasTWCC(info) {
		return w
	}
	e.mu.Lock()
	if e.bwe == nil && !e.closed {
		bwe, err := gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(e.initial),
			gcc.SendSideBWEMinBitrate(minBitrate), gcc.SendSideBWEMaxBitrate(maxBitrate),
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer())) // forwarding is paced by the publisher
		if err == nil {
			e.bwe = bwe
		}
	}
	bwe := e.bwe
	e.mu.Unlock()
	if bwe == nil {
		return w
	}
	return bwe.AddStream(info, w)
}

func hasTWCC(info *interceptor.StreamInfo) bool {
	for _, x := range info.RTPHeaderExtensions {
		if x.URI == sdp.TransportCCURI && x.ID != 0 {
			return true
		}
	}
	return false
}

// WriteRTCP feeds GCC the subscriber's transport-cc feedback. Errors are swallowed: a
// malformed or stale report must not stop the RTCP reader that also carries PLIs and NACKs.
func (e *twccEstimator) WriteRTCP(pkts []rtcp.Packet, attr interceptor.Attributes) error {
	feedback := false
	for _, p := range pkts {
		if _, ok := p.(*rtcp.TransportLayerCC); ok {
			feedback = true
			break
		}
	}
	if !feedback {
		return nil
	}
	e.mu.Lock()
	bwe := e.bwe
	e.mu.Unlock()
	if bwe == nil {
		return nil
	}
	if err := bwe.WriteRTCP(pkts, attr); err != nil {
		return nil //nolint:nilerr // see above
	}
	twccFeedback.Inc()
	e.mu.Lock()
	e.fbAt = time.Now()
	e.mu.Unlock()
	return nil
}

// target is GCC's estimate, and whether it rests on recent feedback.
func (e *twccEstimator) target(now time.Time) (float64, bool) {
	e.mu.Lock()
	bwe, at := e.bwe, e.fbAt
	e.mu.Unlock()
	if bwe == nil || at.IsZero() || now.Sub(at) > twccFresh {
		return 0, false
	}
	return float64(bwe.GetTargetBitrate()), true
}

// congested says whether GCC sees congestion now: delay rising (overuse), its rate in
// decrease, or more than 2 % of packets lost. Without recent feedback it cannot tell.
func (e *twccEstimator) congested(now time.Time) bool {
	if _, ok := e.target(now); !ok {
		return true
	}
	st := e.GetStats()
	loss, _ := st["averageLoss"].(float64)
	return st["usage"] == "overuse" || st["state"] == "decrease" || loss > 0.02
}

func (e *twccEstimator) GetTargetBitrate() int {
	if bps, ok := e.target(time.Now()); ok {
		return int(bps)
	}
	return e.initial
}

// OnTargetBitrateChange is unused: layers are chosen on the session's tick from target.
func (e *twccEstimator) OnTargetBitrateChange(func(int)) {}

func (e *twccEstimator) GetStats() map[string]any {
	e.mu.Lock()
	bwe := e.bwe
	e.mu.Unlock()
	if bwe == nil {
		return map[string]any{}
	}
	return bwe.GetStats()
}

func (e *twccEstimator) Close() error {
	e.mu.Lock()
	bwe := e.bwe
	e.closed = true
	e.mu.Unlock()
	if bwe != nil {
		return bwe.Close()
	}
	return nil
}

// twccFactory hands each new peer connection's cc interceptor its estimator, and the
// engine the same estimator for the participant. Pion builds a connection's interceptors
// inside NewPeerConnection and names the connection itself, so the two are matched by
// making connections one at a time (engine.newPeerConnection).
type twccFactory struct {
	initial int
	mu      sync.Mutex // held across one NewPeerConnection
	built   *twccEstimator
}

func (f *twccFactory) newEstimator() (cc.BandwidthEstimator, error) {
	e := newTWCCEstimator(f.initial)
	f.built = e // under mu, held by newPeerConnection
	return e, nil
}

// configureTWCC adds the send-side congestion control interceptors: the cc interceptor
// (GCC per subscriber, fed by its feedback) and the stamping of transport-wide sequence
// numbers on what we send. Retransmissions are written like any packet (nack.go), so
// they are stamped and counted too.
func configureTWCC(ir *interceptor.Registry, f *twccFactory) error {
	ccf, err := cc.NewInterceptor(f.newEstimator)
	if err != nil {
		return fmt.Errorf("media: congestion control interceptor: %w", err)
	}
	ir.Add(ccf)
	hx, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		return fmt.Errorf("media: TWCC header extension interceptor: %w", err)
	}
	ir.Add(hx)
	return nil
}

// newPeerConnection makes a participant's peer connection with its TWCC estimator and its
// direct RTP writer. Its API is its own, for the DTLS hooks the writer needs; the media
// engine and interceptors are shared (Pion copies the media engine per connection anyway).
func (e *engine) newPeerConnection() (*webrtc.PeerConnection, *twccEstimator, *srtpOut, error) {
	out := newSRTPOut(e.sock)
	se := e.se
	se.SetDTLSKeyLogWriter(out)
	se.SetDTLSServerHelloMessageHook(out.serverHello)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(e.m), webrtc.WithInterceptorRegistry(e.ir), webrtc.WithSettingEngine(se))
	e.twcc.mu.Lock()
	defer e.twcc.mu.Unlock()
	e.twcc.built, e.direct.next = nil, out
	// Header encryption (RFC 9335) would change what the direct writer must encrypt;
	// browsers do not offer it by default.
	pc, err := api.NewPeerConnection(webrtc.Configuration{RTPHeaderEncryptionPolicy: webrtc.RTPHeaderEncryptionPolicyDisable})
	e.direct.next = nil
	if err != nil {
		return nil, nil, nil, fmt.Errorf("media: new peer connection: %w", err)
	}
	est := e.twcc.built
	e.twcc.built = nil
	if est == nil { // cannot happen with our registry; keep the REMB estimate then
		est = newTWCCEstimator(0)
	}
	return pc, est, out, nil
}
