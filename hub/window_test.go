package hub

import (
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
