package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/havenhealth/haven/store"
)

// Consents and retention (store.Privacy); export and erasure are in privacy_erase.go.

const consentCols = `id, user_id, kind, version, granted_at, withdrawn_at`

func scanConsent(sc scanner) (store.Consent, error) {
	var (
		c                  store.Consent
		granted, withdrawn sql.NullString
	)
	if err := sc.Scan(&c.ID, &c.UserID, &c.Kind, &c.Version, &granted, &withdrawn); err != nil {
		return store.Consent{}, err
	}
	var err error
	if c.GrantedAt, err = parseTime(granted); err != nil {
		return store.Consent{}, err
	}
	if c.WithdrawnAt, err = parseTime(withdrawn); err != nil {
		return store.Consent{}, err
	}
	return c, nil
}

func (s *Store) GrantConsent(ctx context.Context, userID, kind string, version int, at time.Time) (store.Consent, error) {
	var out store.Consent
	err := s.writeTx(ctx, fmt.Sprintf("grant consent %s v%d of user %s", kind, version, userID), func(ctx context.Context, tx *sql.Tx) error {
		cur, err := scanConsent(tx.QueryRowContext(ctx, `SELECT `+consentCols+` FROM user_consents
			WHERE user_id = ? AND kind = ? AND withdrawn_at IS NULL`, userID, kind))
		switch {
		case err == nil && cur.Version == version:
			out = cur // already in force: nothing to record
			return nil
		case err == nil:
			// Another version is in force: the new grant supersedes it.
			if _, err := tx.ExecContext(ctx, `UPDATE user_consents SET withdrawn_at = ? WHERE id = ?`,
				fmtTime(orNow(at)), cur.ID); err != nil {
				return fmt.Errorf("end version %d: %w", cur.Version, err)
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		out, err = scanConsent(tx.QueryRowContext(ctx, `INSERT INTO user_consents (user_id, kind, version, granted_at)
			VALUES (?, ?, ?, ?) RETURNING `+consentCols, userID, kind, version, fmtTime(orNow(at))))
		return err
	})
	return out, err
}

func (s *Store) WithdrawConsent(ctx context.Context, userID, kind string, at time.Time) (store.Consent, error) {
	var out store.Consent
	err := s.writeTx(ctx, fmt.Sprintf("withdraw consent %s of user %s", kind, userID), func(ctx context.Context, tx *sql.Tx) error {
		var err error
		out, err = scanConsent(tx.QueryRowContext(ctx, `UPDATE user_consents SET withdrawn_at = ?
			WHERE user_id = ? AND kind = ? AND withdrawn_at IS NULL RETURNING `+consentCols,
			fmtTime(orNow(at)), userID, kind))
		return err // no row in force: ErrNoRows maps to ErrNotFound
	})
	return out, err
}

func (s *Store) ActiveConsent(ctx context.Context, userID, kind string) (store.Consent, error) {
	return readOne(s, ctx, fmt.Sprintf("consent %s of user %s", kind, userID), scanConsent,
		`SELECT `+consentCols+` FROM user_consents WHERE user_id = ? AND kind = ? AND withdrawn_at IS NULL`, userID, kind)
}

func (s *Store) Consents(ctx context.Context, userID string) ([]store.Consent, error) {
	return list(s, ctx, "consents of user "+userID, scanConsent,
		`SELECT `+consentCols+` FROM user_consents WHERE user_id = ? ORDER BY granted_at DESC, id DESC`, userID)
}

func scanRetention(sc scanner) (store.RoomRetention, error) {
	var r store.RoomRetention
	err := sc.Scan(&r.RoomID, &r.Slug, &r.Days)
	return r, err
}

func (s *Store) SetRoomRetention(ctx context.Context, roomID string, days int, audit store.AuditEntry) (store.RoomRetention, error) {
	var out store.RoomRetention
	err := s.writeTx(ctx, fmt.Sprintf("set retention of room %s", roomID), func(ctx context.Context, tx *sql.Tx) error {
		var err error
		out, err = scanRetention(tx.QueryRowContext(ctx, `UPDATE rooms SET retention_days = ? WHERE id = ?
			RETURNING id, slug, retention_days`, days, roomID))
		if err != nil {
			return err
		}
		_, err = appendAudit(ctx, tx, normAudit(audit))
		return err
	})
	return out, err
}

func (s *Store) RoomRetentions(ctx context.Context) ([]store.RoomRetention, error) {
	return list(s, ctx, "room retentions", scanRetention, `SELECT id, slug, retention_days FROM rooms ORDER BY slug`)
}

// retentionBatch bounds one retention transaction, so the single writer connection is never
// held for long: posts queue behind it.
const retentionBatch = 500

// expiredWhere selects a room's messages retention still has to blank: older than the
// cut-off, not under legal hold, and not blanked yet (which makes a rerun change nothing).
const expiredWhere = `room_id = ? AND seq > ? AND created_at < ? AND legal_hold = 0 AND (text <> '' OR deleted_at IS NULL)`

func (s *Store) ApplyRetention(ctx context.Context, roomID string, before, at time.Time) (int, error) {
	total, after := 0, int64(0)
	for {
		var (
			n    int
			done bool
		)
		err := s.writeTx(ctx, fmt.Sprintf("apply retention to room %s", roomID), func(ctx context.Context, tx *sql.Tx) error {
			var last sql.NullInt64
			if err := tx.QueryRowContext(ctx, `SELECT max(seq) FROM (SELECT seq FROM messages WHERE `+expiredWhere+`
				ORDER BY seq LIMIT ?)`, roomID, after, fmtTime(before), retentionBatch).Scan(&last); err != nil {
				return err
			}
			if !last.Valid {
				done = true
				return nil
			}
			// Earlier texts of edited messages are content too.
			if _, err := tx.ExecContext(ctx, `DELETE FROM message_edits WHERE room_id = ? AND seq IN
				(SELECT seq FROM messages WHERE `+expiredWhere+` AND seq <= ?)`,
				roomID, roomID, after, fmtTime(before), last.Int64); err != nil {
				return fmt.Errorf("edits: %w", err)
			}
			res, err := tx.ExecContext(ctx, `UPDATE messages SET text = '',
				deleted_by = CASE WHEN deleted_at IS NULL THEN ? ELSE deleted_by END,
				deleted_at = coalesce(deleted_at, ?)
				WHERE `+expiredWhere+` AND seq <= ?`,
				store.DeletedByRetention, fmtTime(orNow(at)), roomID, after, fmtTime(before), last.Int64)
			if err != nil {
				return err
			}
			c, _ := res.RowsAffected()
			n, after = int(c), last.Int64
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if done {
			return total, nil
		}
	}
}
