package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/internal/groupcommit"
)

// TestAppendAll: a batch over two rooms is stored by the one statement with gap-free,
// batch-ordered seqs; a resend, an unknown room or an unknown author fails the statement
// with nothing stored; and the statement-per-message path behind it (commitIn) still gives
// every append of such a batch its own result.
func TestAppendAll(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, testenv.PostgresURL(t), Options{MaxConns: 4, NoGroupCommit: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.CreateUser(ctx, store.NewUser{ID: "u1", Email: "a@example.org", DisplayName: "Ann", PasswordHash: "x", Role: "member", CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ra", "rb"} {
		if _, err := s.CreateRoom(ctx, store.Room{ID: id, Slug: id, Name: id}); err != nil {
			t.Fatal(err)
		}
	}
	req := func(room, id, client string) *groupcommit.Request {
		return &groupcommit.Request{M: store.NewMessage{ID: id, RoomID: room, AuthorID: u.ID, ClientMsgID: client, Text: "t " + id}}
	}
	batch := []*groupcommit.Request{req("ra", "m1", "c1"), req("rb", "m2", "c2"), req("ra", "m3", ""), req("ra", "m4", "c4")}
	if err := s.appendAll(ctx, batch); err != nil {
		t.Fatalf("appendAll: %v", err)
	}
	want := map[string]int64{"m1": 1, "m2": 1, "m3": 2, "m4": 3}
	for _, r := range batch {
		if r.Err != nil || r.Msg.Seq != want[r.M.ID] || r.Msg.Author.DisplayName != "Ann" || r.Msg.RoomID != r.M.RoomID {
			t.Fatalf("%s: seq %d author %q err %v, want seq %d by Ann", r.M.ID, r.Msg.Seq, r.Msg.Author.DisplayName, r.Err, want[r.M.ID])
		}
	}
	lastSeq := func(room string) int64 {
		var n int64
		if err := s.db.QueryRowContext(ctx, `SELECT last_seq FROM rooms WHERE id = $1`, room).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for name, b := range map[string][]*groupcommit.Request{
		"stored resend":       {req("ra", "m5", ""), req("ra", "m6", "c1")},
		"resend in the batch": {req("rb", "m7", "c9"), req("rb", "m8", "c9")},
		"unknown room":        {req("ra", "m9", ""), req("nowhere", "m10", "")},
		"unknown author":      {req("ra", "m15", ""), {M: store.NewMessage{ID: "m16", RoomID: "ra", AuthorID: "nobody", Text: "x"}}},
	} {
		if err := s.appendAll(ctx, b); err == nil {
			t.Fatalf("%s: appendAll stored the batch", name)
		}
		if a, b := lastSeq("ra"), lastSeq("rb"); a != 3 || b != 1 {
			t.Fatalf("%s: last_seq ra %d rb %d after a refused batch, want 3 and 1", name, a, b)
		}
	}
	mixed := []*groupcommit.Request{req("ra", "m11", ""), req("ra", "m12", "c1"), req("nowhere", "m13", ""), req("ra", "m14", "")}
	s.commitIn(ctx, mixed)
	got := fmt.Sprintf("%d %v %s %v %d", mixed[0].Msg.Seq, mixed[1].Dup, mixed[1].Msg.ID, errors.Is(mixed[2].Err, store.ErrNotFound), mixed[3].Msg.Seq)
	if got != "4 true m1 true 5" {
		t.Fatalf("mixed batch: %s, want 4 true m1 true 5 (seq, resend found, its original, unknown room, seq)", got)
	}
}
