package media

import (
	"time"

	"github.com/pion/rtp"
)

// Fan-out. Each packet of a layer is handed to a few workers (one per processor), and
// each worker rewrites and writes it for its share of the subscribers, so a packet costs
// a few goroutine wake-ups however many receive it. Waking each subscriber's own writer
// for each packet cost about as much CPU as SRTP at a few hundred subscribers.
//
// Writing from the worker is safe for subscribers reached over UDP: every one of them is
// written through the one ICE UDP socket, which never waits for a particular receiver. A
// TCP connection can block on one slow receiver, so subscribers reached over ICE-TCP (and
// any whose transport is not known yet) keep their own writer and bounded queue
// (downTrack.writeLoop), and the worker only queues for them.

// fanQueue is how many packets a fan-out worker may have waiting: more than a keyframe.
const fanQueue = 256

// fanJob is one packet for one worker's share of a layer's subscribers.
type fanJob struct {
	l     *layer
	p     *rtp.Packet
	key   bool
	more  bool // a video packet before its frame's last: the rest of the frame follows
	now   time.Time
	downs []*downTrack // the worker's share (pubTrack.parts)
}

// fanout is a layer's workers, one per processor. A subscriber belongs to one worker for
// as long as it subscribes (downTrack.share), so its packets are written in order.
type fanout struct {
	work []chan fanJob
}

func newFanout(workers int) *fanout {
	f := &fanout{}
	for range workers {
		ch := make(chan fanJob, fanQueue)
		f.work = append(f.work, ch)
		go work(ch)
	}
	return f
}

// send hands one packet to the workers without waiting, each its part of the subscribers
// (parts[i] for worker i): a worker that has fallen fanQueue packets behind loses this one
// for its part.
func (f *fanout) send(l *layer, p *rtp.Packet, key, more bool, parts [][]*downTrack) {
	now := time.Now()
	for i, downs := range parts {
		if len(downs) == 0 {
			continue
		}
		select {
		case f.work[i] <- fanJob{l: l, p: p, key: key, more: more, now: now, downs: downs}:
		default:
			dropsQueueFull.Add(float64(len(downs)))
		}
	}
}

// fanBehind is how many jobs a worker may have waiting before it counts as behind: more
// than a keyframe's packets arriving at once.
const fanBehind = 32

// behind reports whether the worker serving share has fallen behind.
func (f *fanout) behind(share uint32) bool {
	return len(f.work[share%uint32(len(f.work))]) > fanBehind
}

func (f *fanout) close() {
	for _, ch := range f.work {
		close(ch)
	}
}

// groupMax is how many packets a worker takes at once.
const groupMax = 16

// frameWait is how long a worker waits for the rest of a video frame. A frame's packets
// leave a sender together, or paced over a few milliseconds by a browser; a receiver can
// decode none of them before the last.
const frameWait = 2 * time.Millisecond

// work runs one worker. It takes the packets that wait along with the one that woke it,
// and the rest of a video frame, so each subscriber's share of them is written together:
// consecutive packets to one address of one size leave as one segmented send
// (sendbatch_linux.go), and the worker wakes once a frame rather than once a packet.
func work(ch chan fanJob) {
	var group [groupMax]fanJob
	wait := time.NewTimer(frameWait)
	wait.Stop()
	for j := range ch {
		group[0] = j
		n := collect(ch, group[:], wait)
		forward(group[:n])
		clear(group[:n]) // let the packets go
	}
}

// collect adds to group[0] the jobs waiting in ch and, while the last is a frame's packet
// but not its last, the frame's next packet (waiting up to frameWait with the stopped
// timer wait); it returns how many group holds.
func collect(ch chan fanJob, group []fanJob, wait *time.Timer) int {
	n := 1
	for n < len(group) {
		var ok bool
		select {
		case group[n], ok = <-ch:
		default:
			if !group[n-1].more {
				return n
			}
			wait.Reset(frameWait)
			select {
			case group[n], ok = <-ch:
			case <-wait.C:
			}
			wait.Stop()
		}
		if !ok {
			return n
		}
		n++
	}
	return n
}

// forward offers jobs' packets to their subscribers, writing them to those reached over
// UDP (batched: sendbatch.go) and queueing them for the others; each subscriber gets its
// packets in order and together. Jobs whose shares differ (a subscriber came or went
// between them) are taken one after another. Bytes are counted once per share.
func forward(jobs []fanJob) {
	var sent uint64
	b := sendBatches.Get().(*sendBatch)
	for len(jobs) > 0 {
		downs := jobs[0].downs
		run := 1
		for run < len(jobs) && sameShare(jobs[run].downs, downs) {
			run++
		}
		for _, d := range downs {
			for _, j := range jobs[:run] {
				out := d.offer(j.l, j.p, j.key, j.now)
				if out == nil {
					continue
				}
				if d.direct() {
					sent += uint64(d.write(out, b))
				} else {
					d.queue(out)
				}
			}
		}
		jobs = jobs[run:]
	}
	b.flush()
	sendBatches.Put(b)
	if sent > 0 {
		countOut(sent)
	}
}

// sameShare reports whether two jobs are for the same subscribers: shares are replaced,
// never changed in place (pubTrack.parts).
func sameShare(a, b []*downTrack) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// direct reports whether the fan-out may write to this subscriber itself: it is reached
// over UDP, and no packet waits in its queue or is being written from it, which a direct
// write would overtake. Packets queue before the subscriber's candidate pair is known;
// overtaking them delivered a packet 1.3 s late, out of order, in a CI run.
func (d *downTrack) direct() bool {
	return d.sub.udp.Load() && d.queued.Load() == 0
}
