package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/store"
)

func testAppend(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "app"), mkUser(t, s, "mo")
	if _, err := s.SetUserRole(ctx, u.ID, store.RoleClinician, true); err != nil {
		t.Fatal(err)
	}
	m1 := post(t, s, r, u, "c1", "hello")
	m2 := post(t, s, r, u, "", "no client id")
	m3 := post(t, s, r, u, "", "no client id") // an empty client id never deduplicates
	if m1.Seq != 1 || m2.Seq != 2 || m3.Seq != 3 {
		t.Fatalf("seqs = %d, %d, %d; want 1, 2, 3", m1.Seq, m2.Seq, m3.Seq)
	}
	want := store.Author{ID: u.ID, DisplayName: "mo", Role: store.RoleClinician, Verified: true}
	if m1.Author != want || m1.RoomID != r.ID || m1.Text != "hello" || m1.ClientMsgID != "c1" ||
		!m1.CreatedAt.Equal(t0.Truncate(time.Microsecond)) || m1.Deleted() {
		t.Fatalf("appended = %+v", m1)
	}
	got, err := s.MessageBySeq(ctx, r.ID, 1)
	if err != nil || got != m1 {
		t.Fatalf("MessageBySeq = %+v, %v\nwant %+v", got, err, m1)
	}
	room, err := s.RoomBySlug(ctx, r.Slug)
	if err != nil || room.LastSeq != 3 {
		t.Fatalf("room last_seq = %d, %v; want 3", room.LastSeq, err)
	}
	// Seqs are per room.
	other := mkRoom(t, s, "app2")
	if m := post(t, s, other, u, "c1", "elsewhere"); m.Seq != 1 {
		t.Fatalf("first seq in second room = %d", m.Seq)
	}
	// The same client id from another author is a different message.
	v := mkUser(t, s, "ned")
	if m := post(t, s, r, v, "c1", "same client id, other author"); m.Seq != 4 {
		t.Fatalf("other author's seq = %d, want 4", m.Seq)
	}
}

func testAppendIdempotent(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "idem"), mkUser(t, s, "ola")
	first := post(t, s, r, u, "c1", "hello")
	again, dup, err := s.AppendMessage(ctx, store.NewMessage{ID: ids.New("m_"), RoomID: r.ID, AuthorID: u.ID,
		ClientMsgID: "c1", Text: "hello (resent)", CreatedAt: t0.Add(time.Second)})
	if err != nil || !dup {
		t.Fatalf("resend: dup=%v err=%v", dup, err)
	}
	if again != first {
		t.Fatalf("resend returned %+v, want the first %+v", again, first)
	}
	// The duplicate consumed no seq.
	if next := post(t, s, r, u, "c2", "next"); next.Seq != 2 {
		t.Fatalf("seq after resend = %d, want 2", next.Seq)
	}
}

func testAppendUnknownRoom(t *testing.T, s store.Store) {
	u := mkUser(t, s, "pat")
	_, _, err := s.AppendMessage(ctxT(t), store.NewMessage{ID: "m1", RoomID: "nope", AuthorID: u.ID, Text: "x"})
	wantErr(t, err, store.ErrNotFound, "append to unknown room")
	r := mkRoom(t, s, "unk")
	_, _, err = s.AppendMessage(ctxT(t), store.NewMessage{ID: "m2", RoomID: r.ID, AuthorID: "ghost", Text: "x"})
	wantErr(t, err, store.ErrNotFound, "append by unknown author")
	if room, _ := s.RoomBySlug(ctxT(t), "unk"); room.LastSeq != 0 {
		t.Fatalf("failed append consumed a seq: last_seq %d", room.LastSeq)
	}
}

func testAppendDuplicateID(t *testing.T, s store.Store) {
	r, u := mkRoom(t, s, "dupid"), mkUser(t, s, "quinn")
	m := post(t, s, r, u, "c1", "x")
	_, _, err := s.AppendMessage(ctxT(t), store.NewMessage{ID: m.ID, RoomID: r.ID, AuthorID: u.ID, ClientMsgID: "c2", Text: "y"})
	wantErr(t, err, store.ErrConflict, "reused message id")
	if next := post(t, s, r, u, "c3", "z"); next.Seq != 2 {
		t.Fatalf("seq after failed append = %d, want 2 (no gap)", next.Seq)
	}
}

