package server

import (
	"net/http"
	"strconv"

	"github.com/havenhealth/haven/internal/httpx"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/rooms"
	"github.com/havenhealth/haven/store"
)

func (s *Server) roomRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/rooms", s.accounts.RequireUser(s.listRooms))
	mux.HandleFunc("POST /api/rooms", s.accounts.RequireUser(s.createRoom))
	mux.HandleFunc("PATCH /api/rooms/{slug}", s.accounts.RequireUser(s.updateRoom))
	mux.HandleFunc("PUT /api/rooms/{slug}/roles/{user_id}", s.accounts.RequireUser(s.setRoomRole))
	mux.HandleFunc("GET /api/rooms/{slug}/audit", s.accounts.RequireUser(s.roomAudit))
}

func (s *Server) listRooms(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	list, err := s.rooms.List(r.Context(), u)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	out := make([]protocol.Room, len(list))
	for i, room := range list {
		out[i] = s.rooms.WithPIIPolicy(r.Context(), room) // one small read per room (admin lists)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"rooms": out})
}

func (s *Server) createRoom(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	var req struct {
		Slug       string `json:"slug"`
		Name       string `json:"name"`
		Condition  string `json:"condition"`
		Kind       string `json:"kind"`
		Visibility string `json:"visibility"`
		Guidelines string `json:"guidelines"`
		Sponsor    string `json:"sponsor"`
	}
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	room, err := s.rooms.Create(r.Context(), u, store.Room{Slug: req.Slug, Name: req.Name,
		Condition: req.Condition, Kind: req.Kind, Visibility: req.Visibility,
		Guidelines: req.Guidelines, Sponsor: req.Sponsor})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"room": rooms.WireRoom(room)})
}

func (s *Server) updateRoom(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	var req struct {
		Name       *string `json:"name"`
		Guidelines *string `json:"guidelines"`
		SlowModeS  *int    `json:"slow_mode_s"`
		Locked     *bool   `json:"locked"`
		Sponsor    *string `json:"sponsor"`
		Disclosure *string `json:"disclosure"` // admins only; audited on its own (api_disclosure.go)
		PIIPolicy  *string `json:"pii_policy"` // room moderators; audited on its own (rooms/screen_policy.go)

		RetentionDays *int `json:"retention_days"` // admins only; audited on its own (api_privacy.go)
	}
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if req.RetentionDays != nil {
		if err := s.setRetention(r.Context(), u, r.PathValue("slug"), *req.RetentionDays); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
	}
	if req.Disclosure != nil {
		if _, err := s.rooms.SetDisclosure(r.Context(), u, r.PathValue("slug"), *req.Disclosure); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
	}
	if req.PIIPolicy != nil {
		if err := s.rooms.SetPIIPolicy(r.Context(), u, r.PathValue("slug"), *req.PIIPolicy); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
	}
	room, err := s.rooms.Update(r.Context(), u, r.PathValue("slug"), store.RoomPatch{Name: req.Name,
		Guidelines: req.Guidelines, SlowModeS: req.SlowModeS, Locked: req.Locked, Sponsor: req.Sponsor})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"room": s.rooms.WithPIIPolicy(r.Context(), room)})
}

func (s *Server) setRoomRole(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	var req struct {
		Role string `json:"role"`
	}
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	m, err := s.rooms.SetRoomRole(r.Context(), u, r.PathValue("slug"), r.PathValue("user_id"), req.Role)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"room": r.PathValue("slug"), "user_id": m.UserID, "role": m.Role})
}

// roomAudit serves a room's audit log, newest first, with the chain hashes so a reader can
// check them (GET /api/rooms/{slug}/audit?before=ID&limit=N). There is no API to change it.
func (s *Server) roomAudit(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	entries, err := s.rooms.Audit(r.Context(), u, r.PathValue("slug"), before, limit)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	out := make([]map[string]any, len(entries))
	for i, e := range entries {
		out[i] = wireAudit(e)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"entries": out})
}
