package media

import (
	"time"

	"github.com/pion/rtcp"
)

// Sender reports, one a second per forwarded track, as Pion's report interceptor sent
// them. That interceptor took a lock and read the clock for every packet to every
// subscriber; the fan-out already holds the subscription's lock and knows when each packet
// was read, so downTrack.offer keeps the counts and the session's tick sends the reports.
// Packet and octet counts are of forwarded packets; retransmissions are not counted.

// ntpEpochOffset is the seconds from NTP's epoch (1900) to Unix's (1970).
const ntpEpochOffset = 2208988800

// ntpTime is t as a 64-bit NTP timestamp: seconds in the high half, the fraction in the low.
func ntpTime(t time.Time) uint64 {
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

// senderReport is the subscription's report at now, nil before anything was forwarded.
// The RTP time is the newest frame's, advanced by the time since its first packet was read.
func (d *downTrack) senderReport(now time.Time) *rtcp.SenderReport {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.bound || d.srPkts == 0 {
		return nil
	}
	return &rtcp.SenderReport{
		SSRC:        d.ssrc,
		NTPTime:     ntpTime(now),
		RTPTime:     d.srTS + uint32(now.Sub(d.srAt).Seconds()*float64(d.pub.codec.ClockRate)),
		PacketCount: d.srPkts,
		OctetCount:  d.srOctets,
	}
}

// report sends the participant's sender reports (session loop). The write happens off the
// loop, as one to a connection over TCP can wait on its socket, and one at a time: a
// participant whose last reports are still being written skips this round.
func (p *participant) report() {
	if len(p.downs) == 0 || !p.connected.Load() || !p.reporting.CompareAndSwap(false, true) {
		return
	}
	downs := make([]*downTrack, 0, len(p.downs))
	for _, d := range p.downs {
		downs = append(downs, d)
	}
	go func() {
		defer p.reporting.Store(false)
		now := time.Now()
		pkts := make([]rtcp.Packet, 0, len(downs))
		for _, d := range downs {
			if sr := d.senderReport(now); sr != nil {
				pkts = append(pkts, sr)
			}
		}
		if len(pkts) > 0 {
			_ = p.pc.WriteRTCP(pkts) // closed: the session drops the participant
		}
	}()
}
