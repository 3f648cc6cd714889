package rooms_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/rooms"
	"github.com/havenhealth/haven/store"
)

// Live sessions, Q&A and polls on one node (fixture from permissions_test.go): who may do
// what, the chat pipeline in front of questions, and what the room hears.

// clinician makes a fresh verified (or unverified) clinician.
func (f *fixture) clinician(t *testing.T, room store.Room, verified bool) store.User {
	t.Helper()
	u := f.user(t, room, roleMember)
	u, err := f.st.SetUserRole(context.Background(), u.ID, store.RoleClinician, verified)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// roomEvents returns the client events of type typ published to room, decoded, with
// the broker kind they travelled as.
func (f *fixture) roomEvents(t *testing.T, room store.Room, typ string) []struct {
	Kind string
	Ev   map[string]any
} {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []struct {
		Kind string
		Ev   map[string]any
	}
	for _, e := range f.events {
		var ev map[string]any
		if e.Room != room.Slug || json.Unmarshal(e.Data, &ev) != nil || ev["type"] != typ {
			continue
		}
		out = append(out, struct {
			Kind string
			Ev   map[string]any
		}{e.Kind, ev})
	}
	return out
}

func (f *fixture) schedule(t *testing.T, actor store.User, room store.Room, host store.User) store.RoomSession {
	t.Helper()
	rs, err := f.svc.ScheduleSession(context.Background(), actor, room.Slug, rooms.SessionInput{Title: "Ask a nurse",
		HostID: host.ID, StartsAt: f.now().Add(time.Hour), Sponsor: "Supported by Acme Health"})
	if err != nil {
		t.Fatalf("schedule: %v", err)
	}
	return rs
}

func (f *fixture) admin(t *testing.T, room store.Room) store.User { return f.user(t, room, roleAdmin) }

func TestSessionScheduling(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()

	t.Run("who may schedule", func(t *testing.T) {
		for _, r := range allRoles {
			room := f.room(t)
			actor, host := f.user(t, room, r), f.clinician(t, room, true)
			_, err := f.svc.ScheduleSession(ctx, actor, room.Slug, rooms.SessionInput{Title: "t", HostID: host.ID,
				StartsAt: time.Now().Add(time.Hour)})
			if want := r != roleMember; (err == nil) != want {
				t.Errorf("%s scheduling: err %v, want allowed=%v", r, err, want)
			} else if !want {
				wantCode(t, err, protocol.CodeForbidden)
			}
		}
	})

	t.Run("who may host", func(t *testing.T) {
		room := f.room(t)
		admin := f.admin(t, room)
		for name, c := range map[string]struct {
			host store.User
			ok   bool
		}{
			"verified clinician":   {f.clinician(t, room, true), true},
			"unverified clinician": {f.clinician(t, room, false), false},
			"admin":                {f.user(t, room, roleAdmin), true},
			"room host":            {f.user(t, room, roleHost), true},
			"member":               {f.user(t, room, roleMember), false},
			"room moderator":       {f.user(t, room, roleRoomModerator), false},
		} {
			_, err := f.svc.ScheduleSession(ctx, admin, room.Slug, rooms.SessionInput{Title: "t", HostID: c.host.ID,
				StartsAt: time.Now().Add(time.Hour)})
			if c.ok && err != nil {
				t.Errorf("%s as host: %v", name, err)
			}
			if !c.ok {
				if pe := protocol.AsError(err); err == nil || pe.Code != protocol.CodeBadRequest || !strings.Contains(pe.Message, "verified clinician") {
					t.Errorf("%s as host: %v, want bad_request naming who may host", name, err)
				}
			}
		}
		_, err := f.svc.ScheduleSession(ctx, admin, room.Slug, rooms.SessionInput{Title: "t", HostID: "nobody",
			StartsAt: time.Now().Add(time.Hour)})
		wantCode(t, err, protocol.CodeNotFound)
	})

	t.Run("bad inputs", func(t *testing.T) {
		room := f.room(t)
		admin, host := f.admin(t, room), f.clinician(t, room, true)
		now := time.Now()
		for name, c := range map[string]struct {
			in   rooms.SessionInput
			code string
		}{
			"blank title":      {rooms.SessionInput{Title: "  ", HostID: host.ID, StartsAt: now.Add(time.Hour)}, protocol.CodeBadRequest},
			"long title":       {rooms.SessionInput{Title: strings.Repeat("x", 201), HostID: host.ID, StartsAt: now.Add(time.Hour)}, protocol.CodeTooLarge},
			"no start":         {rooms.SessionInput{Title: "t", HostID: host.ID}, protocol.CodeBadRequest},
			"past start":       {rooms.SessionInput{Title: "t", HostID: host.ID, StartsAt: now.Add(-time.Hour)}, protocol.CodeBadRequest},
			"far start":        {rooms.SessionInput{Title: "t", HostID: host.ID, StartsAt: now.Add(400 * 24 * time.Hour)}, protocol.CodeBadRequest},
			"bad kind":         {rooms.SessionInput{Title: "t", Kind: "party", HostID: host.ID, StartsAt: now.Add(time.Hour)}, protocol.CodeBadRequest},
			"no host":          {rooms.SessionInput{Title: "t", StartsAt: now.Add(time.Hour)}, protocol.CodeBadRequest},
			"long sponsorship": {rooms.SessionInput{Title: "t", HostID: host.ID, StartsAt: now.Add(time.Hour), Sponsor: strings.Repeat("s", 501)}, protocol.CodeBadRequest},
		} {
			_, err := f.svc.ScheduleSession(ctx, admin, room.Slug, c.in)
			if pe := protocol.AsError(err); err == nil || pe.Code != c.code {
				t.Errorf("%s: %v, want %s", name, err, c.code)
			}
		}
		_, err := f.svc.ScheduleSession(ctx, admin, "no-such-room", rooms.SessionInput{Title: "t", HostID: host.ID, StartsAt: now.Add(time.Hour)})
		wantCode(t, err, protocol.CodeNotFound)
	})

	t.Run("stored, audited, announced, listed with the sponsor", func(t *testing.T) {
		room := f.room(t)
		admin, host, member := f.admin(t, room), f.clinician(t, room, true), f.user(t, room, roleMember)
		rs := f.schedule(t, admin, room, host)
		if rs.State != store.SessionScheduled || rs.Kind != store.SessionWebinar || rs.Host.ID != host.ID ||
			rs.Sponsor != "Supported by Acme Health" || rs.RoomSlug != room.Slug || rs.CreatedBy != admin.ID {
			t.Fatalf("scheduled = %+v", rs)
		}
		if a := f.audit(t, room.ID); len(a) != 1 || a[0].Action != "session_schedule" || a[0].TargetID != host.ID || a[0].ActorID != admin.ID {
			t.Fatalf("audit = %+v", a)
		}
		evs := f.roomEvents(t, room, "session.update")
		last := evs[len(evs)-1].Ev["session"].(map[string]any)
		if last["id"] != rs.ID || last["sponsor"] != "Supported by Acme Health" || last["state"] != "scheduled" {
			t.Fatalf("session.update = %v", last)
		}
		list, err := f.svc.Sessions(ctx, member, room.Slug)
		if err != nil || len(list) != 1 || list[0].ID != rs.ID || list[0].Sponsor != rs.Sponsor {
			t.Fatalf("member's list = %+v, %v", list, err)
		}
		if got, err := f.svc.Session(ctx, member, rs.ID); err != nil || got.ID != rs.ID {
			t.Fatalf("member's Session = %+v, %v", got, err)
		}
		_, err = f.svc.Session(ctx, member, "ss_nope")
		wantCode(t, err, protocol.CodeNotFound)
	})

	t.Run("support rooms hold support sessions", func(t *testing.T) {
		n := time.Now().UnixNano()
		room, err := f.st.CreateRoom(ctx, store.Room{ID: fmt.Sprintf("r_s%d", n), Slug: fmt.Sprintf("support-%d", n),
			Name: "Support", Kind: "support"})
		if err != nil {
			t.Fatal(err)
		}
		rs := f.schedule(t, f.admin(t, room), room, f.clinician(t, room, true))
		if rs.Kind != store.SessionSupport {
			t.Fatalf("kind = %q, want support", rs.Kind)
		}
	})
}

func TestSessionPrivateRoom(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	n := time.Now().UnixNano()
	room, err := f.st.CreateRoom(ctx, store.Room{ID: fmt.Sprintf("r_p%d", n), Slug: fmt.Sprintf("private-%d", n),
		Name: "Private", Visibility: "private"})
	if err != nil {
		t.Fatal(err)
	}
	rs := f.schedule(t, f.admin(t, room), room, f.clinician(t, room, true))
	outsider := f.user(t, room, roleMember) // no membership row: cannot see the room
	_, err = f.svc.Session(ctx, outsider, rs.ID)
	wantCode(t, err, protocol.CodeNotFound)
	_, err = f.svc.Sessions(ctx, outsider, room.Slug)
	wantCode(t, err, protocol.CodeNotFound)
	_, err = f.svc.Questions(ctx, outsider, rs.ID)
	wantCode(t, err, protocol.CodeNotFound)
	insider := f.user(t, room, roleHost)
	if got, err := f.svc.Session(ctx, insider, rs.ID); err != nil || got.ID != rs.ID {
		t.Fatalf("a member of the private room: %+v, %v", got, err)
	}
}

func TestSessionLifecycle(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	room := f.room(t)
	admin, host := f.admin(t, room), f.clinician(t, room, true)
	member, roomHost, mod := f.user(t, room, roleMember), f.user(t, room, roleHost), f.user(t, room, roleRoomModerator)
	rs := f.schedule(t, admin, room, host)

	for _, u := range []store.User{member, roomHost} {
		_, err := f.svc.StartSession(ctx, u, rs.ID)
		wantCode(t, err, protocol.CodeForbidden)
	}
	_, err := f.svc.UpdateSession(ctx, member, rs.ID, store.SessionPatch{Title: ptr("hijack")})
	wantCode(t, err, protocol.CodeForbidden)
	got, err := f.svc.UpdateSession(ctx, host, rs.ID, store.SessionPatch{Title: ptr("Ask a nurse: insulin"), Sponsor: ptr("")})
	if err != nil || got.Title != "Ask a nurse: insulin" || got.Sponsor != "" {
		t.Fatalf("host's update = %+v, %v", got, err)
	}
	_, err = f.svc.UpdateSession(ctx, host, rs.ID, store.SessionPatch{Title: ptr("")})
	wantCode(t, err, protocol.CodeBadRequest)

	live, err := f.svc.StartSession(ctx, host, rs.ID)
	if err != nil || live.State != store.SessionLive || live.StartedAt.IsZero() {
		t.Fatalf("host's start = %+v, %v", live, err)
	}
	_, err = f.svc.StartSession(ctx, host, rs.ID)
	wantCode(t, err, protocol.CodeConflict)
	later := time.Now().Add(2 * time.Hour)
	_, err = f.svc.UpdateSession(ctx, host, rs.ID, store.SessionPatch{StartsAt: &later})
	wantCode(t, err, protocol.CodeConflict)

	ended, err := f.svc.EndSession(ctx, mod, rs.ID) // a room moderator may end it too
	if err != nil || ended.State != store.SessionEnded || ended.EndedAt.IsZero() {
		t.Fatalf("moderator's end = %+v, %v", ended, err)
	}
	_, err = f.svc.EndSession(ctx, host, rs.ID)
	wantCode(t, err, protocol.CodeConflict)
	_, err = f.svc.UpdateSession(ctx, host, rs.ID, store.SessionPatch{Title: ptr("after")})
	wantCode(t, err, protocol.CodeConflict)
	if list, err := f.svc.Sessions(ctx, member, room.Slug); err != nil || len(list) != 0 {
		t.Fatalf("an ended session is still listed: %+v, %v", list, err)
	}

	var states []string
	for _, e := range f.roomEvents(t, room, "session.update") {
		states = append(states, e.Ev["session"].(map[string]any)["state"].(string))
	}
	if want := "scheduled scheduled live ended"; strings.Join(states, " ") != want {
		t.Fatalf("session.update states = %v, want %s", states, want)
	}
	var actions []string
	for _, e := range f.audit(t, room.ID) {
		actions = append(actions, e.Action)
	}
	if want := "session_end session_start session_update session_schedule"; strings.Join(actions, " ") != want {
		t.Fatalf("audit = %v, want %s", actions, want)
	}
}

func ptr[T any](v T) *T { return &v }

// qaSetup is a room with a live session, its host and an attendee, both admitted.
type qaSetup struct {
	room             store.Room
	rs               store.RoomSession
	host, attendee   *rooms.Member
	admin, moderator *rooms.Member
}

func (f *fixture) qa(t *testing.T, live bool) qaSetup {
	t.Helper()
	room := f.room(t)
	admin := f.admin(t, room)
	hostU := f.clinician(t, room, true)
	rs := f.schedule(t, admin, room, hostU)
	if live {
		var err error
		if rs, err = f.svc.StartSession(context.Background(), hostU, rs.ID); err != nil {
			t.Fatal(err)
		}
	}
	return qaSetup{room: room, rs: rs, host: f.admit(t, hostU, room.Slug),
		attendee:  f.admit(t, f.user(t, room, roleMember), room.Slug),
		admin:     f.admit(t, admin, room.Slug),
		moderator: f.admit(t, f.user(t, room, roleRoomModerator), room.Slug)}
}

func TestQuestionsPassThePipeline(t *testing.T) {
	clock := newClock()
	f := newFixture(t, clock.Now)
	ctx := context.Background()

	t.Run("input", func(t *testing.T) {
		s := f.qa(t, false) // questions may come in before the session starts
		if _, err := f.svc.Ask(ctx, s.attendee, s.rs.ID, "Before we start: pumps?"); err != nil {
			t.Fatalf("question before the start: %v", err)
		}
		_, err := f.svc.Ask(ctx, s.attendee, s.rs.ID, strings.Repeat("q", rooms.MaxQuestionRunes+1))
		wantCode(t, err, protocol.CodeTooLarge)
		_, err = f.svc.Ask(ctx, s.attendee, s.rs.ID, " \n ")
		wantCode(t, err, protocol.CodeBadRequest)
		_, err = f.svc.Ask(ctx, s.attendee, "ss_nope", "hello?")
		wantCode(t, err, protocol.CodeNotFound)
		other := f.qa(t, true)
		_, err = f.svc.Ask(ctx, s.attendee, other.rs.ID, "wrong room")
		wantCode(t, err, protocol.CodeNotFound)
		if _, err := f.svc.EndSession(ctx, s.admin.User, s.rs.ID); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.Ask(ctx, s.attendee, s.rs.ID, "too late?")
		wantCode(t, err, protocol.CodeConflict)
	})

	t.Run("muted", func(t *testing.T) {
		s := f.qa(t, true)
		if _, err := f.svc.Moderate(ctx, s.moderator, rooms.Action{Kind: "mute", Target: s.attendee.User.ID, Duration: 10 * time.Minute}); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.Ask(ctx, s.attendee, s.rs.ID, "can I ask?")
		if pe := wantCode(t, err, protocol.CodeMuted); pe.Extra["until"] == nil {
			t.Fatalf("muted without until: %v", pe)
		}
		clock.Advance(11 * time.Minute)
		if _, err := f.svc.Ask(ctx, s.attendee, s.rs.ID, "can I ask now?"); err != nil {
			t.Fatalf("after the mute: %v", err)
		}
	})

	t.Run("locked, staff exempt", func(t *testing.T) {
		s := f.qa(t, true)
		if _, err := f.svc.Moderate(ctx, s.moderator, rooms.Action{Kind: "lock", Locked: true}); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.Ask(ctx, s.attendee, s.rs.ID, "locked?")
		wantCode(t, err, protocol.CodeRoomLocked)
		if _, err := f.svc.Ask(ctx, s.moderator, s.rs.ID, "staff may"); err != nil {
			t.Fatalf("moderator in a locked room: %v", err)
		}
	})

	t.Run("duplicate spam", func(t *testing.T) {
		s := f.qa(t, true)
		for i := range 2 {
			if _, err := f.svc.Ask(ctx, s.attendee, s.rs.ID, "BUY NOW"); err != nil {
				t.Fatalf("copy %d: %v", i+1, err)
			}
		}
		_, err := f.svc.Ask(ctx, s.attendee, s.rs.ID, "buy now")
		wantCode(t, err, protocol.CodeSpam)
	})

	t.Run("keyword rules: block, hold, alert", func(t *testing.T) {
		s := f.qa(t, true)
		for _, r := range []store.Rule{
			{Kind: store.RuleWord, Pattern: "pill", Action: store.RuleBlock, Reason: "No trading medication."},
			{Kind: store.RuleWildcard, Pattern: "cur*", Action: store.RuleHold, Reason: "Cure claims are reviewed."},
			{Kind: store.RuleWord, Pattern: "dose", Action: store.RuleAlert, Reason: "Dosing talk."},
		} {
			if _, err := f.svc.AddRule(ctx, s.admin.User, s.room.Slug, r); err != nil {
				t.Fatal(err)
			}
		}
		_, err := f.svc.Ask(ctx, s.attendee, s.rs.ID, "anyone selling a pill?")
		if pe := wantCode(t, err, protocol.CodeBlocked); pe.Message != "No trading medication." {
			t.Fatalf("blocked message = %q", pe.Message)
		}

		q, err := f.svc.Ask(ctx, s.attendee, s.rs.ID, "does this cure it?")
		pe := wantCode(t, err, protocol.CodeHeld)
		if pe.Extra["held_id"] != q.ID || q.Status != store.QuestionHeld || q.Reason != "Cure claims are reviewed." {
			t.Fatalf("held: %+v, %v", q, pe)
		}
		held := f.roomEvents(t, s.room, "qa.question")
		if len(held) != 1 || held[0].Kind != rooms.KindModerators || held[0].Ev["question"].(map[string]any)["status"] != "held" {
			t.Fatalf("a held question went out as %+v; want one moderators-only event", held)
		}
		for _, u := range []store.User{s.attendee.User, s.host.User} {
			qs, err := f.svc.Questions(ctx, u, s.rs.ID)
			if err != nil || len(qs) != 0 {
				t.Fatalf("%s sees %+v, %v; held questions are for moderators", u.DisplayName, qs, err)
			}
		}
		if qs, err := f.svc.Questions(ctx, s.moderator.User, s.rs.ID); err != nil || len(qs) != 1 || qs[0].ID != q.ID {
			t.Fatalf("moderator sees %+v, %v", qs, err)
		}
		_, err = f.svc.ApproveQuestion(ctx, s.host, q.ID) // the host is not a moderator: held questions are hidden
		wantCode(t, err, protocol.CodeNotFound)
		if got, err := f.svc.ApproveQuestion(ctx, s.moderator, q.ID); err != nil || got.Status != store.QuestionOpen {
			t.Fatalf("approve: %+v, %v", got, err)
		}
		if evs := f.roomEvents(t, s.room, "qa.question"); len(evs) != 2 || evs[1].Kind != rooms.KindEphemeral {
			t.Fatalf("approval did not show the question to the room: %+v", evs)
		}

		a, err := f.svc.Ask(ctx, s.attendee, s.rs.ID, "what dose works for you?")
		if err != nil || a.Status != store.QuestionOpen {
			t.Fatalf("alerted question: %+v, %v", a, err)
		}
		if alerts := f.roomEvents(t, s.room, "qa.alert"); len(alerts) != 1 || alerts[0].Kind != rooms.KindModerators ||
			alerts[0].Ev["question_id"] != a.ID {
			t.Fatalf("qa.alert = %+v", alerts)
		}

		h2, _ := f.svc.Ask(ctx, s.attendee, s.rs.ID, "a curing diet?")
		if got, err := f.svc.DismissQuestion(ctx, s.moderator, h2.ID); err != nil || got.Status != store.QuestionDismissed {
			t.Fatalf("dismiss held: %+v, %v", got, err)
		}
		ups := f.roomEvents(t, s.room, "qa.update")
		if last := ups[len(ups)-1]; last.Kind != rooms.KindModerators || last.Ev["status"] != "dismissed" {
			t.Fatalf("dismissing a held question announced %+v; members never saw it", last)
		}
	})
}

func TestQuestionVotesAndAnswers(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	s := f.qa(t, true)
	q, err := f.svc.Ask(ctx, s.attendee, s.rs.ID, "How do you handle lows at night?")
	if err != nil {
		t.Fatal(err)
	}
	if evs := f.roomEvents(t, s.room, "qa.question"); len(evs) != 1 || evs[0].Kind != rooms.KindEphemeral {
		t.Fatalf("qa.question = %+v", evs)
	}
	got, added, err := f.svc.VoteQuestion(ctx, s.moderator, q.ID)
	if err != nil || !added || got.Votes != 1 {
		t.Fatalf("vote = %+v, %v, %v", got, added, err)
	}
	got, added, err = f.svc.VoteQuestion(ctx, s.moderator, q.ID)
	if err != nil || added || got.Votes != 1 {
		t.Fatalf("second vote by the same member = votes %d, added %v, %v; want 1, false, nil", got.Votes, added, err)
	}
	waitUntil(t, func() bool {
		ups := f.roomEvents(t, s.room, "qa.update")
		return len(ups) > 0 && ups[len(ups)-1].Ev["votes"] == float64(1)
	})
	_, _, err = f.svc.VoteQuestion(ctx, s.attendee, "q_nope")
	wantCode(t, err, protocol.CodeNotFound)

	_, err = f.svc.AnswerQuestion(ctx, s.attendee, q.ID)
	wantCode(t, err, protocol.CodeForbidden)
	if got, err = f.svc.AnswerQuestion(ctx, s.host, q.ID); err != nil || got.Status != store.QuestionAnswered {
		t.Fatalf("host's answer = %+v, %v", got, err)
	}
	ups := f.roomEvents(t, s.room, "qa.update")
	if last := ups[len(ups)-1].Ev; last["status"] != "answered" || last["by"].(map[string]any)["id"] != s.host.User.ID {
		t.Fatalf("qa.update = %v", last)
	}
	_, _, err = f.svc.VoteQuestion(ctx, s.attendee, q.ID)
	wantCode(t, err, protocol.CodeConflict)
	_, err = f.svc.DismissQuestion(ctx, s.host, q.ID)
	wantCode(t, err, protocol.CodeConflict)

	d, _ := f.svc.Ask(ctx, s.attendee, s.rs.ID, "off topic")
	if got, err := f.svc.DismissQuestion(ctx, s.host, d.ID); err != nil || got.Status != store.QuestionDismissed {
		t.Fatalf("host's dismiss = %+v, %v", got, err)
	}
	member, _ := f.svc.Questions(ctx, s.attendee.User, s.rs.ID)
	staff, _ := f.svc.Questions(ctx, s.host.User, s.rs.ID)
	if len(member) != 1 || member[0].ID != q.ID || member[0].Votes != 1 || len(staff) != 2 {
		t.Fatalf("member sees %d questions, host %d; want 1 (answered) and 2 (with the dismissed one)", len(member), len(staff))
	}
}

func TestPolls(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()

	scheduled := f.qa(t, false)
	_, err := f.svc.OpenPoll(ctx, scheduled.host, scheduled.rs.ID, "Ready?", []string{"yes", "no"})
	wantCode(t, err, protocol.CodeConflict)

	s := f.qa(t, true)
	for name, c := range map[string]struct {
		q    string
		opts []string
		code string
	}{
		"one option":      {"q?", []string{"a"}, protocol.CodeBadRequest},
		"seven options":   {"q?", []string{"a", "b", "c", "d", "e", "f", "g"}, protocol.CodeBadRequest},
		"blank option":    {"q?", []string{"a", " "}, protocol.CodeBadRequest},
		"same option":     {"q?", []string{"Yes", "yes"}, protocol.CodeBadRequest},
		"long option":     {"q?", []string{"a", strings.Repeat("b", 101)}, protocol.CodeTooLarge},
		"blank question":  {"", []string{"a", "b"}, protocol.CodeBadRequest},
		"unknown session": {"q?", []string{"a", "b"}, protocol.CodeNotFound},
	} {
		sid := s.rs.ID
		if name == "unknown session" {
			sid = "ss_nope"
		}
		_, err := f.svc.OpenPoll(ctx, s.host, sid, c.q, c.opts)
		if pe := protocol.AsError(err); err == nil || pe.Code != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}
	_, err = f.svc.OpenPoll(ctx, s.attendee, s.rs.ID, "mine?", []string{"a", "b"})
	wantCode(t, err, protocol.CodeForbidden)

	p, err := f.svc.OpenPoll(ctx, s.host, s.rs.ID, "How are you sleeping?", []string{"Badly", "OK", "Well"})
	if err != nil || p.State != store.PollOpen || len(p.Counts) != 3 {
		t.Fatalf("open = %+v, %v", p, err)
	}
	if evs := f.roomEvents(t, s.room, "poll.results"); len(evs) != 1 || evs[0].Ev["poll"].(map[string]any)["question"] != "How are you sleeping?" {
		t.Fatalf("opening announced %+v", evs)
	}
	got, err := f.svc.VotePoll(ctx, s.attendee, p.ID, 2)
	if err != nil || got.Total != 1 || got.Counts[2] != 1 {
		t.Fatalf("vote = %+v, %v", got, err)
	}
	_, err = f.svc.VotePoll(ctx, s.attendee, p.ID, 0)
	if pe := wantCode(t, err, protocol.CodeConflict); !strings.Contains(pe.Message, "already voted") {
		t.Fatalf("second vote: %v", pe)
	}
	_, err = f.svc.VotePoll(ctx, s.moderator, p.ID, 3)
	wantCode(t, err, protocol.CodeBadRequest)
	_, err = f.svc.VotePoll(ctx, s.moderator, "p_nope", 0)
	wantCode(t, err, protocol.CodeNotFound)

	_, err = f.svc.ClosePoll(ctx, s.attendee, p.ID)
	wantCode(t, err, protocol.CodeForbidden)
	closed, err := f.svc.ClosePoll(ctx, s.host, p.ID)
	if err != nil || closed.State != store.PollClosed || closed.Total != 1 {
		t.Fatalf("close = %+v, %v", closed, err)
	}
	evs := f.roomEvents(t, s.room, "poll.results")
	if last := evs[len(evs)-1].Ev["poll"].(map[string]any); last["state"] != "closed" || last["total"] != float64(1) {
		t.Fatalf("final results = %v", last)
	}
	_, err = f.svc.VotePoll(ctx, s.moderator, p.ID, 0)
	if pe := wantCode(t, err, protocol.CodeConflict); !strings.Contains(pe.Message, "closed") {
		t.Fatalf("vote after close: %v", pe)
	}
	_, err = f.svc.ClosePoll(ctx, s.host, p.ID)
	wantCode(t, err, protocol.CodeConflict)

	// Ending the session closes what is still open and sends its final results.
	p2, err := f.svc.OpenPoll(ctx, s.host, s.rs.ID, "One more?", []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.EndSession(ctx, s.host.User, s.rs.ID); err != nil {
		t.Fatal(err)
	}
	evs = f.roomEvents(t, s.room, "poll.results")
	if last := evs[len(evs)-1].Ev["poll"].(map[string]any); last["id"] != p2.ID || last["state"] != "closed" {
		t.Fatalf("results after the end = %v", last)
	}
	list, err := f.svc.Polls(ctx, s.attendee.User, s.rs.ID)
	if err != nil || len(list) != 2 || list[0].Total != 1 || list[1].State != store.PollClosed {
		t.Fatalf("Polls = %+v, %v", list, err)
	}
}

// Many votes at once: the room gets at most one poll.results per ResultsEvery from this
// node, and the last one carries every vote.
func TestPollResultsCoalesced(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	s := f.qa(t, true)
	p, err := f.svc.OpenPoll(ctx, s.host, s.rs.ID, "Busy?", []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	const voters = 40
	members := make([]*rooms.Member, voters)
	for i := range members {
		members[i] = f.admit(t, f.user(t, s.room, roleMember), s.room.Slug)
	}
	start := time.Now()
	for i, m := range members {
		if _, err := f.svc.VotePoll(ctx, m, p.ID, i%2); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, func() bool {
		evs := f.roomEvents(t, s.room, "poll.results")
		return evs[len(evs)-1].Ev["poll"].(map[string]any)["total"] == float64(voters)
	})
	elapsed := time.Since(start)
	evs := f.roomEvents(t, s.room, "poll.results")
	results := len(evs) - 1 // the first announced the opening
	if limit := int(elapsed/rooms.ResultsEvery) + 2; results > limit || results >= voters {
		t.Fatalf("%d results events for %d votes in %s; want at most %d", results, voters, elapsed, limit)
	}
	for i := 1; i < len(evs); i++ {
		prev, cur := evs[i-1].Ev["poll"].(map[string]any)["total"].(float64), evs[i].Ev["poll"].(map[string]any)["total"].(float64)
		if cur < prev {
			t.Fatalf("results went backwards: %v then %v", prev, cur)
		}
	}
}

// waitUntil polls cond for up to 3 s (coalesced events arrive on a timer).
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 3 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
