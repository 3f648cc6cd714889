package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/store"
)

// runSessions runs the live-session, Q&A and poll cases, each on a fresh store (they count
// audit entries).
func runSessions(t *testing.T, fresh func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"LiveSessions/ScheduleAndRead", testSessionSchedule},
		{"LiveSessions/List", testSessionList},
		{"LiveSessions/Lifecycle", testSessionLifecycle},
		{"LiveSessions/Questions", testQuestions},
		{"LiveSessions/QuestionVotesOnce", testQuestionVotesConcurrent},
		{"LiveSessions/Polls", testPolls},
		{"LiveSessions/PollVotesOnce", testPollVotesConcurrent},
		{"LiveSessions/NoVoteAfterClose", testPollCloseRacesVotes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, fresh(t))
		})
	}
}

func sessionAudit(room store.Room, actor, action string, at time.Time) store.AuditEntry {
	return store.AuditEntry{RoomID: room.ID, ActorID: actor, Action: action, Detail: `{"room":"` + room.Slug + `"}`, At: at}
}

func mkRoomSession(t *testing.T, s store.Store, room store.Room, host store.User, title string, starts time.Time) store.RoomSession {
	t.Helper()
	rs, err := s.CreateRoomSession(ctxT(t), store.RoomSession{ID: ids.New("ss_"), RoomID: room.ID, Kind: store.SessionWebinar,
		Title: title, Host: store.Author{ID: host.ID}, StartsAt: starts, Sponsor: "Sponsored by Acme Pharma",
		CreatedBy: host.ID, CreatedAt: t0}, sessionAudit(room, host.ID, "session_schedule", t0))
	if err != nil {
		t.Fatalf("create session %q: %v", title, err)
	}
	return rs
}

func startSession(t *testing.T, s store.Store, room store.Room, rs store.RoomSession, at time.Time) store.RoomSession {
	t.Helper()
	out, err := s.StartRoomSession(ctxT(t), rs.ID, sessionAudit(room, rs.Host.ID, "session_start", at))
	if err != nil {
		t.Fatalf("start session %s: %v", rs.ID, err)
	}
	return out
}

func testSessionSchedule(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	room, host := mkRoom(t, s, "webinars"), mkUser(t, s, "drhost")
	starts := t0.Add(24 * time.Hour)
	rs := mkRoomSession(t, s, room, host, "Living with T1D", starts)
	want := store.RoomSession{ID: rs.ID, RoomID: room.ID, RoomSlug: room.Slug, Kind: store.SessionWebinar,
		Title: "Living with T1D", Host: store.Author{ID: host.ID, DisplayName: host.DisplayName, Role: host.Role},
		StartsAt: starts.Truncate(time.Microsecond), Sponsor: "Sponsored by Acme Pharma", State: store.SessionScheduled,
		CreatedBy: host.ID, CreatedAt: t0.Truncate(time.Microsecond)}
	if !sameSession(rs, want) {
		t.Fatalf("created = %+v\nwant      %+v", rs, want)
	}
	got, err := s.RoomSession(ctx, rs.ID)
	if err != nil || !sameSession(got, want) || got.StartsAt.Location() != time.UTC {
		t.Fatalf("RoomSession = %+v, %v", got, err)
	}
	es := verifyAll(t, s)
	if len(es) != 1 || es[0].Action != "session_schedule" || es[0].RoomID != room.ID {
		t.Fatalf("audit after scheduling = %+v", es)
	}

	_, err = s.RoomSession(ctx, "nope")
	wantErr(t, err, store.ErrNotFound, "unknown session")
	for what, bad := range map[string]store.RoomSession{
		"unknown room": {ID: ids.New("ss_"), RoomID: "nope", Kind: store.SessionWebinar, Title: "x", Host: store.Author{ID: host.ID}, StartsAt: starts},
		"unknown host": {ID: ids.New("ss_"), RoomID: room.ID, Kind: store.SessionWebinar, Title: "x", Host: store.Author{ID: "nope"}, StartsAt: starts},
	} {
		_, err := s.CreateRoomSession(ctx, bad, sessionAudit(room, host.ID, "session_schedule", t0))
		wantErr(t, err, store.ErrNotFound, what)
	}
	_, err = s.CreateRoomSession(ctx, store.RoomSession{ID: rs.ID, RoomID: room.ID, Kind: store.SessionWebinar, Title: "again",
		Host: store.Author{ID: host.ID}, StartsAt: starts}, sessionAudit(room, host.ID, "session_schedule", t0))
	wantErr(t, err, store.ErrConflict, "reused session ID")
	if n := auditLen(t, s); n != 1 {
		t.Fatalf("failed schedules left %d audit entries, want 1", n)
	}
}

