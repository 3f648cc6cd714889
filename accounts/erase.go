package accounts

import (
	"context"
	"errors"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// What account erasure (server/api_privacy.go) needs from accounts: a password check for
// the member's own erasure, a hash nobody can sign in with, and the revocation path that
// closes live sockets.

// CheckPassword confirms that password is u's, under the same per-account limit as login,
// so a stolen session cannot be used to guess it.
func (s *Service) CheckPassword(ctx context.Context, u store.User, password string) error {
	now := s.cfg.Now()
	acct, wait := s.accountLimits.reserve(normalizeEmail(u.Email), now)
	if wait > 0 {
		return rateLimited(wait)
	}
	_, hash, err := s.st.UserByEmail(ctx, u.Email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return storeErr("check password", err)
	}
	if err != nil {
		hash = s.dummy()
	}
	ok, verr := s.verify(ctx, password, hash)
	if verr != nil && !errors.Is(verr, errBadHash) {
		return verr
	}
	if !ok || err != nil {
		return protocol.Errorf(protocol.CodeUnauthorized, "wrong password")
	}
	if acct != nil {
		acct.CancelAt(now)
	}
	return nil
}

// UnusableHash is a password hash of a random secret nobody holds: an erased account's
// tombstone gets it, so it can never sign in and a login attempt costs what any other does.
func (s *Service) UnusableHash() string { return s.dummy() }

// SessionsRevoked tells the server (OnRevoke) that the store has revoked these sessions, so
// their live sockets close on every node.
func (s *Service) SessionsRevoked(ids []string) {
	for _, id := range ids {
		s.cfg.OnRevoke(id)
	}
}
