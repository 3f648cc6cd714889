package media

import (
	"context"
	"maps"
	"slices"
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
	rooms []string // events published to rooms, "room: frame"
}

func (b *bus) roomEvents() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.rooms)
}

type busBroker struct {
	broker.Broker // only Publish is used
	b             *bus
}

func (bb busBroker) Publish(_ context.Context, channel string, payload []byte) error {
	e, err := rooms.DecodeEvent(payload)
	bb.b.mu.Lock()
	n := bb.b.nodes[strings.TrimPrefix(channel, "node:")]
	if room, ok := strings.CutPrefix(channel, "room:"); ok && err == nil {
		bb.b.rooms = append(bb.b.rooms, room+": "+string(e.Data))
	}
	bb.b.mu.Unlock()
	if err == nil && n != nil && e.Kind == RelayKind {
		n.HandleRelay(e.Data)
	}
	return nil
}

func twoNodes(t *testing.T, mut ...func(*Config)) (a, b *tnode, reg *MemoryRegistry) {
	t.Helper()
	a, b, reg, _ = twoNodesOnBus(t, mut...)
	return a, b, reg
}

func twoNodesOnBus(t *testing.T, mut ...func(*Config)) (a, b *tnode, reg *MemoryRegistry, bs *bus) {
	t.Helper()
	reg = NewMemoryRegistry()
	bs = &bus{nodes: map[string]*Node{}}
	mut = append(mut, nil, nil)
	a = newTestNode(t, "n1", busBroker{b: bs}, reg, mut[0])
	b = newTestNode(t, "n2", busBroker{b: bs}, reg, mut[1])
	bs.mu.Lock()
	bs.nodes["n1"], bs.nodes["n2"] = a.n, b.n
	bs.mu.Unlock()
	return a, b, reg, bs
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

// webinarOnBus starts a webinar on n1 of two nodes on one bus, its host alone in it. The
// registry's records last a minute, so only the test expires or replaces them.
func webinarOnBus(t *testing.T) (a *tnode, host *tclient, reg *MemoryRegistry, bs *bus) {
	t.Helper()
	a, _, reg, bs = twoNodesOnBus(t, func(c *Config) { c.OwnerTTL = time.Minute })
	host = a.client("host", "talk", "webinar", RankHost)
	host.must("media.start", nil)
	host.join()
	return a, host, reg, bs
}

// setOwner sets the record of room talk, as a claim or an expiry would.
func setOwner(reg *MemoryRegistry, node string, expires time.Time) {
	reg.mu.Lock()
	reg.owners["talk"] = memoryOwner{node: node, expires: expires}
	reg.mu.Unlock()
}

// waitRoomEvent waits up to 5 s for a room event containing s.
func (bs *bus) waitRoomEvent(t *testing.T, s string) {
	t.Helper()
	waitFor(t, 5*time.Second, "a room event with "+s, func() bool {
		return slices.ContainsFunc(bs.roomEvents(), func(e string) bool { return strings.Contains(e, s) })
	})
}

// TestDeadOwnerToldToTheRoomOnce: a session whose owner died while no other node had a
// member in it (the host alone) is still reported to its room, by exactly one node.
func TestDeadOwnerToldToTheRoomOnce(t *testing.T) {
	_, _, reg, bs := webinarOnBus(t)
	setOwner(reg, "n1", time.Now()) // n1 stopped refreshing
	want := `talk: {"type":"media.ended","room":"talk","reason":"owner_lost"}`
	bs.waitRoomEvent(t, want)
	time.Sleep(2500 * time.Millisecond) // both nodes sweep again, twice
	if n := len(slices.DeleteFunc(bs.roomEvents(), func(e string) bool { return e != want })); n != 1 {
		t.Fatalf("the room was told %d times", n)
	}
}

// TestNewClaimNotToldLost: a live mark of a dead owner found while a new owner holds the
// room (between that owner's claim and its own mark) is not reported: the new session
// announces itself, and an owner_lost after that would contradict it. Once the room has no
// owner at all, the room is told, once.
func TestNewClaimNotToldLost(t *testing.T) {
	_, _, reg, bs := webinarOnBus(t)
	setOwner(reg, "n3", time.Now().Add(time.Minute)) // the mark still names n1
	time.Sleep(2500 * time.Millisecond)              // both nodes sweep, twice
	if slices.ContainsFunc(bs.roomEvents(), func(e string) bool { return strings.Contains(e, "owner_lost") }) {
		t.Fatalf("room events %q: owner_lost while n3 holds the room", bs.roomEvents())
	}
	if live, _ := reg.Live(context.Background()); live["talk"] != "n1" {
		t.Fatalf("live marks %v: n1's mark forgotten while n3 holds the room", live)
	}
	setOwner(reg, "n3", time.Now()) // n3 died before marking
	bs.waitRoomEvent(t, "owner_lost")
}

// TestOwnerBackTellsTheRoomAgain: an owner that lost its record (Redis out of reach for
// longer than its lifetime) while its session ran is reported lost by another node; when
// it renews the record it tells the room the session runs after all.
func TestOwnerBackTellsTheRoomAgain(t *testing.T) {
	a, host, reg, bs := webinarOnBus(t)
	started := func() int {
		return len(slices.DeleteFunc(bs.roomEvents(), func(e string) bool { return !strings.Contains(e, `"media.started"`) }))
	}
	if n := started(); n != 1 {
		t.Fatalf("media.started told %d times at the start", n)
	}
	setOwner(reg, "n1", time.Now())
	bs.waitRoomEvent(t, "owner_lost")
	a.n.heartbeat()
	deadline := time.Now().Add(5 * time.Second)
	for started() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("room events %q; want media.started again after the renewal", bs.roomEvents())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if owner, _ := reg.Owner(context.Background(), "talk"); owner != "n1" {
		t.Fatalf("owner after the renewal: %q", owner)
	}
	host.must("media.hand", map[string]any{"raised": true}) // the session still runs
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
	// The live mark outlives the record: n1 died without releasing.
	wantLive(t, r, map[string]string{"room": "n1"})
	if o, _ := r.Claim(ctx, "room", "n2", ttl); o != "n2" {
		t.Fatalf("claim after expiry: %q", o)
	}
	wantLive(t, r, map[string]string{"room": "n2"})
	// A sweeper that read n1's mark before n2's claim must not take n2's.
	if told, err := r.Forget(ctx, "room", "n1"); err != nil || told {
		t.Fatalf("forget a stale mark: %v %v", told, err)
	}
	if err := r.Release(ctx, "room", "n2"); err != nil {
		t.Fatal(err)
	}
	if o, _ := r.Owner(ctx, "room"); o != "" {
		t.Fatalf("released record still there: %q", o)
	}
	wantLive(t, r, map[string]string{})
	// Of two nodes forgetting the same dead owner's mark, one is told it did.
	if _, err := r.Claim(ctx, "other", "n3", ttl); err != nil {
		t.Fatal(err)
	}
	first, err1 := r.Forget(ctx, "other", "n3")
	second, err2 := r.Forget(ctx, "other", "n3")
	if err1 != nil || err2 != nil || !first || second {
		t.Fatalf("forget twice: %v %v, %v %v", first, err1, second, err2)
	}
	wantLive(t, r, map[string]string{})
}

func wantLive(t *testing.T, r Registry, want map[string]string) {
	t.Helper()
	got, err := r.Live(context.Background())
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("live marks = %v, %v; want %v", got, err, want)
	}
}