func sameSession(a, b store.RoomSession) bool {
	return a.ID == b.ID && a.RoomID == b.RoomID && a.RoomSlug == b.RoomSlug && a.Kind == b.Kind && a.Title == b.Title &&
		a.Host == b.Host && a.StartsAt.Equal(b.StartsAt) && a.Sponsor == b.Sponsor && a.State == b.State &&
		a.StartedAt.Equal(b.StartedAt) && a.EndedAt.Equal(b.EndedAt) && a.CreatedBy == b.CreatedBy &&
		a.CreatedAt.Equal(b.CreatedAt)
}

func sessionIDs(ss []store.RoomSession) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

func testSessionList(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	room, other, host := mkRoom(t, s, "list"), mkRoom(t, s, "other"), mkUser(t, s, "lister")
	late := mkRoomSession(t, s, room, host, "late", t0.Add(3*time.Hour))
	early := mkRoomSession(t, s, room, host, "early", t0.Add(time.Hour))
	live := mkRoomSession(t, s, room, host, "live", t0.Add(2*time.Hour))
	startSession(t, s, room, live, t0)
	done := mkRoomSession(t, s, room, host, "done", t0)
	if _, err := s.EndRoomSession(ctx, done.ID, sessionAudit(room, host.ID, "session_end", t0)); err != nil {
		t.Fatal(err)
	}
	mkRoomSession(t, s, other, host, "elsewhere", t0)

	got, err := s.RoomSessions(ctx, room.ID, []string{store.SessionScheduled, store.SessionLive}, 10)
	if want := []string{early.ID, live.ID, late.ID}; err != nil || !slices.Equal(sessionIDs(got), want) {
		t.Fatalf("upcoming and live = %v, %v; want %v", sessionIDs(got), err, want)
	}
	got, err = s.RoomSessions(ctx, room.ID, nil, 10)
	if want := []string{done.ID, early.ID, live.ID, late.ID}; err != nil || !slices.Equal(sessionIDs(got), want) {
		t.Fatalf("all = %v, %v; want %v", sessionIDs(got), err, want)
	}
	got, err = s.RoomSessions(ctx, room.ID, []string{store.SessionEnded}, 10)
	if err != nil || len(got) != 1 || got[0].ID != done.ID || got[0].State != store.SessionEnded {
		t.Fatalf("ended = %+v, %v", got, err)
	}
	got, err = s.RoomSessions(ctx, room.ID, nil, 2)
	if err != nil || len(got) != 2 {
		t.Fatalf("limit 2 = %d sessions, %v", len(got), err)
	}
	got, err = s.RoomSessions(ctx, "nope", nil, 10)
	if err != nil || len(got) != 0 {
		t.Fatalf("unknown room = %+v, %v; want none", got, err)
	}
}

