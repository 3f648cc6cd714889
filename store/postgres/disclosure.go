package postgres

import (
	"context"
	"fmt"

	"github.com/havenhealth/haven/store"
)

// SetBadges updates the target's affiliation, verification and role and appends audit in
// one transaction, so a badge never changes without its audit entry.
func (s *Store) SetBadges(ctx context.Context, b store.BadgeChange, audit store.AuditEntry) (store.User, store.AuditEntry, error) {
	what := fmt.Sprintf("set badges of user %s", audit.TargetID)
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.User{}, store.AuditEntry{}, fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	e := normAudit(audit)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return store.User{}, store.AuditEntry{}, mapErr(fmt.Errorf("%s: begin: %w", what, err))
	}
	defer tx.Rollback()
	if err := lockAuditHead(ctx, tx); err != nil {
		return store.User{}, store.AuditEntry{}, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	u, err := scanUser(tx.QueryRowContext(ctx, `UPDATE users SET affiliation = coalesce($1::text, affiliation),
		verified = coalesce($2::boolean, verified), role = coalesce($3::text, role) WHERE id = $4 RETURNING `+userCols,
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

// SetRoomDisclosure sets the disclosure text of audit.RoomID and appends audit in one
// transaction.
func (s *Store) SetRoomDisclosure(ctx context.Context, text string, audit store.AuditEntry) (store.Room, store.AuditEntry, error) {
	what := fmt.Sprintf("set disclosure of room %s", audit.RoomID)
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.Room{}, store.AuditEntry{}, fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	e := normAudit(audit)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return store.Room{}, store.AuditEntry{}, mapErr(fmt.Errorf("%s: begin: %w", what, err))
	}
	defer tx.Rollback()
	// The audit head first: the lock order is audit_head, then rooms, everywhere.
	if err := lockAuditHead(ctx, tx); err != nil {
		return store.Room{}, store.AuditEntry{}, mapErr(fmt.Errorf("%s: %w", what, err))
	}
	r, err := scanRoom(tx.QueryRowContext(ctx, `UPDATE rooms SET disclosure = $1 WHERE id = $2 RETURNING `+roomCols,
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
