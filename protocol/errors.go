// Package protocol holds PROTOCOL v1's wire types: error codes, the command envelope and the
// events a server sends. The server, the load tool and test clients share it.
package protocol

import (
	"errors"
	"fmt"
)

// Error codes, as PROTOCOL v1 lists them.
const (
	CodeBadRequest         = "bad_request"
	CodeUnauthorized       = "unauthorized"
	CodeForbidden          = "forbidden"
	CodeNotFound           = "not_found"
	CodeNotMember          = "not_member"
	CodeGuidelinesRequired = "guidelines_required"
	CodeMuted              = "muted"
	CodeBanned             = "banned"
	CodeSlowMode           = "slow_mode"
	CodeRoomLocked         = "room_locked"
	CodeTooLarge           = "too_large"
	CodeRateLimited        = "rate_limited"
	CodeUnavailable        = "unavailable"
	CodeInternal           = "internal"
	CodeConflict           = "conflict" // extension: a taken email or name; a review item already decided
	CodeBlocked            = "blocked"  // extension: a keyword rule refused the post
	CodeHeld               = "held"     // extension: the post awaits a moderator's review (held_id)
	CodeSpam               = "spam"     // extension: the same text repeated too often (retry_after_ms)
)

// Error is an error a client sees: a protocol code, a human message, and optional extra
// fields (until, retry_after_ms, guidelines) merged into the error reply. Internal detail
// stays in Cause, which is logged and never sent.
type Error struct {
	Code    string
	Message string
	Extra   map[string]any
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf makes a client-facing error.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// With returns a copy of e carrying an extra reply field.
func (e *Error) With(key string, v any) *Error {
	c := *e
	c.Extra = make(map[string]any, len(e.Extra)+1)
	for k, x := range e.Extra {
		c.Extra[k] = x
	}
	c.Extra[key] = v
	return &c
}

// AsError finds the client-facing error in err's chain; anything else is internal.
func AsError(err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return &Error{Code: CodeInternal, Message: "internal error", Cause: err}
}
