package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

type heldID struct {
	clientID string
	id       string
}

func (m *Member) recentHeld(clientID string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, h := range m.held {
		if h.clientID == clientID {
			return h.id, true
		}
	}
	return "", false
}

func (m *Member) rememberHeld(clientID, id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.held[m.heldNext] = heldID{clientID, id}
	m.heldNext = (m.heldNext + 1) % len(m.held)
}

func heldErr(id string) error {
	return protocol.Errorf(protocol.CodeHeld, "your post is waiting for a moderator's review").With("held_id", id)
}

// hold keeps a post out of the room for review and puts it in front of the moderators.
func (s *Service) hold(ctx context.Context, d *Draft, clientMsgID, reason string) (store.Message, error) {
	m := d.Member
	h := store.HeldMessage{ID: ids.New("h_"), RoomID: m.Room.Info().ID, Author: store.Author{ID: m.User.ID},
		ClientMsgID: clientMsgID, Text: d.Text, Reason: reason, CreatedAt: d.Now, Status: store.HeldPending}
	if d.Rule != nil {
		h.RuleID = d.Rule.ID
	}
	h.AECase = s.storedAECase(d, "")
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	held, dup, err := s.st.HoldMessage(cctx, h)
	if err != nil {
		return store.Message{}, storeErr(fmt.Errorf("hold post in room %s: %w", m.Room.Slug, err), "held message")
	}
	if h.AECase != nil && !dup {
		aeCaseStored()
	}
	m.rememberHeld(clientMsgID, held.ID)
	if dup {
		return s.heldAnswer(ctx, m, held)
	}
	m.noteText(d.fingerprint, d.Now)
	held.Author = store.Author{ID: m.User.ID, DisplayName: m.User.DisplayName, Role: m.User.Role, Verified: m.User.Verified,
		Affiliation: m.User.Affiliation}
	s.toModerators(ctx, m.Room.Slug, protocol.ReviewHeld{Type: "review.held", Room: m.Room.Slug, Held: WireHeld(held)})
	s.afterScreen(ctx, d, store.Message{}, held.ID) // crisis alert, AE case (screen.go)
	return store.Message{}, heldErr(held.ID)
}

// heldAgain answers the resend of a post this node held, from its current review state.
func (s *Service) heldAgain(ctx context.Context, m *Member, id string) (store.Message, error) {
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	h, err := s.st.HeldMessage(cctx, id)
	if err != nil {
		return store.Message{}, storeErr(fmt.Errorf("held message %s: %w", id, err), "held message")
	}
	return s.heldAnswer(ctx, m, h)
}

// heldAnswer is what a resend of a held post gets: held while it waits, the published
// message once approved (so the author's client learns its seq), blocked once rejected.
func (s *Service) heldAnswer(ctx context.Context, m *Member, h store.HeldMessage) (store.Message, error) {
	switch h.Status {
	case store.HeldApproved:
		cctx, cancel := s.ctx(ctx)
		defer cancel()
		msg, err := s.st.MessageBySeq(cctx, h.RoomID, h.Seq)
		if err != nil {
			return store.Message{}, storeErr(fmt.Errorf("approved message %s: %w", h.ID, err), "message")
		}
		m.rememberSend(h.ClientMsgID, msg, msg.CreatedAt)
		return msg, nil
	case store.HeldRejected:
		return store.Message{}, protocol.Errorf(protocol.CodeBlocked, "a moderator reviewed this post and did not publish it").With("held_id", h.ID)
	}
	return store.Message{}, heldErr(h.ID)
}

// toModerators sends a client event to the room's moderators on every node, encoded once.
func (s *Service) toModerators(ctx context.Context, slug string, ev any) {
	data, err := json.Marshal(ev)
	if err != nil {
		s.cfg.Logger.Error("encode moderator event", "room", slug, "err", err)
		return
	}
	e := Event{Kind: KindModerators, Room: slug, Data: data}
	if err := s.br.Publish(ctx, broker.RoomChannel(slug), e.Encode()); err != nil {
		// The item is stored; moderators on other nodes still see it in GET .../queue.
		s.cfg.Logger.Warn("publish to moderators", "room", slug, "err", err)
	}
}

