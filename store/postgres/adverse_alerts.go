package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/store"
)

// Follow-up threads and crisis alerts (see adverse.go for the cases themselves).

const followupCols = `id, case_id, from_user, to_user, text, at`

func scanFollowup(sc scanner) (store.AEFollowup, error) {
	var f store.AEFollowup
	if err := sc.Scan(&f.ID, &f.CaseID, &f.FromUser, &f.ToUser, &f.Text, &f.At); err != nil {
		return store.AEFollowup{}, err
	}
	f.At = f.At.UTC()
	return f, nil
}

// AddFollowup stores one message of a case's thread, with its audit entry when given.
func (s *Store) AddFollowup(ctx context.Context, f store.AEFollowup, audit *store.AuditEntry) (store.AEFollowup, error) {
	if f.ID == "" {
		f.ID = ids.New("fu_")
	}
	f.At = ts(orNow(f.At))
	err := s.writeTx(ctx, fmt.Sprintf("add follow-up to AE case %s", f.CaseID), func(ctx context.Context, tx *sql.Tx) error {
		if audit != nil {
			if err := lockAuditHead(ctx, tx); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ae_followups (id, case_id, from_user, to_user, text, at)
			VALUES ($1, $2, $3, $4, $5, $6)`, f.ID, f.CaseID, f.FromUser, f.ToUser, f.Text, f.At)
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if audit != nil {
			_, err = appendAudit(ctx, tx, normAudit(*audit))
		}
		return err
	})
	if err != nil {
		return store.AEFollowup{}, err
	}
	return f, nil
}

// Followups lists the follow-ups a user sent or received, oldest first.
func (s *Store) Followups(ctx context.Context, userID string, limit int) ([]store.AEFollowup, error) {
	return aeReadAll(s, ctx, "follow-ups of user "+userID, scanFollowup,
		`SELECT `+followupCols+` FROM ae_followups WHERE from_user = $1 OR to_user = $1 ORDER BY at, id LIMIT $2`,
		userID, max(limit, 0))
}

// RecordCrisisAlert stores a crisis finding.
func (s *Store) RecordCrisisAlert(ctx context.Context, a store.NewCrisisAlert) (string, error) {
	if a.ID == "" {
		a.ID = ids.New("ca_")
	}
	err := s.writeTx(ctx, fmt.Sprintf("record crisis alert room %s seq %d", a.RoomID, a.MessageSeq),
		func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO crisis_alerts (id, room_id, seq, held_id, author_id, text,
				method, terms, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				a.ID, a.RoomID, a.MessageSeq, a.HeldID, a.AuthorID, a.Text, a.Method, aeJSONList(a.Terms),
				ts(orNow(a.At)))
			return err
		})
	if err != nil {
		return "", err
	}
	return a.ID, nil
}

const crisisCols = `a.id, a.room_id, coalesce(r.slug, ''), a.seq, a.held_id, a.author_id, a.text, a.method, a.terms,
	a.at, a.acknowledged_by, a.acknowledged_at`

const crisisFrom = ` FROM crisis_alerts a LEFT JOIN rooms r ON r.id = a.room_id `

func scanCrisis(sc scanner) (store.CrisisAlert, error) {
	var (
		a     store.CrisisAlert
		terms string
		ackd  sql.NullTime
	)
	if err := sc.Scan(&a.ID, &a.RoomID, &a.RoomSlug, &a.MessageSeq, &a.HeldID, &a.AuthorID, &a.Text, &a.Method,
		&terms, &a.At, &a.AcknowledgedBy, &ackd); err != nil {
		return store.CrisisAlert{}, err
	}
	a.At, a.AcknowledgedAt = a.At.UTC(), fromNull(ackd)
	var err error
	a.Terms, err = aeParseList(terms)
	return a, err
}

// CrisisAlerts lists alerts matching f, newest first.
func (s *Store) CrisisAlerts(ctx context.Context, f store.CrisisAlertFilter, limit int) ([]store.CrisisAlert, error) {
	var (
		where []string
		a     aeArgs
	)
	if f.RoomID != "" {
		where = append(where, `a.room_id = `+a.add(f.RoomID))
	}
	if f.Unacknowledged {
		where = append(where, `a.acknowledged_at IS NULL`)
	}
	if f.Before != "" {
		where = append(where, `(a.at, a.id) < (SELECT at, id FROM crisis_alerts WHERE id = `+a.add(f.Before)+`)`)
	}
	q := `SELECT ` + crisisCols + crisisFrom
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY a.at DESC, a.id DESC LIMIT ` + a.add(max(limit, 0))
	return aeReadAll(s, ctx, fmt.Sprintf("crisis alerts %+v", f), scanCrisis, q, a.vals...)
}

// AcknowledgeCrisisAlert records the first acknowledgement of an alert with its audit entry.
func (s *Store) AcknowledgeCrisisAlert(ctx context.Context, id, by string, at time.Time, audit store.AuditEntry) (store.CrisisAlert, error) {
	what := "acknowledge crisis alert " + id
	err := s.writeTx(ctx, what, func(ctx context.Context, tx *sql.Tx) error {
		if err := lockAuditHead(ctx, tx); err != nil {
			return err
		}
		var ackd sql.NullTime
		if err := tx.QueryRowContext(ctx, `SELECT acknowledged_at FROM crisis_alerts WHERE id = $1 FOR UPDATE`, id).Scan(&ackd); err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if ackd.Valid {
			return fmt.Errorf("already acknowledged: %w", store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE crisis_alerts SET acknowledged_by = $1, acknowledged_at = $2 WHERE id = $3`,
			by, ts(orNow(at)), id); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		_, err := appendAudit(ctx, tx, normAudit(audit))
		return err
	})
	if err != nil {
		return store.CrisisAlert{}, err
	}
	return readOne(s, ctx, what, scanCrisis, `SELECT `+crisisCols+crisisFrom+` WHERE a.id = $1`, id)
}