func testSessionLifecycle(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	room, host := mkRoom(t, s, "life"), mkUser(t, s, "lifehost")
	rs := mkRoomSession(t, s, room, host, "before", t0.Add(time.Hour))

	title, sponsor, starts := "after", "", t0.Add(2*time.Hour)
	got, err := s.UpdateRoomSession(ctx, rs.ID, store.SessionPatch{Title: &title, Sponsor: &sponsor, StartsAt: &starts},
		sessionAudit(room, host.ID, "session_update", t0))
	if err != nil || got.Title != "after" || got.Sponsor != "" || !got.StartsAt.Equal(starts.Truncate(time.Microsecond)) ||
		got.State != store.SessionScheduled {
		t.Fatalf("update = %+v, %v", got, err)
	}
	got, err = s.UpdateRoomSession(ctx, rs.ID, store.SessionPatch{}, sessionAudit(room, host.ID, "session_update", t0))
	if err != nil || got.Title != "after" {
		t.Fatalf("empty patch = %+v, %v", got, err)
	}

	startAt := t0.Add(90 * time.Minute)
	got = startSession(t, s, room, rs, startAt)
	if got.State != store.SessionLive || !got.StartedAt.Equal(startAt.Truncate(time.Microsecond)) || !got.EndedAt.IsZero() {
		t.Fatalf("started = %+v", got)
	}
	n := auditLen(t, s)
	_, err = s.StartRoomSession(ctx, rs.ID, sessionAudit(room, host.ID, "session_start", t0))
	wantErr(t, err, store.ErrConflict, "start a live session")
	_, err = s.StartRoomSession(ctx, "nope", sessionAudit(room, host.ID, "session_start", t0))
	wantErr(t, err, store.ErrNotFound, "start an unknown session")
	if m := auditLen(t, s); m != n {
		t.Fatalf("refused starts grew the audit log from %d to %d", n, m)
	}

	endAt := t0.Add(3 * time.Hour)
	got, err = s.EndRoomSession(ctx, rs.ID, sessionAudit(room, host.ID, "session_end", endAt))
	if err != nil || got.State != store.SessionEnded || !got.EndedAt.Equal(endAt.Truncate(time.Microsecond)) ||
		!got.StartedAt.Equal(startAt.Truncate(time.Microsecond)) {
		t.Fatalf("ended = %+v, %v", got, err)
	}
	_, err = s.EndRoomSession(ctx, rs.ID, sessionAudit(room, host.ID, "session_end", t0))
	wantErr(t, err, store.ErrConflict, "end an ended session")
	_, err = s.UpdateRoomSession(ctx, rs.ID, store.SessionPatch{Title: &title}, sessionAudit(room, host.ID, "session_update", t0))
	wantErr(t, err, store.ErrConflict, "update an ended session")
	_, err = s.StartRoomSession(ctx, rs.ID, sessionAudit(room, host.ID, "session_start", t0))
	wantErr(t, err, store.ErrConflict, "start an ended session")
	_, err = s.UpdateRoomSession(ctx, "nope", store.SessionPatch{Title: &title}, sessionAudit(room, host.ID, "session_update", t0))
	wantErr(t, err, store.ErrNotFound, "update an unknown session")

	// A scheduled session may be called off without starting.
	off := mkRoomSession(t, s, room, host, "called off", t0)
	got, err = s.EndRoomSession(ctx, off.ID, sessionAudit(room, host.ID, "session_end", t0))
	if err != nil || got.State != store.SessionEnded || !got.StartedAt.IsZero() {
		t.Fatalf("call off = %+v, %v", got, err)
	}

	var actions []string
	for _, e := range verifyAll(t, s) {
		actions = append(actions, e.Action)
	}
	want := []string{"session_schedule", "session_update", "session_update", "session_start", "session_end",
		"session_schedule", "session_end"}
	if !slices.Equal(actions, want) {
		t.Fatalf("audit actions = %v, want %v", actions, want)
	}
}

func ask(t *testing.T, s store.Store, rs store.RoomSession, u store.User, text, status string, at time.Time) store.Question {
	t.Helper()
	q, err := s.AddQuestion(ctxT(t), store.Question{ID: ids.New("q_"), SessionID: rs.ID, RoomID: rs.RoomID,
		Author: store.Author{ID: u.ID}, Text: text, Status: status, CreatedAt: at})
	if err != nil {
		t.Fatalf("ask %q: %v", text, err)
	}
	return q
}

func questionIDs(qs []store.Question) []string {
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = q.ID
	}
	return out
}

