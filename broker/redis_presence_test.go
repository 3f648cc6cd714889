package broker

import (
	"context"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/testenv"
)

func newTestPresence(t *testing.T, srv *testenv.RedisServer, node string, ttl time.Duration) *RedisPresence {
	t.Helper()
	p, err := NewRedisPresence(testOptions(srv, node), ttl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func wantOnline(t *testing.T, what string, n int, err error, want int) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if n != want {
		t.Fatalf("%s = %d, want %d", what, n, want)
	}
}

func TestRedisPresenceAcrossNodes(t *testing.T) {
	srv := testenv.StartRedis(t)
	ctx := context.Background()
	a := newTestPresence(t, srv, "a", 0)
	b := newTestPresence(t, srv, "b", 0)

	n, err := a.Join(ctx, "r", "u1")
	wantOnline(t, "a joins u1", n, err, 1)
	n, err = a.Join(ctx, "r", "u2")
	wantOnline(t, "a joins u2", n, err, 2)
	n, err = b.Join(ctx, "r", "u3")
	wantOnline(t, "b joins u3", n, err, 3)
	n, err = a.Join(ctx, "r", "u1") // already there on a
	wantOnline(t, "a joins u1 again", n, err, 3)
	n, err = a.Online(ctx, "r")
	wantOnline(t, "a online", n, err, 3)
	n, err = b.Leave(ctx, "r", "u3")
	wantOnline(t, "b leaves u3", n, err, 2)
	n, err = a.Leave(ctx, "r", "u1")
	wantOnline(t, "a leaves u1", n, err, 1)
	n, err = b.Online(ctx, "other")
	wantOnline(t, "empty room", n, err, 0)

	if _, err := b.Join(ctx, "r", "u4"); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	n, err = b.Online(ctx, "r")
	wantOnline(t, "online after a closed", n, err, 1)
}

func TestRedisPresenceJoinStorm(t *testing.T) {
	srv := testenv.StartRedis(t)
	ctx := context.Background()
	a := newTestPresence(t, srv, "a", 0)
	start := time.Now()
	const n = 2000
	for i := range n {
		if _, err := a.Join(ctx, "storm", "u"+string(rune('a'+i%26))+time.Duration(i).String()); err != nil {
			t.Fatal(err)
		}
	}
	got, err := a.Online(ctx, "storm")
	wantOnline(t, "after storm", got, err, n)
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("%d joins took %v", n, d)
	}
}

func TestRedisPresenceDeadNodeExpires(t *testing.T) {
	srv := testenv.StartRedis(t)
	ctx := context.Background()
	const ttl = 1500 * time.Millisecond
	a := newTestPresence(t, srv, "a", ttl)
	b := newTestPresence(t, srv, "b", ttl)
	if _, err := a.Join(ctx, "r", "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Join(ctx, "r", "u2"); err != nil {
		t.Fatal(err)
	}

	// Heartbeats keep both shares alive past the TTL.
	time.Sleep(ttl + 500*time.Millisecond)
	n, err := a.Online(ctx, "r")
	wantOnline(t, "with heartbeats", n, err, 2)

	b.stopHeartbeat() // b dies without Close
	died := time.Now()
	eventually(t, ttl+time.Second, "b's share to expire", func() bool {
		n, err := a.Online(ctx, "r")
		return err == nil && n == 1
	})
	if d := time.Since(died); d > ttl+200*time.Millisecond {
		t.Fatalf("dead node's share took %v to vanish, TTL %v", d, ttl)
	}
}

func TestRedisPresenceRedisDown(t *testing.T) {
	srv := testenv.StartRedis(t)
	ctx := context.Background()
	a := newTestPresence(t, srv, "a", 900*time.Millisecond)
	b := newTestPresence(t, srv, "b", 900*time.Millisecond)
	if _, err := b.Join(ctx, "r", "u0"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Join(ctx, "r", "u1"); err != nil {
		t.Fatal(err)
	}

	srv.Kill(t)
	start := time.Now()
	n, err := a.Join(ctx, "r", "u2")
	if err == nil {
		t.Fatal("Join with Redis down returned no error")
	}
	if n != 3 {
		t.Fatalf("Join with Redis down = %d, want local 2 + last-known 1", n)
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Fatalf("Join blocked %v with Redis down", d)
	}

	// Redis returns empty; heartbeats restore both shares.
	srv.Start(t)
	eventually(t, 5*time.Second, "shares restored", func() bool {
		n, err := a.Online(ctx, "r")
		return err == nil && n == 3
	})
}
