package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// Post runs text through the pipeline, stores it (assigning the room's next seq) and
// publishes it. A resend with the same clientMsgID returns the first message unchanged. A
// post the pipeline holds is stored for review instead, and Post fails with `held`.
func (s *Service) Post(ctx context.Context, m *Member, text, clientMsgID string, opts ...SendOptions) (store.Message, error) {
	if clientMsgID == "" || len(clientMsgID) > 64 {
		return store.Message{}, protocol.Errorf(protocol.CodeBadRequest, "client_msg_id must be 1-64 characters")
	}
	if n := utf8.RuneCountInString(text); n > s.cfg.MaxTextRunes {
		return store.Message{}, protocol.Errorf(protocol.CodeTooLarge, "message is %d characters; the limit is %d", n, s.cfg.MaxTextRunes)
	}
	if !utf8.ValidString(text) || strings.TrimSpace(text) == "" {
		return store.Message{}, protocol.Errorf(protocol.CodeBadRequest, "message text is empty")
	}
	if msg, ok := m.recentSend(clientMsgID); ok {
		return msg, nil
	}
	if id, ok := m.recentHeld(clientMsgID); ok {
		return s.heldAgain(ctx, m, id)
	}
	d := &Draft{ctx: ctx, Member: m, Text: text, Now: s.cfg.Now()}
	if len(opts) > 0 {
		d.screen.opts = opts[0] // screen.go
	}
	for _, step := range s.pipeline {
		switch v, perr := step.Check(d); v {
		case Allow:
		case Hold:
			reason := defaultRuleReason
			if perr != nil {
				reason = perr.Message
			}
			msg, err := s.hold(ctx, d, clientMsgID, reason)
			return msg, heldBecause(err, reason) // says why, for the affiliation hold
		default:
			return store.Message{}, perr
		}
	}

	info := m.Room.Info()
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	start := time.Now()
	nm := store.NewMessage{ID: ids.New("m_"), RoomID: info.ID, AuthorID: m.User.ID,
		ClientMsgID: clientMsgID, Text: d.Text, CreatedAt: d.Now}
	nm.AECase = s.storedAECase(d, nm.ID)
	msg, dup, err := s.st.AppendMessage(cctx, nm)
	observeStore("append", start, err)
	if err != nil {
		return store.Message{}, storeErr(fmt.Errorf("post to room %s: %w", m.Room.Slug, err), "message")
	}
	if nm.AECase != nil && !dup {
		aeCaseStored()
	}
	m.rememberSend(clientMsgID, msg, d.Now)
	if dup {
		return msg, nil
	}
	m.noteText(d.fingerprint, d.Now)
	s.publishMessage(ctx, m.Room.Slug, msg)
	s.afterScreen(ctx, d, msg, "") // crisis alert, AE case (screen.go)
	if d.Rule != nil && d.Rule.Action == store.RuleAlert {
		s.toModerators(ctx, m.Room.Slug, protocol.ReviewAlert{Type: "review.alert", Room: m.Room.Slug,
			Seq: msg.Seq, Author: m.Wire, RuleID: d.Rule.ID, Reason: ruleReason(*d.Rule)})
	}
	return msg, nil
}

// publishMessage sends a stored message to the room on every node. A broker failure is
// logged, not returned: the message is stored, local members already have it, and other
// nodes recover it from the store by seq.
func (s *Service) publishMessage(ctx context.Context, slug string, msg store.Message) {
	e := Event{Kind: KindMessage, Room: slug, Seq: msg.Seq, Data: EncodeMessage(slug, msg)}
	if err := s.br.Publish(ctx, broker.RoomChannel(slug), e.Encode()); err != nil {
		s.cfg.Logger.Warn("publish message", "room", slug, "seq", msg.Seq, "err", err)
	}
}

func (m *Member) recentSend(clientID string) (store.Message, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.recent {
		if r.clientID == clientID {
			return r.msg, true
		}
	}
	return store.Message{}, false
}

func (m *Member) rememberSend(clientID string, msg store.Message, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recent == nil { // most members read only: ~3.5 KiB they need not hold
		m.recent = make([]sentID, 16)
	}
	m.recent[m.recentNext] = sentID{clientID, msg}
	m.recentNext = (m.recentNext + 1) % len(m.recent)
	m.lastPost = now
}

