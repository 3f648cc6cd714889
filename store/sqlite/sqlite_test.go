package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/sqlite"
	"github.com/havenhealth/haven/store/storetest"
)

func open(t testing.TB, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "haven.db"), opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, sqlite.Options{}) })
}

func TestConformanceNoGroupCommit(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, sqlite.Options{NoGroupCommit: true}) })
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "haven.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRoom(ctx, store.Room{ID: "r1", Slug: "t1d", Name: "T1D"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path, sqlite.Options{}) // migrations must be a no-op the second time
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.RoomBySlug(ctx, "t1d"); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
}

func benchSetup(b *testing.B, opts sqlite.Options) (*sqlite.Store, string, string) {
	s := open(b, opts)
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, store.NewUser{ID: "u1", Email: "a@example.org", DisplayName: "a", PasswordHash: "h"}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.CreateRoom(ctx, store.Room{ID: "r1", Slug: "bench", Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	return s, "r1", "u1"
}

func BenchmarkAppend(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts sqlite.Options
	}{{"GroupCommit", sqlite.Options{}}, {"NoGroupCommit", sqlite.Options{NoGroupCommit: true}}} {
		b.Run(mode.name, func(b *testing.B) { benchAppend(b, mode.opts) })
	}
}

func benchAppend(b *testing.B, opts sqlite.Options) {
	b.Run("Sequential", func(b *testing.B) {
		s, room, user := benchSetup(b, opts)
		ctx := context.Background()
		i := 0
		for b.Loop() {
			i++
			_, _, err := s.AppendMessage(ctx, store.NewMessage{ID: fmt.Sprint("m", i), RoomID: room, AuthorID: user,
				ClientMsgID: fmt.Sprint("c", i), Text: "hello", CreatedAt: time.Now()})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		s, room, user := benchSetup(b, opts)
		ctx := context.Background()
		var n atomic.Int64
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := n.Add(1)
				_, _, err := s.AppendMessage(ctx, store.NewMessage{ID: fmt.Sprint("m", i), RoomID: room, AuthorID: user,
					ClientMsgID: fmt.Sprint("c", i), Text: "hello", CreatedAt: time.Now()})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
