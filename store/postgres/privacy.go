package postgres

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
		c         store.Consent
		withdrawn sql.NullTime
	)
	if err := sc.Scan(&c.ID, &c.UserID, &c.Kind, &c.Version, &c.GrantedAt, &withdrawn); err != nil {
		return store.Consent{}, err
	}
	c.GrantedAt, c.WithdrawnAt = c.GrantedAt.UTC(), fromNull(withdrawn)
	return c, nil
}

// GrantConsent locks the consent in force (FOR UPDATE), so two grants at once cannot both
// end it; a race to insert the first grant meets the one-in-force index (ErrConflict).
func (s *Store) GrantConsent(ctx context.Context, userID, kind string, version int, at time.Time) (store.Consent, error) {
	var out store.Consent
	err := s.writeTx(ctx, fmt.Sprintf("grant consent %s v%d of user %s", kind, version, userID), func(ctx context.Context, tx *sql.Tx) error {
		cur, err := scanConsent(tx.QueryRowContext(ctx, `SELECT `+consentCols+` FROM user_consents
			WHERE user_id = $1 AND kind = $2 AND withdrawn_at IS NULL FOR UPDATE`, userID, kind))
		switch {
		case err == nil && cur.Version == version:
			out = cur // already in force: nothing to record
			return nil
		case err == nil:
			// Another version is in force: the new grant supersedes it.
			if _, err := tx.ExecContext(ctx, `UPDATE user_consents SET withdrawn_at = $1 WHERE id = $2`,
				ts(orNow(at)), cur.ID); err != nil {
				return fmt.Errorf("end version %d: %w", cur.Version, err)
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		out, err = scanConsent(tx.QueryRowContext(ctx, `INSERT INTO user_consents (user_id, kind, version, granted_at)
			VALUES ($1, $2, $3, $4) RETURNING `+consentCols, userID, kind, version, ts(orNow(at))))
		return err
	})
	return out, err
}

func (s *Store) WithdrawConsent(ctx context.Context, userID, kind string, at time.Time) (store.Consent, error) {
	var out store.Consent
	err := s.writeTx(ctx, fmt.Sprintf("withdraw consent %s of user %s", kind, userID), func(ctx context.Context, tx *sql.Tx) error {
		var err error
		out, err = scanConsent(tx.QueryRowContext(ctx, `UPDATE user_consents SET withdrawn_at = $1
			WHERE user_id = $2 AND kind = $3 AND withdrawn_at IS NULL RETURNING `+consentCols,
			ts(orNow(at)), userID, kind))
		return err // no row in force: ErrNoRows maps to ErrNotFound
	})
	return out, err
}

func (s *Store) ActiveConsent(ctx context.Context, userID, kind string) (store.Consent, error) {
	return readOne(s, ctx, fmt.Sprintf("consent %s of user %s", kind, userID), scanConsent,
		`SELECT `+consentCols+` FROM user_consents WHERE user_id = $1 AND kind = $2 AND withdrawn_at IS NULL`, userID, kind)
}

func (s *Store) Consents(ctx context.Context, userID string) ([]store.Consent, error) {
	return list(s, ctx, "consents of user "+userID, scanConsent,
		`SELECT `+consentCols+` FROM user_consents WHERE user_id = $1 ORDER BY granted_at DESC, id DESC`, userID)
}

func scanRetention(sc scanner) (store.RoomRetention, error) {
	var r store.RoomRetention
	err := sc.Scan(&r.RoomID, &r.Slug, &r.Days)
	return r, err
}

func (s *Store) SetRoomRetention(ctx context.Context, roomID string, days int, audit store.AuditEntry) (store.RoomRetention, error) {
	var out store.RoomRetention
	err := s.writeTx(ctx, fmt.Sprintf("set retention of room %s", roomID), func(ctx context.Context, tx *sql.Tx) error {
		if err := lockAuditHead(ctx, tx); err != nil {
			return err
		}
		var err error
		out, err = scanRetention(tx.QueryRowContext(ctx, `UPDATE rooms SET retention_days = $1 WHERE id = $2
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

// retentionBatch bounds one retention transaction, so its row locks are held briefly.
const retentionBatch = 500

// expiredWhere selects a room's messages retention still has to blank: older than the
// cut-off, not under legal hold, and not blanked yet (which makes a rerun, or another node
// running at the same time, change nothing: a row another node just blanked no longer
// matches when this node's UPDATE re-reads it after the lock).
const expiredWhere = `room_id = $1 AND seq > $2 AND created_at < $3 AND NOT legal_hold AND (text <> '' OR deleted_at IS NULL)`

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
				ORDER BY seq LIMIT $4) b`, roomID, after, ts(before), retentionBatch).Scan(&last); err != nil {
				return err
			}
			if !last.Valid {
				done = true
				return nil
			}
			// Earlier texts of edited messages are content too.
			if _, err := tx.ExecContext(ctx, `DELETE FROM message_edits WHERE room_id = $1 AND seq IN
				(SELECT seq FROM messages WHERE `+expiredWhere+` AND seq <= $4)`,
				roomID, after, ts(before), last.Int64); err != nil {
				return fmt.Errorf("edits: %w", err)
			}
			res, err := tx.ExecContext(ctx, `UPDATE messages SET text = '',
				deleted_by = CASE WHEN deleted_at IS NULL THEN $5 ELSE deleted_by END,
				deleted_at = coalesce(deleted_at, $6)
				WHERE `+expiredWhere+` AND seq <= $4`,
				roomID, after, ts(before), last.Int64, store.DeletedByRetention, ts(orNow(at)))
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
