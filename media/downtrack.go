package media

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// downTrack is one published track as one subscriber receives it. It implements
// webrtc.TrackLocal itself (rather than TrackLocalStaticRTP) to learn the subscriber's
// negotiated SSRC, payload type and header extension ids, so each packet is rewritten for
// this subscriber: its SSRC and payload type, continuous sequence numbers and timestamps
// across layer switches and mutes, and only the extensions we forward, with its ids.
type downTrack struct {
	pub    *pubTrack
	sub    *participant
	sender *webrtc.RTPSender
	q      chan *outPacket
	queued atomic.Int32 // packets in q or being written from it (fanout.go direct)
	done   chan struct{}
	once   sync.Once
	share  uint32 // which of the layer's fan-out workers writes to it (fanout.go)

	mu      sync.Mutex // guards everything below; taken per packet by the layer readers
	bound   bool
	ssrc    uint32
	pt      uint8
	ws      webrtc.TrackLocalWriter
	chain   interceptor.RTPWriter // the connection's interceptor chain for this stream, once known (sendbatch.go)
	extOut  map[string]uint8      // forwarded extension URI → the subscriber's id
	absSend uint8                 // the subscriber's abs-send-time id, 0 if not negotiated
	current int                   // layer being forwarded; -1 before the first keyframe
	target  int                   // layer wanted; the switch happens on its next keyframe
	manual  int                   // layer fixed by media.layer; -1 is auto
	upVotes int                   // ticks in a row that asked for a higher layer (hysteresis)
	probed  bool                  // target was reached by probing above the TWCC estimate
	needKey bool                  // video: forward nothing until a keyframe
	resync  bool                  // recompute offsets at the next forwarded packet
	started bool
	seqOff  uint16
	tsOff   uint32
	fromSeq uint16 // first input seq after the last resync; older packets are dropped
	lastSeq uint16
	lastTS  uint32
	lastAt  time.Time
	epochs  [4]epoch // the latest numberings, newest at epochs[nEpochs%4], for NACKs (nack.go)
	nEpochs int
	rtxAt   *[nackHistory]uint16 // when each recent sequence number was last resent, in 10 ms; made at the first NACK
	// For sender reports (report.go): packets and payload octets forwarded, and the RTP
	// time of the newest frame with when its first packet was read.
	srPkts, srOctets uint32
	srTS             uint32
	srAt             time.Time
}

// outPacket is one packet on its way to one subscriber, queued by pointer (a queue of
// values would hold 256 × ~250 bytes per track from the start) and reused once written:
// nothing keeps it, as retransmissions are rebuilt from the publisher's packets (nack.go).
// The header's extensions live in the packet itself (a forwarded one, abs-send-time and
// the transport-wide sequence number at most), so they cost no allocation either.
type outPacket struct {
	hdr     rtp.Header
	payload []byte
	ws      webrtc.TrackLocalWriter
	chain   interceptor.RTPWriter
	absSend uint8
	abs     [3]byte
	exts    [3]rtp.Extension
}

var outPackets = sync.Pool{New: func() any { return new(outPacket) }}

func newDownTrack(pub *pubTrack, sub *participant, queue, layer int) *downTrack {
	// resync from the start: the first packet forwarded sets fromSeq. Audio starts without
	// waiting for a keyframe (which would set it), and from fromSeq's zero value any first
	// sequence number of 32768 or more would look older than the switch point.
	d := &downTrack{pub: pub, sub: sub, q: make(chan *outPacket, queue), done: make(chan struct{}), share: pub.shares.Add(1),
		current: -1, target: layer, manual: -1, resync: true}
	if !pub.simulcast {
		d.current, d.target = 0, 0
	}
	d.needKey = pub.typ == webrtc.RTPCodecTypeVideo
	go d.writeLoop()
	return d
}

// The webrtc.TrackLocal interface.

func (d *downTrack) ID() string                { return d.pub.id }
func (d *downTrack) RID() string               { return "" }
func (d *downTrack) Kind() webrtc.RTPCodecType { return d.pub.typ }

// StreamID groups a participant's camera and microphone in one MediaStream on the client;
// a screen share is a stream of its own.
func (d *downTrack) StreamID() string {
	if d.pub.kind == KindScreen {
		return d.pub.id
	}
	return d.pub.owner.id
}