func testQuestions(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	room, other, host := mkRoom(t, s, "qa"), mkRoom(t, s, "qa-other"), mkUser(t, s, "qahost")
	a, b := mkUser(t, s, "asker"), mkUser(t, s, "voter")
	rs := mkRoomSession(t, s, room, host, "Q&A", t0.Add(time.Hour))

	// Questions may come in before the session starts.
	q1 := ask(t, s, rs, a, "What about insulin pumps?", store.QuestionOpen, t0)
	if q1.Author.DisplayName != a.DisplayName || q1.Status != store.QuestionOpen || q1.Votes != 0 ||
		q1.SessionID != rs.ID || q1.RoomID != room.ID || !q1.CreatedAt.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("asked = %+v", q1)
	}
	q2, err := s.AddQuestion(ctx, store.Question{ID: ids.New("q_"), SessionID: rs.ID, RoomID: room.ID,
		Author: store.Author{ID: b.ID}, Text: "held text", Status: store.QuestionHeld, Reason: "cure claims", RuleID: "rule-9",
		CreatedAt: t0.Add(time.Second)})
	if err != nil || q2.Status != store.QuestionHeld || q2.Reason != "cure claims" || q2.RuleID != "rule-9" {
		t.Fatalf("held question = %+v, %v", q2, err)
	}
	_, err = s.AddQuestion(ctx, store.Question{ID: ids.New("q_"), SessionID: rs.ID, RoomID: other.ID,
		Author: store.Author{ID: a.ID}, Text: "x", Status: store.QuestionOpen})
	wantErr(t, err, store.ErrNotFound, "question in another room's session")
	_, err = s.AddQuestion(ctx, store.Question{ID: ids.New("q_"), SessionID: "nope", RoomID: room.ID,
		Author: store.Author{ID: a.ID}, Text: "x", Status: store.QuestionOpen})
	wantErr(t, err, store.ErrNotFound, "question in an unknown session")
	_, err = s.AddQuestion(ctx, store.Question{ID: q1.ID, SessionID: rs.ID, RoomID: room.ID,
		Author: store.Author{ID: a.ID}, Text: "x", Status: store.QuestionOpen})
	wantErr(t, err, store.ErrConflict, "reused question ID")

	// Votes count once per member.
	got, added, err := s.VoteQuestion(ctx, q1.ID, b.ID, t0)
	if err != nil || !added || got.Votes != 1 {
		t.Fatalf("first vote = %+v, %v, %v", got, added, err)
	}
	got, added, err = s.VoteQuestion(ctx, q1.ID, b.ID, t0)
	if err != nil || added || got.Votes != 1 {
		t.Fatalf("repeat vote = votes %d, added %v, %v; want 1, false", got.Votes, added, err)
	}
	if got, _, err = s.VoteQuestion(ctx, q1.ID, a.ID, t0); err != nil || got.Votes != 2 {
		t.Fatalf("second member's vote = %+v, %v", got, err)
	}
	_, _, err = s.VoteQuestion(ctx, q2.ID, a.ID, t0)
	wantErr(t, err, store.ErrConflict, "vote on a held question")
	_, _, err = s.VoteQuestion(ctx, "nope", a.ID, t0)
	wantErr(t, err, store.ErrNotFound, "vote on an unknown question")
	if got, err := s.Question(ctx, q1.ID); err != nil || got.Votes != 2 {
		t.Fatalf("Question = %+v, %v", got, err)
	}

	all, err := s.Questions(ctx, rs.ID, nil, 10)
	if want := []string{q1.ID, q2.ID}; err != nil || !slices.Equal(questionIDs(all), want) || all[0].Votes != 2 {
		t.Fatalf("Questions = %+v, %v", all, err)
	}
	visible, err := s.Questions(ctx, rs.ID, []string{store.QuestionOpen, store.QuestionAnswered}, 10)
	if err != nil || !slices.Equal(questionIDs(visible), []string{q1.ID}) {
		t.Fatalf("open and answered = %v, %v", questionIDs(visible), err)
	}

	// Status moves: held → open, open → answered; nothing else.
	decideAt := t0.Add(time.Minute)
	got, err = s.DecideQuestion(ctx, q2.ID, store.QuestionOpen, host.ID, decideAt)
	if err != nil || got.Status != store.QuestionOpen || got.DecidedBy != host.ID || !got.DecidedAt.Equal(decideAt.Truncate(time.Microsecond)) {
		t.Fatalf("approve held = %+v, %v", got, err)
	}
	if got, err = s.DecideQuestion(ctx, q1.ID, store.QuestionAnswered, host.ID, decideAt); err != nil || got.Status != store.QuestionAnswered || got.Votes != 2 {
		t.Fatalf("answer = %+v, %v", got, err)
	}
	_, err = s.DecideQuestion(ctx, q1.ID, store.QuestionDismissed, host.ID, decideAt)
	wantErr(t, err, store.ErrConflict, "dismiss an answered question")
	_, err = s.DecideQuestion(ctx, q1.ID, store.QuestionOpen, host.ID, decideAt)
	wantErr(t, err, store.ErrConflict, "reopen an answered question")
	_, err = s.DecideQuestion(ctx, "nope", store.QuestionAnswered, host.ID, decideAt)
	wantErr(t, err, store.ErrNotFound, "decide an unknown question")
	_, _, err = s.VoteQuestion(ctx, q1.ID, host.ID, t0)
	wantErr(t, err, store.ErrConflict, "vote on an answered question")
	if got, err := s.Question(ctx, q1.ID); err != nil || got.Votes != 2 {
		t.Fatalf("votes after a refused vote = %+v, %v", got, err)
	}

	// No questions once the session has ended.
	if _, err := s.EndRoomSession(ctx, rs.ID, sessionAudit(room, host.ID, "session_end", t0)); err != nil {
		t.Fatal(err)
	}
	_, err = s.AddQuestion(ctx, store.Question{ID: ids.New("q_"), SessionID: rs.ID, RoomID: room.ID,
		Author: store.Author{ID: a.ID}, Text: "too late", Status: store.QuestionOpen})
	wantErr(t, err, store.ErrConflict, "question after the end")
}

