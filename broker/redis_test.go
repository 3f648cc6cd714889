package broker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// recorder is a Handler that keeps what it is given.
type recorder struct {
	mu         sync.Mutex // guards msgs, reconnects
	msgs       map[string][]string
	reconnects int
}

func newRecorder() *recorder { return &recorder{msgs: make(map[string][]string)} }

func (h *recorder) HandleMessage(channel string, payload []byte) {
	h.mu.Lock()
	h.msgs[channel] = append(h.msgs[channel], string(payload))
	h.mu.Unlock()
}

func (h *recorder) HandleReconnect() {
	h.mu.Lock()
	h.reconnects++
	h.mu.Unlock()
}

func (h *recorder) got(channel string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.msgs[channel]...)
}

func (h *recorder) reconnectCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reconnects
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testOptions(srv *testenv.RedisServer, node string) RedisOptions {
	return RedisOptions{
		URL:          srv.URL(),
		NodeID:       node,
		PingInterval: 500 * time.Millisecond,
		MinBackoff:   50 * time.Millisecond,
		MaxBackoff:   500 * time.Millisecond,
	}
}

// startNode starts a Redis broker and waits until its subscriber connection is up.
func startNode(t *testing.T, srv *testenv.RedisServer, node string) (*Redis, *recorder) {
	t.Helper()
	b, err := NewRedis(testOptions(srv, node))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	h := newRecorder()
	if err := b.Start(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, node+" healthy", func() bool { return b.Healthy(context.Background()) == nil })
	return b, h
}

// subscribeBoth subscribes a and b to channel and waits until a message from a reaches b,
// since SUBSCRIBE is only queued on the connection when Subscribe returns.
func subscribeBoth(t *testing.T, a, b *Redis, hb *recorder, channel string) {
	t.Helper()
	ctx := context.Background()
	if err := a.Subscribe(ctx, channel); err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe(ctx, channel); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "subscription on "+channel, func() bool {
		_ = a.Publish(ctx, channel, []byte("probe"))
		return len(hb.got(channel)) > 0
	})
	// Probes may still be in flight; Redis keeps order, so once a last marker arrives,
	// nothing published before it is outstanding.
	if err := a.Publish(ctx, channel, []byte("synced")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "sync marker on "+channel, func() bool {
		got := hb.got(channel)
		return got[len(got)-1] == "synced"
	})
}

func TestRedisPublishAcrossNodes(t *testing.T) {
	srv := testenv.StartRedis(t)
	a, ha := startNode(t, srv, "a")
	b, hb := startNode(t, srv, "b")
	ctx := context.Background()
	room := RoomChannel("lobby")
	subscribeBoth(t, a, b, hb, room)
	probes := len(ha.got(room))

	if err := a.Publish(ctx, room, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "b receives hello", func() bool {
		got := hb.got(room)
		return got[len(got)-1] == "hello"
	})
	// Let any echo from Redis arrive before checking that a saw its message once.
	time.Sleep(200 * time.Millisecond)
	if got := ha.got(room); len(got) != probes+1 || got[len(got)-1] != "hello" {
		t.Fatalf("a got %d messages after %d probes (%q); want its own message once, locally", len(got), probes, got[probes:])
	}
}

