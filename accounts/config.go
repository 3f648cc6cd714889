// Package accounts owns who a member is: sign-up, log-in, sessions and global roles. It
// keeps no state of its own beyond rate limiters and the one-time admin invite; users and
// sessions live in the store so every node agrees on them.
package accounts

import (
	"runtime"
	"time"

	"golang.org/x/time/rate"
)

// Config tunes a Service. The zero value means the documented defaults; cmd/haven maps
// flags and environment onto it.
type Config struct {
	// SessionTTL is how long a session lives after sign-in. Default 30 days.
	SessionTTL time.Duration
	// CookieName names the session cookie. Default "haven_session".
	CookieName string

	// Argon2Time is argon2id's number of passes. Default 2.
	Argon2Time uint32
	// Argon2MemoryKiB is argon2id's memory per hash in KiB. Default 19456 (19 MiB), which
	// with Argon2Time=2 and Argon2Threads=1 is OWASP's argon2id minimum. Tests lower it.
	Argon2MemoryKiB uint32
	// Argon2Threads is argon2id's parallelism. Default 1.
	Argon2Threads uint8
	// MaxConcurrentHashes bounds how many password hashes run at once, so a burst of
	// sign-ups or log-ins cannot make the node allocate Argon2MemoryKiB without limit.
	// Default GOMAXPROCS.
	MaxConcurrentHashes int

	// LoginIPRate is the sustained log-in attempt rate per remote address (an IPv6 /64
	// counts as one address). Default 10 per minute; rate.Inf disables the limit.
	LoginIPRate rate.Limit
	// LoginIPBurst is the attempts a quiet address may make at once. Default 5.
	LoginIPBurst int
	// LoginAccountRate is the sustained log-in attempt rate per account (per email, known
	// or not, so the limit reveals nothing). Default 5 per minute; rate.Inf disables it.
	LoginAccountRate rate.Limit
	// LoginAccountBurst is the attempts a quiet account may take at once. Default 5.
	LoginAccountBurst int

	// TrustProxy honours X-Forwarded-For (client address for rate limits) and
	// X-Forwarded-Proto (Secure cookies). Set it only behind a proxy that overwrites them.
	// Default false.
	TrustProxy bool

	// Now is the clock. Default time.Now.
	Now func() time.Time
	// OnRevoke is called after a session is revoked, so the server can close that
	// session's live WebSockets on every node. Default: nothing.
	OnRevoke func(sessionID string)
	// OnUserChanged is called after a user's global role or verification changed, so the
	// server can have their live WebSockets on every node reconnect and take it up.
	// Default: nothing.
	OnUserChanged func(userID string)
}

// Defaults for the zero Config.
const (
	DefaultSessionTTL      = 30 * 24 * time.Hour
	DefaultCookieName      = "haven_session"
	DefaultArgon2Time      = 2
	DefaultArgon2MemoryKiB = 19 * 1024
	DefaultArgon2Threads   = 1
)

func (c Config) withDefaults() Config {
	if c.SessionTTL <= 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.CookieName == "" {
		c.CookieName = DefaultCookieName
	}
	if c.Argon2Time == 0 {
		c.Argon2Time = DefaultArgon2Time
	}
	if c.Argon2MemoryKiB == 0 {
		c.Argon2MemoryKiB = DefaultArgon2MemoryKiB
	}
	if c.Argon2Threads == 0 {
		c.Argon2Threads = DefaultArgon2Threads
	}
	if c.MaxConcurrentHashes <= 0 {
		c.MaxConcurrentHashes = runtime.GOMAXPROCS(0)
	}
	if c.LoginIPRate <= 0 {
		c.LoginIPRate = rate.Every(time.Minute / 10)
	}
	if c.LoginIPBurst <= 0 {
		c.LoginIPBurst = 5
	}
	if c.LoginAccountRate <= 0 {
		c.LoginAccountRate = rate.Every(time.Minute / 5)
	}
	if c.LoginAccountBurst <= 0 {
		c.LoginAccountBurst = 5
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.OnRevoke == nil {
		c.OnRevoke = func(string) {}
	}
	if c.OnUserChanged == nil {
		c.OnUserChanged = func(string) {}
	}
	return c
}
