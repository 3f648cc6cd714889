package store

import (
	"context"
	"slices"
	"time"
)

// NewAECase is what the moderation pipeline knows when a post names a listed product and a
// reaction: an adverse-event report a pharmacovigilance team must see. The case keeps its
// own immutable snapshot, so it outlives the message, the author's ban and their erasure.
type NewAECase struct {
	ID         string // empty: the backend assigns one
	RoomID     string
	MessageID  string // empty when the post was held rather than published
	MessageSeq int64  // 0 when the post was held
	HeldID     string // the held post, when it was held
	AuthorID   string // the author's pseudonymous user ID (never their email)
	Text       string // the original text as received, before any redaction
	Products   []string
	Reactions  []string
	Terms      []string  // every matched span's text
	AwareAt    time.Time // server receipt: day 0 of the regulatory clock
	// Due times from the deployment's configuration (see package safetycases). Zero means
	// the defaults: forward in DefaultAEForwardBusinessDays business days, regulatory
	// clock DefaultAERegulatoryDays calendar days after AwareAt.
	ForwardDueAt    time.Time
	RegulatoryDueAt time.Time
}

// NewCrisisAlert records a crisis finding so that on-duty moderators and the safety console
// see it even if they were offline when the live alert went out.
type NewCrisisAlert struct {
	ID         string
	RoomID     string
	MessageSeq int64  // 0 when the post was held (method detail)
	HeldID     string // the held post, when it was held
	AuthorID   string
	Text       string
	Method     bool // method detail: the post is hidden from members until reviewed
	Terms      []string
	At         time.Time
}

// AE case statuses. A case moves open → forwarded → closed, or open → closed; it never
// goes back and is never deleted.
const (
	AEOpen      = "open"
	AEForwarded = "forwarded"
	AEClosed    = "closed"
)

// The two clocks an open case runs against.
const (
	ClockForward    = "forward"    // stops when the case is forwarded (or closed)
	ClockRegulatory = "regulatory" // stops when the case is closed
)

// Default due times, used when the caller leaves NewAECase's due fields zero.
const (
	DefaultAEForwardBusinessDays = 1
	DefaultAERegulatoryDays      = 15
)

// AECloseReasons are the codes a reviewer closes a case with.
var AECloseReasons = []string{"not_ae", "duplicate", "reported_to_regulator", "forwarded_complete", "insufficient_info"}

// ValidAECloseReason reports whether code is one of AECloseReasons.
func ValidAECloseReason(code string) bool { return slices.Contains(AECloseReasons, code) }

// AECase is a stored adverse-event case. Text, AwareAt and the matched terms never change.
type AECase struct {
	ID              string
	RoomID          string
	RoomSlug        string // "" if the room can no longer be named
	MessageID       string
	MessageSeq      int64
	HeldID          string
	AuthorID        string
	Text            string
	Products        []string
	Reactions       []string
	Terms           []string
	AwareAt         time.Time
	ForwardDueAt    time.Time
	RegulatoryDueAt time.Time
	Status          string // AEOpen, AEForwarded, AEClosed
	ClosedReason    string
	ClosedBy        string
	ClosedAt        time.Time
	ForwardedBy     string
	ForwardedAt     time.Time
	CreatedAt       time.Time
	// When the overdue job alerted reviewers for each clock (zero: not yet).
	ForwardAlertedAt    time.Time
	RegulatoryAlertedAt time.Time
	Followups           []AEFollowup // filled by AECase only, oldest first
}

// OverdueClocks lists the clocks of c that have run out at now.
func (c AECase) OverdueClocks(now time.Time) []string {
	var out []string
	if c.Status == AEOpen && !c.ForwardDueAt.After(now) {
		out = append(out, ClockForward)
	}
	if c.Status != AEClosed && !c.RegulatoryDueAt.After(now) {
		out = append(out, ClockRegulatory)
	}
	return out
}

// AEFollowup is one message of a case's private thread between a reviewer and the author.
type AEFollowup struct {
	ID       string
	CaseID   string
	FromUser string
	ToUser   string
	Text     string
	At       time.Time
}

// AECaseFilter selects cases. Zero fields select everything.
type AECaseFilter struct {
	Status   string // AEOpen, AEForwarded, AEClosed; "active" = open or forwarded
	RoomID   string
	AuthorID string
	Overdue  bool      // only cases with a clock run out at Now (see AECase.OverdueClocks)
	Now      time.Time // for Overdue; zero = now
	After    string    // paging: cases after this case ID in the list's order
}

// CrisisAlert is a stored crisis finding.
type CrisisAlert struct {
	ID             string
	RoomID         string
	RoomSlug       string
	MessageSeq     int64
	HeldID         string
	AuthorID       string
	Text           string
	Method         bool
	Terms          []string
	At             time.Time
	AcknowledgedBy string
	AcknowledgedAt time.Time // zero: not yet acknowledged
}

