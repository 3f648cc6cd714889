package load

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/havenhealth/haven/internal/progress"
)

// TargetP99 is issue 4's bound: a mute or a removal is in effect on every node at p99 below it.
const TargetP99 = 100 * time.Millisecond

// modEvent is a moderation or removed event a target's reader saw.
type modEvent struct {
	typ, action string
	at          int64 // unix ns, when the reader parsed it
}

// modMember is one member's state in the moderation scenario.
type modMember struct {
	id     string
	events chan modEvent // this room's moderation and removed events
	busy   atomic.Bool   // a cycle is acting on it: background chat leaves it alone
	next   atomic.Int64  // next seq expected; 0 until joined, reset by every join
	gaps   atomic.Int64
	dups   atomic.Int64
}

// modRun is one run of the moderation scenario.
type modRun struct {
	r    *runner
	slug string
	ms   []*modMember // by member index
	bg   *stepStats   // background chat and its deliveries
	msgN atomic.Int64
	pad  string

	muteAck, muteEvent, muteEffect, unmuteEffect, removeAck, removeEffect, rejoin hist

	cycles, acceptedAfterMute, refusedAfterUnmute, failed atomic.Int64
}

func (mr *modRun) onEvent(c *conn, f *fields, now int64) {
	if c.idx < 0 || string(f.Room) != mr.slug {
		return
	}
	if t := string(f.Type); t == "moderation" || t == "removed" {
		select {
		case mr.ms[c.idx].events <- modEvent{typ: t, action: string(f.Action), at: now}:
		default: // nobody is waiting for that many: a cycle drains before it acts
		}
	}
}

func (mr *modRun) onMessage(c *conn, f *fields, now int64) {
	if c.idx < 0 || string(f.Room) != mr.slug {
		return
	}
	m := mr.ms[c.idx]
	next := m.next.Load()
	if next == 0 {
		return
	}
	switch seq := f.Seq; {
	case seq == next:
		m.next.Store(seq + 1)
	case seq > next:
		m.gaps.Add(seq - next)
		m.next.Store(seq + 1)
	default:
		m.dups.Add(1)
	}
	mr.bg.deliveries.Add(1)
	if sent := sentAt(f.Text); sent > 0 {
		mr.bg.lat.add(now - sent)
	}
}

// text is a message text stamped with its send time, padded to -size.
func (mr *modRun) text(idx int, sent int64) string {
	t := "L" + strconv.FormatInt(sent, 10) + "|" + strconv.Itoa(idx) + "|"
	if len(t) < mr.r.o.Size {
		t += mr.pad[:mr.r.o.Size-len(t)]
	}
	return t
}

func (mr *modRun) sendBody(idx int, sent int64) []byte {
	return []byte(`"type":"send","room":"` + mr.slug + `","text":"` + mr.text(idx, sent) +
		`","client_msg_id":"` + mr.r.id + "-" + strconv.FormatInt(mr.msgN.Add(1), 10) + `"`)
}