// appendMany runs n appends from n goroutines at once and returns what each got.
func appendMany(t *testing.T, s store.Store, n int, mk func(i int) store.NewMessage) ([]store.Message, []bool) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		msgs  = make([]store.Message, n)
		dups  = make([]bool, n)
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			msgs[i], dups[i], errs[i] = s.AppendMessage(ctxT(t), mk(i))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	return msgs, dups
}

func testConcurrentAppend(t *testing.T, s store.Store) {
	const n = 50
	r, u := mkRoom(t, s, "conc"), mkUser(t, s, "ray")
	msgs, dups := appendMany(t, s, n, func(i int) store.NewMessage {
		return store.NewMessage{ID: ids.New("m_"), RoomID: r.ID, AuthorID: u.ID,
			ClientMsgID: fmt.Sprintf("c%d", i), Text: fmt.Sprintf("msg %d", i), CreatedAt: t0}
	})
	seqs := make([]int64, 0, n)
	byText := map[string]int64{}
	for i, m := range msgs {
		if dups[i] {
			t.Fatalf("append %d reported duplicate", i)
		}
		seqs = append(seqs, m.Seq)
		byText[m.Text] = m.Seq
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for i, seq := range seqs {
		if seq != int64(i+1) {
			t.Fatalf("seqs %v: want exactly 1..%d", seqs, n)
		}
	}
	stored, err := s.MessagesAfter(ctxT(t), r.ID, 0, 2*n)
	if err != nil || len(stored) != n {
		t.Fatalf("stored %d messages, %v; want %d", len(stored), err, n)
	}
	for i, m := range stored {
		if m.Seq != int64(i+1) || byText[m.Text] != m.Seq {
			t.Fatalf("stored message %d = seq %d %q, caller was told seq %d", i, m.Seq, m.Text, byText[m.Text])
		}
	}
	if room, _ := s.RoomBySlug(ctxT(t), r.Slug); room.LastSeq != n {
		t.Fatalf("last_seq = %d, want %d", room.LastSeq, n)
	}
}

func testConcurrentResend(t *testing.T, s store.Store) {
	const n = 20
	r, u := mkRoom(t, s, "resend"), mkUser(t, s, "sam")
	msgs, dups := appendMany(t, s, n, func(i int) store.NewMessage {
		return store.NewMessage{ID: ids.New("m_"), RoomID: r.ID, AuthorID: u.ID, ClientMsgID: "same", Text: "once", CreatedAt: t0}
	})
	firsts := 0
	for i, m := range msgs {
		if !dups[i] {
			firsts++
		}
		if m != msgs[0] {
			t.Fatalf("append %d = %+v, append 0 = %+v: resends must return the same message", i, m, msgs[0])
		}
	}
	if firsts != 1 || msgs[0].Seq != 1 {
		t.Fatalf("%d appends stored (seq %d); want exactly one at seq 1", firsts, msgs[0].Seq)
	}
	if room, _ := s.RoomBySlug(ctxT(t), r.Slug); room.LastSeq != 1 {
		t.Fatalf("last_seq = %d, want 1", room.LastSeq)
	}
}

func testConcurrentRooms(t *testing.T, s store.Store) {
	const rooms, per = 4, 15
	u := mkUser(t, s, "tia")
	rs := make([]store.Room, rooms)
	for i := range rs {
		rs[i] = mkRoom(t, s, fmt.Sprintf("multi%d", i))
	}
	appendMany(t, s, rooms*per, func(i int) store.NewMessage {
		return store.NewMessage{ID: ids.New("m_"), RoomID: rs[i%rooms].ID, AuthorID: u.ID, Text: "x", CreatedAt: t0}
	})
	for _, r := range rs {
		msgs, err := s.MessagesAfter(ctxT(t), r.ID, 0, 100)
		if err != nil || len(msgs) != per {
			t.Fatalf("room %s: %d messages, %v", r.Slug, len(msgs), err)
		}
		for i, m := range msgs {
			if m.Seq != int64(i+1) {
				t.Fatalf("room %s: seq %d at %d", r.Slug, m.Seq, i)
			}
		}
	}
}

// testConcurrentMixed interleaves appends that must fail (unknown room, unknown author,
// reused message ID) with good ones, as a batching backend would commit them together: only
// the bad ones fail, and the good ones still get seqs 1..n.
func testConcurrentMixed(t *testing.T, s store.Store) {
	const n = 40
	r, u := mkRoom(t, s, "mixed"), mkUser(t, s, "zed")
	taken := post(t, s, r, u, "first", "first")
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seqs []int64
	)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			m := store.NewMessage{ID: ids.New("m_"), RoomID: r.ID, AuthorID: u.ID, ClientMsgID: fmt.Sprintf("c%d", i), Text: "x"}
			want := error(nil)
			switch i % 4 {
			case 1:
				m.RoomID, want = "no-room", store.ErrNotFound
			case 2:
				m.AuthorID, want = "no-author", store.ErrNotFound
			case 3:
				m.ID, want = taken.ID, store.ErrConflict
			}
			got, _, err := s.AppendMessage(ctxT(t), m)
			if want != nil {
				if !errors.Is(err, want) {
					t.Errorf("append %d: %v, want %v", i, err, want)
				}
				return
			}
			if err != nil {
				t.Errorf("good append %d: %v", i, err)
				return
			}
			mu.Lock()
			seqs = append(seqs, got.Seq)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for i, seq := range seqs {
		if seq != int64(i+2) {
			t.Fatalf("good seqs %v: want exactly 2..%d", seqs, n/4+1)
		}
	}
	if room, _ := s.RoomBySlug(ctxT(t), r.Slug); room.LastSeq != int64(n/4+1) {
		t.Fatalf("last_seq = %d, want %d", room.LastSeq, n/4+1)
	}
}

