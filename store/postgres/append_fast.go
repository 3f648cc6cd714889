package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/internal/groupcommit"
)

// appendAllSQL stores a whole batch in one statement: it locks the batch's rooms (in id
// order, as appendBatch does), numbers each room's new messages after its last_seq in
// batch order, inserts them, advances last_seq and returns each message with its author.
// A resend (the client id already stored) is left out by ON CONFLICT and so comes back
// missing, as does a message for an unknown room; the caller then rolls back.
const appendAllSQL = `WITH input AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
		WITH ORDINALITY AS t(id, room_id, author_id, client_msg_id, text, created_at, ord)
), locked AS (
	SELECT id, last_seq FROM rooms WHERE id IN (SELECT room_id FROM input) ORDER BY id FOR UPDATE
), numbered AS (
	SELECT i.*, l.last_seq + row_number() OVER (PARTITION BY i.room_id ORDER BY i.ord) AS seq
	FROM input i JOIN locked l ON l.id = i.room_id
), ins AS (
	INSERT INTO messages (room_id, seq, id, author_id, client_msg_id, text, created_at)
	SELECT room_id, seq, id, author_id, client_msg_id, text, created_at FROM numbered
	ON CONFLICT (room_id, author_id, client_msg_id) WHERE client_msg_id <> '' DO NOTHING
	RETURNING id, seq, author_id
), upd AS (
	UPDATE rooms SET last_seq = n.seq FROM (SELECT room_id, max(seq) AS seq FROM numbered GROUP BY room_id) n
	WHERE rooms.id = n.room_id
)
SELECT ins.id, ins.seq, u.id, u.display_name, u.role, u.verified, u.affiliation
FROM ins JOIN users u ON u.id = ins.author_id`

// errSlowPath: the batch holds a resend or an unknown room, which the one-statement
// append cannot place without leaving a gap in the seqs; appendBatch handles it.
var errSlowPath = errors.New("batch needs the statement-per-message path")

// appendAll is the common case of appendBatch in three round trips (begin, the statement,
// commit) however large the batch: a statement per message cost a round trip each, and on
// a busy machine every round trip waits for the database's process to be scheduled.
func (s *Store) appendAll(ctx context.Context, batch []*groupcommit.Request) error {
	n := len(batch)
	ids, roomIDs, authors, clientIDs, texts := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	created := make([]time.Time, n)
	seen := make(map[[3]string]bool, n)
	for i, r := range batch {
		m := r.M
		if m.ClientMsgID != "" {
			k := [3]string{m.RoomID, m.AuthorID, m.ClientMsgID}
			if seen[k] {
				return errSlowPath // a resend within the batch
			}
			seen[k] = true
		}
		ids[i], roomIDs[i], authors[i], clientIDs[i], texts[i] = m.ID, m.RoomID, m.AuthorID, m.ClientMsgID, m.Text
		created[i] = ts(orNow(m.CreatedAt))
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, appendAllSQL, ids, roomIDs, authors, clientIDs, texts, created)
	if err != nil {
		return fmt.Errorf("append %d messages: %w", n, err)
	}
	defer rows.Close()
	stored := make(map[string]store.Message, n)
	for rows.Next() {
		var m store.Message
		if err := rows.Scan(&m.ID, &m.Seq, &m.Author.ID, &m.Author.DisplayName, &m.Author.Role, &m.Author.Verified, &m.Author.Affiliation); err != nil {
			return fmt.Errorf("append %d messages: %w", n, err)
		}
		stored[m.ID] = m
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("append %d messages: %w", n, err)
	}
	if len(stored) != n {
		return errSlowPath // rolled back by the deferred Rollback
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit %d appends: %w", n, err)
	}
	for i, r := range batch {
		m, got := r.M, stored[r.M.ID]
		r.Msg = store.Message{ID: m.ID, RoomID: m.RoomID, Seq: got.Seq, Author: got.Author, ClientMsgID: m.ClientMsgID,
			Text: m.Text, CreatedAt: created[i]}
		r.Dup, r.Err = false, nil
	}
	return nil
}
