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
	c, lr, next := holdBackRoom(t, 0)
	waits := histogramCount(t, metricHoldbackWait)
	lr.onMessage(next+1, messageFrame(next+1))
	time.Sleep(5 * time.Millisecond) // the hole stays open a measurable while
	lr.onMessage(next, messageFrame(next))

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

// holdBackRoom joins one member to r1 and returns it, the live room and the seq it waits
// for next. holdBack 0 keeps the default.
func holdBackRoom(t *testing.T, holdBack time.Duration) (*client, *localRoom, int64) {
	n := newTestNode(t, Config{FlushInterval: time.Millisecond, PresenceInterval: -1, HoldBack: holdBack})
	c := n.dial(n.user(1))
	c.join("r1")
	lr := n.waitLive("r1", 1)
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return c, lr, lr.next
}

// messageFrame is a stored message's frame as the broker carries it.
func messageFrame(seq int64) []byte {
	return []byte(fmt.Sprintf(`{"type":"message","room":"r1","seq":%d,"text":"m%d"}`, seq, seq))
}

func histogramCount(t *testing.T, h prometheus.Histogram) uint64 {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

// TestHoldBackHoleClosedByStoreRead: a hole no broker message fills is closed by the gap
// timer's store read, and its wait (the hold-back) is recorded then; the next hole is
// timed on its own.
func TestHoldBackHoleClosedByStoreRead(t *testing.T) {
	c, lr, next := holdBackRoom(t, 300*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	waitSeq := func(want int64) {
		t.Helper()
		for {
			objs, err := c.frame(ctx)
			if err != nil {
				t.Fatalf("waiting for seq %d: %v", want, err)
			}
			for _, m := range objs {
				if m["type"] == "message" && m["seq"] == float64(want) {
					return
				}
			}
		}
	}
	var before dto.Metric
	metricHoldbackWait.Write(&before)
	// next never comes: the store has nothing for it either, so the fill skips the hole.
	lr.onMessage(next+1, messageFrame(next+1))
	waitSeq(next + 1)
	// A second hole, closed by the broker at once.
	lr.onMessage(next+3, messageFrame(next+3))
	lr.onMessage(next+2, messageFrame(next+2))
	waitSeq(next + 3)

	var after dto.Metric
	metricHoldbackWait.Write(&after)
	count := after.GetHistogram().GetSampleCount() - before.GetHistogram().GetSampleCount()
	sum := after.GetHistogram().GetSampleSum() - before.GetHistogram().GetSampleSum()
	if count != 2 {
		t.Fatalf("%d hole waits recorded, want 2", count)
	}
	// The first wait is the 300 ms hold-back (the bound above it is loose for loaded CI).
	if sum < 0.3 || sum > 2 {
		t.Fatalf("holes waited %.3f s together, want the hold-back's 0.3 s and a moment", sum)
	}
}