func seqsOf(ms []store.Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}

func fill(t *testing.T, s store.Store, n int) store.Room {
	r, u := mkRoom(t, s, "page"), mkUser(t, s, "uma")
	for i := range n {
		post(t, s, r, u, fmt.Sprintf("c%d", i), fmt.Sprintf("m%d", i+1))
	}
	return r
}

func testPagingAfter(t *testing.T, s store.Store) {
	r := fill(t, s, 10)
	for _, tc := range []struct {
		since int64
		limit int
		want  string
	}{
		{0, 3, "[1 2 3]"}, {3, 3, "[4 5 6]"}, {8, 5, "[9 10]"}, {10, 5, "[]"}, {0, 100, "[1 2 3 4 5 6 7 8 9 10]"},
	} {
		got, err := s.MessagesAfter(ctxT(t), r.ID, tc.since, tc.limit)
		if err != nil || fmt.Sprint(seqsOf(got)) != tc.want {
			t.Errorf("MessagesAfter(%d, %d) = %v, %v; want %s", tc.since, tc.limit, seqsOf(got), err, tc.want)
		}
	}
	if got, err := s.MessagesAfter(ctxT(t), "no-room", 0, 10); err != nil || len(got) != 0 {
		t.Errorf("unknown room: %v, %v", got, err)
	}
}

func testPagingBefore(t *testing.T, s store.Store) {
	r := fill(t, s, 10)
	for _, tc := range []struct {
		before int64
		limit  int
		want   string
	}{
		{0, 3, "[8 9 10]"}, {-1, 3, "[8 9 10]"}, {8, 3, "[5 6 7]"}, {3, 5, "[1 2]"}, {1, 5, "[]"},
		{11, 2, "[9 10]"}, {0, 100, "[1 2 3 4 5 6 7 8 9 10]"},
	} {
		got, err := s.MessagesBefore(ctxT(t), r.ID, tc.before, tc.limit)
		if err != nil || fmt.Sprint(seqsOf(got)) != tc.want {
			t.Errorf("MessagesBefore(%d, %d) = %v, %v; want %s", tc.before, tc.limit, seqsOf(got), err, tc.want)
		}
	}
	got, _ := s.MessagesBefore(ctxT(t), r.ID, 0, 1)
	if len(got) != 1 || got[0].Text != "m10" || got[0].Author.DisplayName != "uma" {
		t.Errorf("newest message = %+v", got)
	}
}

