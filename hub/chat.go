package hub

import (
	"context"
	"errors"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/rooms"
)

// Chat commands: joining and leaving a room, and what a member does in it. Each names the
// joined room it acts in (dispatch in conn.go); presence follows the first join and the
// last leave of a user on this node.

func init() {
	roomCommands["leave"] = (*conn).leave
	roomCommands["send"] = (*conn).send
	roomCommands["history"] = (*conn).history
	roomCommands["delete"] = (*conn).deleteMsg
	roomCommands["report"] = (*conn).report
	roomCommands["typing"] = (*conn).typing
}

func (c *conn) join(ctx context.Context, cmd protocol.Command) {
	if cmd.Room == "" {
		c.fail(cmd.ID, protocol.Errorf(protocol.CodeBadRequest, "join needs a room"))
		return
	}
	if cmd.Since != nil && *cmd.Since < 0 {
		c.fail(cmd.ID, protocol.Errorf(protocol.CodeBadRequest, "since must be a seq (0 or more)"))
		return
	}
	c.subMu.Lock()
	old := c.subs[cmd.Room]
	delete(c.subs, cmd.Room)
	c.subMu.Unlock()
	if old != nil { // joining again (e.g. to recover): start a fresh subscription
		c.h.unsubscribe(old)
	}

	m, err := c.h.rooms.Admit(ctx, c.user, cmd.Room, cmd.AcceptGuidelines)
	if err != nil {
		c.fail(cmd.ID, err)
		return
	}
	lr, err := c.h.acquire(ctx, m.Room)
	if err != nil {
		c.h.rooms.Release(m)
		c.fail(cmd.ID, &protocol.Error{Code: protocol.CodeUnavailable, Message: "cannot subscribe to the room right now", Cause: err})
		return
	}
	s := &sub{c: c, lr: lr, m: m}
	first := lr.add(s) // subscribe first, then read the store, then merge by seq
	online := c.h.presenceJoin(ctx, lr, m, first)
	msgs, last, truncated, err := c.h.rooms.Recent(ctx, m.Room, cmd.Since)
	if err != nil {
		c.h.unsubscribe(s)
		c.fail(cmd.ID, err)
		return
	}
	metricJoins.Inc()
	reply := protocol.Reply(cmd.ID, map[string]any{
		"room": rooms.WireRoom(m.Room.Info()), "online": online,
		"messages": rooms.WireMessages(cmd.Room, msgs), "last_seq": last, "truncated": truncated,
		"member":     c.h.rooms.StandingOf(m),               // the caller's own room role and mute, for the client
		"disclosure": c.h.rooms.JoinDisclosure(ctx, m.Room), // sponsorship; null when none (extension)
	})
	c.subMu.Lock()
	c.subs[cmd.Room] = s
	c.subMu.Unlock()
	lr.activate(s, reply, last)
}

func (c *conn) leave(ctx context.Context, s *sub, cmd protocol.Command) {
	c.subMu.Lock()
	delete(c.subs, cmd.Room)
	c.subMu.Unlock()
	c.h.mediaLeft(c, cmd.Room) // media.go: out of the room's media session too
	c.h.unsubscribe(s)
	c.reply(cmd.ID, nil)
}

func (c *conn) send(ctx context.Context, s *sub, cmd protocol.Command) {
	metricMessagesIn.Inc()
	var res rooms.SendResult
	msg, err := c.h.rooms.Post(ctx, s.m, cmd.Text, cmd.ClientMsgID,
		rooms.SendOptions{ConfirmPersonalInfo: cmd.ConfirmPersonalInfo, Result: &res})
	if err != nil {
		c.fail(cmd.ID, err)
		return
	}
	c.reply(cmd.ID, sendReply(map[string]any{"seq": msg.Seq, "message_id": msg.ID}, res)) // edit.go
}

func (c *conn) history(ctx context.Context, s *sub, cmd protocol.Command) {
	msgs, err := c.h.rooms.History(ctx, s.m, cmd.Before, cmd.Limit)
	if err != nil {
		c.fail(cmd.ID, err)
		return
	}
	c.reply(cmd.ID, map[string]any{"messages": rooms.WireMessages(cmd.Room, msgs)})
}

func (c *conn) deleteMsg(ctx context.Context, s *sub, cmd protocol.Command) {
	if cmd.Seq <= 0 {
		c.fail(cmd.ID, protocol.Errorf(protocol.CodeBadRequest, "delete needs the message's seq"))
		return
	}
	if err := c.h.rooms.Delete(ctx, s.m, cmd.Seq); err != nil {
		c.fail(cmd.ID, err)
		return
	}
	c.reply(cmd.ID, nil)
}

func (c *conn) report(ctx context.Context, s *sub, cmd protocol.Command) {
	if cmd.Seq <= 0 {
		c.fail(cmd.ID, protocol.Errorf(protocol.CodeBadRequest, "report needs the message's seq"))
		return
	}
	r, err := c.h.rooms.ReportMessage(ctx, s.m, cmd.Seq, cmd.Category, cmd.Reason)
	if err != nil {
		c.fail(cmd.ID, err)
		return
	}
	c.reply(cmd.ID, map[string]any{"report_id": r.ID})
}

func (c *conn) typing(ctx context.Context, s *sub, cmd protocol.Command) {
	c.h.rooms.Typing(ctx, s.m)
	c.reply(cmd.ID, nil)
}

// unsubscribe takes s out of its room, announces a presence leave when it was the user's
// last connection here, and drops the room when nobody local is left.
func (h *Hub) unsubscribe(s *sub) {
	lr := s.lr
	if last := lr.remove(s); last {
		h.presenceLeave(context.Background(), lr, s.m)
	}
	h.rooms.Release(s.m)
	h.dropIfEmpty(lr)
}

func (h *Hub) presenceJoin(ctx context.Context, lr *localRoom, m *rooms.Member, first bool) int {
	var online int
	var err error
	if first {
		online, err = h.pres.Join(ctx, lr.slug, m.User.ID)
	} else {
		online, err = h.pres.Online(ctx, lr.slug)
	}
	if err != nil {
		h.log.Warn("presence join", "room", lr.slug, "err", err)
	}
	if first {
		h.presence.note(lr.slug, presenceChange{user: m.Wire, joined: true, online: online})
	}
	return online
}

func (h *Hub) presenceLeave(ctx context.Context, lr *localRoom, m *rooms.Member) {
	online, err := h.pres.Leave(ctx, lr.slug, m.User.ID)
	if err != nil && !errors.Is(err, context.Canceled) {
		h.log.Warn("presence leave", "room", lr.slug, "err", err)
	}
	h.presence.note(lr.slug, presenceChange{user: m.Wire, online: online})
}
