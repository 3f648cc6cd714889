package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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
// Questions are in questions.go, polls in polls.go.

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