// background sends -rate messages/s in total, round robin over the members not being acted
// on, until stop is closed.
func (mr *modRun) background(ctx context.Context, members []*member, rate float64, stop <-chan struct{}) {
	interval := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	st := mr.bg
	for j := 0; ; j++ {
		t := time.NewTimer(time.Until(next))
		select {
		case <-stop:
			t.Stop()
			return
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		next = next.Add(interval)
		m := members[j%len(members)]
		if mr.ms[m.c.idx].busy.Load() {
			continue
		}
		sent := time.Now().UnixNano()
		st.sent.Add(1)
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := m.c.command(wctx, mr.sendBody(m.c.idx, sent), func(rep reply) {
			switch {
			case rep.Err != nil:
				st.failed.Add(1)
				if !m.c.closing.Load() {
					mr.r.error(fmt.Errorf("send: %w", rep.Err))
				}
			case rep.OK:
				st.acked.Add(1)
				st.ackLat.add(time.Now().UnixNano() - sent)
			default:
				st.reject(rep.Code)
				// A send that was on its way when its author became a target.
				if rep.Code != "muted" && rep.Code != "not_member" {
					mr.r.error(fmt.Errorf("send rejected: %s", rep.Code))
				}
			}
		})
		cancel()
		if err != nil {
			st.failed.Add(1)
			mr.r.error(fmt.Errorf("send: %w", err))
		}
	}
}

// timed is a reply and when the reader saw it.
type timed struct {
	rep reply
	at  int64
}

// command sends body on c and returns a channel that gets its reply.
func command(ctx context.Context, c *conn, body []byte) (<-chan timed, error) {
	ch := make(chan timed, 1)
	err := c.command(ctx, body, func(rep reply) { ch <- timed{rep, time.Now().UnixNano()} })
	return ch, err
}

// await waits for the target's event of type typ (and action, when not empty) while
// collecting the moderator's reply to the action, which it records in ackH. It returns the
// event's arrival time.
func (mr *modRun) await(ctx context.Context, m *modMember, ack <-chan timed, t0 int64, ackH *hist,
	typ, action string, deadline time.Time) (int64, error) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var evAt int64
	for evAt == 0 || ack != nil {
		select {
		case e := <-m.events:
			if e.typ == typ && (action == "" || e.action == action) {
				evAt = e.at
			}
		case a := <-ack:
			ack = nil
			if a.rep.Err != nil {
				return 0, fmt.Errorf("no reply: %w", a.rep.Err)
			}
			if !a.rep.OK {
				return 0, fmt.Errorf("refused: %s", a.rep.Code)
			}
			ackH.add(a.at - t0)
		case <-timer.C:
			if evAt == 0 {
				return 0, fmt.Errorf("no %s event within %s", strings.TrimSpace(typ+" "+action), mr.r.o.Timeout)
			}
			return 0, fmt.Errorf("no reply within %s", mr.r.o.Timeout)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return evAt, nil
}

// probe sends as the target until done says a reply shows the effect, and returns that
// reply's arrival time. Replies that do not yet show it are counted in early.
func (mr *modRun) probe(ctx context.Context, c *conn, deadline time.Time, done func(reply) (bool, error), early *atomic.Int64) (int64, error) {
	backoff := time.Millisecond
	for {
		pctx, cancel := context.WithDeadline(ctx, deadline)
		ch, err := command(pctx, c, mr.sendBody(c.idx, time.Now().UnixNano()))
		if err != nil {
			cancel()
			return 0, err
		}
		var a timed
		select {
		case a = <-ch:
		case <-pctx.Done():
			cancel()
			return 0, fmt.Errorf("send: no reply within %s", mr.r.o.Timeout)
		}
		cancel()
		if a.rep.Err != nil {
			return 0, a.rep.Err
		}
		ok, err := done(a.rep)
		if err != nil {
			return 0, err
		}
		if ok {
			return a.at, nil
		}
		early.Add(1)
		if time.Now().Add(backoff).After(deadline) {
			return 0, fmt.Errorf("not in effect within %s", mr.r.o.Timeout)
		}
		if err := progress.Sleep(ctx, backoff); err != nil {
			return 0, err
		}
		backoff = min(2*backoff, 10*time.Millisecond)
	}
}

// pastMute reports whether a send refused with code got past the mute step: the steps
// after it in the send pipeline (PROTOCOL.md, inline screening).
func pastMute(code string) bool {
	switch code {
	case "slow_mode", "rate_limited", "spam", "blocked", "held":
		return true
	}
	return false
}

func drainEvents(ch chan modEvent) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// fail counts a failed action and notes why.
func (mr *modRun) fail(what string, err error) {
	mr.failed.Add(1)
	mr.r.error(fmt.Errorf("%s: %w", what, err))
}

// cycle mutes, unmutes, removes and rejoins one target, measuring each effect on the
// target's connection.
func (mr *modRun) cycle(ctx context.Context, mod *conn, t *member) {
	m := mr.ms[t.c.idx]
	m.busy.Store(true)
	defer m.busy.Store(false)
	act := func(body string) (<-chan timed, int64, time.Time, error) {
		drainEvents(m.events)
		t0 := time.Now()
		ch, err := command(ctx, mod, []byte(body))
		return ch, t0.UnixNano(), t0.Add(mr.r.o.Timeout), err
	}
	user := strconv.Quote(m.id)
	room := strconv.Quote(mr.slug)

	// Mute: in effect once the target was told and its node refuses its sends.
	ack, t0, deadline, err := act(`"type":"mute","room":` + room + `,"user":` + user + `,"duration_s":600,"reason":"load test"`)
	if err != nil {
		mr.fail("mute", err)
		return
	}
	if evAt, err := mr.await(ctx, m, ack, t0, &mr.muteAck, "moderation", "mute", deadline); err != nil {
		mr.fail("mute", err)
	} else {
		mr.muteEvent.add(evAt - t0)
		at, err := mr.probe(ctx, t.c, deadline, func(rep reply) (bool, error) {
			switch {
			case rep.Code == "muted":
				return true, nil
			case rep.OK || pastMute(rep.Code):
				return false, nil
			}
			return false, fmt.Errorf("send while muted: %s", rep.Code)
		}, &mr.acceptedAfterMute)
		if err != nil {
			mr.fail("mute", err)
		} else {
			mr.muteEffect.add(at - t0)
		}
	}

	// Unmute: in effect once the target was told and its node accepts its sends again.
	ack, t0, deadline, err = act(`"type":"unmute","room":` + room + `,"user":` + user)
	if err != nil {
		mr.fail("unmute", err)
		return
	}
	if _, err := mr.await(ctx, m, ack, t0, new(hist), "moderation", "unmute", deadline); err != nil {
		mr.fail("unmute", err)
	} else {
		at, err := mr.probe(ctx, t.c, deadline, func(rep reply) (bool, error) {
			switch {
			case rep.OK || pastMute(rep.Code):
				return true, nil
			case rep.Code == "muted":
				return false, nil
			}
			return false, fmt.Errorf("send after unmute: %s", rep.Code)
		}, &mr.refusedAfterUnmute)
		if err != nil {
			mr.fail("unmute", err)
		} else {
			mr.unmuteEffect.add(at - t0)
		}
	}

	// Remove: in effect once every connection of the target got removed.
	ack, t0, deadline, err = act(`"type":"remove","room":` + room + `,"user":` + user + `,"reason":"load test"`)
	if err != nil {
		mr.fail("remove", err)
		return
	}
	if evAt, err := mr.await(ctx, m, ack, t0, &mr.removeAck, "removed", "", deadline); err != nil {
		mr.fail("remove", err)
	} else {
		mr.removeEffect.add(evAt - t0)
	}

	// Rejoin, so the member can be a target again.
	start := time.Now()
	jctx, cancel := context.WithTimeout(ctx, mr.r.o.Timeout)
	defer cancel()
	if err := t.c.join(jctx, mr.slug, func(rep reply) { m.next.Store(rep.LastSeq + 1) }); err != nil {
		mr.fail("rejoin", err)
		return
	}
	mr.rejoin.add(int64(time.Since(start)))
	mr.cycles.Add(1)
}

// moderation: a moderator on the first node and -n members spread over all nodes share a
// fresh room with background chat at -rate. Then, one target at a time (the members on the
// other nodes in turn), the moderator mutes, unmutes and removes it, and the target rejoins;
// each effect is timed from the moderator's command to what the target's connection sees.
// It stops after -count cycles or -duration, whichever comes first.
func (r *runner) moderation(ctx context.Context) error {
	o := r.o
	nodes := len(o.URLs)
	admin, err := r.adminToken(ctx)
	if err != nil {
		return err
	}
	toks, err := r.tokens(ctx, o.N+1) // the first is the moderator
	if err != nil {
		return err
	}
	r.phase.Set(func() string { return "looking up member ids" })
	ids, err := r.userIDs(ctx, toks)
	if err != nil {
		return err
	}
	mr := &modRun{r: r, slug: "load-mod-" + r.id, bg: &stepStats{rate: o.Rates[0], rejectedBy: map[string]int{}},
		pad: strings.Repeat("x", o.Size)}
	if err := r.moderatedRoom(ctx, admin, mr.slug, ids[0]); err != nil {
		return err
	}
	mr.ms = make([]*modMember, o.N)
	for i := range mr.ms {
		mr.ms[i] = &modMember{id: ids[i+1], events: make(chan modEvent, 16)}
	}

	// Member i goes to node (i+1) mod nodes, so that the first member is on another node
	// than the moderator's.
	r.memberNode = func(i int) int { return (i + 1) % nodes }
	start := time.Now()
	ms := r.connectAll(ctx, toks[1:], func(int) string { return mr.slug }, r.setupConcurrency(),
		handlers{onMessage: mr.onMessage, onEvent: mr.onEvent},
		func(i int, rep reply) { mr.ms[i].next.Store(rep.LastSeq + 1) })
	r.recordSetup(ms, start)
	defer closeAll(conns(ms))
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	mod, err := r.dialer().dial(dctx, o.URLs[0], toks[0], -1, handlers{})
	if err != nil {
		return fmt.Errorf("moderator: %w", err)
	}
	defer mod.close()
	if err := mod.join(dctx, mr.slug, nil); err != nil {
		return fmt.Errorf("moderator: %w", err)
	}
	var members, targets []*member
	for _, m := range ms {
		if m == nil {
			continue
		}
		members = append(members, m)
		if nodes == 1 || m.node != 0 {
			targets = append(targets, m)
		}
	}
	if len(targets) == 0 {
		return errors.New("no member could connect to a node other than the moderator's")
	}
	res := &Moderation{Nodes: nodes, Room: mr.slug, Targets: len(targets), TargetP99MS: float64(TargetP99.Milliseconds())}
	r.res.Moderation = res
	r.res.Senders, r.res.MessageBytes = len(members), o.Size

	r.phase.Set(func() string { return fmt.Sprintf("settling after %d joins", r.res.Setup.Connected) })
	if err := progress.Sleep(ctx, o.Settle); err != nil {
		return err
	}
	mark := r.markCPU()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); mr.background(ctx, members, o.Rates[0], stop) }()
	actStart := time.Now()
	end := actStart.Add(o.Duration)
	r.phase.Set(func() string {
		return fmt.Sprintf("%d cycles, %d failed: mute in effect p50 %.1f ms p99 %.1f ms, removed p50 %.1f ms p99 %.1f ms; background %d sent",
			mr.cycles.Load(), mr.failed.Load(), mr.muteEffect.quantile(0.5), mr.muteEffect.quantile(0.99),
			mr.removeEffect.quantile(0.5), mr.removeEffect.quantile(0.99), mr.bg.sent.Load())
	})
	for k := 0; (o.Count == 0 || k < o.Count) && time.Now().Before(end) && ctx.Err() == nil; k++ {
		t := targets[k%len(targets)]
		if gone, _ := t.c.disconnected(); gone {
			continue
		}
		mr.cycle(ctx, mod, t)
	}
	close(stop)
	wg.Wait()
	mr.bg.seconds = time.Since(actStart).Seconds()
	if err := ctx.Err(); err != nil {
		return err
	}

	// Let the last background sends finish.
	drainStart := time.Now()
	outstanding := func() int64 {
		st := mr.bg
		return st.sent.Load() - st.acked.Load() - st.rejected.Load() - st.failed.Load()
	}
	for time.Since(drainStart) < o.Drain && outstanding() > 0 {
		if err := progress.Sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	r.res.CPU = r.cpuSince(mark)
	if n := outstanding(); n > 0 {
		r.errorN("sends without a reply by the end of the drain", int(n))
	}
	r.res.Disconnects = r.countDisconnects(append(ms, &member{c: mod}))

	st := mr.bg
	step := Step{TargetRate: st.rate, Seconds: round2(st.seconds), Sent: st.sent.Load(), Acked: st.acked.Load(),
		Deliveries: st.deliveries.Load(), Latency: st.lat.summary(), AckLatency: st.ackLat.summary()}
	if len(st.rejectedBy) > 0 {
		step.Rejected = st.rejectedBy
	}
	if st.seconds > 0 {
		step.AckedPerSec = round2(float64(step.Acked) / st.seconds)
		step.DeliveriesPerSec = round2(float64(step.Deliveries) / st.seconds)
	}
	r.res.Steps = []Step{step}

	res.Cycles = mr.cycles.Load()
	res.MuteAck, res.MuteEvent, res.MuteEffect = mr.muteAck.summary(), mr.muteEvent.summary(), mr.muteEffect.summary()
	res.UnmuteEffect = mr.unmuteEffect.summary()
	res.RemoveAck, res.RemoveEffect, res.Rejoin = mr.removeAck.summary(), mr.removeEffect.summary(), mr.rejoin.summary()
	res.AcceptedAfterMute, res.RefusedAfterUnmute = mr.acceptedAfterMute.Load(), mr.refusedAfterUnmute.Load()
	res.Failed = mr.failed.Load()
	for _, m := range mr.ms {
		res.Lost += m.gaps.Load()
		res.Duplicates += m.dups.Load()
	}
	res.TargetMet = targetMet(res)
	return nil
}

// targetMet is issue 4's verdict: both effects measured, without failures, at p99 below
// the bound.
func targetMet(m *Moderation) bool {
	bound := float64(TargetP99.Milliseconds())
	return m.Failed == 0 && m.MuteEffect.Count > 0 && m.RemoveEffect.Count > 0 &&
		m.MuteEffect.P99 < bound && m.RemoveEffect.P99 < bound
}
