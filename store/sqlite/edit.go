package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/havenhealth/haven/store"
)

// EditMessage keeps the previous text in message_edits and replaces it, in one transaction
// on the writer, so two edits cannot both read the same previous text.
func (s *Store) EditMessage(ctx context.Context, roomID string, seq int64, authorID, text string, at time.Time,
	ae *store.NewAECase) (store.Message, error) {
	what := fmt.Sprintf("edit message %s/%d", roomID, seq)
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.Message{}, fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	at = orNow(at).UTC().Truncate(time.Microsecond)
	m, err := s.editTx(ctx, roomID, seq, authorID, text, at, ae)
	if err != nil {
		return store.Message{}, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	return m, nil
}

func (s *Store) editTx(ctx context.Context, roomID string, seq int64, authorID, text string, at time.Time,
	ae *store.NewAECase) (store.Message, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.Message{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	var (
		author, prev string
		deleted      sql.NullString
	)
	err = tx.QueryRowContext(ctx, `SELECT author_id, text, deleted_at FROM messages WHERE room_id = ? AND seq = ?`,
		roomID, seq).Scan(&author, &prev, &deleted)
	if err != nil {
		return store.Message{}, err
	}
	if author != authorID {
		return store.Message{}, fmt.Errorf("not the author's message: %w", store.ErrNotFound)
	}
	if deleted.Valid {
		return store.Message{}, fmt.Errorf("message is deleted: %w", store.ErrConflict)
	}
	// Two edits in one microsecond keep the older text: the history stays a record of what
	// members could have seen.
	if _, err := tx.ExecContext(ctx, `INSERT INTO message_edits (room_id, seq, prev_text, edited_at)
		VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, roomID, seq, prev, fmtTime(at)); err != nil {
		return store.Message{}, fmt.Errorf("keep previous text: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET text = ? WHERE room_id = ? AND seq = ?`, text, roomID, seq); err != nil {
		return store.Message{}, fmt.Errorf("update text: %w", err)
	}
	m, err := scanMessage(tx.QueryRowContext(ctx, `SELECT `+msgCols+msgFrom+`WHERE m.room_id = ? AND m.seq = ?`, roomID, seq))
	if err != nil {
		return store.Message{}, err
	}
	m.EditedAt = at
	if ae != nil {
		c := *ae
		c.MessageID, c.MessageSeq = m.ID, m.Seq
		if _, err := insertAECase(ctx, tx, c); err != nil {
			return store.Message{}, fmt.Errorf("adverse-event case: %w", err)
		}
	}
	return m, tx.Commit()
}

// MessageEditHistory returns the earlier texts, oldest first.
func (s *Store) MessageEditHistory(ctx context.Context, roomID string, seq int64) ([]store.MessageEdit, error) {
	what := fmt.Sprintf("edit history %s/%d", roomID, seq)
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	rows, err := s.r.QueryContext(ctx, `SELECT prev_text, edited_at FROM message_edits
		WHERE room_id = ? AND seq = ? ORDER BY edited_at`, roomID, seq)
	if err != nil {
		return nil, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	defer rows.Close()
	var out []store.MessageEdit
	for rows.Next() {
		e := store.MessageEdit{RoomID: roomID, Seq: seq}
		var at string
		if err := rows.Scan(&e.Text, &at); err != nil {
			return nil, mapErr(fmt.Errorf("%s: %w", what, err))
		}
		if e.EditedAt, err = time.Parse(timeLayout, at); err != nil {
			return nil, fmt.Errorf("%s: parse edited_at: %w", what, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	return out, nil
}

// EditTimes reads the index range of message_edits' primary key.
func (s *Store) EditTimes(ctx context.Context, roomID string, from, to int64) (map[int64]time.Time, error) {
	what := fmt.Sprintf("edit times %s/%d-%d", roomID, from, to)
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	rows, err := s.r.QueryContext(ctx, `SELECT seq, max(edited_at) FROM message_edits
		WHERE room_id = ? AND seq BETWEEN ? AND ? GROUP BY seq`, roomID, from, to)
	if err != nil {
		return nil, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	defer rows.Close()
	out := make(map[int64]time.Time)
	for rows.Next() {
		var (
			seq int64
			at  string
		)
		if err := rows.Scan(&seq, &at); err != nil {
			return nil, mapErr(fmt.Errorf("%s: %w", what, err))
		}
		t, err := time.Parse(timeLayout, at)
		if err != nil {
			return nil, fmt.Errorf("%s: parse edited_at: %w", what, err)
		}
		out[seq] = t
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	return out, nil
}

// RoomPIIPolicy reads the rooms column the screening migration added.
func (s *Store) RoomPIIPolicy(ctx context.Context, roomID string) (string, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return "", fmt.Errorf("pii policy of room %s: %w", roomID, err)
	}
	defer cancel()
	var p string
	if err := s.r.QueryRowContext(ctx, `SELECT pii_policy FROM rooms WHERE id = ?`, roomID).Scan(&p); err != nil {
		return "", mapErr(fmt.Errorf("pii policy of room %s: %w", roomID, err))
	}
	return p, nil
}

// SetRoomPIIPolicy updates the room and appends the audit entry in one transaction.
func (s *Store) SetRoomPIIPolicy(ctx context.Context, roomID, policy string, audit store.AuditEntry) (store.AuditEntry, error) {
	what := fmt.Sprintf("set pii policy of room %s", roomID)
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.AuditEntry{}, fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	e, err := func() (store.AuditEntry, error) {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return store.AuditEntry{}, fmt.Errorf("begin: %w", err)
		}
		defer tx.Rollback()
		res, err := tx.ExecContext(ctx, `UPDATE rooms SET pii_policy = ? WHERE id = ?`, policy, roomID)
		if err != nil {
			return store.AuditEntry{}, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return store.AuditEntry{}, err
		} else if n == 0 {
			return store.AuditEntry{}, fmt.Errorf("no such room: %w", store.ErrNotFound)
		}
		e, err := appendAudit(ctx, tx, normAudit(audit))
		if err != nil {
			return store.AuditEntry{}, err
		}
		return e, tx.Commit()
	}()
	if err != nil {
		return store.AuditEntry{}, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	return e, nil
}
