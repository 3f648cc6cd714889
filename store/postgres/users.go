package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/havenhealth/haven/store"
)

const userCols = `id, email, display_name, role, verified, created_at, affiliation`

func scanUser(sc scanner, extra ...any) (store.User, error) {
	var u store.User
	dest := append([]any{&u.ID, &u.Email, &u.DisplayName, &u.Role, &u.Verified, &u.CreatedAt, &u.Affiliation}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return store.User{}, err
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return u, nil
}

// CreateUser stores u with its email lower-cased. The display-name key is lower-cased in Go,
// as in the SQLite backend, so both fold names identically.
func (s *Store) CreateUser(ctx context.Context, nu store.NewUser) (store.User, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.User{}, fmt.Errorf("create user %s: %w", nu.ID, err)
	}
	defer cancel()
	if nu.Role == "" {
		nu.Role = store.RoleMember
	}
	u, err := scanUser(s.db.QueryRowContext(ctx, `INSERT INTO users
		(id, email, display_name, display_name_key, password_hash, role, verified, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, false, $7) RETURNING `+userCols,
		nu.ID, strings.ToLower(nu.Email), nu.DisplayName, strings.ToLower(nu.DisplayName),
		nu.PasswordHash, nu.Role, ts(orNow(nu.CreatedAt))))
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
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
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
	u, err := scanUser(s.db.QueryRowContext(ctx,
		`SELECT `+userCols+`, password_hash FROM users WHERE email = $1`, strings.ToLower(email)), &hash)
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
	u, err := scanUser(s.db.QueryRowContext(ctx,
		`UPDATE users SET role = $1, verified = $2 WHERE id = $3 RETURNING `+userCols, role, verified, id))
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
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = $1`, role).Scan(&n); err != nil {
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
	_, err = s.db.ExecContext(ctx, `INSERT INTO sessions (id, token_hash, user_id, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, ss.ID, ss.TokenHash, ss.UserID, ts(orNow(ss.CreatedAt)), ts(ss.ExpiresAt))
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
	var ss store.Session
	row := s.db.QueryRowContext(ctx, `SELECT u.id, u.email, u.display_name, u.role, u.verified, u.created_at, u.affiliation,
			s.id, s.token_hash, s.created_at, s.expires_at
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2`, tokenHash, ts(now))
	u, err := scanUser(row, &ss.ID, &ss.TokenHash, &ss.CreatedAt, &ss.ExpiresAt)
	if err != nil {
		return store.Session{}, store.User{}, mapErr(fmt.Errorf("session: %w", err))
	}
	ss.UserID = u.ID
	ss.CreatedAt, ss.ExpiresAt = ss.CreatedAt.UTC(), ss.ExpiresAt.UTC()
	return ss, u, nil
}

// RevokeSession is idempotent: revoking twice keeps the first revocation time.
func (s *Store) RevokeSession(ctx context.Context, sessionID string) error {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("revoke session %s: %w", sessionID, err)
	}
	defer cancel()
	res, err := s.db.ExecContext(ctx, `UPDATE sessions SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2`,
		ts(time.Now()), sessionID)
	if err != nil {
		return mapErr(fmt.Errorf("revoke session %s: %w", sessionID, err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("revoke session %s: %w", sessionID, store.ErrNotFound)
	}
	return nil
}
