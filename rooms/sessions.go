package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// Live sessions (webinars and support sessions), their Q&A and their polls. State lives in
// the store and every change reaches members through the room's broker channel, so any
// node may serve any attendee. Questions are moderated like chat posts: they pass the same
// pipeline (ban, guidelines, lock, mute, slow mode, rate, duplicate spam, keyword rules).

// Limits on sessions, questions and polls.
const (
	MaxSessionTitleRunes = 200
	MaxSponsorRunes      = 500
	MaxQuestionRunes     = 500
	MaxPollQuestionRunes = 300
	MaxPollOptionRunes   = 100
	// SessionPastGrace is how far in the past a session may be scheduled (a host who starts
	// "now" on a slow form); MaxSessionAhead how far in the future.
	SessionPastGrace = 5 * time.Minute
	MaxSessionAhead  = 366 * 24 * time.Hour
	// ResultsEvery is the most often one node publishes a poll's results or a question's
	// votes while votes pour in; the latest counts are always published in the end.
	ResultsEvery = 250 * time.Millisecond

	sessionListLimit  = 100
	questionListLimit = 500
	pollListLimit     = 100
)

// SessionInput is what scheduling a session takes.
type SessionInput struct {
	Kind     string // "webinar" or "support"; "" follows the room (support rooms hold support sessions)
	Title    string
	HostID   string // a verified clinician, an admin, or a host of the room
	StartsAt time.Time
	Sponsor  string // disclosure text shown to members; optional
}

// standing is u's membership in the room (zero when there is none).
func (s *Service) standing(ctx context.Context, info store.Room, u store.User) (store.Membership, error) {
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	ms, err := s.st.Membership(cctx, info.ID, u.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Membership{}, storeErr(fmt.Errorf("membership of %s in %s: %w", u.ID, info.Slug, err), "membership")
	}
	return ms, nil
}

func isGlobalStaff(u store.User) bool {
	return u.Role == store.RoleAdmin || u.Role == store.RoleModerator
}

// canSchedule: admins, global moderators, and the room's moderators and hosts.
func canSchedule(u store.User, ms store.Membership) bool {
	return isGlobalStaff(u) || ms.Role == store.RoomRoleModerator || ms.Role == store.RoomRoleHost
}

// canRun: who starts and ends a session — its host, admins, global moderators and the
// room's moderators.
func canRun(u store.User, ms store.Membership, rs store.RoomSession) bool {
	return u.ID == rs.Host.ID || isGlobalStaff(u) || ms.Role == store.RoomRoleModerator
}

// isSessionStaff: who answers and dismisses questions and runs polls — the session's host
// and the room's staff (hosts, moderators, global moderators, admins).
func isSessionStaff(m *Member, rs store.RoomSession) bool {
	return m.User.ID == rs.Host.ID || m.IsStaff()
}

func validText(text string, maxRunes int, what string) (string, error) {
	text = strings.TrimSpace(text)
	if !utf8.ValidString(text) || text == "" {
		return "", protocol.Errorf(protocol.CodeBadRequest, "%s is empty", what)
	}
	if n := utf8.RuneCountInString(text); n > maxRunes {
		return "", protocol.Errorf(protocol.CodeTooLarge, "%s is %d characters; the limit is %d", what, n, maxRunes)
	}
	return text, nil
}

func (s *Service) validStart(t time.Time) error {
	now := s.cfg.Now()
	switch {
	case t.IsZero():
		return protocol.Errorf(protocol.CodeBadRequest, "starts_at is required (RFC 3339)")
	case t.Before(now.Add(-SessionPastGrace)):
		return protocol.Errorf(protocol.CodeBadRequest, "starts_at is in the past")
	case t.After(now.Add(MaxSessionAhead)):
		return protocol.Errorf(protocol.CodeBadRequest, "starts_at is more than a year ahead")
	}
	return nil
}

func validSponsor(sponsor string) (string, error) {
	sponsor = strings.TrimSpace(sponsor)
	if !utf8.ValidString(sponsor) || utf8.RuneCountInString(sponsor) > MaxSponsorRunes {
		return "", protocol.Errorf(protocol.CodeBadRequest, "sponsor must be at most %d characters", MaxSponsorRunes)
	}
	return sponsor, nil
}

func sessionDetail(slug string, rs store.RoomSession, extra map[string]any) string {
	d := map[string]any{"room": slug, "session": rs.ID}
	for k, v := range extra {
		d[k] = v
	}
	b, _ := json.Marshal(d)
	return string(b)
}

