package store

import (
	"context"
	"time"
)

// Personal-information policies a room can take (Room screening, see docs/PROTOCOL.md
// "Safety screening"). A room with none ("") follows the deployment's default.
const (
	PIIWarn   = "warn"   // refuse the post and let the sender edit it or confirm it
	PIIRedact = "redact" // publish the post with the personal spans replaced
	PIIHold   = "hold"   // hold the post for a moderator's review
)

// PIIPolicies lists the valid policies.
var PIIPolicies = []string{PIIWarn, PIIRedact, PIIHold}

// MessageEdit is one earlier version of an edited message: the text it had until EditedAt.
type MessageEdit struct {
	RoomID   string
	Seq      int64
	Text     string // the text before this edit
	EditedAt time.Time
}

// MessageEdits keeps edits of messages and each room's personal-information policy.
type MessageEdits interface {
	// EditMessage replaces the text of authorID's message (roomID, seq) with text, keeps the
	// previous text in the message's edit history (for moderators and audit) and returns the
	// message with EditedAt = at. ae, when set, is the adverse-event case the new text opens,
	// stored in the edit's own transaction with the message's ID and seq (and the message
	// put under legal hold), so the edit and its case commit or fail together. ErrNotFound
	// if there is no such message by authorID; ErrConflict, with nothing stored, if the
	// message is deleted.
	EditMessage(ctx context.Context, roomID string, seq int64, authorID, text string, at time.Time, ae *NewAECase) (Message, error)
	// MessageEditHistory returns a message's earlier texts, oldest first.
	MessageEditHistory(ctx context.Context, roomID string, seq int64) ([]MessageEdit, error)
	// EditTimes returns when each edited message of a room with from <= seq <= to was last
	// edited (messages never edited are absent).
	EditTimes(ctx context.Context, roomID string, from, to int64) (map[int64]time.Time, error)
	// RoomPIIPolicy returns the room's personal-information policy ("" when never set);
	// ErrNotFound if the room does not exist.
	RoomPIIPolicy(ctx context.Context, roomID string) (string, error)
	// SetRoomPIIPolicy sets the room's policy and appends audit in one transaction, and
	// returns the entry as stored. ErrNotFound, with nothing stored, if the room does not exist.
	SetRoomPIIPolicy(ctx context.Context, roomID, policy string, audit AuditEntry) (AuditEntry, error)
}
