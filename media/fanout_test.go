package media

import (
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/havenhealth/haven/internal/testenv"
)

// stalledWriter stands for a TCP connection whose receiver stopped reading: every write
// waits until gate closes.
type stalledWriter struct{ gate chan struct{} }

func (w stalledWriter) WriteRTP(*rtp.Header, []byte) (int, error) {
	<-w.gate
	return 0, io.ErrClosedPipe
}
func (w stalledWriter) Write([]byte) (int, error) { <-w.gate; return 0, io.ErrClosedPipe }

// TestStuckTCPSubscriberDoesNotStallOthers: the fan-out writes to subscribers reached over
// UDP itself, and queues for those over ICE-TCP, whose socket can block. A TCP subscriber
// whose writes never return loses packets from its own full queue (counted), while a UDP
// subscriber of the same track goes on receiving every packet in order.
func TestStuckTCPSubscriberDoesNotStallOthers(t *testing.T) {
	// One processor, so one fan-out worker per layer serves both subscribers: a write
	// blocking that worker would stall the UDP subscriber too.
	procs := runtime.GOMAXPROCS(1)
	t.Cleanup(func() { runtime.GOMAXPROCS(procs) }) // after the node closes
	port := testenv.FreePort(t)
	tn, host, src := webinarOn(t, func(c *Config) {
		c.TCPPort = port
		c.SubscriberQueue = 16
	}, false)
	track := host.participantID() + ":video"

	fast := attendee(t, tn, "fast")
	slow := tcpAttendee(t, tn, "slow")
	slow.waitPackets(track, 0, 10, 15*time.Second)
	fast.waitPackets(track, 0, 10, 10*time.Second)

	pf, ps := participantOf(t, tn, "talk", "u-fast"), participantOf(t, tn, "talk", "u-slow")
	if !pf.udp.Load() || ps.udp.Load() {
		t.Fatalf("written directly: over UDP %v, over TCP %v; want true, false", pf.udp.Load(), ps.udp.Load())
	}
	d := downOf(t, tn, "talk", ps, track)
	gate := make(chan struct{})
	t.Cleanup(func() { close(gate) }) // before the node closes: its writer must return
	d.mu.Lock()
	d.ws = stalledWriter{gate: gate}
	d.mu.Unlock()

	drops := value(dropsQueueFull)
	from := len(fast.received(track))
	got := fast.waitPackets(track, from, 60, 15*time.Second)
	src.checkIntact("UDP subscriber while a TCP one is stuck", got[from:], false)
	if value(dropsQueueFull) <= drops {
		t.Fatalf("the stuck subscriber's queue dropped nothing (%v)", value(dropsQueueFull))
	}
}

// tcpAttendee joins the webinar as a member whose only ICE candidates are TCP.
func tcpAttendee(t *testing.T, tn *tnode, name string) *tclient {
	t.Helper()
	c := tn.client(name, "talk", "webinar", RankMember)
	c.networks = []webrtc.NetworkType{webrtc.NetworkTypeTCP4}
	if r := c.join(); r.str("type") != "ok" {
		t.Fatalf("%s join over TCP: %v", name, r)
	}
	return c
}

// participantOf finds user's participant in room's session, through the session loop.
func participantOf(t *testing.T, tn *tnode, room, user string) *participant {
	t.Helper()
	tn.n.mu.Lock()
	s := tn.n.sessions[room]
	tn.n.mu.Unlock()
	ch := make(chan *participant, 1)
	if s == nil || !s.post(func() {
		var found *participant
		for _, p := range s.order {
			if p.actor.User.ID == user {
				found = p
			}
		}
		ch <- found
	}) {
		t.Fatalf("no session in %s", room)
	}
	p := <-ch
	if p == nil {
		t.Fatalf("%s is not in the session", user)
	}
	return p
}

// downOf is p's subscription to track, read in the session loop.
func downOf(t *testing.T, tn *tnode, room string, p *participant, track string) *downTrack {
	t.Helper()
	tn.n.mu.Lock()
	s := tn.n.sessions[room]
	tn.n.mu.Unlock()
	ch := make(chan *downTrack, 1)
	s.post(func() { ch <- p.downs[track] })
	d := <-ch
	if d == nil {
		t.Fatalf("%s does not receive %s", p.id, track)
	}
	return d
}