// ScheduleSession schedules a session in the room (admins, global moderators, the room's
// moderators and hosts) and tells the room.
func (s *Service) ScheduleSession(ctx context.Context, actor store.User, slug string, in SessionInput) (store.RoomSession, error) {
	room, err := s.Get(ctx, slug)
	if err != nil {
		return store.RoomSession{}, err
	}
	info := room.Info()
	if ok, err := s.CanSee(ctx, actor, info); err != nil {
		return store.RoomSession{}, err
	} else if !ok {
		return store.RoomSession{}, protocol.Errorf(protocol.CodeNotFound, "no room %q", slug)
	}
	ms, err := s.standing(ctx, info, actor)
	if err != nil {
		return store.RoomSession{}, err
	}
	if !canSchedule(actor, ms) {
		return store.RoomSession{}, protocol.Errorf(protocol.CodeForbidden, "only admins and the room's moderators and hosts schedule sessions")
	}
	title, err := validText(in.Title, MaxSessionTitleRunes, "title")
	if err != nil {
		return store.RoomSession{}, err
	}
	sponsor, err := validSponsor(in.Sponsor)
	if err != nil {
		return store.RoomSession{}, err
	}
	if err := s.validStart(in.StartsAt); err != nil {
		return store.RoomSession{}, err
	}
	kind := in.Kind
	if kind == "" {
		kind = store.SessionWebinar
		if info.Kind == store.SessionSupport {
			kind = store.SessionSupport
		}
	}
	if kind != store.SessionWebinar && kind != store.SessionSupport {
		return store.RoomSession{}, protocol.Errorf(protocol.CodeBadRequest, "kind must be webinar or support")
	}
	host, err := s.eligibleHost(ctx, info, in.HostID)
	if err != nil {
		return store.RoomSession{}, err
	}
	now := s.cfg.Now()
	rs := store.RoomSession{ID: ids.New("ss_"), RoomID: info.ID, Kind: kind, Title: title, Host: store.Author{ID: host.ID},
		StartsAt: in.StartsAt, Sponsor: sponsor, CreatedBy: actor.ID, CreatedAt: now}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	created, err := s.st.CreateRoomSession(cctx, rs, store.AuditEntry{RoomID: info.ID, ActorID: actor.ID, TargetID: host.ID,
		Action: "session_schedule", At: now, Detail: sessionDetail(slug, rs, map[string]any{"title": title,
			"kind": kind, "starts_at": protocol.TS(in.StartsAt), "sponsor": sponsor})})
	if err != nil {
		return store.RoomSession{}, storeErr(fmt.Errorf("schedule session in %s: %w", slug, err), "session")
	}
	s.publishSession(ctx, created)
	return created, nil
}

// eligibleHost loads the named host: a verified clinician, an admin, or a host of the room.
func (s *Service) eligibleHost(ctx context.Context, info store.Room, hostID string) (store.User, error) {
	if hostID == "" {
		return store.User{}, protocol.Errorf(protocol.CodeBadRequest, "host (a user id) is required")
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	host, err := s.st.UserByID(cctx, hostID)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, protocol.Errorf(protocol.CodeNotFound, "no user %q to host the session", hostID)
	}
	if err != nil {
		return store.User{}, storeErr(fmt.Errorf("session host %s: %w", hostID, err), "user")
	}
	if host.Role == store.RoleAdmin || (host.Role == store.RoleClinician && host.Verified) {
		return host, nil
	}
	ms, err := s.standing(ctx, info, host)
	if err != nil {
		return store.User{}, err
	}
	if ms.Role != store.RoomRoleHost {
		return store.User{}, protocol.Errorf(protocol.CodeBadRequest, "the host must be a verified clinician, an admin, or a host of this room")
	}
	return host, nil
}

// sessionFor loads a session the actor may see, with its room; anything else is not found.
func (s *Service) sessionFor(ctx context.Context, actor store.User, id string) (store.RoomSession, *Room, error) {
	rs, err := s.loadSession(ctx, id)
	if err != nil {
		return store.RoomSession{}, nil, err
	}
	room, err := s.Get(ctx, rs.RoomSlug)
	if err != nil {
		return store.RoomSession{}, nil, err
	}
	if ok, err := s.CanSee(ctx, actor, room.Info()); err != nil {
		return store.RoomSession{}, nil, err
	} else if !ok {
		return store.RoomSession{}, nil, protocol.Errorf(protocol.CodeNotFound, "no session %q", id)
	}
	return rs, room, nil
}

