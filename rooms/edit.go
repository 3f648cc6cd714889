package rooms

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// editSkips are the pipeline steps an edit does not pass: they pace new posts, and an edit
// adds no post (the rate step still applies, so edits cannot flood).
var editSkips = map[string]bool{"slow_mode": true, "spam": true}

// Edit replaces the text of the member's own message at seq, after the same checks as a
// post: ban, guidelines, lock, mute, rate, keyword rules and the safety screens. Members
// get message_edited; the store keeps the earlier text for moderators. An edit the pipeline
// would hold is held like a post (its reason names the message): the message keeps its text,
// and approving the held edit publishes it as a new message.
func (s *Service) Edit(ctx context.Context, m *Member, seq int64, text string, opts SendOptions) (store.Message, error) {
	if seq <= 0 {
		return store.Message{}, protocol.Errorf(protocol.CodeBadRequest, "edit needs the message's seq")
	}
	if n := utf8.RuneCountInString(text); n > s.cfg.MaxTextRunes {
		return store.Message{}, protocol.Errorf(protocol.CodeTooLarge, "message is %d characters; the limit is %d", n, s.cfg.MaxTextRunes)
	}
	if !utf8.ValidString(text) || strings.TrimSpace(text) == "" {
		return store.Message{}, protocol.Errorf(protocol.CodeBadRequest, "message text is empty")
	}
	info := m.Room.Info()
	cctx, cancel := s.ctx(ctx)
	msg, err := s.st.MessageBySeq(cctx, info.ID, seq)
	cancel()
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Message{}, protocol.Errorf(protocol.CodeNotFound, "no message %d in this room", seq)
	case err != nil:
		return store.Message{}, storeErr(fmt.Errorf("edit in room %s: %w", m.Room.Slug, err), "message")
	case msg.Author.ID != m.User.ID:
		return store.Message{}, protocol.Errorf(protocol.CodeForbidden, "you can edit only your own messages")
	case msg.Deleted():
		return store.Message{}, protocol.Errorf(protocol.CodeConflict, "message %d was deleted", seq)
	}

	d := &Draft{ctx: ctx, Member: m, Text: text, Now: s.cfg.Now()}
	d.screen.opts, d.screen.edit, d.screen.seq = opts, true, seq
	for _, step := range s.pipeline {
		if editSkips[step.Name()] {
			continue
		}
		switch v, perr := step.Check(d); v {
		case Allow:
		case Hold:
			reason := defaultRuleReason
			if perr != nil {
				reason = perr.Message
			}
			cid := fmt.Sprintf("edit:%d:%d", seq, d.Now.UnixNano())
			return s.hold(ctx, d, cid, fmt.Sprintf("%s (edit of message %d)", reason, seq))
		default:
			return store.Message{}, perr
		}
	}

	cctx, cancel = s.ctx(ctx)
	defer cancel()
	ae := s.storedAECase(d, msg.ID)
	edited, err := s.st.EditMessage(cctx, info.ID, seq, m.User.ID, d.Text, d.Now, ae)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.Message{}, protocol.Errorf(protocol.CodeConflict, "message %d was deleted", seq)
		}
		return store.Message{}, storeErr(fmt.Errorf("edit seq %d in room %s: %w", seq, m.Room.Slug, err), "message")
	}
	if ae != nil {
		aeCaseStored()
	}
	s.PublishEphemeral(ctx, m.Room.Slug, protocol.MessageEdited{Type: "message_edited", Room: m.Room.Slug,
		Seq: seq, Text: edited.Text, EditedAt: protocol.TS(edited.EditedAt)})
	s.afterScreen(ctx, d, edited, "")
	return edited, nil
}

// markEdited sets EditedAt on the edited messages of a page read for members. A failure
// leaves the marks off (the texts are current either way) and is logged.
func (s *Service) markEdited(ctx context.Context, roomID string, msgs []store.Message) {
	if len(msgs) == 0 {
		return
	}
	times, err := s.st.EditTimes(ctx, roomID, msgs[0].Seq, msgs[len(msgs)-1].Seq)
	if err != nil {
		s.cfg.Logger.Warn("read edit times", "room", roomID, "err", err)
		return
	}
	if len(times) == 0 {
		return
	}
	for i := range msgs {
		if at, ok := times[msgs[i].Seq]; ok {
			msgs[i].EditedAt = at
		}
	}
}

// MessageVersion is an earlier text of an edited message, as moderators see it.
type MessageVersion struct {
	Text     string `json:"text"`
	EditedAt string `json:"edited_at"` // when this text was replaced
}

// EditHistory returns a message's earlier texts, oldest first, to the room's moderators
// (never nil, so it encodes as a list).
func (s *Service) EditHistory(ctx context.Context, actor store.User, slug string, seq int64) ([]MessageVersion, error) {
	room, err := s.Get(ctx, slug)
	if err != nil {
		return nil, err
	}
	info := room.Info()
	if err := s.requireModerator(ctx, actor, info); err != nil {
		return nil, err
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	edits, err := s.st.MessageEditHistory(cctx, info.ID, seq)
	if err != nil {
		return nil, storeErr(fmt.Errorf("edit history of %d in room %s: %w", seq, slug, err), "message")
	}
	out := make([]MessageVersion, len(edits))
	for i, e := range edits {
		out[i] = MessageVersion{Text: e.Text, EditedAt: protocol.TS(e.EditedAt)}
	}
	return out, nil
}
