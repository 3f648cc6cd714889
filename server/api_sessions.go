package server

import (
	"net/http"
	"time"

	"github.com/havenhealth/haven/internal/httpx"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/rooms"
	"github.com/havenhealth/haven/store"
)

// sessionRoutes serve webinar and support-session scheduling, and the stored Q&A and polls
// of a session. Live Q&A and polls run over the WebSocket (hub/engage.go).
func (s *Server) sessionRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/sessions", s.accounts.RequireUser(s.scheduleSession))
	mux.HandleFunc("GET /api/sessions", s.accounts.RequireUser(s.listSessions))
	mux.HandleFunc("GET /api/sessions/{id}", s.accounts.RequireUser(s.getSession))
	mux.HandleFunc("PATCH /api/sessions/{id}", s.accounts.RequireUser(s.updateSession))
	mux.HandleFunc("POST /api/sessions/{id}/start", s.accounts.RequireUser(s.startSession))
	mux.HandleFunc("POST /api/sessions/{id}/end", s.accounts.RequireUser(s.endSession))
	mux.HandleFunc("GET /api/sessions/{id}/questions", s.accounts.RequireUser(s.sessionQuestions))
	mux.HandleFunc("GET /api/sessions/{id}/polls", s.accounts.RequireUser(s.sessionPolls))
}

// parseStart reads an RFC 3339 time; "" is the zero time (the service refuses it).
func parseStart(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, protocol.Errorf(protocol.CodeBadRequest, "starts_at must be an RFC 3339 time, like 2026-05-01T17:00:00Z")
	}
	return t, nil
}

func writeSession(w http.ResponseWriter, status int, rs store.RoomSession) {
	httpx.WriteJSON(w, status, map[string]any{"session": rooms.WireSession(rs)})
}

func (s *Server) scheduleSession(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	var req struct {
		Room     string `json:"room"`
		Kind     string `json:"kind"`
		Title    string `json:"title"`
		Host     string `json:"host"`
		StartsAt string `json:"starts_at"`
		Sponsor  string `json:"sponsor"`
	}
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if req.Room == "" {
		httpx.WriteError(w, r, protocol.Errorf(protocol.CodeBadRequest, "room (the room's slug) is required"))
		return
	}
	starts, err := parseStart(req.StartsAt)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	rs, err := s.rooms.ScheduleSession(r.Context(), u, req.Room, rooms.SessionInput{Kind: req.Kind, Title: req.Title,
		HostID: req.Host, StartsAt: starts, Sponsor: req.Sponsor})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	writeSession(w, http.StatusCreated, rs)
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	slug := r.URL.Query().Get("room")
	if slug == "" {
		httpx.WriteError(w, r, protocol.Errorf(protocol.CodeBadRequest, "name the room: /api/sessions?room=slug"))
		return
	}
	list, err := s.rooms.Sessions(r.Context(), u, slug)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	out := make([]protocol.RoomSession, len(list))
	for i, rs := range list {
		out[i] = rooms.WireSession(rs)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	rs, err := s.rooms.Session(r.Context(), u, r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	writeSession(w, http.StatusOK, rs)
}

func (s *Server) updateSession(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	var req struct {
		Title    *string `json:"title"`
		StartsAt *string `json:"starts_at"`
		Sponsor  *string `json:"sponsor"`
		State    *string `json:"state"`
	}
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if req.State != nil {
		httpx.WriteError(w, r, protocol.Errorf(protocol.CodeBadRequest,
			"state changes through POST /api/sessions/{id}/start and /end"))
		return
	}
	p := store.SessionPatch{Title: req.Title, Sponsor: req.Sponsor}
	if req.StartsAt != nil {
		t, err := parseStart(*req.StartsAt)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		p.StartsAt = &t
	}
	rs, err := s.rooms.UpdateSession(r.Context(), u, r.PathValue("id"), p)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	writeSession(w, http.StatusOK, rs)
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	rs, err := s.rooms.StartSession(r.Context(), u, r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	writeSession(w, http.StatusOK, rs)
}

func (s *Server) endSession(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	rs, err := s.rooms.EndSession(r.Context(), u, r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	writeSession(w, http.StatusOK, rs)
}

func (s *Server) sessionQuestions(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	qs, err := s.rooms.Questions(r.Context(), u, r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	out := make([]protocol.Question, len(qs))
	for i, q := range qs {
		// Only moderators are served held questions, with why they were held.
		out[i] = rooms.WireQuestion(q, q.Status == store.QuestionHeld)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"questions": out})
}

func (s *Server) sessionPolls(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	ps, err := s.rooms.Polls(r.Context(), u, r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	out := make([]protocol.Poll, len(ps))
	for i, p := range ps {
		out[i] = rooms.WirePoll(p)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"polls": out})
}