func (s *Service) loadSession(ctx context.Context, id string) (store.RoomSession, error) {
	if id == "" || len(id) > 64 {
		return store.RoomSession{}, protocol.Errorf(protocol.CodeNotFound, "no session %q", id)
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	rs, err := s.st.RoomSession(cctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.RoomSession{}, protocol.Errorf(protocol.CodeNotFound, "no session %q", id)
	}
	if err != nil {
		return store.RoomSession{}, storeErr(fmt.Errorf("session %s: %w", id, err), "session")
	}
	return rs, nil
}

// memberSession loads a session of m's room; a session of another room is not found.
func (s *Service) memberSession(ctx context.Context, m *Member, id string) (store.RoomSession, error) {
	if id == "" {
		return store.RoomSession{}, protocol.Errorf(protocol.CodeBadRequest, "name the session")
	}
	rs, err := s.loadSession(ctx, id)
	if err != nil {
		return store.RoomSession{}, err
	}
	if rs.RoomID != m.Room.Info().ID {
		return store.RoomSession{}, protocol.Errorf(protocol.CodeNotFound, "no session %q in this room", id)
	}
	return rs, nil
}

// Session returns one session the actor may see.
func (s *Service) Session(ctx context.Context, actor store.User, id string) (store.RoomSession, error) {
	rs, _, err := s.sessionFor(ctx, actor, id)
	return rs, err
}

// Sessions lists a room's upcoming and live sessions, soonest first, for those who may see
// the room.
func (s *Service) Sessions(ctx context.Context, actor store.User, slug string) ([]store.RoomSession, error) {
	room, err := s.Get(ctx, slug)
	if err != nil {
		return nil, err
	}
	info := room.Info()
	if ok, err := s.CanSee(ctx, actor, info); err != nil {
		return nil, err
	} else if !ok {
		return nil, protocol.Errorf(protocol.CodeNotFound, "no room %q", slug)
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	list, err := s.st.RoomSessions(cctx, info.ID, []string{store.SessionScheduled, store.SessionLive}, sessionListLimit)
	if err != nil {
		return nil, storeErr(fmt.Errorf("sessions of %s: %w", slug, err), "sessions")
	}
	return list, nil
}

// UpdateSession changes a session's title, start time or sponsor (those who may schedule
// in the room, and the session's host) and tells the room. The start time changes only
// before the session starts; nothing changes once it has ended.
func (s *Service) UpdateSession(ctx context.Context, actor store.User, id string, p store.SessionPatch) (store.RoomSession, error) {
	rs, room, err := s.sessionFor(ctx, actor, id)
	if err != nil {
		return store.RoomSession{}, err
	}
	info := room.Info()
	ms, err := s.standing(ctx, info, actor)
	if err != nil {
		return store.RoomSession{}, err
	}
	if !canSchedule(actor, ms) && actor.ID != rs.Host.ID {
		return store.RoomSession{}, protocol.Errorf(protocol.CodeForbidden, "only the session's host and the room's moderators and hosts change a session")
	}
	detail := map[string]any{}
	if p.Title != nil {
		title, err := validText(*p.Title, MaxSessionTitleRunes, "title")
		if err != nil {
			return store.RoomSession{}, err
		}
		p.Title, detail["title"] = &title, title
	}
	if p.Sponsor != nil {
		sponsor, err := validSponsor(*p.Sponsor)
		if err != nil {
			return store.RoomSession{}, err
		}
		p.Sponsor, detail["sponsor"] = &sponsor, sponsor
	}
	if p.StartsAt != nil {
		if rs.State != store.SessionScheduled {
			return store.RoomSession{}, protocol.Errorf(protocol.CodeConflict, "the session is %s; its start time can no longer change", rs.State)
		}
		if err := s.validStart(*p.StartsAt); err != nil {
			return store.RoomSession{}, err
		}
		detail["starts_at"] = protocol.TS(*p.StartsAt)
	}
	if rs.State == store.SessionEnded {
		return store.RoomSession{}, protocol.Errorf(protocol.CodeConflict, "the session has ended")
	}
	if p == (store.SessionPatch{}) {
		return rs, nil // nothing to change, nothing to audit
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	updated, err := s.st.UpdateRoomSession(cctx, id, p, store.AuditEntry{RoomID: info.ID, ActorID: actor.ID,
		TargetID: rs.Host.ID, Action: "session_update", At: s.cfg.Now(), Detail: sessionDetail(room.Slug, rs, detail)})
	if err != nil {
		return store.RoomSession{}, sessionErr(fmt.Errorf("update session %s: %w", id, err))
	}
	s.publishSession(ctx, updated)
	return updated, nil
}

// sessionErr maps a session write's store failure: a conflict is a state that no longer
// allows the change.
func sessionErr(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return &protocol.Error{Code: protocol.CodeConflict, Message: "the session's state no longer allows that; reload it", Cause: err}
	}
	return storeErr(err, "session")
}

// StartSession takes a scheduled session live (its host, admins, global moderators and the
// room's moderators) and tells the room. The media layer calls it too, for media.start.
func (s *Service) StartSession(ctx context.Context, actor store.User, sessionID string) (store.RoomSession, error) {
	return s.moveSession(ctx, actor, sessionID, store.SessionLive)
}

// EndSession ends a scheduled or live session (as StartSession), closing its open polls,
// and tells the room. The media layer calls it too, for media.end.
func (s *Service) EndSession(ctx context.Context, actor store.User, sessionID string) (store.RoomSession, error) {
	return s.moveSession(ctx, actor, sessionID, store.SessionEnded)
}

func (s *Service) moveSession(ctx context.Context, actor store.User, id, to string) (store.RoomSession, error) {
	rs, room, err := s.sessionFor(ctx, actor, id)
	if err != nil {
		return store.RoomSession{}, err
	}
	info := room.Info()
	ms, err := s.standing(ctx, info, actor)
	if err != nil {
		return store.RoomSession{}, err
	}
	verb := map[string]string{store.SessionLive: "start", store.SessionEnded: "end"}[to]
	if !canRun(actor, ms, rs) {
		return store.RoomSession{}, protocol.Errorf(protocol.CodeForbidden, "only the session's host (or the room's moderators) may %s it", verb)
	}
	switch {
	case rs.State == store.SessionEnded:
		return store.RoomSession{}, protocol.Errorf(protocol.CodeConflict, "the session has already ended")
	case to == store.SessionLive && rs.State == store.SessionLive:
		return store.RoomSession{}, protocol.Errorf(protocol.CodeConflict, "the session is already live")
	}
	audit := store.AuditEntry{RoomID: info.ID, ActorID: actor.ID, TargetID: rs.Host.ID, Action: "session_" + verb,
		At: s.cfg.Now(), Detail: sessionDetail(room.Slug, rs, nil)}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	var moved store.RoomSession
	if to == store.SessionLive {
		moved, err = s.st.StartRoomSession(cctx, id, audit)
	} else {
		moved, err = s.st.EndRoomSession(cctx, id, audit)
	}
	if err != nil {
		return store.RoomSession{}, sessionErr(fmt.Errorf("%s session %s: %w", verb, id, err))
	}
	s.publishSession(ctx, moved)
	if to == store.SessionEnded {
		s.publishClosedByEnd(ctx, room.Slug, moved)
	}
	return moved, nil
}

// publishClosedByEnd sends the final results of the polls the end closed.
func (s *Service) publishClosedByEnd(ctx context.Context, slug string, rs store.RoomSession) {
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	polls, err := s.st.Polls(cctx, rs.ID, pollListLimit)
	if err != nil {
		s.cfg.Logger.Warn("read polls closed by a session's end", "session", rs.ID, "err", err)
		return
	}
	for _, p := range polls {
		if p.ClosedAt.Equal(rs.EndedAt) {
			s.PublishEphemeral(ctx, slug, protocol.PollResults{Type: "poll.results", Room: slug, Poll: WirePoll(p)})
		}
	}
}

func (s *Service) publishSession(ctx context.Context, rs store.RoomSession) {
	s.PublishEphemeral(ctx, rs.RoomSlug, protocol.SessionUpdate{Type: "session.update", Room: rs.RoomSlug, Session: WireSession(rs)})
}

// Questions.

// allowVote applies the checks a vote passes: ban, guidelines, and the member's rate.
func (s *Service) allowVote(m *Member, now time.Time) error {
	ms := m.Membership()
	if ms.Banned {
		return protocol.Errorf(protocol.CodeBanned, "you are banned from this room")
	}
	if info := m.Room.Info(); ms.AcceptedVersion != info.GuidelinesVersion {
		return protocol.Errorf(protocol.CodeGuidelinesRequired, "the room's guidelines changed; accept them to take part").
			With("guidelines", info.Guidelines).With("guidelines_version", info.GuidelinesVersion)
	}
	r := m.limiter.ReserveN(now, 1)
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		return protocol.Errorf(protocol.CodeRateLimited, "you are going too fast").With("retry_after_ms", delay.Milliseconds()+1)
	}
	return nil
}

// Ask submits m's question to a session's Q&A. It passes the chat pipeline first; a
// question a keyword rule holds is stored for the room's moderators and Ask fails with
// `held` (held_id is the question's id).
func (s *Service) Ask(ctx context.Context, m *Member, sessionID, text string) (store.Question, error) {
	if n := utf8.RuneCountInString(text); n > MaxQuestionRunes {
		return store.Question{}, protocol.Errorf(protocol.CodeTooLarge, "question is %d characters; the limit is %d", n, MaxQuestionRunes)
	}
	if !utf8.ValidString(text) || strings.TrimSpace(text) == "" {
		return store.Question{}, protocol.Errorf(protocol.CodeBadRequest, "question text is empty")
	}
	rs, err := s.memberSession(ctx, m, sessionID)
	if err != nil {
		return store.Question{}, err
	}
	if rs.State == store.SessionEnded {
		return store.Question{}, protocol.Errorf(protocol.CodeConflict, "the session has ended; questions are closed")
	}
	d := &Draft{ctx: ctx, Member: m, Text: text, Now: s.cfg.Now()}
	q := store.Question{ID: ids.New("q_"), SessionID: rs.ID, RoomID: rs.RoomID, Author: store.Author{ID: m.User.ID},
		Text: text, Status: store.QuestionOpen, CreatedAt: d.Now}
screen:
	for _, step := range s.pipeline {
		switch v, perr := step.Check(d); v {
		case Allow:
		case Hold:
			q.Status, q.Reason = store.QuestionHeld, defaultRuleReason
			if perr != nil {
				q.Reason = perr.Message
			}
			if d.Rule != nil {
				q.RuleID = d.Rule.ID
			}
			break screen
		default:
			return store.Question{}, perr
		}
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	q, err = s.st.AddQuestion(cctx, q)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.Question{}, protocol.Errorf(protocol.CodeConflict, "the session has ended; questions are closed")
		}
		return store.Question{}, storeErr(fmt.Errorf("ask in session %s: %w", rs.ID, err), "question")
	}
	m.noteText(d.fingerprint, d.Now)
	m.notePost(d.Now)
	slug := m.Room.Slug
	if q.Status == store.QuestionHeld {
		s.toModerators(ctx, slug, protocol.QAQuestion{Type: "qa.question", Room: slug, Question: WireQuestion(q, true)})
		return q, protocol.Errorf(protocol.CodeHeld, "your question is waiting for a moderator's review").
			With("held_id", q.ID).With("question_id", q.ID)
	}
	s.PublishEphemeral(ctx, slug, protocol.QAQuestion{Type: "qa.question", Room: slug, Question: WireQuestion(q, false)})
	if d.Rule != nil && d.Rule.Action == store.RuleAlert {
		s.toModerators(ctx, slug, protocol.QAAlert{Type: "qa.alert", Room: slug, Session: rs.ID, QuestionID: q.ID,
			Author: m.Wire, RuleID: d.Rule.ID, Reason: ruleReason(*d.Rule)})
	}
	return q, nil
}

