// Command haven runs a Haven node: embedded (SQLite, in-memory broker) by default, or one of
// a cluster with DATABASE_URL (PostgreSQL) and REDIS_URL set. `haven migrate` applies the
// database migrations and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/havenhealth/haven/accounts"
	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/hub"
	"github.com/havenhealth/haven/safetycases"
	"github.com/havenhealth/haven/server"
	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/postgres"
	"github.com/havenhealth/haven/store/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "haven:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	migrateOnly := len(args) > 0 && args[0] == "migrate"
	if migrateOnly {
		args = args[1:]
	}
	fs := flag.NewFlagSet("haven", flag.ContinueOnError)
	cfg, err := parseConfig(fs, args)
	if err != nil {
		return err
	}
	log := newLogger(cfg)
	slog.SetDefault(log)
	applyGCPercent(cfg.GCPercent, log)

	if migrateOnly {
		return migrate(ctx, cfg, log)
	}

	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	br, pres, err := openBroker(cfg, log)
	if err != nil {
		return err
	}
	defer br.Close()
	reg, closeReg, err := mediaRegistry(cfg)
	if err != nil {
		return err
	}
	defer closeReg()

	srv := server.New(server.Config{
		NodeID:   cfg.NodeID,
		Accounts: accounts.Config{TrustProxy: cfg.TrustProxy},
		Hub:      hub.Config{AllowedOrigins: cfg.origins(), MaxFlushInterval: cfg.FlushMax},
		Media:    cfg.Media.config(reg),
		Logger:   log,
		Safety:   cfg.Safety,
		Cases: safetycases.Config{ForwardBusinessDays: cfg.AEForwardBusinessDays, RegulatoryDays: cfg.AERegulatoryDays,
			OverdueEvery: cfg.AEOverdueInterval},
		Privacy: cfg.Privacy,
	}, st, br, pres)
	if err := srv.Start(ctx); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	// Bind the media ports now, so a taken port shows at start rather than at the first
	// webinar. Chat does not depend on media: the node serves it either way, and media
	// tries the ports again when a session starts.
	if err := srv.Media().Listen(); err != nil {
		log.Error("media unavailable: webinars and support sessions will fail until the port is free", "err", err)
	}
	if err := firstRun(ctx, cfg, srv, log); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	httpSrv := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 2)
	go func() {
		if cfg.TLSCert != "" {
			errc <- httpSrv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			errc <- httpSrv.Serve(ln)
		}
	}()
	if cfg.AdminAddr != "" {
		go func() { errc <- serveAdmin(cfg.AdminAddr) }()
	}
	log.Info("haven serving", "addr", ln.Addr().String(), "url", cfg.PublicURL)

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
	case <-ctx.Done():
	}
	log.Info("draining", "timeout", cfg.ShutdownTimeout)
	dctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	srv.Drain(dctx)
	if err := httpSrv.Shutdown(dctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	log.Info("stopped")
	return nil
}

func newLogger(cfg config) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	return slog.New(h).With("node", cfg.NodeID)
}

func openStore(ctx context.Context, cfg config, log *slog.Logger) (store.Store, error) {
	if cfg.DatabaseURL != "" {
		st, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{})
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		log.Info("store: PostgreSQL")
		return st, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(cfg.DataDir, "haven.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return nil, fmt.Errorf("open SQLite store %s: %w", path, err)
	}
	log.Info("store: embedded SQLite", "path", path)
	return st, nil
}

func openBroker(cfg config, log *slog.Logger) (broker.Broker, broker.Presence, error) {
	if cfg.RedisURL == "" {
		log.Info("broker: in-memory; this node runs alone (set REDIS_URL for a cluster)")
		return broker.NewMemory(), broker.NewMemoryPresence(), nil
	}
	opts := broker.RedisOptions{URL: cfg.RedisURL, NodeID: cfg.NodeID, Logger: log}
	br, err := broker.NewRedis(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("redis broker: %w", err)
	}
	pres, err := broker.NewRedisPresence(opts, cfg.PresenceTTL)
	if err != nil {
		br.Close()
		return nil, nil, fmt.Errorf("redis presence: %w", err)
	}
	log.Info("broker: Redis", "node", cfg.NodeID)
	return br, pres, nil
}

func migrate(ctx context.Context, cfg config, log *slog.Logger) error {
	if cfg.DatabaseURL != "" {
		if err := postgres.Migrate(ctx, cfg.DatabaseURL); err != nil {
			return fmt.Errorf("migrate PostgreSQL: %w", err)
		}
		log.Info("PostgreSQL migrated")
		return nil
	}
	st, err := openStore(ctx, cfg, log) // opening the SQLite store applies its migrations
	if err != nil {
		return err
	}
	log.Info("SQLite migrated")
	return st.Close()
}

// firstRun seeds the demo rooms and makes sure someone can administer the node.
func firstRun(ctx context.Context, cfg config, srv *server.Server, log *slog.Logger) error {
	if cfg.SeedDemo {
		n, err := srv.SeedDemo(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			log.Info("seeded demo rooms", "count", n)
		}
	}
	if cfg.AdminEmail != "" {
		created, err := srv.Accounts().EnsureAdmin(ctx, cfg.AdminEmail, cfg.AdminPassword)
		if err != nil {
			return fmt.Errorf("create admin: %w", err)
		}
		if created {
			log.Info("created admin", "email", cfg.AdminEmail)
		}
		return nil
	}
	token, err := srv.Accounts().AdminInvite(ctx)
	if err != nil {
		return fmt.Errorf("admin invite: %w", err)
	}
	if token != "" {
		// Printed, not logged: it is a one-time secret for whoever started the server.
		fmt.Fprintf(os.Stdout, "\nNo admin yet. Open this one-time link to create one:\n  %s/?invite=%s\n\n", cfg.PublicURL, token)
	}
	return nil
}

func serveAdmin(addr string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}
