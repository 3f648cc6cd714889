package accounts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// Client-facing messages shared by several paths; identical text matters where it keeps an
// attacker from telling cases apart.
const (
	msgWrongCredentials = "wrong email or password"
	msgTaken            = "that email or display name is already registered"
	msgSignIn           = "sign in first"
	msgExpired          = "session expired"
)

// Service signs members up and in and resolves their sessions.
type Service struct {
	st     store.Store
	cfg    Config
	params argonParams
	hashes chan struct{} // semaphore bounding concurrent argon2 work

	ipLimits      *limiterSet
	accountLimits *limiterSet

	dummyOnce sync.Once
	dummyHash string // verified against for unknown accounts so they take as long as known ones

	mu      sync.Mutex          // guards invites
	invites map[string]struct{} // SHA-256 (hex) of live admin invites
}

// New returns a Service over st. cfg's zero fields take their documented defaults.
func New(st store.Store, cfg Config) *Service {
	cfg = cfg.withDefaults()
	return &Service{
		st:            st,
		cfg:           cfg,
		params:        argonParams{time: cfg.Argon2Time, memory: cfg.Argon2MemoryKiB, threads: cfg.Argon2Threads},
		hashes:        make(chan struct{}, cfg.MaxConcurrentHashes),
		ipLimits:      newLimiterSet(cfg.LoginIPRate, cfg.LoginIPBurst),
		accountLimits: newLimiterSet(cfg.LoginAccountRate, cfg.LoginAccountBurst),
		invites:       make(map[string]struct{}),
	}
}

// SignupRequest is what a new member submits. Invite is optional: a valid admin invite
// makes the new account an admin.
type SignupRequest struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
	Invite      string `json:"invite,omitempty"`
}

// Signup creates a member account and signs it in, returning the user and a session token.
func (s *Service) Signup(ctx context.Context, req SignupRequest) (store.User, string, error) {
	email := normalizeEmail(req.Email)
	name := normalizeName(req.DisplayName)
	if err := checkEmail(email); err != nil {
		return store.User{}, "", err
	}
	if err := checkPassword(req.Password); err != nil {
		return store.User{}, "", err
	}
	if err := checkName(name, email); err != nil {
		return store.User{}, "", err
	}
	role := store.RoleMember
	if req.Invite != "" {
		// Take the invite before creating the user so two sign-ups cannot both use it;
		// give it back if the sign-up fails, so a typo does not burn the only admin link.
		if !s.takeInvite(req.Invite) {
			return store.User{}, "", protocol.Errorf(protocol.CodeForbidden, "that invite is invalid or already used")
		}
		role = store.RoleAdmin
	}
	u, err := s.createUser(ctx, email, name, req.Password, role)
	if err != nil {
		if role == store.RoleAdmin {
			s.putInvite(req.Invite)
		}
		return store.User{}, "", err
	}
	slog.InfoContext(ctx, "account created", "user", u.ID, "role", u.Role)
	token, err := s.newSession(ctx, u)
	if err != nil {
		return store.User{}, "", fmt.Errorf("signup %s: %w", u.ID, err)
	}
	return u, token, nil
}

func (s *Service) createUser(ctx context.Context, email, name, password, role string) (store.User, error) {
	hash, err := s.hash(ctx, password)
	if err != nil {
		return store.User{}, err
	}
	u, err := s.st.CreateUser(ctx, store.NewUser{
		ID:           ids.New("u_"),
		Email:        email,
		DisplayName:  name,
		PasswordHash: hash,
		Role:         role,
		CreatedAt:    s.cfg.Now(),
	})
	if errors.Is(err, store.ErrConflict) {
		return store.User{}, &protocol.Error{Code: protocol.CodeConflict, Message: msgTaken, Cause: err}
	}
	if err != nil {
		return store.User{}, storeErr("create user", err)
	}
	return u, nil
}

