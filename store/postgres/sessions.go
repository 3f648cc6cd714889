package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

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
