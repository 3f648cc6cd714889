package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// clock is a settable Now for rate limits and expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type harness struct {
	svc     *Service
	st      *fakeStore
	clock   *clock
	mu      sync.Mutex
	revoked []string
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	h := &harness{st: newFakeStore(), clock: &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
	cfg := Config{
		Argon2Time:      1,
		Argon2MemoryKiB: 64, // cheap hashes; the encoding carries the parameters either way
		Now:             h.clock.Now,
		OnRevoke: func(id string) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.revoked = append(h.revoked, id)
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	h.svc = New(h.st, cfg)
	return h
}

func (h *harness) signup(t *testing.T, email, name string) (store.User, string) {
	t.Helper()
	u, tok, err := h.svc.Signup(context.Background(), SignupRequest{Email: email, Password: "correct horse", DisplayName: name})
	if err != nil {
		t.Fatalf("signup %s: %v", email, err)
	}
	return u, tok
}

func wantCode(t *testing.T, err error, code string) *protocol.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want %s", code)
	}
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != code {
		t.Fatalf("got %v, want code %s", err, code)
	}
	return pe
}

func TestSignupValidation(t *testing.T) {
	h := newHarness(t, nil)
	h.signup(t, "taken@example.org", "Taken Name")

	tests := []struct {
		name    string
		req     SignupRequest
		code    string // "" = success
		message string // substring
	}{
		{"ok", SignupRequest{"new@example.org", "longenough", "River Stone", ""}, "", ""},
		{"email normalised", SignupRequest{"  MiXed@Example.ORG ", "longenough", "Mixed Case", ""}, "", ""},
		{"name too short", SignupRequest{"a@example.org", "longenough", "ab", ""}, protocol.CodeBadRequest, "3 to 32"},
		{"name short after trim", SignupRequest{"a@example.org", "longenough", "  ab  ", ""}, protocol.CodeBadRequest, "3 to 32"},
		{"name too long", SignupRequest{"a@example.org", "longenough", strings.Repeat("x", 33), ""}, protocol.CodeBadRequest, "3 to 32"},
		{"name 32 runes multibyte", SignupRequest{"b@example.org", "longenough", strings.Repeat("é", 32), ""}, "", ""},
		{"name bad chars", SignupRequest{"a@example.org", "longenough", "bob<script>", ""}, protocol.CodeBadRequest, "letters, digits"},
		{"name with at sign", SignupRequest{"a@example.org", "longenough", "a@example.org", ""}, protocol.CodeBadRequest, ""},
		{"name equals local part", SignupRequest{"jane.doe@example.org", "longenough", "Jane.Doe", ""}, protocol.CodeBadRequest, "pseudonym"},
		{"name equals local part spaced", SignupRequest{"jane.doe@example.org", "longenough", "jane doe", ""}, protocol.CodeBadRequest, "pseudonym"},
		{"name equals local part before tag", SignupRequest{"jane+haven@example.org", "longenough", "JANE", ""}, protocol.CodeBadRequest, "pseudonym"},
		{"bad email", SignupRequest{"not-an-email", "longenough", "Some Name", ""}, protocol.CodeBadRequest, "email"},
		{"email with display name", SignupRequest{"Bob <bob@example.org>", "longenough", "Some Name", ""}, protocol.CodeBadRequest, "email"},
		{"email without dotted domain", SignupRequest{"bob@localhost", "longenough", "Some Name", ""}, protocol.CodeBadRequest, "email"},
		{"password too short", SignupRequest{"c@example.org", "short", "Some Name", ""}, protocol.CodeBadRequest, "password"},
		{"password too long", SignupRequest{"c@example.org", strings.Repeat("p", 257), "Some Name", ""}, protocol.CodeBadRequest, "password"},
		{"duplicate email any case", SignupRequest{"TAKEN@example.org", "longenough", "Other Name", ""}, protocol.CodeConflict, msgTaken},
		{"duplicate name any case", SignupRequest{"d@example.org", "longenough", "taken name", ""}, protocol.CodeConflict, msgTaken},
		{"duplicate name extra spaces", SignupRequest{"e@example.org", "longenough", " Taken   Name ", ""}, protocol.CodeConflict, msgTaken},
		{"bad invite", SignupRequest{"f@example.org", "longenough", "Invited", "nope"}, protocol.CodeForbidden, "invite"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, tok, err := h.svc.Signup(context.Background(), tc.req)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("signup: %v", err)
				}
				if tok == "" || u.Role != store.RoleMember || u.Email != normalizeEmail(tc.req.Email) {
					t.Fatalf("got user %+v token %q", u, tok)
				}
				return
			}
			pe := wantCode(t, err, tc.code)
			if !strings.Contains(pe.Message, tc.message) {
				t.Fatalf("message %q does not mention %q", pe.Message, tc.message)
			}
		})
	}
}

