package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/internal/wsclient"
)

// Fault tests run real haven processes. Each asserts the same end state: every
// acknowledged send is present exactly once, in seq order, for members on every node.

// pace keeps a member under the binary's default post rate limit (2/s, burst 10).
const pace = 550 * time.Millisecond

type member struct {
	acc  wsclient.Account
	conn *wsclient.Conn
	s    *stream
}

func joinMember(t *testing.T, c *cluster, i int, room string) *member {
	t.Helper()
	acc := c.member(i)
	conn := c.dial(i, acc)
	join(t, conn, room, nil)
	return &member{acc: acc, conn: conn, s: newStream(fmt.Sprintf("%s@%s", acc.DisplayName, c.node(i).ID))}
}

// reconnect dials node i as the same account, joins with since, and records what the join
// recovered.
func (m *member) reconnect(t *testing.T, c *cluster, i int, room string) wsclient.Msg {
	t.Helper()
	m.conn = c.dial(i, m.acc)
	m.s.who += "→" + c.node(i).ID
	since := m.s.last
	r := join(t, m.conn, room, &since)
	if r["truncated"] == true {
		t.Fatalf("%s: recovery truncated", m.s.who)
	}
	m.s.add(t, toMsgs(r["messages"])...)
	return r
}

// finish reads each member's stream up to the highest acknowledged seq, waits a moment for
// anything extra (duplicates), and checks it.
func finish(t *testing.T, ok map[int64]acked, upto int64, ms ...*member) {
	t.Helper()
	if len(ok) == 0 {
		t.Fatal("nothing was acknowledged")
	}
	for _, m := range ms {
		m.s.readUntil(t, m.conn, upto, 20*time.Second)
	}
	for _, m := range ms {
		m.s.drainQuiet(t, m.conn, 300*time.Millisecond)
		m.s.check(t, ok, upto)
	}
}

// TestFaultRedisOutage kills Redis while two nodes carry traffic: both keep accepting,
// storing and serving their own members, /readyz says degraded, the broker reconnects when
// Redis returns, and members on every node end up with every message exactly once
// without doing anything.
func TestFaultRedisOutage(t *testing.T) {
	rs := testenv.StartRedis(t)
	c, procs := procCluster(t, 2, "", rs.URL())
	room := c.newRoom(t)
	var ms []*member
	for i := 0; i < 4; i++ { // two per node
		ms = append(ms, joinMember(t, c, i, room))
	}
	ledgers := []*ledger{newLedger(), newLedger()} // per node
	stops := []chan struct{}{make(chan struct{}), make(chan struct{})}
	wgs := make([]sync.WaitGroup, 2)
	for i, m := range ms {
		wgs[i%2].Add(1)
		go sender(m.conn, room, fmt.Sprintf("n%d-m%d", i%2, i), pace, ledgers[i%2], nil, stops[i%2], &wgs[i%2])
	}
	stopped := []bool{false, false}
	stopNode := func(i int) {
		if !stopped[i] {
			stopped[i] = true
			close(stops[i])
			wgs[i].Wait()
		}
	}
	defer stopNode(0)
	defer stopNode(1)

	time.Sleep(1500 * time.Millisecond)
	rs.Kill(t)
	killed := time.Now()
	for _, p := range procs {
		p.waitReady("degraded", 10*time.Second)
	}
	var before []int
	for _, l := range ledgers {
		ok, _ := l.snapshot()
		before = append(before, len(ok))
	}
	time.Sleep(3 * time.Second)
	// Node 1 falls silent; node 2 keeps talking. Node 1's members can then only learn of
	// node 2's last messages by the recovery that follows Redis's return: no later traffic
	// reveals the gap to them.
	stopNode(0)
	time.Sleep(1500 * time.Millisecond)
	stopNode(1)
	for i, l := range ledgers {
		ok, _ := l.snapshot()
		if len(ok) <= before[i] {
			t.Errorf("node %d acknowledged nothing while Redis was down", i+1)
		}
	}
	// Members see their own node's messages during the outage (local delivery, with the
	// other node's earlier messages filled in from the store).
	_, max0 := ledgers[0].snapshot()
	_, max1 := ledgers[1].snapshot()
	if max1 <= max0 {
		t.Fatalf("node 2's last message (seq %d) is not after node 1's (seq %d); the test needs it to be", max1, max0)
	}
	for i, m := range ms {
		want := max0
		if i%2 == 1 {
			want = max1
		}
		m.s.readUntil(t, m.conn, want, 10*time.Second)
	}
	for _, m := range []*member{ms[0], ms[2]} {
		m.s.drainQuiet(t, m.conn, 200*time.Millisecond)
		if m.s.last >= max1 {
			t.Fatalf("%s saw seq %d while Redis was down; node 2's messages should not reach node 1 yet", m.s.who, m.s.last)
		}
	}
	rs.Start(t)
	restarted := time.Now()
	for _, p := range procs {
		p.waitReady("ok", 15*time.Second)
	}
	t.Logf("brokers healthy %v after Redis restarted", time.Since(restarted).Round(time.Millisecond))
	t.Logf("Redis down for %v; node 1's members at seq %d of %d when it returned", time.Since(killed).Round(time.Millisecond), ms[0].s.last, max1)

	for i, l := range ledgers {
		if errs := l.errors(); len(errs) > 0 {
			t.Errorf("node %d: sends failed: %v", i+1, errs)
		}
	}
	ok, upto := merge(ledgers...)
	finish(t, ok, upto, ms...)
	t.Logf("every member had every message %v after Redis restarted", time.Since(restarted).Round(time.Millisecond))
	t.Logf("%d messages acknowledged, highest seq %d, delivered once each to %d members on 2 nodes", len(ok), upto, len(ms))
}