func (d *downTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	var codec webrtc.RTPCodecParameters
	found := false
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, d.pub.codec.MimeType) {
			codec, found = c, true
			break
		}
	}
	if !found {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	ext := make(map[string]uint8)
	var abs uint8
	for _, h := range ctx.HeaderExtensions() {
		if h.URI == sdp.ABSSendTimeURI {
			abs = uint8(h.ID)
		}
		for _, uri := range forwardedExtensions[d.pub.typ] {
			if h.URI == uri {
				ext[uri] = uint8(h.ID)
			}
		}
	}
	d.mu.Lock()
	d.bound, d.ssrc, d.pt, d.ws = true, uint32(ctx.SSRC()), uint8(codec.PayloadType), ctx.WriteStream()
	d.extOut, d.absSend = ext, abs
	target := d.target
	d.mu.Unlock()
	if d.pub.typ == webrtc.RTPCodecTypeVideo {
		go d.pub.requestKeyframe(target) // a new subscriber needs a keyframe to start
	}
	return codec, nil
}

func (d *downTrack) Unbind(webrtc.TrackLocalContext) error {
	d.mu.Lock()
	d.bound, d.chain = false, nil
	d.mu.Unlock()
	return nil
}

// offer decides whether one packet of layer goes to this subscriber and, if so, returns
// it rewritten for the subscriber, for the fan-out to write or queue; now is when the
// packet was read.
func (d *downTrack) offer(l *layer, p *rtp.Packet, key bool, now time.Time) *outPacket {
	layer := l.idx
	if !d.sub.connected.Load() {
		return nil // not connected yet: Pion would drop it; keep waiting for a keyframe
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.bound {
		return nil
	}
	if layer != d.current {
		if layer != d.target || !key {
			return nil // another layer than this subscriber's
		}
		if d.current >= 0 {
			metricLayerSwitches.Inc()
		}
		d.current, d.needKey, d.resync = layer, false, true
	}
	if d.needKey {
		if !key {
			dropsLayer.Inc()
			go d.pub.requestKeyframe(layer)
			return nil
		}
		d.needKey, d.resync = false, true
	}
	if d.resync {
		d.resync = false
		d.fromSeq = p.SequenceNumber
		if d.started {
			d.seqOff = d.lastSeq + 1 - p.SequenceNumber
			ticks := uint32(now.Sub(d.lastAt).Seconds()*float64(d.pub.codec.ClockRate)) + 1
			d.tsOff = d.lastTS + ticks - p.Timestamp
		}
		d.started = true
		d.nEpochs++
		d.epochs[d.nEpochs%len(d.epochs)] = epoch{layer: l, from: p.SequenceNumber,
			firstOut: p.SequenceNumber + d.seqOff, seqOff: d.seqOff, tsOff: d.tsOff}
	} else if diff := int16(p.SequenceNumber - d.fromSeq); diff < 0 {
		return nil // from before the switch point: the subscriber's numbering has moved on
	} else if diff > 16384 {
		d.fromSeq = p.SequenceNumber - 8192 // keep the mark within int16 reach as seqs wrap
	}
	out := d.rewrite(p, d.seqOff, d.tsOff)
	if int16(out.hdr.SequenceNumber-d.lastSeq) > 0 || !d.started || d.lastAt.IsZero() {
		d.lastSeq, d.lastTS, d.lastAt = out.hdr.SequenceNumber, out.hdr.Timestamp, now
		if out.hdr.Timestamp != d.srTS || d.srAt.IsZero() {
			d.srTS, d.srAt = out.hdr.Timestamp, now
		}
	}
	d.srPkts++
	d.srOctets += uint32(len(out.payload))
	return out
}

// rewrite makes p this subscriber's, numbered with the given offsets (d.mu held).
func (d *downTrack) rewrite(p *rtp.Packet, seqOff uint16, tsOff uint32) *outPacket {
	if d.chain == nil && d.sub.out != nil {
		d.chain = d.sub.out.chain(d.ssrc) // bound by Pion just after Bind
	}
	out := outPackets.Get().(*outPacket)
	out.hdr, out.payload, out.ws, out.chain, out.absSend = p.Header, p.Payload, d.ws, d.chain, d.absSend
	out.hdr.SSRC, out.hdr.PayloadType = d.ssrc, d.pt
	out.hdr.SequenceNumber = p.SequenceNumber + seqOff
	out.hdr.Timestamp = p.Timestamp + tsOff
	out.hdr.Extension, out.hdr.Extensions, out.hdr.ExtensionProfile = false, out.exts[:0], 0
	for uri, in := range d.pub.extIn {
		if id := d.extOut[uri]; id != 0 {
			if v := p.GetExtension(in); v != nil {
				_ = out.hdr.SetExtension(id, v)
			}
		}
	}
	return out
}

// queue hands out to the writer without blocking; a full queue drops it.
func (d *downTrack) queue(out *outPacket) {
	d.queued.Add(1)
	select {
	case d.q <- out:
	default:
		d.queued.Add(-1)
		dropsQueueFull.Inc()
		release(out)
	}
}

// release returns a packet to the pool once written or dropped, letting go of the
// publisher's payload and header fields it pointed at.
func release(out *outPacket) {
	clear(out.exts[:])
	out.hdr, out.payload, out.ws, out.chain = rtp.Header{}, nil, nil, nil
	outPackets.Put(out)
}

// writeLoop is the writer of a subscriber reached over TCP (fanout.go), whose socket can
// block: SRTP and the socket write happen here, off the publisher's reader.
func (d *downTrack) writeLoop() {
	for {
		select {
		case <-d.done:
			return
		case p := <-d.q:
			sent := d.write(p, nil)
			d.queued.Add(-1)
			// What queued meanwhile is taken without another select: this goroutine is
			// the queue's only reader, so these receives cannot block.
			for n := len(d.q); n > 0; n-- {
				sent += d.write(<-d.q, nil)
				d.queued.Add(-1)
			}
			if sent > 0 {
				countOut(uint64(sent))
			}
		}
	}
}

// write sends p (SRTP and the socket write) and releases it; it returns the bytes sent,
// which the caller counts. With a batch (the fan-out's) it goes through the connection's
// interceptor chain carrying b, so a direct connection's packet waits in b (sendbatch.go).
func (d *downTrack) write(p *outPacket, b *sendBatch) int {
	if p.absSend != 0 {
		_, _ = rtp.NewAbsSendTimeExtension(time.Now()).MarshalTo(p.abs[:]) // three bytes; cannot fail
		_ = p.hdr.SetExtension(p.absSend, p.abs[:])
	}
	var n int
	var err error
	if b != nil && p.chain != nil {
		n, err = p.chain.Write(&p.hdr, p.payload, b.attrs)
	} else {
		n, err = p.ws.WriteRTP(&p.hdr, p.payload)
	}
	release(p)
	if err != nil {
		return 0 // closed or not yet connected: the session cleans up
	}
	return n
}

// readRTCP handles what the subscriber says about this track: keyframe requests go to the
// publisher (rate-limited there), estimates and losses feed the subscriber's estimator.
func (d *downTrack) readRTCP() {
	for {
		pkts, _, err := d.sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch p := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				plisIn.Inc()
				d.mu.Lock()
				layer := d.current
				d.mu.Unlock()
				if layer < 0 {
					layer = d.target
				}
				d.pub.requestKeyframe(layer)
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				d.sub.bwe.onREMB(float64(p.Bitrate), time.Now())
			case *rtcp.ReceiverReport:
				for _, r := range p.Reports {
					d.sub.bwe.onLoss(r.FractionLost, time.Now())
				}
			case *rtcp.TransportLayerNack:
				for _, n := range p.Nacks {
					seqs := n.PacketList()
					metricNACKs.Add(float64(len(seqs)))
					d.retransmit(seqs)
				}
			}
		}
	}
}

// restart runs when the source is unmuted: start again cleanly, on a keyframe, with no gap
// in the subscriber's sequence numbers.
func (d *downTrack) restart() {
	d.mu.Lock()
	d.resync = true
	d.needKey = d.pub.typ == webrtc.RTPCodecTypeVideo
	target := d.target
	d.mu.Unlock()
	if d.needKeyframe() {
		d.pub.requestKeyframe(target)
	}
}

// wanted is the layer the subscriber should be receiving.
func (d *downTrack) wanted() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.target
}

func (d *downTrack) needKeyframe() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.needKey || d.current != d.target
}

func (d *downTrack) close() {
	d.once.Do(func() { close(d.done) })
}