// CrisisAlertFilter selects crisis alerts. Zero fields select everything.
type CrisisAlertFilter struct {
	RoomID         string
	Unacknowledged bool
	Before         string // paging: alerts after this alert ID in the list's order (newest first)
}

// AECounts are the gauges of the case queue at one instant.
type AECounts struct {
	Active            int // open or forwarded
	OverdueForward    int
	OverdueRegulatory int
}

// SafetyCases keeps adverse-event cases and crisis alerts (see the AE case queue in
// docs/PROTOCOL.md). Nothing here can delete a case: the schema refuses DELETE on ae_cases
// and any UPDATE of a case's snapshot.
type SafetyCases interface {
	// OpenAECase stores a case in status open with its due times (the defaults when zero)
	// and marks the message, if any, as held for legal reasons, in one transaction.
	// ErrNotFound if the room does not exist; ErrConflict on a reused ID.
	OpenAECase(ctx context.Context, c NewAECase) (string, error)
	// RecordCrisisAlert stores a crisis alert and returns its ID.
	RecordCrisisAlert(ctx context.Context, a NewCrisisAlert) (string, error)

	// AECases returns up to limit cases matching f, by AwareAt then ID (oldest first: the
	// most urgent), without their follow-ups.
	AECases(ctx context.Context, f AECaseFilter, limit int) ([]AECase, error)
	// AECase returns one case with its follow-ups; ErrNotFound if none.
	AECase(ctx context.Context, id string) (AECase, error)
	// CloseAECase closes an open or forwarded case with a reason code (ValidAECloseReason)
	// by a reviewer and appends audit, in one transaction. ErrNotFound if there is no such
	// case; ErrConflict, with nothing stored, if it is already closed.
	CloseAECase(ctx context.Context, id, reason, by string, at time.Time, audit AuditEntry) (AECase, error)
	// ForwardAECase marks an open case forwarded to the safety team and appends audit.
	// ErrConflict, with nothing stored, if it is not open.
	ForwardAECase(ctx context.Context, id, by string, at time.Time, audit AuditEntry) (AECase, error)
	// AddFollowup stores a message of a case's thread (ErrNotFound if no such case;
	// ErrConflict on a reused ID) and appends audit unless it is nil.
	AddFollowup(ctx context.Context, f AEFollowup, audit *AuditEntry) (AEFollowup, error)
	// Followups returns up to limit follow-ups sent to or by userID, oldest first.
	Followups(ctx context.Context, userID string, limit int) ([]AEFollowup, error)
	// MarkAEAlerted records that reviewers were alerted that the case's clock ran out; it
	// answers true only for the call that recorded it, so across nodes an alert goes once.
	MarkAEAlerted(ctx context.Context, id, clock string, at time.Time) (bool, error)
	// CountAECases counts active and overdue cases at now.
	CountAECases(ctx context.Context, now time.Time) (AECounts, error)

	// CrisisAlerts returns up to limit alerts matching f, newest first.
	CrisisAlerts(ctx context.Context, f CrisisAlertFilter, limit int) ([]CrisisAlert, error)
	// AcknowledgeCrisisAlert records who acknowledged an alert and appends audit.
	// ErrNotFound if none; ErrConflict, with nothing stored, if already acknowledged.
	AcknowledgeCrisisAlert(ctx context.Context, id, by string, at time.Time, audit AuditEntry) (CrisisAlert, error)

	// AppendAudit appends one entry to the hash-chained audit log on its own (an access
	// record: who viewed what), serialised with every other append, and returns it as
	// stored.
	AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error)
}

// Times is c's awareness (now when unset) and due times (the defaults from it when unset),
// as every backend stores them.
func (c NewAECase) Times() (aware, forwardDue, regulatoryDue time.Time) {
	aware = c.AwareAt
	if aware.IsZero() {
		aware = time.Now()
	}
	forwardDue, regulatoryDue = AEDueTimes(aware, DefaultAEForwardBusinessDays, DefaultAERegulatoryDays)
	if !c.ForwardDueAt.IsZero() {
		forwardDue = c.ForwardDueAt
	}
	if !c.RegulatoryDueAt.IsZero() {
		regulatoryDue = c.RegulatoryDueAt
	}
	return aware, forwardDue, regulatoryDue
}

// AEDueTimes computes a case's due times from its awareness time (day 0): forwarding is due
// forwardBusinessDays business days later (Saturdays and Sundays, in UTC, do not count) at
// the same time of day, and the regulatory clock runs out regulatoryDays calendar days
// later. Negative counts are treated as 0.
func AEDueTimes(awareAt time.Time, forwardBusinessDays, regulatoryDays int) (forward, regulatory time.Time) {
	awareAt = awareAt.UTC()
	forward = awareAt
	for n := forwardBusinessDays; n > 0; {
		forward = forward.AddDate(0, 0, 1)
		if wd := forward.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return forward, awareAt.AddDate(0, 0, max(regulatoryDays, 0))
}
