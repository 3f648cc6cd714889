package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/havenhealth/haven/internal/httpx"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/rooms"
	"github.com/havenhealth/haven/store"
)

// PrivacyConfig is the deployment's consent, erasure and retention policy. The zero value
// requires no consent, deletes an erased member's messages and runs retention hourly.
type PrivacyConfig struct {
	// HealthConsentVersion is the health-data consent version members must grant before
	// posting; 0 = not required.
	HealthConsentVersion int
	// HealthConsentText is what they agree to; default rooms.DefaultConsentText.
	HealthConsentText string
	// ErasureContent is store.ErasureDelete (default) or store.ErasurePseudonymise.
	ErasureContent string
	// RetentionInterval is how often the retention job runs; default 1h.
	RetentionInterval time.Duration
	// Now is the retention job's clock; default time.Now.
	Now func() time.Time
}

// apply hands the consent policy to the rooms service (its post pipeline enforces it),
// unless the caller configured the rooms service directly.
func (c PrivacyConfig) apply(rc *rooms.Config) {
	if rc.Consent == (rooms.ConsentPolicy{}) {
		rc.Consent = rooms.ConsentPolicy{Version: c.HealthConsentVersion, Text: c.HealthConsentText}
	}
}

// erasureContent is the configured policy; anything unknown erases (the stricter choice).
func (c PrivacyConfig) erasureContent() string {
	if c.ErasureContent == store.ErasurePseudonymise {
		return store.ErasurePseudonymise
	}
	return store.ErasureDelete
}

// ExportFormat names the export's schema; a change that is not purely additive gets a new one.
const ExportFormat = "haven.export.v1"

// MaxRetentionDays bounds retention_days (100 years).
const MaxRetentionDays = 36500

// privacyRoutes serves consent, export and erasure (issue 7).
func (s *Server) privacyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/me/consents", s.accounts.RequireUser(s.listConsents))
	mux.HandleFunc("POST /api/me/consents", s.accounts.RequireUser(s.grantConsent))
	mux.HandleFunc("DELETE /api/me/consents/{kind}", s.accounts.RequireUser(s.withdrawConsent))
	mux.HandleFunc("GET /api/me/export", s.accounts.RequireUser(s.exportMe))
	mux.HandleFunc("DELETE /api/me", s.accounts.RequireUser(s.eraseMe))
	mux.HandleFunc("DELETE /api/users/{user_id}", s.accounts.RequireUser(s.eraseUser))
	mux.HandleFunc("GET /api/rooms/{slug}/retention", s.accounts.RequireUser(s.roomRetention))
}

// privacyErr turns a store failure into what a client sees; the cause stays for the log.
func privacyErr(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &protocol.Error{Code: protocol.CodeNotFound, Message: what + " not found", Cause: err}
	case errors.Is(err, store.ErrConflict):
		return &protocol.Error{Code: protocol.CodeConflict, Message: "changed at the same moment elsewhere; try again", Cause: err}
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return &protocol.Error{Code: protocol.CodeUnavailable, Message: "storage is unavailable; nothing was saved, try again", Cause: err}
	default:
		return &protocol.Error{Code: protocol.CodeInternal, Message: "internal error", Cause: err}
	}
}

func tsOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return protocol.TS(t)
}

func wireConsent(c store.Consent) map[string]any {
	return map[string]any{"kind": c.Kind, "version": c.Version, "granted_at": protocol.TS(c.GrantedAt),
		"withdrawn_at": tsOrNil(c.WithdrawnAt), "active": c.Active()}
}

// requiredConsent describes what the deployment asks for, or nil.
func (s *Server) requiredConsent() any {
	p := s.rooms.Consent()
	if !p.Required() {
		return nil
	}
	return map[string]any{"kind": store.ConsentHealthData, "version": p.Version, "text": p.ConsentText()}
}

// listConsents: GET /api/me/consents → {required, consents (newest first)}.
func (s *Server) listConsents(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	list, err := s.st.Consents(r.Context(), u.ID)
	if err != nil {
		httpx.WriteError(w, r, privacyErr(fmt.Errorf("consents of %s: %w", u.ID, err), "consent"))
		return
	}
	out := make([]map[string]any, len(list))
	for i, c := range list {
		out[i] = wireConsent(c)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"required": s.requiredConsent(), "consents": out})
}