// notePost records a post for slow mode: a question counts as a post.
func (m *Member) notePost(at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastPost = at
}

// memberQuestion loads a question of m's room; one of another room is not found.
func (s *Service) memberQuestion(ctx context.Context, m *Member, id string) (store.Question, error) {
	if id == "" {
		return store.Question{}, protocol.Errorf(protocol.CodeBadRequest, "name the question_id")
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	q, err := s.st.Question(cctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && q.RoomID != m.Room.Info().ID) ||
		(err == nil && q.Status == store.QuestionHeld && !m.IsModerator() && q.Author.ID != m.User.ID) {
		return store.Question{}, protocol.Errorf(protocol.CodeNotFound, "no question %q in this room", id)
	}
	if err != nil {
		return store.Question{}, storeErr(fmt.Errorf("question %s: %w", id, err), "question")
	}
	return q, nil
}

// VoteQuestion upvotes an open question once per member; voting again changes nothing and
// succeeds. added reports whether this call counted.
func (s *Service) VoteQuestion(ctx context.Context, m *Member, questionID string) (q store.Question, added bool, err error) {
	now := s.cfg.Now()
	if err := s.allowVote(m, now); err != nil {
		return store.Question{}, false, err
	}
	q, err = s.memberQuestion(ctx, m, questionID)
	if err != nil {
		return store.Question{}, false, err
	}
	if q.Status != store.QuestionOpen {
		return store.Question{}, false, protocol.Errorf(protocol.CodeConflict, "this question is %s and takes no votes", q.Status)
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	q, added, err = s.st.VoteQuestion(cctx, questionID, m.User.ID, now)
	if errors.Is(err, store.ErrConflict) {
		return store.Question{}, false, protocol.Errorf(protocol.CodeConflict, "this question no longer takes votes")
	}
	if err != nil {
		return store.Question{}, false, storeErr(fmt.Errorf("vote on question %s: %w", questionID, err), "question")
	}
	if added {
		slug := m.Room.Slug
		s.coalesce("q:"+questionID, func() {
			ctx, cancel := s.ctx(context.Background())
			defer cancel()
			q, err := s.st.Question(ctx, questionID)
			if err != nil {
				s.cfg.Logger.Warn("read question votes", "question", questionID, "err", err)
				return
			}
			s.PublishEphemeral(ctx, slug, protocol.QAUpdate{Type: "qa.update", Room: slug, Session: q.SessionID,
				QuestionID: q.ID, Votes: q.Votes, Status: q.Status})
		})
	}
	return q, added, nil
}

// AnswerQuestion marks an open question answered (the session's host and the room's staff).
func (s *Service) AnswerQuestion(ctx context.Context, m *Member, id string) (store.Question, error) {
	return s.decideQuestion(ctx, m, id, store.QuestionAnswered)
}

// DismissQuestion sets a question aside: an open one (the session's host and the room's
// staff) or a held one (moderators), which is then rejected for good.
func (s *Service) DismissQuestion(ctx context.Context, m *Member, id string) (store.Question, error) {
	return s.decideQuestion(ctx, m, id, store.QuestionDismissed)
}

// ApproveQuestion publishes a held question (moderators only).
func (s *Service) ApproveQuestion(ctx context.Context, m *Member, id string) (store.Question, error) {
	return s.decideQuestion(ctx, m, id, store.QuestionOpen)
}

func (s *Service) decideQuestion(ctx context.Context, m *Member, id, to string) (store.Question, error) {
	q, err := s.memberQuestion(ctx, m, id)
	if err != nil {
		return store.Question{}, err
	}
	if q.Status == store.QuestionHeld || to == store.QuestionOpen {
		if !m.IsModerator() {
			return store.Question{}, protocol.Errorf(protocol.CodeForbidden, "only the room's moderators review held questions")
		}
	} else {
		rs, err := s.memberSession(ctx, m, q.SessionID)
		if err != nil {
			return store.Question{}, err
		}
		if !isSessionStaff(m, rs) {
			return store.Question{}, protocol.Errorf(protocol.CodeForbidden, "only the session's host and the room's staff answer or dismiss questions")
		}
	}
	if !store.QuestionCanMove(q.Status, to) {
		return store.Question{}, protocol.Errorf(protocol.CodeConflict, "this question is already %s", q.Status)
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	was := q.Status
	q, err = s.st.DecideQuestion(cctx, id, to, m.User.ID, s.cfg.Now())
	if errors.Is(err, store.ErrConflict) {
		return store.Question{}, protocol.Errorf(protocol.CodeConflict, "someone else decided this question first; reload it")
	}
	if err != nil {
		return store.Question{}, storeErr(fmt.Errorf("question %s to %s: %w", id, to, err), "question")
	}
	slug, by := m.Room.Slug, m.Wire
	update := protocol.QAUpdate{Type: "qa.update", Room: slug, Session: q.SessionID, QuestionID: q.ID,
		Votes: q.Votes, Status: q.Status, By: &by}
	switch {
	case to == store.QuestionOpen: // approved: members see it for the first time
		s.PublishEphemeral(ctx, slug, protocol.QAQuestion{Type: "qa.question", Room: slug, Question: WireQuestion(q, false)})
	case was == store.QuestionHeld: // rejected: it was never shown to members
		s.toModerators(ctx, slug, update)
	default:
		s.PublishEphemeral(ctx, slug, update)
	}
	return q, nil
}

// Questions lists a session's questions, oldest first: open and answered ones for members;
// dismissed ones too for the session's host and the room's staff; held ones too for
// moderators.
func (s *Service) Questions(ctx context.Context, actor store.User, sessionID string) ([]store.Question, error) {
	rs, room, err := s.sessionFor(ctx, actor, sessionID)
	if err != nil {
		return nil, err
	}
	ms, err := s.standing(ctx, room.Info(), actor)
	if err != nil {
		return nil, err
	}
	statuses := []string{store.QuestionOpen, store.QuestionAnswered}
	switch rank := rankOf(actor, ms); {
	case rank >= rankRoomModerator:
		statuses = nil // all
	case rank == rankHost || actor.ID == rs.Host.ID:
		statuses = append(statuses, store.QuestionDismissed)
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	qs, err := s.st.Questions(cctx, rs.ID, statuses, questionListLimit)
	if err != nil {
		return nil, storeErr(fmt.Errorf("questions of session %s: %w", rs.ID, err), "questions")
	}
	return qs, nil
}

// Polls.

// OpenPoll opens a poll in a live session (the session's host and the room's staff) and
// shows it to the room.
func (s *Service) OpenPoll(ctx context.Context, m *Member, sessionID, question string, options []string) (store.Poll, error) {
	question, err := validText(question, MaxPollQuestionRunes, "poll question")
	if err != nil {
		return store.Poll{}, err
	}
	if n := len(options); n < store.PollMinOptions || n > store.PollMaxOptions {
		return store.Poll{}, protocol.Errorf(protocol.CodeBadRequest, "a poll has %d-%d options, not %d",
			store.PollMinOptions, store.PollMaxOptions, n)
	}
	opts := make([]string, len(options))
	seen := make(map[string]bool, len(options))
	for i, o := range options {
		if opts[i], err = validText(o, MaxPollOptionRunes, fmt.Sprintf("option %d", i)); err != nil {
			return store.Poll{}, err
		}
		key := strings.ToLower(opts[i])
		if seen[key] {
			return store.Poll{}, protocol.Errorf(protocol.CodeBadRequest, "option %q appears twice", opts[i])
		}
		seen[key] = true
	}
	rs, err := s.memberSession(ctx, m, sessionID)
	if err != nil {
		return store.Poll{}, err
	}
	if !isSessionStaff(m, rs) {
		return store.Poll{}, protocol.Errorf(protocol.CodeForbidden, "only the session's host and the room's staff run polls")
	}
	if rs.State != store.SessionLive {
		return store.Poll{}, protocol.Errorf(protocol.CodeConflict, "the session is %s; polls open only while it is live", rs.State)
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	p, err := s.st.CreatePoll(cctx, store.Poll{ID: ids.New("p_"), SessionID: rs.ID, RoomID: rs.RoomID, Question: question,
		Options: opts, CreatedBy: m.User.ID, CreatedAt: s.cfg.Now()})
	if errors.Is(err, store.ErrConflict) {
		return store.Poll{}, protocol.Errorf(protocol.CodeConflict, "the session is no longer live")
	}
	if err != nil {
		return store.Poll{}, storeErr(fmt.Errorf("open poll in session %s: %w", rs.ID, err), "poll")
	}
	s.publishPoll(ctx, m.Room.Slug, p)
	return p, nil
}

func (s *Service) publishPoll(ctx context.Context, slug string, p store.Poll) {
	s.PublishEphemeral(ctx, slug, protocol.PollResults{Type: "poll.results", Room: slug, Poll: WirePoll(p)})
}

// memberPoll loads a poll of m's room; one of another room is not found.
func (s *Service) memberPoll(ctx context.Context, m *Member, id string) (store.Poll, error) {
	if id == "" {
		return store.Poll{}, protocol.Errorf(protocol.CodeBadRequest, "name the poll_id")
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	p, err := s.st.Poll(cctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.RoomID != m.Room.Info().ID) {
		return store.Poll{}, protocol.Errorf(protocol.CodeNotFound, "no poll %q in this room", id)
	}
	if err != nil {
		return store.Poll{}, storeErr(fmt.Errorf("poll %s: %w", id, err), "poll")
	}
	return p, nil
}

// VotePoll records m's one vote in an open poll (option is 0-based); a second vote is a
// conflict. The room sees the results at most every ResultsEvery from each node.
func (s *Service) VotePoll(ctx context.Context, m *Member, pollID string, option int) (store.Poll, error) {
	now := s.cfg.Now()
	if err := s.allowVote(m, now); err != nil {
		return store.Poll{}, err
	}
	p, err := s.memberPoll(ctx, m, pollID)
	if err != nil {
		return store.Poll{}, err
	}
	if option < 0 || option >= len(p.Options) {
		return store.Poll{}, protocol.Errorf(protocol.CodeBadRequest, "option must be 0-%d", len(p.Options)-1)
	}
	if p.State != store.PollOpen {
		return store.Poll{}, protocol.Errorf(protocol.CodeConflict, "this poll has closed")
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	p, err = s.st.VotePoll(cctx, pollID, m.User.ID, option, now)
	if errors.Is(err, store.ErrConflict) {
		if cur, rerr := s.st.Poll(cctx, pollID); rerr == nil && cur.State != store.PollOpen {
			return store.Poll{}, protocol.Errorf(protocol.CodeConflict, "this poll has closed")
		}
		return store.Poll{}, protocol.Errorf(protocol.CodeConflict, "you have already voted in this poll")
	}
	if err != nil {
		return store.Poll{}, storeErr(fmt.Errorf("vote in poll %s: %w", pollID, err), "poll")
	}
	slug := m.Room.Slug
	s.coalesce("p:"+pollID, func() {
		ctx, cancel := s.ctx(context.Background())
		defer cancel()
		p, err := s.st.Poll(ctx, pollID)
		if err != nil {
			s.cfg.Logger.Warn("read poll results", "poll", pollID, "err", err)
			return
		}
		s.publishPoll(ctx, slug, p)
	})
	return p, nil
}

// ClosePoll closes a poll (the session's host and the room's staff) and sends the room its
// final results.
func (s *Service) ClosePoll(ctx context.Context, m *Member, pollID string) (store.Poll, error) {
	p, err := s.memberPoll(ctx, m, pollID)
	if err != nil {
		return store.Poll{}, err
	}
	rs, err := s.memberSession(ctx, m, p.SessionID)
	if err != nil {
		return store.Poll{}, err
	}
	if !isSessionStaff(m, rs) {
		return store.Poll{}, protocol.Errorf(protocol.CodeForbidden, "only the session's host and the room's staff run polls")
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	p, err = s.st.ClosePoll(cctx, pollID, m.User.ID, s.cfg.Now())
	if errors.Is(err, store.ErrConflict) {
		return store.Poll{}, protocol.Errorf(protocol.CodeConflict, "this poll is already closed")
	}
	if err != nil {
		return store.Poll{}, storeErr(fmt.Errorf("close poll %s: %w", pollID, err), "poll")
	}
	s.publishPoll(ctx, m.Room.Slug, p)
	return p, nil
}

// Polls lists a session's polls with their results, oldest first.
func (s *Service) Polls(ctx context.Context, actor store.User, sessionID string) ([]store.Poll, error) {
	rs, _, err := s.sessionFor(ctx, actor, sessionID)
	if err != nil {
		return nil, err
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	ps, err := s.st.Polls(cctx, rs.ID, pollListLimit)
	if err != nil {
		return nil, storeErr(fmt.Errorf("polls of session %s: %w", rs.ID, err), "polls")
	}
	return ps, nil
}

// Coalescing: while votes pour in, one node publishes a poll's results (or a question's
// votes) at most once per ResultsEvery, always read from the store after the newest vote it
// took, so the last event carries the final counts. A vote that arrives while a flush is
// armed is covered by it: the flush reads the store after the vote committed.

type flushKey struct {
	s   *Service
	key string
}

type flushState struct {
	last  time.Time // when the last flush began
	armed bool      // a flush is scheduled and has not yet begun
}

var flushes = struct {
	mu sync.Mutex
	m  map[flushKey]*flushState
}{m: make(map[flushKey]*flushState)}

func (s *Service) coalesce(key string, flush func()) {
	k := flushKey{s, key}
	flushes.mu.Lock()
	st := flushes.m[k]
	if st == nil {
		st = &flushState{}
		flushes.m[k] = st
	}
	if st.armed {
		flushes.mu.Unlock()
		return
	}
	st.armed = true
	wait := max(time.Until(st.last.Add(ResultsEvery)), 0)
	flushes.mu.Unlock()
	time.AfterFunc(wait, func() {
		flushes.mu.Lock()
		st.armed, st.last = false, time.Now()
		flushes.mu.Unlock()
		flush()
		// Forget the key once it has been quiet for a full interval.
		time.AfterFunc(ResultsEvery, func() {
			flushes.mu.Lock()
			defer flushes.mu.Unlock()
			if !st.armed && time.Since(st.last) >= ResultsEvery && flushes.m[k] == st {
				delete(flushes.m, k)
			}
		})
	})
}

// Wire forms.

// WireSession is a session as members see it, sponsor disclosure included.
func WireSession(rs store.RoomSession) protocol.RoomSession {
	w := protocol.RoomSession{ID: rs.ID, Room: rs.RoomSlug, Kind: rs.Kind, Title: rs.Title, HostID: rs.Host.ID,
		Host: publicAuthor(rs.Host), StartsAt: protocol.TS(rs.StartsAt), Sponsor: rs.Sponsor, State: rs.State,
		CreatedBy: rs.CreatedBy, CreatedAt: protocol.TS(rs.CreatedAt)}
	if !rs.StartedAt.IsZero() {
		w.StartedAt = protocol.TS(rs.StartedAt)
	}
	if !rs.EndedAt.IsZero() {
		w.EndedAt = protocol.TS(rs.EndedAt)
	}
	return w
}

// WireQuestion is a question; forModerators adds why a held one was held.
func WireQuestion(q store.Question, forModerators bool) protocol.Question {
	w := protocol.Question{ID: q.ID, Session: q.SessionID, Author: publicAuthor(q.Author), Text: q.Text,
		Status: q.Status, Votes: q.Votes, TS: protocol.TS(q.CreatedAt)}
	if forModerators {
		w.Reason, w.RuleID = q.Reason, q.RuleID
	}
	return w
}

// WirePoll is a poll with its results.
func WirePoll(p store.Poll) protocol.Poll {
	w := protocol.Poll{ID: p.ID, Session: p.SessionID, Question: p.Question, Options: p.Options, Counts: p.Counts,
		Total: p.Total, State: p.State, CreatedAt: protocol.TS(p.CreatedAt)}
	if w.Counts == nil {
		w.Counts = make([]int, len(p.Options))
	}
	if !p.ClosedAt.IsZero() {
		w.ClosedAt = protocol.TS(p.ClosedAt)
	}
	return w
}
