package media

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/internal/testenv"
)

// TestICETCP: a member whose network allows only TCP reaches the media over the one ICE-TCP
// port.
func TestICETCP(t *testing.T) {
	port := testenv.FreePort(t)
	tn := newTestNode(t, "n1", broker.NewMemory(), nil, func(c *Config) { c.TCPPort = port })
	host := tn.client("host", "talk", "webinar", RankHost)
	host.must("media.start", nil)
	host.join()
	src := newSource(t, host, nil, false)
	host.offer(src.kinds())
	src.start()

	att := tn.client("att", "talk", "webinar", RankMember)
	att.networks = []webrtc.NetworkType{webrtc.NetworkTypeTCP4}
	if r := att.join(); r.str("type") != "ok" {
		t.Fatalf("join: %v", r)
	}
	got := att.waitPackets(host.participantID()+":video", 0, 20, 15*time.Second)
	src.checkIntact("video over TCP", got, true)
	for _, s := range att.pc.GetStats() {
		if c, ok := s.(webrtc.ICECandidateStats); ok && c.Type == webrtc.StatsTypeLocalCandidate && c.Protocol != "tcp" {
			t.Fatalf("the member used a %s candidate", c.Protocol)
		}
	}
}

// TestMetrics: forwarding and control move the Prometheus counters operators watch.
func TestMetrics(t *testing.T) {
	before := map[string]float64{
		"plis_out": value(plisOut), "drops_muted": value(dropsMuted),
		"bytes_in": value(metricBytesIn), "bytes_out": value(metricBytesOut),
		"mute": value(metricControl.WithLabelValues("media_mute")),
	}
	tn, host, _ := webinar(t)
	att := attendee(t, tn, "att")
	att.waitPackets(host.participantID()+":video", 0, 10, 10*time.Second)
	if n := value(metricSessions); n < 1 {
		t.Fatalf("sessions gauge %v", n)
	}
	if n := value(metricParticipants); n < 2 {
		t.Fatalf("participants gauge %v", n)
	}
	if n := value(metricTracks); n < 2 {
		t.Fatalf("tracks gauge %v", n)
	}
	spk := attendee(t, tn, "spk")
	promote(t, host, spk, true)
	att.waitPackets(spk.participantID()+":audio", 0, 10, 10*time.Second)
	host.must("media.mute", map[string]any{"user": "u-spk", "kind": "audio", "muted": true})
	time.Sleep(300 * time.Millisecond)
	after := map[string]float64{
		"plis_out": value(plisOut), "drops_muted": value(dropsMuted),
		"bytes_in": value(metricBytesIn), "bytes_out": value(metricBytesOut),
		"mute": value(metricControl.WithLabelValues("media_mute")),
	}
	for k, v := range before {
		if after[k] <= v {
			t.Errorf("%s did not move: %v → %v", k, v, after[k])
		}
	}
}

// value reads a counter or gauge.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return 0
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}
