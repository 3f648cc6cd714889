package media

import (
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// Bounds of a subscriber's estimate, bits/s.
const (
	minBitrate   = 100_000
	maxBitrate   = 20_000_000
	audioReserve = 64_000 // kept back per audio track before video layers are chosen
)

// estimator is a subscriber's downlink bandwidth estimate. A subscriber that sends
// transport-wide congestion control feedback (browsers do when transport-cc is negotiated)
// is estimated by GCC from it (twcc.go), bounded by its REMB if it also sends one. Otherwise
// the estimate is the receiver's own (REMB) when it sends one, bounded by a loss-based
// estimate from receiver reports (cut when loss is high, grown slowly while it is low), as
// in the loss-based half of GCC.
type estimator struct {
	tw *twccEstimator // nil in unit tests

	mu       sync.Mutex // guards everything below
	loss     float64    // loss-based estimate
	lossAt   time.Time  // last adjustment; reports from several tracks arrive together
	lastFrac float64
	remb     float64
	rembAt   time.Time

	// Probing (TWCC only): GCC never estimates much above what it sees arrive, so a
	// subscriber on a lower layer would never earn a higher one. While GCC sees no
	// congestion a higher layer is tried, one step at a time; congestion takes it back and
	// backs off before the next try.
	probeAfter   time.Time
	probeBackoff time.Duration
	probedAt     time.Time
}

// Probing's pace: a step up at most every probeStep; after a failed step, the next waits
// probeBackoff, doubled on each failure that follows a step closely, up to probeMaxBackoff.
const (
	probeStep       = 3 * time.Second
	probeMinBackoff = 4 * time.Second
	probeMaxBackoff = 30 * time.Second
)

// canProbe: a step up may be tried now. Never above a receiver's own estimate (REMB).
func (e *estimator) canProbe(now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !now.Before(e.probeAfter) && !e.rembFreshLocked(now)
}

func (e *estimator) rembFreshLocked(now time.Time) bool {
	return e.remb > 0 && now.Sub(e.rembAt) < 5*time.Second
}

func (e *estimator) rembFresh(now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rembFreshLocked(now)
}

// probed records a step up.
func (e *estimator) probed(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.probedAt, e.probeAfter = now, now.Add(probeStep)
}

// congestedDown records a step down forced by congestion: probing waits, longer when a
// recent step up is what failed.
func (e *estimator) congestedDown(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.probeBackoff == 0 || now.Sub(e.probedAt) > 4*probeStep:
		e.probeBackoff = probeMinBackoff
	default:
		e.probeBackoff = min(2*e.probeBackoff, probeMaxBackoff)
	}
	e.probeAfter = now.Add(e.probeBackoff)
}

func newEstimator(initial float64, tw *twccEstimator) *estimator {
	return &estimator{loss: initial, tw: tw}
}

func (e *estimator) onREMB(bps float64, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.remb, e.rembAt = bps, now
	if bps > e.loss && e.lastFrac < 0.02 {
		e.loss = min(bps, maxBitrate) // no loss: trust the receiver's higher estimate
	}
}

func (e *estimator) onLoss(fraction uint8, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if now.Sub(e.lossAt) < 500*time.Millisecond {
		return
	}
	e.lossAt = now
	f := float64(fraction) / 256
	e.lastFrac = f
	switch {
	case f > 0.10:
		e.loss *= 1 - 0.5*f
	case f < 0.02:
		e.loss *= 1.08
	}
	e.loss = max(minBitrate, min(e.loss, maxBitrate))
}

func (e *estimator) estimate(now time.Time) float64 {
	est, _ := e.estimateFrom(now)
	return est
}

// Where an estimate came from.
const (
	fromTWCC = "twcc"
	fromREMB = "remb"
	fromLoss = "loss"
)

// estimateFrom is the estimate and its source.
func (e *estimator) estimateFrom(now time.Time) (float64, string) {
	var tw float64
	haveTW := false
	if e.tw != nil {
		tw, haveTW = e.tw.target(now)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	remb := e.rembFreshLocked(now)
	switch {
	case haveTW && remb:
		return max(minBitrate, min(tw, e.remb)), fromTWCC
	case haveTW:
		return max(minBitrate, min(tw, maxBitrate)), fromTWCC
	case remb:
		return min(e.remb, e.loss), fromREMB
	}
	return e.loss, fromLoss
}

// chooseLayers sets each simulcast subscription's target layer from the subscriber's
// estimate, shared equally between its video tracks after reserving audio. Downgrades
// happen at once; an upgrade must be asked for on two ticks in a row, so a noisy estimate
// does not flap between layers. A manual choice (media.layer) wins when that layer exists.
//
// With a TWCC estimate, a layer above the estimate is probed for while GCC sees no
// congestion (see estimator), and a layer reached that way is kept until GCC sees
// congestion rather than dropped for the estimate, which needs time to catch up with it.
func (p *participant) chooseLayers(now time.Time) {
	est, from := p.bwe.estimateFrom(now)
	twcc := from == fromTWCC
	// Probing only on TWCC, without a REMB (a receiver's own cap), while GCC sees no
	// congestion.
	probing := twcc && !p.bwe.rembFresh(now) && !p.bwe.tw.congested(now)
	probe := probing && p.bwe.canProbe(now)
	stepped, forcedDown := false, false
	var videos []*downTrack
	audio := 0
	for _, d := range p.downs {
		switch {
		case d.pub.typ == webrtc.RTPCodecTypeAudio:
			audio++
		case d.pub.simulcast:
			videos = append(videos, d)
		}
	}
	if len(videos) == 0 {
		return
	}
	budget := (est - float64(audio*audioReserve)) / float64(len(videos))
	for _, d := range videos {
		idx, rates := d.pub.available()
		if len(idx) == 0 {
			continue
		}
		want := idx[0]
		for i, r := range rates {
			if float64(r) <= budget {
				want = idx[i]
			}
		}
		d.mu.Lock()
		manual, viaProbe := false, false
		for _, i := range idx {
			if d.manual == i {
				want, manual = i, true
			}
		}
		if twcc && !manual && d.current >= 0 && d.current == d.target {
			switch {
			case want < d.target && d.probed && probing:
				want = d.target // a probed layer stays until GCC sees congestion
			case want <= d.target && probe && !stepped:
				for _, i := range idx {
					if i > d.target {
						want, viaProbe = i, true // one step up
						break
					}
				}
			}
		}
		switch {
		case want > d.target && d.current >= 0:
			if d.upVotes++; d.upVotes < 2 {
				want = d.target
			} else if viaProbe {
				stepped = true
				d.probed = true
			}
		default:
			d.upVotes = 0
		}
		if want < d.target {
			d.probed = false
			if twcc && !manual {
				forcedDown = true
			}
		}
		changed := want != d.target
		d.target = want
		waiting := d.current != d.target
		d.mu.Unlock()
		if changed || waiting {
			d.pub.requestKeyframe(want) // the switch waits for a keyframe on the new layer
		}
	}
	switch {
	case forcedDown:
		p.bwe.congestedDown(now)
	case stepped:
		metricLayerProbes.Inc()
		p.bwe.probed(now)
	}
}
