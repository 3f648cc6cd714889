package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/havenhealth/haven/store"
)

const msgCols = `m.id, m.room_id, m.seq, m.author_id, u.display_name, u.role, u.verified, u.affiliation,
	m.client_msg_id, m.text, m.created_at, m.deleted_at, m.deleted_by`

const msgFrom = ` FROM messages m JOIN users u ON u.id = m.author_id `

// cteFrom reads the rows a data-modifying CTE named m returned: the statement's snapshot
// does not yet show them in the messages table.
const cteFrom = ` FROM m JOIN users u ON u.id = m.author_id `

func scanMessage(sc scanner) (store.Message, error) {
	var (
		m       store.Message
		deleted sql.NullTime
	)
	if err := sc.Scan(&m.ID, &m.RoomID, &m.Seq, &m.Author.ID, &m.Author.DisplayName, &m.Author.Role,
		&m.Author.Verified, &m.Author.Affiliation, &m.ClientMsgID, &m.Text, &m.CreatedAt, &deleted, &m.DeletedBy); err != nil {
		return store.Message{}, err
	}
	m.CreatedAt, m.DeletedAt = m.CreatedAt.UTC(), fromNull(deleted)
	return m, nil
}

func (s *Store) listMessages(ctx context.Context, what, query string, args ...any) ([]store.Message, error) {
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
	out := []store.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, mapErr(fmt.Errorf("%s: %w", what, err))
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	return out, nil
}

func (s *Store) MessagesAfter(ctx context.Context, roomID string, since int64, limit int) ([]store.Message, error) {
	return s.listMessages(ctx, fmt.Sprintf("messages after %d room %s", since, roomID),
		`SELECT `+msgCols+msgFrom+`WHERE m.room_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3`,
		roomID, since, max(limit, 0))
}

func (s *Store) MessagesBefore(ctx context.Context, roomID string, before int64, limit int) ([]store.Message, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	return s.listMessages(ctx, fmt.Sprintf("messages before %d room %s", before, roomID),
		`SELECT * FROM (SELECT `+msgCols+msgFrom+`WHERE m.room_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3) page
		ORDER BY seq`, roomID, before, max(limit, 0))
}

func (s *Store) MessageBySeq(ctx context.Context, roomID string, seq int64) (store.Message, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.Message{}, fmt.Errorf("message %s/%d: %w", roomID, seq, err)
	}
	defer cancel()
	m, err := scanMessage(s.db.QueryRowContext(ctx, `SELECT `+msgCols+msgFrom+`WHERE m.room_id = $1 AND m.seq = $2`, roomID, seq))
	if err != nil {
		return store.Message{}, mapErr(fmt.Errorf("message %s/%d: %w", roomID, seq, err))
	}
	return m, nil
}

// DeleteMessage keeps the text. Deleting again is a no-op that keeps the first deletion's
// time and actor.
func (s *Store) DeleteMessage(ctx context.Context, roomID string, seq int64, by string, at time.Time) (store.Message, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.Message{}, fmt.Errorf("delete message %s/%d: %w", roomID, seq, err)
	}
	defer cancel()
	m, err := scanMessage(s.db.QueryRowContext(ctx, `WITH m AS (
			UPDATE messages SET
				deleted_by = CASE WHEN deleted_at IS NULL THEN $1 ELSE deleted_by END,
				deleted_at = coalesce(deleted_at, $2)
			WHERE room_id = $3 AND seq = $4 RETURNING *)
		SELECT `+msgCols+cteFrom, by, ts(orNow(at)), roomID, seq))
	if err != nil {
		return store.Message{}, mapErr(fmt.Errorf("delete message %s/%d: %w", roomID, seq, err))
	}
	return m, nil
}

// CreateReport takes the snapshot from the stored text when r.Snapshot is empty, so the
// report survives a later deletion, and the author from the message. An empty category is
// stored as "other"; the report starts open. ErrNotFound if the message does not exist.
func (s *Store) CreateReport(ctx context.Context, r store.Report) (store.Report, error) {
	what := fmt.Sprintf("report %s/%d", r.RoomID, r.Seq)
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.Report{}, fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	if r.Category == "" {
		r.Category = "other"
	}
	if !slices.Contains(store.ReportCategories, r.Category) {
		return store.Report{}, fmt.Errorf("%s: unknown category %q", what, r.Category)
	}
	r.CreatedAt = ts(orNow(r.CreatedAt))
	r.Status, r.ResolvedBy, r.ResolvedAt = store.ReportOpen, "", time.Time{}
	err = s.db.QueryRowContext(ctx, `INSERT INTO reports
			(id, room_id, seq, reporter_id, category, reason, snapshot, author_id, created_at, status)
		SELECT $1, room_id, seq, $2, $3, $4, CASE WHEN $5::text = '' THEN text ELSE $5::text END, author_id, $6, $7
		FROM messages WHERE room_id = $8 AND seq = $9 RETURNING snapshot, author_id`,
		r.ID, r.ReporterID, r.Category, r.Reason, r.Snapshot, r.CreatedAt, r.Status, r.RoomID, r.Seq,
	).Scan(&r.Snapshot, &r.AuthorID)
	if err != nil {
		return store.Report{}, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	return r, nil
}