func testQuestionVotesConcurrent(t *testing.T, s store.Store) {
	room, host := mkRoom(t, s, "qvotes"), mkUser(t, s, "qvhost")
	rs := mkRoomSession(t, s, room, host, "busy", t0)
	q := ask(t, s, rs, host, "popular?", store.QuestionOpen, t0)
	const voters = 12
	users := make([]store.User, voters)
	for i := range users {
		users[i] = mkUser(t, s, fmt.Sprintf("qv%d", i))
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		added int
		errs  []error
	)
	for i := range voters * 3 { // every member votes three times, at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok, err := s.VoteQuestion(ctxT(t), q.ID, users[i%voters].ID, t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				added++
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("concurrent votes failed: %v", errs)
	}
	got, err := s.Question(ctxT(t), q.ID)
	if err != nil || got.Votes != voters || added != voters {
		t.Fatalf("votes = %d (added %d), %v; want %d", got.Votes, added, err, voters)
	}
}

func mkPoll(t *testing.T, s store.Store, rs store.RoomSession, at time.Time, question string, options ...string) store.Poll {
	t.Helper()
	p, err := s.CreatePoll(ctxT(t), store.Poll{ID: ids.New("p_"), SessionID: rs.ID, RoomID: rs.RoomID,
		Question: question, Options: options, CreatedBy: rs.Host.ID, CreatedAt: at})
	if err != nil {
		t.Fatalf("create poll %q: %v", question, err)
	}
	return p
}

