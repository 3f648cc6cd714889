package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/havenhealth/haven/accounts"
	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/hub"
	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/internal/wsclient"
	"github.com/havenhealth/haven/rooms"
	"github.com/havenhealth/haven/server"
	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/postgres"
	"github.com/havenhealth/haven/store/sqlite"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// node is one in-process Haven server on 127.0.0.1.
type node struct {
	ID   string
	URL  string
	Srv  *server.Server
	HTTP *httptest.Server
	St   store.Store
	Br   broker.Broker
}

// cluster is one or more nodes sharing a store (and, for several, a Redis).
type cluster struct {
	t     *testing.T
	Nodes []*node
	admin wsclient.Account
	seq   atomic.Int64
}

// setup describes how to build a cluster: a store per node and a broker per node.
type setup struct {
	name      string
	nodes     int
	openStore func(t *testing.T) func(t *testing.T) store.Store // returns a per-node opener
	broker    func(t *testing.T) func(t *testing.T, nodeID string) (broker.Broker, broker.Presence)
	hubCfg    hub.Config
}

func sqliteSetup() setup {
	return setup{name: "sqlite", nodes: 1,
		openStore: func(t *testing.T) func(t *testing.T) store.Store {
			path := filepath.Join(t.TempDir(), "haven.db")
			return func(t *testing.T) store.Store {
				st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
				if err != nil {
					t.Fatalf("open sqlite: %v", err)
				}
				return st
			}
		},
		broker: memoryBroker,
	}
}

func postgresSetup(nodes int, redis bool) setup {
	s := setup{name: fmt.Sprintf("postgres-%dnode", nodes), nodes: nodes,
		openStore: func(t *testing.T) func(t *testing.T) store.Store {
			dsn := testenv.PostgresURL(t)
			return func(t *testing.T) store.Store {
				st, err := postgres.Open(context.Background(), dsn, postgres.Options{})
				if err != nil {
					t.Fatalf("open postgres: %v", err)
				}
				return st
			}
		},
		broker: memoryBroker,
	}
	if redis {
		s.name += "-redis"
		s.broker = redisBroker
	}
	return s
}

func memoryBroker(t *testing.T) func(t *testing.T, nodeID string) (broker.Broker, broker.Presence) {
	return func(t *testing.T, nodeID string) (broker.Broker, broker.Presence) {
		return broker.NewMemory(), broker.NewMemoryPresence()
	}
}

func redisBroker(t *testing.T) func(t *testing.T, nodeID string) (broker.Broker, broker.Presence) {
	rs := testenv.StartRedis(t)
	return func(t *testing.T, nodeID string) (broker.Broker, broker.Presence) {
		opts := broker.RedisOptions{URL: rs.URL(), NodeID: nodeID}
		br, err := broker.NewRedis(opts)
		if err != nil {
			t.Fatalf("redis broker: %v", err)
		}
		pres, err := broker.NewRedisPresence(opts, 3*time.Second)
		if err != nil {
			t.Fatalf("redis presence: %v", err)
		}
		return br, pres
	}
}

// testConfig keeps password hashing cheap and rate limits out of the way of tests that
// are not about them.
func testConfig(nodeID string, hc hub.Config) server.Config {
	return server.Config{
		NodeID:   nodeID,
		Accounts: accounts.Config{Argon2Time: 1, Argon2MemoryKiB: 1024},
		Rooms:    rooms.Config{PostRate: 10000, PostBurst: 10000},
		Hub:      hc,
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

func startCluster(t *testing.T, s setup) *cluster {
	t.Helper()
	opener := s.openStore(t)
	brk := s.broker(t)
	c := &cluster{t: t}
	for i := 0; i < s.nodes; i++ {
		id := fmt.Sprintf("node-%d", i+1)
		st := opener(t)
		br, pres := brk(t, id)
		srv := server.New(testConfig(id, s.hubCfg), st, br, pres)
		if err := srv.Start(context.Background()); err != nil {
			t.Fatalf("start %s: %v", id, err)
		}
		if i == 0 {
			if _, err := srv.SeedDemo(context.Background()); err != nil {
				t.Fatalf("seed: %v", err)
			}
			if _, err := srv.Accounts().EnsureAdmin(context.Background(), "admin@example.org", "admin-password-1"); err != nil {
				t.Fatalf("admin: %v", err)
			}
		}
		hs := httptest.NewServer(srv.Handler())
		n := &node{ID: id, URL: hs.URL, Srv: srv, HTTP: hs, St: st, Br: br}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			srv.Drain(ctx)
			hs.Close()
			br.Close()
			st.Close()
		})
		c.Nodes = append(c.Nodes, n)
	}
	return c
}

