package main

import (
	"math"
	"sync"
	"sync/atomic"
)

// Every media packet the publisher sends ends with a trailer: the publisher's own packet
// number on that track (uint32, never rewritten by the server) and its send time (unix
// nanoseconds; publisher and subscribers are in this process and share the clock).
const trailerLen = 12

// window is the measured stretch of one step, in the publisher's packet numbers: a packet
// counts when lo <= its number < hi, per track. Subscribers read it per packet.
type window struct {
	lo, hi [2]uint32
}

// hist is a latency histogram (not safe for concurrent use: one per track reader, merged
// afterwards): buckets an eighth of a power of two wide (about 9 %), from 1 µs up.
type hist struct {
	b   [histBuckets]uint64
	n   uint64
	max int64
}

const histBuckets = 8 * 30

func histIndex(ns int64) int {
	i := 0
	if us := float64(ns) / 1e3; us > 1 {
		i = int(math.Log2(us)*8) + 1
	}
	return min(i, histBuckets-1)
}

func (h *hist) add(ns int64) {
	if ns < 0 {
		ns = 0
	}
	h.b[histIndex(ns)]++
	h.n++
	h.max = max(h.max, ns)
}

// remove takes back one add of ns (the maximum stays: an approximation for the rare
// packet taken out of a window).
func (h *hist) remove(ns int64) {
	if ns < 0 {
		ns = 0
	}
	if i := histIndex(ns); h.b[i] > 0 && h.n > 0 {
		h.b[i]--
		h.n--
	}
}

func (h *hist) merge(o *hist) {
	for i := range h.b {
		h.b[i] += o.b[i]
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile is the q-quantile in milliseconds: the upper bound of its bucket, at most the
// maximum seen (0 when empty).
func (h *hist) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	want := max(uint64(math.Ceil(q*float64(h.n))), 1)
	var seen uint64
	for i := range h.b {
		seen += h.b[i]
		if seen >= want {
			return math.Min(math.Pow(2, float64(i)/8)/1e3, float64(h.max)/1e6)
		}
	}
	return float64(h.max) / 1e6
}

// Latency summarises a histogram, in milliseconds.
type Latency struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

func (h *hist) summary() Latency {
	return Latency{Count: h.n, P50: round3(h.quantile(0.5)), P90: round3(h.quantile(0.9)),
		P99: round3(h.quantile(0.99)), P999: round3(h.quantile(0.999)), Max: round3(float64(h.max) / 1e6)}
}

// dedupSize bounds how far behind the newest packet a duplicate is still recognised.
const dedupSize = 1024

// trackStats is what one subscriber received on one track inside the current window.
type trackStats struct {
	mu       sync.Mutex
	seen     [dedupSize]uint32 // packet number + 1 at slot number % dedupSize
	lats     [dedupSize]int64  // the latency recorded for it
	received uint64            // distinct packets inside the window
	dups     uint64
	gaps     uint64 // forward jumps in the RTP sequence numbers the server assigned
	lastSeq  uint16
	haveSeq  bool
	lat      hist
	total    atomic.Uint64 // every packet since the start (progress, readiness)
	lastAt   atomic.Int64  // unix nanos of the last packet
}

// onPacket records one received packet: its RTP sequence number, and the trailer's packet
// number and send time. in reports whether the number lies inside the open window.
func (s *trackStats) onPacket(seq uint16, num uint32, sent int64, now int64, in bool) {
	s.total.Add(1)
	s.lastAt.Store(now)
	if !in {
		s.mu.Lock()
		s.lastSeq, s.haveSeq = seq, true
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.haveSeq {
		if d := int16(seq - s.lastSeq); d > 1 {
			s.gaps += uint64(d - 1)
		}
		if int16(seq-s.lastSeq) > 0 {
			s.lastSeq = seq
		}
	} else {
		s.lastSeq, s.haveSeq = seq, true
	}
	slot := &s.seen[num%dedupSize]
	if *slot == num+1 {
		s.dups++
		return
	}
	*slot = num + 1
	s.lats[num%dedupSize] = now - sent
	s.received++
	s.lat.add(now - sent)
}

// take returns the window's figures and clears them for the next window. A packet counted
// while the window was still open-ended but numbered at or past its end (the end is read
// while packets are in flight) is taken out again: w is the closed window (nil before one
// opens), k the track.
func (s *trackStats) take(w *window, k int) (received, dups, gaps uint64, lat hist) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w != nil {
		for i, v := range s.seen {
			if v != 0 && !inWindow(w, k, v-1) {
				s.received--
				s.lat.remove(s.lats[i])
			}
		}
	}
	received, dups, gaps, lat = s.received, s.dups, s.gaps, s.lat
	s.received, s.dups, s.gaps, s.lat = 0, 0, 0, hist{}
	s.seen = [dedupSize]uint32{}
	return
}

// inWindow reports whether packet number num of track k falls inside w.
func inWindow(w *window, k int, num uint32) bool {
	return w != nil && num-w.lo[k] < w.hi[k]-w.lo[k] // unsigned: handles wrap-around
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
func round2(f float64) float64 { return math.Round(f*100) / 100 }
