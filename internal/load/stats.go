package load

import (
	"math"
	"sync/atomic"
)

// hist is a lock-free latency histogram: buckets an eighth of a power of two wide (about
// 9 %), from 1 µs to over 10 minutes. Percentiles report a bucket's upper bound.
type hist struct {
	b   [histBuckets]atomic.Uint64
	n   atomic.Uint64
	max atomic.Int64
}

const histBuckets = 8 * 30

func (h *hist) add(ns int64) {
	if ns < 0 {
		ns = 0
	}
	i := 0
	if us := float64(ns) / 1e3; us > 1 {
		i = int(math.Log2(us)*8) + 1
	}
	if i >= histBuckets {
		i = histBuckets - 1
	}
	h.b[i].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if ns <= m || h.max.CompareAndSwap(m, ns) {
			return
		}
	}
}

// quantile returns the q-quantile in milliseconds (0 when empty).
func (h *hist) quantile(q float64) float64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	want := uint64(math.Ceil(q * float64(n)))
	if want == 0 {
		want = 1
	}
	var seen uint64
	for i := range h.b {
		seen += h.b[i].Load()
		if seen >= want {
			upper := math.Pow(2, float64(i)/8) / 1e3 // ms
			return math.Min(upper, float64(h.max.Load())/1e6)
		}
	}
	return float64(h.max.Load()) / 1e6
}

// Latency is a summary of a histogram, in milliseconds.
type Latency struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

func (h *hist) summary() Latency {
	return Latency{Count: h.n.Load(), P50: round2(h.quantile(0.5)), P90: round2(h.quantile(0.9)),
		P99: round2(h.quantile(0.99)), P999: round2(h.quantile(0.999)), Max: round2(float64(h.max.Load()) / 1e6)}
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// maxInt64 raises a to v when v is larger.
func maxInt64(a *atomic.Int64, v int64) {
	for {
		m := a.Load()
		if v <= m || a.CompareAndSwap(m, v) {
			return
		}
	}
}
