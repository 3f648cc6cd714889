package load

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/havenhealth/haven/internal/progress"
)

// roomState is what senders learned about one room.
type roomState struct {
	slug    string
	members int
	acked   atomic.Int64
	maxSeq  atomic.Int64 // highest acknowledged seq
}

// track is one receiver's view of its room's stream: seqs must arrive consecutively.
type track struct {
	rs       *roomState
	base     atomic.Int64 // the join reply's last_seq
	next     atomic.Int64 // next seq expected; 0 until joined
	received atomic.Int64
	gaps     atomic.Int64 // seqs skipped
	dups     atomic.Int64 // seqs at or below one already seen
}

// stepStats accumulates one rate step (or the drain after the last).
type stepStats struct {
	rate                          float64
	sent, acked, failed, rejected atomic.Int64
	deliveries                    atomic.Int64
	lat, ackLat                   hist
	mu                            sync.Mutex
	rejectedBy                    map[string]int
	seconds                       float64
}

func (s *stepStats) reject(code string) {
	s.rejected.Add(1)
	s.mu.Lock()
	s.rejectedBy[code]++
	s.mu.Unlock()
}

type chatRun struct {
	r      *runner
	rooms  []*roomState
	tracks []*track
	cur    atomic.Pointer[stepStats]
	msgN   atomic.Int64
	pad    string
}

func (cr *chatRun) onMessage(c *conn, f *fields, now int64) {
	tr := cr.tracks[c.idx]
	next := tr.next.Load()
	if next == 0 || string(f.Room) != tr.rs.slug {
		return
	}
	switch seq := f.Seq; {
	case seq == next:
		tr.next.Store(seq + 1)
	case seq > next:
		tr.gaps.Add(seq - next)
		tr.next.Store(seq + 1)
	default:
		tr.dups.Add(1)
	}
	tr.received.Add(1)
	st := cr.cur.Load()
	st.deliveries.Add(1)
	if sent := sentAt(f.Text); sent > 0 {
		st.lat.add(now - sent)
	}
}

// send posts one message stamped with its send time; the reply is accounted on the
// connection's reader.
func (cr *chatRun) send(ctx context.Context, m *member, rs *roomState) {
	st := cr.cur.Load()
	sent := time.Now().UnixNano()
	n := cr.msgN.Add(1)
	text := "L" + strconv.FormatInt(sent, 10) + "|" + strconv.Itoa(m.c.idx) + "|"
	if len(text) < cr.r.o.Size {
		text += cr.pad[:cr.r.o.Size-len(text)]
	}
	body := `"type":"send","room":"` + rs.slug + `","text":"` + text + `","client_msg_id":"` + cr.r.id + "-" + strconv.FormatInt(n, 10) + `"`
	st.sent.Add(1)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := m.c.command(wctx, []byte(body), func(rep reply) {
		switch {
		case rep.Err != nil:
			st.failed.Add(1)
			if !m.c.closing.Load() { // our own close at the end is not the server's doing
				cr.r.error(fmt.Errorf("send: %w", rep.Err))
			}
		case rep.OK:
			rs.acked.Add(1)
			maxInt64(&rs.maxSeq, rep.Seq)
			st.acked.Add(1)
			st.ackLat.add(time.Now().UnixNano() - sent)
		default:
			st.reject(rep.Code)
			cr.r.error(fmt.Errorf("send rejected: %s", rep.Code))
		}
	})
	if err != nil {
		st.failed.Add(1)
		cr.r.error(fmt.Errorf("send: %w", err))
	}
}

