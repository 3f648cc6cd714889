// Package store is Haven's system of record: the Store interface and the types it keeps.
// Two backends implement it — store/sqlite (the embedded default) and store/postgres — and
// store/storetest holds the conformance suite both must pass.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors every backend returns (wrapped with context) so callers can decide with errors.Is.
var (
	// ErrNotFound: the row does not exist (or, for sessions, is expired or revoked).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique constraint would be violated (email, display name, slug).
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the database could not be reached or timed out; nothing was written.
	ErrUnavailable = errors.New("store unavailable")
)

// Global roles.
const (
	RoleMember    = "member"
	RoleClinician = "clinician"
	RoleModerator = "moderator"
	RoleAdmin     = "admin"
)

// Room roles.
const (
	RoomRoleMember    = "member"
	RoomRoleHost      = "host"
	RoomRoleModerator = "moderator"
)

// User is an account. Email is private to its owner and admins; DisplayName is the pseudonym.
type User struct {
	ID          string
	Email       string
	DisplayName string
	Role        string // RoleMember, RoleClinician, RoleModerator, RoleAdmin
	Verified    bool   // a clinician verified by an admin
	Affiliation string // company the account is affiliated with ("" = none); set by admins only
	CreatedAt   time.Time
}

// NewUser is what sign-up stores. PasswordHash is already an encoded argon2id hash.
type NewUser struct {
	ID           string
	Email        string // stored lower-cased; unique
	DisplayName  string // unique case-insensitively
	PasswordHash string
	Role         string
	CreatedAt    time.Time
}