// Login checks email and password and opens a session. remoteAddr ("host:port" or "host")
// keys the per-address rate limit.
func (s *Service) Login(ctx context.Context, email, password, remoteAddr string) (store.User, string, error) {
	now := s.cfg.Now()
	email = normalizeEmail(email)
	if _, wait := s.ipLimits.reserve(addrKey(remoteAddr), now); wait > 0 {
		return store.User{}, "", rateLimited(wait)
	}
	acct, wait := s.accountLimits.reserve(email, now)
	if wait > 0 {
		return store.User{}, "", rateLimited(wait)
	}
	u, hash, err := s.st.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		hash = s.dummy()
	case err != nil:
		return store.User{}, "", storeErr("login", err)
	}
	ok, verr := s.verify(ctx, password, hash)
	if verr != nil && !errors.Is(verr, errBadHash) {
		return store.User{}, "", verr
	}
	if verr != nil {
		slog.ErrorContext(ctx, "stored password hash unreadable", "user", u.ID, "err", verr)
	}
	if !ok || err != nil {
		return store.User{}, "", protocol.Errorf(protocol.CodeUnauthorized, msgWrongCredentials)
	}
	// Only failures count against the account, so its owner is not locked out by their own
	// sign-ins; the attempt was reserved up front so parallel guesses cannot overshoot.
	if acct != nil {
		acct.CancelAt(now)
	}
	token, err := s.newSession(ctx, u)
	if err != nil {
		return store.User{}, "", fmt.Errorf("login %s: %w", u.ID, err)
	}
	return u, token, nil
}

// Logout revokes a session everywhere: the store forgets it and OnRevoke lets the server
// close its live connections on every node.
func (s *Service) Logout(ctx context.Context, sessionID string) error {
	err := s.st.RevokeSession(ctx, sessionID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return storeErr("logout "+sessionID, err)
	}
	s.cfg.OnRevoke(sessionID)
	return nil
}

// Authenticate resolves a bearer token to its live session and user.
func (s *Service) Authenticate(ctx context.Context, token string) (store.Session, store.User, error) {
	if token == "" {
		return store.Session{}, store.User{}, protocol.Errorf(protocol.CodeUnauthorized, msgSignIn)
	}
	now := s.cfg.Now()
	sess, u, err := s.st.SessionUser(ctx, tokenHash(token), now)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, store.User{}, &protocol.Error{Code: protocol.CodeUnauthorized, Message: msgExpired, Cause: err}
	}
	if err != nil {
		return store.Session{}, store.User{}, storeErr("authenticate", err)
	}
	// The store filters expired sessions too; checking here keeps the TTL exact whatever
	// clock the store uses.
	if !now.Before(sess.ExpiresAt) {
		return store.Session{}, store.User{}, protocol.Errorf(protocol.CodeUnauthorized, msgExpired)
	}
	return sess, u, nil
}

func (s *Service) newSession(ctx context.Context, u store.User) (string, error) {
	token := ids.Token()
	now := s.cfg.Now()
	sess := store.Session{
		ID:        ids.New("s_"),
		TokenHash: tokenHash(token),
		UserID:    u.ID,
		CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.SessionTTL),
	}
	if err := s.st.CreateSession(ctx, sess); err != nil {
		return "", storeErr("create session", err)
	}
	return token, nil
}

// hash runs argon2id under the concurrency bound.
func (s *Service) hash(ctx context.Context, password string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()
	return hashPassword(password, s.params), nil
}

func (s *Service) verify(ctx context.Context, password, encoded string) (bool, error) {
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer s.release()
	return verifyPassword(password, encoded)
}

func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.hashes <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &protocol.Error{Code: protocol.CodeUnavailable, Message: "server busy, try again", Cause: ctx.Err()}
	}
}

func (s *Service) release() { <-s.hashes }

func (s *Service) dummy() string {
	s.dummyOnce.Do(func() { s.dummyHash = hashPassword(ids.Token(), s.params) })
	return s.dummyHash
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func inviteKey(invite string) string {
	h := sha256.Sum256([]byte(invite))
	return hex.EncodeToString(h[:])
}

func rateLimited(wait time.Duration) error {
	ms := (wait + time.Millisecond - 1).Milliseconds()
	return protocol.Errorf(protocol.CodeRateLimited, "too many attempts; try again later").With("retry_after_ms", ms)
}

// storeErr turns a store failure into what a client sees: 503 when the database is
// unreachable (retrying helps), 500 otherwise. The cause is kept for the log.
func storeErr(op string, err error) error {
	err = fmt.Errorf("%s: %w", op, err)
	if errors.Is(err, store.ErrUnavailable) {
		return &protocol.Error{Code: protocol.CodeUnavailable, Message: "service temporarily unavailable, try again", Cause: err}
	}
	return &protocol.Error{Code: protocol.CodeInternal, Message: "internal error", Cause: err}
}
