package hub

import (
	"context"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/rooms"
	"github.com/havenhealth/haven/store"
)

// Engagement during live sessions: Q&A and polls. Like every room command these name the
// joined room the session belongs to; state and counts live in the store, and the events
// (qa.question, qa.update, qa.alert, poll.results) reach every node through the room's
// broker channel.

func init() {
	roomCommands["qa.ask"] = (*conn).qaAsk
	roomCommands["qa.vote"] = (*conn).qaVote
	roomCommands["qa.answer"] = (*conn).qaDecide
	roomCommands["qa.dismiss"] = (*conn).qaDecide
	roomCommands["qa.approve"] = (*conn).qaDecide
	roomCommands["poll.open"] = (*conn).pollOpen
	roomCommands["poll.vote"] = (*conn).pollVote
	roomCommands["poll.close"] = (*conn).pollClose
}

func (c *conn) qaAsk(ctx context.Context, s *sub, cmd protocol.Command) {
	if cmd.Session == "" {
		c.fail(cmd.ID, protocol.Errorf(protocol.CodeBadRequest, "qa.ask needs the session"))
		return
	}
	q, err := c.h.rooms.Ask(ctx, s.m, cmd.Session, cmd.Text)
	if err != nil {
		c.fail(cmd.ID, err)
		return
	}
	c.reply(cmd.ID, map[string]any{"question_id": q.ID, "status": q.Status})
}

func (c *conn) qaVote(ctx context.Context, s *sub, cmd protocol.Command) {
	q, added, err := c.h.rooms.VoteQuestion(ctx, s.m, cmd.QuestionID)
	if err != nil {
		c.fail(cmd.ID, err)
		return
	}
	c.reply(cmd.ID, map[string]any{"question_id": q.ID, "votes": q.Votes, "counted": added})
}

func (c *conn) qaDecide(ctx context.Context, s *sub, cmd protocol.Command) {
	decide := map[string]func(context.Context, *rooms.Member, string) (store.Question, error){
		"qa.answer":  c.h.rooms.AnswerQuestion,
		"qa.dismiss": c.h.rooms.DismissQuestion,
		"qa.approve": c.h.rooms.ApproveQuestion,
	}[cmd.Type]
	q, err := decide(ctx, s.m, cmd.QuestionID)
	if err != nil {
		c.fail(cmd.ID, err)
		return
	}
	c.reply(cmd.ID, map[string]any{"question_id": q.ID, "status": q.Status})
}

func (c *conn) pollOpen(ctx context.Context, s *sub, cmd protocol.Command) {
	if cmd.Session == "" {
		c.fail(cmd.ID, protocol.Errorf(protocol.CodeBadRequest, "poll.open needs the session"))
		return
	}
	p, err := c.h.rooms.OpenPoll(ctx, s.m, cmd.Session, cmd.Question, cmd.Options)
	if err != nil {
		c.fail(cmd.ID, err)
		return
	}
	c.reply(cmd.ID, map[string]any{"poll_id": p.ID, "poll": rooms.WirePoll(p)})
}

func (c *conn) pollVote(ctx context.Context, s *sub, cmd protocol.Command) {
	if cmd.Option == nil {
		c.fail(cmd.ID, protocol.Errorf(protocol.CodeBadRequest, "poll.vote needs option (the 0-based index of the choice)"))
		return
	}
	p, err := c.h.rooms.VotePoll(ctx, s.m, cmd.PollID, *cmd.Option)
	if err != nil {
		c.fail(cmd.ID, err)
		return
	}
	c.reply(cmd.ID, map[string]any{"poll_id": p.ID, "poll": rooms.WirePoll(p)})
}

func (c *conn) pollClose(ctx context.Context, s *sub, cmd protocol.Command) {
	p, err := c.h.rooms.ClosePoll(ctx, s.m, cmd.PollID)
	if err != nil {
		c.fail(cmd.ID, err)
		return
	}
	c.reply(cmd.ID, map[string]any{"poll_id": p.ID, "poll": rooms.WirePoll(p)})
}
