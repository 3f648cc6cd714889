package hub

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestHoldBackReordersAndTimesTheHole: a message that arrives ahead of its predecessor
// (another node published first) waits until the predecessor comes, both reach the member
// in seq order, and the time the hole stayed open is recorded once.
func TestHoldBackReordersAndTimesTheHole(t *testing.T) {
	n := newTestNode(t, Config{FlushInterval: time.Millisecond, PresenceInterval: -1})
	c := n.dial(n.user(1))
	c.join("r1")
	lr := n.waitLive("r1", 1)
	lr.mu.Lock()
	next := lr.next
	lr.mu.Unlock()
	msg := func(seq int64) []byte {
		return []byte(fmt.Sprintf(`{"type":"message","room":"r1","seq":%d,"text":"m%d"}`, seq, seq))
	}
	waits := histogramCount(t, metricHoldbackWait)
	lr.onMessage(next+1, msg(next+1))
	time.Sleep(5 * time.Millisecond) // the hole stays open a measurable while
	lr.onMessage(next, msg(next))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []float64
	for len(got) < 2 {
		objs, err := c.frame(ctx)
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		for _, m := range objs {
			if m["type"] == "message" {
				got = append(got, m["seq"].(float64))
			}
		}
	}
	if got[0] != float64(next) || got[1] != float64(next+1) {
		t.Fatalf("seqs %v, want %d then %d", got, next, next+1)
	}
	if d := histogramCount(t, metricHoldbackWait) - waits; d != 1 {
		t.Fatalf("%d hole waits recorded, want 1", d)
	}
}

func histogramCount(t *testing.T, h prometheus.Histogram) uint64 {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}
