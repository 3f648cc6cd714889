package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/store"
)

// Adverse-event cases and crisis alerts. The schema (00008_ae_cases.sql) refuses DELETE
// and TRUNCATE on ae_cases and any UPDATE of a case's snapshot, so what is written here is
// what the safety team reads, whatever happens to the message or the author later.

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

// aeArgs numbers placeholders for queries built from optional filters.
type aeArgs struct{ vals []any }

func (a *aeArgs) add(v any) string {
	a.vals = append(a.vals, v)
	return "$" + strconv.Itoa(len(a.vals))
}

func scanAECase(sc scanner) (store.AECase, error) {
	var (
		c                                     store.AECase
		products, reactions, terms            string
		closed, forwarded, fwdAlert, regAlert sql.NullTime
	)
	if err := sc.Scan(&c.ID, &c.RoomID, &c.RoomSlug, &c.MessageID, &c.MessageSeq, &c.HeldID, &c.AuthorID,
		&c.Text, &products, &reactions, &terms, &c.AwareAt, &c.ForwardDueAt, &c.RegulatoryDueAt, &c.Status,
		&c.ClosedReason, &c.ClosedBy, &closed, &c.ForwardedBy, &forwarded, &fwdAlert, &regAlert, &c.CreatedAt); err != nil {
		return store.AECase{}, err
	}
	c.AwareAt, c.ForwardDueAt, c.RegulatoryDueAt, c.CreatedAt = c.AwareAt.UTC(), c.ForwardDueAt.UTC(),
		c.RegulatoryDueAt.UTC(), c.CreatedAt.UTC()
	c.ClosedAt, c.ForwardedAt = fromNull(closed), fromNull(forwarded)
	c.ForwardAlertedAt, c.RegulatoryAlertedAt = fromNull(fwdAlert), fromNull(regAlert)
	var err error
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
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		c.ID, c.RoomID, c.MessageID, c.MessageSeq, c.HeldID, c.AuthorID, c.Text, aeJSONList(c.Products),
		aeJSONList(c.Reactions), aeJSONList(c.Terms), ts(aware), ts(fwd), ts(reg), ts(time.Now()))
	if err != nil {
		return "", fmt.Errorf("insert: %w", err)
	}
	// A message that is not (yet) stored is no reason to lose the case: the snapshot
	// is the record; the hold only stops retention and erasure removing the original.
	if c.MessageSeq > 0 {
		_, err = tx.ExecContext(ctx, `UPDATE messages SET legal_hold = true WHERE room_id = $1 AND seq = $2`,
			c.RoomID, c.MessageSeq)
	} else if c.MessageID != "" {
		_, err = tx.ExecContext(ctx, `UPDATE messages SET legal_hold = true WHERE id = $1`, c.MessageID)
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
		a     aeArgs
	)
	switch f.Status {
	case "":
	case "active":
		where = append(where, `c.status IN ('open', 'forwarded')`)
	default:
		where = append(where, `c.status = `+a.add(f.Status))
	}
	if f.RoomID != "" {
		where = append(where, `c.room_id = `+a.add(f.RoomID))
	}
	if f.AuthorID != "" {
		where = append(where, `c.author_id = `+a.add(f.AuthorID))
	}
	if f.Overdue {
		now := a.add(ts(orNow(f.Now)))
		where = append(where, `((c.status = 'open' AND c.forward_due_at <= `+now+`) OR
			(c.status <> 'closed' AND c.regulatory_due_at <= `+now+`))`)
	}
	if f.After != "" {
		where = append(where, `(c.aware_at, c.id) > (SELECT aware_at, id FROM ae_cases WHERE id = `+a.add(f.After)+`)`)
	}
	q := `SELECT ` + aeCols + aeFrom
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY c.aware_at, c.id LIMIT ` + a.add(max(limit, 0))
	return aeReadAll(s, ctx, fmt.Sprintf("AE cases %+v", f), scanAECase, q, a.vals...)
}

// AECase returns one case with its follow-up thread.
func (s *Store) AECase(ctx context.Context, id string) (store.AECase, error) {
	what := "AE case " + id
	c, err := readOne(s, ctx, what, scanAECase, `SELECT `+aeCols+aeFrom+` WHERE c.id = $1`, id)
	if err != nil {
		return store.AECase{}, err
	}
	c.Followups, err = aeReadAll(s, ctx, what+" follow-ups", scanFollowup,
		`SELECT `+followupCols+` FROM ae_followups WHERE case_id = $1 ORDER BY at, id`, id)
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
	err := s.moveAECase(ctx, what, id, audit, func(status string) bool { return status != store.AEClosed },
		`UPDATE ae_cases SET status = 'closed', closed_reason = $1, closed_by = $2, closed_at = $3 WHERE id = $4`,
		reason, by, ts(orNow(at)), id)
	if err != nil {
		return store.AECase{}, err
	}
	return s.AECase(ctx, id)
}

// ForwardAECase marks an open case forwarded and appends audit in one transaction.
func (s *Store) ForwardAECase(ctx context.Context, id, by string, at time.Time, audit store.AuditEntry) (store.AECase, error) {
	err := s.moveAECase(ctx, "forward AE case "+id, id, audit, func(status string) bool { return status == store.AEOpen },
		`UPDATE ae_cases SET status = 'forwarded', forwarded_by = $1, forwarded_at = $2 WHERE id = $3`,
		by, ts(orNow(at)), id)
	if err != nil {
		return store.AECase{}, err
	}
	return s.AECase(ctx, id)
}

// moveAECase changes a case's status when allowed(current status), with its audit entry.
// The audit head is taken first, as every audited write does; the case row is then locked
// so that two reviewers closing at once cannot both pass the check.
func (s *Store) moveAECase(ctx context.Context, what, id string, audit store.AuditEntry, allowed func(string) bool,
	update string, args ...any) error {
	return s.writeTx(ctx, what, func(ctx context.Context, tx *sql.Tx) error {
		if err := lockAuditHead(ctx, tx); err != nil {
			return err
		}
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM ae_cases WHERE id = $1 FOR UPDATE`, id).Scan(&status); err != nil {
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

// MarkAEAlerted records the first overdue alert of a case's clock; the row lock taken by
// the UPDATE makes exactly one node's call see the column still NULL.
func (s *Store) MarkAEAlerted(ctx context.Context, id, clock string, at time.Time) (bool, error) {
	col, err := alertColumn(clock)
	if err != nil {
		return false, err
	}
	var first bool
	err = s.writeTx(ctx, fmt.Sprintf("mark AE case %s %s alerted", id, clock), func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE ae_cases SET `+col+` = $1 WHERE id = $2 AND `+col+` IS NULL`,
			ts(orNow(at)), id)
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
	return readOne(s, ctx, "count AE cases", func(sc scanner) (store.AECounts, error) {
		var n store.AECounts
		err := sc.Scan(&n.Active, &n.OverdueForward, &n.OverdueRegulatory)
		return n, err
	}, `SELECT count(*),
		count(*) FILTER (WHERE status = 'open' AND forward_due_at <= $1),
		count(*) FILTER (WHERE regulatory_due_at <= $1)
		FROM ae_cases WHERE status <> 'closed'`, ts(orNow(now)))
}

// AppendAudit appends one entry on its own, taking the audit head like every append.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error) {
	var out store.AuditEntry
	err := s.writeTx(ctx, "append audit "+e.Action, func(ctx context.Context, tx *sql.Tx) error {
		if err := lockAuditHead(ctx, tx); err != nil {
			return err
		}
		var err error
		out, err = appendAudit(ctx, tx, normAudit(e))
		return err
	})
	return out, err
}

// aeReadAll runs a multi-row read.
func aeReadAll[T any](s *Store, ctx context.Context, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
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
