package server

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/havenhealth/haven/internal/httpx"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// auditRoutes serve the deployment's whole audit log to admins: every room's entries and
// the deployment-wide ones (global role changes), and a check of the whole hash chain.
// There is no API to change the log.
func (s *Server) auditRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/audit", s.accounts.RequireUser(s.auditAll))
	mux.HandleFunc("GET /api/audit/verify", s.accounts.RequireUser(s.auditVerify))
}

// auditAll: GET /api/audit?before=ID&limit=N, newest first, in the room audit's shape plus
// the room's slug ("" for deployment-wide entries).
func (s *Server) auditAll(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	entries, err := s.rooms.AuditAll(r.Context(), u, before, limit)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	slugs := map[string]string{}
	if len(entries) > 0 {
		list, err := s.rooms.List(r.Context(), u) // an admin sees every room
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		for _, room := range list {
			slugs[room.ID] = room.Slug
		}
	}
	out := make([]map[string]any, len(entries))
	for i, e := range entries {
		m := wireAudit(e)
		m["room"] = slugs[e.RoomID]
		if e.RoomID != "" && m["room"] == "" {
			m["room"] = e.RoomID // a room this node cannot name: its id, rather than nothing
		}
		out[i] = m
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"entries": out})
}

// auditVerify: GET /api/audit/verify walks the whole chain and answers {ok, entries} or
// {ok: false, entries, broken_at}.
func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	res, err := s.rooms.VerifyAudit(r.Context(), u)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if !res.OK {
		s.log.Error("audit chain fails to verify", "broken_at", res.BrokenAt, "entries_ok", res.Entries, "admin", u.ID)
	}
	httpx.WriteJSON(w, http.StatusOK, res)
}

// wireAudit is an audit entry as the audit endpoints serve it.
func wireAudit(e store.AuditEntry) map[string]any {
	m := map[string]any{"id": e.ID, "actor": e.ActorID, "target": e.TargetID, "action": e.Action,
		"reason": e.Reason, "detail": json.RawMessage(e.Detail), "at": protocol.TS(e.At),
		"prev_hash": hex.EncodeToString(e.PrevHash), "hash": hex.EncodeToString(e.Hash)}
	if !e.ExpiresAt.IsZero() {
		m["expires_at"] = protocol.TS(e.ExpiresAt)
	}
	if e.Detail == "" || !json.Valid([]byte(e.Detail)) {
		m["detail"] = json.RawMessage("{}")
	}
	return m
}
