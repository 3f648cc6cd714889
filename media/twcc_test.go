package media

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
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
	tn.n.mu.Lock()
	s := tn.n.sessions[room]
	tn.n.mu.Unlock()
	ch := make(chan *participant, 1)
	if s == nil || !s.post(func() {
		var found *participant
		for _, p := range s.order {
			if p.actor.User.ID == user {
				found = p
			}
		}
		ch <- found
	}) {
		t.Fatalf("no session in %s", room)
	}
	p := <-ch
	if p == nil {
		t.Fatalf("%s is not in the session", user)
	}
	return p.bwe.estimateFrom(time.Now())
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
	loss.on.Store(false)
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

// twccFeedbackCount reads the feedback counter (tests).
func twccFeedbackCount() float64 {
	m := &dto.Metric{}
	if err := twccFeedback.Write(m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}
