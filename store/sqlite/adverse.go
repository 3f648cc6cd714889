package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/store"
)

// Adverse-event cases and crisis alerts. The schema (00008_ae_cases.sql) refuses DELETE on
// ae_cases and any UPDATE of a case's snapshot, so what is written here is what the safety
// team reads, whatever happens to the message or the author later.

const aeCols = `c.id, c.room_id, coalesce(r.slug, ''), c.message_id, c.message_seq, c.held_id, c.author_id,
	c.text, c.products, c.reactions, c.terms, c.aware_at, c.forward_due_at, c.regulatory_due_at, c.status,
	c.closed_reason, c.closed_by, c.closed_at, c.forwarded_by, c.forwarded_at, c.forward_alerted_at,
	c.regulatory_alerted_at, c.created_at`

const aeFrom = ` FROM ae_cases c LEFT JOIN rooms r ON r.id = c.room_id `

func aeJSONList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v) // a []string always encodes
	return string(b)
}

func aeParseList(s string) ([]string, error) {
	out := []string{}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("parse stored list %q: %w", s, err)
	}
	return out, nil
}

func scanAECase(sc scanner) (store.AECase, error) {
	var (
		c                                                            store.AECase
		products, reactions, terms                                   string
		aware, fwd, reg, closed, forwarded, fwdAlert, regAlert, made sql.NullString
	)
	if err := sc.Scan(&c.ID, &c.RoomID, &c.RoomSlug, &c.MessageID, &c.MessageSeq, &c.HeldID, &c.AuthorID,
		&c.Text, &products, &reactions, &terms, &aware, &fwd, &reg, &c.Status, &c.ClosedReason, &c.ClosedBy,
		&closed, &c.ForwardedBy, &forwarded, &fwdAlert, &regAlert, &made); err != nil {
		return store.AECase{}, err
	}
	var err error
	for _, f := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&c.AwareAt, aware}, {&c.ForwardDueAt, fwd}, {&c.RegulatoryDueAt, reg}, {&c.ClosedAt, closed},
		{&c.ForwardedAt, forwarded}, {&c.ForwardAlertedAt, fwdAlert}, {&c.RegulatoryAlertedAt, regAlert},
		{&c.CreatedAt, made}} {
		if *f.dst, err = parseTime(f.src); err != nil {
			return store.AECase{}, err
		}
	}
	for _, f := range []struct {
		dst *[]string
		src string
	}{{&c.Products, products}, {&c.Reactions, reactions}, {&c.Terms, terms}} {
		if *f.dst, err = aeParseList(f.src); err != nil {
			return store.AECase{}, err
		}
	}
	return c, nil
}

// OpenAECase stores the case and puts its message under legal hold in one transaction.
func (s *Store) OpenAECase(ctx context.Context, c store.NewAECase) (string, error) {
	var id string
	err := s.writeTx(ctx, fmt.Sprintf("open AE case room %s seq %d", c.RoomID, c.MessageSeq),
		func(ctx context.Context, tx *sql.Tx) (err error) {
			id, err = insertAECase(ctx, tx, c)
			return err
		})
	if err != nil {
		return "", err
	}
	return id, nil
}