func testDelete(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u := mkRoom(t, s, "del"), mkUser(t, s, "val")
	m := post(t, s, r, u, "c1", "regrettable")
	at := t0.Add(time.Minute)
	d, err := s.DeleteMessage(ctx, r.ID, m.Seq, "moderator", at)
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if !d.Deleted() || !d.DeletedAt.Equal(at.Truncate(time.Microsecond)) || d.DeletedBy != "moderator" || d.Text != "regrettable" {
		t.Fatalf("deleted = %+v; the text must be kept", d)
	}
	got, err := s.MessageBySeq(ctx, r.ID, m.Seq)
	if err != nil || got != d {
		t.Fatalf("reload = %+v, %v; want %+v", got, err, d)
	}
	list, _ := s.MessagesAfter(ctx, r.ID, 0, 10)
	if len(list) != 1 || !list[0].Deleted() || list[0].Text != "regrettable" {
		t.Fatalf("history = %+v", list)
	}
	again, err := s.DeleteMessage(ctx, r.ID, m.Seq, "author", at.Add(time.Hour))
	if err != nil || again != d {
		t.Fatalf("second delete = %+v, %v; want the first deletion kept", again, err)
	}
	_, err = s.DeleteMessage(ctx, r.ID, 99, "author", at)
	wantErr(t, err, store.ErrNotFound, "delete missing message")
}

func testMessageNotFound(t *testing.T, s store.Store) {
	r := mkRoom(t, s, "nf")
	_, err := s.MessageBySeq(ctxT(t), r.ID, 1)
	wantErr(t, err, store.ErrNotFound, "MessageBySeq")
}

func testReport(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, u, rep := mkRoom(t, s, "rep"), mkUser(t, s, "wes"), mkUser(t, s, "xia")
	m := post(t, s, r, u, "c1", "offending text")
	got, err := s.CreateReport(ctx, store.Report{ID: "rp1", RoomID: r.ID, Seq: m.Seq, ReporterID: rep.ID,
		Reason: "spam", CreatedAt: t0})
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	want := store.Report{ID: "rp1", RoomID: r.ID, Seq: m.Seq, ReporterID: rep.ID, Category: "other", Reason: "spam",
		Snapshot: "offending text", AuthorID: u.ID, CreatedAt: t0.Truncate(time.Microsecond), Status: store.ReportOpen}
	if got != want {
		t.Fatalf("report = %+v, want %+v", got, want)
	}
	got, err = s.CreateReport(ctx, store.Report{ID: "rp2", RoomID: r.ID, Seq: m.Seq, ReporterID: rep.ID,
		Reason: "x", Snapshot: "given", CreatedAt: t0})
	if err != nil || got.Snapshot != "given" {
		t.Fatalf("explicit snapshot: %+v, %v", got, err)
	}
	_, err = s.CreateReport(ctx, store.Report{ID: "rp1", RoomID: r.ID, Seq: m.Seq, ReporterID: rep.ID, Reason: "again"})
	wantErr(t, err, store.ErrConflict, "duplicate report id")
	_, err = s.CreateReport(ctx, store.Report{ID: "rp3", RoomID: r.ID, Seq: 42, ReporterID: rep.ID, Reason: "x"})
	wantErr(t, err, store.ErrNotFound, "report of a missing message")
}

func testClosed(t *testing.T, s store.Store) {
	r, u := mkRoom(t, s, "closed"), mkUser(t, s, "yan")
	if err := s.Ping(ctxT(t)); err != nil {
		t.Fatalf("ping open store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	ctx := ctxT(t)
	_, _, err := s.AppendMessage(ctx, store.NewMessage{ID: "m", RoomID: r.ID, AuthorID: u.ID, Text: "x"})
	wantErr(t, err, store.ErrUnavailable, "append after close")
	_, err = s.RoomBySlug(ctx, r.Slug)
	wantErr(t, err, store.ErrUnavailable, "read after close")
	wantErr(t, s.Ping(ctx), store.ErrUnavailable, "ping after close")
}

func testDeadline(t *testing.T, s store.Store) {
	r := mkRoom(t, s, "dl")
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err := s.RoomBySlug(ctx, r.Slug)
	wantErr(t, err, store.ErrUnavailable, "read with an expired deadline")
}
