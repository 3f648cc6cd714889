package store

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// AuditEntry is one record of the append-only audit log: every moderation action, rule
// change and role change, written in the same transaction as its effect. Entries form one
// hash chain across the deployment, so rewriting or removing any entry is detectable.
type AuditEntry struct {
	ID        int64  // position in the chain, from 1; assigned by the store
	RoomID    string // "" for deployment-wide actions
	ActorID   string
	TargetID  string // user acted on, "" if none
	Action    string // "mute", "unmute", "remove", "ban", "unban", "delete", "slow_mode", "lock", "room_role", "rule", ...
	Reason    string
	Detail    string // JSON object with action-specific fields (duration_s, seq, seconds, locked, ...)
	At        time.Time
	ExpiresAt time.Time // zero when the effect does not expire
	PrevHash  []byte    // Hash of entry ID-1 (32 zero bytes for the first)
	Hash      []byte    // AuditHash(PrevHash, entry)
}

// ModerationChange is a state change and its audit entry, applied atomically: either both
// are stored or neither is. Nil fields leave state alone.
type ModerationChange struct {
	Audit AuditEntry // ID, PrevHash and Hash are assigned by the store

	// The target's membership in Audit.RoomID (created if missing).
	MutedUntil *time.Time // zero time lifts a mute
	Banned     *bool
	RoomRole   *string

	// The room's settings.
	Room *RoomPatch

	// The target's global role (Audit.RoomID is then ""); Verified goes with it.
	UserRole *string
	Verified *bool

	// Keyword rules of Audit.RoomID: one to add (ID and CreatedAt set by the caller) or
	// the ID of one to remove (ErrNotFound if it is not a rule of that room).
	AddRule      *Rule
	RemoveRuleID string

	// Review decisions: reject a pending held message, or close an open report with
	// ReportDismissed or ReportActioned. ErrNotFound if it is not in Audit.RoomID;
	// ErrConflict, with nothing stored, if it was already decided.
	RejectHeldID string
	ReportID     string
	ReportStatus string

	// A message to mark deleted (kept for moderators and audit), by "author" or "moderator".
	DeleteSeq int64
	DeleteBy  string
	// Delete (hide) the target's messages in the room posted at or after this time.
	DeleteSince time.Time
}

// AuditHash chains an entry to its predecessor: SHA-256 over the previous hash and every
// field in a fixed, length-prefixed order, so no two different entries share an encoding.
func AuditHash(prev []byte, e AuditEntry) []byte {
	h := sha256.New()
	var n [8]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field(prev)
	binary.BigEndian.PutUint64(n[:], uint64(e.ID))
	h.Write(n[:])
	for _, s := range []string{e.RoomID, e.ActorID, e.TargetID, e.Action, e.Reason, e.Detail} {
		field([]byte(s))
	}
	for _, t := range []time.Time{e.At, e.ExpiresAt} {
		var v int64
		if !t.IsZero() {
			v = t.UTC().UnixMicro()
		}
		binary.BigEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	return h.Sum(nil)
}

// VerifyChain checks a run of consecutive entries (oldest first) against their hashes and
// returns the ID of the first entry that does not match, or 0 when all do. prev is the
// hash before the first entry (32 zero bytes at the start of the chain).
func VerifyChain(prev []byte, entries []AuditEntry) int64 {
	for _, e := range entries {
		want := AuditHash(prev, e)
		if string(e.PrevHash) != string(prev) || string(e.Hash) != string(want) {
			return e.ID
		}
		prev = e.Hash
	}
	return 0
}
