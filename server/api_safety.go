package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/havenhealth/haven/internal/httpx"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/safetycases"
	"github.com/havenhealth/haven/store"
)

// safetyRoutes serves the safety console: AE cases, crisis alerts, follow-up threads (issue 7).
//
// Safety reviewers are admins and global moderators: the people who already see every
// room's moderation. There is no separate "safety" role; a room moderator is not a safety
// reviewer. Every read of cases or alerts is written to the audit log before the answer
// is sent; if the audit cannot be written, the answer is not sent (503). There is no
// route that deletes a case.
func (s *Server) safetyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/safety/cases", s.accounts.RequireUser(s.reviewer(s.listCases)))
	mux.HandleFunc("GET /api/safety/cases.csv", s.accounts.RequireUser(s.reviewer(s.exportCasesCSV)))
	mux.HandleFunc("GET /api/safety/cases.json", s.accounts.RequireUser(s.reviewer(s.exportCasesJSON)))
	mux.HandleFunc("GET /api/safety/cases/{id}", s.accounts.RequireUser(s.reviewer(s.getCase)))
	mux.HandleFunc("POST /api/safety/cases/{id}/close", s.accounts.RequireUser(s.reviewer(s.closeCase)))
	mux.HandleFunc("POST /api/safety/cases/{id}/forward", s.accounts.RequireUser(s.reviewer(s.forwardCase)))
	mux.HandleFunc("POST /api/safety/cases/{id}/followups", s.accounts.RequireUser(s.reviewer(s.reviewerFollowup)))
	mux.HandleFunc("GET /api/safety/alerts", s.accounts.RequireUser(s.reviewer(s.listAlerts)))
	mux.HandleFunc("POST /api/safety/alerts/{id}/ack", s.accounts.RequireUser(s.reviewer(s.ackAlert)))
	// The author's side of a follow-up thread: any signed-in member, for their own cases.
	mux.HandleFunc("POST /api/safety/followups/{case_id}", s.accounts.RequireUser(s.authorFollowup))
	mux.HandleFunc("GET /api/safety/my-followups", s.accounts.RequireUser(s.myFollowups))
}

type userHandler = func(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User)

// IsSafetyReviewer reports whether u may use the safety console.
func IsSafetyReviewer(u store.User) bool {
	return u.Role == store.RoleAdmin || u.Role == store.RoleModerator
}

// reviewer refuses anyone but a safety reviewer with 403.
func (s *Server) reviewer(h userHandler) userHandler {
	return func(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
		if !IsSafetyReviewer(u) {
			httpx.WriteError(w, r, protocol.Errorf(protocol.CodeForbidden, "only admins and global moderators review safety cases"))
			return
		}
		h(w, r, sess, u)
	}
}

// Cases returns the node's case clock service (due times, overdue job).
func (s *Server) Cases() *safetycases.Service { return s.cases }

// safetyErr maps a store failure to what the reviewer sees.
func safetyErr(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &protocol.Error{Code: protocol.CodeNotFound, Message: "no such " + what, Cause: err}
	case errors.Is(err, store.ErrConflict):
		return &protocol.Error{Code: protocol.CodeConflict, Message: "this " + what + " was already decided", Cause: err}
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return &protocol.Error{Code: protocol.CodeUnavailable, Message: "storage is unavailable; try again", Cause: err}
	}
	return &protocol.Error{Code: protocol.CodeInternal, Message: "internal error", Cause: err}
}

// Paging bounds.
const (
	defaultCasePage = 100
	maxCasePage     = 500
	maxExport       = 10000
	maxFollowupText = 4000
)

// pageLimit reads ?limit= (default def, at most most).
func pageLimit(r *http.Request, def, most int) (int, error) {
	q := r.URL.Query().Get("limit")
	if q == "" {
		return def, nil
	}
	n, err := strconv.Atoi(q)
	if err != nil || n <= 0 || n > most {
		return 0, protocol.Errorf(protocol.CodeBadRequest, "limit must be a whole number from 1 to %d", most)
	}
	return n, nil
}

// caseFilter reads ?status=open|forwarded|closed|active&room=slug&overdue=true&after=ID.
func (s *Server) caseFilter(r *http.Request) (store.AECaseFilter, error) {
	q := r.URL.Query()
	f := store.AECaseFilter{Status: q.Get("status"), After: q.Get("after"), Now: s.cases.Config().Now()}
	switch f.Status {
	case "", "active", store.AEOpen, store.AEForwarded, store.AEClosed:
	default:
		return f, protocol.Errorf(protocol.CodeBadRequest, "status must be open, forwarded, closed or active")
	}
	if v := q.Get("overdue"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, protocol.Errorf(protocol.CodeBadRequest, "overdue must be true or false")
		}
		f.Overdue = b
	}
	if slug := q.Get("room"); slug != "" {
		room, err := s.st.RoomBySlug(r.Context(), slug)
		if err != nil {
			return f, safetyErr(err, "room")
		}
		f.RoomID = room.ID
	}
	return f, nil
}

