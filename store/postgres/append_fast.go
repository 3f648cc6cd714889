package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/internal/groupcommit"
)

// appendAllSQL stores a whole batch in one statement, its own transaction: it locks the
// batch's rooms (in id order, as appendBatch does), numbers each room's new messages after
// its last_seq in batch order, inserts them, advances last_seq and returns each message's
// seq and author. Whatever it cannot place without leaving a gap in the seqs fails the
// statement, and so stores nothing: a resend (the client id index), an unknown room (a
// NULL seq) or author (the foreign key).
const appendAllSQL = `WITH input AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
		WITH ORDINALITY AS t(id, room_id, author_id, client_msg_id, text, created_at, ord)
), locked AS (
	SELECT id, last_seq FROM rooms WHERE id IN (SELECT room_id FROM input) ORDER BY id FOR UPDATE
), numbered AS (
	SELECT i.*, l.last_seq + row_number() OVER (PARTITION BY i.room_id ORDER BY i.ord) AS seq
	FROM input i LEFT JOIN locked l ON l.id = i.room_id
), ins AS (
	INSERT INTO messages (room_id, seq, id, author_id, client_msg_id, text, created_at)
	SELECT room_id, seq, id, author_id, client_msg_id, text, created_at FROM numbered
	RETURNING id, seq, author_id
), upd AS (
	UPDATE rooms SET last_seq = n.seq FROM (SELECT room_id, max(seq) AS seq FROM numbered GROUP BY room_id) n
	WHERE rooms.id = n.room_id
)
SELECT ins.id, ins.seq, u.id, u.display_name, u.role, u.verified, u.affiliation
FROM ins JOIN users u ON u.id = ins.author_id`

// appendAll is the common case of appendBatch in one round trip however large the batch.
// A statement per message cost a round trip each, on a busy machine every round trip
// waits for the database's process to be scheduled, and the room's row stayed locked
// across them, so that the other nodes' appends to the room waited too.
func (s *Store) appendAll(ctx context.Context, batch []*groupcommit.Request) error {
	n := len(batch)
	ids, roomIDs, authors, clientIDs, texts := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	created := make([]time.Time, n)
	for i, r := range batch {
		m := r.M
		ids[i], roomIDs[i], authors[i], clientIDs[i], texts[i] = m.ID, m.RoomID, m.AuthorID, m.ClientMsgID, m.Text
		created[i] = ts(orNow(m.CreatedAt))
	}
	rows, err := s.db.QueryContext(ctx, appendAllSQL, ids, roomIDs, authors, clientIDs, texts, created)
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
	// Close reads to the end of the statement, its commit included.
	if err := errors.Join(rows.Close(), rows.Err()); err != nil {
		return fmt.Errorf("append %d messages: %w", n, err)
	}
	if len(stored) != n {
		return fmt.Errorf("append %d messages: %d stored", n, len(stored)) // cannot happen: every row is inserted or the statement fails
	}
	for i, r := range batch {
		m, got := r.M, stored[r.M.ID]
		r.Msg = store.Message{ID: m.ID, RoomID: m.RoomID, Seq: got.Seq, Author: got.Author, ClientMsgID: m.ClientMsgID,
			Text: m.Text, CreatedAt: created[i]}
		r.Dup, r.Err = false, nil
	}
	return nil
}