func testPolls(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	room, host := mkRoom(t, s, "polls"), mkUser(t, s, "pollhost")
	a, b := mkUser(t, s, "pa"), mkUser(t, s, "pb")
	rs := mkRoomSession(t, s, room, host, "polled", t0)
	_, err := s.CreatePoll(ctx, store.Poll{ID: ids.New("p_"), SessionID: rs.ID, RoomID: room.ID, Question: "early?",
		Options: []string{"yes", "no"}})
	wantErr(t, err, store.ErrConflict, "poll in a scheduled session")
	rs = startSession(t, s, room, rs, t0)
	for _, n := range []int{0, 1, 7} {
		opts := make([]string, n)
		for i := range opts {
			opts[i] = fmt.Sprint(i)
		}
		if _, err := s.CreatePoll(ctx, store.Poll{ID: ids.New("p_"), SessionID: rs.ID, RoomID: room.ID, Question: "n?",
			Options: opts}); err == nil {
			t.Fatalf("a poll with %d options was stored", n)
		}
	}
	_, err = s.CreatePoll(ctx, store.Poll{ID: ids.New("p_"), SessionID: rs.ID, RoomID: "nope", Question: "where?",
		Options: []string{"a", "b"}})
	wantErr(t, err, store.ErrNotFound, "poll in another room")

	p := mkPoll(t, s, rs, t0, "How is your energy today?", "Low", "OK", "Great")
	if p.State != store.PollOpen || !slices.Equal(p.Options, []string{"Low", "OK", "Great"}) ||
		!slices.Equal(p.Counts, []int{0, 0, 0}) || p.Total != 0 || p.CreatedBy != host.ID {
		t.Fatalf("created poll = %+v", p)
	}
	got, err := s.VotePoll(ctx, p.ID, a.ID, 2, t0)
	if err != nil || !slices.Equal(got.Counts, []int{0, 0, 1}) || got.Total != 1 {
		t.Fatalf("vote = %+v, %v", got, err)
	}
	_, err = s.VotePoll(ctx, p.ID, a.ID, 0, t0)
	wantErr(t, err, store.ErrConflict, "second vote")
	for _, opt := range []int{-1, 3} {
		_, err = s.VotePoll(ctx, p.ID, b.ID, opt, t0)
		wantErr(t, err, store.ErrNotFound, fmt.Sprintf("vote for option %d", opt))
	}
	_, err = s.VotePoll(ctx, "nope", b.ID, 0, t0)
	wantErr(t, err, store.ErrNotFound, "vote in an unknown poll")
	if got, err = s.VotePoll(ctx, p.ID, b.ID, 0, t0); err != nil || !slices.Equal(got.Counts, []int{1, 0, 1}) || got.Total != 2 {
		t.Fatalf("second member's vote = %+v, %v", got, err)
	}

	closeAt := t0.Add(time.Minute)
	got, err = s.ClosePoll(ctx, p.ID, host.ID, closeAt)
	if err != nil || got.State != store.PollClosed || got.ClosedBy != host.ID ||
		!got.ClosedAt.Equal(closeAt.Truncate(time.Microsecond)) || got.Total != 2 {
		t.Fatalf("close = %+v, %v", got, err)
	}
	_, err = s.ClosePoll(ctx, p.ID, host.ID, closeAt)
	wantErr(t, err, store.ErrConflict, "close a closed poll")
	_, err = s.ClosePoll(ctx, "nope", host.ID, closeAt)
	wantErr(t, err, store.ErrNotFound, "close an unknown poll")
	_, err = s.VotePoll(ctx, p.ID, host.ID, 1, t0)
	wantErr(t, err, store.ErrConflict, "vote in a closed poll")

	// Ending the session closes its open polls.
	p2 := mkPoll(t, s, rs, t0.Add(time.Second), "Second?", "a", "b")
	if _, err := s.VotePoll(ctx, p2.ID, a.ID, 1, t0); err != nil {
		t.Fatal(err)
	}
	endAt := t0.Add(time.Hour)
	if _, err := s.EndRoomSession(ctx, rs.ID, sessionAudit(room, host.ID, "session_end", endAt)); err != nil {
		t.Fatal(err)
	}
	all, err := s.Polls(ctx, rs.ID, 10)
	if err != nil || len(all) != 2 || all[0].ID != p.ID || all[1].ID != p2.ID {
		t.Fatalf("Polls = %+v, %v", all, err)
	}
	if !slices.Equal(all[0].Counts, []int{1, 0, 1}) || !slices.Equal(all[1].Counts, []int{0, 1}) || all[1].Total != 1 {
		t.Fatalf("counts in Polls = %v, %v", all[0].Counts, all[1].Counts)
	}
	if all[1].State != store.PollClosed || !all[1].ClosedAt.Equal(endAt.Truncate(time.Microsecond)) || all[1].ClosedBy != host.ID {
		t.Fatalf("poll left open by the end = %+v", all[1])
	}
	if got, err := s.Poll(ctx, p2.ID); err != nil || got.State != store.PollClosed || got.Total != 1 {
		t.Fatalf("Poll = %+v, %v", got, err)
	}
	_, err = s.Poll(ctx, "nope")
	wantErr(t, err, store.ErrNotFound, "unknown poll")
	if none, err := s.Polls(ctx, "nope", 10); err != nil || len(none) != 0 {
		t.Fatalf("Polls of an unknown session = %+v, %v", none, err)
	}
}

