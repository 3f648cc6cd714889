package media

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Simulcast layers, lowest first. A publisher without simulcast sends one stream, layer 0.
var layerNames = [3]string{"q", "h", "f"}

// nominalBitrate is what a layer is assumed to need before it has been measured.
var nominalBitrate = [3]uint64{150_000, 500_000, 1_500_000}

func layerIndex(rid string) (int, bool) {
	switch rid {
	case "", "q":
		return 0, true
	case "h":
		return 1, true
	case "f":
		return 2, true
	}
	return 0, false
}

// keyframeInterval bounds keyframe requests to a publisher's stream: every subscriber that
// joins, unmutes or switches layer wants one, and a publisher flooded with PLIs spends its
// bitrate on keyframes.
const keyframeInterval = 500 * time.Millisecond

// forwardedExtensions are the publisher's header extensions passed on to subscribers (with
// their ids remapped); every other extension is stripped.
var forwardedExtensions = map[webrtc.RTPCodecType][]string{
	webrtc.RTPCodecTypeAudio: {sdp.AudioLevelURI},
	webrtc.RTPCodecTypeVideo: {videoOrientationURI},
}

// pubTrack is one published source (a participant's audio, camera or screen): one receiver,
// up to three simulcast layers, each read by one goroutine and fanned out to every
// subscriber's downTrack.
type pubTrack struct {
	id        string // "<participant id>:<kind>", the track id subscribers see
	kind      string
	owner     *participant
	typ       webrtc.RTPCodecType
	codec     webrtc.RTPCodecCapability
	receiver  *webrtc.RTPReceiver
	simulcast bool
	extIn     map[string]uint8 // forwarded extension URI → the publisher's id; read-only

	muted  atomic.Bool                  // a host muted this source: nothing is forwarded
	downs  atomic.Pointer[[]*downTrack] // subscribers; replaced whole (copy on write), read per packet
	shares atomic.Uint32                // subscribers so far, to spread them over the fan-out workers
	// parts is downs split by fan-out worker (downTrack.share % workers), replaced with it,
	// so that a worker walks only its own subscribers.
	parts   atomic.Pointer[[][]*downTrack]
	workers int // fan-out workers of each layer

	mu     sync.Mutex // guards layers and writes of downs
	layers [3]*layer

	live bool // owned by the session loop: listed and subscribed (false while withdrawn)
}

// layer is one received RTP stream of a pubTrack.
type layer struct {
	idx     int
	rid     string
	fan     *fanout // writes the stream's packets to its subscribers; set before reading
	remote  *webrtc.TrackRemote
	ssrc    uint32
	bytes   atomic.Uint64
	rate    atomic.Uint64 // bits/s over the last tick
	lastPLI atomic.Int64  // unix nanos of the last keyframe request
	prev    uint64        // bytes at the last tick (session loop only)
	// hist holds the stream's recent packets, indexed by sequence number, for every
	// subscriber's retransmissions (video only; nack.go).
	hist [nackHistory]atomic.Pointer[rtp.Packet]
}

func newPubTrack(owner *participant, kind string, tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) *pubTrack {
	pt := &pubTrack{id: owner.id + ":" + kind, kind: kind, owner: owner, typ: tr.Kind(),
		codec: tr.Codec().RTPCodecCapability, receiver: rcv, simulcast: tr.RID() != "",
		extIn: make(map[string]uint8)}
	pt.workers = runtime.GOMAXPROCS(0)
	pt.setDowns([]*downTrack{})
	for _, h := range rcv.GetParameters().HeaderExtensions {
		for _, uri := range forwardedExtensions[pt.typ] {
			if h.URI == uri {
				pt.extIn[uri] = uint8(h.ID)
			}
		}
	}
	return pt
}

// addLayer starts reading one stream; ended runs (off the reader) when it stops.
func (pt *pubTrack) addLayer(tr *webrtc.TrackRemote, idx int, ended func(*layer)) *layer {
	l := &layer{idx: idx, rid: tr.RID(), remote: tr, ssrc: uint32(tr.SSRC()), fan: newFanout(pt.workers)}
	pt.mu.Lock()
	pt.layers[idx] = l
	pt.mu.Unlock()
	go pt.read(l, ended)
	go pt.drainRTCP(l)
	return l
}

func (pt *pubTrack) layer(idx int) *layer {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if idx < 0 || idx >= len(pt.layers) {
		return nil
	}
	return pt.layers[idx]
}

func (pt *pubTrack) removeLayer(l *layer) (empty bool) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.layers[l.idx] == l {
		pt.layers[l.idx] = nil
	}
	return pt.layers[0] == nil && pt.layers[1] == nil && pt.layers[2] == nil
}

