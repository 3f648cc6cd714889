package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/havenhealth/haven/internal/httpx"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// Pseudonym is the display name an erased account's tombstone keeps: stable for the ID, so
// a legal-hold record and the room history name the same former member, and telling
// nothing about who they were.
func Pseudonym(userID string) string {
	h := sha256.Sum256([]byte(userID))
	return "Former member " + hex.EncodeToString(h[:2])
}

// MaxEraseReason bounds an admin's erasure reason.
const MaxEraseReason = 500

// eraseMe: DELETE /api/me {password}. The password is asked again, so that a session left
// open on a shared computer cannot erase its owner's account.
func (s *Server) eraseMe(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	var req struct {
		Password string `json:"password"`
	}
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if req.Password == "" {
		httpx.WriteError(w, r, protocol.Errorf(protocol.CodeBadRequest, "enter your password to erase your account"))
		return
	}
	if err := s.accounts.CheckPassword(r.Context(), u, req.Password); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	s.writeErasure(w, r, u, u, "self", "")
}

// eraseUser: DELETE /api/users/{user_id} {reason}, admins only.
func (s *Server) eraseUser(w http.ResponseWriter, r *http.Request, _ store.Session, actor store.User) {
	if actor.Role != store.RoleAdmin {
		httpx.WriteError(w, r, protocol.Errorf(protocol.CodeForbidden, "only an admin can erase another member's account"))
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	req.Reason = strings.TrimSpace(req.Reason)
	if req.Reason == "" || len([]rune(req.Reason)) > MaxEraseReason {
		httpx.WriteError(w, r, protocol.Errorf(protocol.CodeBadRequest, "a reason of 1-%d characters is required", MaxEraseReason))
		return
	}
	target, err := s.st.UserByID(r.Context(), r.PathValue("user_id"))
	if err != nil {
		httpx.WriteError(w, r, privacyErr(fmt.Errorf("erase: %w", err), "user"))
		return
	}
	s.writeErasure(w, r, actor, target, "admin", req.Reason)
}

func (s *Server) writeErasure(w http.ResponseWriter, r *http.Request, actor, target store.User, by, reason string) {
	res, err := s.erase(r.Context(), actor, target, by, reason)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"erased": target.ID, "pseudonym": Pseudonym(target.ID),
		"content": s.cfg.Privacy.erasureContent(), "messages": res.Removed, "legal_hold_kept": res.LegalHold,
		"audit_id": res.Audit.ID})
}

// erase erases target's account and closes its sockets on every node. An admin account is
// refused: it must be demoted first, so a community never loses its last admin this way.
func (s *Server) erase(ctx context.Context, actor, target store.User, by, reason string) (store.ErasureResult, error) {
	if target.Role == store.RoleAdmin {
		return store.ErasureResult{}, protocol.Errorf(protocol.CodeConflict, "an admin account must be demoted before it is erased")
	}
	content := s.cfg.Privacy.erasureContent()
	// No personal data in the entry: the target is the (pseudonymous) ID only.
	detail, _ := json.Marshal(map[string]any{"by": by, "content": content})
	res, err := s.st.EraseUser(ctx, store.Erasure{UserID: target.ID, Pseudonym: Pseudonym(target.ID),
		PasswordHash: s.accounts.UnusableHash(), Content: content,
		Audit: store.AuditEntry{ActorID: actor.ID, TargetID: target.ID, Action: "erase_account", Reason: reason,
			Detail: string(detail), At: time.Now()}})
	if err != nil {
		return res, privacyErr(fmt.Errorf("erase %s: %w", target.ID, err), "account")
	}
	s.accounts.SessionsRevoked(res.SessionIDs)
	// Members with the rooms open see the messages go now, not at their next reload; the
	// wire contract knows two deleters, and an erasure is the author's or an admin's act.
	tombstoneBy := "author"
	if by != "self" {
		tombstoneBy = "moderator"
	}
	s.rooms.TellErased(context.WithoutCancel(ctx), res.Deleted, tombstoneBy)
	if len(res.Renamed) > 0 {
		// The tombstone account as history now serves it: the pseudonym, no role or badge.
		if u, err := s.st.UserByID(context.WithoutCancel(ctx), target.ID); err != nil {
			s.log.Warn("erasure: read the pseudonymous account; rooms see it at their next join", "user", target.ID, "err", err)
		} else {
			s.rooms.TellRenamed(context.WithoutCancel(ctx), res.Renamed, u)
		}
	}
	s.log.Info("account erased", "user", target.ID, "by", by, "content", content, "messages", res.Removed,
		"legal_hold", res.LegalHold, "audit", res.Audit.ID)
	return res, nil
}