func pollVoters(t *testing.T, s store.Store, prefix string, n int) []store.User {
	users := make([]store.User, n)
	for i := range users {
		users[i] = mkUser(t, s, fmt.Sprintf("%s%d", prefix, i))
	}
	return users
}

func testPollVotesConcurrent(t *testing.T, s store.Store) {
	room, host := mkRoom(t, s, "pvotes"), mkUser(t, s, "pvhost")
	rs := startSession(t, s, room, mkRoomSession(t, s, room, host, "busy", t0), t0)
	p := mkPoll(t, s, rs, t0, "Which?", "a", "b", "c")
	const voters = 12
	users := pollVoters(t, s, "pv", voters)
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		ok, dup    int
		unexpected []error
	)
	for i := range voters * 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.VotePoll(ctxT(t), p.ID, users[i%voters].ID, i%3, t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrConflict):
				dup++
			default:
				unexpected = append(unexpected, err)
			}
		}()
	}
	wg.Wait()
	if len(unexpected) > 0 {
		t.Fatalf("concurrent votes failed: %v", unexpected)
	}
	got, err := s.Poll(ctxT(t), p.ID)
	if err != nil || ok != voters || dup != 2*voters || got.Total != voters {
		t.Fatalf("accepted %d, conflicts %d, total %d, %v; want %d, %d, %d", ok, dup, got.Total, err, voters, 2*voters, voters)
	}
}

// testPollCloseRacesVotes closes a poll while votes pour in: the results the close returns
// are final, so no vote may be stored after it.
func testPollCloseRacesVotes(t *testing.T, s store.Store) {
	room, host := mkRoom(t, s, "prace"), mkUser(t, s, "prhost")
	rs := startSession(t, s, room, mkRoomSession(t, s, room, host, "race", t0), t0)
	p := mkPoll(t, s, rs, t0, "Race?", "a", "b")
	users := pollVoters(t, s, "pr", 30)
	var (
		wg     sync.WaitGroup
		closed store.Poll
		cerr   error
	)
	start := make(chan struct{})
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, err := s.VotePoll(ctxT(t), p.ID, u.ID, i%2, t0); err != nil && !errors.Is(err, store.ErrConflict) {
				t.Errorf("vote: %v", err)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		time.Sleep(time.Millisecond)
		closed, cerr = s.ClosePoll(ctxT(t), p.ID, host.ID, t0)
	}()
	close(start)
	wg.Wait()
	if cerr != nil {
		t.Fatalf("close: %v", cerr)
	}
	final, err := s.Poll(ctxT(t), p.ID)
	if err != nil || final.Total != closed.Total || !slices.Equal(final.Counts, closed.Counts) {
		t.Fatalf("results after the race = %v (total %d), %v; the close answered %v (total %d)",
			final.Counts, final.Total, err, closed.Counts, closed.Total)
	}
}
