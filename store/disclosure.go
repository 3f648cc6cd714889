package store

import "context"

// Disclosure keeps account badges (company affiliation, verified clinician) and room and
// session sponsorship disclosures (issue 7). Both kinds of change are admin acts, audited
// in the same transaction as their effect, like every moderation change.
type Disclosure interface {
	// SetBadges applies b to the user audit.TargetID and appends audit in one transaction,
	// returning the user as stored and the entry as chained. ErrNotFound, with nothing
	// stored, if there is no such user.
	SetBadges(ctx context.Context, b BadgeChange, audit AuditEntry) (User, AuditEntry, error)
	// SetRoomDisclosure sets the disclosure text of the room audit.RoomID (beside its
	// Sponsor) and appends audit in one transaction. ErrNotFound, with nothing stored, if
	// there is no such room.
	SetRoomDisclosure(ctx context.Context, text string, audit AuditEntry) (Room, AuditEntry, error)
}

// BadgeChange is a partial update of an account's badges; nil fields are left alone.
type BadgeChange struct {
	Affiliation *string // company name; "" clears it
	Verified    *bool   // verified clinician
	Role        *string // set with Verified when verifying makes a member a clinician
}
