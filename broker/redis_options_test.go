package broker

import (
	"reflect"
	"testing"
)

func TestSplitClusterURL(t *testing.T) {
	tests := []struct {
		name, in, wantURL string
		wantSeeds         []string
		cluster, wantErr  bool
	}{
		{name: "plain", in: "redis://127.0.0.1:6379/0", wantURL: "redis://127.0.0.1:6379/0"},
		{name: "tls plain", in: "rediss://u:p@h:6380", wantURL: "rediss://u:p@h:6380"},
		{name: "cluster one host", in: "redis+cluster://h1:7000", wantURL: "redis://h1:7000", cluster: true},
		{
			name: "cluster several hosts", in: "redis+cluster://u:p@h1:7000,h2:7001,[::1]:7002?dial_timeout=2s",
			wantURL: "redis://u:p@h1:7000?dial_timeout=2s", wantSeeds: []string{"h2:7001", "[::1]:7002"}, cluster: true,
		},
		{name: "cluster tls", in: "rediss+cluster://h1:7000,h2:7000/", wantURL: "rediss://h1:7000/", wantSeeds: []string{"h2:7000"}, cluster: true},
		{name: "cluster database", in: "redis+cluster://h1:7000/2", wantErr: true},
		{name: "cluster missing port", in: "redis+cluster://h1,h2:7000", wantErr: true},
		{name: "cluster no host", in: "redis+cluster://", wantErr: true},
		{name: "unknown scheme", in: "memcache://h:1", wantErr: true},
		{name: "no scheme", in: "h1:7000", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, seeds, cluster, err := splitClusterURL(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("splitClusterURL(%q) = %q, want error", tt.in, u)
				}
				return
			}
			if err != nil {
				t.Fatalf("splitClusterURL(%q): %v", tt.in, err)
			}
			if u != tt.wantURL || cluster != tt.cluster || len(seeds)+len(tt.wantSeeds) > 0 && !reflect.DeepEqual(seeds, tt.wantSeeds) {
				t.Fatalf("splitClusterURL(%q) = %q, %q, %v; want %q, %q, %v",
					tt.in, u, seeds, cluster, tt.wantURL, tt.wantSeeds, tt.cluster)
			}
		})
	}
}

func TestNewClientCluster(t *testing.T) {
	c, cluster, err := newClient(RedisOptions{URL: "redis+cluster://h1:7000,h2:7001?addr=h3:7002"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !cluster {
		t.Fatal("cluster URL gave a plain client")
	}
	if _, err := NewRedis(RedisOptions{URL: "redis://h:1"}); err == nil {
		t.Fatal("NewRedis without NodeID succeeded")
	}
}

func TestFrame(t *testing.T) {
	r, err := NewRedis(RedisOptions{URL: "redis://127.0.0.1:1", NodeID: "node-a"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	frame := string(append(append([]byte{}, r.tag...), "payload"...))
	origin, payload, ok := splitFrame(frame)
	if !ok || origin != "node-a" || payload != "payload" {
		t.Fatalf("splitFrame = %q, %q, %v", origin, payload, ok)
	}
	for _, bad := range []string{"", "\x01", "\x02\x00x", "\x01\x09ab"} {
		if _, _, ok := splitFrame(bad); ok {
			t.Errorf("splitFrame(%q) accepted a malformed frame", bad)
		}
	}
	if c, ok := r.localChannel("haven:" + RoomChannel("r1")); !ok || c != "room:r1" {
		t.Fatalf("localChannel = %q, %v", c, ok)
	}
}