// node returns the i-th node, round robin, so members spread over the cluster.
func (c *cluster) node(i int) *node { return c.Nodes[i%len(c.Nodes)] }

// member signs up a fresh member on node i.
func (c *cluster) member(i int) wsclient.Account {
	c.t.Helper()
	n := c.seq.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	acc, err := wsclient.Signup(ctx, c.node(i).URL, fmt.Sprintf("m%d-%d@example.org", n, time.Now().UnixNano()),
		"correct horse battery", fmt.Sprintf("member-%d-%d", n, time.Now().UnixNano()%100000))
	if err != nil {
		c.t.Fatalf("signup: %v", err)
	}
	return acc
}

// dial connects acc to node i.
func (c *cluster) dial(i int, acc wsclient.Account) *wsclient.Conn {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := wsclient.Dial(ctx, c.node(i).URL, acc.Token)
	if err != nil {
		c.t.Fatalf("dial node %d: %v", i, err)
	}
	c.t.Cleanup(conn.Close)
	return conn
}

// joined connects a fresh member to node i and joins room, accepting its guidelines.
func (c *cluster) joined(i int, room string) (*wsclient.Conn, wsclient.Account) {
	c.t.Helper()
	acc := c.member(i)
	conn := c.dial(i, acc)
	join(c.t, conn, room, nil)
	return conn, acc
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// join joins room, accepting the current guidelines when asked; it returns the ok reply.
func join(t *testing.T, conn *wsclient.Conn, room string, since *int64) wsclient.Msg {
	t.Helper()
	ctx := ctxT(t, 10*time.Second)
	fields := map[string]any{"room": room}
	if since != nil {
		fields["since"] = *since
	}
	r, err := conn.Do(ctx, "join", fields)
	if err != nil {
		t.Fatalf("join %s: %v", room, err)
	}
	if r.Code() == "guidelines_required" {
		fields["accept_guidelines"] = r.Int("guidelines_version")
		if r, err = conn.Do(ctx, "join", fields); err != nil {
			t.Fatalf("join %s accepting guidelines: %v", room, err)
		}
	}
	if r.Type() != "ok" {
		t.Fatalf("join %s: %v", room, r)
	}
	return r
}

func send(t *testing.T, conn *wsclient.Conn, room, text, clientID string) wsclient.Msg {
	t.Helper()
	r, err := conn.Do(ctxT(t, 10*time.Second), "send", map[string]any{"room": room, "text": text, "client_msg_id": clientID})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return r
}

// collect reads message events until n have arrived, failing on timeout.
func collect(t *testing.T, conn *wsclient.Conn, n int, d time.Duration) []wsclient.Msg {
	t.Helper()
	ctx := ctxT(t, d)
	var out []wsclient.Msg
	for len(out) < n {
		m, err := conn.Next(ctx, "message")
		if err != nil {
			t.Fatalf("collected %d of %d messages: %v", len(out), n, err)
		}
		out = append(out, m)
	}
	return out
}

// assertConsecutive checks seqs are strictly consecutive from first.
func assertConsecutive(t *testing.T, msgs []wsclient.Msg, first int64) {
	t.Helper()
	for i, m := range msgs {
		if got := m.Int("seq"); got != first+int64(i) {
			t.Fatalf("message %d has seq %d, want %d (order broken or gap)", i, got, first+int64(i))
		}
	}
}

// adminToken logs in as the seeded admin.
func (c *cluster) adminToken() string {
	c.t.Helper()
	if c.admin.Token != "" {
		return c.admin.Token
	}
	body := []byte(`{"email":"admin@example.org","password":"admin-password-1"}`)
	var out struct {
		Token string `json:"token"`
	}
	status, err := wsclient.PostJSON(ctxT(c.t, 10*time.Second), c.Nodes[0].URL+"/api/login", "", body, &out)
	if err != nil || status != 200 {
		c.t.Fatalf("admin login: status %d err %v", status, err)
	}
	c.admin.Token = out.Token
	return out.Token
}

// newRoom creates a fresh public chat room and returns its slug.
func (c *cluster) newRoom(t *testing.T) string {
	t.Helper()
	slug := fmt.Sprintf("room-%d", c.seq.Add(1))
	body := []byte(fmt.Sprintf(`{"slug":%q,"name":"Room %s","condition":"Testing","guidelines":"Be kind."}`, slug, slug))
	status, err := wsclient.PostJSON(ctxT(t, 10*time.Second), c.Nodes[0].URL+"/api/rooms", c.adminToken(), body, nil)
	if err != nil || status != 201 {
		t.Fatalf("create room: status %d err %v", status, err)
	}
	return slug
}
