package rooms

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// Polls: a live session's polls and their results.

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
