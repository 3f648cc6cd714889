package store

import (
	"context"
	"time"
)

// Consent kinds. A deployment may require the health-data consent before members post;
// guideline acceptance per room stays in Membership.AcceptedVersion.
const ConsentHealthData = "health_data"

// Erasure content policies: what happens to an erased member's published messages.
const (
	// ErasureDelete blanks the text and marks the message deleted (by "erasure").
	ErasureDelete = "delete"
	// ErasurePseudonymise keeps the text; the author becomes the account's tombstone.
	ErasurePseudonymise = "pseudonymise"
)

// Deletion actors written by this part, beside "author" and "moderator".
const (
	DeletedByErasure   = "erasure"
	DeletedByRetention = "retention"
)

// Consent is one grant of a consent and, once withdrawn (or superseded by a grant of
// another version), the time it ended. A member's history is kept: the rows are the record
// of what they agreed to and when.
type Consent struct {
	ID          int64
	UserID      string
	Kind        string
	Version     int
	GrantedAt   time.Time
	WithdrawnAt time.Time // zero = in force
}

// Active reports whether the consent is still in force.
func (c Consent) Active() bool { return c.WithdrawnAt.IsZero() }

// ExportSession is a signed-in device as its owner sees it in an export: never the token hash.
type ExportSession struct {
	ID        string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time
}

// ExportMembership is a membership with its room's slug.
type ExportMembership struct {
	RoomSlug string
	Membership
}

// ExportMessage is a message the member wrote, deleted or not, with its text.
type ExportMessage struct {
	RoomSlug  string
	LegalHold bool
	Message
}

// ExportVote is a Q&A upvote (Choice -1) or a poll vote the member cast.
type ExportVote struct {
	RoomSlug  string
	SessionID string
	TargetID  string // the question or poll
	Choice    int    // poll option, 0-based; -1 for a question upvote
	CreatedAt time.Time
}

// ExportEdit is an earlier text of one of the member's messages (before an edit).
type ExportEdit struct {
	RoomSlug string
	Seq      int64
	PrevText string
	EditedAt time.Time
}

// ExportFollowup is a message of an adverse-event case's private thread that the member
// wrote or that was addressed to them. The reviewer's identity is not exported.
type ExportFollowup struct {
	ID     string
	CaseID string
	ToMe   bool // addressed to the member (from a reviewer); false: the member wrote it
	Text   string
	At     time.Time
}

// UserExport is everything the store holds about one member (GDPR Articles 15 and 20).
type UserExport struct {
	User          User
	ErasedAt      time.Time
	Sessions      []ExportSession
	Memberships   []ExportMembership
	Consents      []Consent
	Messages      []ExportMessage
	Edits         []ExportEdit
	HeldMessages  []HeldMessage
	Reports       []Report // reports they made
	Questions     []Question
	QuestionVotes []ExportVote
	PollVotes     []ExportVote
	Followups     []ExportFollowup
}

// Erasure is a request to erase one account (GDPR Article 17).
type Erasure struct {
	UserID string
	// Pseudonym is the display name the account's tombstone keeps, e.g. "Former member 7f3a".
	Pseudonym string
	// PasswordHash replaces the password: a hash of a secret nobody knows, so the tombstone
	// can never sign in and a login attempt takes the usual path.
	PasswordHash string
	// Content is ErasureDelete or ErasurePseudonymise.
	Content string
	// Audit is the erase_account entry (ID, hashes assigned by the store); At is the
	// erasure time. It must carry no personal data.
	Audit AuditEntry
}

// ErasureResult says what an erasure did.
type ErasureResult struct {
	Audit      AuditEntry
	SessionIDs []string // the sessions that were revoked; the caller closes their sockets
	Removed    int      // messages blanked (ErasureDelete) or left with the pseudonym
	LegalHold  int      // messages kept with their text because they are under legal hold
	// Deleted are the messages members saw that are now deleted (ErasureDelete, legal hold
	// included: members see those as deleted too), newest first: the caller tells the rooms.
	Deleted []DeletedMessage
	// Renamed are the slugs of the rooms where members still see messages or questions of
	// theirs, now under the pseudonym (ErasurePseudonymise), sorted: the caller tells them.
	Renamed []string
}

// DeletedMessage names one message by its room's slug and its seq.
type DeletedMessage struct {
	RoomSlug string
	Seq      int64
}

// RoomRetention is a room's retention setting.
type RoomRetention struct {
	RoomID string
	Slug   string
	Days   int // 0 = keep forever
}

// Privacy keeps consents, exports, erasures and retention (issue 7).
type Privacy interface {
	// GrantConsent records userID's consent of kind at version. Granting the version in
	// force again stores nothing and returns it; granting another version ends the one in
	// force (WithdrawnAt = at) and starts the new one. ErrNotFound for an unknown user.
	GrantConsent(ctx context.Context, userID, kind string, version int, at time.Time) (Consent, error)
	// WithdrawConsent ends the consent of kind in force at at; ErrNotFound if none is.
	WithdrawConsent(ctx context.Context, userID, kind string, at time.Time) (Consent, error)
	// ActiveConsent returns the consent of kind in force; ErrNotFound if none is.
	ActiveConsent(ctx context.Context, userID, kind string) (Consent, error)
	// Consents returns every consent userID granted, newest first.
	Consents(ctx context.Context, userID string) ([]Consent, error)

	// ExportUser gathers everything about userID, read in one snapshot. ErrNotFound for an
	// unknown user.
	ExportUser(ctx context.Context, userID string) (UserExport, error)
	// EraseUser erases an account in one transaction: the user row becomes a tombstone
	// (pseudonym, no email, an unusable password; the ID stays so that foreign keys and
	// legal-hold records keep pointing at it); sessions, memberships, consents and votes are
	// deleted; messages are blanked or kept per e.Content, except those under legal hold,
	// which keep their text (hidden from members under ErasureDelete); e.Audit is appended.
	// ErrNotFound for an unknown or already erased user.
	EraseUser(ctx context.Context, e Erasure) (ErasureResult, error)

	// SetRoomRetention sets a room's retention in days (0 = forever) and appends audit.
	// ErrNotFound for an unknown room.
	SetRoomRetention(ctx context.Context, roomID string, days int, audit AuditEntry) (RoomRetention, error)
	// RoomRetentions lists every room's retention, by slug.
	RoomRetentions(ctx context.Context) ([]RoomRetention, error)
	// ApplyRetention blanks the text of roomID's messages created before before and marks
	// them deleted (at, by DeletedByRetention), skipping messages under legal hold. Seqs stay
	// gap-free. It is idempotent: it returns how many messages this call changed.
	ApplyRetention(ctx context.Context, roomID string, before, at time.Time) (int, error)
}
