package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/havenhealth/haven/store"
)

// Live sessions, Q&A and polls. Every write runs in one transaction on the single writer
// connection (BEGIN IMMEDIATE), so a state check and the write it guards cannot be split by
// another writer: no vote lands after its poll's close, no question after its session's end.

const sessionCols = `s.id, s.room_id, r.slug, s.kind, s.title, s.host_id, u.display_name, u.role, u.verified, u.affiliation,
	s.starts_at, s.sponsor, s.state, s.started_at, s.ended_at, s.created_by, s.created_at`

const sessionFrom = ` FROM room_sessions s JOIN rooms r ON r.id = s.room_id JOIN users u ON u.id = s.host_id `

func scanRoomSession(sc scanner) (store.RoomSession, error) {
	var (
		rs                              store.RoomSession
		starts, started, ended, created sql.NullString
	)
	if err := sc.Scan(&rs.ID, &rs.RoomID, &rs.RoomSlug, &rs.Kind, &rs.Title, &rs.Host.ID, &rs.Host.DisplayName,
		&rs.Host.Role, &rs.Host.Verified, &rs.Host.Affiliation, &starts, &rs.Sponsor, &rs.State, &started, &ended, &rs.CreatedBy, &created); err != nil {
		return store.RoomSession{}, err
	}
	var err error
	for _, f := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&rs.StartsAt, starts}, {&rs.StartedAt, started}, {&rs.EndedAt, ended}, {&rs.CreatedAt, created}} {
		if *f.dst, err = parseTime(f.src); err != nil {
			return store.RoomSession{}, err
		}
	}
	return rs, nil
}

// writeTx runs fn in one write transaction and commits it; errors are wrapped with what and
// mapped to the store's sentinels.
func (s *Store) writeTx(ctx context.Context, what string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	tx, err := s.w.BeginTx(ctx, nil)
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

// readOne runs a single-row read on the reader pool.
func readOne[T any](s *Store, ctx context.Context, what string, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	var zero T
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	v, err := scan(s.r.QueryRowContext(ctx, query, args...))
	if err != nil {
		return zero, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	return v, nil
}

func sessionTx(ctx context.Context, tx *sql.Tx, id string) (store.RoomSession, error) {
	return scanRoomSession(tx.QueryRowContext(ctx, `SELECT `+sessionCols+sessionFrom+`WHERE s.id = ?`, id))
}

func (s *Store) CreateRoomSession(ctx context.Context, rs store.RoomSession, audit store.AuditEntry) (store.RoomSession, error) {
	var out store.RoomSession
	err := s.writeTx(ctx, fmt.Sprintf("create session %s room %s", rs.ID, rs.RoomID), func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO room_sessions
			(id, room_id, kind, title, host_id, starts_at, sponsor, state, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			rs.ID, rs.RoomID, rs.Kind, rs.Title, rs.Host.ID, fmtTime(rs.StartsAt), rs.Sponsor, store.SessionScheduled,
			rs.CreatedBy, fmtTime(orNow(rs.CreatedAt)))
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
	return readOne(s, ctx, "session "+id, scanRoomSession, `SELECT `+sessionCols+sessionFrom+`WHERE s.id = ?`, id)
}

// inList is "(?, ?, ...)" for n values.
func inList(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

func (s *Store) RoomSessions(ctx context.Context, roomID string, states []string, limit int) ([]store.RoomSession, error) {
	what := fmt.Sprintf("sessions room %s states %v", roomID, states)
	q := `SELECT ` + sessionCols + sessionFrom + `WHERE s.room_id = ?`
	args := []any{roomID}
	if len(states) > 0 {
		q += ` AND s.state IN ` + inList(len(states))
		for _, st := range states {
			args = append(args, st)
		}
	}
	q += ` ORDER BY s.starts_at, s.id LIMIT ?`
	return list(s, ctx, what, scanRoomSession, q, append(args, max(limit, 0))...)
}

// sessionMoved explains why a guarded session update touched no row: ErrNotFound when
// there is no such session, ErrConflict when its state did not allow the change.
func sessionMoved(ctx context.Context, tx *sql.Tx, res sql.Result, err error, id string) error {
	if err = oneRow(res, err); !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var state string
	if err := tx.QueryRowContext(ctx, `SELECT state FROM room_sessions WHERE id = ?`, id).Scan(&state); err != nil {
		return err // ErrNoRows maps to ErrNotFound
	}
	return fmt.Errorf("session is %s: %w", state, store.ErrConflict)
}

func (s *Store) UpdateRoomSession(ctx context.Context, id string, p store.SessionPatch, audit store.AuditEntry) (store.RoomSession, error) {
	var out store.RoomSession
	err := s.writeTx(ctx, "update session "+id, func(ctx context.Context, tx *sql.Tx) error {
		var starts any
		if p.StartsAt != nil {
			starts = fmtTime(*p.StartsAt)
		}
		res, err := tx.ExecContext(ctx, `UPDATE room_sessions SET
				title = coalesce(?, title), starts_at = coalesce(?, starts_at), sponsor = coalesce(?, sponsor)
			WHERE id = ? AND state <> ?`, nullable(p.Title), starts, nullable(p.Sponsor), id, store.SessionEnded)
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
		res, err := tx.ExecContext(ctx, `UPDATE room_sessions SET state = ?, started_at = ? WHERE id = ? AND state = ?`,
			store.SessionLive, fmtTime(e.At), id, store.SessionScheduled)
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
	at := fmtTime(e.At)
	err := s.writeTx(ctx, "end session "+id, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE room_sessions SET state = ?, ended_at = ? WHERE id = ? AND state <> ?`,
			store.SessionEnded, at, id, store.SessionEnded)
		if err := sessionMoved(ctx, tx, res, err, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE session_polls SET state = ?, closed_at = ?, closed_by = ?
			WHERE session_id = ? AND state = ?`, store.PollClosed, at, e.ActorID, id, store.PollOpen); err != nil {
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
