package safetycases_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/havenhealth/haven/safetycases"
	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/sqlite"
)

func TestConfigDue(t *testing.T) {
	fri := time.Date(2026, 3, 6, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		cfg      safetycases.Config
		fwd, reg time.Time
	}{
		{"defaults", safetycases.Config{}, fri.AddDate(0, 0, 3), fri.AddDate(0, 0, 15)},
		{"configured", safetycases.Config{ForwardBusinessDays: 2, RegulatoryDays: 7}, fri.AddDate(0, 0, 4), fri.AddDate(0, 0, 7)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fwd, reg := tc.cfg.Due(fri)
			if !fwd.Equal(tc.fwd) || !reg.Equal(tc.reg) {
				t.Fatalf("Due = %v, %v; want %v, %v", fwd, reg, tc.fwd, tc.reg)
			}
		})
	}
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type alert struct{ id, clock string }

// TestOverdueJob moves a fake clock past each due time: the gauges follow, and each case's
// clock alerts exactly once however many passes (or nodes) run.
func TestOverdueJob(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "haven.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := st.CreateRoom(ctx, store.Room{ID: "r1", Slug: "ae", Name: "AE"})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} // a Monday
	var (
		mu     sync.Mutex
		alerts []alert
	)
	notify := func(_ context.Context, c store.AECase, which string) {
		mu.Lock()
		defer mu.Unlock()
		alerts = append(alerts, alert{c.ID, which})
	}
	cfg := safetycases.Config{ForwardBusinessDays: 1, RegulatoryDays: 3, Now: clock.Now}
	// Two services on one store stand for two nodes.
	a, b := safetycases.New(st, cfg, notify), safetycases.New(st, cfg, notify)
	id, err := a.Open(ctx, store.NewAECase{RoomID: r.ID, AuthorID: "u1", Text: "drugzol rash"})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := st.AECase(ctx, id)
	if want := clock.Now().AddDate(0, 0, 1); !c.ForwardDueAt.Equal(want) {
		t.Fatalf("forward due %v, want %v", c.ForwardDueAt, want)
	}
	tick := func() {
		t.Helper()
		for _, s := range []*safetycases.Service{a, b} {
			if err := s.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	gauges := func() [3]float64 {
		return [3]float64{safetycases.GaugeValue(""), overdue("forward"), overdue("regulatory")}
	}
	steps := []struct {
		advance time.Duration
		gauges  [3]float64
		alerts  []alert
	}{
		{0, [3]float64{1, 0, 0}, nil},
		{25 * time.Hour, [3]float64{1, 1, 0}, []alert{{id, "forward"}}},
		{time.Hour, [3]float64{1, 1, 0}, []alert{{id, "forward"}}},
		{3 * 24 * time.Hour, [3]float64{1, 1, 1}, []alert{{id, "forward"}, {id, "regulatory"}}},
	}
	for i, step := range steps {
		clock.Add(step.advance)
		tick()
		tick()
		if g := gauges(); g != step.gauges {
			t.Fatalf("step %d: gauges open/forward/regulatory = %v, want %v", i, g, step.gauges)
		}
		mu.Lock()
		got := append([]alert(nil), alerts...)
		mu.Unlock()
		if len(got) != len(step.alerts) {
			t.Fatalf("step %d: alerts %v, want %v", i, got, step.alerts)
		}
		for j := range got {
			if got[j] != step.alerts[j] {
				t.Fatalf("step %d: alerts %v, want %v", i, got, step.alerts)
			}
		}
	}
	if _, err := st.CloseAECase(ctx, id, "reported_to_regulator", "rev", clock.Now(), store.AuditEntry{Action: "ae_close"}); err != nil {
		t.Fatal(err)
	}
	tick()
	if g := gauges(); g != [3]float64{0, 0, 0} {
		t.Fatalf("after close: gauges %v", g)
	}
}

// TestStartStop runs the job on its own ticker and stops it.
func TestStartStop(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "haven.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ran := make(chan struct{}, 1)
	s := safetycases.New(countingStore{SafetyCases: st, ran: ran}, safetycases.Config{OverdueEvery: time.Millisecond}, nil)
	s.Start()
	s.Start() // a second start is a no-op
	<-ran
	s.Stop()
	s.Stop()
}

type countingStore struct {
	store.SafetyCases
	ran chan struct{}
}

func (c countingStore) CountAECases(ctx context.Context, now time.Time) (store.AECounts, error) {
	select {
	case c.ran <- struct{}{}:
	default:
	}
	return c.SafetyCases.CountAECases(ctx, now)
}

func overdue(clock string) float64 { return safetycases.GaugeValue(clock) }