func TestLogin(t *testing.T) {
	h := newHarness(t, nil)
	want, _ := h.signup(t, "member@example.org", "Quiet Owl")
	ctx := context.Background()

	u, tok, err := h.svc.Login(ctx, " Member@Example.org", "correct horse", "192.0.2.1:5000")
	if err != nil || u.ID != want.ID || tok == "" {
		t.Fatalf("login: %+v %q %v", u, tok, err)
	}
	if _, got, err := h.svc.Authenticate(ctx, tok); err != nil || got.ID != want.ID {
		t.Fatalf("authenticate: %+v %v", got, err)
	}

	_, _, wrongErr := h.svc.Login(ctx, "member@example.org", "wrong horse", "192.0.2.1:5000")
	_, _, unknownErr := h.svc.Login(ctx, "nobody@example.org", "wrong horse", "192.0.2.1:5000")
	a, b := wantCode(t, wrongErr, protocol.CodeUnauthorized), wantCode(t, unknownErr, protocol.CodeUnauthorized)
	if a.Message != b.Message || a.Message != msgWrongCredentials {
		t.Fatalf("messages differ: %q vs %q", a.Message, b.Message)
	}
}

func TestLoginRateLimitPerIP(t *testing.T) {
	h := newHarness(t, nil) // defaults: 10/min, burst 5 per address
	ctx := context.Background()
	for i := range 5 {
		email := string(rune('a'+i)) + "@example.org"
		_, _, err := h.svc.Login(ctx, email, "whatever1", "198.51.100.7:1234")
		wantCode(t, err, protocol.CodeUnauthorized)
	}
	_, _, err := h.svc.Login(ctx, "z@example.org", "whatever1", "198.51.100.7:9999")
	pe := wantCode(t, err, protocol.CodeRateLimited)
	if ms, _ := pe.Extra["retry_after_ms"].(int64); ms <= 0 || ms > 6000 {
		t.Fatalf("retry_after_ms = %v, want (0, 6000]", pe.Extra["retry_after_ms"])
	}
	// Another address is unaffected; the same IPv6 /64 counts as one address.
	if _, _, err := h.svc.Login(ctx, "z@example.org", "whatever1", "203.0.113.9:1"); protocol.AsError(err).Code == protocol.CodeRateLimited {
		t.Fatalf("other address limited: %v", err)
	}
	h.clock.Advance(6 * time.Second) // one token at 10/min
	_, _, err = h.svc.Login(ctx, "z@example.org", "whatever1", "198.51.100.7:1")
	wantCode(t, err, protocol.CodeUnauthorized)

	for range 5 {
		_, _, _ = h.svc.Login(ctx, "v6@example.org", "whatever1", "[2001:db8:1:2::1]:443")
	}
	_, _, err = h.svc.Login(ctx, "v6b@example.org", "whatever1", "[2001:db8:1:2:ffff::9]:443")
	wantCode(t, err, protocol.CodeRateLimited)
}

func TestLoginRateLimitPerAccount(t *testing.T) {
	h := newHarness(t, nil) // defaults: 5/min, burst 5 per account
	h.signup(t, "target@example.org", "Target Name")
	ctx := context.Background()

	// Successful log-ins are refunded, so the owner never locks themselves out.
	for i := range 8 {
		if _, _, err := h.svc.Login(ctx, "target@example.org", "correct horse", addr(i)); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
	}
	for i := range 5 {
		_, _, err := h.svc.Login(ctx, "target@example.org", "guess", addr(100+i))
		wantCode(t, err, protocol.CodeUnauthorized)
	}
	// Even the right password from a fresh address is refused until the bucket refills.
	_, _, err := h.svc.Login(ctx, "TARGET@example.org", "correct horse", addr(200))
	pe := wantCode(t, err, protocol.CodeRateLimited)
	if ms, _ := pe.Extra["retry_after_ms"].(int64); ms != 12000 {
		t.Fatalf("retry_after_ms = %v, want 12000", pe.Extra["retry_after_ms"])
	}
	h.clock.Advance(12 * time.Second)
	if _, _, err := h.svc.Login(ctx, "target@example.org", "correct horse", addr(201)); err != nil {
		t.Fatalf("after refill: %v", err)
	}
}