// chat runs broadcast (every member in -room, a few senders) and rooms (-rooms rooms with
// n/rooms members each, everyone sending), stepping through -rate.
func (r *runner) chat(ctx context.Context) error {
	o := r.o
	top := 0.0
	for _, x := range o.Rates {
		top = math.Max(top, x)
	}
	cr := &chatRun{r: r, tracks: make([]*track, o.N)}
	nSenders := o.N
	var slugs []string
	if o.Scenario == "broadcast" {
		nSenders = o.Senders
		if nSenders == 0 {
			nSenders = int(math.Ceil(top / o.SenderRate))
		}
		if nSenders > o.N {
			return fmt.Errorf("-rate %g at %g messages/s per sender needs %d senders but -n is %d: raise -n or -sender-rate, or lower -rate", top, o.SenderRate, nSenders, o.N)
		}
		slugs = []string{o.Room}
	} else if per := top / float64(o.N); per > o.SenderRate {
		return fmt.Errorf("-rate %g over %d members is %.2f messages/s each, more than -sender-rate %g: raise -n or lower -rate", top, o.N, per, o.SenderRate)
	}
	r.res.Senders, r.res.MessageBytes = nSenders, o.Size
	toks, err := r.tokens(ctx, o.N)
	if err != nil {
		return err
	}
	if o.Scenario == "rooms" {
		if slugs, err = r.loadRooms(ctx, o.Rooms, toks[0]); err != nil {
			return err
		}
		r.res.Rooms = len(slugs)
	}
	for _, s := range slugs {
		cr.rooms = append(cr.rooms, &roomState{slug: s})
	}
	for i := range cr.tracks {
		cr.tracks[i] = &track{rs: cr.rooms[i%len(cr.rooms)]}
	}
	pad := make([]byte, o.Size)
	for i := range pad {
		pad[i] = 'x'
	}
	cr.pad = string(pad)
	cr.cur.Store(&stepStats{rejectedBy: map[string]int{}}) // deliveries before the first step

	start := time.Now()
	ms := r.connectAll(ctx, toks, func(i int) string { return cr.tracks[i].rs.slug }, r.setupConcurrency(), handlers{onMessage: cr.onMessage},
		func(i int, rep reply) {
			cr.tracks[i].base.Store(rep.LastSeq)
			cr.tracks[i].next.Store(rep.LastSeq + 1)
		})
	r.recordSetup(ms, start)
	defer closeAll(conns(ms))
	var senders []*member
	for _, m := range ms {
		if m != nil && len(senders) < nSenders {
			senders = append(senders, m)
		}
		if m != nil {
			cr.tracks[m.c.idx].rs.members++
		}
	}
	if len(senders) == 0 {
		return fmt.Errorf("no member could connect")
	}

	r.phase.Set(func() string { return fmt.Sprintf("settling after %d joins", r.res.Setup.Connected) })
	if err := progress.Sleep(ctx, o.Settle); err != nil {
		return err
	}
	mark := r.markCPU()
	var steps []*stepStats
	for k, rate := range o.Rates {
		st := &stepStats{rate: rate, rejectedBy: map[string]int{}}
		steps = append(steps, st)
		cr.cur.Store(st)
		r.phase.Set(cr.progress(fmt.Sprintf("step %d/%d at %g/s", k+1, len(o.Rates), rate), st, ms))
		stepStart := time.Now()
		end := stepStart.Add(o.Duration)
		interval := time.Duration(float64(len(senders)) / rate * float64(time.Second))
		var wg sync.WaitGroup
		for j, m := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rs := cr.tracks[m.c.idx].rs
				next := stepStart.Add(interval * time.Duration(j) / time.Duration(len(senders)))
				for next.Before(end) {
					if progress.Sleep(ctx, time.Until(next)) != nil {
						return
					}
					cr.send(ctx, m, rs)
					next = next.Add(interval)
				}
			}()
		}
		wg.Wait()
		if err := progress.Sleep(ctx, time.Until(end)); err != nil {
			return err
		}
		st.seconds = time.Since(stepStart).Seconds()
	}

	// Drain: wait until every reply is in and every member has seen its room's newest seq.
	drain := &stepStats{rejectedBy: map[string]int{}}
	cr.cur.Store(drain)
	drainStart := time.Now()
	r.phase.Set(func() string {
		return fmt.Sprintf("draining: %d members behind", cr.behind(ms))
	})
	for time.Since(drainStart) < o.Drain && (cr.outstanding(steps) > 0 || cr.behind(ms) > 0) {
		if err := progress.Sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	drainSecs := time.Since(drainStart).Seconds()
	r.res.CPU = r.cpuSince(mark)
	r.res.Disconnects = r.countDisconnects(ms)
	if n := cr.outstanding(steps); n > 0 {
		r.errorN("sends without a reply by the end of the drain", int(n))
	}
	for _, st := range steps {
		s := Step{TargetRate: st.rate, Seconds: round2(st.seconds), Sent: st.sent.Load(), Acked: st.acked.Load(),
			Deliveries: st.deliveries.Load(), Latency: st.lat.summary(), AckLatency: st.ackLat.summary()}
		if len(st.rejectedBy) > 0 {
			s.Rejected = st.rejectedBy
		}
		s.AckedPerSec = round2(float64(s.Acked) / st.seconds)
		s.DeliveriesPerSec = round2(float64(s.Deliveries) / st.seconds)
		r.res.Steps = append(r.res.Steps, s)
	}
	d := &Delivery{DrainSeconds: round2(drainSecs), DrainLatency: drain.lat.summary()}
	for _, rs := range cr.rooms {
		d.Expected += rs.acked.Load() * int64(rs.members)
	}
	for _, m := range ms {
		if m == nil {
			continue
		}
		tr := cr.tracks[m.c.idx]
		d.Received += tr.received.Load()
		d.Duplicates += tr.dups.Load()
		d.Lost += tr.gaps.Load()
		if tail := tr.rs.maxSeq.Load() - (tr.next.Load() - 1); tail > 0 {
			d.Undelivered += tail
		}
	}
	r.res.Delivery = d
	return nil
}

// outstanding counts sends still waiting for a reply.
func (cr *chatRun) outstanding(steps []*stepStats) int64 {
	var n int64
	for _, st := range steps {
		n += st.sent.Load() - st.acked.Load() - st.rejected.Load() - st.failed.Load()
	}
	return n
}

// behind counts connected members that have not yet seen their room's newest acked seq.
func (cr *chatRun) behind(ms []*member) int {
	n := 0
	for _, m := range ms {
		if m == nil {
			continue
		}
		if gone, _ := m.c.disconnected(); gone {
			continue
		}
		tr := cr.tracks[m.c.idx]
		if tr.next.Load()-1 < tr.rs.maxSeq.Load() {
			n++
		}
	}
	return n
}

func (cr *chatRun) progress(label string, st *stepStats, ms []*member) func() string {
	var lastD int64
	last := time.Now()
	return func() string {
		d := st.deliveries.Load()
		now := time.Now()
		rate := float64(d-lastD) / now.Sub(last).Seconds()
		lastD, last = d, now
		var gaps int64
		for _, tr := range cr.tracks {
			gaps += tr.gaps.Load()
		}
		return fmt.Sprintf("%s: sent %d, acked %d, rejected %d, %.0f deliveries/s, latency p50 %.1f ms p99 %.1f ms, gaps %d",
			label, st.sent.Load(), st.acked.Load(), st.rejected.Load(), rate, st.lat.quantile(0.5), st.lat.quantile(0.99), gaps)
	}
}
