package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

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
	if slices.ContainsFunc(batch, func(r *groupcommit.Request) bool { return r.M.AECase != nil }) {
		// Rare: a case opens with its message, which the one-statement append cannot do.
		s.commitSlow(ctx, batch)
		return
	}
	switch err := s.appendAll(ctx, batch); {
	case err == nil:
		return
	case errors.Is(mapErr(err), store.ErrUnavailable):
		for _, r := range batch {
			r.Err = err // the database is not there: the slow path would only wait again
		}
		return
	}
	// A resend, an unknown room or author, or a failed statement: a statement per message
	// finds out which append it was.
	s.commitSlow(ctx, batch)
}

// commitSlow commits batch with a statement per message (appendBatch), isolating an append
// that fails on its own.
func (s *Store) commitSlow(ctx context.Context, batch []*groupcommit.Request) {
	groupcommit.Commit(ctx, batch, s.appendBatch, func(err error) bool {
		return errors.Is(mapErr(err), store.ErrUnavailable)
	})
}

// appendBatch runs in one transaction that first locks the batch's room rows (SELECT ...
// FOR UPDATE, in id order so that batches on different nodes cannot deadlock). Holding the
// lock, the resend check sees every message committed before, and no one else can take the
// seqs handed out here. Seqs are counted in memory and last_seq written once per room. Appends that fail
// on their own (unknown room or author) get r.Err and take no seq; the returned error is for
// failures that abort the transaction, in which case no result was set.
func (s *Store) appendBatch(ctx context.Context, batch []*groupcommit.Request) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	last, err := lookup(ctx, tx, `SELECT id, last_seq FROM rooms WHERE id = ANY($1) ORDER BY id FOR UPDATE`, batch,
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
	authors, err := lookup(ctx, tx, `SELECT id, display_name, role, verified, affiliation FROM users WHERE id = ANY($1)`, batch,
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
			Text: m.Text, CreatedAt: ts(orNow(m.CreatedAt))}
		// DO NOTHING covers only the resend index: any other conflict (a reused ID) fails.
		out, err := tx.ExecContext(ctx, `INSERT INTO messages (room_id, seq, id, author_id, client_msg_id, text, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (room_id, author_id, client_msg_id) WHERE client_msg_id <> '' DO NOTHING`,
			msg.RoomID, msg.Seq, msg.ID, author.ID, msg.ClientMsgID, msg.Text, msg.CreatedAt)
		if err != nil {
			return fmt.Errorf("insert seq %d: %w", msg.Seq, err)
		}
		if n, _ := out.RowsAffected(); n == 0 {
			prev, err := scanMessage(tx.QueryRowContext(ctx, `SELECT `+msgCols+msgFrom+
				`WHERE m.room_id = $1 AND m.author_id = $2 AND m.client_msg_id = $3`, m.RoomID, m.AuthorID, m.ClientMsgID))
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
	if len(touched) > 0 {
		ids, seqs := make([]string, 0, len(touched)), make([]int64, 0, len(touched))
		for room := range touched {
			ids, seqs = append(ids, room), append(seqs, last[room])
		}
		if _, err := tx.ExecContext(ctx, `UPDATE rooms SET last_seq = v.seq
			FROM unnest($1::text[], $2::bigint[]) AS v(id, seq) WHERE rooms.id = v.id`, ids, seqs); err != nil {
			return fmt.Errorf("advance last_seq: %w", err)
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
	rows, err := tx.QueryContext(ctx, query, keys)
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
