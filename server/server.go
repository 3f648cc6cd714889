// Package server wires one Haven node together — accounts, rooms, the WebSocket hub, the
// web client and the operator endpoints — behind a single http.Handler. It does not listen:
// cmd/haven mounts it on a listener and tests mount it on 127.0.0.1.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/havenhealth/haven/accounts"
	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/hub"
	"github.com/havenhealth/haven/internal/httpx"
	"github.com/havenhealth/haven/media"
	"github.com/havenhealth/haven/retention"
	"github.com/havenhealth/haven/rooms"
	"github.com/havenhealth/haven/safetycases"
	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/web"
)

// Config is a node's configuration. The zero value of each part means its defaults.
type Config struct {
	NodeID   string
	Accounts accounts.Config
	Rooms    rooms.Config
	Hub      hub.Config
	Media    media.Config
	Logger   *slog.Logger
	// Safety is the deployment's safety configuration (safety_config.go); zero screens nothing.
	Safety SafetyConfig
	// Cases is the AE case queue's clocks: due times and the overdue job (safetycases).
	Cases safetycases.Config
	// Privacy is the consent, erasure and retention policy (api_privacy.go).
	Privacy PrivacyConfig
}

// Server is one Haven node.
type Server struct {
	cfg      Config
	log      *slog.Logger
	st       store.Store
	br       broker.Broker
	accounts *accounts.Service
	rooms    *rooms.Service
	hub      *hub.Hub
	media    *media.Node
	handler  http.Handler
	cases    *safetycases.Service // AE due times and the overdue job

	retention *retention.Job // blanks messages past their room's retention (started with the node)
}

// New assembles a node over a store, a broker and a presence tracker.
func New(cfg Config, st store.Store, br broker.Broker, pres broker.Presence) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, st: st, br: br}
	cfg.Rooms.Logger = cfg.Logger
	cfg.Safety.apply(&cfg.Rooms)
	cfg.Privacy.apply(&cfg.Rooms)
	cfg.Cases.Logger = cfg.Logger
	s.cases = safetycases.New(st, cfg.Cases, s.notifyOverdue)
	s.retention = retention.New(st, retention.Config{Interval: cfg.Privacy.RetentionInterval,
		Now: cfg.Privacy.Now, Logger: cfg.Logger})
	// Cases the screens open get the configured due times.
	cfg.Rooms.PrepareAECase = s.cases.Prepare
	s.rooms = rooms.New(st, br, cfg.Rooms)
	next := cfg.Accounts.OnRevoke
	cfg.Accounts.OnRevoke = func(sessionID string) {
		s.hub.RevokeSession(context.Background(), sessionID)
		if next != nil {
			next(sessionID)
		}
	}
	nextChanged := cfg.Accounts.OnUserChanged
	cfg.Accounts.OnUserChanged = func(userID string) {
		s.hub.UserChanged(context.Background(), userID)
		if nextChanged != nil {
			nextChanged(userID)
		}
	}
	s.accounts = accounts.New(st, cfg.Accounts)
	cfg.Hub.NodeID = cfg.NodeID
	cfg.Hub.Logger = cfg.Logger
	s.hub = hub.New(cfg.Hub, s.accounts, s.rooms, br, pres)
	cfg.Media.NodeID = cfg.NodeID
	cfg.Media.Logger = cfg.Logger
	s.media = media.NewNode(cfg.Media, br, st) // the store audits media control actions
	s.hub.AttachMedia(s.media)

	mux := http.NewServeMux()
	s.accounts.Routes(mux)
	s.roomRoutes(mux)
	s.reviewRoutes(mux)
	s.moderatorRoutes(mux)
	s.sessionRoutes(mux)
	s.safetyRoutes(mux)
	s.privacyRoutes(mux)
	s.disclosureRoutes(mux)
	mux.Handle("GET /ws", s.hub)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"status": "ok", "node": cfg.NodeID})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.Handler())
	mux.Handle("/", web.Handler()) // also answers unknown /api/ paths with a JSON not_found
	s.handler = mux
	return s
}

// Start connects the node to the broker and starts media.
func (s *Server) Start(ctx context.Context) error {
	if err := s.hub.Start(ctx); err != nil {
		return err
	}
	if err := s.media.Start(ctx); err != nil {
		return err
	}
	s.cases.Start()
	s.retention.Start(ctx)
	return nil
}

// Handler serves everything the node offers.
func (s *Server) Handler() http.Handler { return s.handler }

// Accounts returns the account service (for first-run admin set-up).
func (s *Server) Accounts() *accounts.Service { return s.accounts }

// Rooms returns the room service.
func (s *Server) Rooms() *rooms.Service { return s.rooms }

// Media returns the node's media sessions (the binary binds their ports at start).
func (s *Server) Media() *media.Node { return s.media }

// Drain stops taking connections and sends every client elsewhere before ctx ends. Media
// sessions end first, so their members hear media.ended before the socket closes.
func (s *Server) Drain(ctx context.Context) {
	s.cases.Stop()
	s.retention.Stop()
	s.media.Close(ctx)
	s.hub.Drain(ctx)
}

// readyz is 200 while the store answers, with "degraded" while the broker does not (the
// node still serves its own members, so a load balancer should keep it); 503 when the
// store is down or the node is draining.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	body := map[string]any{"node": s.cfg.NodeID, "store": "ok", "broker": "ok", "status": "ok"}
	status := http.StatusOK
	if err := s.st.Ping(ctx); err != nil {
		body["store"], body["status"], status = errString(err), "unavailable", http.StatusServiceUnavailable
	}
	if err := s.br.Healthy(ctx); err != nil {
		body["broker"] = errString(err)
		if status == http.StatusOK {
			body["status"] = "degraded"
		}
	}
	if s.hub.Draining() {
		body["status"], status = "draining", http.StatusServiceUnavailable
	}
	httpx.WriteJSON(w, status, body)
}

func errString(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return err.Error()
}
