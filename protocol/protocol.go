package protocol

import (
	"encoding/json"
	"time"
)

// Subprotocol is the WebSocket subprotocol a client must offer.
const Subprotocol = "haven.v1"

// Command is a client frame. One flat struct serves every command type: the fields a type
// does not use are simply absent, and decoding stays one pass with no reflection on type.
type Command struct {
	ID               string `json:"id"`
	Type             string `json:"type"`
	Room             string `json:"room,omitempty"`
	Since            *int64 `json:"since,omitempty"`
	AcceptGuidelines int    `json:"accept_guidelines,omitempty"`
	Text             string `json:"text,omitempty"`
	ClientMsgID      string `json:"client_msg_id,omitempty"`
	Before           int64  `json:"before,omitempty"`
	Limit            int    `json:"limit,omitempty"`
	Seq              int64  `json:"seq,omitempty"`
	Reason           string `json:"reason,omitempty"`
	User             string `json:"user,omitempty"`
	DurationS        int64  `json:"duration_s,omitempty"`
	DeleteRecentS    int64  `json:"delete_recent_s,omitempty"`
	Seconds          *int   `json:"seconds,omitempty"`
	Locked           *bool  `json:"locked,omitempty"`
	Category         string `json:"category,omitempty"`  // report (extension)
	HeldID           string `json:"held_id,omitempty"`   // approve, reject (extension)
	ReportID         string `json:"report_id,omitempty"` // resolve_report (extension)
	Outcome          string `json:"outcome,omitempty"`   // resolve_report (extension)
	// Sessions, Q&A and polls (extension).
	Session    string   `json:"session,omitempty"`     // qa.ask, poll.open: the session's id
	QuestionID string   `json:"question_id,omitempty"` // qa.vote, qa.answer, qa.dismiss, qa.approve
	Question   string   `json:"question,omitempty"`    // poll.open
	Options    []string `json:"options,omitempty"`     // poll.open
	PollID     string   `json:"poll_id,omitempty"`     // poll.vote, poll.close
	Option     *int     `json:"option,omitempty"`      // poll.vote: 0-based index into options
	// Safety screening (extension): send and edit.
	ConfirmPersonalInfo bool `json:"confirm_personal_info,omitempty"`
}

// User is the public face of an account: never the email.
type User struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	Verified    bool   `json:"verified"`
	Badges      Badges `json:"badges,omitzero"` // extension: badges.go
}

// Message is a chat message as members see it, in `message` events and in the `messages`
// of join and history replies. Deleted is an extension: history and recovery serve a
// deleted message as a tombstone (empty text) so clients can remove what they showed.
type Message struct {
	Type      string `json:"type"`
	Room      string `json:"room"`
	Seq       int64  `json:"seq"`
	MessageID string `json:"message_id"`
	Author    User   `json:"author"`
	Text      string `json:"text"`
	TS        string `json:"ts"`
	Deleted   bool   `json:"deleted,omitempty"`
	EditedAt  string `json:"edited_at,omitempty"` // extension: set once the author has edited it
}

