package server

import (
	"context"
	"encoding/json"
	"time"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/rooms"
	"github.com/havenhealth/haven/store"
)

// Access audit: every view of AE cases, crisis alerts, reports and a member's private
// details is appended to the hash-chained audit log, with who looked (actor), at whom
// (target, when one member's data was shown) and in which room. The entry is written
// before the answer: a view that cannot be audited is refused.

// auditView appends an access record. roomID "" is a deployment-wide view.
func (s *Server) auditView(ctx context.Context, actor store.User, action, roomID, targetID string, detail map[string]any) error {
	_, err := s.st.AppendAudit(ctx, store.AuditEntry{RoomID: roomID, ActorID: actor.ID, TargetID: targetID,
		Action: action, Detail: jsonDetail(detail), At: time.Now()})
	if err != nil {
		s.log.Error("access audit not written; view refused", "action", action, "actor", actor.ID, "err", err)
		return &protocol.Error{Code: protocol.CodeUnavailable, Message: "the access audit could not be written; try again", Cause: err}
	}
	return nil
}

// auditRoomView is auditView for a room named by slug (the room's id goes in the entry).
func (s *Server) auditRoomView(ctx context.Context, actor store.User, action, slug string, detail map[string]any) error {
	room, err := s.st.RoomBySlug(ctx, slug)
	if err != nil {
		return safetyErr(err, "room")
	}
	return s.auditView(ctx, actor, action, room.ID, "", detail)
}

func jsonDetail(v map[string]any) string {
	if len(v) == 0 {
		return "{}"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "{}"
	}
	return string(b)
}

func tsOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return protocol.TS(t)
}

// toUserInRoom sends a client event to one user's connections in a room, on every node
// (the per-user delivery path moderation uses for `moderation` events).
func (s *Server) toUserInRoom(ctx context.Context, slug, userID string, ev any) {
	s.publishRoomEvent(ctx, rooms.Event{Kind: rooms.KindToUser, Room: slug, User: userID}, ev)
}

// toRoomModerators sends a client event to the moderators connected to a room, on every node.
func (s *Server) toRoomModerators(ctx context.Context, slug string, ev any) {
	s.publishRoomEvent(ctx, rooms.Event{Kind: rooms.KindModerators, Room: slug}, ev)
}

func (s *Server) publishRoomEvent(ctx context.Context, e rooms.Event, ev any) {
	if e.Room == "" {
		return
	}
	data, err := json.Marshal(ev)
	if err != nil {
		s.log.Error("encode safety event", "err", err)
		return
	}
	e.Data = data
	if err := s.br.Publish(ctx, broker.RoomChannel(e.Room), e.Encode()); err != nil {
		// Stored either way: the console and GET /api/safety/my-followups show it.
		s.log.Warn("publish safety event", "room", e.Room, "err", err)
	}
}

// notifyOverdue is the overdue job's alert: `safety.overdue` to the moderators connected
// to the case's room. Only the case's ID, room, clock and due time travel: the text stays
// in the console, which only safety reviewers can open.
func (s *Server) notifyOverdue(ctx context.Context, c store.AECase, clock string) {
	due := c.ForwardDueAt
	if clock == store.ClockRegulatory {
		due = c.RegulatoryDueAt
	}
	s.toRoomModerators(ctx, c.RoomSlug, map[string]any{"type": "safety.overdue", "case_id": c.ID, "room": c.RoomSlug,
		"clock": clock, "due_at": protocol.TS(due)})
}