// Recent is what a join returns: the latest history, or everything after since (at most
// RecoveryLimit; when more was missed the newest are returned and truncated is true, so the
// client can page back with history). lastSeq is the newest seq the store holds.
func (s *Service) Recent(ctx context.Context, room *Room, since *int64) (msgs []store.Message, lastSeq int64, truncated bool, err error) {
	info := room.Info()
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	start := time.Now()
	defer func() { observeStore("read", start, err) }()
	if since == nil {
		msgs, err = s.st.MessagesBefore(cctx, info.ID, 0, s.cfg.HistoryLimit)
	} else {
		msgs, err = s.st.MessagesAfter(cctx, info.ID, *since, s.cfg.RecoveryLimit+1)
		if err == nil && len(msgs) > s.cfg.RecoveryLimit {
			truncated = true
			msgs, err = s.st.MessagesBefore(cctx, info.ID, 0, s.cfg.RecoveryLimit)
		}
	}
	if err != nil {
		return nil, 0, false, storeErr(fmt.Errorf("read room %s: %w", room.Slug, err), "messages")
	}
	if len(msgs) > 0 {
		s.markEdited(cctx, info.ID, msgs) // edit.go
		return msgs, msgs[len(msgs)-1].Seq, truncated, nil
	}
	// Nothing new: learn the newest seq so live delivery starts at the right place.
	last, err := s.st.MessagesBefore(cctx, info.ID, 0, 1)
	if err != nil {
		return nil, 0, false, storeErr(fmt.Errorf("read room %s: %w", room.Slug, err), "messages")
	}
	if len(last) == 1 {
		lastSeq = last[0].Seq
	}
	return nil, lastSeq, false, nil
}

// After returns stored messages after seq, for closing a gap in live delivery.
func (s *Service) After(ctx context.Context, room *Room, seq int64, limit int) ([]store.Message, error) {
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	msgs, err := s.st.MessagesAfter(cctx, room.Info().ID, seq, limit)
	if err != nil {
		return nil, fmt.Errorf("read room %s after %d: %w", room.Slug, seq, err)
	}
	s.markEdited(cctx, room.Info().ID, msgs) // edit.go
	return msgs, nil
}

// History pages back through a room, oldest first.
func (s *Service) History(ctx context.Context, m *Member, before int64, limit int) ([]store.Message, error) {
	if limit == 0 {
		limit = 50
	}
	if limit < 0 || limit > 200 {
		return nil, protocol.Errorf(protocol.CodeBadRequest, "limit must be 1-200")
	}
	if before < 0 {
		return nil, protocol.Errorf(protocol.CodeBadRequest, "before must be a seq")
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	msgs, err := s.st.MessagesBefore(cctx, m.Room.Info().ID, before, limit)
	if err != nil {
		return nil, storeErr(fmt.Errorf("history room %s: %w", m.Room.Slug, err), "messages")
	}
	s.markEdited(cctx, m.Room.Info().ID, msgs) // edit.go
	return msgs, nil
}

// Delete removes a message from members' view (the store keeps the original for moderators
// and audit) and broadcasts the tombstone.
func (s *Service) Delete(ctx context.Context, m *Member, seq int64) error {
	info := m.Room.Info()
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	msg, err := s.st.MessageBySeq(cctx, info.ID, seq)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return protocol.Errorf(protocol.CodeNotFound, "no message %d in this room", seq)
		}
		return storeErr(fmt.Errorf("delete in room %s: %w", m.Room.Slug, err), "message")
	}
	by := "author"
	if msg.Author.ID != m.User.ID {
		if !m.IsModerator() {
			return protocol.Errorf(protocol.CodeForbidden, "you can delete only your own messages")
		}
		by = "moderator"
	}
	if msg.Deleted() {
		return nil
	}
	if by == "author" {
		if _, err := s.st.DeleteMessage(cctx, info.ID, seq, by, s.cfg.Now()); err != nil {
			return storeErr(fmt.Errorf("delete seq %d in room %s: %w", seq, m.Room.Slug, err), "message")
		}
	} else {
		// A moderator hiding someone's words is a moderation act: audited with its effect.
		detail, _ := json.Marshal(map[string]any{"room": m.Room.Slug, "seq": seq})
		_, err := s.st.ApplyModeration(cctx, store.ModerationChange{
			Audit: store.AuditEntry{RoomID: info.ID, ActorID: m.User.ID, TargetID: msg.Author.ID,
				Action: "delete", Detail: string(detail), At: s.cfg.Now()},
			DeleteSeq: seq, DeleteBy: by,
		})
		if err != nil {
			return storeErr(fmt.Errorf("moderator delete seq %d in room %s: %w", seq, m.Room.Slug, err), "message")
		}
		metricModeration.WithLabelValues("delete").Inc()
	}
	s.tellDeleted(ctx, m.Room.Slug, seq, by)
	return nil
}

