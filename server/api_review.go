package server

import (
	"net/http"

	"github.com/havenhealth/haven/internal/httpx"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/rooms"
	"github.com/havenhealth/haven/store"
)

// reviewRoutes serve a room's keyword rules and review queue to its moderators (room
// moderators, global moderators, admins); anyone else gets 403, an unknown room 404.
func (s *Server) reviewRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/rooms/{slug}/rules", s.accounts.RequireUser(s.listRules))
	mux.HandleFunc("POST /api/rooms/{slug}/rules", s.accounts.RequireUser(s.addRule))
	mux.HandleFunc("DELETE /api/rooms/{slug}/rules/{id}", s.accounts.RequireUser(s.removeRule))
	mux.HandleFunc("GET /api/rooms/{slug}/queue", s.accounts.RequireUser(s.reviewQueue))
}

func (s *Server) listRules(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	rules, err := s.rooms.Rules(r.Context(), u, r.PathValue("slug"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	out := make([]protocol.Rule, len(rules))
	for i, rule := range rules {
		out[i] = rooms.WireRule(rule)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"rules": out})
}

func (s *Server) addRule(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	var req struct {
		Kind    string `json:"kind"`
		Pattern string `json:"pattern"`
		Action  string `json:"action"`
		Reason  string `json:"reason"`
	}
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	rule, err := s.rooms.AddRule(r.Context(), u, r.PathValue("slug"),
		store.Rule{Kind: req.Kind, Pattern: req.Pattern, Action: req.Action, Reason: req.Reason})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"rule": rooms.WireRule(rule)})
}

func (s *Server) removeRule(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	if err := s.rooms.RemoveRule(r.Context(), u, r.PathValue("slug"), r.PathValue("id")); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) reviewQueue(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	q, err := s.rooms.ReviewQueue(r.Context(), u, r.PathValue("slug"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	// The queue shows reports (who reported what): an access the audit records.
	if err := s.auditRoomView(r.Context(), u, "view_reports", r.PathValue("slug"), map[string]any{
		"reports": len(q.Reports), "held": len(q.Held)}); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, q)
}
