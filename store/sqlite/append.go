package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/internal/groupcommit"
)

// maxBatch caps how many appends share one transaction.
const maxBatch = 256

// AppendMessage stores m at its room's next seq. With group commit on, concurrent calls
// share a transaction (appender.go); either way each caller gets its own result.
func (s *Store) AppendMessage(ctx context.Context, m store.NewMessage) (store.Message, bool, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.Message{}, false, fmt.Errorf("append message room %s: %w", m.RoomID, err)
	}
	defer cancel()
	var (
		msg store.Message
		dup bool
	)
	if s.app != nil {
		msg, dup, err = s.app.Append(ctx, m)
	} else {
		r := &groupcommit.Request{M: m}
		s.commitIn(ctx, []*groupcommit.Request{r})
		msg, dup, err = r.Msg, r.Dup, r.Err
	}
	if err != nil {
		return store.Message{}, false, mapErr(fmt.Errorf("append message room %s: %w", m.RoomID, err))
	}
	return msg, dup, nil
}

// commitBatch is the appender's commit function.
func (s *Store) commitBatch(batch []*groupcommit.Request) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	s.commitIn(ctx, batch)
}

// commitIn commits batch, isolating an append that fails on its own (groupcommit.Commit).
func (s *Store) commitIn(ctx context.Context, batch []*groupcommit.Request) {
	groupcommit.Commit(ctx, batch, s.appendBatch, func(err error) bool {
		return errors.Is(mapErr(err), store.ErrUnavailable)
	})
}

// appendBatch runs in one write transaction; the single writer connection and BEGIN
// IMMEDIATE serialise it against every other write, so last_seq and the resend check cannot
// race. Seqs are counted in memory and last_seq written once per room. Appends that fail
// on their own (unknown room or author) get r.Err and take no seq; the returned error is for
// failures that abort the transaction, in which case no result was set.
func (s *Store) appendBatch(ctx context.Context, batch []*groupcommit.Request) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	last, err := lookup(ctx, tx, `SELECT id, last_seq FROM rooms`, batch,
		func(m store.NewMessage) string { return m.RoomID },
		func(rows *sql.Rows) (string, int64, error) {
			var (
				id  string
				seq int64
			)
			err := rows.Scan(&id, &seq)
			return id, seq, err
		})
	if err != nil {
		return fmt.Errorf("rooms: %w", err)
	}
	authors, err := lookup(ctx, tx, `SELECT id, display_name, role, verified, affiliation FROM users`, batch,
		func(m store.NewMessage) string { return m.AuthorID },
		func(rows *sql.Rows) (string, store.Author, error) {
			var a store.Author
			err := rows.Scan(&a.ID, &a.DisplayName, &a.Role, &a.Verified, &a.Affiliation)
			return a.ID, a, err
		})
	if err != nil {
		return fmt.Errorf("authors: %w", err)
	}
	type result struct {
		msg store.Message
		dup bool
		err error
	}
	res := make([]result, len(batch))
	touched := map[string]bool{}
	for i, r := range batch {
		m := r.M
		seq, ok := last[m.RoomID]
		if !ok {
			res[i].err = fmt.Errorf("room %s: %w", m.RoomID, store.ErrNotFound)
			continue
		}
		author, ok := authors[m.AuthorID]
		if !ok {
			res[i].err = fmt.Errorf("author %s: %w", m.AuthorID, store.ErrNotFound)
			continue
		}
		msg := store.Message{ID: m.ID, RoomID: m.RoomID, Seq: seq + 1, Author: author, ClientMsgID: m.ClientMsgID,
			Text: m.Text, CreatedAt: orNow(m.CreatedAt).UTC().Truncate(time.Microsecond)}
		// DO NOTHING covers only the resend index: any other conflict (a reused ID) fails.
		out, err := tx.ExecContext(ctx, `INSERT INTO messages (room_id, seq, id, author_id, client_msg_id, text, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (room_id, author_id, client_msg_id) WHERE client_msg_id <> '' DO NOTHING`,
			msg.RoomID, msg.Seq, msg.ID, author.ID, msg.ClientMsgID, msg.Text, fmtTime(msg.CreatedAt))
		if err != nil {
			return fmt.Errorf("insert seq %d: %w", msg.Seq, err)
		}
		if n, _ := out.RowsAffected(); n == 0 {
			prev, err := scanMessage(tx.QueryRowContext(ctx, `SELECT `+msgCols+msgFrom+
				`WHERE m.room_id = ? AND m.author_id = ? AND m.client_msg_id = ?`, m.RoomID, m.AuthorID, m.ClientMsgID))
			if err != nil {
				return fmt.Errorf("find resend: %w", err)
			}
			res[i].msg, res[i].dup = prev, true
			continue
		}
		if m.AECase != nil {
			c := *m.AECase
			c.MessageID, c.MessageSeq = msg.ID, msg.Seq
			if _, err := insertAECase(ctx, tx, c); err != nil {
				return fmt.Errorf("AE case of seq %d: %w", msg.Seq, err)
			}
		}
		last[m.RoomID] = msg.Seq
		touched[m.RoomID] = true
		res[i].msg = msg
	}
	for room := range touched {
		if _, err := tx.ExecContext(ctx, `UPDATE rooms SET last_seq = ? WHERE id = ?`, last[room], room); err != nil {
			return fmt.Errorf("advance last_seq of room %s: %w", room, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit %d appends: %w", len(batch), err)
	}
	for i, r := range batch {
		r.Msg, r.Dup, r.Err = res[i].msg, res[i].dup, res[i].err
	}
	return nil
}

// lookup loads the rows of query whose id is among key(m) for the batch, in one statement.
func lookup[V any](ctx context.Context, tx *sql.Tx, query string, batch []*groupcommit.Request,
	key func(store.NewMessage) string, scan func(*sql.Rows) (string, V, error)) (map[string]V, error) {
	seen := map[string]bool{}
	keys := make([]string, 0, len(batch))
	for _, r := range batch {
		if k := key(r.M); !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	list, err := json.Marshal(keys)
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, query+` WHERE id IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]V, len(keys))
	for rows.Next() {
		k, v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}