// read is the one receiver of a stream, and forwards each packet to every subscriber
// (fanout.go). It never waits on one subscriber: those whose socket could block have their
// own bounded queue, and a full one drops the packet.
func (pt *pubTrack) read(l *layer, ended func(*layer)) {
	defer ended(l)
	fan := l.fan
	defer fan.close()
	for {
		pkt, _, err := l.remote.ReadRTP()
		if err != nil {
			return
		}
		size := uint64(pkt.MarshalSize())
		l.bytes.Add(size)
		countIn(size)
		if pt.typ == webrtc.RTPCodecTypeVideo {
			l.hist[pkt.SequenceNumber%nackHistory].Store(pkt)
		}
		downs := *pt.downs.Load()
		if len(downs) == 0 {
			continue
		}
		if pt.muted.Load() {
			dropsMuted.Add(float64(len(downs)))
			continue
		}
		key := pt.typ == webrtc.RTPCodecTypeVideo && vp8KeyframeStart(pkt.Payload)
		more := pt.typ == webrtc.RTPCodecTypeVideo && !pkt.Marker
		fan.send(l, pkt, key, more, *pt.parts.Load())
	}
}

// drainRTCP reads the publisher's RTCP for the stream so the interceptors see its sender
// reports (receiver reports need them).
func (pt *pubTrack) drainRTCP(l *layer) {
	for {
		var err error
		if l.rid == "" {
			_, _, err = pt.receiver.ReadRTCP()
		} else {
			_, _, err = pt.receiver.ReadSimulcastRTCP(l.rid)
		}
		if err != nil {
			return
		}
	}
}

// requestKeyframe asks the publisher for a keyframe on layer idx, at most once per
// keyframeInterval per layer however many subscribers ask.
func (pt *pubTrack) requestKeyframe(idx int) {
	l := pt.layer(idx)
	if l == nil {
		return
	}
	now := time.Now().UnixNano()
	last := l.lastPLI.Load()
	if now-last < int64(keyframeInterval) || !l.lastPLI.CompareAndSwap(last, now) {
		return
	}
	if err := pt.owner.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: l.ssrc}}); err == nil {
		plisOut.Inc()
	}
}

func (pt *pubTrack) addDown(d *downTrack) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	old := *pt.downs.Load()
	next := make([]*downTrack, 0, len(old)+1)
	next = append(append(next, old...), d)
	pt.setDowns(next)
}

func (pt *pubTrack) removeDown(d *downTrack) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	old := *pt.downs.Load()
	next := make([]*downTrack, 0, len(old))
	for _, x := range old {
		if x != d {
			next = append(next, x)
		}
	}
	pt.setDowns(next)
}

// setDowns publishes a new subscriber list and its split by fan-out worker (pt.mu held,
// or before the track is shared).
func (pt *pubTrack) setDowns(downs []*downTrack) {
	parts := make([][]*downTrack, pt.workers)
	for _, d := range downs {
		i := d.share % uint32(pt.workers)
		parts[i] = append(parts[i], d)
	}
	pt.parts.Store(&parts)
	pt.downs.Store(&downs)
}

func (pt *pubTrack) subscribers() []*downTrack { return *pt.downs.Load() }

// measure updates each layer's bitrate over dt (session loop, once a tick).
func (pt *pubTrack) measure(dt time.Duration) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	for _, l := range pt.layers {
		if l == nil {
			continue
		}
		b := l.bytes.Load()
		l.rate.Store(uint64(float64(b-l.prev) * 8 / dt.Seconds()))
		l.prev = b
	}
}

// available lists the layers being received, lowest first, with their bitrates (nominal
// until measured). Layers that went quiet are left out unless all are quiet.
func (pt *pubTrack) available() (idx []int, rate []uint64) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	for pass := 0; pass < 2 && len(idx) == 0; pass++ {
		for _, l := range pt.layers {
			if l == nil {
				continue
			}
			r := l.rate.Load()
			if pass == 0 && r == 0 && l.bytes.Load() > 0 {
				continue // was sending, now quiet
			}
			if r == 0 {
				r = nominalBitrate[l.idx]
			}
			idx, rate = append(idx, l.idx), append(rate, r)
		}
	}
	return idx, rate
}

func (pt *pubTrack) layerNames() []string {
	if !pt.simulcast {
		return nil
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	var out []string
	for _, l := range pt.layers {
		if l != nil {
			out = append(out, layerNames[l.idx])
		}
	}
	return out
}

// Node-wide byte totals for the bitrate gauges.
var totalIn, totalOut atomic.Uint64

func countIn(n uint64) {
	totalIn.Add(n)
	metricBytesIn.Add(float64(n))
}

func countOut(n uint64) {
	totalOut.Add(n)
	metricBytesOut.Add(float64(n))
}