// TestFaultNodeKilled kills a node with SIGKILL under traffic: its clients reconnect to the
// other node, join with since, resend what was never answered, and lose nothing.
func TestFaultNodeKilled(t *testing.T) {
	rs := testenv.StartRedis(t)
	c, procs := procCluster(t, 2, "", rs.URL())
	room := c.newRoom(t)
	victims := []*member{joinMember(t, c, 0, room), joinMember(t, c, 0, room)}
	survivors := []*member{joinMember(t, c, 1, room), joinMember(t, c, 1, room)}
	l := newLedger()
	lost := make([]unanswered, len(victims)) // resent by the same account after reconnecting
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, m := range append(append([]*member{}, victims...), survivors...) {
		var u *unanswered
		if i < len(victims) {
			u = &lost[i]
		}
		wg.Add(1)
		go sender(m.conn, room, fmt.Sprintf("k%d", i), pace, l, u, stop, &wg)
	}
	stopped := false
	defer func() {
		if !stopped {
			close(stop)
			wg.Wait()
		}
	}()

	time.Sleep(2 * time.Second)
	procs[0].kill()
	for _, m := range victims {
		if !wsclient.Wait(m.conn.Done(), 5*time.Second) {
			t.Fatalf("%s: connection still open 5s after its node was killed", m.s.who)
		}
		m.s.drainQuiet(t, m.conn, 100*time.Millisecond) // what arrived before the kill
	}
	time.Sleep(500 * time.Millisecond) // survivors keep talking meanwhile
	for i, m := range victims {
		m.reconnect(t, c, 1, room)
		lost[i].resend(t, m.conn, room, l)
		wg.Add(1)
		go sender(m.conn, room, fmt.Sprintf("k%d-again", i), pace, l, nil, stop, &wg)
	}
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	stopped = true

	if errs := l.errors(); len(errs) > 0 {
		t.Errorf("sends failed: %v", errs)
	}
	ok, upto := merge(l)
	finish(t, ok, upto, append(victims, survivors...)...)
	t.Logf("%d messages acknowledged, highest seq %d", len(ok), upto)
}

