package hub

import (
	"context"
	"time"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/rooms"
)

func init() {
	for _, kind := range []string{"mute", "unmute", "remove", "ban", "unban", "slow_mode", "lock"} {
		roomCommands[kind] = (*conn).moderate
	}
}

func (c *conn) moderate(ctx context.Context, s *sub, cmd protocol.Command) {
	a := rooms.Action{Kind: cmd.Type, Target: cmd.User, Reason: cmd.Reason,
		Duration: time.Duration(cmd.DurationS) * time.Second, DeleteRecent: time.Duration(cmd.DeleteRecentS) * time.Second}
	switch cmd.Type {
	case "slow_mode":
		if cmd.Seconds == nil {
			c.fail(cmd.ID, protocol.Errorf(protocol.CodeBadRequest, "slow_mode needs seconds (0 turns it off)"))
			return
		}
		a.Seconds = *cmd.Seconds
	case "lock":
		if cmd.Locked == nil {
			c.fail(cmd.ID, protocol.Errorf(protocol.CodeBadRequest, "lock needs locked (true or false)"))
			return
		}
		a.Locked = *cmd.Locked
	case "mute":
		if cmd.DurationS <= 0 {
			c.fail(cmd.ID, protocol.Errorf(protocol.CodeBadRequest, "mute needs duration_s (1-%d)", int(rooms.MaxMute.Seconds())))
			return
		}
	}
	until, err := c.h.rooms.Moderate(ctx, s.m, a)
	if err != nil {
		c.fail(cmd.ID, err)
		return
	}
	if cmd.Type == "mute" {
		c.reply(cmd.ID, map[string]any{"until": protocol.TS(until)})
		return
	}
	c.reply(cmd.ID, nil)
}

// toUser delivers an event to one member's live subscriptions in the room.
func (lr *localRoom) toUser(userID string, frame []byte) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	for _, s := range lr.subs {
		if s.m.User.ID == userID {
			if s.live {
				s.c.enqueue(frame)
			} else {
				s.buf = append(s.buf, buffered{0, frame})
			}
		}
	}
}

// subsOf lists a user's subscriptions in the room.
func (lr *localRoom) subsOf(userID string) []*sub {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	var out []*sub
	for _, s := range lr.subs {
		if s.m.User.ID == userID {
			out = append(out, s)
		}
	}
	return out
}

// removeUser takes a user out of a room on this node at once: every connection gets the
// `removed` event and stops receiving the room.
func (h *Hub) removeUser(slug, userID string, frame []byte) {
	h.mediaRemoved(slug, userID) // before the lookup: the session may be here without them
	lr := h.ix.get(slug)
	if lr == nil {
		return
	}
	for _, s := range lr.subsOf(userID) {
		s.c.subMu.Lock()
		if s.c.subs[slug] == s {
			delete(s.c.subs, slug)
		}
		s.c.subMu.Unlock()
		s.c.enqueue(frame)
		h.unsubscribe(s)
	}
}

// removeBanned drops subscriptions of members the store now says are banned (after a
// broker outage, when the ban's control event may have been missed).
func (h *Hub) removeBanned() {
	for _, lr := range h.ix.all() {
		lr.mu.Lock()
		var banned []string
		for _, s := range lr.subs {
			if s.m.Membership().Banned {
				banned = append(banned, s.m.User.ID)
			}
		}
		lr.mu.Unlock()
		for _, uid := range banned {
			h.removeUser(lr.slug, uid, mustJSON(protocol.Removed{Type: "removed", Room: lr.slug, Reason: "banned", Banned: true}))
		}
	}
}

// userIDs lists the users subscribed here.
func (lr *localRoom) userIDs() []string {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	out := make([]string, 0, len(lr.users))
	for uid := range lr.users {
		out = append(out, uid)
	}
	return out
}
