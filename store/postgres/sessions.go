package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/havenhealth/haven/store"
)

// Live sessions, Q&A and polls. Writes that depend on a state check lock the row they check:
// a vote holds its poll FOR SHARE and a new question or poll its session FOR SHARE, so a
// close or an end (which update those rows) waits for them to commit, and anything after
// it reads the new state: no vote lands after its poll's close, no question after its
// session's end. Many voters share a FOR SHARE lock without waiting on one another.
// Audited changes take the audit head first, as every audited write does.

const sessionCols = `s.id, s.room_id, r.slug, s.kind, s.title, s.host_id, u.display_name, u.role, u.verified, u.affiliation,
	s.starts_at, s.sponsor, s.state, s.started_at, s.ended_at, s.created_by, s.created_at`

const sessionFrom = ` FROM room_sessions s JOIN rooms r ON r.id = s.room_id JOIN users u ON u.id = s.host_id `

func scanRoomSession(sc scanner) (store.RoomSession, error) {
	var (
		rs             store.RoomSession
		started, ended sql.NullTime
	)
	if err := sc.Scan(&rs.ID, &rs.RoomID, &rs.RoomSlug, &rs.Kind, &rs.Title, &rs.Host.ID, &rs.Host.DisplayName,
		&rs.Host.Role, &rs.Host.Verified, &rs.Host.Affiliation, &rs.StartsAt, &rs.Sponsor, &rs.State, &started, &ended, &rs.CreatedBy,
		&rs.CreatedAt); err != nil {
		return store.RoomSession{}, err
	}
	rs.StartsAt, rs.CreatedAt = rs.StartsAt.UTC(), rs.CreatedAt.UTC()
	rs.StartedAt, rs.EndedAt = fromNull(started), fromNull(ended)
	return rs, nil
}

// writeTx runs fn in one transaction and commits it; errors are wrapped with what and
// mapped to the store's sentinels.
func (s *Store) writeTx(ctx context.Context, what string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(fmt.Errorf("%s: begin: %w", what, err))
	}
	defer tx.Rollback()
	if err := fn(ctx, tx); err != nil {
		return mapErr(fmt.Errorf("%s: %w", what, err))
	}
	if err := tx.Commit(); err != nil {
		return mapErr(fmt.Errorf("%s: commit: %w", what, err))
	}
	return nil
}