func addr(i int) string { return fmt.Sprintf("10.0.%d.%d:4000", i/250, i%250+1) }

func TestLimiterEvictsIdle(t *testing.T) {
	ls := newLimiterSet(5.0/60, 5)
	start := time.Unix(0, 0)
	for i := range 100 {
		ls.reserve(addr(i), start)
	}
	if ls.len() != 100 {
		t.Fatalf("len = %d", ls.len())
	}
	ls.reserve("fresh", start.Add(2*time.Minute))
	if ls.len() != 1 {
		t.Fatalf("after idle sweep len = %d, want 1", ls.len())
	}
}

func TestLogoutRevokes(t *testing.T) {
	h := newHarness(t, nil)
	_, tok := h.signup(t, "leaver@example.org", "Night Train")
	ctx := context.Background()
	sess, _, err := h.svc.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Logout(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = h.svc.Authenticate(ctx, tok)
	wantCode(t, err, protocol.CodeUnauthorized)
	if len(h.revoked) != 1 || h.revoked[0] != sess.ID {
		t.Fatalf("OnRevoke calls = %v", h.revoked)
	}
}

func TestSessionExpires(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SessionTTL = time.Hour })
	_, tok := h.signup(t, "brief@example.org", "Brief Visit")
	ctx := context.Background()
	h.clock.Advance(59 * time.Minute)
	if _, _, err := h.svc.Authenticate(ctx, tok); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	h.clock.Advance(time.Minute)
	pe := wantCode(t, func() error { _, _, err := h.svc.Authenticate(ctx, tok); return err }(), protocol.CodeUnauthorized)
	if pe.Message != msgExpired {
		t.Fatalf("message %q", pe.Message)
	}
	pe = wantCode(t, func() error { _, _, err := h.svc.Authenticate(ctx, ""); return err }(), protocol.CodeUnauthorized)
	if pe.Message != msgSignIn {
		t.Fatalf("message %q", pe.Message)
	}
}

func TestSetRole(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	inv, err := h.svc.AdminInvite(ctx)
	if err != nil || inv == "" {
		t.Fatalf("invite %q %v", inv, err)
	}
	admin, _, err := h.svc.Signup(ctx, SignupRequest{Email: "boss@example.org", Password: "longenough", DisplayName: "Head Admin", Invite: inv})
	if err != nil || admin.Role != store.RoleAdmin {
		t.Fatalf("admin signup %+v %v", admin, err)
	}
	member, _ := h.signup(t, "doc@example.org", "Dr Who")

	_, err = h.svc.SetRole(ctx, member, admin.ID, store.RoleMember)
	wantCode(t, err, protocol.CodeForbidden)

	u, err := h.svc.SetRole(ctx, admin, member.ID, store.RoleClinician)
	if err != nil || u.Role != store.RoleClinician || !u.Verified {
		t.Fatalf("clinician: %+v %v", u, err)
	}
	u, err = h.svc.SetRole(ctx, admin, member.ID, store.RoleModerator)
	if err != nil || u.Role != store.RoleModerator || u.Verified {
		t.Fatalf("moderator: %+v %v", u, err)
	}
	// Each change is audited, deployment-wide (no room), naming who did it to whom.
	if n := len(h.st.audit); n != 2 {
		t.Fatalf("audit entries: %d, want 2", n)
	}
	if e := h.st.audit[1]; e.Action != "user_role" || e.RoomID != "" || e.ActorID != admin.ID || e.TargetID != member.ID {
		t.Fatalf("audit entry: %+v", e)
	}
	_, err = h.svc.SetRole(ctx, admin, member.ID, "overlord")
	wantCode(t, err, protocol.CodeBadRequest)
	_, err = h.svc.SetRole(ctx, admin, "u_missing", store.RoleMember)
	wantCode(t, err, protocol.CodeNotFound)
	_, err = h.svc.SetRole(ctx, admin, admin.ID, store.RoleMember)
	wantCode(t, err, protocol.CodeConflict) // last admin
}

