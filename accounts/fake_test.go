package accounts

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/havenhealth/haven/store"
)

// fakeStore keeps users and sessions in memory; the room and message methods are not used
// by accounts and panic if called. Setting down makes every call fail as unreachable.
type fakeStore struct {
	store.Store // nil: unimplemented methods panic

	mu       sync.Mutex
	down     bool
	users    map[string]store.User
	hashes   map[string]string // user id → password hash
	sessions map[string]store.Session
	revoked  map[string]bool
	audit    []store.AuditEntry
}

var _ store.Store = (*fakeStore)(nil)

func newFakeStore() *fakeStore {
	return &fakeStore{
		users:    map[string]store.User{},
		hashes:   map[string]string{},
		sessions: map[string]store.Session{},
		revoked:  map[string]bool{},
	}
}

func (f *fakeStore) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func (f *fakeStore) check() error {
	if f.down {
		return fmt.Errorf("fake: dial: %w", store.ErrUnavailable)
	}
	return nil
}

func (f *fakeStore) CreateUser(_ context.Context, nu store.NewUser) (store.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return store.User{}, err
	}
	for _, u := range f.users {
		if u.Email == nu.Email || strings.EqualFold(u.DisplayName, nu.DisplayName) {
			return store.User{}, fmt.Errorf("fake: insert user: %w", store.ErrConflict)
		}
	}
	u := store.User{ID: nu.ID, Email: nu.Email, DisplayName: nu.DisplayName, Role: nu.Role, CreatedAt: nu.CreatedAt}
	f.users[u.ID] = u
	f.hashes[u.ID] = nu.PasswordHash
	return u, nil
}

func (f *fakeStore) UserByID(_ context.Context, id string) (store.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return store.User{}, err
	}
	u, ok := f.users[id]
	if !ok {
		return store.User{}, fmt.Errorf("fake: user %s: %w", id, store.ErrNotFound)
	}
	return u, nil
}

func (f *fakeStore) UserByEmail(_ context.Context, email string) (store.User, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return store.User{}, "", err
	}
	for _, u := range f.users {
		if u.Email == email {
			return u, f.hashes[u.ID], nil
		}
	}
	return store.User{}, "", fmt.Errorf("fake: email: %w", store.ErrNotFound)
}

func (f *fakeStore) SetUserRole(_ context.Context, id, role string, verified bool) (store.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return store.User{}, err
	}
	u, ok := f.users[id]
	if !ok {
		return store.User{}, fmt.Errorf("fake: user %s: %w", id, store.ErrNotFound)
	}
	u.Role, u.Verified = role, verified
	f.users[id] = u
	return u, nil
}

// ApplyModeration supports what accounts uses it for: global role changes. The audit
// entries are kept so tests can check them.
func (f *fakeStore) ApplyModeration(_ context.Context, ch store.ModerationChange) (store.AuditEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return store.AuditEntry{}, err
	}
	if ch.UserRole == nil || ch.Audit.RoomID != "" {
		panic("fake: ApplyModeration supports global role changes only")
	}
	u, ok := f.users[ch.Audit.TargetID]
	if !ok {
		return store.AuditEntry{}, fmt.Errorf("fake: user %s: %w", ch.Audit.TargetID, store.ErrNotFound)
	}
	u.Role = *ch.UserRole
	if ch.Verified != nil {
		u.Verified = *ch.Verified
	}
	f.users[u.ID] = u
	e := ch.Audit
	e.ID = int64(len(f.audit) + 1)
	f.audit = append(f.audit, e)
	return e, nil
}

func (f *fakeStore) CountUsersWithRole(_ context.Context, role string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return 0, err
	}
	n := 0
	for _, u := range f.users {
		if u.Role == role {
			n++
		}
	}
	return n, nil
}

func (f *fakeStore) CreateSession(_ context.Context, s store.Session) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return err
	}
	f.sessions[s.ID] = s
	return nil
}

func (f *fakeStore) SessionUser(_ context.Context, hash []byte, now time.Time) (store.Session, store.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return store.Session{}, store.User{}, err
	}
	for _, s := range f.sessions {
		if bytes.Equal(s.TokenHash, hash) && !f.revoked[s.ID] && now.Before(s.ExpiresAt) {
			return s, f.users[s.UserID], nil
		}
	}
	return store.Session{}, store.User{}, fmt.Errorf("fake: session: %w", store.ErrNotFound)
}

func (f *fakeStore) RevokeSession(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return err
	}
	if _, ok := f.sessions[id]; !ok {
		return fmt.Errorf("fake: session %s: %w", id, store.ErrNotFound)
	}
	f.revoked[id] = true
	return nil
}

func (f *fakeStore) Ping(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.check()
}

func (f *fakeStore) Close() error { return nil }
