package store

import "time"

// Live sessions: webinars and support sessions held in a room, with their Q&A and polls.
// Everything here lives in the store so that every node of a cluster sees the same state;
// vote counts are computed by the store from one row per (question, voter) and per
// (poll, voter), so a vote counts once however many nodes it reaches.

// Session kinds.
const (
	SessionWebinar = "webinar"
	SessionSupport = "support"
)

// Session states. A session moves scheduled → live → ended (or scheduled → ended when it is
// called off), never back.
const (
	SessionScheduled = "scheduled"
	SessionLive      = "live"
	SessionEnded     = "ended"
)

// Question statuses. A question a keyword rule holds starts held; any other starts open.
const (
	QuestionHeld      = "held"      // kept back until a moderator approves it (→ open) or dismisses it
	QuestionOpen      = "open"      // visible, takes votes
	QuestionAnswered  = "answered"  // the host answered it; visible, no more votes
	QuestionDismissed = "dismissed" // set aside by the host or a moderator; hidden from members
)

// Poll states.
const (
	PollOpen   = "open"
	PollClosed = "closed"
)

// Limits the store is built for (the rooms service enforces them on input).
const (
	PollMinOptions = 2
	PollMaxOptions = 6
)

// RoomSession is a scheduled, live or past session in a room. (Session is a signed-in
// device; this is the other kind.)
type RoomSession struct {
	ID        string
	RoomID    string
	RoomSlug  string // filled on reads
	Kind      string // SessionWebinar, SessionSupport
	Title     string
	Host      Author // filled on reads; on create only Host.ID is used
	StartsAt  time.Time
	Sponsor   string // disclosure shown to members; "" when unsponsored
	State     string // SessionScheduled, SessionLive, SessionEnded
	StartedAt time.Time
	EndedAt   time.Time
	CreatedBy string
	CreatedAt time.Time
}

// SessionPatch is a partial update of a session; nil fields are left alone.
type SessionPatch struct {
	Title    *string
	StartsAt *time.Time
	Sponsor  *string
}

// Question is an attendee's question in a session's Q&A.
type Question struct {
	ID        string
	SessionID string
	RoomID    string
	Author    Author // filled on reads; on AddQuestion only Author.ID is used
	Text      string
	Status    string // QuestionHeld, QuestionOpen, QuestionAnswered, QuestionDismissed
	Reason    string // why it was held (the rule's reason)
	RuleID    string // the keyword rule that held it, if any
	Votes     int    // computed by the store
	CreatedAt time.Time
	DecidedBy string // who last changed the status
	DecidedAt time.Time
}

// QuestionCanMove reports whether a question may go from status from to status to:
// held → open (approved) or dismissed; open → answered or dismissed.
func QuestionCanMove(from, to string) bool {
	switch from {
	case QuestionHeld:
		return to == QuestionOpen || to == QuestionDismissed
	case QuestionOpen:
		return to == QuestionAnswered || to == QuestionDismissed
	}
	return false
}

// Poll is a host's poll in a session. Counts[i] is the number of votes for Options[i].
type Poll struct {
	ID        string
	SessionID string
	RoomID    string
	Question  string
	Options   []string
	State     string // PollOpen, PollClosed
	Counts    []int  // computed by the store, one per option
	Total     int    // sum of Counts
	CreatedBy string
	CreatedAt time.Time
	ClosedBy  string
	ClosedAt  time.Time
}
