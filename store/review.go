package store

import "time"

// Keyword rule kinds and actions.
const (
	RuleWord     = "word"     // a whole word or phrase, case-insensitive
	RuleWildcard = "wildcard" // a word pattern with * (any run of word characters) and ? (one)
	RuleRegex    = "regex"    // an RE2 regular expression, length-capped

	RuleBlock = "block" // refuse the post; the sender sees the rule's reason
	RuleHold  = "hold"  // keep the post out of the room until a moderator approves it
	RuleAlert = "alert" // publish the post and alert the room's moderators
)

// Review statuses of held messages and reports.
const (
	HeldPending  = "pending"
	HeldApproved = "approved"
	HeldRejected = "rejected"

	ReportOpen      = "open"
	ReportDismissed = "dismissed" // reviewed, no action needed
	ReportActioned  = "actioned"  // reviewed, a moderator acted
)

// Report categories; a report names one.
var ReportCategories = []string{"harassment", "misinformation", "self-harm", "spam", "personal-information", "other"}

// Rule is a room keyword rule. Rules are added and removed (never edited) through
// ApplyModeration, so each change is audited in the same transaction as its effect.
type Rule struct {
	ID        string
	RoomID    string
	Kind      string // RuleWord, RuleWildcard, RuleRegex
	Pattern   string
	Action    string // RuleBlock, RuleHold, RuleAlert
	Reason    string // shown to the sender of a blocked post, and to moderators
	CreatedBy string
	CreatedAt time.Time
}

// HeldMessage is a post kept back for review. Approving it appends it to the room as a new
// message (a new seq, at approval time); rejecting it keeps it for the record only.
type HeldMessage struct {
	ID          string
	RoomID      string
	Author      Author // filled on reads; on HoldMessage only Author.ID is used
	ClientMsgID string
	Text        string
	Reason      string // why it was held (the rule's reason)
	RuleID      string // "" when held by something other than a keyword rule
	CreatedAt   time.Time
	Status      string // HeldPending, HeldApproved, HeldRejected
	DecidedBy   string
	DecidedAt   time.Time
	Seq         int64 // the seq it was published with, once approved
	// AECase, on HoldMessage only, is opened in the hold's transaction with HeldID filled
	// in (see NewMessage.AECase). A resend opens nothing.
	AECase *NewAECase
}

// HeldCase is the AE case to store with hold h: h.AECase, naming the held post.
func (h HeldMessage) HeldCase() NewAECase {
	c := *h.AECase
	c.HeldID = h.ID
	return c
}
