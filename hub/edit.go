package hub

import (
	"context"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/rooms"
)

func init() {
	roomCommands["edit"] = (*conn).edit
}

// edit replaces the text of the member's own message; members hear message_edited.
func (c *conn) edit(ctx context.Context, s *sub, cmd protocol.Command) {
	if cmd.Seq <= 0 {
		c.fail(cmd.ID, protocol.Errorf(protocol.CodeBadRequest, "edit needs the message's seq"))
		return
	}
	var res rooms.SendResult
	msg, err := c.h.rooms.Edit(ctx, s.m, cmd.Seq, cmd.Text,
		rooms.SendOptions{ConfirmPersonalInfo: cmd.ConfirmPersonalInfo, Result: &res})
	if err != nil {
		c.fail(cmd.ID, err)
		return
	}
	c.reply(cmd.ID, sendReply(map[string]any{"seq": msg.Seq, "text": msg.Text,
		"edited_at": protocol.TS(msg.EditedAt)}, res))
}

// sendReply adds what screening did to a send or edit reply: redacted with the categories
// replaced and the text as stored, crisis when support resources were sent.
func sendReply(body map[string]any, res rooms.SendResult) map[string]any {
	if res.Redacted {
		body["redacted"], body["categories"], body["text"] = true, res.Categories, res.Text
	}
	if res.Crisis {
		body["crisis"] = true
	}
	return body
}
