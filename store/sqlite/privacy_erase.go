package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/havenhealth/haven/store"
)

// withTail scans the columns a shared scan function knows and then extra columns of its own.
type withTail struct {
	sc   scanner
	tail []any
}

func (w withTail) Scan(dest ...any) error { return w.sc.Scan(append(dest, w.tail...)...) }

// rowsOf runs query in tx and scans every row with scan.
func rowsOf[T any](ctx context.Context, tx *sql.Tx, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ExportUser reads everything in one read transaction, so the parts agree with each other.
func (s *Store) ExportUser(ctx context.Context, userID string) (store.UserExport, error) {
	what := "export user " + userID
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.UserExport{}, fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return store.UserExport{}, mapErr(fmt.Errorf("%s: begin: %w", what, err))
	}
	defer tx.Rollback()
	x, err := exportTx(ctx, tx, userID)
	if err != nil {
		return store.UserExport{}, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	return x, nil
}

func exportTx(ctx context.Context, tx *sql.Tx, id string) (store.UserExport, error) {
	var (
		x      store.UserExport
		erased sql.NullString
		err    error
	)
	if x.User, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+`, erased_at FROM users WHERE id = ?`, id), &erased); err != nil {
		return x, fmt.Errorf("profile: %w", err)
	}
	if x.ErasedAt, err = parseTime(erased); err != nil {
		return x, err
	}
	if x.Sessions, err = rowsOf(ctx, tx, func(sc scanner) (store.ExportSession, error) {
		var (
			ss                        store.ExportSession
			created, expires, revoked sql.NullString
		)
		if err := sc.Scan(&ss.ID, &created, &expires, &revoked); err != nil {
			return ss, err
		}
		ss.CreatedAt, _ = parseTime(created)
		ss.ExpiresAt, _ = parseTime(expires)
		ss.RevokedAt, err = parseTime(revoked)
		return ss, err
	}, `SELECT id, created_at, expires_at, revoked_at FROM sessions WHERE user_id = ? ORDER BY created_at, id`, id); err != nil {
		return x, fmt.Errorf("sessions: %w", err)
	}
	if x.Memberships, err = rowsOf(ctx, tx, func(sc scanner) (store.ExportMembership, error) {
		var em store.ExportMembership
		em.Membership, err = scanMember(withTail{sc, []any{&em.RoomSlug}})
		return em, err
	}, `SELECT m.room_id, m.user_id, m.role, m.accepted_version, m.accepted_at, m.muted_until, m.banned, m.updated_at,
		r.slug FROM memberships m JOIN rooms r ON r.id = m.room_id WHERE m.user_id = ? ORDER BY r.slug`, id); err != nil {
		return x, fmt.Errorf("memberships: %w", err)
	}
	if x.Consents, err = rowsOf(ctx, tx, scanConsent, `SELECT `+consentCols+` FROM user_consents
		WHERE user_id = ? ORDER BY granted_at, id`, id); err != nil {
		return x, fmt.Errorf("consents: %w", err)
	}
	if x.Messages, err = rowsOf(ctx, tx, func(sc scanner) (store.ExportMessage, error) {
		var em store.ExportMessage
		em.Message, err = scanMessage(withTail{sc, []any{&em.RoomSlug, &em.LegalHold}})
		return em, err
	}, `SELECT `+msgCols+`, r.slug, m.legal_hold`+msgFrom+`JOIN rooms r ON r.id = m.room_id
		WHERE m.author_id = ? ORDER BY m.created_at, r.slug, m.seq`, id); err != nil {
		return x, fmt.Errorf("messages: %w", err)
	}
	if x.Edits, err = rowsOf(ctx, tx, func(sc scanner) (store.ExportEdit, error) {
		var (
			e  store.ExportEdit
			at sql.NullString
		)
		if err := sc.Scan(&e.RoomSlug, &e.Seq, &e.PrevText, &at); err != nil {
			return e, err
		}
		e.EditedAt, err = parseTime(at)
		return e, err
	}, `SELECT r.slug, e.seq, e.prev_text, e.edited_at FROM message_edits e
		JOIN messages m ON m.room_id = e.room_id AND m.seq = e.seq JOIN rooms r ON r.id = e.room_id
		WHERE m.author_id = ? ORDER BY e.edited_at`, id); err != nil {
		return x, fmt.Errorf("edits: %w", err)
	}
	if x.HeldMessages, err = rowsOf(ctx, tx, scanHeld, `SELECT `+heldCols+heldFrom+`WHERE h.author_id = ?
		ORDER BY h.created_at, h.id`, id); err != nil {
		return x, fmt.Errorf("held messages: %w", err)
	}
	if x.Reports, err = rowsOf(ctx, tx, scanReport, `SELECT `+reportCols+` FROM reports WHERE reporter_id = ?
		ORDER BY created_at, id`, id); err != nil {
		return x, fmt.Errorf("reports: %w", err)
	}
	if x.Questions, err = rowsOf(ctx, tx, scanQuestion, `SELECT `+questionCols+questionFrom+`WHERE q.author_id = ?
		ORDER BY q.created_at, q.id`, id); err != nil {
		return x, fmt.Errorf("questions: %w", err)
	}
	scanVote := func(sc scanner) (store.ExportVote, error) {
		var (
			v  store.ExportVote
			at sql.NullString
		)
		if err := sc.Scan(&v.RoomSlug, &v.SessionID, &v.TargetID, &v.Choice, &at); err != nil {
			return v, err
		}
		v.CreatedAt, err = parseTime(at)
		return v, err
	}
	if x.QuestionVotes, err = rowsOf(ctx, tx, scanVote, `SELECT r.slug, q.session_id, v.question_id, -1, v.created_at
		FROM question_votes v JOIN session_questions q ON q.id = v.question_id JOIN rooms r ON r.id = q.room_id
		WHERE v.user_id = ? ORDER BY v.created_at`, id); err != nil {
		return x, fmt.Errorf("question votes: %w", err)
	}
	if x.PollVotes, err = rowsOf(ctx, tx, scanVote, `SELECT r.slug, p.session_id, v.poll_id, v.choice, v.created_at
		FROM poll_votes v JOIN session_polls p ON p.id = v.poll_id JOIN rooms r ON r.id = p.room_id
		WHERE v.user_id = ? ORDER BY v.created_at`, id); err != nil {
		return x, fmt.Errorf("poll votes: %w", err)
	}
	if x.Followups, err = rowsOf(ctx, tx, func(sc scanner) (store.ExportFollowup, error) {
		var (
			f  store.ExportFollowup
			at sql.NullString
		)
		if err := sc.Scan(&f.ID, &f.CaseID, &f.ToMe, &f.Text, &at); err != nil {
			return f, err
		}
		f.At, err = parseTime(at)
		return f, err
	}, `SELECT id, case_id, to_user = ?1, text, at FROM ae_followups WHERE to_user = ?1 OR from_user = ?1
		ORDER BY at, id`, id); err != nil {
		return x, fmt.Errorf("follow-ups: %w", err)
	}
	return x, nil
}

