// Package progress is what the load tools share while they run: a status line printed
// once a second, and waits that end with the run.
package progress

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// Line is the run's current phase, printed to stderr once a second while started.
type Line struct {
	mu sync.Mutex
	f  func() string // the phase's status, read at each print
}

// Set makes f the current phase.
func (l *Line) Set(f func() string) {
	l.mu.Lock()
	l.f = f
	l.mu.Unlock()
}

// Start prints the phase to w once a second, after the seconds since Start, until stop is
// called; quiet prints nothing.
func (l *Line) Start(w io.Writer, quiet bool) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				l.mu.Lock()
				f := l.f
				l.mu.Unlock()
				if f != nil && !quiet {
					fmt.Fprintf(w, "[%6.1fs] %s\n", time.Since(start).Seconds(), f())
				}
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// Sleep waits d, or until ctx ends (its error then).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
