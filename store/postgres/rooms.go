package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/havenhealth/haven/store"
)

const roomCols = `id, slug, name, condition, kind, visibility, guidelines, guidelines_version,
	slow_mode_s, locked, sponsor, last_seq, created_at, disclosure`

func scanRoom(sc scanner) (store.Room, error) {
	var r store.Room
	if err := sc.Scan(&r.ID, &r.Slug, &r.Name, &r.Condition, &r.Kind, &r.Visibility, &r.Guidelines,
		&r.GuidelinesVersion, &r.SlowModeS, &r.Locked, &r.Sponsor, &r.LastSeq, &r.CreatedAt, &r.Disclosure); err != nil {
		return store.Room{}, err
	}
	r.CreatedAt = r.CreatedAt.UTC()
	return r, nil
}

// CreateRoom starts the room at guidelines version 1 and seq 0, whatever r says.
func (s *Store) CreateRoom(ctx context.Context, r store.Room) (store.Room, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.Room{}, fmt.Errorf("create room %s: %w", r.Slug, err)
	}
	defer cancel()
	if r.Kind == "" {
		r.Kind = "chat"
	}
	if r.Visibility == "" {
		r.Visibility = "public"
	}
	out, err := scanRoom(s.db.QueryRowContext(ctx, `INSERT INTO rooms
		(id, slug, name, condition, kind, visibility, guidelines, guidelines_version, slow_mode_s,
		 locked, sponsor, last_seq, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10, 0, $11) RETURNING `+roomCols,
		r.ID, r.Slug, r.Name, r.Condition, r.Kind, r.Visibility, r.Guidelines, r.SlowModeS,
		r.Locked, r.Sponsor, ts(orNow(r.CreatedAt))))
	if err != nil {
		return store.Room{}, mapErr(fmt.Errorf("create room %s: %w", r.Slug, err))
	}
	return out, nil
}

// UpdateRoom applies p in one statement, so a concurrent edit cannot lose a version bump.
func (s *Store) UpdateRoom(ctx context.Context, slug string, p store.RoomPatch) (store.Room, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.Room{}, fmt.Errorf("update room %s: %w", slug, err)
	}
	defer cancel()
	g := nullable(p.Guidelines)
	out, err := scanRoom(s.db.QueryRowContext(ctx, `UPDATE rooms SET
			name = coalesce($1::text, name),
			guidelines_version = guidelines_version + (CASE WHEN $2::text IS NOT NULL AND $2::text <> guidelines THEN 1 ELSE 0 END),
			guidelines = coalesce($2::text, guidelines),
			slow_mode_s = coalesce($3::integer, slow_mode_s),
			locked = coalesce($4::boolean, locked),
			sponsor = coalesce($5::text, sponsor)
		WHERE slug = $6 RETURNING `+roomCols,
		nullable(p.Name), g, nullable(p.SlowModeS), nullable(p.Locked), nullable(p.Sponsor), slug))
	if err != nil {
		return store.Room{}, mapErr(fmt.Errorf("update room %s: %w", slug, err))
	}
	return out, nil
}

func nullable[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func (s *Store) RoomBySlug(ctx context.Context, slug string) (store.Room, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.Room{}, fmt.Errorf("room %s: %w", slug, err)
	}
	defer cancel()
	r, err := scanRoom(s.db.QueryRowContext(ctx, `SELECT `+roomCols+` FROM rooms WHERE slug = $1`, slug))
	if err != nil {
		return store.Room{}, mapErr(fmt.Errorf("room %s: %w", slug, err))
	}
	return r, nil
}

// ListRooms returns every room ordered by slug.
func (s *Store) ListRooms(ctx context.Context) ([]store.Room, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("list rooms: %w", err)
	}
	defer cancel()
	rows, err := s.db.QueryContext(ctx, `SELECT `+roomCols+` FROM rooms ORDER BY slug`)
	if err != nil {
		return nil, mapErr(fmt.Errorf("list rooms: %w", err))
	}
	defer rows.Close()
	var out []store.Room
	for rows.Next() {
		r, err := scanRoom(rows)
		if err != nil {
			return nil, mapErr(fmt.Errorf("list rooms: %w", err))
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(fmt.Errorf("list rooms: %w", err))
	}
	return out, nil
}

const memberCols = `room_id, user_id, role, accepted_version, accepted_at, muted_until, banned, updated_at`

func scanMember(sc scanner) (store.Membership, error) {
	var (
		m               store.Membership
		accepted, muted sql.NullTime
	)
	if err := sc.Scan(&m.RoomID, &m.UserID, &m.Role, &m.AcceptedVersion, &accepted, &muted, &m.Banned, &m.UpdatedAt); err != nil {
		return store.Membership{}, err
	}
	m.AcceptedAt, m.MutedUntil, m.UpdatedAt = fromNull(accepted), fromNull(muted), m.UpdatedAt.UTC()
	return m, nil
}

func (s *Store) Membership(ctx context.Context, roomID, userID string) (store.Membership, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.Membership{}, fmt.Errorf("membership %s/%s: %w", roomID, userID, err)
	}
	defer cancel()
	m, err := scanMember(s.db.QueryRowContext(ctx,
		`SELECT `+memberCols+` FROM memberships WHERE room_id = $1 AND user_id = $2`, roomID, userID))
	if err != nil {
		return store.Membership{}, mapErr(fmt.Errorf("membership %s/%s: %w", roomID, userID, err))
	}
	return m, nil
}

// AcceptGuidelines creates the membership as a plain member if there is none; an existing
// row keeps its role, mute and ban.
func (s *Store) AcceptGuidelines(ctx context.Context, roomID, userID string, version int, at time.Time) (store.Membership, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.Membership{}, fmt.Errorf("accept guidelines %s/%s: %w", roomID, userID, err)
	}
	defer cancel()
	m, err := scanMember(s.db.QueryRowContext(ctx, `INSERT INTO memberships
		(room_id, user_id, role, accepted_version, accepted_at, banned, updated_at)
		VALUES ($1, $2, 'member', $3, $4, false, $4)
		ON CONFLICT (room_id, user_id) DO UPDATE SET
			accepted_version = excluded.accepted_version,
			accepted_at = excluded.accepted_at,
			updated_at = excluded.updated_at
		RETURNING `+memberCols, roomID, userID, version, ts(orNow(at))))
	if err != nil {
		return store.Membership{}, mapErr(fmt.Errorf("accept guidelines %s/%s: %w", roomID, userID, err))
	}
	return m, nil
}

// SetRoomRole creates the membership (guidelines not yet accepted) if there is none.
func (s *Store) SetRoomRole(ctx context.Context, roomID, userID, role string, at time.Time) (store.Membership, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.Membership{}, fmt.Errorf("set room role %s/%s: %w", roomID, userID, err)
	}
	defer cancel()
	m, err := scanMember(s.db.QueryRowContext(ctx, `INSERT INTO memberships
		(room_id, user_id, role, accepted_version, banned, updated_at)
		VALUES ($1, $2, $3, 0, false, $4)
		ON CONFLICT (room_id, user_id) DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at
		RETURNING `+memberCols, roomID, userID, role, ts(orNow(at))))
	if err != nil {
		return store.Membership{}, mapErr(fmt.Errorf("set room role %s/%s: %w", roomID, userID, err))
	}
	return m, nil
}
