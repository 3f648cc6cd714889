package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/havenhealth/haven/store"
)

// ApplyModeration applies ch's state change and appends its audit entry in one transaction.
// Appends from every node take turns on the audit_head row lock (lockAuditHead).
func (s *Store) ApplyModeration(ctx context.Context, ch store.ModerationChange) (store.AuditEntry, error) {
	what := fmt.Sprintf("apply moderation %s room %s target %s", ch.Audit.Action, ch.Audit.RoomID, ch.Audit.TargetID)
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.AuditEntry{}, fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	e, err := s.applyModerationTx(ctx, ch)
	if err != nil {
		return store.AuditEntry{}, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	return e, nil
}

// normAudit defaults At to now and truncates both times to what is stored: the hash covers
// microseconds in UTC, so the entry must be hashed exactly as it will be read back.
func normAudit(e store.AuditEntry) store.AuditEntry {
	e.At = orNow(e.At).UTC().Truncate(time.Microsecond)
	if !e.ExpiresAt.IsZero() {
		e.ExpiresAt = e.ExpiresAt.UTC().Truncate(time.Microsecond)
	}
	return e
}

// lockAuditHead must be the first statement of a transaction that appends to the chain.
// Under READ COMMITTED every later statement sees the entries committed by whoever held the
// lock before, and taking it first makes the chain's order the order in which changes were
// applied (and keeps the lock order audit_head, then rooms, the same everywhere).
func lockAuditHead(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM audit_head FOR UPDATE`); err != nil {
		return fmt.Errorf("lock audit head: %w", err)
	}
	return nil
}

func (s *Store) applyModerationTx(ctx context.Context, ch store.ModerationChange) (store.AuditEntry, error) {
	e := normAudit(ch.Audit)
	at := e.At

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return store.AuditEntry{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := lockAuditHead(ctx, tx); err != nil {
		return store.AuditEntry{}, err
	}

	if ch.MutedUntil != nil || ch.Banned != nil || ch.RoomRole != nil {
		var muted any
		if ch.MutedUntil != nil {
			muted = nullTS(*ch.MutedUntil)
		}
		// $3 says whether the mute is being set at all, so that "lift" (NULL) and "leave
		// alone" (nil pointer) can both be expressed.
		_, err := tx.ExecContext(ctx, `INSERT INTO memberships
			(room_id, user_id, role, accepted_version, muted_until, banned, updated_at)
			VALUES ($1, $2, coalesce($5::text, 'member'), 0, $4::timestamptz, coalesce($6::boolean, false), $7)
			ON CONFLICT (room_id, user_id) DO UPDATE SET
				muted_until = CASE WHEN $3::boolean THEN $4::timestamptz ELSE memberships.muted_until END,
				banned = coalesce($6::boolean, memberships.banned),
				role = coalesce($5::text, memberships.role),
				updated_at = $7`,
			e.RoomID, e.TargetID, ch.MutedUntil != nil, muted, nullable(ch.RoomRole), nullable(ch.Banned), at)
		if err != nil {
			return store.AuditEntry{}, fmt.Errorf("membership: %w", err)
		}
	}

	if p := ch.Room; p != nil {
		// Same statement as UpdateRoom, keyed by id: the audit entry names the room by id.
		var id string
		err := tx.QueryRowContext(ctx, `UPDATE rooms SET
				name = coalesce($1::text, name),
				guidelines_version = guidelines_version + (CASE WHEN $2::text IS NOT NULL AND $2::text <> guidelines THEN 1 ELSE 0 END),
				guidelines = coalesce($2::text, guidelines),
				slow_mode_s = coalesce($3::integer, slow_mode_s),
				locked = coalesce($4::boolean, locked),
				sponsor = coalesce($5::text, sponsor)
			WHERE id = $6 RETURNING id`,
			nullable(p.Name), nullable(p.Guidelines), nullable(p.SlowModeS), nullable(p.Locked), nullable(p.Sponsor),
			e.RoomID).Scan(&id)
		if err != nil {
			return store.AuditEntry{}, fmt.Errorf("room patch: %w", err)
		}
	}

	if ch.DeleteSeq != 0 {
		by := ch.DeleteBy
		if by == "" {
			by = "moderator"
		}
		// As DeleteMessage: a second deletion keeps the first one's time and actor.
		res, err := tx.ExecContext(ctx, `UPDATE messages SET
				deleted_by = CASE WHEN deleted_at IS NULL THEN $1 ELSE deleted_by END,
				deleted_at = coalesce(deleted_at, $2)
			WHERE room_id = $3 AND seq = $4`, by, at, e.RoomID, ch.DeleteSeq)
		if err != nil {
			return store.AuditEntry{}, fmt.Errorf("delete seq %d: %w", ch.DeleteSeq, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return store.AuditEntry{}, fmt.Errorf("delete seq %d: %w", ch.DeleteSeq, err)
		} else if n == 0 {
			return store.AuditEntry{}, fmt.Errorf("delete seq %d: %w", ch.DeleteSeq, store.ErrNotFound)
		}
	}

	if !ch.DeleteSince.IsZero() {
		_, err := tx.ExecContext(ctx, `UPDATE messages SET deleted_at = $1, deleted_by = 'moderator'
			WHERE room_id = $2 AND author_id = $3 AND created_at >= $4 AND deleted_at IS NULL`,
			at, e.RoomID, e.TargetID, ts(ch.DeleteSince))
		if err != nil {
			return store.AuditEntry{}, fmt.Errorf("delete since %s: %w", ts(ch.DeleteSince), err)
		}
	}

	if err := applyReview(ctx, tx, ch, e); err != nil {
		return store.AuditEntry{}, err
	}

	if e, err = appendAudit(ctx, tx, e); err != nil {
		return store.AuditEntry{}, err
	}
	if err := tx.Commit(); err != nil {
		return store.AuditEntry{}, fmt.Errorf("commit: %w", err)
	}
	return e, nil
}

// appendAudit links e (normalised by normAudit) to the head of the chain and inserts it,
// inside tx, which must hold lockAuditHead.
func appendAudit(ctx context.Context, tx *sql.Tx, e store.AuditEntry) (store.AuditEntry, error) {
	var (
		prevID int64
		prev   []byte
	)
	err := tx.QueryRowContext(ctx, `SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&prevID, &prev)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		prev = make([]byte, 32)
	case err != nil:
		return store.AuditEntry{}, fmt.Errorf("audit head: %w", err)
	}
	e.ID, e.PrevHash = prevID+1, prev
	e.Hash = store.AuditHash(e.PrevHash, e)
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_log
		(id, room_id, actor_id, target_id, action, reason, detail, at, expires_at, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		e.ID, e.RoomID, e.ActorID, e.TargetID, e.Action, e.Reason, e.Detail, e.At, nullTS(e.ExpiresAt),
		e.PrevHash, e.Hash)
	if err != nil {
		return store.AuditEntry{}, fmt.Errorf("append audit entry %d: %w", e.ID, err)
	}
	return e, nil
}