// insertAECase stores c (with an ID of its own when c has none) and puts its message under
// legal hold, in tx.
func insertAECase(ctx context.Context, tx *sql.Tx, c store.NewAECase) (string, error) {
	if c.ID == "" {
		c.ID = ids.New("ae_")
	}
	aware, fwd, reg := c.Times()
	_, err := tx.ExecContext(ctx, `INSERT INTO ae_cases (id, room_id, message_id, message_seq, held_id,
		author_id, text, products, reactions, terms, aware_at, forward_due_at, regulatory_due_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.RoomID, c.MessageID, c.MessageSeq, c.HeldID, c.AuthorID, c.Text, aeJSONList(c.Products),
		aeJSONList(c.Reactions), aeJSONList(c.Terms), fmtTime(aware), fmtTime(fwd), fmtTime(reg), fmtTime(time.Now()))
	if err != nil {
		return "", fmt.Errorf("insert: %w", err)
	}
	// A message that is not (yet) stored is no reason to lose the case: the snapshot
	// is the record; the hold only stops retention and erasure removing the original.
	if c.MessageSeq > 0 {
		_, err = tx.ExecContext(ctx, `UPDATE messages SET legal_hold = 1 WHERE room_id = ? AND seq = ?`,
			c.RoomID, c.MessageSeq)
	} else if c.MessageID != "" {
		_, err = tx.ExecContext(ctx, `UPDATE messages SET legal_hold = 1 WHERE id = ?`, c.MessageID)
	}
	if err != nil {
		return "", fmt.Errorf("legal hold: %w", err)
	}
	return c.ID, nil
}

// AECases lists cases matching f, oldest awareness first.
func (s *Store) AECases(ctx context.Context, f store.AECaseFilter, limit int) ([]store.AECase, error) {
	var (
		where []string
		args  []any
	)
	switch f.Status {
	case "":
	case "active":
		where = append(where, `c.status IN ('open', 'forwarded')`)
	default:
		where, args = append(where, `c.status = ?`), append(args, f.Status)
	}
	if f.RoomID != "" {
		where, args = append(where, `c.room_id = ?`), append(args, f.RoomID)
	}
	if f.AuthorID != "" {
		where, args = append(where, `c.author_id = ?`), append(args, f.AuthorID)
	}
	if f.Overdue {
		now := fmtTime(orNow(f.Now))
		where = append(where, `((c.status = 'open' AND c.forward_due_at <= ?) OR
			(c.status <> 'closed' AND c.regulatory_due_at <= ?))`)
		args = append(args, now, now)
	}
	if f.After != "" {
		where = append(where, `(c.aware_at, c.id) > (SELECT aware_at, id FROM ae_cases WHERE id = ?)`)
		args = append(args, f.After)
	}
	q := `SELECT ` + aeCols + aeFrom
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY c.aware_at, c.id LIMIT ?`
	return aeReadAll(s, ctx, fmt.Sprintf("AE cases %+v", f), scanAECase, q, append(args, max(limit, 0))...)
}

// AECase returns one case with its follow-up thread.
func (s *Store) AECase(ctx context.Context, id string) (store.AECase, error) {
	what := "AE case " + id
	c, err := readOne(s, ctx, what, scanAECase, `SELECT `+aeCols+aeFrom+` WHERE c.id = ?`, id)
	if err != nil {
		return store.AECase{}, err
	}
	c.Followups, err = aeReadAll(s, ctx, what+" follow-ups", scanFollowup,
		`SELECT `+followupCols+` FROM ae_followups WHERE case_id = ? ORDER BY at, id`, id)
	if err != nil {
		return store.AECase{}, err
	}
	return c, nil
}

// CloseAECase closes an open or forwarded case and appends audit in one transaction.
func (s *Store) CloseAECase(ctx context.Context, id, reason, by string, at time.Time, audit store.AuditEntry) (store.AECase, error) {
	what := fmt.Sprintf("close AE case %s (%s)", id, reason)
	if !store.ValidAECloseReason(reason) {
		return store.AECase{}, fmt.Errorf("%s: unknown reason code", what)
	}
	at = orNow(at)
	err := s.moveAECase(ctx, what, id, audit, func(status string) bool { return status != store.AEClosed },
		`UPDATE ae_cases SET status = 'closed', closed_reason = ?, closed_by = ?, closed_at = ? WHERE id = ?`,
		reason, by, fmtTime(at), id)
	if err != nil {
		return store.AECase{}, err
	}
	return s.AECase(ctx, id)
}

// ForwardAECase marks an open case forwarded and appends audit in one transaction.
func (s *Store) ForwardAECase(ctx context.Context, id, by string, at time.Time, audit store.AuditEntry) (store.AECase, error) {
	at = orNow(at)
	err := s.moveAECase(ctx, "forward AE case "+id, id, audit, func(status string) bool { return status == store.AEOpen },
		`UPDATE ae_cases SET status = 'forwarded', forwarded_by = ?, forwarded_at = ? WHERE id = ?`,
		by, fmtTime(at), id)
	if err != nil {
		return store.AECase{}, err
	}
	return s.AECase(ctx, id)
}

// moveAECase changes a case's status when allowed(current status), with its audit entry;
// the single writer connection keeps the check and the update together.
func (s *Store) moveAECase(ctx context.Context, what, id string, audit store.AuditEntry, allowed func(string) bool,
	update string, args ...any) error {
	return s.writeTx(ctx, what, func(ctx context.Context, tx *sql.Tx) error {
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM ae_cases WHERE id = ?`, id).Scan(&status); err != nil {
			return fmt.Errorf("read status: %w", err)
		}
		if !allowed(status) {
			return fmt.Errorf("case is %s: %w", status, store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, update, args...); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		_, err := appendAudit(ctx, tx, normAudit(audit))
		return err
	})
}

// MarkAEAlerted records the first overdue alert of a case's clock.
func (s *Store) MarkAEAlerted(ctx context.Context, id, clock string, at time.Time) (bool, error) {
	col, err := alertColumn(clock)
	if err != nil {
		return false, err
	}
	var first bool
	err = s.writeTx(ctx, fmt.Sprintf("mark AE case %s %s alerted", id, clock), func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE ae_cases SET `+col+` = ? WHERE id = ? AND `+col+` IS NULL`,
			fmtTime(orNow(at)), id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		first = n == 1
		return err
	})
	return first, err
}

func alertColumn(clock string) (string, error) {
	switch clock {
	case store.ClockForward:
		return "forward_alerted_at", nil
	case store.ClockRegulatory:
		return "regulatory_alerted_at", nil
	}
	return "", fmt.Errorf("mark AE case alerted: unknown clock %q", clock)
}

// CountAECases counts active and overdue cases at now.
func (s *Store) CountAECases(ctx context.Context, now time.Time) (store.AECounts, error) {
	at := fmtTime(orNow(now))
	return readOne(s, ctx, "count AE cases", func(sc scanner) (store.AECounts, error) {
		var n store.AECounts
		err := sc.Scan(&n.Active, &n.OverdueForward, &n.OverdueRegulatory)
		return n, err
	}, `SELECT count(*),
		coalesce(sum(CASE WHEN status = 'open' AND forward_due_at <= ? THEN 1 ELSE 0 END), 0),
		coalesce(sum(CASE WHEN regulatory_due_at <= ? THEN 1 ELSE 0 END), 0)
		FROM ae_cases WHERE status <> 'closed'`, at, at)
}

// AppendAudit appends one entry on its own; the single writer connection serialises it
// with every other append.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error) {
	var out store.AuditEntry
	err := s.writeTx(ctx, "append audit "+e.Action, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		out, err = appendAudit(ctx, tx, normAudit(e))
		return err
	})
	return out, err
}

// aeReadAll runs a multi-row read on the reader pool.
func aeReadAll[T any](s *Store, ctx context.Context, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, mapErr(fmt.Errorf("%s: %w", what, err))
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	return out, nil
}
