package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/postgres"
	"github.com/havenhealth/haven/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func open(t testing.TB, dsn string) *postgres.Store {
	return openWith(t, dsn, postgres.Options{MaxConns: 20})
}

func openWith(t testing.TB, dsn string, opts postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, testenv.PostgresURL(t)) })
}

func TestConformanceNoGroupCommit(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openWith(t, testenv.PostgresURL(t), postgres.Options{MaxConns: 20, NoGroupCommit: true})
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	dsn := testenv.PostgresURL(t)
	for i := range 2 {
		if err := postgres.Migrate(context.Background(), dsn); err != nil {
			t.Fatalf("migrate #%d: %v", i+1, err)
		}
	}
	open(t, dsn)
}

func TestOpenRefused(t *testing.T) {
	port := testenv.FreePort(t) // nothing listens there
	_, err := postgres.Open(context.Background(), fmt.Sprintf("postgres://postgres@127.0.0.1:%d/x?sslmode=disable", port), postgres.Options{})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("open with nothing listening: %v, want ErrUnavailable", err)
	}
}

// TestServerRestart stops the server under an open store: calls fail with ErrUnavailable
// and work again once the server is back, without reopening the store.
func TestServerRestart(t *testing.T) {
	srv := testenv.StartPostgres(t)
	s := open(t, srv.CreateDB(t, "haven"))
	ctx := context.Background()
	if _, err := s.CreateRoom(ctx, store.Room{ID: "r1", Slug: "t1d", Name: "T1D"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, store.NewUser{ID: "u1", Email: "a@example.org", DisplayName: "a", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)
	_, _, err := s.AppendMessage(ctx, store.NewMessage{ID: "m1", RoomID: "r1", AuthorID: "u1", Text: "x"})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("append with the server down: %v, want ErrUnavailable", err)
	}
	_, err = s.RoomBySlug(ctx, "t1d")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("read with the server down: %v, want ErrUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("ping with the server down: %v, want ErrUnavailable", err)
	}
	srv.Start(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err = s.RoomBySlug(ctx, "t1d")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	m, _, err := s.AppendMessage(ctx, store.NewMessage{ID: "m2", RoomID: "r1", AuthorID: "u1", Text: "x"})
	if err != nil || m.Seq != 1 {
		t.Fatalf("append after restart: seq %d, %v; want 1 (the failed append took no seq)", m.Seq, err)
	}
}

func TestQueryTimeout(t *testing.T) {
	s, err := postgres.Open(context.Background(), testenv.PostgresURL(t), postgres.Options{QueryTimeout: time.Nanosecond})
	if err == nil {
		defer s.Close()
		_, err = s.ListRooms(context.Background())
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("1ns query timeout: %v, want ErrUnavailable", err)
	}
}

func benchSetup(b *testing.B, opts postgres.Options) *postgres.Store {
	s := openWith(b, testenv.PostgresURL(b), opts)
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, store.NewUser{ID: "u1", Email: "a@example.org", DisplayName: "a", PasswordHash: "h"}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.CreateRoom(ctx, store.Room{ID: "r1", Slug: "bench", Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkAppend(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts postgres.Options
	}{{"GroupCommit", postgres.Options{MaxConns: 20}}, {"NoGroupCommit", postgres.Options{MaxConns: 20, NoGroupCommit: true}}} {
		b.Run(mode.name, func(b *testing.B) { benchAppend(b, mode.opts) })
	}
}

func benchAppend(b *testing.B, opts postgres.Options) {
	b.Run("Sequential", func(b *testing.B) {
		s := benchSetup(b, opts)
		ctx := context.Background()
		i := 0
		for b.Loop() {
			i++
			_, _, err := s.AppendMessage(ctx, store.NewMessage{ID: fmt.Sprint("m", i), RoomID: "r1", AuthorID: "u1",
				ClientMsgID: fmt.Sprint("c", i), Text: "hello", CreatedAt: time.Now()})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		s := benchSetup(b, opts)
		ctx := context.Background()
		var n atomic.Int64
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := n.Add(1)
				_, _, err := s.AppendMessage(ctx, store.NewMessage{ID: fmt.Sprint("m", i), RoomID: "r1", AuthorID: "u1",
					ClientMsgID: fmt.Sprint("c", i), Text: "hello", CreatedAt: time.Now()})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
