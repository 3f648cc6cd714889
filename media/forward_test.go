package media

import (
	"fmt"
	"testing"
	"time"

	"github.com/havenhealth/haven/broker"
)

// webinar starts a webinar on a fresh node with a host who publishes audio and video.
func webinar(t *testing.T) (*tnode, *tclient, *source) {
	t.Helper()
	tn := newTestNode(t, "n1", broker.NewMemory(), nil, nil)
	host := tn.client("host", "talk", "webinar", RankHost)
	host.must("media.start", nil)
	if r := host.join(); r.str("type") != "ok" {
		t.Fatalf("host join: %v", r)
	}
	src := newSource(t, host, nil, true)
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
	}
	st := subs[0].next("media.state", 5*time.Second, func(m msg) bool { return len(tracksOf(m)) == 2 })
	if _, ok := st["hands"]; ok {
		t.Fatalf("an attendee's state shows the raised hands: %v", st)
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

func tracksOf(m msg) []any { tr, _ := m["tracks"].([]any); return tr }

func (c *tclient) participantID() string {
	c.t.Helper()
	r := c.must("media.join", nil) // joining again answers with the same participant
	return r.str("participant")
}