func TestAdminInviteConsumedOnce(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	inv, err := h.svc.AdminInvite(ctx)
	if err != nil || inv == "" {
		t.Fatalf("invite %q %v", inv, err)
	}
	// A failed sign-up gives the invite back.
	_, _, err = h.svc.Signup(ctx, SignupRequest{Email: "x@example.org", Password: "short", DisplayName: "First Admin", Invite: inv})
	wantCode(t, err, protocol.CodeBadRequest)

	u, _, err := h.svc.Signup(ctx, SignupRequest{Email: "x@example.org", Password: "longenough", DisplayName: "First Admin", Invite: inv})
	if err != nil || u.Role != store.RoleAdmin {
		t.Fatalf("first use: %+v %v", u, err)
	}
	_, _, err = h.svc.Signup(ctx, SignupRequest{Email: "y@example.org", Password: "longenough", DisplayName: "Second Admin", Invite: inv})
	wantCode(t, err, protocol.CodeForbidden)

	if again, err := h.svc.AdminInvite(ctx); err != nil || again != "" {
		t.Fatalf("with an admin present AdminInvite = %q, %v; want empty", again, err)
	}
}

func TestEnsureAdmin(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	created, err := h.svc.EnsureAdmin(ctx, "Root@Example.org", "longenough")
	if err != nil || !created {
		t.Fatalf("first: %v %v", created, err)
	}
	created, err = h.svc.EnsureAdmin(ctx, "root@example.org", "different1")
	if err != nil || created {
		t.Fatalf("second: %v %v", created, err)
	}
	u, _, err := h.svc.Login(ctx, "root@example.org", "longenough", "127.0.0.1:1")
	if err != nil || u.Role != store.RoleAdmin {
		t.Fatalf("admin login %+v %v", u, err)
	}
	if strings.Contains(strings.ToLower(u.DisplayName), "root") {
		t.Fatalf("display name %q derived from email", u.DisplayName)
	}
}

func TestStoreDown(t *testing.T) {
	h := newHarness(t, nil)
	_, tok := h.signup(t, "up@example.org", "Up Time")
	h.st.setDown(true)
	ctx := context.Background()
	_, _, err := h.svc.Signup(ctx, SignupRequest{Email: "down@example.org", Password: "longenough", DisplayName: "Down Time"})
	wantCode(t, err, protocol.CodeUnavailable)
	_, _, err = h.svc.Login(ctx, "up@example.org", "correct horse", "127.0.0.1:1")
	wantCode(t, err, protocol.CodeUnavailable)
	_, _, err = h.svc.Authenticate(ctx, tok)
	wantCode(t, err, protocol.CodeUnavailable)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("cause lost: %v", err)
	}
}

func TestPasswordHashRoundTrip(t *testing.T) {
	p := argonParams{time: 1, memory: 64, threads: 1}
	enc := hashPassword("pässwörd!", p)
	if ok, err := verifyPassword("pässwörd!", enc); !ok || err != nil {
		t.Fatalf("verify: %v %v", ok, err)
	}
	if ok, _ := verifyPassword("password!", enc); ok {
		t.Fatal("wrong password verified")
	}
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA", strings.Replace(enc, "v=19", "v=16", 1)} {
		if _, err := verifyPassword("x", bad); !errors.Is(err, errBadHash) {
			t.Fatalf("%q: err = %v", bad, err)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.SessionTTL != 30*24*time.Hour || c.CookieName != "haven_session" ||
		c.Argon2Time != 2 || c.Argon2MemoryKiB != 19*1024 || c.Argon2Threads != 1 ||
		c.LoginIPBurst != 5 || c.LoginAccountBurst != 5 || c.Now == nil || c.OnRevoke == nil {
		t.Fatalf("defaults: %+v", c)
	}
	if got := float64(c.LoginIPRate) * 60; got < 9.99 || got > 10.01 {
		t.Fatalf("ip rate = %v/min", got)
	}
	if got := float64(c.LoginAccountRate) * 60; got < 4.99 || got > 5.01 {
		t.Fatalf("account rate = %v/min", got)
	}
}
