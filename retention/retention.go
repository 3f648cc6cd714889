// Package retention enforces each room's message retention: a job that, every interval,
// blanks the text of messages older than their room's retention_days (skipping messages
// under legal hold) whether or not anyone is in the room.
//
// Every node runs the job. That is safe without coordination because the store's
// ApplyRetention is idempotent: a message already blanked no longer matches, so two nodes
// racing over a room change each message once between them, and the metric counts each
// message once across the cluster.
package retention

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

// DefaultInterval is how often the job runs when Config.Interval is zero.
const DefaultInterval = time.Hour

var metricRemoved = promauto.NewCounter(prometheus.CounterOpts{
	Name: "haven_retention_messages_removed_total",
	Help: "Messages whose text the retention job removed (legal-hold messages are never counted: they are kept).",
})

var metricRuns = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "haven_retention_runs_total",
	Help: "Retention job passes, by result.",
}, []string{"result"})

// Store is the part of store.Store the job uses.
type Store interface {
	RoomRetentions(ctx context.Context) ([]store.RoomRetention, error)
	ApplyRetention(ctx context.Context, roomID string, before, at time.Time) (int, error)
}

// Config tunes the job. The zero value means the defaults in the comments.
type Config struct {
	Interval time.Duration    // time between passes; default DefaultInterval
	Now      func() time.Time // the clock retention ages are measured by; default time.Now
	Logger   *slog.Logger     // default slog.Default()
}

// Job is the retention job of one node.
type Job struct {
	st  Store
	cfg Config

	mu     sync.Mutex // guards cancel, done
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a job over st; Start runs it.
func New(st Store, cfg Config) *Job {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Job{st: st, cfg: cfg}
}

// RunOnce makes one pass over every room with a retention and returns how many messages it
// removed. A room that fails is logged and the pass goes on to the next; the first error is
// returned with the total.
func (j *Job) RunOnce(ctx context.Context) (int, error) {
	rooms, err := j.st.RoomRetentions(ctx)
	if err != nil {
		metricRuns.WithLabelValues("error").Inc()
		return 0, fmt.Errorf("retention: list rooms: %w", err)
	}
	now := j.cfg.Now()
	var (
		total    int
		firstErr error
	)
	for _, r := range rooms {
		if r.Days <= 0 {
			continue
		}
		n, err := j.st.ApplyRetention(ctx, r.RoomID, now.AddDate(0, 0, -r.Days), now)
		total += n
		metricRemoved.Add(float64(n))
		if err != nil {
			j.cfg.Logger.Warn("retention pass failed for a room", "room", r.Slug, "removed", n, "err", err)
			if firstErr == nil {
				firstErr = fmt.Errorf("retention: room %s: %w", r.Slug, err)
			}
			continue
		}
		if n > 0 {
			j.cfg.Logger.Info("retention removed old messages", "room", r.Slug, "days", r.Days, "removed", n)
		}
	}
	result := "ok"
	if firstErr != nil {
		result = "error"
	}
	metricRuns.WithLabelValues(result).Inc()
	return total, firstErr
}

// Start runs a pass at once and then every interval, until ctx ends or Stop is called.
// Starting a running job does nothing.
func (j *Job) Start(ctx context.Context) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.done != nil {
		return
	}
	ctx, j.cancel = context.WithCancel(ctx)
	j.done = make(chan struct{})
	go j.loop(ctx, j.done)
}

func (j *Job) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(j.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := j.RunOnce(ctx); err != nil && ctx.Err() == nil {
			j.cfg.Logger.Warn("retention pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stop ends the job and waits for a pass under way to return (its store calls end with
// the job's context).
func (j *Job) Stop() {
	j.mu.Lock()
	cancel, done := j.cancel, j.done
	j.cancel, j.done = nil, nil
	j.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}