// TestFanoutBehind: a worker with more than fanBehind jobs waiting counts as behind, and
// only for the subscribers it serves; retransmissions to them wait (nack.go).
func TestFanoutBehind(t *testing.T) {
	f := &fanout{work: []chan fanJob{make(chan fanJob, fanQueue), make(chan fanJob, fanQueue)}}
	for range fanBehind {
		f.work[1] <- fanJob{}
	}
	if f.behind(0) || f.behind(1) {
		t.Fatalf("behind with %d jobs waiting", fanBehind)
	}
	f.work[1] <- fanJob{}
	if f.behind(0) || !f.behind(1) || !f.behind(3) {
		t.Fatalf("behind: share 0 %v, 1 %v, 3 %v; want false, true, true", f.behind(0), f.behind(1), f.behind(3))
	}
}

// TestDirectWaitsForQueue: when a subscriber's candidate pair turns to UDP while packets
// wait in its queue (they queue before the pair is known), the fan-out keeps queueing
// until the writer has written them, rather than overtaking them with direct writes.
func TestDirectWaitsForQueue(t *testing.T) {
	port := testenv.FreePort(t)
	tn, host, _ := webinarOn(t, func(c *Config) { c.TCPPort = port }, false)
	track := host.participantID() + ":video"
	sub := tcpAttendee(t, tn, "sub")
	sub.waitPackets(track, 0, 10, 15*time.Second)
	ps := participantOf(t, tn, "talk", "u-sub")
	d := downOf(t, tn, "talk", ps, track)
	gate := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(open) // before the node closes: its writer must return
	d.mu.Lock()
	d.ws = stalledWriter{gate: gate}
	d.mu.Unlock()
	waitFor(t, 5*time.Second, "a packet waiting in the queue", func() bool { return d.queued.Load() > 0 })
	ps.udp.Store(true) // as if the pair had turned to UDP
	if d.direct() {
		t.Fatal("direct writes would overtake the queued packets")
	}
	open()
	waitFor(t, 5*time.Second, "direct writes once the queue is written", d.direct)
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(limit); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestCollectFrame: a worker takes what waits, and waits for the rest of a video frame,
// but not for more after a frame's last packet or a packet that is not video.
func TestCollectFrame(t *testing.T) {
	ch := make(chan fanJob, fanQueue)
	wait := time.NewTimer(frameWait)
	wait.Stop()
	var group [groupMax]fanJob
	p := func(seq uint16) *rtp.Packet { return &rtp.Packet{Header: rtp.Header{SequenceNumber: seq}} }

	// Waiting already: taken together, up to the frame's last.
	ch <- fanJob{p: p(2), more: true}
	ch <- fanJob{p: p(3)}
	group[0] = fanJob{p: p(1), more: true}
	if n := collect(ch, group[:], wait); n != 3 || group[2].p.SequenceNumber != 3 {
		t.Fatalf("collected %d, want 3", n)
	}

	// The frame's next packet arriving while the worker waits for it.
	go func() {
		time.Sleep(frameWait / 10)
		ch <- fanJob{p: p(5)}
	}()
	group[0] = fanJob{p: p(4), more: true}
	if n := collect(ch, group[:], wait); n != 2 || group[1].p.SequenceNumber != 5 {
		t.Fatalf("collected %d, want the frame's 2", n)
	}

	// A frame's last packet (or audio): nothing waits, nothing more is waited for.
	group[0] = fanJob{p: p(6)}
	if n := collect(ch, group[:], wait); n != 1 {
		t.Fatalf("collected %d, want 1", n)
	}

	// A frame whose last packet never comes: the worker goes on alone after frameWait.
	group[0] = fanJob{p: p(7), more: true}
	if n := collect(ch, group[:], wait); n != 1 {
		t.Fatalf("collected %d, want 1", n)
	}

	// At most a group's worth; the rest stay for the next.
	for i := range groupMax + 2 {
		ch <- fanJob{p: p(uint16(10 + i)), more: true}
	}
	group[0] = fanJob{p: p(9), more: true}
	if n := collect(ch, group[:], wait); n != groupMax || len(ch) != 3 {
		t.Fatalf("collected %d leaving %d, want %d leaving 3", n, len(ch), groupMax)
	}

	// A closed queue ends the group.
	for len(ch) > 0 {
		<-ch
	}
	close(ch)
	group[0] = fanJob{p: p(30), more: true}
	if n := collect(ch, group[:], wait); n != 1 {
		t.Fatalf("collected %d from a closed queue, want 1", n)
	}
}