// ErasedReporter is the shared placeholder that reports made by erased members point to,
// so a report no longer links to its reporter, even by pseudonym.
const erasedReporter = "u_erased"

// EraseUser runs the whole erasure in one write transaction (see store.Privacy).
func (s *Store) EraseUser(ctx context.Context, e store.Erasure) (store.ErasureResult, error) {
	var out store.ErasureResult
	err := s.writeTx(ctx, "erase user "+e.UserID, func(ctx context.Context, tx *sql.Tx) error {
		var erased sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT erased_at FROM users WHERE id = ?`, e.UserID).Scan(&erased); err != nil {
			return err // ErrNoRows maps to ErrNotFound
		}
		if erased.Valid {
			return fmt.Errorf("already erased: %w", store.ErrNotFound)
		}
		a := normAudit(e.Audit)
		at := fmtTime(a.At)
		exec := func(what, q string, args ...any) (int, error) {
			res, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", what, err)
			}
			n, _ := res.RowsAffected()
			return int(n), nil
		}
		ids, err := rowsOf(ctx, tx, func(sc scanner) (string, error) {
			var id string
			return id, sc.Scan(&id)
		}, `DELETE FROM sessions WHERE user_id = ? RETURNING id`, e.UserID)
		if err != nil {
			return fmt.Errorf("sessions: %w", err)
		}
		out.SessionIDs = ids
		for _, q := range []string{
			`DELETE FROM memberships WHERE user_id = ?`,
			`DELETE FROM user_consents WHERE user_id = ?`,
			`DELETE FROM question_votes WHERE user_id = ?`,
			`DELETE FROM poll_votes WHERE user_id = ?`,
		} {
			if _, err := exec(q, q, e.UserID); err != nil {
				return err
			}
		}
		if e.Content == store.ErasureDelete {
			// Read before the updates below mark them: only what members saw as live.
			out.Deleted, err = rowsOf(ctx, tx, func(sc scanner) (store.DeletedMessage, error) {
				var d store.DeletedMessage
				return d, sc.Scan(&d.RoomSlug, &d.Seq)
			}, `SELECT r.slug, m.seq FROM messages m JOIN rooms r ON r.id = m.room_id
				WHERE m.author_id = ? AND m.deleted_at IS NULL ORDER BY m.created_at DESC, m.seq DESC`, e.UserID)
			if err != nil {
				return fmt.Errorf("messages to tell the rooms: %w", err)
			}
		}
		if out.LegalHold, err = exec("legal hold", `UPDATE messages SET
			deleted_by = CASE WHEN deleted_at IS NULL AND ?1 = 'delete' THEN 'erasure' ELSE deleted_by END,
			deleted_at = CASE WHEN ?1 = 'delete' THEN coalesce(deleted_at, ?2) ELSE deleted_at END
			WHERE author_id = ?3 AND legal_hold = 1`, e.Content, at, e.UserID); err != nil {
			return err
		}
		if e.Content == store.ErasureDelete {
			if _, err := exec("edits", `DELETE FROM message_edits WHERE (room_id, seq) IN
				(SELECT room_id, seq FROM messages WHERE author_id = ? AND legal_hold = 0)`, e.UserID); err != nil {
				return err
			}
			if out.Removed, err = exec("messages", `UPDATE messages SET text = '',
				deleted_by = CASE WHEN deleted_at IS NULL THEN 'erasure' ELSE deleted_by END,
				deleted_at = coalesce(deleted_at, ?) WHERE author_id = ? AND legal_hold = 0`, at, e.UserID); err != nil {
				return err
			}
			if _, err := exec("report snapshots", `UPDATE reports SET snapshot = '' WHERE author_id = ? AND NOT EXISTS
				(SELECT 1 FROM messages m WHERE m.room_id = reports.room_id AND m.seq = reports.seq AND m.legal_hold = 1)`,
				e.UserID); err != nil {
				return err
			}
			if _, err := exec("questions", `UPDATE session_questions SET text = '',
				status = CASE WHEN status IN ('held', 'open') THEN 'dismissed' ELSE status END,
				decided_by = CASE WHEN status IN ('held', 'open') THEN 'erasure' ELSE decided_by END,
				decided_at = CASE WHEN status IN ('held', 'open') THEN ? ELSE decided_at END
				WHERE author_id = ?`, at, e.UserID); err != nil {
				return err
			}
		} else if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE author_id = ? AND legal_hold = 0`,
			e.UserID).Scan(&out.Removed); err != nil {
			return fmt.Errorf("count messages: %w", err)
		} else if out.Renamed, err = rowsOf(ctx, tx, func(sc scanner) (string, error) {
			var slug string
			return slug, sc.Scan(&slug)
		}, `SELECT slug FROM rooms WHERE id IN
				(SELECT room_id FROM messages WHERE author_id = ?1 AND deleted_at IS NULL
				UNION SELECT room_id FROM session_questions WHERE author_id = ?1) ORDER BY slug`, e.UserID); err != nil {
			return fmt.Errorf("rooms to tell of the pseudonym: %w", err)
		}
		// Held posts were never public: under either policy they go, and pending ones are
		// settled so that no moderator publishes them later.
		if _, err := exec("held messages", `UPDATE held_messages SET text = '',
			decided_by = CASE WHEN status = 'pending' THEN 'erasure' ELSE decided_by END,
			decided_at = CASE WHEN status = 'pending' THEN ? ELSE decided_at END,
			status = CASE WHEN status = 'pending' THEN 'rejected' ELSE status END
			WHERE author_id = ?`, at, e.UserID); err != nil {
			return err
		}
		if _, err := exec("placeholder", `INSERT INTO users (id, email, display_name, display_name_key, password_hash,
			role, created_at, erased_at) VALUES (?1, 'erased:' || ?1, 'Former member', 'erased:' || ?1, ?2, 'member', ?3, ?3)
			ON CONFLICT (id) DO NOTHING`, erasedReporter, e.PasswordHash, at); err != nil {
			return err
		}
		if _, err := exec("reports", `UPDATE reports SET reporter_id = ? WHERE reporter_id = ?`, erasedReporter, e.UserID); err != nil {
			return err
		}
		if _, err := exec("tombstone", `UPDATE users SET email = 'erased:' || id, display_name = ?,
			display_name_key = 'erased:' || id, password_hash = ?, role = 'member', verified = 0, affiliation = '',
			erased_at = ? WHERE id = ?`, e.Pseudonym, e.PasswordHash, at, e.UserID); err != nil {
			return err
		}
		out.Audit, err = appendAudit(ctx, tx, a)
		return err
	})
	return out, err
}