// readOne runs a single-row read.
func readOne[T any](s *Store, ctx context.Context, what string, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	var zero T
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	v, err := scan(s.db.QueryRowContext(ctx, query, args...))
	if err != nil {
		return zero, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	return v, nil
}

func sessionTx(ctx context.Context, tx *sql.Tx, id string) (store.RoomSession, error) {
	return scanRoomSession(tx.QueryRowContext(ctx, `SELECT `+sessionCols+sessionFrom+`WHERE s.id = $1`, id))
}

func (s *Store) CreateRoomSession(ctx context.Context, rs store.RoomSession, audit store.AuditEntry) (store.RoomSession, error) {
	var out store.RoomSession
	err := s.writeTx(ctx, fmt.Sprintf("create session %s room %s", rs.ID, rs.RoomID), func(ctx context.Context, tx *sql.Tx) error {
		if err := lockAuditHead(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO room_sessions
			(id, room_id, kind, title, host_id, starts_at, sponsor, state, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			rs.ID, rs.RoomID, rs.Kind, rs.Title, rs.Host.ID, ts(rs.StartsAt), rs.Sponsor, store.SessionScheduled,
			rs.CreatedBy, ts(orNow(rs.CreatedAt)))
		if err != nil {
			return err
		}
		if _, err := appendAudit(ctx, tx, normAudit(audit)); err != nil {
			return err
		}
		out, err = sessionTx(ctx, tx, rs.ID)
		return err
	})
	return out, err
}

func (s *Store) RoomSession(ctx context.Context, id string) (store.RoomSession, error) {
	return readOne(s, ctx, "session "+id, scanRoomSession, `SELECT `+sessionCols+sessionFrom+`WHERE s.id = $1`, id)
}

// inList is "($from, $from+1, ...)" for n values.
func inList(from, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(from+i)
	}
	return "(" + strings.Join(ps, ", ") + ")"
}

func (s *Store) RoomSessions(ctx context.Context, roomID string, states []string, limit int) ([]store.RoomSession, error) {
	what := fmt.Sprintf("sessions room %s states %v", roomID, states)
	q := `SELECT ` + sessionCols + sessionFrom + `WHERE s.room_id = $1`
	args := []any{roomID}
	if len(states) > 0 {
		q += ` AND s.state IN ` + inList(2, len(states))
		for _, st := range states {
			args = append(args, st)
		}
	}
	q += ` ORDER BY s.starts_at, s.id LIMIT $` + strconv.Itoa(len(args)+1)
	return list(s, ctx, what, scanRoomSession, q, append(args, max(limit, 0))...)
}

// sessionMoved explains why a guarded session update touched no row: ErrNotFound when
// there is no such session, ErrConflict when its state did not allow the change.
func sessionMoved(ctx context.Context, tx *sql.Tx, res sql.Result, err error, id string) error {
	if err = oneRow(res, err); !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var state string
	if err := tx.QueryRowContext(ctx, `SELECT state FROM room_sessions WHERE id = $1`, id).Scan(&state); err != nil {
		return err // ErrNoRows maps to ErrNotFound
	}
	return fmt.Errorf("session is %s: %w", state, store.ErrConflict)
}

func (s *Store) UpdateRoomSession(ctx context.Context, id string, p store.SessionPatch, audit store.AuditEntry) (store.RoomSession, error) {
	var out store.RoomSession
	err := s.writeTx(ctx, "update session "+id, func(ctx context.Context, tx *sql.Tx) error {
		if err := lockAuditHead(ctx, tx); err != nil {
			return err
		}
		var starts any
		if p.StartsAt != nil {
			starts = ts(*p.StartsAt)
		}
		res, err := tx.ExecContext(ctx, `UPDATE room_sessions SET
				title = coalesce($1::text, title), starts_at = coalesce($2::timestamptz, starts_at),
				sponsor = coalesce($3::text, sponsor)
			WHERE id = $4 AND state <> $5`, nullable(p.Title), starts, nullable(p.Sponsor), id, store.SessionEnded)
		if err := sessionMoved(ctx, tx, res, err, id); err != nil {
			return err
		}
		if _, err := appendAudit(ctx, tx, normAudit(audit)); err != nil {
			return err
		}
		out, err = sessionTx(ctx, tx, id)
		return err
	})
	return out, err
}

func (s *Store) StartRoomSession(ctx context.Context, id string, audit store.AuditEntry) (store.RoomSession, error) {
	var out store.RoomSession
	e := normAudit(audit)
	err := s.writeTx(ctx, "start session "+id, func(ctx context.Context, tx *sql.Tx) error {
		if err := lockAuditHead(ctx, tx); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE room_sessions SET state = $1, started_at = $2 WHERE id = $3 AND state = $4`,
			store.SessionLive, e.At, id, store.SessionScheduled)
		if err := sessionMoved(ctx, tx, res, err, id); err != nil {
			return err
		}
		if _, err := appendAudit(ctx, tx, e); err != nil {
			return err
		}
		out, err = sessionTx(ctx, tx, id)
		return err
	})
	return out, err
}

func (s *Store) EndRoomSession(ctx context.Context, id string, audit store.AuditEntry) (store.RoomSession, error) {
	var out store.RoomSession
	e := normAudit(audit)
	err := s.writeTx(ctx, "end session "+id, func(ctx context.Context, tx *sql.Tx) error {
		if err := lockAuditHead(ctx, tx); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE room_sessions SET state = $1, ended_at = $2 WHERE id = $3 AND state <> $1`,
			store.SessionEnded, e.At, id)
		if err := sessionMoved(ctx, tx, res, err, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE session_polls SET state = $1, closed_at = $2, closed_by = $3
			WHERE session_id = $4 AND state = $5`, store.PollClosed, e.At, e.ActorID, id, store.PollOpen); err != nil {
			return fmt.Errorf("close polls: %w", err)
		}
		if _, err := appendAudit(ctx, tx, e); err != nil {
			return err
		}
		out, err = sessionTx(ctx, tx, id)
		return err
	})
	return out, err
}

// Questions.

const questionCols = `q.id, q.session_id, q.room_id, q.author_id, u.display_name, u.role, u.verified, u.affiliation, q.text,
	q.status, q.reason, q.rule_id, (SELECT count(*) FROM question_votes v WHERE v.question_id = q.id),
	q.created_at, q.decided_by, q.decided_at`

const questionFrom = ` FROM session_questions q JOIN users u ON u.id = q.author_id `

func scanQuestion(sc scanner) (store.Question, error) {
	var (
		q       store.Question
		decided sql.NullTime
	)
	if err := sc.Scan(&q.ID, &q.SessionID, &q.RoomID, &q.Author.ID, &q.Author.DisplayName, &q.Author.Role,
		&q.Author.Verified, &q.Author.Affiliation, &q.Text, &q.Status, &q.Reason, &q.RuleID, &q.Votes, &q.CreatedAt, &q.DecidedBy, &decided); err != nil {
		return store.Question{}, err
	}
	q.CreatedAt, q.DecidedAt = q.CreatedAt.UTC(), fromNull(decided)
	return q, nil
}

func questionTx(ctx context.Context, tx *sql.Tx, id string) (store.Question, error) {
	return scanQuestion(tx.QueryRowContext(ctx, `SELECT `+questionCols+questionFrom+`WHERE q.id = $1`, id))
}

// sharedSessionState reads a session's state FOR SHARE (an end waits for the caller's
// transaction), checking it belongs to roomID (ErrNotFound if not).
func sharedSessionState(ctx context.Context, tx *sql.Tx, sessionID, roomID string) (string, error) {
	var state string
	err := tx.QueryRowContext(ctx, `SELECT state FROM room_sessions WHERE id = $1 AND room_id = $2 FOR SHARE`,
		sessionID, roomID).Scan(&state)
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
		state, err := sharedSessionState(ctx, tx, q.SessionID, q.RoomID)
		if err != nil {
			return err
		}
		if state == store.SessionEnded {
			return fmt.Errorf("session has ended: %w", store.ErrConflict)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO session_questions
			(id, session_id, room_id, author_id, text, status, reason, rule_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			q.ID, q.SessionID, q.RoomID, q.Author.ID, q.Text, q.Status, q.Reason, q.RuleID, ts(orNow(q.CreatedAt)))
		if err != nil {
			return err
		}
		out, err = questionTx(ctx, tx, q.ID)
		return err
	})
	return out, err
}

func (s *Store) Question(ctx context.Context, id string) (store.Question, error) {
	return readOne(s, ctx, "question "+id, scanQuestion, `SELECT `+questionCols+questionFrom+`WHERE q.id = $1`, id)
}

func (s *Store) Questions(ctx context.Context, sessionID string, statuses []string, limit int) ([]store.Question, error) {
	what := fmt.Sprintf("questions session %s statuses %v", sessionID, statuses)
	q := `SELECT ` + questionCols + questionFrom + `WHERE q.session_id = $1`
	args := []any{sessionID}
	if len(statuses) > 0 {
		q += ` AND q.status IN ` + inList(2, len(statuses))
		for _, st := range statuses {
			args = append(args, st)
		}
	}
	q += ` ORDER BY q.created_at, q.id LIMIT $` + strconv.Itoa(len(args)+1)
	return list(s, ctx, what, scanQuestion, q, append(args, max(limit, 0))...)
}

func (s *Store) VoteQuestion(ctx context.Context, questionID, userID string, at time.Time) (store.Question, bool, error) {
	var (
		out   store.Question
		added bool
	)
	err := s.writeTx(ctx, fmt.Sprintf("vote question %s user %s", questionID, userID), func(ctx context.Context, tx *sql.Tx) error {
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM session_questions WHERE id = $1 FOR SHARE`,
			questionID).Scan(&status); err != nil {
			return err
		}
		if status != store.QuestionOpen {
			return fmt.Errorf("question is %s: %w", status, store.ErrConflict)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO question_votes (question_id, user_id, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (question_id, user_id) DO NOTHING`, questionID, userID, ts(orNow(at)))
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
		if err := tx.QueryRowContext(ctx, `SELECT status FROM session_questions WHERE id = $1 FOR UPDATE`, id).Scan(&from); err != nil {
			return err
		}
		if !store.QuestionCanMove(from, status) {
			return fmt.Errorf("question is %s: %w", from, store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE session_questions SET status = $1, decided_by = $2, decided_at = $3 WHERE id = $4`,
			status, by, ts(orNow(at)), id); err != nil {
			return err
		}
		var err error
		out, err = questionTx(ctx, tx, id)
		return err
	})
	return out, err
}

// Polls.

const pollCols = `id, session_id, room_id, question, options, state, created_by, created_at, closed_by, closed_at`

func scanPoll(sc scanner) (store.Poll, error) {
	var (
		p       store.Poll
		options string
		closed  sql.NullTime
	)
	if err := sc.Scan(&p.ID, &p.SessionID, &p.RoomID, &p.Question, &options, &p.State, &p.CreatedBy, &p.CreatedAt,
		&p.ClosedBy, &closed); err != nil {
		return store.Poll{}, err
	}
	if err := json.Unmarshal([]byte(options), &p.Options); err != nil {
		return store.Poll{}, fmt.Errorf("decode options of poll %s: %w", p.ID, err)
	}
	p.CreatedAt, p.ClosedAt = p.CreatedAt.UTC(), fromNull(closed)
	p.Counts = make([]int, len(p.Options))
	return p, nil
}

// countVotes fills the counts of polls (keyed by id) in one grouped read.
func countVotes(ctx context.Context, q querier, where string, arg any, polls map[string]*store.Poll) error {
	rows, err := q.QueryContext(ctx, `SELECT v.poll_id, v.choice, count(*) FROM poll_votes v WHERE `+where+`
		GROUP BY v.poll_id, v.choice`, arg)
	if err != nil {
		return fmt.Errorf("count votes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id        string
			choice, n int
		)
		if err := rows.Scan(&id, &choice, &n); err != nil {
			return fmt.Errorf("count votes: %w", err)
		}
		if p := polls[id]; p != nil && choice >= 0 && choice < len(p.Counts) {
			p.Counts[choice] = n
			p.Total += n
		}
	}
	return rows.Err()
}

// pollOn reads one poll with its counts through q (the pool or a transaction).
func pollOn(ctx context.Context, q querier, id string) (store.Poll, error) {
	p, err := scanPoll(q.QueryRowContext(ctx, `SELECT `+pollCols+` FROM session_polls WHERE id = $1`, id))
	if err != nil {
		return store.Poll{}, err
	}
	err = countVotes(ctx, q, `v.poll_id = $1`, id, map[string]*store.Poll{id: &p})
	return p, err
}

func (s *Store) CreatePoll(ctx context.Context, p store.Poll) (store.Poll, error) {
	var out store.Poll
	err := s.writeTx(ctx, fmt.Sprintf("create poll %s session %s", p.ID, p.SessionID), func(ctx context.Context, tx *sql.Tx) error {
		if n := len(p.Options); n < store.PollMinOptions || n > store.PollMaxOptions {
			return fmt.Errorf("a poll has %d-%d options, not %d", store.PollMinOptions, store.PollMaxOptions, n)
		}
		state, err := sharedSessionState(ctx, tx, p.SessionID, p.RoomID)
		if err != nil {
			return err
		}
		if state != store.SessionLive {
			return fmt.Errorf("session is %s: %w", state, store.ErrConflict)
		}
		options, err := json.Marshal(p.Options)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO session_polls
			(id, session_id, room_id, question, options, option_count, state, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			p.ID, p.SessionID, p.RoomID, p.Question, string(options), len(p.Options), store.PollOpen, p.CreatedBy,
			ts(orNow(p.CreatedAt)))
		if err != nil {
			return err
		}
		out, err = pollOn(ctx, tx, p.ID)
		return err
	})
	return out, err
}

// readTx runs fn in a read-only REPEATABLE READ transaction: one snapshot, so counts are of
// the same moment as the poll's state.
func (s *Store) readTx(ctx context.Context, what string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return mapErr(fmt.Errorf("%s: begin: %w", what, err))
	}
	defer tx.Rollback()
	if err := fn(ctx, tx); err != nil {
		return mapErr(fmt.Errorf("%s: %w", what, err))
	}
	return nil
}