// TS formats a server time as PROTOCOL v1 requires (RFC 3339, UTC, milliseconds).
func TS(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// MessageDeleted is the tombstone event.
type MessageDeleted struct {
	Type string `json:"type"`
	Room string `json:"room"`
	Seq  int64  `json:"seq"`
	By   string `json:"by"`
}

// AuthorRenamed tells a room that everything it shows of an author now goes under the
// author's new name: an account erased under pseudonymise (extension).
type AuthorRenamed struct {
	Type   string `json:"type"`
	Room   string `json:"room"`
	Author User   `json:"author"`
}

// Presence tells a room who came and went and how many are online.
type Presence struct {
	Type   string `json:"type"`
	Room   string `json:"room"`
	Online int    `json:"online"`
	Joined *User  `json:"joined,omitempty"`
	Left   *User  `json:"left,omitempty"`
}

// Typing is the ephemeral typing indicator.
type Typing struct {
	Type string `json:"type"`
	Room string `json:"room"`
	User User   `json:"user"`
}

// Reconnect asks a client to reconnect (the node is draining) and join with since.
type Reconnect struct {
	Type         string `json:"type"`
	Reason       string `json:"reason"`
	RetryAfterMS int64  `json:"retry_after_ms"`
}

// Removed tells a member they are out of a room.
type Removed struct {
	Type   string `json:"type"`
	Room   string `json:"room"`
	Reason string `json:"reason"`
	Banned bool   `json:"banned"`
}

// Moderation announces a moderation action.
type Moderation struct {
	Type    string `json:"type"`
	Room    string `json:"room"`
	Action  string `json:"action"`
	Target  *User  `json:"target,omitempty"`
	Until   string `json:"until,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Seconds *int   `json:"seconds,omitempty"`
	Locked  *bool  `json:"locked,omitempty"`
}

// Reply builds an ok reply: {"type":"ok","re":id} plus fields.
func Reply(re string, fields map[string]any) []byte {
	m := make(map[string]any, len(fields)+2)
	for k, v := range fields {
		m[k] = v
	}
	m["type"] = "ok"
	if re != "" {
		m["re"] = re
	}
	b, _ := json.Marshal(m) // maps of JSON-safe values cannot fail
	return b
}

// ErrorReply builds an error reply from a client-facing error.
func ErrorReply(re string, e *Error) []byte {
	m := make(map[string]any, len(e.Extra)+4)
	for k, v := range e.Extra {
		m[k] = v
	}
	m["type"] = "error"
	m["code"] = e.Code
	m["message"] = e.Message
	if re != "" {
		m["re"] = re
	}
	b, _ := json.Marshal(m)
	return b
}

// Room is a room's public settings.
type Room struct {
	Slug              string `json:"slug"`
	Name              string `json:"name"`
	Condition         string `json:"condition"`
	Kind              string `json:"kind"`
	Visibility        string `json:"visibility"`
	Guidelines        string `json:"guidelines"`
	GuidelinesVersion int    `json:"guidelines_version"`
	SlowModeS         int    `json:"slow_mode_s"`
	Locked            bool   `json:"locked"`
	Sponsor           string `json:"sponsor"`
	Disclosure        string `json:"disclosure,omitempty"` // extension: sponsorship disclosure text
	PIIPolicy         string `json:"pii_policy,omitempty"` // extension: warn, redact or hold (PATCH and list)
}

// HeldPost is a post kept back for review, as moderators see it in `review.held` and in the
// review queue.
type HeldPost struct {
	ID     string `json:"id"`
	Author User   `json:"author"`
	Text   string `json:"text"`
	Reason string `json:"reason"`
	RuleID string `json:"rule_id,omitempty"`
	TS     string `json:"ts"`
}

// ReportItem is a member's report as moderators see it. Author is the reported message's
// author; the reporter is deliberately absent so it can never leak to anyone.
type ReportItem struct {
	ID       string `json:"id"`
	Seq      int64  `json:"seq"`
	Category string `json:"category"`
	Reason   string `json:"reason"`
	Snapshot string `json:"snapshot"`
	Author   User   `json:"author"`
	TS       string `json:"ts"`
}

// ReviewHeld tells a room's moderators a post awaits review.
type ReviewHeld struct {
	Type string   `json:"type"` // "review.held"
	Room string   `json:"room"`
	Held HeldPost `json:"held"`
}

// ReviewReport tells a room's moderators a member reported a message.
type ReviewReport struct {
	Type   string     `json:"type"` // "review.report"
	Room   string     `json:"room"`
	Report ReportItem `json:"report"`
}

// ReviewAlert tells a room's moderators a published post matched an alert rule.
type ReviewAlert struct {
	Type   string `json:"type"` // "review.alert"
	Room   string `json:"room"`
	Seq    int64  `json:"seq"`
	Author User   `json:"author"`
	RuleID string `json:"rule_id"`
	Reason string `json:"reason"`
}

// ReviewResolved tells a room's moderators an item left the queue, so every queue stays in
// step with the others.
type ReviewResolved struct {
	Type     string `json:"type"` // "review.resolved"
	Room     string `json:"room"`
	Kind     string `json:"kind"` // "held" or "report"
	ID       string `json:"id"`
	Decision string `json:"decision"` // approved, rejected, dismissed, actioned
	By       User   `json:"by"`
}

// Rule is a room keyword rule as the rules API serves it.
type Rule struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Pattern   string `json:"pattern"`
	Action    string `json:"action"`
	Reason    string `json:"reason"`
	CreatedBy string `json:"created_by"`
	CreatedAt string `json:"created_at"`
}

// RoomSession is a scheduled, live or past webinar or support session, as members see it.
// Sponsor is the disclosure shown with it ("" when unsponsored).
type RoomSession struct {
	ID        string `json:"id"`
	Room      string `json:"room"`
	Kind      string `json:"kind"` // "webinar" or "support"
	Title     string `json:"title"`
	HostID    string `json:"host_id"`
	Host      User   `json:"host"`
	StartsAt  string `json:"starts_at"`
	Sponsor   string `json:"sponsor"`
	State     string `json:"state"` // "scheduled", "live", "ended"
	StartedAt string `json:"started_at,omitempty"`
	EndedAt   string `json:"ended_at,omitempty"`
	CreatedBy string `json:"created_by"`
	CreatedAt string `json:"created_at"`
}

// SessionUpdate tells a room a session was scheduled, changed, started or ended.
type SessionUpdate struct {
	Type    string      `json:"type"` // "session.update"
	Room    string      `json:"room"`
	Session RoomSession `json:"session"`
}

// Question is a Q&A question. Reason and RuleID are set for moderators on a held one.
type Question struct {
	ID      string `json:"id"`
	Session string `json:"session"`
	Author  User   `json:"author"`
	Text    string `json:"text"`
	Status  string `json:"status"` // "held", "open", "answered", "dismissed"
	Votes   int    `json:"votes"`
	TS      string `json:"ts"`
	Reason  string `json:"reason,omitempty"`
	RuleID  string `json:"rule_id,omitempty"`
}

// QAQuestion announces a question: to the room when it is open, to the room's moderators
// only while it is held.
type QAQuestion struct {
	Type     string   `json:"type"` // "qa.question"
	Room     string   `json:"room"`
	Question Question `json:"question"`
}

// QAUpdate is a question's new vote count or status.
type QAUpdate struct {
	Type       string `json:"type"` // "qa.update"
	Room       string `json:"room"`
	Session    string `json:"session"`
	QuestionID string `json:"question_id"`
	Votes      int    `json:"votes"`
	Status     string `json:"status"`
	By         *User  `json:"by,omitempty"` // who answered, dismissed or approved it
}

// QAAlert tells a room's moderators a published question matched an alert rule.
type QAAlert struct {
	Type       string `json:"type"` // "qa.alert"
	Room       string `json:"room"`
	Session    string `json:"session"`
	QuestionID string `json:"question_id"`
	Author     User   `json:"author"`
	RuleID     string `json:"rule_id"`
	Reason     string `json:"reason"`
}

// Poll is a session's poll with its live results: Counts[i] votes for Options[i].
type Poll struct {
	ID        string   `json:"id"`
	Session   string   `json:"session"`
	Question  string   `json:"question"`
	Options   []string `json:"options"`
	Counts    []int    `json:"counts"`
	Total     int      `json:"total"`
	State     string   `json:"state"` // "open" or "closed"
	CreatedAt string   `json:"created_at"`
	ClosedAt  string   `json:"closed_at,omitempty"`
}

// PollResults carries a poll and its results: when it opens, as votes come in (coalesced),
// and once more, final, when it closes.
type PollResults struct {
	Type string `json:"type"` // "poll.results"
	Room string `json:"room"`
	Poll Poll   `json:"poll"`
}
