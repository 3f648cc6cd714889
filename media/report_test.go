package media

import (
	"testing"
	"time"
)

func TestNTPTime(t *testing.T) {
	if got, want := ntpTime(time.Unix(0, 5e8)), uint64(ntpEpochOffset)<<32|1<<31; got != want {
		t.Fatalf("ntpTime(1970 + 0.5 s) = %#x, want %#x", got, want)
	}
}

// TestSenderReports: a subscriber gets a sender report for each track about once a
// second, whose RTP time runs at the codec's clock rate against its NTP time and matches
// the packets around it, and whose packet count covers what arrived before it.
func TestSenderReports(t *testing.T) {
	tn, host, _ := webinar(t)
	c := attendee(t, tn, "att")
	pid := host.participantID()
	for _, tc := range []struct {
		track string
		clock float64
	}{{pid + ":video", 90000}, {pid + ":audio", 48000}} {
		var srs []recvSR
		var pkts []recvPkt
		for end := time.Now().Add(8 * time.Second); len(srs) < 3; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("%s: %d sender reports in 8 s", tc.track, len(srs))
			}
			c.mu.Lock()
			if rt := c.tracks[tc.track]; rt != nil {
				srs, pkts = append([]recvSR(nil), rt.srs...), append([]recvPkt(nil), rt.pkts...)
			}
			c.mu.Unlock()
		}
		for i, r := range srs {
			if r.before == 0 {
				continue // the track's first packet had not been read yet
			}
			// The report travels by RTCP, the packets by RTP, each read by its own goroutine
			// here: packets sent just after the report may be counted before it. Hence the
			// slack of 0.2 s of either stream; a wrong count or clock is off by far more.
			if n := int(r.sr.PacketCount); n < r.before-slack(tc.clock) || n > r.before+60 {
				t.Errorf("%s report %d: packet count %d, %d packets had arrived before it", tc.track, i, n, r.before)
			}
			last := pkts[r.before-1].ts
			if ahead := float64(int32(r.sr.RTPTime-last)) / tc.clock; ahead < -0.2 || ahead > 0.3 {
				t.Errorf("%s report %d: RTP time %.3f s after the last packet before it", tc.track, i, ahead)
			}
			if i == 0 {
				continue
			}
			p := srs[i-1].sr
			secs := float64(r.sr.NTPTime-p.NTPTime) / (1 << 32)
			if rate := float64(r.sr.RTPTime-p.RTPTime) / secs; rate < tc.clock*0.97 || rate > tc.clock*1.03 {
				t.Errorf("%s reports %d–%d: RTP clock %.0f Hz over %.2f s, want %.0f", tc.track, i-1, i, rate, secs, tc.clock)
			}
		}
	}
}

// slack is how many packets 0.2 s of the stream holds: audio sends 50 a second, this
// video about 30 frames of a few packets.
func slack(clock float64) int {
	if clock == 48000 {
		return 10
	}
	return 40
}
