package store

import (
	"context"
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

// SafetyCases keeps adverse-event cases and crisis alerts (see the AE case queue in
// docs/PROTOCOL.md). Nothing here can delete a case.
type SafetyCases interface {
	// OpenAECase stores a case in status open with its due times computed by the caller
	// (the deployment's configuration) and marks the message, if any, as held for legal
	// reasons, in one transaction.
	OpenAECase(ctx context.Context, c NewAECase) (string, error)
	// RecordCrisisAlert stores a crisis alert and returns its ID.
	RecordCrisisAlert(ctx context.Context, a NewCrisisAlert) (string, error)
}
