package media

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/havenhealth/haven/broker"
)

// webinar starts a webinar on a fresh node with a host who publishes audio and video.
func webinar(t *testing.T) (*tnode, *tclient, *source) {
	t.Helper()
	return webinarOn(t, nil, true)
}

// webinarOn starts a webinar on a node configured by mut, its host publishing (audio too
// when withAudio) from a source that each prep sets up first.
func webinarOn(t *testing.T, mut func(*Config), withAudio bool, prep ...func(*source)) (*tnode, *tclient, *source) {
	t.Helper()
	tn := newTestNode(t, "n1", broker.NewMemory(), nil, mut)
	host := tn.client("host", "talk", "webinar", RankHost)
	host.must("media.start", nil)
	if r := host.join(); r.str("type") != "ok" {
		t.Fatalf("host join: %v", r)
	}
	src := newSource(t, host, nil, withAudio)
	for _, p := range prep {
		p(src)
	}
	host.offer(src.kinds())
	src.start()
	return tn, host, src
}

func attendee(t *testing.T, tn *tnode, name string) *tclient {
	t.Helper()
	c := tn.client(name, "talk", "webinar", RankMember)
	if r := c.join(); r.str("type") != "ok" {
		t.Fatalf("%s join: %v", name, r)
	}
	return c
}

// promote has the host promote spk and spk publish (audio too when withAudio).
func promote(t *testing.T, host, spk *tclient, withAudio bool) *source {
	t.Helper()
	host.must("media.promote", map[string]any{"user": spk.actor.User.ID})
	src := newSource(t, spk, nil, withAudio)
	if r := spk.offer(src.kinds()); r.str("type") != "ok" {
		t.Fatalf("%s's offer after promotion: %v", spk.name, r)
	}
	src.start()
	return src
}

// replayingAttendee joins an attendee that keeps retransmitted packets (for NACK tests).
func replayingAttendee(t *testing.T, tn *tnode, name string) *tclient {
	t.Helper()
	c := tn.client(name, "talk", "webinar", RankMember)
	c.acceptReplays = true
	if r := c.join(); r.str("type") != "ok" {
		t.Fatalf("%s join: %v", name, r)
	}
	return c
}

// TestForwardIntact: several subscribers each receive the host's video (starting on a
// keyframe) and audio, byte for byte as sent, in order.
func TestForwardIntact(t *testing.T) {
	tn, host, src := webinar(t)
	var subs []*tclient
	for i := 0; i < 3; i++ {
		subs = append(subs, attendee(t, tn, fmt.Sprintf("att%d", i)))
	}
	pid := host.participantID()
	for _, c := range subs {
		v := c.waitPackets(pid+":video", 0, 30, 10*time.Second)
		a := c.waitPackets(pid+":audio", 0, 50, 10*time.Second)
		src.checkIntact(c.name+" video", v, true)
		src.checkIntact(c.name+" audio", a, false)
		// Everything arrived by the direct SRTP path (srtpout.go): the keys it derived are
		// the ones the subscriber decrypts with. The fan-out sent most of it in batches
		// (sendbatch.go); the first packets may wait in the subscriber's queue for its
		// candidate pair and are sent one by one.
		n, batched := participantOf(t, tn, "talk", "u-"+c.name).out.written()
		if n < uint64(len(v)+len(a)) || batched < n/2 {
			t.Fatalf("%s: %d packets written directly, %d of them in batches, %d received", c.name, n, batched, len(v)+len(a))
		}
		t.Logf("%s: %d packets written directly, %d of them in batches", c.name, n, batched)
	}
	hostSent, _ := participantOf(t, tn, "talk", "u-host").out.written()
	t.Logf("host's connection: %d packets written directly", hostSent)
	st := subs[0].next("media.state", 5*time.Second, func(m msg) bool { return len(tracksOf(m)) == 2 })
	if _, ok := st["hands"]; ok {
		t.Fatalf("an attendee's state shows the raised hands: %v", st)
	}
}

// TestForwardSegmentsFrames: the fan-out writes each subscriber its share of a video frame
// together (forward in fanout.go), so a frame's packets to one subscriber leave as one
// segmented message (sendbatch_linux.go). Written packet by packet to every subscriber in
// turn, consecutive packets would go to different addresses and no message would hold
// more than one: the benchmark's gain (BENCHMARKS.md, media round 7) would be gone.
func TestForwardSegmentsFrames(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("UDP segmentation offload is Linux's; elsewhere every packet is its own message")
	}
	tn, host, src := webinarOn(t, nil, false, func(s *source) { s.framePackets = 4 })
	var subs []*tclient
	for i := range 3 {
		subs = append(subs, attendee(t, tn, fmt.Sprintf("att%d", i)))
	}
	video := host.participantID() + ":video"
	for _, c := range subs {
		c.waitPackets(video, 0, 40, 10*time.Second) // past the packets queued before the pair was known
	}
	packets, messages := value(batchedPackets), value(batchedMessages)
	for _, c := range subs {
		src.checkIntact(c.name+" video", c.waitPackets(video, len(c.received(video)), 120, 10*time.Second), true)
	}
	packets, messages = value(batchedPackets)-packets, value(batchedMessages)-messages
	t.Logf("%v packets sent in batches, in %v messages", packets, messages)
	if packets < 300 || messages*2 > packets {
		t.Fatalf("%v packets went in %v messages: a frame's packets to one subscriber should go as one", packets, messages)
	}
}

