package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// EnsureAdmin creates the configured admin (HAVEN_ADMIN_EMAIL / HAVEN_ADMIN_PASSWORD) on
// first start. It is a no-op when the email already has an account, whatever its role, so
// a restart never resets a password or role an admin has since changed.
func (s *Service) EnsureAdmin(ctx context.Context, email, password string) (created bool, err error) {
	email = normalizeEmail(email)
	if err := checkEmail(email); err != nil {
		return false, fmt.Errorf("ensure admin: %w", err)
	}
	if err := checkPassword(password); err != nil {
		return false, fmt.Errorf("ensure admin: %w", err)
	}
	_, _, err = s.st.UserByEmail(ctx, email)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return false, storeErr("ensure admin", err)
	}
	// The admin picks a pseudonym later; a random suffix keeps this one unique and never
	// derived from the email.
	name := "admin-" + ids.New("")[:6]
	u, err := s.createUser(ctx, email, name, password, store.RoleAdmin)
	if err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) && pe.Code == protocol.CodeConflict {
			// Another node created it first.
			return false, nil
		}
		return false, fmt.Errorf("ensure admin: %w", err)
	}
	slog.InfoContext(ctx, "admin account created", "user", u.ID)
	return true, nil
}

// AdminInvite returns a one-time token for an admin sign-up link (/?invite=<token>), or ""
// when an admin already exists and no link is needed. Invites live in this process's memory
// only: the link is printed once at start for the operator, and losing it on restart just
// means a new one is printed.
func (s *Service) AdminInvite(ctx context.Context) (string, error) {
	n, err := s.st.CountUsersWithRole(ctx, store.RoleAdmin)
	if err != nil {
		return "", storeErr("admin invite", err)
	}
	if n > 0 {
		return "", nil
	}
	token := ids.Token()
	s.putInvite(token)
	return token, nil
}

func (s *Service) takeInvite(invite string) bool {
	k := inviteKey(invite)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.invites[k]; !ok {
		return false
	}
	delete(s.invites, k)
	return true
}

func (s *Service) putInvite(invite string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invites[inviteKey(invite)] = struct{}{}
}

// SetRole changes a user's global role. Only admins may; a clinician is verified by the act
// of an admin granting the role, and any other role clears verification.
func (s *Service) SetRole(ctx context.Context, actor store.User, userID, role string) (store.User, error) {
	if actor.Role != store.RoleAdmin {
		return store.User{}, protocol.Errorf(protocol.CodeForbidden, "only an admin can change roles")
	}
	if !validRole(role) {
		return store.User{}, protocol.Errorf(protocol.CodeBadRequest, "role must be member, clinician, moderator or admin")
	}
	target, err := s.st.UserByID(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, protocol.Errorf(protocol.CodeNotFound, "no such user")
	}
	if err != nil {
		return store.User{}, storeErr("set role: user "+userID, err)
	}
	if target.Role == store.RoleAdmin && role != store.RoleAdmin {
		// A community with no admin cannot be administered without shell access.
		n, err := s.st.CountUsersWithRole(ctx, store.RoleAdmin)
		if err != nil {
			return store.User{}, storeErr("set role: count admins", err)
		}
		if n <= 1 {
			return store.User{}, protocol.Errorf(protocol.CodeConflict, "cannot demote the last admin")
		}
	}
	// A global role change is a moderation act like any other: it goes into the audit log
	// (with no room) in the same transaction as the change itself.
	verified := role == store.RoleClinician
	detail, _ := json.Marshal(map[string]any{"role": role, "verified": verified, "previous_role": target.Role})
	_, err = s.st.ApplyModeration(ctx, store.ModerationChange{
		Audit: store.AuditEntry{ActorID: actor.ID, TargetID: userID, Action: "user_role",
			Detail: string(detail), At: s.cfg.Now()},
		UserRole: &role, Verified: &verified,
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, protocol.Errorf(protocol.CodeNotFound, "no such user")
	}
	if err != nil {
		return store.User{}, storeErr("set role "+userID, err)
	}
	u, err := s.st.UserByID(ctx, userID)
	if err != nil {
		return store.User{}, storeErr("set role: reread user "+userID, err)
	}
	slog.InfoContext(ctx, "role changed", "actor", actor.ID, "user", u.ID, "role", u.Role, "verified", u.Verified)
	s.cfg.OnUserChanged(u.ID)
	return u, nil
}
