package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/havenhealth/haven/store"
)

const heldCols = `h.id, h.room_id, h.author_id, u.display_name, u.role, u.verified, u.affiliation, h.client_msg_id, h.text,
	h.reason, h.rule_id, h.created_at, h.status, h.decided_by, h.decided_at, h.seq`

const heldFrom = ` FROM held_messages h JOIN users u ON u.id = h.author_id `

func scanHeld(sc scanner) (store.HeldMessage, error) {
	var (
		h                store.HeldMessage
		created, decided sql.NullString
		seq              sql.NullInt64
	)
	if err := sc.Scan(&h.ID, &h.RoomID, &h.Author.ID, &h.Author.DisplayName, &h.Author.Role, &h.Author.Verified, &h.Author.Affiliation,
		&h.ClientMsgID, &h.Text, &h.Reason, &h.RuleID, &created, &h.Status, &h.DecidedBy, &decided, &seq); err != nil {
		return store.HeldMessage{}, err
	}
	var err error
	if h.CreatedAt, err = parseTime(created); err != nil {
		return store.HeldMessage{}, err
	}
	if h.DecidedAt, err = parseTime(decided); err != nil {
		return store.HeldMessage{}, err
	}
	h.Seq = seq.Int64
	return h, nil
}

// HoldMessage stores h as pending. A repeated non-empty (room, author, client_msg_id)
// returns the first hold, whatever its status since, with duplicate=true.
func (s *Store) HoldMessage(ctx context.Context, h store.HeldMessage) (store.HeldMessage, bool, error) {
	what := fmt.Sprintf("hold message %s room %s", h.ID, h.RoomID)
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.HeldMessage{}, false, fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	got, dup, err := s.holdTx(ctx, h)
	if err != nil {
		return store.HeldMessage{}, false, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	return got, dup, nil
}

func (s *Store) holdTx(ctx context.Context, h store.HeldMessage) (store.HeldMessage, bool, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.HeldMessage{}, false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	// DO NOTHING covers only the resend index: any other conflict (a reused ID) fails.
	res, err := tx.ExecContext(ctx, `INSERT INTO held_messages
		(id, room_id, author_id, client_msg_id, text, reason, rule_id, created_at, status)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (room_id, author_id, client_msg_id) WHERE client_msg_id <> '' DO NOTHING`,
		h.ID, h.RoomID, h.Author.ID, h.ClientMsgID, h.Text, h.Reason, h.RuleID, fmtTime(orNow(h.CreatedAt)), store.HeldPending)
	if err != nil {
		return store.HeldMessage{}, false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return store.HeldMessage{}, false, err
	}
	row := tx.QueryRowContext(ctx, `SELECT `+heldCols+heldFrom+`WHERE h.id = ?`, h.ID)
	if n == 0 {
		row = tx.QueryRowContext(ctx, `SELECT `+heldCols+heldFrom+`WHERE h.room_id = ? AND h.author_id = ? AND h.client_msg_id = ?`,
			h.RoomID, h.Author.ID, h.ClientMsgID)
	}
	got, err := scanHeld(row)
	if err != nil {
		return store.HeldMessage{}, false, fmt.Errorf("read back: %w", err)
	}
	if n > 0 && h.AECase != nil {
		if _, err := insertAECase(ctx, tx, h.HeldCase()); err != nil {
			return store.HeldMessage{}, false, fmt.Errorf("AE case: %w", err)
		}
	}
	return got, n == 0, tx.Commit()
}

func (s *Store) HeldMessage(ctx context.Context, id string) (store.HeldMessage, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.HeldMessage{}, fmt.Errorf("held message %s: %w", id, err)
	}
	defer cancel()
	h, err := scanHeld(s.r.QueryRowContext(ctx, `SELECT `+heldCols+heldFrom+`WHERE h.id = ?`, id))
	if err != nil {
		return store.HeldMessage{}, mapErr(fmt.Errorf("held message %s: %w", id, err))
	}
	return h, nil
}

// HeldMessages lists a room's held messages with status ("" = any), oldest first.
func (s *Store) HeldMessages(ctx context.Context, roomID, status string, limit int) ([]store.HeldMessage, error) {
	what := fmt.Sprintf("held messages room %s status %q", roomID, status)
	if status == "" {
		return list(s, ctx, what, scanHeld, `SELECT `+heldCols+heldFrom+`WHERE h.room_id = ?
			ORDER BY h.created_at, h.id LIMIT ?`, roomID, max(limit, 0))
	}
	return list(s, ctx, what, scanHeld, `SELECT `+heldCols+heldFrom+`WHERE h.room_id = ? AND h.status = ?
		ORDER BY h.created_at, h.id LIMIT ?`, roomID, status, max(limit, 0))
}

const ruleCols = `id, room_id, kind, pattern, action, reason, created_by, created_at`

func scanRule(sc scanner) (store.Rule, error) {
	var (
		r       store.Rule
		created sql.NullString
	)
	if err := sc.Scan(&r.ID, &r.RoomID, &r.Kind, &r.Pattern, &r.Action, &r.Reason, &r.CreatedBy, &created); err != nil {
		return store.Rule{}, err
	}
	var err error
	r.CreatedAt, err = parseTime(created)
	return r, err
}

// Rules lists a room's keyword rules, oldest first.
func (s *Store) Rules(ctx context.Context, roomID string) ([]store.Rule, error) {
	return list(s, ctx, fmt.Sprintf("rules room %s", roomID), scanRule,
		`SELECT `+ruleCols+` FROM rules WHERE room_id = ? ORDER BY created_at, id`, roomID)
}

const reportCols = `id, room_id, seq, reporter_id, category, reason, snapshot, author_id, created_at,
	status, resolved_by, resolved_at`

func scanReport(sc scanner) (store.Report, error) {
	var (
		r                 store.Report
		created, resolved sql.NullString
	)
	if err := sc.Scan(&r.ID, &r.RoomID, &r.Seq, &r.ReporterID, &r.Category, &r.Reason, &r.Snapshot, &r.AuthorID,
		&created, &r.Status, &r.ResolvedBy, &resolved); err != nil {
		return store.Report{}, err
	}
	var err error
	if r.CreatedAt, err = parseTime(created); err != nil {
		return store.Report{}, err
	}
	r.ResolvedAt, err = parseTime(resolved)
	return r, err
}

// Reports lists a room's reports with status ("" = any), oldest first.
func (s *Store) Reports(ctx context.Context, roomID, status string, limit int) ([]store.Report, error) {
	what := fmt.Sprintf("reports room %s status %q", roomID, status)
	if status == "" {
		return list(s, ctx, what, scanReport, `SELECT `+reportCols+` FROM reports WHERE room_id = ?
			ORDER BY created_at, id LIMIT ?`, roomID, max(limit, 0))
	}
	return list(s, ctx, what, scanReport, `SELECT `+reportCols+` FROM reports WHERE room_id = ? AND status = ?
		ORDER BY created_at, id LIMIT ?`, roomID, status, max(limit, 0))
}

// list runs a read on the reader pool and scans every row.
func list[T any](s *Store, ctx context.Context, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
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
