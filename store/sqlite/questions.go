package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/havenhealth/haven/store"
)

// Session questions and their votes.

const questionCols = `q.id, q.session_id, q.room_id, q.author_id, u.display_name, u.role, u.verified, u.affiliation, q.text,
	q.status, q.reason, q.rule_id, (SELECT count(*) FROM question_votes v WHERE v.question_id = q.id),
	q.created_at, q.decided_by, q.decided_at`

const questionFrom = ` FROM session_questions q JOIN users u ON u.id = q.author_id `

func scanQuestion(sc scanner) (store.Question, error) {
	var (
		q                store.Question
		created, decided sql.NullString
	)
	if err := sc.Scan(&q.ID, &q.SessionID, &q.RoomID, &q.Author.ID, &q.Author.DisplayName, &q.Author.Role,
		&q.Author.Verified, &q.Author.Affiliation, &q.Text, &q.Status, &q.Reason, &q.RuleID, &q.Votes, &created, &q.DecidedBy, &decided); err != nil {
		return store.Question{}, err
	}
	var err error
	if q.CreatedAt, err = parseTime(created); err != nil {
		return store.Question{}, err
	}
	q.DecidedAt, err = parseTime(decided)
	return q, err
}

func questionTx(ctx context.Context, tx *sql.Tx, id string) (store.Question, error) {
	return scanQuestion(tx.QueryRowContext(ctx, `SELECT `+questionCols+questionFrom+`WHERE q.id = ?`, id))
}

// sessionState reads a session's state, checking it belongs to roomID (ErrNotFound if not).
func sessionState(ctx context.Context, tx *sql.Tx, sessionID, roomID string) (string, error) {
	var state string
	err := tx.QueryRowContext(ctx, `SELECT state FROM room_sessions WHERE id = ? AND room_id = ?`, sessionID, roomID).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("session %s not in room %s: %w", sessionID, roomID, store.ErrNotFound)
	}
	return state, err
}

func (s *Store) AddQuestion(ctx context.Context, q store.Question) (store.Question, error) {
	var out store.Question
	err := s.writeTx(ctx, fmt.Sprintf("add question %s session %s", q.ID, q.SessionID), func(ctx context.Context, tx *sql.Tx) error {
		if q.Status != store.QuestionOpen && q.Status != store.QuestionHeld {
			return fmt.Errorf("a new question is open or held, not %q", q.Status)
		}
		state, err := sessionState(ctx, tx, q.SessionID, q.RoomID)
		if err != nil {
			return err
		}
		if state == store.SessionEnded {
			return fmt.Errorf("session has ended: %w", store.ErrConflict)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO session_questions
			(id, session_id, room_id, author_id, text, status, reason, rule_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			q.ID, q.SessionID, q.RoomID, q.Author.ID, q.Text, q.Status, q.Reason, q.RuleID, fmtTime(orNow(q.CreatedAt)))
		if err != nil {
			return err
		}
		out, err = questionTx(ctx, tx, q.ID)
		return err
	})
	return out, err
}

func (s *Store) Question(ctx context.Context, id string) (store.Question, error) {
	return readOne(s, ctx, "question "+id, scanQuestion, `SELECT `+questionCols+questionFrom+`WHERE q.id = ?`, id)
}

func (s *Store) Questions(ctx context.Context, sessionID string, statuses []string, limit int) ([]store.Question, error) {
	what := fmt.Sprintf("questions session %s statuses %v", sessionID, statuses)
	q := `SELECT ` + questionCols + questionFrom + `WHERE q.session_id = ?`
	args := []any{sessionID}
	if len(statuses) > 0 {
		q += ` AND q.status IN ` + inList(len(statuses))
		for _, st := range statuses {
			args = append(args, st)
		}
	}
	q += ` ORDER BY q.created_at, q.id LIMIT ?`
	return list(s, ctx, what, scanQuestion, q, append(args, max(limit, 0))...)
}

func (s *Store) VoteQuestion(ctx context.Context, questionID, userID string, at time.Time) (store.Question, bool, error) {
	var (
		out   store.Question
		added bool
	)
	err := s.writeTx(ctx, fmt.Sprintf("vote question %s user %s", questionID, userID), func(ctx context.Context, tx *sql.Tx) error {
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM session_questions WHERE id = ?`, questionID).Scan(&status); err != nil {
			return err
		}
		if status != store.QuestionOpen {
			return fmt.Errorf("question is %s: %w", status, store.ErrConflict)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO question_votes (question_id, user_id, created_at) VALUES (?, ?, ?)
			ON CONFLICT (question_id, user_id) DO NOTHING`, questionID, userID, fmtTime(orNow(at)))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		added = n == 1
		out, err = questionTx(ctx, tx, questionID)
		return err
	})
	return out, added, err
}

func (s *Store) DecideQuestion(ctx context.Context, id, status, by string, at time.Time) (store.Question, error) {
	var out store.Question
	err := s.writeTx(ctx, fmt.Sprintf("question %s to %s", id, status), func(ctx context.Context, tx *sql.Tx) error {
		var from string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM session_questions WHERE id = ?`, id).Scan(&from); err != nil {
			return err
		}
		if !store.QuestionCanMove(from, status) {
			return fmt.Errorf("question is %s: %w", from, store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE session_questions SET status = ?, decided_by = ?, decided_at = ? WHERE id = ?`,
			status, by, fmtTime(orNow(at)), id); err != nil {
			return err
		}
		var err error
		out, err = questionTx(ctx, tx, id)
		return err
	})
	return out, err
}
