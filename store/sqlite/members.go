package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/havenhealth/haven/store"
)

// Memberships lists a room's memberships with each member's public face, in the order
// store.Store documents: banned, then muted on record (latest end first), then the rest,
// each by the lower-cased display name. The primary key (room_id, user_id) finds the rows;
// the sort runs over one room's members.
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
	// muted_until is fixed-width text, so it sorts as time; "IS NULL" puts mutes first.
	rows, err := s.r.QueryContext(ctx, `
		SELECT m.room_id, m.user_id, m.role, m.accepted_version, m.accepted_at, m.muted_until,
		       m.banned, m.updated_at, u.display_name, u.role, u.verified, u.affiliation
		FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.room_id = ?1
		ORDER BY m.banned DESC,
		         (CASE WHEN m.banned THEN NULL ELSE m.muted_until END) IS NULL,
		         (CASE WHEN m.banned THEN NULL ELSE m.muted_until END) DESC,
		         u.display_name_key, u.id
		LIMIT ?2`, roomID, limit)
	if err != nil {
		return nil, mapErr(fmt.Errorf("memberships of room %s: %w", roomID, err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			rm                   store.RoomMember
			accepted, muted, upd sql.NullString
		)
		if err := rows.Scan(&rm.RoomID, &rm.UserID, &rm.Role, &rm.AcceptedVersion, &accepted, &muted,
			&rm.Banned, &upd, &rm.User.DisplayName, &rm.User.Role, &rm.User.Verified, &rm.User.Affiliation); err != nil {
			return nil, mapErr(fmt.Errorf("memberships of room %s: %w", roomID, err))
		}
		if rm.AcceptedAt, err = parseTime(accepted); err == nil {
			if rm.MutedUntil, err = parseTime(muted); err == nil {
				rm.UpdatedAt, err = parseTime(upd)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("memberships of room %s: %w", roomID, err)
		}
		rm.User.ID = rm.UserID
		out = append(out, rm)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(fmt.Errorf("memberships of room %s: %w", roomID, err))
	}
	return out, nil
}
