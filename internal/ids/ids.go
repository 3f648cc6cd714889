// Package ids makes opaque, unguessable identifiers. Pseudonymous members must not be
// enumerable, so nothing public is a sequence number except a message's per-room seq.
package ids

import (
	"crypto/rand"
	"encoding/base32"
)

var enc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// New returns prefix followed by 80 random bits in lower-case base32 (16 characters).
func New(prefix string) string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return prefix + enc.EncodeToString(b[:])
}

// Token returns a 256-bit random secret in base32, for session tokens and sign-up links.
func Token() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return enc.EncodeToString(b[:])
}
