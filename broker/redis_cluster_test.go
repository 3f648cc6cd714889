package broker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/testenv"
)

func clusterOptions(url, node string) RedisOptions {
	return RedisOptions{
		URL:          url,
		NodeID:       node,
		PingInterval: 500 * time.Millisecond,
		MinBackoff:   50 * time.Millisecond,
		MaxBackoff:   500 * time.Millisecond,
	}
}

func startClusterNode(t *testing.T, url, node string) (*Redis, *recorder) {
	t.Helper()
	b, err := NewRedis(clusterOptions(url, node))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	h := newRecorder()
	if err := b.Start(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, node+" healthy", func() bool { return b.Healthy(context.Background()) == nil })
	return b, h
}

// TestRedisClusterShardedPubSub runs the broker and presence against a real three-shard
// Redis Cluster, where the ClusterClient uses SSUBSCRIBE/SPUBLISH.
func TestRedisClusterShardedPubSub(t *testing.T) {
	url := testenv.StartRedisCluster(t)
	ctx := context.Background()
	a, ha := startClusterNode(t, url, "a")
	b, hb := startClusterNode(t, url, "b")
	if !a.cluster || !b.cluster {
		t.Fatalf("cluster URL %q did not give cluster brokers", url)
	}
	room := RoomChannel("sharded")
	subscribeBoth(t, a, b, hb, room)
	baseA, baseB := len(ha.got(room)), len(hb.got(room))

	const n = 200
	for i := range n {
		if err := a.Publish(ctx, room, []byte(fmt.Sprint(i))); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	eventually(t, 10*time.Second, "b receives 200 messages", func() bool { return len(hb.got(room)) >= baseB+n })
	// Let any echo from Redis arrive before checking that a saw each message once.
	time.Sleep(200 * time.Millisecond)
	for name, got := range map[string][]string{"a": ha.got(room)[baseA:], "b": hb.got(room)[baseB:]} {
		if len(got) != n {
			t.Fatalf("%s got %d messages, want %d", name, len(got), n)
		}
		for i, m := range got {
			if m != fmt.Sprint(i) {
				t.Fatalf("%s: message %d is %q: order broken", name, i, m)
			}
		}
	}

	pa, err := NewRedisPresence(clusterOptions(url, "a"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pa.Close() })
	pb, err := NewRedisPresence(clusterOptions(url, "b"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pb.Close() })
	cnt, err := pa.Join(ctx, "sharded", "u1")
	wantOnline(t, "a joins u1", cnt, err, 1)
	cnt, err = pb.Join(ctx, "sharded", "u2")
	wantOnline(t, "b joins u2", cnt, err, 2)
	cnt, err = pa.Join(ctx, "sharded", "u3")
	wantOnline(t, "a joins u3", cnt, err, 3)
	cnt, err = pb.Online(ctx, "sharded")
	wantOnline(t, "b online", cnt, err, 3)
}
