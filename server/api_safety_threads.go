package server

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/havenhealth/haven/internal/httpx"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// Follow-up threads (a reviewer and a case's author, privately) and crisis alerts.

// followupText reads {text}: not blank, at most maxFollowupText characters.
func followupText(w http.ResponseWriter, r *http.Request) (string, error) {
	var req struct {
		Text string `json:"text"`
	}
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return "", err
	}
	text := strings.TrimSpace(req.Text)
	if text == "" {
		return "", protocol.Errorf(protocol.CodeBadRequest, "text is required")
	}
	if utf8.RuneCountInString(text) > maxFollowupText {
		return "", protocol.Errorf(protocol.CodeTooLarge, "text over %d characters", maxFollowupText)
	}
	return text, nil
}

// wireFollowup is a follow-up as its author's client sees it (event and list).
func wireFollowup(f store.AEFollowup, room string, mine bool) map[string]any {
	return map[string]any{"type": "safety.followup", "id": f.ID, "case_id": f.CaseID, "room": room,
		"text": f.Text, "at": protocol.TS(f.At), "mine": mine}
}

// reviewerFollowup: POST /api/safety/cases/{id}/followups {text} → {followup}. Stored,
// audited (ae_followup) and sent live to the author's connections in the case's room.
func (s *Server) reviewerFollowup(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	text, err := followupText(w, r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	c, err := s.st.AECase(r.Context(), r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, safetyErr(err, "case"))
		return
	}
	a := store.AuditEntry{RoomID: c.RoomID, ActorID: u.ID, TargetID: c.AuthorID, Action: "ae_followup",
		Detail: jsonDetail(map[string]any{"case": c.ID})}
	f, err := s.st.AddFollowup(r.Context(), store.AEFollowup{CaseID: c.ID, FromUser: u.ID, ToUser: c.AuthorID, Text: text}, &a)
	if err != nil {
		httpx.WriteError(w, r, safetyErr(err, "case"))
		return
	}
	s.toUserInRoom(r.Context(), c.RoomSlug, c.AuthorID, wireFollowup(f, c.RoomSlug, false))
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"followup": map[string]any{"id": f.ID, "case_id": c.ID,
		"from": f.FromUser, "to": f.ToUser, "text": f.Text, "at": protocol.TS(f.At)}})
}

// authorFollowup: POST /api/safety/followups/{case_id} {text} → {followup}: the case's
// author answers the reviewer who last wrote to them. Anyone else gets 404 (a member must
// not learn which cases exist); an author no reviewer has written to gets 409.
func (s *Server) authorFollowup(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	text, err := followupText(w, r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	c, err := s.st.AECase(r.Context(), r.PathValue("case_id"))
	if err != nil || c.AuthorID != u.ID {
		if err == nil {
			err = store.ErrNotFound
		}
		httpx.WriteError(w, r, safetyErr(err, "follow-up thread"))
		return
	}
	to := ""
	for _, f := range c.Followups {
		if f.FromUser != c.AuthorID {
			to = f.FromUser
		}
	}
	if to == "" {
		httpx.WriteError(w, r, protocol.Errorf(protocol.CodeConflict, "no reviewer has written to you about this"))
		return
	}
	f, err := s.st.AddFollowup(r.Context(), store.AEFollowup{CaseID: c.ID, FromUser: u.ID, ToUser: to, Text: text}, nil)
	if err != nil {
		httpx.WriteError(w, r, safetyErr(err, "case"))
		return
	}
	ev := wireFollowup(f, c.RoomSlug, false)
	ev["from_author"] = true
	s.toUserInRoom(r.Context(), c.RoomSlug, to, ev) // the reviewer, if connected to the room
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"followup": wireFollowup(f, c.RoomSlug, true)})
}

// myFollowups: GET /api/safety/my-followups → {followups} of the threads about the caller's
// own posts, oldest first. Reviewers' identities are not shown to the author.
func (s *Server) myFollowups(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	list, err := s.st.Followups(r.Context(), u.ID, 500)
	if err != nil {
		httpx.WriteError(w, r, safetyErr(err, "follow-ups"))
		return
	}
	rooms := map[string]string{} // case → room slug
	out := make([]map[string]any, 0, len(list))
	for _, f := range list {
		slug, ok := rooms[f.CaseID]
		if !ok {
			c, err := s.st.AECase(r.Context(), f.CaseID)
			if err != nil {
				httpx.WriteError(w, r, safetyErr(err, "case"))
				return
			}
			if c.AuthorID != u.ID {
				slug = "\x00" // a thread the caller reviews, not one about their post
			} else {
				slug = c.RoomSlug
			}
			rooms[f.CaseID] = slug
		}
		if slug == "\x00" {
			continue
		}
		out = append(out, wireFollowup(f, slug, f.FromUser == u.ID))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"followups": out})
}

// listAlerts: GET /api/safety/alerts?unacknowledged=true&room=slug&before=ID&limit=N →
// {alerts, next}, newest first.
func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	q := r.URL.Query()
	f := store.CrisisAlertFilter{Before: q.Get("before")}
	if v := q.Get("unacknowledged"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			httpx.WriteError(w, r, protocol.Errorf(protocol.CodeBadRequest, "unacknowledged must be true or false"))
			return
		}
		f.Unacknowledged = b
	}
	if slug := q.Get("room"); slug != "" {
		room, err := s.st.RoomBySlug(r.Context(), slug)
		if err != nil {
			httpx.WriteError(w, r, safetyErr(err, "room"))
			return
		}
		f.RoomID = room.ID
	}
	limit, err := pageLimit(r, defaultCasePage, maxCasePage)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	alerts, err := s.st.CrisisAlerts(r.Context(), f, limit)
	if err != nil {
		httpx.WriteError(w, r, safetyErr(err, "crisis alerts"))
		return
	}
	if err := s.auditView(r.Context(), u, "view_crisis_alerts", f.RoomID, "", map[string]any{
		"filter": r.URL.RawQuery, "count": len(alerts)}); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	out := make([]map[string]any, len(alerts))
	for i, a := range alerts {
		out[i] = wireAlert(a)
	}
	next := ""
	if len(alerts) == limit {
		next = alerts[len(alerts)-1].ID
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"alerts": out, "next": next})
}

func wireAlert(a store.CrisisAlert) map[string]any {
	return map[string]any{"id": a.ID, "room": a.RoomSlug, "seq": a.MessageSeq, "held_id": a.HeldID, "author": a.AuthorID,
		"text": a.Text, "method": a.Method, "terms": a.Terms, "at": protocol.TS(a.At),
		"acknowledged_by": a.AcknowledgedBy, "acknowledged_at": tsOrEmpty(a.AcknowledgedAt)}
}

// ackAlert: POST /api/safety/alerts/{id}/ack → {alert}; 409 if already acknowledged.
func (s *Server) ackAlert(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	id := r.PathValue("id")
	a := store.AuditEntry{ActorID: u.ID, Action: "crisis_ack", Detail: jsonDetail(map[string]any{"alert": id})}
	alert, err := s.st.AcknowledgeCrisisAlert(r.Context(), id, u.ID, s.cases.Config().Now(), a)
	if err != nil {
		httpx.WriteError(w, r, safetyErr(err, "crisis alert"))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"alert": wireAlert(alert)})
}
