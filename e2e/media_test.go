package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/hub"
	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/internal/wsclient"
	"github.com/havenhealth/haven/media"
	"github.com/havenhealth/haven/server"
	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/postgres"
	"github.com/havenhealth/haven/store/sqlite"
)

// TestMediaSQLite: one embedded node (SQLite, memory broker and registry).
func TestMediaSQLite(t *testing.T) { runMediaSuite(t, startMediaCluster(t, 1)) }

// TestMediaCluster: two nodes on PostgreSQL and Redis. The session runs on node 1; the
// attendees are connected to node 2, so every command, reply and event crosses the node
// channels, while their media goes straight to node 1.
func TestMediaCluster(t *testing.T) { runMediaSuite(t, startMediaCluster(t, 2)) }

// startMediaCluster starts n in-process nodes whose media listens on 127.0.0.1 only: one on
// SQLite, or several on PostgreSQL, a Redis broker and the Redis session registry.
func startMediaCluster(t *testing.T, n int) *cluster {
	t.Helper()
	var openStore func() store.Store
	var openBroker func(id string) (broker.Broker, broker.Presence, media.Registry)
	if n == 1 {
		path := filepath.Join(t.TempDir(), "haven.db")
		openStore = func() store.Store {
			st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
			if err != nil {
				t.Fatalf("open sqlite: %v", err)
			}
			return st
		}
		openBroker = func(string) (broker.Broker, broker.Presence, media.Registry) {
			return broker.NewMemory(), broker.NewMemoryPresence(), nil
		}
	} else {
		dsn := testenv.PostgresURL(t)
		rs := testenv.StartRedis(t)
		openStore = func() store.Store {
			st, err := postgres.Open(context.Background(), dsn, postgres.Options{})
			if err != nil {
				t.Fatalf("open postgres: %v", err)
			}
			return st
		}
		openBroker = func(id string) (broker.Broker, broker.Presence, media.Registry) {
			opts := broker.RedisOptions{URL: rs.URL(), NodeID: id}
			br, err := broker.NewRedis(opts)
			if err != nil {
				t.Fatalf("redis broker: %v", err)
			}
			pres, err := broker.NewRedisPresence(opts, 3*time.Second)
			if err != nil {
				t.Fatalf("redis presence: %v", err)
			}
			ro, _ := redis.ParseURL(rs.URL())
			rc := redis.NewClient(ro)
			t.Cleanup(func() { _ = rc.Close() })
			return br, pres, media.NewRedisRegistry(rc, "")
		}
	}
	c := &cluster{t: t}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("node-%d", i+1)
		st := openStore()
		br, pres, reg := openBroker(id)
		cfg := testConfig(id, hub.Config{})
		cfg.Media = media.Config{ListenIP: "127.0.0.1", OwnerTTL: 3 * time.Second, Registry: reg}
		srv := server.New(cfg, st, br, pres)
		if err := srv.Start(context.Background()); err != nil {
			t.Fatalf("start %s: %v", id, err)
		}
		if i == 0 {
			if _, err := srv.Accounts().EnsureAdmin(context.Background(), "admin@example.org", "admin-password-1"); err != nil {
				t.Fatalf("admin: %v", err)
			}
		}
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			srv.Drain(ctx)
			hs.Close()
			br.Close()
			st.Close()
		})
		c.Nodes = append(c.Nodes, &node{ID: id, URL: hs.URL, Srv: srv, HTTP: hs, St: st, Br: br})
	}
	return c
}