// listCases: GET /api/safety/cases → {cases, next} (next: the ?after= of the next page, "" at the end).
func (s *Server) listCases(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	f, err := s.caseFilter(r)
	if err == nil {
		var limit int
		if limit, err = pageLimit(r, defaultCasePage, maxCasePage); err == nil {
			var cases []store.AECase
			if cases, err = s.st.AECases(r.Context(), f, limit); err != nil {
				err = safetyErr(err, "cases")
			} else if err = s.auditView(r.Context(), u, "view_ae_cases", "", "", map[string]any{
				"filter": r.URL.RawQuery, "count": len(cases)}); err == nil {
				next := ""
				if len(cases) == limit {
					next = cases[len(cases)-1].ID
				}
				out := make([]map[string]any, len(cases))
				for i, c := range cases {
					out[i] = s.wireCase(c)
				}
				httpx.WriteJSON(w, http.StatusOK, map[string]any{"cases": out, "next": next})
				return
			}
		}
	}
	httpx.WriteError(w, r, err)
}

// getCase: GET /api/safety/cases/{id} → {case} with its follow-up thread.
func (s *Server) getCase(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	c, err := s.st.AECase(r.Context(), r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, safetyErr(err, "case"))
		return
	}
	if err := s.auditView(r.Context(), u, "view_ae_case", c.RoomID, c.AuthorID, map[string]any{"case": c.ID}); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"case": s.wireCase(c)})
}

// closeCase: POST /api/safety/cases/{id}/close {reason} → {case}; 409 if already closed.
func (s *Server) closeCase(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if !store.ValidAECloseReason(req.Reason) {
		httpx.WriteError(w, r, protocol.Errorf(protocol.CodeBadRequest, "reason must be one of %s",
			strings.Join(store.AECloseReasons, ", ")).With("reasons", store.AECloseReasons))
		return
	}
	s.moveCase(w, r, u, "ae_close", req.Reason, func(ctx context.Context, c store.AECase, a store.AuditEntry) (store.AECase, error) {
		return s.st.CloseAECase(ctx, c.ID, req.Reason, u.ID, a.At, a)
	})
}

// forwardCase: POST /api/safety/cases/{id}/forward → {case}; 409 unless open.
func (s *Server) forwardCase(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	s.moveCase(w, r, u, "ae_forward", "", func(ctx context.Context, c store.AECase, a store.AuditEntry) (store.AECase, error) {
		return s.st.ForwardAECase(ctx, c.ID, u.ID, a.At, a)
	})
}

func (s *Server) moveCase(w http.ResponseWriter, r *http.Request, u store.User, action, reason string,
	move func(context.Context, store.AECase, store.AuditEntry) (store.AECase, error)) {
	c, err := s.st.AECase(r.Context(), r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, safetyErr(err, "case"))
		return
	}
	a := store.AuditEntry{RoomID: c.RoomID, ActorID: u.ID, TargetID: c.AuthorID, Action: action, Reason: reason,
		Detail: jsonDetail(map[string]any{"case": c.ID}), At: s.cases.Config().Now()}
	c, err = move(r.Context(), c, a)
	if err != nil {
		httpx.WriteError(w, r, safetyErr(err, "case"))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"case": s.wireCase(c)})
}

// wireCase is a case as reviewers see it: the author by pseudonymous ID only.
func (s *Server) wireCase(c store.AECase) map[string]any {
	m := map[string]any{
		"id": c.ID, "room": c.RoomSlug, "message_seq": c.MessageSeq, "message_id": c.MessageID, "held_id": c.HeldID,
		"author": c.AuthorID, "text": c.Text, "products": c.Products, "reactions": c.Reactions, "terms": c.Terms,
		"aware_at": protocol.TS(c.AwareAt), "forward_due_at": protocol.TS(c.ForwardDueAt),
		"regulatory_due_at": protocol.TS(c.RegulatoryDueAt), "status": c.Status,
		"overdue":       nonNil(c.OverdueClocks(s.cases.Config().Now())),
		"closed_reason": c.ClosedReason, "closed_by": c.ClosedBy, "forwarded_by": c.ForwardedBy,
	}
	m["closed_at"], m["forwarded_at"] = tsOrEmpty(c.ClosedAt), tsOrEmpty(c.ForwardedAt)
	if c.Followups != nil {
		fs := make([]map[string]any, len(c.Followups))
		for i, f := range c.Followups {
			fs[i] = map[string]any{"id": f.ID, "from": f.FromUser, "to": f.ToUser, "from_author": f.FromUser == c.AuthorID,
				"text": f.Text, "at": protocol.TS(f.At)}
		}
		m["followups"] = fs
	}
	return m
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}
