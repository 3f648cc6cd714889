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
		go func() {
			for j := range ch {
				forward(j)
			}
		}()
	}
	return f
}

// send hands one packet to the workers without waiting, each its part of the subscribers
// (parts[i] for worker i): a worker that has fallen fanQueue packets behind loses this one
// for its part.
func (f *fanout) send(l *layer, p *rtp.Packet, key bool, parts [][]*downTrack) {
	now := time.Now()
	for i, downs := range parts {
		if len(downs) == 0 {
			continue
		}
		select {
		case f.work[i] <- fanJob{l: l, p: p, key: key, now: now, downs: downs}:
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

// forward offers j's packet to each of its subscribers, writing it to those reached over
// UDP (batched: sendbatch.go) and queueing it for the others. Bytes are counted once per
// share.
func forward(j fanJob) {
	var sent uint64
	b := sendBatches.Get().(*sendBatch)
	for _, d := range j.downs {
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
	b.flush()
	sendBatches.Put(b)
	if sent > 0 {
		countOut(sent)
	}
}

// direct reports whether the fan-out may write to this subscriber itself: it is reached
// over UDP, and no packet waits in its queue or is being written from it, which a direct
// write would overtake. Packets queue before the subscriber's candidate pair is known;
// overtaking them delivered a packet 1.3 s late, out of order, in a CI run.
func (d *downTrack) direct() bool {
	return d.sub.udp.Load() && d.queued.Load() == 0
}
