package hub

import (
	"context"
	"testing"
	"time"
)

func TestFlushWindowGrowsWithRoomSize(t *testing.T) {
	for _, tc := range []struct {
		cfg     Config
		members int
		want    time.Duration
	}{
		{Config{}, 10, 10 * time.Millisecond},
		{Config{}, 1000, 10 * time.Millisecond},
		{Config{}, 2500, 25 * time.Millisecond},
		{Config{}, 5000, 50 * time.Millisecond},
		{Config{}, 20000, 50 * time.Millisecond},
		{Config{FlushPerMember: -1}, 5000, 10 * time.Millisecond},
		{Config{FlushInterval: 5 * time.Millisecond, FlushPerMember: time.Microsecond, MaxFlushInterval: 8 * time.Millisecond}, 7000, 7 * time.Millisecond},
		{Config{FlushInterval: 5 * time.Millisecond, FlushPerMember: time.Microsecond, MaxFlushInterval: 8 * time.Millisecond}, 9000, 8 * time.Millisecond},
	} {
		tc.cfg.defaults()
		lr := &localRoom{h: &Hub{cfg: tc.cfg}, subs: make([]*sub, tc.members)}
		if got := lr.windowLocked(); got != tc.want {
			t.Errorf("%d members, %+v: window %v, want %v", tc.members, tc.cfg, got, tc.want)
		}
	}
}

// TestFlushRecordsWave: every flush wave is timed, so an operator sees when a node's
// writes are what its rooms wait for.
func TestFlushRecordsWave(t *testing.T) {
	n := newTestNode(t, Config{PresenceInterval: -1})
	c := n.dial(n.user(1))
	c.join("r1")
	lr := n.waitLive("r1", 1)
	// The join reply's writer must be done: while it runs it would also take the event
	// from the queue, and the test could then look before the flush had run.
	n.waitWritten()
	before := histogramCount(t, metricFlushWave)
	lr.onEphemeral([]byte(`{"type":"typing","room":"r1"}`))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for typing := false; !typing; {
		objs, err := c.frame(ctx)
		if err != nil {
			t.Fatalf("waiting for the event: %v", err)
		}
		for _, m := range objs {
			typing = typing || m["type"] == "typing"
		}
	}
	lr.waveMu.Lock() // the wave that wrote the event records itself before it lets go
	lr.waveMu.Unlock()
	if histogramCount(t, metricFlushWave) == before {
		t.Fatal("the flush that delivered the event recorded no wave")
	}
}
