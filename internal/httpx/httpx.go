// Package httpx holds the small HTTP conventions every Haven handler shares: JSON bodies,
// the {error: {code, message}} shape, and status codes chosen from protocol error codes.
package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/havenhealth/haven/protocol"
)

// MaxBody caps request bodies; no Haven request needs more.
const MaxBody = 64 << 10

// WriteJSON writes v with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// WriteError writes err as {error: {code, message, ...extra}} with the status its code
// implies. Internal causes are logged, never sent.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	pe := protocol.AsError(err)
	if pe.Code == protocol.CodeInternal || pe.Code == protocol.CodeUnavailable {
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "code", pe.Code, "err", err)
	}
	body := map[string]any{"code": pe.Code, "message": pe.Message}
	for k, v := range pe.Extra {
		body[k] = v
	}
	if ra, ok := pe.Extra["retry_after_ms"].(int64); ok {
		w.Header().Set("Retry-After", fmt.Sprint((ra+999)/1000))
	}
	WriteJSON(w, Status(pe.Code), map[string]any{"error": body})
}

// Status maps a protocol error code to an HTTP status.
func Status(code string) int {
	switch code {
	case protocol.CodeBadRequest, protocol.CodeGuidelinesRequired:
		return http.StatusBadRequest
	case protocol.CodeUnauthorized:
		return http.StatusUnauthorized
	case protocol.CodeForbidden, protocol.CodeNotMember, protocol.CodeBanned, protocol.CodeMuted, protocol.CodeRoomLocked:
		return http.StatusForbidden
	case protocol.CodeNotFound:
		return http.StatusNotFound
	case protocol.CodeConflict:
		return http.StatusConflict
	case protocol.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case protocol.CodeRateLimited, protocol.CodeSlowMode:
		return http.StatusTooManyRequests
	case protocol.CodeUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// DecodeJSON reads a JSON body of at most MaxBody bytes into v, rejecting trailing data.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return protocol.Errorf(protocol.CodeTooLarge, "request body over %d bytes", MaxBody)
		}
		return protocol.Errorf(protocol.CodeBadRequest, "malformed JSON body: %v", err)
	}
	if dec.More() {
		return protocol.Errorf(protocol.CodeBadRequest, "malformed JSON body: trailing data")
	}
	return nil
}
