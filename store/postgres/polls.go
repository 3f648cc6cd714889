package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/havenhealth/haven/store"
)

// Session polls and their votes.

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