// Session is a signed-in device. Only the SHA-256 of the bearer token is stored.
type Session struct {
	ID        string
	TokenHash []byte
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Room is a condition room. Moderation state (SlowModeS, Locked) lives here so every node
// reloads the same truth after a restart.
type Room struct {
	ID                string
	Slug              string
	Name              string
	Condition         string
	Kind              string // "chat", "webinar", "support"
	Visibility        string // "public", "private"
	Guidelines        string
	GuidelinesVersion int // bumped each time Guidelines changes
	SlowModeS         int
	Locked            bool
	Sponsor           string
	Disclosure        string // sponsorship disclosure shown with Sponsor (disclosure.go)
	LastSeq           int64
	CreatedAt         time.Time
}

// RoomPatch is a partial update; nil fields are left alone.
type RoomPatch struct {
	Name       *string
	Guidelines *string
	SlowModeS  *int
	Locked     *bool
	Sponsor    *string
}

// Membership is a user's standing in one room. A row exists once the user has accepted the
// room's guidelines or been given a room role.
type Membership struct {
	RoomID          string
	UserID          string
	Role            string // RoomRoleMember, RoomRoleHost, RoomRoleModerator
	AcceptedVersion int    // guidelines version accepted; 0 = never
	AcceptedAt      time.Time
	MutedUntil      time.Time // zero = not muted
	Banned          bool
	UpdatedAt       time.Time
}

// RoomMember is a membership together with the member's public face, as moderators list
// a room's members.
type RoomMember struct {
	Membership
	User Author
}

// Author is the public face of a user, as shown beside their messages.
type Author struct {
	ID          string
	DisplayName string
	Role        string
	Verified    bool
	Affiliation string // shown as a badge; see User.Affiliation
}

// Message is a stored chat message. Deleted messages keep their text in the store for
// moderators and audit; callers serving members must blank it.
type Message struct {
	ID          string
	RoomID      string
	Seq         int64
	Author      Author
	ClientMsgID string
	Text        string
	CreatedAt   time.Time
	DeletedAt   time.Time // zero = not deleted
	DeletedBy   string    // "author" or "moderator"
	EditedAt    time.Time // zero = never edited; set by EditMessage, and by rooms from EditTimes
}

// Deleted reports whether the message has been deleted.
func (m Message) Deleted() bool { return !m.DeletedAt.IsZero() }

// NewMessage is what a post appends.
type NewMessage struct {
	ID          string
	RoomID      string
	AuthorID    string
	ClientMsgID string
	Text        string
	CreatedAt   time.Time
	// AECase, when set, is opened in the message's own transaction, with MessageID and
	// MessageSeq filled in and the message under legal hold: the post and its case are
	// stored together or not at all. A resend opens nothing (the first append did).
	AECase *NewAECase
}

// Report is a member's report of a message, with a snapshot of the text (and its author)
// at report time. The reporter is kept for moderators and never shown to the author.
type Report struct {
	ID         string
	RoomID     string
	Seq        int64
	ReporterID string
	Category   string // one of ReportCategories; "" is stored as "other"
	Reason     string
	Snapshot   string
	AuthorID   string // the reported message's author, filled by the store
	CreatedAt  time.Time
	Status     string // ReportOpen, ReportDismissed, ReportActioned
	ResolvedBy string
	ResolvedAt time.Time
}

// Store is the system of record. Every method honours ctx's deadline (backends apply a
// default timeout when ctx has none) and returns an error wrapping ErrUnavailable when the
// database cannot be reached, the deadline passes, or the store is closed. A write naming a
// room or user that does not exist fails with ErrNotFound. Times come back in UTC, truncated
// to microseconds; a zero CreatedAt (or at) on a write means now.
type Store interface {
	SafetyCases // adverse-event cases and crisis alerts (adverse.go)
	Privacy     // consent, export, erasure, retention (privacy.go)
	Disclosure  // badges and sponsorship (disclosure.go)

	// Edits of messages and rooms' personal-information policy (edit.go).
	MessageEdits

	// Users and sessions.
	// CreateUser stores the email lower-cased; ErrConflict on a taken email or a display name
	// equal case-insensitively to a taken one. An empty Role means RoleMember.
	CreateUser(ctx context.Context, u NewUser) (User, error)
	UserByID(ctx context.Context, id string) (User, error)
	// UserByEmail returns the user and their password hash.
	UserByEmail(ctx context.Context, email string) (User, string, error)
	SetUserRole(ctx context.Context, id, role string, verified bool) (User, error)
	CountUsersWithRole(ctx context.Context, role string) (int, error)
	CreateSession(ctx context.Context, s Session) error
	// SessionUser resolves a live session by token hash: ErrNotFound when unknown, revoked,
	// or expired (ExpiresAt <= now).
	SessionUser(ctx context.Context, tokenHash []byte, now time.Time) (Session, User, error)
	// RevokeSession is idempotent (the first revocation time is kept); ErrNotFound if unknown.
	RevokeSession(ctx context.Context, sessionID string) error

	// Rooms.
	// CreateRoom ignores r.GuidelinesVersion and r.LastSeq (a room starts at version 1, seq 0)
	// and defaults Kind to "chat" and Visibility to "public". ErrConflict on slug.
	CreateRoom(ctx context.Context, r Room) (Room, error)
	// UpdateRoom bumps GuidelinesVersion only when the guidelines text actually changes.
	UpdateRoom(ctx context.Context, slug string, p RoomPatch) (Room, error)
	RoomBySlug(ctx context.Context, slug string) (Room, error)
	ListRooms(ctx context.Context) ([]Room, error) // ordered by slug

	// Membership.
	Membership(ctx context.Context, roomID, userID string) (Membership, error) // ErrNotFound if none
	// AcceptGuidelines records version and at, creating the membership with RoomRoleMember if
	// there is none; an existing role, mute and ban are kept.
	AcceptGuidelines(ctx context.Context, roomID, userID string, version int, at time.Time) (Membership, error)
	// SetRoomRole sets the role, creating the membership (AcceptedVersion 0) if there is none.
	SetRoomRole(ctx context.Context, roomID, userID, role string, at time.Time) (Membership, error)
	// Memberships returns up to limit of a room's memberships with each member's public face
	// (limit <= 0 returns none; an unknown room has none). Order: banned members first; then
	// members with a mute on record (MutedUntil set, ended or not), the latest end first;
	// then everyone else. Within a group, and between equal mute ends, by display name
	// ignoring case (compared bytewise, lower-cased), then by user ID.
	Memberships(ctx context.Context, roomID string, limit int) ([]RoomMember, error)

	// Messages. AppendMessage assigns the room's next seq in the same transaction as the
	// insert; a room's seqs are gap-free and strictly increasing however many appends run at
	// once, and a failed append takes no seq. A repeated non-empty (room, author,
	// client_msg_id) returns the first message with duplicate=true and stores nothing; an
	// empty client_msg_id is never deduplicated. Backends may commit concurrent appends
	// together (group commit); each caller still gets its own result. ErrConflict on a
	// reused message ID.
	AppendMessage(ctx context.Context, m NewMessage) (msg Message, duplicate bool, err error)
	// MessagesAfter returns up to limit messages with seq > since, oldest first. Deleted
	// messages are included with their text; limit <= 0 returns none.
	MessagesAfter(ctx context.Context, roomID string, since int64, limit int) ([]Message, error)
	// MessagesBefore returns up to limit messages with seq < before, oldest first
	// (the newest such messages). before <= 0 means the room's newest messages.
	MessagesBefore(ctx context.Context, roomID string, before int64, limit int) ([]Message, error)
	MessageBySeq(ctx context.Context, roomID string, seq int64) (Message, error)
	// DeleteMessage sets DeletedAt and DeletedBy and keeps the text. Deleting again keeps the
	// first deletion's time and actor.
	DeleteMessage(ctx context.Context, roomID string, seq int64, by string, at time.Time) (Message, error)

	// Reports.
	// CreateReport snapshots the stored text when r.Snapshot is empty and fills AuthorID;
	// ErrNotFound if the message does not exist, ErrConflict on a reused report ID.
	CreateReport(ctx context.Context, r Report) (Report, error)
	// Reports returns up to limit of a room's reports with the given status ("" = any),
	// oldest first.
	Reports(ctx context.Context, roomID, status string, limit int) ([]Report, error)

	// Keyword rules and the review queue.
	// Rules returns a room's keyword rules, oldest first.
	Rules(ctx context.Context, roomID string) ([]Rule, error)
	// HoldMessage stores a post held for review (status pending). A repeated non-empty
	// (room, author, client_msg_id) returns the first held message with duplicate=true.
	HoldMessage(ctx context.Context, h HeldMessage) (held HeldMessage, duplicate bool, err error)
	// HeldMessage returns one held message; ErrNotFound if none.
	HeldMessage(ctx context.Context, id string) (HeldMessage, error)
	// HeldMessages returns up to limit of a room's held messages with the given status
	// ("" = any), oldest first.
	HeldMessages(ctx context.Context, roomID, status string, limit int) ([]HeldMessage, error)
	// ApproveHeld publishes a pending held message in one transaction: it appends it as the
	// room's next message (CreatedAt = audit.At, the original ClientMsgID), marks it approved
	// with that seq, and appends audit. ErrNotFound if there is no such held message in
	// audit.RoomID; ErrConflict, with nothing stored, if it was already decided.
	ApproveHeld(ctx context.Context, heldID string, audit AuditEntry) (Message, AuditEntry, error)

	// Moderation and the audit log.
	// ApplyModeration applies ch's state change and appends its audit entry in one
	// transaction, and returns the entry as stored (ID, PrevHash, Hash set; At defaults to
	// now). Appends are serialised deployment-wide, so the chain stays linear. ErrNotFound,
	// with nothing stored, if the room, the target or the message to delete does not exist.
	ApplyModeration(ctx context.Context, ch ModerationChange) (AuditEntry, error)
	// AuditLog returns up to limit entries with ID < beforeID (beforeID <= 0: the newest),
	// newest first; roomID "" means every room.
	AuditLog(ctx context.Context, roomID string, beforeID int64, limit int) ([]AuditEntry, error)
	// AuditChain returns up to limit entries with ID > afterID, oldest first, for VerifyChain.
	AuditChain(ctx context.Context, afterID int64, limit int) ([]AuditEntry, error)

	Ping(ctx context.Context) error
	Close() error

	// Live sessions, Q&A and polls (see sessions.go). Session changes are audited in the
	// same transaction as their effect, with the audit entry the caller passes (Action
	// "session_schedule", "session_update", "session_start" or "session_end").
	// CreateRoomSession stores s as scheduled; ErrNotFound if the room or the host does not
	// exist, ErrConflict on a reused ID.
	CreateRoomSession(ctx context.Context, s RoomSession, audit AuditEntry) (RoomSession, error)
	// RoomSession returns one session; ErrNotFound if none.
	RoomSession(ctx context.Context, id string) (RoomSession, error)
	// RoomSessions returns up to limit of a room's sessions in the given states (none: any),
	// by StartsAt, then ID.
	RoomSessions(ctx context.Context, roomID string, states []string, limit int) ([]RoomSession, error)
	// UpdateRoomSession applies p to a session that has not ended; ErrConflict, with nothing
	// stored, if it has.
	UpdateRoomSession(ctx context.Context, id string, p SessionPatch, audit AuditEntry) (RoomSession, error)
	// StartRoomSession moves a scheduled session to live with StartedAt = audit.At;
	// ErrConflict, with nothing stored, if it is not scheduled.
	StartRoomSession(ctx context.Context, id string, audit AuditEntry) (RoomSession, error)
	// EndRoomSession moves a scheduled or live session to ended with EndedAt = audit.At and
	// closes its open polls; ErrConflict, with nothing stored, if it has already ended.
	EndRoomSession(ctx context.Context, id string, audit AuditEntry) (RoomSession, error)
	// AddQuestion stores q (Status QuestionOpen or QuestionHeld) in a session that has not
	// ended: ErrNotFound if the session is not in q.RoomID, ErrConflict if it has ended or
	// on a reused ID.
	AddQuestion(ctx context.Context, q Question) (Question, error)
	// Question returns one question with its votes; ErrNotFound if none.
	Question(ctx context.Context, id string) (Question, error)
	// Questions returns up to limit of a session's questions in the given statuses (none:
	// any), oldest first, with their votes.
	Questions(ctx context.Context, sessionID string, statuses []string, limit int) ([]Question, error)
	// VoteQuestion records userID's vote for an open question once: a repeat stores nothing
	// and answers added=false. ErrNotFound if there is no such question; ErrConflict if it
	// is not open.
	VoteQuestion(ctx context.Context, questionID, userID string, at time.Time) (q Question, added bool, err error)
	// DecideQuestion moves a question to status (QuestionCanMove) by a user at a time;
	// ErrConflict, with nothing stored, if its current status does not allow it.
	DecideQuestion(ctx context.Context, id, status, by string, at time.Time) (Question, error)
	// CreatePoll stores p as open in a live session: ErrNotFound if the session is not in
	// p.RoomID, ErrConflict if it is not live or on a reused ID.
	CreatePoll(ctx context.Context, p Poll) (Poll, error)
	// Poll returns one poll with its counts; ErrNotFound if none.
	Poll(ctx context.Context, id string) (Poll, error)
	// Polls returns up to limit of a session's polls, oldest first, with their counts.
	Polls(ctx context.Context, sessionID string, limit int) ([]Poll, error)
	// VotePoll records userID's one vote, for option (0-based): ErrNotFound if there is no
	// such poll or option; ErrConflict, with nothing stored, if userID has already voted in
	// it or it is closed. A vote never lands after the poll's close.
	VotePoll(ctx context.Context, pollID, userID string, option int, at time.Time) (Poll, error)
	// ClosePoll closes an open poll; ErrConflict if it is already closed.
	ClosePoll(ctx context.Context, id, by string, at time.Time) (Poll, error)
}