// exportMe: GET /api/me/export → the caller's data as a JSON download. The export is
// audited (export_data) before a byte of it is sent; no audit, no export.
func (s *Server) exportMe(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	ctx := r.Context()
	x, err := s.st.ExportUser(ctx, u.ID)
	if err != nil {
		httpx.WriteError(w, r, privacyErr(fmt.Errorf("export %s: %w", u.ID, err), "user"))
		return
	}
	rms, err := s.st.ListRooms(ctx)
	if err != nil {
		httpx.WriteError(w, r, privacyErr(fmt.Errorf("export %s: rooms: %w", u.ID, err), "rooms"))
		return
	}
	slugs := make(map[string]string, len(rms))
	for _, rm := range rms {
		slugs[rm.ID] = rm.Slug
	}
	now := time.Now()
	if _, err := s.st.ApplyModeration(ctx, store.ModerationChange{Audit: store.AuditEntry{ActorID: u.ID,
		TargetID: u.ID, Action: "export_data", Detail: `{"format":"` + ExportFormat + `"}`, At: now}}); err != nil {
		httpx.WriteError(w, r, privacyErr(fmt.Errorf("audit export of %s: %w", u.ID, err), "user"))
		return
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="haven-export-%s.json"`, now.UTC().Format("20060102-150405")))
	httpx.WriteJSON(w, http.StatusOK, wireExport(x, slugs, sess.ID, now))
}

// wireExport is the export document (haven.export.v1, described in docs/PROTOCOL.md).
func wireExport(x store.UserExport, slugs map[string]string, currentSession string, now time.Time) map[string]any {
	list := func(n int, f func(i int) map[string]any) []map[string]any {
		out := make([]map[string]any, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	return map[string]any{
		"format":      ExportFormat,
		"exported_at": protocol.TS(now),
		"user": map[string]any{"id": x.User.ID, "email": x.User.Email, "display_name": x.User.DisplayName,
			"role": x.User.Role, "verified": x.User.Verified, "affiliation": x.User.Affiliation,
			"created_at": protocol.TS(x.User.CreatedAt), "erased_at": tsOrNil(x.ErasedAt)},
		"sessions": list(len(x.Sessions), func(i int) map[string]any {
			ss := x.Sessions[i]
			return map[string]any{"id": ss.ID, "created_at": protocol.TS(ss.CreatedAt), "expires_at": protocol.TS(ss.ExpiresAt),
				"revoked_at": tsOrNil(ss.RevokedAt), "current": ss.ID == currentSession}
		}),
		"memberships": list(len(x.Memberships), func(i int) map[string]any {
			m := x.Memberships[i]
			return map[string]any{"room": m.RoomSlug, "role": m.Role, "accepted_guidelines_version": m.AcceptedVersion,
				"accepted_guidelines_at": tsOrNil(m.AcceptedAt), "muted_until": tsOrNil(m.MutedUntil), "banned": m.Banned,
				"updated_at": tsOrNil(m.UpdatedAt)}
		}),
		"consents": list(len(x.Consents), func(i int) map[string]any { return wireConsent(x.Consents[i]) }),
		"messages": list(len(x.Messages), func(i int) map[string]any {
			m := x.Messages[i]
			return map[string]any{"room": m.RoomSlug, "seq": m.Seq, "message_id": m.ID, "client_msg_id": m.ClientMsgID,
				"text": m.Text, "created_at": protocol.TS(m.CreatedAt), "deleted": m.Deleted(),
				"deleted_at": tsOrNil(m.DeletedAt), "deleted_by": m.DeletedBy, "legal_hold": m.LegalHold}
		}),
		"message_edits": list(len(x.Edits), func(i int) map[string]any {
			e := x.Edits[i]
			return map[string]any{"room": e.RoomSlug, "seq": e.Seq, "previous_text": e.PrevText, "edited_at": protocol.TS(e.EditedAt)}
		}),
		"held_messages": list(len(x.HeldMessages), func(i int) map[string]any {
			h := x.HeldMessages[i]
			return map[string]any{"id": h.ID, "room": slugs[h.RoomID], "text": h.Text, "reason": h.Reason, "status": h.Status,
				"created_at": protocol.TS(h.CreatedAt), "decided_at": tsOrNil(h.DecidedAt), "seq": h.Seq}
		}),
		"reports": list(len(x.Reports), func(i int) map[string]any {
			rp := x.Reports[i]
			return map[string]any{"id": rp.ID, "room": slugs[rp.RoomID], "seq": rp.Seq, "category": rp.Category,
				"reason": rp.Reason, "snapshot": rp.Snapshot, "status": rp.Status, "created_at": protocol.TS(rp.CreatedAt)}
		}),
		"questions": list(len(x.Questions), func(i int) map[string]any {
			q := x.Questions[i]
			return map[string]any{"id": q.ID, "session_id": q.SessionID, "room": slugs[q.RoomID], "text": q.Text,
				"status": q.Status, "created_at": protocol.TS(q.CreatedAt)}
		}),
		"question_votes": list(len(x.QuestionVotes), func(i int) map[string]any {
			v := x.QuestionVotes[i]
			return map[string]any{"room": v.RoomSlug, "session_id": v.SessionID, "question_id": v.TargetID, "at": protocol.TS(v.CreatedAt)}
		}),
		"poll_votes": list(len(x.PollVotes), func(i int) map[string]any {
			v := x.PollVotes[i]
			return map[string]any{"room": v.RoomSlug, "session_id": v.SessionID, "poll_id": v.TargetID, "option": v.Choice,
				"at": protocol.TS(v.CreatedAt)}
		}),
		"safety_followups": list(len(x.Followups), func(i int) map[string]any {
			f := x.Followups[i]
			dir := "from_me"
			if f.ToMe {
				dir = "to_me"
			}
			return map[string]any{"id": f.ID, "case_id": f.CaseID, "direction": dir, "text": f.Text, "at": protocol.TS(f.At)}
		}),
	}
}