func (s *Store) Poll(ctx context.Context, id string) (store.Poll, error) {
	var out store.Poll
	err := s.readTx(ctx, "poll "+id, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		out, err = pollOn(ctx, tx, id)
		return err
	})
	return out, err
}

func (s *Store) Polls(ctx context.Context, sessionID string, limit int) ([]store.Poll, error) {
	out := []store.Poll{}
	err := s.readTx(ctx, "polls session "+sessionID, func(ctx context.Context, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+pollCols+` FROM session_polls WHERE session_id = $1
			ORDER BY created_at, id LIMIT $2`, sessionID, max(limit, 0))
		if err != nil {
			return err
		}
		for rows.Next() {
			p, err := scanPoll(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		byID := make(map[string]*store.Poll, len(out))
		for i := range out {
			byID[out[i].ID] = &out[i]
		}
		return countVotes(ctx, tx, `v.poll_id IN (SELECT id FROM session_polls WHERE session_id = $1)`, sessionID, byID)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) VotePoll(ctx context.Context, pollID, userID string, option int, at time.Time) (store.Poll, error) {
	var out store.Poll
	err := s.writeTx(ctx, fmt.Sprintf("vote poll %s user %s", pollID, userID), func(ctx context.Context, tx *sql.Tx) error {
		var (
			state string
			n     int
		)
		if err := tx.QueryRowContext(ctx, `SELECT state, option_count FROM session_polls WHERE id = $1 FOR SHARE`,
			pollID).Scan(&state, &n); err != nil {
			return err
		}
		if option < 0 || option >= n {
			return fmt.Errorf("option %d of %d: %w", option, n, store.ErrNotFound)
		}
		if state != store.PollOpen {
			return fmt.Errorf("poll is %s: %w", state, store.ErrConflict)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO poll_votes (poll_id, user_id, choice, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (poll_id, user_id) DO NOTHING`, pollID, userID, option, ts(orNow(at)))
		if err := oneRow(res, err); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("already voted: %w", store.ErrConflict)
		} else if err != nil {
			return err
		}
		out, err = pollOn(ctx, tx, pollID)
		return err
	})
	return out, err
}

func (s *Store) ClosePoll(ctx context.Context, id, by string, at time.Time) (store.Poll, error) {
	var out store.Poll
	err := s.writeTx(ctx, "close poll "+id, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE session_polls SET state = $1, closed_by = $2, closed_at = $3 WHERE id = $4 AND state = $5`,
			store.PollClosed, by, ts(orNow(at)), id, store.PollOpen)
		if err = oneRow(res, err); errors.Is(err, store.ErrNotFound) {
			var state string
			if err := tx.QueryRowContext(ctx, `SELECT state FROM session_polls WHERE id = $1`, id).Scan(&state); err != nil {
				return err
			}
			return fmt.Errorf("poll is %s: %w", state, store.ErrConflict)
		} else if err != nil {
			return err
		}
		out, err = pollOn(ctx, tx, id)
		return err
	})
	return out, err
}
