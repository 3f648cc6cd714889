package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/store"
)

// applyReview applies the global-role, keyword-rule and review-decision parts of ch inside
// applyModerationTx's transaction; e is the audit entry as it will be stored. Any error
// rolls the whole change back, audit entry included.
func applyReview(ctx context.Context, tx *sql.Tx, ch store.ModerationChange, e store.AuditEntry) error {
	at := fmtTime(e.At)

	if ch.UserRole != nil || ch.Verified != nil {
		res, err := tx.ExecContext(ctx, `UPDATE users SET role = coalesce(?1, role), verified = coalesce(?2, verified)
			WHERE id = ?3`, nullable(ch.UserRole), nullable(ch.Verified), e.TargetID)
		if err := oneRow(res, err); err != nil {
			return fmt.Errorf("role of user %s: %w", e.TargetID, err)
		}
	}

	if r := ch.AddRule; r != nil {
		if r.RoomID != "" && r.RoomID != e.RoomID {
			return fmt.Errorf("add rule %s: rule is of room %s, the entry of room %s", r.ID, r.RoomID, e.RoomID)
		}
		by, created := r.CreatedBy, e.At
		if by == "" {
			by = e.ActorID
		}
		if !r.CreatedAt.IsZero() {
			created = r.CreatedAt
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO rules (id, room_id, kind, pattern, action, reason, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, e.RoomID, r.Kind, r.Pattern, r.Action, r.Reason, by, fmtTime(created))
		if err != nil {
			return fmt.Errorf("add rule %s: %w", r.ID, err)
		}
	}

	if id := ch.RemoveRuleID; id != "" {
		res, err := tx.ExecContext(ctx, `DELETE FROM rules WHERE id = ? AND room_id = ?`, id, e.RoomID)
		if err := oneRow(res, err); err != nil {
			return fmt.Errorf("remove rule %s: %w", id, err)
		}
	}

	if id := ch.RejectHeldID; id != "" {
		res, err := tx.ExecContext(ctx, `UPDATE held_messages SET status = ?, decided_by = ?, decided_at = ?
			WHERE id = ? AND room_id = ? AND status = ?`, store.HeldRejected, e.ActorID, at, id, e.RoomID, store.HeldPending)
		if err := oneRow(res, err); err != nil {
			return fmt.Errorf("reject held %s: %w", id, decided(ctx, tx, err, `held_messages`, id, e.RoomID))
		}
	}

	if ch.ReportID != "" || ch.ReportStatus != "" {
		if ch.ReportStatus != store.ReportDismissed && ch.ReportStatus != store.ReportActioned {
			return fmt.Errorf("resolve report %s: status %q is neither %s nor %s",
				ch.ReportID, ch.ReportStatus, store.ReportDismissed, store.ReportActioned)
		}
		res, err := tx.ExecContext(ctx, `UPDATE reports SET status = ?, resolved_by = ?, resolved_at = ?
			WHERE id = ? AND room_id = ? AND status = ?`, ch.ReportStatus, e.ActorID, at, ch.ReportID, e.RoomID, store.ReportOpen)
		if err := oneRow(res, err); err != nil {
			return fmt.Errorf("resolve report %s: %w", ch.ReportID, decided(ctx, tx, err, `reports`, ch.ReportID, e.RoomID))
		}
	}
	return nil
}

// oneRow turns an Exec that touched no row into ErrNotFound.
func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// decided explains why a decision on the review item id of table (held_messages or reports)
// touched no row: ErrNotFound when the room has no such item, ErrConflict when it was
// already decided. Other errors pass through.
func decided(ctx context.Context, tx *sql.Tx, err error, table, id, roomID string) error {
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var status string
	err = tx.QueryRowContext(ctx, `SELECT status FROM `+table+` WHERE id = ? AND room_id = ?`, id, roomID).Scan(&status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("not in room %s: %w", roomID, store.ErrNotFound)
	case err != nil:
		return err
	}
	return fmt.Errorf("already %s: %w", status, store.ErrConflict)
}

// ApproveHeld publishes a pending held message as its room's next message, marks it
// approved with that seq and appends audit, in one write transaction. The single writer
// connection serialises it with the group-commit appender's batches, so the seq it reads
// from rooms.last_seq is the latest and no append can take it.
func (s *Store) ApproveHeld(ctx context.Context, heldID string, audit store.AuditEntry) (store.Message, store.AuditEntry, error) {
	what := fmt.Sprintf("approve held %s room %s", heldID, audit.RoomID)
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.Message{}, store.AuditEntry{}, fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	m, e, err := s.approveHeldTx(ctx, heldID, normAudit(audit))
	if err != nil {
		return store.Message{}, store.AuditEntry{}, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	return m, e, nil
}

func (s *Store) approveHeldTx(ctx context.Context, heldID string, e store.AuditEntry) (store.Message, store.AuditEntry, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.Message{}, store.AuditEntry{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	h, err := scanHeld(tx.QueryRowContext(ctx, `SELECT `+heldCols+heldFrom+`WHERE h.id = ? AND h.room_id = ?`, heldID, e.RoomID))
	if err != nil {
		return store.Message{}, store.AuditEntry{}, fmt.Errorf("read: %w", err)
	}
	if h.Status != store.HeldPending {
		return store.Message{}, store.AuditEntry{}, fmt.Errorf("already %s: %w", h.Status, store.ErrConflict)
	}
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT last_seq FROM rooms WHERE id = ?`, e.RoomID).Scan(&last); err != nil {
		return store.Message{}, store.AuditEntry{}, fmt.Errorf("room seq: %w", err)
	}
	m := store.Message{ID: ids.New("m_"), RoomID: e.RoomID, Seq: last + 1, Author: h.Author,
		ClientMsgID: h.ClientMsgID, Text: h.Text, CreatedAt: e.At}
	// No ON CONFLICT: a message already stored under the held post's client_msg_id fails
	// the unique index, and so the approval, with ErrConflict.
	_, err = tx.ExecContext(ctx, `INSERT INTO messages (room_id, seq, id, author_id, client_msg_id, text, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, m.RoomID, m.Seq, m.ID, m.Author.ID, m.ClientMsgID, m.Text, fmtTime(m.CreatedAt))
	if err != nil {
		return store.Message{}, store.AuditEntry{}, fmt.Errorf("publish as seq %d: %w", m.Seq, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE rooms SET last_seq = ? WHERE id = ?`, m.Seq, m.RoomID); err != nil {
		return store.Message{}, store.AuditEntry{}, fmt.Errorf("advance last_seq: %w", err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE held_messages SET status = ?, decided_by = ?, decided_at = ?, seq = ?
		WHERE id = ?`, store.HeldApproved, e.ActorID, fmtTime(e.At), m.Seq, h.ID)
	if err != nil {
		return store.Message{}, store.AuditEntry{}, fmt.Errorf("mark approved: %w", err)
	}
	if e, err = appendAudit(ctx, tx, e); err != nil {
		return store.Message{}, store.AuditEntry{}, err
	}
	if err := tx.Commit(); err != nil {
		return store.Message{}, store.AuditEntry{}, fmt.Errorf("commit: %w", err)
	}
	return m, e, nil
}