// tellDeleted tells a room's members, on every node, that message seq is gone; by is
// "author" or "moderator", the deleters the wire contract knows.
func (s *Service) tellDeleted(ctx context.Context, slug string, seq int64, by string) {
	s.PublishEphemeral(ctx, slug, protocol.MessageDeleted{Type: "message_deleted", Room: slug, Seq: seq, By: by})
}

// Report records a member's report, category "other", with a snapshot of the message as
// it is now.
func (s *Service) Report(ctx context.Context, m *Member, seq int64, reason string) (store.Report, error) {
	return s.ReportMessage(ctx, m, seq, "", reason)
}

// ReportMessage records a member's report in a category (store.ReportCategories; ""
// means "other") with a snapshot of the message as it is now, and puts it in front of the
// room's moderators at once. The reporter is named to no one.
func (s *Service) ReportMessage(ctx context.Context, m *Member, seq int64, category, reason string) (store.Report, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > 500 {
		return store.Report{}, protocol.Errorf(protocol.CodeBadRequest, "reason must be 1-500 characters")
	}
	if category == "" {
		category = "other"
	}
	if !slices.Contains(store.ReportCategories, category) {
		return store.Report{}, protocol.Errorf(protocol.CodeBadRequest, "category must be one of %s", strings.Join(store.ReportCategories, ", "))
	}
	info := m.Room.Info()
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	msg, err := s.st.MessageBySeq(cctx, info.ID, seq)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.Report{}, protocol.Errorf(protocol.CodeNotFound, "no message %d in this room", seq)
		}
		return store.Report{}, storeErr(fmt.Errorf("report in room %s: %w", m.Room.Slug, err), "message")
	}
	r, err := s.st.CreateReport(cctx, store.Report{
		ID: ids.New("rp_"), RoomID: info.ID, Seq: seq, ReporterID: m.User.ID, Category: category,
		Reason: reason, Snapshot: msg.Text, CreatedAt: s.cfg.Now(),
	})
	if err != nil {
		return store.Report{}, storeErr(fmt.Errorf("report seq %d in room %s: %w", seq, m.Room.Slug, err), "report")
	}
	s.toModerators(ctx, m.Room.Slug, protocol.ReviewReport{Type: "review.report", Room: m.Room.Slug,
		Report: WireReport(r, publicAuthor(msg.Author))})
	if category == "self-harm" {
		s.reportedCrisis(ctx, m.Room, msg, r)
	}
	return r, nil
}

// Typing broadcasts that m is typing, at most once a second per member.
func (s *Service) Typing(ctx context.Context, m *Member) {
	now := s.cfg.Now()
	m.mu.Lock()
	if now.Sub(m.lastTyping) < time.Second {
		m.mu.Unlock()
		return
	}
	m.lastTyping = now
	m.mu.Unlock()
	s.PublishEphemeral(ctx, m.Room.Slug, protocol.Typing{Type: "typing", Room: m.Room.Slug, User: m.Wire})
}

// PublishEphemeral sends a client event that is not stored (typing, presence, tombstones)
// to the room on every node.
func (s *Service) PublishEphemeral(ctx context.Context, slug string, ev any) {
	data, err := json.Marshal(ev)
	if err != nil {
		s.cfg.Logger.Error("encode event", "room", slug, "err", err)
		return
	}
	e := Event{Kind: KindEphemeral, Room: slug, Data: data}
	if err := s.br.Publish(ctx, broker.RoomChannel(slug), e.Encode()); err != nil {
		s.cfg.Logger.Warn("publish event", "room", slug, "err", err)
	}
}