// reviewErr maps a review decision's store failure: a decided item is a conflict, not a
// duplicate.
func reviewErr(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrConflict):
		return &protocol.Error{Code: protocol.CodeConflict, Message: "this " + what + " was already decided", Cause: err}
	case errors.Is(err, store.ErrNotFound):
		return &protocol.Error{Code: protocol.CodeNotFound, Message: "no such " + what + " in this room", Cause: err}
	}
	return storeErr(err, what)
}

func requireReviewer(m *Member) error {
	if !m.IsModerator() {
		return protocol.Errorf(protocol.CodeForbidden, "only the room's moderators review posts and reports")
	}
	return nil
}

// pendingHeld reads a held message of the actor's room; one of another room is not found.
func (s *Service) pendingHeld(ctx context.Context, m *Member, id string) (store.HeldMessage, error) {
	if id == "" {
		return store.HeldMessage{}, protocol.Errorf(protocol.CodeBadRequest, "name the held_id to decide")
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	h, err := s.st.HeldMessage(cctx, id)
	if err != nil {
		return store.HeldMessage{}, reviewErr(fmt.Errorf("held message %s: %w", id, err), "held post")
	}
	if h.RoomID != m.Room.Info().ID {
		return store.HeldMessage{}, protocol.Errorf(protocol.CodeNotFound, "no such held post in this room")
	}
	return h, nil
}

// Approve publishes a held post with the room's next seq (audited with it) and returns it.
func (s *Service) Approve(ctx context.Context, m *Member, id string) (store.Message, error) {
	if err := requireReviewer(m); err != nil {
		return store.Message{}, err
	}
	h, err := s.pendingHeld(ctx, m, id)
	if err != nil {
		return store.Message{}, err
	}
	slug := m.Room.Slug
	detail, _ := json.Marshal(map[string]any{"room": slug, "held_id": id})
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	msg, _, err := s.st.ApproveHeld(cctx, id, store.AuditEntry{RoomID: h.RoomID, ActorID: m.User.ID,
		TargetID: h.Author.ID, Action: "approve", Detail: string(detail), At: s.cfg.Now()})
	if err != nil {
		return store.Message{}, reviewErr(fmt.Errorf("approve %s in room %s: %w", id, slug, err), "held post")
	}
	metricModeration.WithLabelValues("approve").Inc()
	s.publishMessage(ctx, slug, msg)
	s.resolved(ctx, m, "held", id, store.HeldApproved)
	return msg, nil
}

// RejectHeld keeps a held post out of the room for good (it stays on record).
func (s *Service) RejectHeld(ctx context.Context, m *Member, id, reason string) error {
	if err := requireReviewer(m); err != nil {
		return err
	}
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > 500 {
		return protocol.Errorf(protocol.CodeBadRequest, "reason must be at most 500 characters")
	}
	h, err := s.pendingHeld(ctx, m, id)
	if err != nil {
		return err
	}
	detail, _ := json.Marshal(map[string]any{"room": m.Room.Slug, "held_id": id})
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	_, err = s.st.ApplyModeration(cctx, store.ModerationChange{
		Audit: store.AuditEntry{RoomID: h.RoomID, ActorID: m.User.ID, TargetID: h.Author.ID,
			Action: "reject", Reason: reason, Detail: string(detail), At: s.cfg.Now()},
		RejectHeldID: id,
	})
	if err != nil {
		return reviewErr(fmt.Errorf("reject %s in room %s: %w", id, m.Room.Slug, err), "held post")
	}
	metricModeration.WithLabelValues("reject").Inc()
	s.resolved(ctx, m, "held", id, store.HeldRejected)
	return nil
}

// ResolveReport closes an open report as dismissed or actioned.
func (s *Service) ResolveReport(ctx context.Context, m *Member, id, outcome, reason string) error {
	if err := requireReviewer(m); err != nil {
		return err
	}
	if id == "" {
		return protocol.Errorf(protocol.CodeBadRequest, "name the report_id to resolve")
	}
	if outcome != store.ReportDismissed && outcome != store.ReportActioned {
		return protocol.Errorf(protocol.CodeBadRequest, "outcome must be dismissed or actioned")
	}
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > 500 {
		return protocol.Errorf(protocol.CodeBadRequest, "reason must be at most 500 characters")
	}
	info := m.Room.Info()
	detail, _ := json.Marshal(map[string]any{"room": m.Room.Slug, "report_id": id, "outcome": outcome})
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	_, err := s.st.ApplyModeration(cctx, store.ModerationChange{
		Audit: store.AuditEntry{RoomID: info.ID, ActorID: m.User.ID, Action: "report_resolve",
			Reason: reason, Detail: string(detail), At: s.cfg.Now()},
		ReportID: id, ReportStatus: outcome,
	})
	if err != nil {
		return reviewErr(fmt.Errorf("resolve report %s in room %s: %w", id, m.Room.Slug, err), "report")
	}
	metricModeration.WithLabelValues("report_resolve").Inc()
	s.resolved(ctx, m, "report", id, outcome)
	return nil
}

// resolved keeps every moderator's queue in step with a decision.
func (s *Service) resolved(ctx context.Context, m *Member, kind, id, decision string) {
	s.toModerators(ctx, m.Room.Slug, protocol.ReviewResolved{Type: "review.resolved", Room: m.Room.Slug,
		Kind: kind, ID: id, Decision: decision, By: m.Wire})
}

// Queue is a room's pending review work, oldest first, as moderators see it.
type Queue struct {
	Held    []protocol.HeldPost   `json:"held"`
	Reports []protocol.ReportItem `json:"reports"`
}

// queueLimit bounds one queue read; a longer queue is worked from the front.
const queueLimit = 500

// ReviewQueue returns the room's pending held posts and open reports (moderators only).
func (s *Service) ReviewQueue(ctx context.Context, actor store.User, slug string) (Queue, error) {
	room, err := s.Get(ctx, slug)
	if err != nil {
		return Queue{}, err
	}
	info := room.Info()
	if err := s.requireModerator(ctx, actor, info); err != nil {
		return Queue{}, err
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	held, err := s.st.HeldMessages(cctx, info.ID, store.HeldPending, queueLimit)
	if err != nil {
		return Queue{}, storeErr(fmt.Errorf("held posts of room %s: %w", slug, err), "held posts")
	}
	reports, err := s.st.Reports(cctx, info.ID, store.ReportOpen, queueLimit)
	if err != nil {
		return Queue{}, storeErr(fmt.Errorf("reports of room %s: %w", slug, err), "reports")
	}
	q := Queue{Held: make([]protocol.HeldPost, len(held)), Reports: make([]protocol.ReportItem, len(reports))}
	for i, h := range held {
		q.Held[i] = WireHeld(h)
	}
	authors := make(map[string]protocol.User)
	for i, r := range reports {
		a, ok := authors[r.AuthorID]
		if !ok {
			u, err := s.st.UserByID(cctx, r.AuthorID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return Queue{}, storeErr(fmt.Errorf("author of report %s: %w", r.ID, err), "user")
			}
			a = PublicUser(u)
			a.ID = r.AuthorID
			authors[r.AuthorID] = a
		}
		q.Reports[i] = WireReport(r, a)
	}
	return q, nil
}

// WireHeld is a held post as moderators see it.
func WireHeld(h store.HeldMessage) protocol.HeldPost {
	return protocol.HeldPost{ID: h.ID, Author: publicAuthor(h.Author), Text: h.Text, Reason: h.Reason,
		RuleID: h.RuleID, TS: protocol.TS(h.CreatedAt)}
}

// WireReport is a report as moderators see it: the reported author, never the reporter.
func WireReport(r store.Report, author protocol.User) protocol.ReportItem {
	category := r.Category
	if category == "" {
		category = "other"
	}
	return protocol.ReportItem{ID: r.ID, Seq: r.Seq, Category: category, Reason: r.Reason,
		Snapshot: r.Snapshot, Author: author, TS: protocol.TS(r.CreatedAt)}
}

func publicAuthor(a store.Author) protocol.User {
	return protocol.User{ID: a.ID, DisplayName: a.DisplayName, Role: a.Role, Verified: a.Verified,
		Badges: protocol.BadgesOf(a.Verified, a.Affiliation)}
}