// grantConsent: POST /api/me/consents {kind, version}. Only the version the deployment asks
// for can be granted, so a stale page cannot record agreement to a text no longer shown.
func (s *Server) grantConsent(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	var req struct {
		Kind    string `json:"kind"`
		Version int    `json:"version"`
	}
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	p := s.rooms.Consent()
	switch {
	case req.Kind != store.ConsentHealthData:
		httpx.WriteError(w, r, protocol.Errorf(protocol.CodeBadRequest, "kind must be %q", store.ConsentHealthData))
		return
	case !p.Required():
		httpx.WriteError(w, r, protocol.Errorf(protocol.CodeBadRequest, "this community does not ask for the health-data consent"))
		return
	case req.Version != p.Version:
		httpx.WriteError(w, r, protocol.Errorf(protocol.CodeBadRequest, "the current consent is version %d", p.Version).
			With("version", p.Version))
		return
	}
	c, err := s.st.GrantConsent(r.Context(), u.ID, req.Kind, req.Version, time.Now())
	if err != nil {
		httpx.WriteError(w, r, privacyErr(fmt.Errorf("grant consent of %s: %w", u.ID, err), "user"))
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"consent": wireConsent(c)})
}

// withdrawConsent: DELETE /api/me/consents/{kind}. In force on every node once it returns:
// the post pipeline reads the store (rooms/consent.go).
func (s *Server) withdrawConsent(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	kind := r.PathValue("kind")
	if kind != store.ConsentHealthData {
		httpx.WriteError(w, r, protocol.Errorf(protocol.CodeBadRequest, "kind must be %q", store.ConsentHealthData))
		return
	}
	c, err := s.st.WithdrawConsent(r.Context(), u.ID, kind, time.Now())
	if err != nil {
		httpx.WriteError(w, r, privacyErr(fmt.Errorf("withdraw consent of %s: %w", u.ID, err), "consent in force"))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"consent": wireConsent(c)})
}

// roomRetention: GET /api/rooms/{slug}/retention → {room, retention_days}, for anyone who
// can see the room: members are entitled to know how long their words are kept.
func (s *Server) roomRetention(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	slug := r.PathValue("slug")
	room, err := s.rooms.Get(r.Context(), slug)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if ok, err := s.rooms.CanSee(r.Context(), u, room.Info()); err != nil || !ok {
		if err == nil {
			err = protocol.Errorf(protocol.CodeNotFound, "no room %q", slug)
		}
		httpx.WriteError(w, r, err)
		return
	}
	all, err := s.st.RoomRetentions(r.Context())
	if err != nil {
		httpx.WriteError(w, r, privacyErr(fmt.Errorf("retentions: %w", err), "room"))
		return
	}
	days := 0
	for _, rr := range all {
		if rr.Slug == slug {
			days = rr.Days
		}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"room": slug, "retention_days": days})
}

// setRetention sets a room's retention_days (admins only, audited as room_retention); the
// PATCH /api/rooms/{slug} handler calls it.
func (s *Server) setRetention(ctx context.Context, actor store.User, slug string, days int) error {
	if actor.Role != store.RoleAdmin {
		return protocol.Errorf(protocol.CodeForbidden, "only admins set a room's retention")
	}
	if days < 0 || days > MaxRetentionDays {
		return protocol.Errorf(protocol.CodeBadRequest, "retention_days must be 0 (keep forever) to %d", MaxRetentionDays)
	}
	room, err := s.rooms.Get(ctx, slug)
	if err != nil {
		return err
	}
	detail, _ := json.Marshal(map[string]any{"room": slug, "retention_days": days})
	_, err = s.st.SetRoomRetention(ctx, room.Info().ID, days, store.AuditEntry{RoomID: room.Info().ID,
		ActorID: actor.ID, Action: "room_retention", Detail: string(detail), At: time.Now()})
	if err != nil {
		return privacyErr(fmt.Errorf("set retention of %s: %w", slug, err), "room")
	}
	return nil
}
