package rooms

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// Questions: a session's Q&A. A question passes the same moderation pipeline as a chat post.

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

// WireQuestion is a question; forModerators adds why a held one was held.
func WireQuestion(q store.Question, forModerators bool) protocol.Question {
	w := protocol.Question{ID: q.ID, Session: q.SessionID, Author: publicAuthor(q.Author), Text: q.Text,
		Status: q.Status, Votes: q.Votes, TS: protocol.TS(q.CreatedAt)}
	if forModerators {
		w.Reason, w.RuleID = q.Reason, q.RuleID
	}
	return w
}
