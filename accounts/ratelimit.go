package accounts

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxLimiterKeys caps a limiterSet's map. Idle limiters are evicted once they have refilled
// (at which point a fresh one is identical), which keeps the map small in normal use; the
// cap only matters under a flood of distinct keys, when forgetting some keys early is
// better than unbounded memory.
const maxLimiterKeys = 1 << 16

// limiterSet is a token bucket per key (remote address or account).
type limiterSet struct {
	limit rate.Limit
	burst int
	idle  time.Duration // time for an empty bucket to refill; an entry idle this long is evictable

	mu        sync.Mutex // guards m and lastSweep
	m         map[string]*limiterEntry
	lastSweep time.Time
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiterSet(limit rate.Limit, burst int) *limiterSet {
	idle := time.Minute
	if limit != rate.Inf && limit > 0 {
		idle = time.Duration(float64(burst) / float64(limit) * float64(time.Second))
	}
	return &limiterSet{limit: limit, burst: burst, idle: idle, m: make(map[string]*limiterEntry)}
}

// reserve takes one token for key at now. It returns a reservation the caller may cancel
// (to refund an attempt that should not count), or nil and how long to wait.
func (ls *limiterSet) reserve(key string, now time.Time) (*rate.Reservation, time.Duration) {
	if ls.limit == rate.Inf {
		return nil, 0
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.sweepLocked(now)
	e := ls.m[key]
	if e == nil {
		e = &limiterEntry{lim: rate.NewLimiter(ls.limit, ls.burst)}
		ls.m[key] = e
	}
	if now.After(e.seen) {
		e.seen = now
	}
	r := e.lim.ReserveN(now, 1)
	if !r.OK() {
		return nil, ls.idle
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return nil, d
	}
	return r, 0
}

func (ls *limiterSet) sweepLocked(now time.Time) {
	if now.Sub(ls.lastSweep) < ls.idle && len(ls.m) < maxLimiterKeys {
		return
	}
	ls.lastSweep = now
	for k, e := range ls.m {
		if now.Sub(e.seen) >= ls.idle {
			delete(ls.m, k)
		}
	}
	// Map iteration order is random, so this forgets arbitrary keys, not a chosen victim's.
	for k := range ls.m {
		if len(ls.m) < maxLimiterKeys*9/10 {
			break
		}
		delete(ls.m, k)
	}
}

func (ls *limiterSet) len() int {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return len(ls.m)
}

// addrKey turns "host:port" or "host" into a rate-limit key. An IPv6 client usually owns a
// whole /64, so the /64 is the key; otherwise rotating addresses would bypass the limit.
func addrKey(remote string) string {
	host := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
