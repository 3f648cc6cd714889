package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/havenhealth/haven/store"
)

// EditMessage keeps the previous text in message_edits and replaces it, in one transaction
// that locks the message row, so two edits cannot both read the same previous text.
func (s *Store) EditMessage(ctx context.Context, roomID string, seq int64, authorID, text string, at time.Time,
	ae *store.NewAECase) (store.Message, error) {
	what := fmt.Sprintf("edit message %s/%d", roomID, seq)
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.Message{}, fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	at = ts(orNow(at))
	m, err := s.editTx(ctx, roomID, seq, authorID, text, at, ae)
	if err != nil {
		return store.Message{}, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	return m, nil
}

func (s *Store) editTx(ctx context.Context, roomID string, seq int64, authorID, text string, at time.Time,
	ae *store.NewAECase) (store.Message, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return store.Message{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	var (
		author, prev string
		deleted      sql.NullTime
	)
	err = tx.QueryRowContext(ctx, `SELECT author_id, text, deleted_at FROM messages
		WHERE room_id = $1 AND seq = $2 FOR UPDATE`, roomID, seq).Scan(&author, &prev, &deleted)
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
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, roomID, seq, prev, at); err != nil {
		return store.Message{}, fmt.Errorf("keep previous text: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET text = $1 WHERE room_id = $2 AND seq = $3`, text, roomID, seq); err != nil {
		return store.Message{}, fmt.Errorf("update text: %w", err)
	}
	m, err := scanMessage(tx.QueryRowContext(ctx, `SELECT `+msgCols+msgFrom+`WHERE m.room_id = $1 AND m.seq = $2`, roomID, seq))
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
	rows, err := s.db.QueryContext(ctx, `SELECT prev_text, edited_at FROM message_edits
		WHERE room_id = $1 AND seq = $2 ORDER BY edited_at`, roomID, seq)
	if err != nil {
		return nil, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	defer rows.Close()
	var out []store.MessageEdit
	for rows.Next() {
		e := store.MessageEdit{RoomID: roomID, Seq: seq}
		if err := rows.Scan(&e.Text, &e.EditedAt); err != nil {
			return nil, mapErr(fmt.Errorf("%s: %w", what, err))
		}
		e.EditedAt = e.EditedAt.UTC()
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
	rows, err := s.db.QueryContext(ctx, `SELECT seq, max(edited_at) FROM message_edits
		WHERE room_id = $1 AND seq BETWEEN $2 AND $3 GROUP BY seq`, roomID, from, to)
	if err != nil {
		return nil, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	defer rows.Close()
	out := make(map[int64]time.Time)
	for rows.Next() {
		var (
			seq int64
			at  time.Time
		)
		if err := rows.Scan(&seq, &at); err != nil {
			return nil, mapErr(fmt.Errorf("%s: %w", what, err))
		}
		out[seq] = at.UTC()
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
	if err := s.db.QueryRowContext(ctx, `SELECT pii_policy FROM rooms WHERE id = $1`, roomID).Scan(&p); err != nil {
		return "", mapErr(fmt.Errorf("pii policy of room %s: %w", roomID, err))
	}
	return p, nil
}

// SetRoomPIIPolicy updates the room and appends the audit entry in one transaction, which
// takes the audit head first like every other audited change.
func (s *Store) SetRoomPIIPolicy(ctx context.Context, roomID, policy string, audit store.AuditEntry) (store.AuditEntry, error) {
	what := fmt.Sprintf("set pii policy of room %s", roomID)
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.AuditEntry{}, fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	e, err := func() (store.AuditEntry, error) {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return store.AuditEntry{}, fmt.Errorf("begin: %w", err)
		}
		defer tx.Rollback()
		if err := lockAuditHead(ctx, tx); err != nil {
			return store.AuditEntry{}, err
		}
		res, err := tx.ExecContext(ctx, `UPDATE rooms SET pii_policy = $1 WHERE id = $2`, policy, roomID)
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
