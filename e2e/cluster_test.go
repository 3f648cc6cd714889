package e2e

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/internal/wsclient"
)

// The chat contract on a cluster: members are spread round robin over the nodes, so every
// subtest crosses the Redis broker.
func TestChatCluster(t *testing.T)      { runChatSuite(t, postgresSetup(2, true)) }
func TestChatCluster3Node(t *testing.T) { runChatSuite(t, postgresSetup(3, true)) }

// TestClusterOrdering: concurrent senders on every node; every member, whichever node it is
// on, sees seqs 1..N consecutively, each message once.
func TestClusterOrdering(t *testing.T) {
	c := startCluster(t, postgresSetup(3, true))
	room := c.newRoom(t)
	const perNode, each = 3, 20
	members := perNode * len(c.Nodes)
	conns := make([]*wsclient.Conn, members)
	for i := range conns {
		conns[i], _ = c.joined(i, room)
	}
	var wg sync.WaitGroup
	for i, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < each; j++ {
				if r := send(t, conn, room, fmt.Sprintf("m%d-%d", i, j), fmt.Sprintf("c%d-%d", i, j)); r.Type() != "ok" {
					t.Errorf("send: %v", r)
				}
			}
		}()
	}
	wg.Wait()
	total := members * each
	for i, conn := range conns {
		got := collect(t, conn, total, 30*time.Second)
		assertConsecutive(t, got, 1)
		texts := make(map[string]bool, total)
		for _, m := range got {
			texts[m.Str("text")] = true
		}
		if len(texts) != total {
			t.Fatalf("member %d on %s saw %d distinct texts, want %d", i, c.node(i).ID, len(texts), total)
		}
		s := newStream(fmt.Sprintf("member %d", i))
		s.drainQuiet(t, conn, 300*time.Millisecond)
		if len(s.seen) > 0 {
			t.Fatalf("member %d got %d messages beyond the %d sent", i, len(s.seen), total)
		}
	}
}

// TestClusterPresence: joins and leaves on any node change the online count everywhere.
func TestClusterPresence(t *testing.T) {
	c := startCluster(t, postgresSetup(3, true))
	room := c.newRoom(t)

	a, accA := c.joined(0, room)
	accB := c.member(1)
	b := c.dial(1, accB)
	if r := join(t, b, room, nil); r.Int("online") != 2 {
		t.Fatalf("b on node 2 joined; online %d, want 2", r.Int("online"))
	}
	waitPresence(t, a, "joined", accB.ID, 2)
	accC := c.member(2)
	cc := c.dial(2, accC)
	if r := join(t, cc, room, nil); r.Int("online") != 3 {
		t.Fatalf("c on node 3 joined; online %d, want 3", r.Int("online"))
	}
	waitPresence(t, a, "joined", accC.ID, 3)
	waitPresence(t, b, "joined", accC.ID, 3)

	b.Close()
	waitPresence(t, a, "left", accB.ID, 2)
	waitPresence(t, cc, "left", accB.ID, 2)

	// A second connection of a user already online, on another node, is that node's first:
	// counts are per node, so it shows, and it goes away again when that connection leaves.
	a2 := c.dial(2, accA)
	r := join(t, a2, room, nil)
	if got := r.Int("online"); got != 3 {
		t.Fatalf("a's second connection on node 3: online %d, want 3 (per-node counts)", got)
	}
	a2.Close()
	waitPresence(t, cc, "left", accA.ID, 2)
}

// waitPresence waits for a presence event about user (joined or left) with the online count.
func waitPresence(t *testing.T, conn *wsclient.Conn, kind, userID string, online int64) {
	t.Helper()
	ctx := ctxT(t, 10*time.Second)
	for {
		p, err := conn.Next(ctx, "presence")
		if err != nil {
			t.Fatalf("waiting for presence %s of %s (online %d): %v", kind, userID, online, err)
		}
		u, _ := p[kind].(map[string]any)
		if u == nil || u["id"] != userID {
			continue
		}
		if p.Int("online") != online {
			t.Fatalf("presence %s of %s: online %d, want %d (%v)", kind, userID, p.Int("online"), online, p)
		}
		return
	}
}

// TestClusterPresenceTTL: a node that dies without withdrawing (SIGKILL: no drain, no more
// heartbeats) drops out of every room's count within the presence TTL.
func TestClusterPresenceTTL(t *testing.T) {
	const ttl = 1500 * time.Millisecond
	rs := testenv.StartRedis(t)
	c, procs := procCluster(t, 2, "", rs.URL(), "HAVEN_PRESENCE_TTL="+ttl.String())
	room := c.newRoom(t)

	a, _ := c.joined(0, room)
	accB := c.member(1)
	b := c.dial(1, accB)
	if r := join(t, b, room, nil); r.Int("online") != 2 {
		t.Fatalf("b joined on node 2: online %d, want 2", r.Int("online"))
	}
	waitPresence(t, a, "joined", accB.ID, 2)

	// Survives several heartbeats while alive.
	time.Sleep(2 * ttl)
	if r := join(t, a, room, nil); r.Int("online") != 2 {
		t.Fatalf("after %v with both nodes alive: online %d, want 2", 2*ttl, r.Int("online"))
	}

	procs[1].kill()
	killed := time.Now()
	deadline := killed.Add(ttl + 3*time.Second)
	for {
		r := join(t, a, room, nil) // rejoining reports the cluster-wide count
		if r.Int("online") == 1 {
			t.Logf("dead node's presence expired %v after SIGKILL (TTL %v)", time.Since(killed).Round(10*time.Millisecond), ttl)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead node's member still counted %v after SIGKILL (TTL %v): online %d", time.Since(killed), ttl, r.Int("online"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
