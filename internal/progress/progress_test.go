package progress

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// lines receives what the line prints, one write at a time.
type lines chan string

func (l lines) Write(p []byte) (int, error) {
	l <- string(p)
	return len(p), nil
}

func TestLine(t *testing.T) {
	var l Line
	l.Set(func() string { return "connecting 3/10" })
	out := make(lines, 16)
	stop := l.Start(out, false)
	select {
	case got := <-out:
		if !strings.HasSuffix(got, "s] connecting 3/10\n") {
			t.Fatalf("progress line %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no progress line in 5 s")
	}
	stop()

	quiet := make(lines, 16)
	stop = l.Start(quiet, true)
	time.Sleep(1100 * time.Millisecond)
	stop()
	if len(quiet) != 0 {
		t.Fatalf("quiet printed %q", <-quiet)
	}
}

func TestSleep(t *testing.T) {
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep after cancel = %v", err)
	}
	if err := Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep(0) after cancel = %v", err)
	}
}