func TestRedisOrderPreserved(t *testing.T) {
	srv := testenv.StartRedis(t)
	a, _ := startNode(t, srv, "a")
	b, hb := startNode(t, srv, "b")
	ctx := context.Background()
	room := RoomChannel("ordered")
	subscribeBoth(t, a, b, hb, room)
	base := len(hb.got(room))

	const n = 1000
	for i := range n {
		if err := a.Publish(ctx, room, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "1000 messages", func() bool { return len(hb.got(room)) >= base+n })
	got := hb.got(room)[base:]
	for i, m := range got {
		if m != fmt.Sprint(i) {
			t.Fatalf("message %d is %q: order broken", i, m)
		}
	}
}

func TestRedisUnsubscribeStopsDelivery(t *testing.T) {
	srv := testenv.StartRedis(t)
	a, ha := startNode(t, srv, "a")
	b, hb := startNode(t, srv, "b")
	ctx := context.Background()
	room := RoomChannel("quiet")
	subscribeBoth(t, a, b, hb, room)

	// Two subscriptions need two unsubscribes (reference counting).
	if err := b.Subscribe(ctx, room); err != nil {
		t.Fatal(err)
	}
	if err := b.Unsubscribe(ctx, room); err != nil {
		t.Fatal(err)
	}
	_ = a.Publish(ctx, room, []byte("still"))
	eventually(t, 5*time.Second, "delivery while one subscription remains", func() bool {
		got := hb.got(room)
		return got[len(got)-1] == "still"
	})

	if err := b.Unsubscribe(ctx, room); err != nil {
		t.Fatal(err)
	}
	if err := a.Unsubscribe(ctx, room); err != nil {
		t.Fatal(err)
	}
	before, beforeA := len(hb.got(room)), len(ha.got(room))
	// A marker on another channel, published after, proves the unsubscribe took effect.
	marker := ControlChannel
	if err := b.Subscribe(ctx, marker); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "marker", func() bool {
		_ = a.Publish(ctx, room, []byte("gone"))
		_ = a.Publish(ctx, marker, []byte("mark"))
		return len(hb.got(marker)) > 0
	})
	if got := hb.got(room); len(got) != before {
		t.Fatalf("b got %q after unsubscribing", got[before:])
	}
	if got := ha.got(room); len(got) != beforeA {
		t.Fatalf("a got %q locally after unsubscribing", got[beforeA:])
	}
}

func TestRedisOutageAndRecovery(t *testing.T) {
	srv := testenv.StartRedis(t)
	a, ha := startNode(t, srv, "a")
	b, hb := startNode(t, srv, "b")
	ctx := context.Background()
	room := RoomChannel("outage")
	subscribeBoth(t, a, b, hb, room)

	srv.Kill(t)
	eventually(t, 5*time.Second, "both unhealthy", func() bool {
		return a.Healthy(ctx) != nil && b.Healthy(ctx) != nil
	})
	if err := a.Healthy(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Healthy = %v, want ErrUnavailable", err)
	}

	start := time.Now()
	err := a.Publish(ctx, room, []byte("during"))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Publish during outage = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Fatalf("Publish took %v during the outage", d)
	}
	if got := ha.got(room); got[len(got)-1] != "during" {
		t.Fatalf("local delivery during outage missing: last %q", got[len(got)-1])
	}
	// A room joined during the outage must be subscribed once Redis is back.
	late := RoomChannel("late")
	if err := b.Subscribe(ctx, late); err != nil {
		t.Fatalf("Subscribe during outage: %v", err)
	}
	if ha.reconnectCount() != 0 || hb.reconnectCount() != 0 {
		t.Fatal("HandleReconnect before Redis is back")
	}

	srv.Start(t)
	eventually(t, 10*time.Second, "both reconnect", func() bool {
		return ha.reconnectCount() == 1 && hb.reconnectCount() == 1
	})
	eventually(t, 5*time.Second, "both healthy", func() bool {
		return a.Healthy(ctx) == nil && b.Healthy(ctx) == nil
	})
	if err := a.Publish(ctx, room, []byte("after")); err != nil {
		t.Fatalf("Publish after recovery: %v", err)
	}
	if err := a.Publish(ctx, late, []byte("late")); err != nil {
		t.Fatalf("Publish after recovery: %v", err)
	}
	eventually(t, 5*time.Second, "delivery resumes", func() bool {
		got, gotLate := hb.got(room), hb.got(late)
		return got[len(got)-1] == "after" && len(gotLate) == 1
	})
	time.Sleep(300 * time.Millisecond)
	if ha.reconnectCount() != 1 || hb.reconnectCount() != 1 {
		t.Fatalf("HandleReconnect called %d and %d times, want once each", ha.reconnectCount(), hb.reconnectCount())
	}
}

func TestRedisClosed(t *testing.T) {
	srv := testenv.StartRedis(t)
	a, _ := startNode(t, srv, "a")
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(context.Background(), ControlChannel, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close = %v, want ErrClosed", err)
	}
}
