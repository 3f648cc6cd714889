package hub

import (
	"context"

	"github.com/havenhealth/haven/protocol"
)

func init() {
	roomCommands["approve"] = (*conn).approve
	roomCommands["reject"] = (*conn).reject
	roomCommands["resolve_report"] = (*conn).resolveReport
}

func (c *conn) approve(ctx context.Context, s *sub, cmd protocol.Command) {
	msg, err := c.h.rooms.Approve(ctx, s.m, cmd.HeldID)
	if err != nil {
		c.fail(cmd.ID, err)
		return
	}
	c.reply(cmd.ID, map[string]any{"seq": msg.Seq, "message_id": msg.ID})
}

func (c *conn) reject(ctx context.Context, s *sub, cmd protocol.Command) {
	if err := c.h.rooms.RejectHeld(ctx, s.m, cmd.HeldID, cmd.Reason); err != nil {
		c.fail(cmd.ID, err)
		return
	}
	c.reply(cmd.ID, nil)
}

func (c *conn) resolveReport(ctx context.Context, s *sub, cmd protocol.Command) {
	if err := c.h.rooms.ResolveReport(ctx, s.m, cmd.ReportID, cmd.Outcome, cmd.Reason); err != nil {
		c.fail(cmd.ID, err)
		return
	}
	c.reply(cmd.ID, nil)
}

// toModerators delivers a review event to the subscriptions of the room's moderators on
// this node (room moderators, global moderators, admins). The frame was encoded once by the
// node that produced it; members never see it.
func (lr *localRoom) toModerators(frame []byte) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	n := 0
	for _, s := range lr.subs {
		if !s.m.IsModerator() {
			continue
		}
		if !s.live {
			s.buf = append(s.buf, buffered{0, frame})
			continue
		}
		if s.c.enqueue(frame) {
			n++
		}
	}
	metricFanout.Add(float64(n))
}
