package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/havenhealth/haven/store"
)

const heldCols = `h.id, h.room_id, h.author_id, u.display_name, u.role, u.verified, u.affiliation, h.client_msg_id, h.text,
	h.reason, h.rule_id, h.created_at, h.status, h.decided_by, h.decided_at, h.seq`

const heldFrom = ` FROM held_messages h JOIN users u ON u.id = h.author_id `

// heldCTEFrom reads the row a data-modifying CTE named h returned: the statement's snapshot
// does not yet show it in the held_messages table.
const heldCTEFrom = ` FROM h JOIN users u ON u.id = h.author_id `

func scanHeld(sc scanner) (store.HeldMessage, error) {
	var (
		h       store.HeldMessage
		decided sql.NullTime
		seq     sql.NullInt64
	)
	if err := sc.Scan(&h.ID, &h.RoomID, &h.Author.ID, &h.Author.DisplayName, &h.Author.Role, &h.Author.Verified, &h.Author.Affiliation,
		&h.ClientMsgID, &h.Text, &h.Reason, &h.RuleID, &h.CreatedAt, &h.Status, &h.DecidedBy, &decided, &seq); err != nil {
		return store.HeldMessage{}, err
	}
	h.CreatedAt, h.DecidedAt, h.Seq = h.CreatedAt.UTC(), fromNull(decided), seq.Int64
	return h, nil
}

// HoldMessage stores h as pending. A repeated non-empty (room, author, client_msg_id)
// returns the first hold, whatever its status since, with duplicate=true.
func (s *Store) HoldMessage(ctx context.Context, h store.HeldMessage) (store.HeldMessage, bool, error) {
	var (
		got store.HeldMessage
		dup bool
	)
	// One transaction, so that a case commits with its hold.
	err := s.writeTx(ctx, fmt.Sprintf("hold message %s room %s", h.ID, h.RoomID), func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if got, dup, err = hold(ctx, tx, h); err != nil || dup || h.AECase == nil {
			return err
		}
		_, err = insertAECase(ctx, tx, h.HeldCase())
		return err
	})
	if err != nil {
		return store.HeldMessage{}, false, err
	}
	return got, dup, nil
}

// hold inserts h, or finds the hold of its first send (dup).
func hold(ctx context.Context, tx *sql.Tx, h store.HeldMessage) (store.HeldMessage, bool, error) {
	// DO NOTHING covers only the resend index: any other conflict (a reused ID) fails. A
	// concurrent insert of the same key makes this one wait for it, so when nothing was
	// inserted the first hold is committed and the next statement sees it.
	got, err := scanHeld(tx.QueryRowContext(ctx, `WITH h AS (
			INSERT INTO held_messages (id, room_id, author_id, client_msg_id, text, reason, rule_id, created_at, status)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (room_id, author_id, client_msg_id) WHERE client_msg_id <> '' DO NOTHING
			RETURNING *)
		SELECT `+heldCols+heldCTEFrom,
		h.ID, h.RoomID, h.Author.ID, h.ClientMsgID, h.Text, h.Reason, h.RuleID, ts(orNow(h.CreatedAt)), store.HeldPending))
	if err == nil {
		return got, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.HeldMessage{}, false, err
	}
	got, err = scanHeld(tx.QueryRowContext(ctx, `SELECT `+heldCols+heldFrom+
		`WHERE h.room_id = $1 AND h.author_id = $2 AND h.client_msg_id = $3`, h.RoomID, h.Author.ID, h.ClientMsgID))
	if err != nil {
		return store.HeldMessage{}, false, fmt.Errorf("find first hold: %w", err)
	}
	return got, true, nil
}

func (s *Store) HeldMessage(ctx context.Context, id string) (store.HeldMessage, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.HeldMessage{}, fmt.Errorf("held message %s: %w", id, err)
	}
	defer cancel()
	h, err := scanHeld(s.db.QueryRowContext(ctx, `SELECT `+heldCols+heldFrom+`WHERE h.id = $1`, id))
	if err != nil {
		return store.HeldMessage{}, mapErr(fmt.Errorf("held message %s: %w", id, err))
	}
	return h, nil
}

// HeldMessages lists a room's held messages with status ("" = any), oldest first.
func (s *Store) HeldMessages(ctx context.Context, roomID, status string, limit int) ([]store.HeldMessage, error) {
	what := fmt.Sprintf("held messages room %s status %q", roomID, status)
	if status == "" {
		return list(s, ctx, what, scanHeld, `SELECT `+heldCols+heldFrom+`WHERE h.room_id = $1
			ORDER BY h.created_at, h.id LIMIT $2`, roomID, max(limit, 0))
	}
	return list(s, ctx, what, scanHeld, `SELECT `+heldCols+heldFrom+`WHERE h.room_id = $1 AND h.status = $2
		ORDER BY h.created_at, h.id LIMIT $3`, roomID, status, max(limit, 0))
}

const ruleCols = `id, room_id, kind, pattern, action, reason, created_by, created_at`

func scanRule(sc scanner) (store.Rule, error) {
	var r store.Rule
	if err := sc.Scan(&r.ID, &r.RoomID, &r.Kind, &r.Pattern, &r.Action, &r.Reason, &r.CreatedBy, &r.CreatedAt); err != nil {
		return store.Rule{}, err
	}
	r.CreatedAt = r.CreatedAt.UTC()
	return r, nil
}

// Rules lists a room's keyword rules, oldest first.
func (s *Store) Rules(ctx context.Context, roomID string) ([]store.Rule, error) {
	return list(s, ctx, fmt.Sprintf("rules room %s", roomID), scanRule,
		`SELECT `+ruleCols+` FROM rules WHERE room_id = $1 ORDER BY created_at, id`, roomID)
}

const reportCols = `id, room_id, seq, reporter_id, category, reason, snapshot, author_id, created_at,
	status, resolved_by, resolved_at`

func scanReport(sc scanner) (store.Report, error) {
	var (
		r        store.Report
		resolved sql.NullTime
	)
	if err := sc.Scan(&r.ID, &r.RoomID, &r.Seq, &r.ReporterID, &r.Category, &r.Reason, &r.Snapshot, &r.AuthorID,
		&r.CreatedAt, &r.Status, &r.ResolvedBy, &resolved); err != nil {
		return store.Report{}, err
	}
	r.CreatedAt, r.ResolvedAt = r.CreatedAt.UTC(), fromNull(resolved)
	return r, nil
}

// Reports lists a room's reports with status ("" = any), oldest first.
func (s *Store) Reports(ctx context.Context, roomID, status string, limit int) ([]store.Report, error) {
	what := fmt.Sprintf("reports room %s status %q", roomID, status)
	if status == "" {
		return list(s, ctx, what, scanReport, `SELECT `+reportCols+` FROM reports WHERE room_id = $1
			ORDER BY created_at, id LIMIT $2`, roomID, max(limit, 0))
	}
	return list(s, ctx, what, scanReport, `SELECT `+reportCols+` FROM reports WHERE room_id = $1 AND status = $2
		ORDER BY created_at, id LIMIT $3`, roomID, status, max(limit, 0))
}

// list runs a read and scans every row.
func list[T any](s *Store, ctx context.Context, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
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