// TestForwardAnyFirstSequenceNumber: streams whose sequence numbers start in the upper half
// of the range (half of all browser streams) are forwarded from their first packet. Audio,
// which needs no keyframe, used to be held back as "from before the switch point" until
// its numbers wrapped, up to 11 minutes of silence.
func TestForwardAnyFirstSequenceNumber(t *testing.T) {
	for _, seq0 := range []uint16{40000, 65500} {
		t.Run(fmt.Sprint(seq0), func(t *testing.T) {
			tn := newTestNode(t, "n1", broker.NewMemory(), nil, nil)
			host := tn.client("host", "talk", "webinar", RankHost)
			host.must("media.start", nil)
			if r := host.join(); r.str("type") != "ok" {
				t.Fatalf("host join: %v", r)
			}
			src := newSource(t, host, nil, true)
			src.seq0 = seq0
			host.offer(src.kinds())
			src.start()
			c := attendee(t, tn, "att")
			pid := host.participantID()
			a := c.waitPackets(pid+":audio", 0, 50, 5*time.Second)
			v := c.waitPackets(pid+":video", 0, 30, 5*time.Second)
			src.checkIntact("audio", a, false)
			src.checkIntact("video", v, true)
		})
	}
}

// TestNACKRetransmits: a subscriber's NACK for a recent video packet gets that packet again,
// byte for byte, from the history the responder keeps without copying.
func TestNACKRetransmits(t *testing.T) {
	tn, host, _ := webinar(t)
	c := replayingAttendee(t, tn, "att")
	id := host.participantID() + ":video"
	got := c.waitPackets(id, 0, 60, 10*time.Second)
	c.mu.Lock()
	ssrc := c.tracks[id].ssrc
	c.mu.Unlock()
	want := got[len(got)-10] // well inside the history
	before := value(metricNACKs)
	if err := c.pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: ssrc,
		Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{want.seq})}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n := 0
		for _, p := range c.received(id) {
			if p.seq == want.seq {
				if !bytes.Equal(p.payload, want.payload) {
					t.Fatalf("retransmission of %d: payload %x, first sent %x", want.seq, p.payload, want.payload)
				}
				n++
			}
		}
		if n >= 2 {
			if d := value(metricNACKs) - before; d < 1 {
				t.Fatalf("haven_media_nacks_total moved by %v", d)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("packet %d was not retransmitted", want.seq)
}

// TestNACKAcrossResync: after an unmute renumbers the stream (the subscriber's sequence
// numbers run on while the publisher's jumped), a NACK for a packet from before gets it
// under the numbering it was first sent with, and one for a packet after under the new.
func TestNACKAcrossResync(t *testing.T) {
	tn, host, _ := webinar(t)
	spk := attendee(t, tn, "spk")
	promote(t, host, spk, false)
	c := replayingAttendee(t, tn, "att")
	id := spk.participantID() + ":video"
	got := c.waitPackets(id, 0, 40, 10*time.Second)
	before := got[len(got)-5]
	mute := func(on bool) {
		host.must("media.mute", map[string]any{"user": spk.actor.User.ID, "kind": "video", "muted": on})
	}
	mute(true)
	time.Sleep(400 * time.Millisecond)
	mute(false)
	got = c.waitPackets(id, len(got), 30, 10*time.Second)
	after := got[len(got)-5]
	c.mu.Lock()
	ssrc := c.tracks[id].ssrc
	c.mu.Unlock()
	if err := c.pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: ssrc,
		Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{before.seq, after.seq})}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []recvPkt{before, after} {
		deadline := time.Now().Add(5 * time.Second)
		for n := 0; n < 2; {
			if time.Now().After(deadline) {
				t.Fatalf("packet %d was not retransmitted", want.seq)
			}
			time.Sleep(20 * time.Millisecond)
			n = 0
			for _, p := range c.received(id) {
				if p.seq == want.seq {
					if !bytes.Equal(p.payload, want.payload) {
						t.Fatalf("retransmission of %d: payload %x, first sent %x", want.seq, p.payload, want.payload)
					}
					n++
				}
			}
		}
	}
}

func tracksOf(m msg) []any { tr, _ := m["tracks"].([]any); return tr }

func (c *tclient) participantID() string {
	c.t.Helper()
	r := c.must("media.join", nil) // joining again answers with the same participant
	return r.str("participant")
}
