package media

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/rooms"
)

// bus joins test nodes' node channels, as Redis pub/sub would: in order per publisher,
// delivered to the addressed node only.
type bus struct {
	mu    sync.Mutex
	nodes map[string]*Node
}

type busBroker struct {
	broker.Broker // only Publish is used
	b             *bus
}

func (bb busBroker) Publish(_ context.Context, channel string, payload []byte) error {
	bb.b.mu.Lock()
	n := bb.b.nodes[strings.TrimPrefix(channel, "node:")]
	bb.b.mu.Unlock()
	e, err := rooms.DecodeEvent(payload)
	if err == nil && n != nil && e.Kind == RelayKind {
		n.HandleRelay(e.Data)
	}
	return nil
}

func twoNodes(t *testing.T, mut ...func(*Config)) (a, b *tnode, reg *MemoryRegistry) {
	t.Helper()
	reg = NewMemoryRegistry()
	bs := &bus{nodes: map[string]*Node{}}
	mut = append(mut, nil, nil)
	a = newTestNode(t, "n1", busBroker{b: bs}, reg, mut[0])
	b = newTestNode(t, "n2", busBroker{b: bs}, reg, mut[1])
	bs.mu.Lock()
	bs.nodes["n1"], bs.nodes["n2"] = a.n, b.n
	bs.mu.Unlock()
	return a, b, reg
}

// TestRelayAcrossNodes: a member connected to another node than the session's owner is
// signalled through the node channels and receives media straight from the owner; a
// second start from that node finds the running session.
func TestRelayAcrossNodes(t *testing.T) {
	a, b, _ := twoNodes(t)
	host := a.client("host", "talk", "webinar", RankHost)
	host.must("media.start", nil)
	host.join()
	src := newSource(t, host, nil, true)
	host.offer(src.kinds())
	src.start()

	cohost := b.client("cohost", "talk", "webinar", RankHost)
	if r := cohost.must("media.start", nil); r["state"] == nil {
		t.Fatalf("start on the other node: %v", r)
	}
	remote := b.client("remote", "talk", "webinar", RankMember)
	if r := remote.join(); r.str("type") != "ok" {
		t.Fatalf("remote join: %v", r)
	}
	pid := host.participantID()
	got := remote.waitPackets(pid+":video", 0, 20, 10*time.Second)
	src.checkIntact("remote video", got, true)
	remote.must("media.hand", map[string]any{"raised": true})
	if hs := handUsers(host.state()); len(hs) != 1 || hs[0] != "u-remote" {
		t.Fatalf("hands seen by the host: %v", hs)
	}
	host.must("media.mute", map[string]any{"user": "u-remote", "kind": "audio", "muted": true})
	remote.next("media.state", 5*time.Second, func(m msg) bool { return mutedKinds(m, remote.participantID())["audio"] })

	// The connection closes on its node: it leaves the session on the owner.
	b.n.ClientGone(remote.ref.Key)
	deadline := time.Now().Add(5 * time.Second)
	for len(host.state()["participants"].([]any)) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the closed remote connection is still a participant")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOwnerLost: when the owner's record vanishes or passes to another node, members on
// other nodes are told the session ended, and the old owner stops its session.
func TestOwnerLost(t *testing.T) {
	// The owner checks its record rarely, the other node watches often, so the watch is
	// what tells the remote member; the owner's own check is then run by hand.
	a, b, reg := twoNodes(t, func(c *Config) { c.OwnerTTL = time.Minute }, func(c *Config) { c.OwnerTTL = 1500 * time.Millisecond })
	host := a.client("host", "talk", "webinar", RankHost)
	host.must("media.start", nil)
	host.join()
	remote := b.client("remote", "talk", "webinar", RankMember)
	if r := remote.join(); r.str("type") != "ok" {
		t.Fatalf("remote join: %v", r)
	}
	reg.mu.Lock()
	reg.owners["talk"] = memoryOwner{node: "n3", expires: time.Now().Add(time.Hour)} // taken over
	reg.mu.Unlock()
	remote.next("media.ended", 5*time.Second, func(m msg) bool { return m.str("reason") == "owner_lost" })
	a.n.heartbeat()
	host.next("media.ended", 5*time.Second, func(m msg) bool { return m.str("reason") == "moved" })
}

// TestNodeCloseEndsSessions: a draining node ends its sessions with notice, to members on
// every node, and releases them.
func TestNodeCloseEndsSessions(t *testing.T) {
	a, b, reg := twoNodes(t)
	host := a.client("host", "talk", "webinar", RankHost)
	host.must("media.start", nil)
	host.join()
	remote := b.client("remote", "talk", "webinar", RankMember)
	remote.join()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.n.Close(ctx)
	remote.next("media.ended", 5*time.Second, func(m msg) bool { return m.str("reason") == "node shutting down" })
	host.next("media.ended", 5*time.Second, nil)
	if owner, _ := reg.Owner(ctx, "talk"); owner != "" {
		t.Fatalf("owner record %q left behind", owner)
	}
	remote.mustFail(CodeNotStarted, "media.join", nil)
}

// TestRegistryMemory: claims, refreshes and releases are per owner, and records expire.
func TestRegistryMemory(t *testing.T) {
	testRegistry(t, NewMemoryRegistry())
}

func testRegistry(t *testing.T, r Registry) {
	t.Helper()
	ctx := context.Background()
	ttl := 300 * time.Millisecond
	if o, err := r.Claim(ctx, "room", "n1", ttl); err != nil || o != "n1" {
		t.Fatalf("claim: %q %v", o, err)
	}
	if o, _ := r.Claim(ctx, "room", "n2", ttl); o != "n1" {
		t.Fatalf("second claim took the room: %q", o)
	}
	if ok, _ := r.Refresh(ctx, "room", "n2", ttl); ok {
		t.Fatal("a non-owner refreshed the record")
	}
	if err := r.Release(ctx, "room", "n2"); err != nil {
		t.Fatal(err)
	}
	if o, _ := r.Owner(ctx, "room"); o != "n1" {
		t.Fatalf("a non-owner's release removed the record: %q", o)
	}
	for i := 0; i < 3; i++ {
		time.Sleep(150 * time.Millisecond)
		if ok, err := r.Refresh(ctx, "room", "n1", ttl); err != nil || !ok {
			t.Fatalf("refresh %d: %v %v", i, ok, err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if o, _ := r.Owner(ctx, "room"); o != "" {
		t.Fatalf("record outlived its TTL: %q", o)
	}
	if o, _ := r.Claim(ctx, "room", "n2", ttl); o != "n2" {
		t.Fatalf("claim after expiry: %q", o)
	}
	if err := r.Release(ctx, "room", "n2"); err != nil {
		t.Fatal(err)
	}
	if o, _ := r.Owner(ctx, "room"); o != "" {
		t.Fatalf("released record still there: %q", o)
	}
}
