package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/havenhealth/haven/store"
)

const userCols = `id, email, display_name, role, verified, created_at, affiliation`

func scanUser(sc scanner, extra ...any) (store.User, error) {
	var (
		u       store.User
		created string
	)
	dest := append([]any{&u.ID, &u.Email, &u.DisplayName, &u.Role, &u.Verified, &created, &u.Affiliation}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return store.User{}, err
	}
	t, err := time.Parse(timeLayout, created)
	if err != nil {
		return store.User{}, fmt.Errorf("parse created_at: %w", err)
	}
	u.CreatedAt = t
	return u, nil
}

// CreateUser stores u with its email lower-cased. The display-name key is lower-cased in Go
// rather than by SQLite's lower(), which folds ASCII only.
func (s *Store) CreateUser(ctx context.Context, nu store.NewUser) (store.User, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	defer cancel()
	if nu.Role == "" {
		nu.Role = store.RoleMember
	}
	row := s.w.QueryRowContext(ctx, `INSERT INTO users
		(id, email, display_name, display_name_key, password_hash, role, verified, created_at)
		VALUES (?, ?, ?, ?, ?, ?, 0, ?) RETURNING `+userCols,
		nu.ID, strings.ToLower(nu.Email), nu.DisplayName, strings.ToLower(nu.DisplayName),
		nu.PasswordHash, nu.Role, fmtTime(orNow(nu.CreatedAt)))
	u, err := scanUser(row)
	if err != nil {
		return store.User{}, mapErr(fmt.Errorf("create user %s: %w", nu.ID, err))
	}
	return u, nil
}

func (s *Store) UserByID(ctx context.Context, id string) (store.User, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.User{}, fmt.Errorf("user %s: %w", id, err)
	}
	defer cancel()
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if err != nil {
		return store.User{}, mapErr(fmt.Errorf("user %s: %w", id, err))
	}
	return u, nil
}

func (s *Store) UserByEmail(ctx context.Context, email string) (store.User, string, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.User{}, "", fmt.Errorf("user by email: %w", err)
	}
	defer cancel()
	var hash string
	u, err := scanUser(s.r.QueryRowContext(ctx,
		`SELECT `+userCols+`, password_hash FROM users WHERE email = ?`, strings.ToLower(email)), &hash)
	if err != nil {
		// The address stays out of the error: it is private and errors end up in logs.
		return store.User{}, "", mapErr(fmt.Errorf("user by email: %w", err))
	}
	return u, hash, nil
}

func (s *Store) SetUserRole(ctx context.Context, id, role string, verified bool) (store.User, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.User{}, fmt.Errorf("set role of user %s: %w", id, err)
	}
	defer cancel()
	u, err := scanUser(s.w.QueryRowContext(ctx,
		`UPDATE users SET role = ?, verified = ? WHERE id = ? RETURNING `+userCols, role, verified, id))
	if err != nil {
		return store.User{}, mapErr(fmt.Errorf("set role of user %s: %w", id, err))
	}
	return u, nil
}

func (s *Store) CountUsersWithRole(ctx context.Context, role string) (int, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("count users with role %s: %w", role, err)
	}
	defer cancel()
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = ?`, role).Scan(&n); err != nil {
		return 0, mapErr(fmt.Errorf("count users with role %s: %w", role, err))
	}
	return n, nil
}

func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("create session %s: %w", ss.ID, err)
	}
	defer cancel()
	_, err = s.w.ExecContext(ctx, `INSERT INTO sessions (id, token_hash, user_id, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, ss.ID, ss.TokenHash, ss.UserID, fmtTime(orNow(ss.CreatedAt)), fmtTime(ss.ExpiresAt))
	if err != nil {
		return mapErr(fmt.Errorf("create session %s: %w", ss.ID, err))
	}
	return nil
}

func (s *Store) SessionUser(ctx context.Context, tokenHash []byte, now time.Time) (store.Session, store.User, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.Session{}, store.User{}, fmt.Errorf("session: %w", err)
	}
	defer cancel()
	var (
		ss               store.Session
		created, expires string
	)
	row := s.r.QueryRowContext(ctx, `SELECT u.id, u.email, u.display_name, u.role, u.verified, u.created_at, u.affiliation,
			s.id, s.token_hash, s.created_at, s.expires_at
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > ?`, tokenHash, fmtTime(now))
	u, err := scanUser(row, &ss.ID, &ss.TokenHash, &created, &expires)
	if err != nil {
		return store.Session{}, store.User{}, mapErr(fmt.Errorf("session: %w", err))
	}
	ss.UserID = u.ID
	if ss.CreatedAt, err = time.Parse(timeLayout, created); err == nil {
		ss.ExpiresAt, err = time.Parse(timeLayout, expires)
	}
	if err != nil {
		return store.Session{}, store.User{}, fmt.Errorf("session %s: %w", ss.ID, err)
	}
	return ss, u, nil
}

// RevokeSession is idempotent: revoking twice keeps the first revocation time.
func (s *Store) RevokeSession(ctx context.Context, sessionID string) error {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("revoke session %s: %w", sessionID, err)
	}
	defer cancel()
	res, err := s.w.ExecContext(ctx, `UPDATE sessions SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`,
		fmtTime(time.Now()), sessionID)
	if err != nil {
		return mapErr(fmt.Errorf("revoke session %s: %w", sessionID, err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("revoke session %s: %w", sessionID, store.ErrNotFound)
	}
	return nil
}
