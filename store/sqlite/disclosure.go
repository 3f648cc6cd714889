package sqlite

import (
	"context"
	"fmt"

	"github.com/havenhealth/haven/store"
)

// SetBadges updates the target's affiliation, verification and role and appends audit in
// one write transaction, so a badge never changes without its audit entry.
func (s *Store) SetBadges(ctx context.Context, b store.BadgeChange, audit store.AuditEntry) (store.User, store.AuditEntry, error) {
	what := fmt.Sprintf("set badges of user %s", audit.TargetID)
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.User{}, store.AuditEntry{}, fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	e := normAudit(audit)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.User{}, store.AuditEntry{}, mapErr(fmt.Errorf("%s: begin: %w", what, err))
	}
	defer tx.Rollback()
	u, err := scanUser(tx.QueryRowContext(ctx, `UPDATE users SET affiliation = coalesce(?1, affiliation),
		verified = coalesce(?2, verified), role = coalesce(?3, role) WHERE id = ?4 RETURNING `+userCols,
		nullable(b.Affiliation), nullable(b.Verified), nullable(b.Role), e.TargetID))
	if err != nil {
		return store.User{}, store.AuditEntry{}, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	if e, err = appendAudit(ctx, tx, e); err != nil {
		return store.User{}, store.AuditEntry{}, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	if err := tx.Commit(); err != nil {
		return store.User{}, store.AuditEntry{}, mapErr(fmt.Errorf("%s: commit: %w", what, err))
	}
	return u, e, nil
}

// SetRoomDisclosure sets the disclosure text of audit.RoomID and appends audit in one write
// transaction.
func (s *Store) SetRoomDisclosure(ctx context.Context, text string, audit store.AuditEntry) (store.Room, store.AuditEntry, error) {
	what := fmt.Sprintf("set disclosure of room %s", audit.RoomID)
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.Room{}, store.AuditEntry{}, fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	e := normAudit(audit)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.Room{}, store.AuditEntry{}, mapErr(fmt.Errorf("%s: begin: %w", what, err))
	}
	defer tx.Rollback()
	r, err := scanRoom(tx.QueryRowContext(ctx, `UPDATE rooms SET disclosure = ? WHERE id = ? RETURNING `+roomCols,
		text, e.RoomID))
	if err != nil {
		return store.Room{}, store.AuditEntry{}, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	if e, err = appendAudit(ctx, tx, e); err != nil {
		return store.Room{}, store.AuditEntry{}, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	if err := tx.Commit(); err != nil {
		return store.Room{}, store.AuditEntry{}, mapErr(fmt.Errorf("%s: commit: %w", what, err))
	}
	return r, e, nil
}