const auditCols = `id, room_id, actor_id, target_id, action, reason, detail, at, expires_at, prev_hash, hash`

func scanAudit(sc scanner) (store.AuditEntry, error) {
	var (
		e       store.AuditEntry
		expires sql.NullTime
	)
	if err := sc.Scan(&e.ID, &e.RoomID, &e.ActorID, &e.TargetID, &e.Action, &e.Reason, &e.Detail,
		&e.At, &expires, &e.PrevHash, &e.Hash); err != nil {
		return store.AuditEntry{}, err
	}
	e.At, e.ExpiresAt = e.At.UTC(), fromNull(expires)
	return e, nil
}

// AuditLog returns up to limit entries with ID < beforeID, newest first; roomID "" means
// every room.
func (s *Store) AuditLog(ctx context.Context, roomID string, beforeID int64, limit int) ([]store.AuditEntry, error) {
	if beforeID <= 0 {
		beforeID = math.MaxInt64
	}
	what := fmt.Sprintf("audit log room %q before %d", roomID, beforeID)
	if roomID == "" {
		return s.listAudit(ctx, what, `SELECT `+auditCols+` FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2`,
			beforeID, max(limit, 0))
	}
	return s.listAudit(ctx, what, `SELECT `+auditCols+` FROM audit_log WHERE room_id = $1 AND id < $2
		ORDER BY id DESC LIMIT $3`, roomID, beforeID, max(limit, 0))
}

// AuditChain returns up to limit entries with ID > afterID, oldest first, for
// store.VerifyChain.
func (s *Store) AuditChain(ctx context.Context, afterID int64, limit int) ([]store.AuditEntry, error) {
	return s.listAudit(ctx, fmt.Sprintf("audit chain after %d", afterID),
		`SELECT `+auditCols+` FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2`, afterID, max(limit, 0))
}

func (s *Store) listAudit(ctx context.Context, what, query string, args ...any) ([]store.AuditEntry, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	defer rows.Close()
	out := []store.AuditEntry{}
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, mapErr(fmt.Errorf("%s: %w", what, err))
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	return out, nil
}
