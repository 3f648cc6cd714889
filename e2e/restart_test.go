package e2e

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/hub"
	"github.com/havenhealth/haven/internal/wsclient"
	"github.com/havenhealth/haven/server"
	"github.com/havenhealth/haven/store/sqlite"
)

// The embedded store keeps accounts, rooms, acceptances and messages across restarts.
func TestEmbeddedDataSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "haven.db")
	start := func() (*httptest.Server, func()) {
		st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		srv := server.New(testConfig("solo", hub.Config{}), st, broker.NewMemory(), broker.NewMemoryPresence())
		if err := srv.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.SeedDemo(context.Background()); err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv.Handler())
		return hs, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			srv.Drain(ctx)
			hs.Close()
			st.Close()
		}
	}
	hs, stop := start()
	acc, err := wsclient.Signup(ctxT(t, 10*time.Second), hs.URL, "keep@example.org", "correct horse battery", "keeper")
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := wsclient.Dial(ctxT(t, 5*time.Second), hs.URL, acc.Token)
	if err != nil {
		t.Fatal(err)
	}
	join(t, conn, "long-covid", nil)
	send(t, conn, "long-covid", "remember me", "r1")
	conn.Close()
	stop()

	hs, stop = start()
	defer stop()
	conn, _, err = wsclient.Dial(ctxT(t, 5*time.Second), hs.URL, acc.Token) // the session survived too
	if err != nil {
		t.Fatalf("session lost across restart: %v", err)
	}
	defer conn.Close()
	r, err := conn.Do(ctxT(t, 5*time.Second), "join", map[string]any{"room": "long-covid"}) // acceptance survived
	if err != nil || r.Type() != "ok" {
		t.Fatalf("join after restart: %v %v", r, err)
	}
	msgs := toMsgs(r["messages"])
	if len(msgs) != 1 || msgs[0].Str("text") != "remember me" || r.Int("last_seq") != 1 {
		t.Fatalf("history after restart: %v", r)
	}
	if r := send(t, conn, "long-covid", "and again", "r2"); r.Int("seq") != 2 {
		t.Fatalf("seq after restart: %v", r)
	}
}
