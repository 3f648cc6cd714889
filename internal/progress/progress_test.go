package progress

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLine(t *testing.T) {
	var l Line
	var out syncBuf
	l.Set(func() string { return "connecting 3/10" })
	stop := l.Start(&out, false)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "s] connecting 3/10\n") {
		if time.Now().After(deadline) {
			t.Fatalf("no progress line in 5 s: %q", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()

	var quiet syncBuf
	stop = l.Start(&quiet, true)
	time.Sleep(1100 * time.Millisecond)
	stop()
	if quiet.String() != "" {
		t.Fatalf("quiet printed %q", quiet.String())
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
