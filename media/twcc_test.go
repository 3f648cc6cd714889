package media

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/havenhealth/haven/broker"
)

// lossy drops every other incoming RTP packet while on, below the client's transport-cc
// feedback generator, so its feedback reports them lost as a lossy downlink would.
type lossy struct {
	on atomic.Bool
	n  atomic.Uint64
}

func (l *lossy) NewInterceptor(string) (interceptor.Interceptor, error) { return &lossyI{l: l}, nil }

type lossyI struct {
	interceptor.NoOp
	l *lossy
}

func (i *lossyI) BindRemoteStream(_ *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := r.Read(b, a)
			if err != nil || !i.l.on.Load() || i.l.n.Add(1)%2 == 0 {
				return n, attr, err
			}
		}
	})
}

// estimateOf reads the server's estimate of user's downlink and its source.
func estimateOf(t *testing.T, tn *tnode, room, user string) (float64, string) {
	t.Helper()
	return participantOf(t, tn, room, user).bwe.estimateFrom(time.Now())
}

// TestTWCCEstimateChoosesLayer: a subscriber that sends transport-wide congestion control
// feedback is estimated from it (GCC); when its feedback reports heavy loss the estimate
// falls and its simulcast layer drops to the lowest, on a keyframe, with no REMB at all.
func TestTWCCEstimateChoosesLayer(t *testing.T) {
	tn := newTestNode(t, "n1", broker.NewMemory(), nil, nil)
	host := tn.client("host", "talk", "webinar", RankHost)
	host.must("media.start", nil)
	host.join()
	src := newSource(t, host, []string{"q", "h", "f"}, false)
	if r := host.offer(src.kinds()); r.str("type") != "ok" {
		t.Fatalf("simulcast offer: %v", r)
	}
	src.start()
	loss := &lossy{}
	sub := tn.client("sub", "talk", "webinar", RankMember)
	sub.inner = []interceptor.Factory{loss}
	if r := sub.join(); r.str("type") != "ok" {
		t.Fatalf("join: %v", r)
	}
	track := host.participantID() + ":video"
	sub.waitLayer(track, 2, 15*time.Second)

	deadline := time.Now().Add(10 * time.Second)
	for {
		_, from := estimateOf(t, tn, "talk", "u-sub")
		if from == fromTWCC {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the subscriber's estimate still comes from %s, want twcc", from)
		}
		time.Sleep(100 * time.Millisecond)
	}
	before := twccFeedbackCount()

	loss.on.Store(true)
	sub.waitLayer(track, 0, 20*time.Second)
	est, from := estimateOf(t, tn, "talk", "u-sub")
	if from != fromTWCC || est >= float64(tn.n.cfg.InitialBitrate) {
		t.Fatalf("estimate %.0f from %s after heavy loss, want below %d from twcc", est, from, tn.n.cfg.InitialBitrate)
	}
	if twccFeedbackCount() <= before {
		t.Fatal("no transport-cc feedback was counted")
	}

	// The loss ends: GCC estimates little above the low layer it now sees arrive, so the
	// higher layers come back by probing, one step at a time, while it sees no congestion.
	loss.on.Store(false)
	sub.waitLayer(track, 2, 90*time.Second)
}

// TestEstimatorSources: TWCC wins when fresh, bounded by a REMB; without it REMB bounded by
// loss; feedback that stops falls back.
func TestEstimatorSources(t *testing.T) {
	now := time.Now()
	e := newEstimator(1_000_000, nil)
	if est, from := e.estimateFrom(now); from != fromLoss || est != 1_000_000 {
		t.Fatalf("initial %v from %s", est, from)
	}
	e.onREMB(300_000, now)
	if est, from := e.estimateFrom(now); from != fromREMB || est != 300_000 {
		t.Fatalf("with REMB %v from %s", est, from)
	}
	tw := newTWCCEstimator(1_000_000)
	e = newEstimator(1_000_000, tw)
	if _, from := e.estimateFrom(now); from != fromLoss {
		t.Fatalf("without feedback the source is %s", from)
	}
}

