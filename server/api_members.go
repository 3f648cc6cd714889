package server

import (
	"net/http"
	"strconv"

	"github.com/havenhealth/haven/internal/httpx"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// moderatorRoutes serve moderators' reads of a room (its member list, a message's original
// text) and admins' reads of the whole audit log. Anyone else gets 403; an unknown room 404.
func (s *Server) moderatorRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/rooms/{slug}/members", s.accounts.RequireUser(s.roomMembers))
	mux.HandleFunc("GET /api/rooms/{slug}/messages/{seq}", s.accounts.RequireUser(s.roomMessage))
	s.auditRoutes(mux)
}

// roomMembers lists a room's members with their standing (GET
// /api/rooms/{slug}/members?limit=N): banned and muted members first, so that a moderator
// can lift a ban or a mute on anyone, whether or not they are online.
func (s *Server) roomMembers(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	limit := 0
	if q := r.URL.Query().Get("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n <= 0 {
			httpx.WriteError(w, r, protocol.Errorf(protocol.CodeBadRequest, "limit must be a whole number from 1"))
			return
		}
		limit = n
	}
	list, more, err := s.rooms.Members(r.Context(), u, r.PathValue("slug"), limit)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if err := s.auditRoomView(r.Context(), u, "view_members", r.PathValue("slug"), map[string]any{"count": len(list)}); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"members": list, "truncated": more})
}

// roomMessage serves one message with its original text, deleted or not, to the room's
// moderators (GET /api/rooms/{slug}/messages/{seq}).
func (s *Server) roomMessage(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil || seq <= 0 {
		httpx.WriteError(w, r, protocol.Errorf(protocol.CodeBadRequest, "seq must be a message's seq (1 or more)"))
		return
	}
	m, err := s.rooms.Original(r.Context(), u, r.PathValue("slug"), seq)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if err := s.auditRoomView(r.Context(), u, "view_message", r.PathValue("slug"), map[string]any{"seq": seq}); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	// Earlier texts of an edited message (rooms/edit.go), oldest first.
	edits, err := s.rooms.EditHistory(r.Context(), u, r.PathValue("slug"), seq)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"message": m, "edits": edits})
}
