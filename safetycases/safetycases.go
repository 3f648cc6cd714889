// Package safetycases runs the adverse-event case queue's clocks: it computes a case's due
// times from the deployment's configuration and watches for cases whose clocks have run
// out, setting the /metrics gauges and alerting safety reviewers once per case and clock.
// Storage is store.SafetyCases; the HTTP API and the console live in server.
package safetycases

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/havenhealth/haven/store"
)

// Config is the case queue's configuration. The zero value means the defaults.
type Config struct {
	// ForwardBusinessDays: a case is due to be forwarded to the safety team this many
	// business days (Saturday and Sunday skipped) after awareness. 0 means the default, 1.
	ForwardBusinessDays int
	// RegulatoryDays: the regulatory clock runs out this many calendar days after
	// awareness. 0 means the default, 15.
	RegulatoryDays int
	// OverdueEvery is how often the overdue job runs. 0 means the default, 1 minute.
	OverdueEvery time.Duration
	// Now is the clock; nil means time.Now (tests inject a fake one).
	Now    func() time.Time
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.ForwardBusinessDays <= 0 {
		c.ForwardBusinessDays = store.DefaultAEForwardBusinessDays
	}
	if c.RegulatoryDays <= 0 {
		c.RegulatoryDays = store.DefaultAERegulatoryDays
	}
	if c.OverdueEvery <= 0 {
		c.OverdueEvery = time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Due returns the due times of a case the service became aware of at awareAt (day 0).
func (c Config) Due(awareAt time.Time) (forward, regulatory time.Time) {
	c = c.withDefaults()
	return store.AEDueTimes(awareAt, c.ForwardBusinessDays, c.RegulatoryDays)
}

// Notify tells online safety reviewers that a case's clock has run out.
type Notify func(ctx context.Context, c store.AECase, clock string)

var (
	metricOverdue = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "haven_ae_cases_overdue",
		Help: "Adverse-event cases not closed whose clock has run out, by clock (forward, regulatory).",
	}, []string{"clock"})
	metricOpen = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "haven_ae_cases_open",
		Help: "Adverse-event cases not closed (open or forwarded).",
	})
)

// Service opens cases with the configured due times and runs the overdue job.
type Service struct {
	st     store.SafetyCases
	cfg    Config
	notify Notify

	mu   sync.Mutex // guards stop and done
	stop context.CancelFunc
	done chan struct{}
}

// New returns a service over st; notify may be nil (no live alerts).
func New(st store.SafetyCases, cfg Config, notify Notify) *Service {
	return &Service{st: st, cfg: cfg.withDefaults(), notify: notify}
}

// Config returns the configuration in force, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// Open stores a case with its due times computed from the configuration (AwareAt zero
// means now).
func (s *Service) Open(ctx context.Context, c store.NewAECase) (string, error) {
	return s.st.OpenAECase(ctx, s.Prepare(c))
}

// Prepare sets what c leaves unset of its awareness (now) and due times (the configured
// clocks). The screens' cases, stored with their post, hold or edit, go through it too
// (rooms.Config.PrepareAECase).
func (s *Service) Prepare(c store.NewAECase) store.NewAECase {
	if c.AwareAt.IsZero() {
		c.AwareAt = s.cfg.Now()
	}
	fwd, reg := s.cfg.Due(c.AwareAt)
	if c.ForwardDueAt.IsZero() {
		c.ForwardDueAt = fwd
	}
	if c.RegulatoryDueAt.IsZero() {
		c.RegulatoryDueAt = reg
	}
	return c
}

// overduePage bounds the cases one pass reads; the rest are alerted on the next pass.
const overduePage = 500

// Tick runs one pass of the overdue job: it sets the gauges and alerts once per overdue
// case and clock. Safe to run on every node at once: the store records each alert, and
// only the node whose record lands first sends it.
func (s *Service) Tick(ctx context.Context) error {
	now := s.cfg.Now()
	n, err := s.st.CountAECases(ctx, now)
	if err != nil {
		return fmt.Errorf("overdue AE cases: %w", err)
	}
	metricOpen.Set(float64(n.Active))
	metricOverdue.WithLabelValues(store.ClockForward).Set(float64(n.OverdueForward))
	metricOverdue.WithLabelValues(store.ClockRegulatory).Set(float64(n.OverdueRegulatory))
	if n.OverdueForward == 0 && n.OverdueRegulatory == 0 {
		return nil
	}
	cases, err := s.st.AECases(ctx, store.AECaseFilter{Overdue: true, Now: now}, overduePage)
	if err != nil {
		return fmt.Errorf("overdue AE cases: %w", err)
	}
	for _, c := range cases {
		for _, clock := range c.OverdueClocks(now) {
			already := (clock == store.ClockForward && !c.ForwardAlertedAt.IsZero()) ||
				(clock == store.ClockRegulatory && !c.RegulatoryAlertedAt.IsZero())
			if already {
				continue
			}
			first, err := s.st.MarkAEAlerted(ctx, c.ID, clock, now)
			if err != nil {
				return fmt.Errorf("overdue AE case %s: %w", c.ID, err)
			}
			if first && s.notify != nil {
				s.notify(ctx, c, clock)
			}
		}
	}
	return nil
}

// Start runs Tick every OverdueEvery until Stop. A failed pass is logged and retried on
// the next one.
func (s *Service) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop, s.done = cancel, make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		t := time.NewTicker(s.cfg.OverdueEvery)
		defer t.Stop()
		for {
			pass, cancelPass := context.WithTimeout(ctx, 30*time.Second)
			if err := s.Tick(pass); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn("AE overdue job", "err", err)
			}
			cancelPass()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}(s.done)
}

// Stop ends the job and waits for a pass in progress.
func (s *Service) Stop() {
	s.mu.Lock()
	stop, done := s.stop, s.done
	s.stop, s.done = nil, nil
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}
