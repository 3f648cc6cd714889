package retention

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/sqlite"
)

// fakeStore records the cut-offs the job asks for.
type fakeStore struct {
	mu    sync.Mutex
	rooms []store.RoomRetention
	calls []call
	fail  map[string]bool
}

type call struct {
	room       string
	before, at time.Time
}

func (f *fakeStore) RoomRetentions(context.Context) ([]store.RoomRetention, error) {
	return f.rooms, nil
}

func (f *fakeStore) ApplyRetention(_ context.Context, roomID string, before, at time.Time) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{roomID, before, at})
	if f.fail[roomID] {
		return 0, errors.New("boom")
	}
	return 2, nil
}

func (f *fakeStore) n() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func TestRunOnceCutOffs(t *testing.T) {
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	fs := &fakeStore{rooms: []store.RoomRetention{
		{RoomID: "r1", Slug: "a", Days: 30},
		{RoomID: "r2", Slug: "b", Days: 0}, // forever: never touched
		{RoomID: "r3", Slug: "c", Days: 1},
		{RoomID: "r4", Slug: "d", Days: 7},
	}, fail: map[string]bool{"r3": true}}
	j := New(fs, Config{Now: func() time.Time { return now }})
	n, err := j.RunOnce(context.Background())
	if err == nil {
		t.Fatal("a failing room must be reported")
	}
	if n != 4 {
		t.Fatalf("removed %d, want 4 (two rooms of 2; the failing room removed none)", n)
	}
	want := []call{
		{"r1", now.AddDate(0, 0, -30), now},
		{"r3", now.AddDate(0, 0, -1), now},
		{"r4", now.AddDate(0, 0, -7), now}, // the pass goes on after a failure
	}
	if len(fs.calls) != len(want) {
		t.Fatalf("calls = %+v, want %+v", fs.calls, want)
	}
	for i := range want {
		if fs.calls[i].room != want[i].room || !fs.calls[i].before.Equal(want[i].before) || !fs.calls[i].at.Equal(want[i].at) {
			t.Fatalf("call %d = %+v, want %+v", i, fs.calls[i], want[i])
		}
	}
}

// TestIntervalAndStop runs the loop on synctest's fake clock: a pass at start, one per
// interval, none after Stop.
func TestIntervalAndStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := &fakeStore{rooms: []store.RoomRetention{{RoomID: "r1", Slug: "a", Days: 1}}}
		j := New(fs, Config{Interval: time.Hour})
		j.Start(t.Context())
		j.Start(t.Context()) // a second start does nothing
		synctest.Wait()
		if fs.n() != 1 {
			t.Fatalf("passes at start = %d, want 1", fs.n())
		}
		time.Sleep(3*time.Hour + time.Minute)
		synctest.Wait()
		if fs.n() != 4 {
			t.Fatalf("passes after 3h = %d, want 4", fs.n())
		}
		j.Stop()
		j.Stop() // idempotent
		time.Sleep(5 * time.Hour)
		synctest.Wait()
		if fs.n() != 4 {
			t.Fatalf("passes after stop = %d, want still 4", fs.n())
		}
	})
}

// TestWithStoreAndFakeClock runs the job against a real store, moving its clock forward:
// a message expires only once the room's retention has passed, and legal hold keeps one.
func TestWithStoreAndFakeClock(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	u, err := st.CreateUser(ctx, store.NewUser{ID: "u1", Email: "u@example.org", DisplayName: "u", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	room, err := st.CreateRoom(ctx, store.Room{ID: "r1", Slug: "old", Name: "Old"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetRoomRetention(ctx, room.ID, 7, store.AuditEntry{RoomID: room.ID, ActorID: "admin", Action: "room_retention"}); err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for i, text := range []string{"first", "under hold", "later"} {
		m, _, err := st.AppendMessage(ctx, store.NewMessage{ID: "m" + text, RoomID: room.ID, AuthorID: u.ID,
			Text: text, CreatedAt: t0.Add(time.Duration(i) * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, m.Seq)
	}
	if _, err := st.OpenAECase(ctx, store.NewAECase{RoomID: room.ID, MessageID: "munder hold", MessageSeq: seqs[1],
		AuthorID: u.ID, Text: "under hold", AwareAt: t0}); err != nil {
		t.Fatal(err)
	}
	now := t0
	j := New(st, Config{Now: func() time.Time { return now }})
	texts := func() []string {
		ms, err := st.MessagesAfter(ctx, room.ID, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.Text)
		}
		return out
	}
	for _, step := range []struct {
		now     time.Time
		removed int
		texts   []string
	}{
		{t0.Add(6 * 24 * time.Hour), 0, []string{"first", "under hold", "later"}},
		{t0.Add(7*24*time.Hour + time.Second), 1, []string{"", "under hold", "later"}},
		{t0.Add(30 * 24 * time.Hour), 1, []string{"", "under hold", ""}},
		{t0.Add(31 * 24 * time.Hour), 0, []string{"", "under hold", ""}},
	} {
		now = step.now
		n, err := j.RunOnce(ctx)
		if err != nil || n != step.removed {
			t.Fatalf("at %v: removed %d, %v; want %d", now, n, err, step.removed)
		}
		if got := texts(); len(got) != 3 || got[0] != step.texts[0] || got[1] != step.texts[1] || got[2] != step.texts[2] {
			t.Fatalf("at %v: texts %q, want %q", now, got, step.texts)
		}
	}
}
