package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestMigrateBothBackends(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	if err := run(ctx, []string{"migrate", "-data-dir", dir, "-log-level", "warn"}); err != nil {
		t.Fatalf("migrate SQLite: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "haven.db")); err != nil {
		t.Fatalf("no database file after migrate: %v", err)
	}
	dsn := testenv.PostgresURL(t)
	for i := 0; i < 2; i++ { // applying twice is a no-op
		if err := run(ctx, []string{"migrate", "-database-url", dsn, "-log-level", "warn"}); err != nil {
			t.Fatalf("migrate PostgreSQL (run %d): %v", i+1, err)
		}
	}
}

func TestConfigFlagsOverrideEnvironment(t *testing.T) {
	t.Setenv("HAVEN_ADDR", "127.0.0.1:9999")
	t.Setenv("HAVEN_NODE_ID", "from-env")
	t.Setenv("HAVEN_SHUTDOWN_TIMEOUT", "3s")
	cfg, err := parseConfig(flag.NewFlagSet("t", flag.ContinueOnError), []string{"-node-id", "from-flag"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9999" || cfg.NodeID != "from-flag" || cfg.ShutdownTimeout != 3*time.Second {
		t.Fatalf("config %+v", cfg)
	}
	if cfg.PublicURL != "http://127.0.0.1:9999" {
		t.Fatalf("public URL %q", cfg.PublicURL)
	}
	for _, bad := range [][]string{
		{"-shutdown-timeout", "soon"},
		{"-trust-proxy", "perhaps"},
		{"-tls-cert", "c.pem"},
		{"-admin-email", "a@b.org"},
	} {
		if _, err := parseConfig(flag.NewFlagSet("t", flag.ContinueOnError), bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