// twccFeedbackCount reads the feedback counter.
func twccFeedbackCount() float64 { return counterValue(twccFeedback) }

func counterValue(c prometheus.Counter) float64 {
	m := &dto.Metric{}
	if err := c.Write(m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

// TestTWCCProbesUp: GCC estimates little above what it sees arrive, so a subscriber whose
// estimate starts low (150 kbit/s: the middle layer) reaches the full layer only by
// probing, one step up while GCC sees no congestion.
func TestTWCCProbesUp(t *testing.T) {
	tn := newTestNode(t, "n1", broker.NewMemory(), nil, func(c *Config) { c.InitialBitrate = 150_000 })
	host := tn.client("host", "talk", "webinar", RankHost)
	host.must("media.start", nil)
	host.join()
	src := newSource(t, host, []string{"q", "h", "f"}, false)
	if r := host.offer(src.kinds()); r.str("type") != "ok" {
		t.Fatalf("simulcast offer: %v", r)
	}
	src.start()
	// An attendee who joins while only some layers have arrived starts on one of those,
	// possibly the top, and would never need to probe.
	waitLayersArrived(t, tn, "talk", "u-host", 3)
	probes := counterValue(metricLayerProbes)
	sub := attendee(t, tn, "sub")
	track := host.participantID() + ":video"
	sub.waitLayer(track, 2, 60*time.Second)
	if _, from := estimateOf(t, tn, "talk", "u-sub"); from != fromTWCC {
		t.Fatalf("estimate from %s, want twcc", from)
	}
	// GCC alone gets there too, in time; the probe must have been tried on the way.
	if counterValue(metricLayerProbes) <= probes {
		t.Fatal("no layer probe was counted")
	}
}

// waitLayersArrived waits until user's published video has n simulcast layers.
func waitLayersArrived(t *testing.T, tn *tnode, room, user string, n int) {
	t.Helper()
	p := participantOf(t, tn, room, user)
	tn.n.mu.Lock()
	s := tn.n.sessions[room]
	tn.n.mu.Unlock()
	for deadline := time.Now().Add(30 * time.Second); ; {
		ch := make(chan *pubTrack, 1)
		s.post(func() { ch <- p.pubs["video"] })
		if pt := <-ch; pt != nil {
			if idx, _ := pt.available(); len(idx) >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's video never had %d layers", user, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProbeBackoff: a step down soon after a step up doubles the wait before the next
// try, up to its bound; one long after starts again from the shortest.
func TestProbeBackoff(t *testing.T) {
	e := newEstimator(1_000_000, nil)
	now := time.Now()
	if !e.canProbe(now) {
		t.Fatal("a fresh estimator may not probe")
	}
	e.probed(now)
	if e.canProbe(now.Add(probeStep - time.Millisecond)) {
		t.Fatal("probed again within probeStep")
	}
	want := probeMinBackoff
	for i := 0; i < 6; i++ {
		now = now.Add(time.Second)
		e.probed(now)
		e.congestedDown(now)
		if e.canProbe(now.Add(want-time.Millisecond)) || !e.canProbe(now.Add(want)) {
			t.Fatalf("failure %d: backoff is not %v", i, want)
		}
		want = min(2*want, probeMaxBackoff)
	}
	now = now.Add(time.Minute)
	e.congestedDown(now)
	if !e.canProbe(now.Add(probeMinBackoff)) {
		t.Fatal("backoff not reset after a long stable spell")
	}
	e.onREMB(500_000, now)
	if e.canProbe(now.Add(time.Hour)) && e.rembFresh(now.Add(time.Hour)) {
		t.Fatal("probing above a fresh REMB")
	}
	if e.canProbe(now.Add(probeMinBackoff)) {
		t.Fatal("probing above a fresh REMB")
	}
}
