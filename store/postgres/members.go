package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/havenhealth/haven/store"
)

// Memberships lists a room's memberships with each member's public face, in the order
// store.Store documents: banned, then muted on record (latest end first), then the rest,
// each by the lower-cased display name. COLLATE "C" compares bytes, as SQLite does, so
// both backends agree whatever the database's locale.
func (s *Store) Memberships(ctx context.Context, roomID string, limit int) ([]store.RoomMember, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("memberships of room %s: %w", roomID, err)
	}
	defer cancel()
	out := []store.RoomMember{}
	if limit <= 0 {
		return out, nil
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT m.room_id, m.user_id, m.role, m.accepted_version, m.accepted_at, m.muted_until,
		       m.banned, m.updated_at, u.display_name, u.role, u.verified, u.affiliation
		FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.room_id = $1
		ORDER BY m.banned DESC,
		         (CASE WHEN m.banned THEN NULL ELSE m.muted_until END) DESC NULLS LAST,
		         u.display_name_key COLLATE "C", u.id COLLATE "C"
		LIMIT $2`, roomID, limit)
	if err != nil {
		return nil, mapErr(fmt.Errorf("memberships of room %s: %w", roomID, err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			rm              store.RoomMember
			accepted, muted sql.NullTime
		)
		if err := rows.Scan(&rm.RoomID, &rm.UserID, &rm.Role, &rm.AcceptedVersion, &accepted, &muted,
			&rm.Banned, &rm.UpdatedAt, &rm.User.DisplayName, &rm.User.Role, &rm.User.Verified, &rm.User.Affiliation); err != nil {
			return nil, mapErr(fmt.Errorf("memberships of room %s: %w", roomID, err))
		}
		rm.AcceptedAt, rm.MutedUntil, rm.UpdatedAt = fromNull(accepted), fromNull(muted), rm.UpdatedAt.UTC()
		rm.User.ID = rm.UserID
		out = append(out, rm)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(fmt.Errorf("memberships of room %s: %w", roomID, err))
	}
	return out, nil
}