func runMediaSuite(t *testing.T, c *cluster) {
	far := len(c.Nodes) - 1
	slug := fmt.Sprintf("webinar-%d", time.Now().UnixNano())
	body := fmt.Appendf(nil, `{"slug":%q,"name":"Webinar","condition":"Testing","kind":"webinar","guidelines":"Be kind."}`, slug)
	if status, err := wsclient.PostJSON(ctxT(t, 10*time.Second), c.Nodes[0].URL+"/api/rooms", c.adminToken(), body, nil); err != nil || status != http.StatusCreated {
		t.Fatalf("create webinar room: %d %v", status, err)
	}

	// The admin hosts from node 1 and publishes audio and video.
	host := newRTCPeer(t, c.dial(0, wsclient.Account{Token: c.adminToken()}), slug)
	join(t, host.conn, slug, nil)
	host.must("media.start", nil)
	host.join()
	src := host.publish()

	att, attAcc := c.joined(far, slug)
	a := newRTCPeer(t, att, slug)
	a.join()
	pid := host.participant
	got := a.waitPackets(pid+":video", 20, 15*time.Second)
	if !src.sentAll(got) || !isVP8Key(got[0]) {
		t.Fatalf("attendee's video is not what the host sent (first %x)", got[0].payload)
	}
	if aud := a.waitPackets(pid+":audio", 25, 10*time.Second); !src.sentAll(aud) {
		t.Fatal("attendee's audio is not what the host sent")
	}

	// Attendees receive only, until a host promotes them.
	if r := a.do("media.publish", map[string]any{"kind": "audio"}); r.Code() != "forbidden" {
		t.Fatalf("attendee publish: %v", r)
	}
	a.must("media.hand", map[string]any{"raised": true})
	st := host.must("media.join", nil)["state"].(map[string]any)
	if hs, _ := st["hands"].([]any); len(hs) != 1 {
		t.Fatalf("host sees hands %v", st["hands"])
	}
	host.must("media.promote", map[string]any{"user": attAcc.ID})
	asrc := a.publish()
	apid := a.participant
	if got := host.waitPackets(apid+":audio", 25, 15*time.Second); !asrc.sentAll(got) {
		t.Fatal("the host does not hear the promoted attendee as sent")
	}

	// A host's mute stops the attendee's audio at once, everywhere.
	muted := time.Now()
	host.must("media.mute", map[string]any{"user": attAcc.ID, "kind": "audio", "muted": true, "reason": "echo"})
	time.Sleep(500 * time.Millisecond)
	heard := host.received(apid + ":audio")
	if last := heard[len(heard)-1].at; last.Sub(muted) > 200*time.Millisecond {
		t.Fatalf("audio still arrived %v after the mute", last.Sub(muted))
	}
	a.next("media.state", 5*time.Second, func(m wsclient.Msg) bool { return mutedIn(m, apid, "audio") })

	// A room ban ends the member's media on the node that runs it.
	b, bAcc := c.joined(far, slug)
	bp := newRTCPeer(t, b, slug)
	bp.join()
	if r := host.do("media.remove", map[string]any{"user": "nobody"}); r.Code() != "not_found" {
		t.Fatalf("remove of no participant: %v", r)
	}
	if r := host.do("ban", map[string]any{"room": slug, "user": bAcc.ID, "reason": "spam"}); r.Type() != "ok" {
		t.Fatalf("ban: %v", r)
	}
	bp.next("media.ended", 10*time.Second, func(m wsclient.Msg) bool { return m.Str("reason") == "removed" })

	var audit struct {
		Entries []map[string]any `json:"entries"`
	}
	if status := getJSON(t, c.Nodes[far].URL+"/api/rooms/"+slug+"/audit", c.adminToken(), &audit); status != http.StatusOK {
		t.Fatalf("audit: %d", status)
	}
	var actions []string
	for _, e := range audit.Entries {
		actions = append(actions, e["action"].(string))
	}
	if want := []string{"ban", "media_mute", "promote"}; fmt.Sprint(actions) != fmt.Sprint(want) {
		t.Fatalf("audit actions %v, want %v", actions, want)
	}

	// The node running the session drains: everyone, on every node, hears it ended.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.Nodes[0].Srv.Media().Close(ctx)
	a.next("media.ended", 10*time.Second, func(m wsclient.Msg) bool { return m.Str("reason") == "node shutting down" })
	if far > 0 {
		if r := a.do("media.join", nil); r.Code() != media.CodeNotStarted {
			t.Fatalf("join after the owner left: %v", r)
		}
	}
}

func mutedIn(st wsclient.Msg, pid, kind string) bool {
	ps, _ := st["participants"].([]any)
	for _, p := range ps {
		pm := p.(map[string]any)
		if pm["id"] != pid {
			continue
		}
		for _, k := range pm["muted"].([]any) {
			if k == kind {
				return true
			}
		}
	}
	return false
}
