package media

import "time"

// rtxEpoch is the start of the coarse clock rtxAt is kept in.
var rtxEpoch = time.Now()

// Retransmission. Pion's NACK responder keeps, for every subscriber, its own copy of each
// recent packet (header, wrapper and all): at 256 packets, about 70 KB of live heap per
// subscriber, and an allocation per packet per subscriber. Every one of those packets is
// a publisher's packet renumbered, so the history is kept once, per published layer
// (layer.hist), and each subscriber keeps only how it numbered them: a retransmission is
// the publisher's packet rewritten again with the offsets that were in force when it was
// first sent.

// epoch is one numbering of a subscriber's stream: from the first packet after a resync
// (a layer switch, an unmute, the start), output sequence numbers are the layer's plus
// seqOff.
type epoch struct {
	layer    *layer
	from     uint16 // the layer's first sequence number forwarded in this epoch
	firstOut uint16 // what the subscriber saw it as
	seqOff   uint16
	tsOff    uint32
}

// rtxInterval is how soon the same packet may be sent again. A receiver NACKs a missing
// packet every round trip or so until it arrives; on loopback that is every few
// milliseconds, and answering each would multiply a moment's loss into a flood that
// causes more.
const rtxInterval = 100 * time.Millisecond

// retransmit sends again the packets the subscriber lost, those still in the history: at
// once from the subscriber's RTCP reader when it is reached over UDP, else through its
// queue (fanout.go).
func (d *downTrack) retransmit(seqs []uint16) {
	resend := d.resendable(seqs)
	if len(resend) == 0 {
		return
	}
	direct, sent := d.direct(), 0
	for _, out := range resend {
		if direct {
			sent += d.write(out, nil)
		} else {
			d.queue(out)
		}
	}
	if sent > 0 {
		countOut(uint64(sent))
	}
}

// resendable rewrites the packets of seqs that are to be sent again. Sequence numbers never
// sent, or from before the epochs remembered, are ignored, and nothing is resent while
// the subscriber's queue is half full, or while the fan-out worker that writes to it is
// behind: the path is congested, a retransmission would only wait behind newer packets
// or push them out, and every subscriber the worker serves would be NACKing at once,
// their retransmissions taking the CPU the worker needs to catch up. The packets are written after d.mu is let
// go, so the fan-out never waits for a retransmission's socket write.
func (d *downTrack) resendable(seqs []uint16) []*outPacket {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.bound || d.nEpochs == 0 {
		return nil
	}
	var out []*outPacket
	now := uint16(time.Since(rtxEpoch) / (10 * time.Millisecond))
	busy := d.epochs[d.nEpochs%len(d.epochs)].layer.fan.behind(d.share)
	for _, s := range seqs {
		if int16(s-d.lastSeq) > 0 {
			continue // not sent yet
		}
		if busy || len(d.q)+len(out) > cap(d.q)/2 {
			dropsRetransmit.Inc()
			continue
		}
		if d.rtxAt == nil {
			d.rtxAt = new([nackHistory]uint16)
		}
		at := &d.rtxAt[s%nackHistory]
		if *at != 0 && now-*at < uint16(rtxInterval/(10*time.Millisecond)) {
			continue
		}
		*at = max(now, 1) // 0 is never
		e := d.epochOf(s)
		if e == nil {
			continue
		}
		in := s - e.seqOff
		if int16(in-e.from) < 0 {
			continue
		}
		p := e.layer.hist[in%nackHistory].Load()
		if p == nil || p.SequenceNumber != in {
			continue // no longer in the history
		}
		out = append(out, d.rewrite(p, e.seqOff, e.tsOff))
	}
	return out
}

// epochOf is the numbering output sequence number s was sent under (d.mu held).
func (d *downTrack) epochOf(s uint16) *epoch {
	for i := 0; i < len(d.epochs) && i < d.nEpochs; i++ {
		e := &d.epochs[(d.nEpochs-i)%len(d.epochs)]
		if int16(s-e.firstOut) >= 0 {
			return e
		}
	}
	return nil
}