// TestFaultNodeDrained sends SIGTERM to a node: its clients get a reconnect event, new
// upgrades are refused, its members leave presence, it exits within the shutdown timeout,
// and its clients continue on the other node without losing anything.
func TestFaultNodeDrained(t *testing.T) {
	const shutdownTimeout = 3 * time.Second
	rs := testenv.StartRedis(t)
	c, procs := procCluster(t, 2, "", rs.URL(), "HAVEN_SHUTDOWN_TIMEOUT="+shutdownTimeout.String())
	room := c.newRoom(t)
	drained := []*member{joinMember(t, c, 0, room), joinMember(t, c, 0, room)}
	other := joinMember(t, c, 1, room)
	if r := join(t, other.conn, room, nil); r.Int("online") != 3 {
		t.Fatalf("online %d before the drain, want 3", r.Int("online"))
	}
	l := newLedger()
	var lost unanswered
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go sender(drained[0].conn, room, "d0", pace, l, &lost, stop, &wg)
	go sender(other.conn, room, "o", pace, l, nil, stop, &wg)
	stopped := false
	defer func() {
		if !stopped {
			close(stop)
			wg.Wait()
		}
	}()
	time.Sleep(1500 * time.Millisecond)

	procs[0].signal(syscall.SIGTERM)
	termAt := time.Now()
	for _, m := range drained {
		ev := waitEvent(t, m.conn, m.s, "reconnect", 5*time.Second)
		t.Logf("%s: %v after SIGTERM: %v", m.s.who, time.Since(termAt).Round(time.Millisecond), ev)
	}
	// Draining: new upgrades are refused.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	conn, resp, err := wsclient.Dial(ctx, procs[0].URL, drained[1].acc.Token)
	cancel()
	if err == nil {
		conn.Close()
		t.Fatalf("a draining node accepted a new WebSocket")
	}
	if resp != nil && resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("upgrade on a draining node: status %d, want 503", resp.StatusCode)
	}
	for _, m := range drained {
		if !wsclient.Wait(m.conn.Done(), shutdownTimeout+2*time.Second) {
			t.Fatalf("%s: still connected %v after SIGTERM", m.s.who, time.Since(termAt))
		}
		if st := wsclient.CloseStatus(m.conn.Err()); st != websocket.StatusGoingAway {
			t.Errorf("%s: closed with %v (%v), want 1001 going away", m.s.who, st, m.conn.Err())
		}
		m.s.drainQuiet(t, m.conn, 100*time.Millisecond)
	}
	state, exited := procs[0].waitExit(shutdownTimeout + 3*time.Second - time.Since(termAt))
	if !exited {
		t.Fatalf("node still running %v after SIGTERM (shutdown timeout %v)", time.Since(termAt), shutdownTimeout)
	}
	t.Logf("node exited %v after SIGTERM with %v", time.Since(termAt).Round(time.Millisecond), state)
	if !state.Success() {
		t.Errorf("drained node exited with %v, want 0", state)
	}

	// Clients continue on the other node.
	for _, m := range drained {
		m.reconnect(t, c, 1, room)
	}
	lost.resend(t, drained[0].conn, room, l)
	wg.Add(1)
	go sender(drained[0].conn, room, "d0-again", pace, l, nil, stop, &wg)
	time.Sleep(1200 * time.Millisecond)
	close(stop)
	wg.Wait()
	stopped = true
	if errs := l.errors(); len(errs) > 0 {
		t.Errorf("sends failed: %v", errs)
	}
	ok, upto := merge(l)
	finish(t, ok, upto, append(drained, other)...)

	// The drained node's share of presence is gone: the two reconnected members are now on
	// the surviving node, with other, and nobody is counted twice.
	since := other.s.last
	if r := join(t, other.conn, room, &since); r.Int("online") != 3 {
		t.Errorf("online %d after the drain, want 3 (the drained node's share withdrawn)", r.Int("online"))
	}
	for _, m := range drained {
		m.conn.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := join(t, other.conn, room, &since)
		if r.Int("online") == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("online %d with only one member left, want 1", r.Int("online"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestFaultPostgresRestart stops PostgreSQL under a two-node cluster: sends fail with
// unavailable while it is down and succeed after it is back; nothing acknowledged is lost.
func TestFaultPostgresRestart(t *testing.T) {
	pg := testenv.StartPostgres(t)
	dsn := pg.CreateDB(t, "haven_restart")
	rs := testenv.StartRedis(t)
	c, procs := procCluster(t, 2, dsn, rs.URL())
	room := c.newRoom(t)
	ms := []*member{joinMember(t, c, 0, room), joinMember(t, c, 1, room)}
	l := newLedger()
	n := 0
	sendEach := func(phase string) []wsclient.Msg {
		var out []wsclient.Msg
		for i, m := range ms {
			n++
			text := fmt.Sprintf("%s-%d-%d", phase, i, n)
			r := sendRaw(m.conn, room, text, fmt.Sprintf("%s-c%d", phase, n), 15*time.Second)
			if r == nil {
				t.Fatalf("%s: send got no reply", m.s.who)
			}
			l.record(r, text)
			out = append(out, r)
		}
		time.Sleep(pace)
		return out
	}
	for i := 0; i < 3; i++ {
		for _, r := range sendEach("before") {
			if r.Type() != "ok" {
				t.Fatalf("send before the restart: %v", r)
			}
		}
	}

	pg.Stop(t)
	stoppedAt := time.Now()
	for _, p := range procs {
		p.waitReady("unavailable", 10*time.Second)
	}
	for i := 0; i < 2; i++ {
		for _, r := range sendEach("down") {
			if r.Code() != "unavailable" {
				t.Fatalf("send with PostgreSQL down: %v, want an unavailable error", r)
			}
		}
	}
	pg.Start(t)
	t.Logf("PostgreSQL down for %v", time.Since(stoppedAt).Round(time.Millisecond))

	deadline := time.Now().Add(20 * time.Second)
	for {
		replies := sendEach("back")
		if replies[0].Type() == "ok" && replies[1].Type() == "ok" {
			break
		}
		for _, r := range replies {
			if r.Type() != "ok" && r.Code() != "unavailable" {
				t.Fatalf("send after the restart: %v", r)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sends still failing 20s after PostgreSQL came back: %v", replies)
		}
	}
	for i := 0; i < 3; i++ {
		for _, r := range sendEach("after") {
			if r.Type() != "ok" {
				t.Fatalf("send after recovery: %v", r)
			}
		}
	}
	for _, p := range procs {
		p.waitReady("ok", 10*time.Second)
	}
	ok, upto := merge(l)
	finish(t, ok, upto, ms...)

	// A newcomer recovering from seq 0 reads the same complete log from the store.
	late := newStream("newcomer")
	conn := c.dial(1, c.member(1))
	zero := int64(0)
	r := join(t, conn, room, &zero)
	late.add(t, toMsgs(r["messages"])...)
	late.check(t, ok, upto)
	t.Logf("%d acknowledged, %v failed with a code, highest seq %d", len(ok), l.errors(), upto)
}
