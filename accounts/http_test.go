package accounts

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/havenhealth/haven/internal/httpx"
	"github.com/havenhealth/haven/store"
)

func (h *harness) mux() *http.ServeMux {
	mux := http.NewServeMux()
	h.svc.Routes(mux)
	return mux
}

type reply struct {
	Code   int
	Header http.Header
	Body   map[string]any
}

func (r reply) errCode() string {
	e, _ := r.Body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (r reply) cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// do sends a request through mux. opts adjust it (headers, TLS) before serving.
func do(t *testing.T, mux http.Handler, method, path, body string, opts ...func(*http.Request)) reply {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	res := rec.Result()
	raw, _ := io.ReadAll(res.Body)
	out := reply{Code: res.StatusCode, Header: res.Header}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			t.Fatalf("%s %s: body %q is not JSON: %v", method, path, raw, err)
		}
	}
	return out
}

func bearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func withCookie(c *http.Cookie) func(*http.Request) {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value}) }
}

func withTLS(r *http.Request) { r.TLS = &tls.ConnectionState{} }

func header(k, v string) func(*http.Request) { return func(r *http.Request) { r.Header.Set(k, v) } }

func TestHTTPSignupLoginMeLogout(t *testing.T) {
	h := newHarness(t, nil)
	mux := h.mux()

	r := do(t, mux, "POST", "/api/signup", `{"email":"Pat@Example.org","password":"longenough","display_name":"Calm Lake"}`)
	if r.Code != http.StatusCreated {
		t.Fatalf("signup: %d %v", r.Code, r.Body)
	}
	user, _ := r.Body["user"].(map[string]any)
	if user["display_name"] != "Calm Lake" || user["role"] != "member" || user["verified"] != false || user["id"] == "" {
		t.Fatalf("user = %v", user)
	}
	if _, leaked := user["email"]; leaked {
		t.Fatalf("public user carries email: %v", user)
	}
	c := r.cookie(DefaultCookieName)
	if c == nil || c.Value != r.Body["token"] {
		t.Fatalf("cookie %+v, token %v", c, r.Body["token"])
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != int(DefaultSessionTTL.Seconds()) || c.Secure {
		t.Fatalf("cookie attributes over plain HTTP: %+v", c)
	}

	r = do(t, mux, "POST", "/api/login", `{"email":"pat@example.org","password":"longenough"}`)
	if r.Code != http.StatusOK || r.cookie(DefaultCookieName) == nil {
		t.Fatalf("login: %d %v", r.Code, r.Body)
	}
	tok := r.Body["token"].(string)

	for name, auth := range map[string]func(*http.Request){"bearer": bearer(tok), "cookie": withCookie(c)} {
		r = do(t, mux, "GET", "/api/me", "", auth)
		me, _ := r.Body["user"].(map[string]any)
		if r.Code != http.StatusOK || me["email"] != "pat@example.org" || me["display_name"] != "Calm Lake" {
			t.Fatalf("me via %s: %d %v", name, r.Code, r.Body)
		}
	}
	r = do(t, mux, "GET", "/api/me", "")
	if e, _ := r.Body["error"].(map[string]any); r.Code != http.StatusUnauthorized || r.errCode() != "unauthorized" || e["message"] != msgSignIn {
		t.Fatalf("me anonymous: %d %v", r.Code, r.Body)
	}

	r = do(t, mux, "POST", "/api/logout", "", bearer(tok))
	if r.Code != http.StatusNoContent {
		t.Fatalf("logout: %d %v", r.Code, r.Body)
	}
	if gone := r.cookie(DefaultCookieName); gone == nil || gone.MaxAge >= 0 {
		t.Fatalf("logout did not clear the cookie: %+v", gone)
	}
	if len(h.revoked) != 1 {
		t.Fatalf("OnRevoke calls = %v", h.revoked)
	}
	r = do(t, mux, "GET", "/api/me", "", bearer(tok))
	if r.Code != http.StatusUnauthorized {
		t.Fatalf("me after logout: %d %v", r.Code, r.Body)
	}
	// The other session (the sign-up cookie) is still live: logout ends one device.
	if r = do(t, mux, "GET", "/api/me", "", withCookie(c)); r.Code != http.StatusOK {
		t.Fatalf("other session: %d", r.Code)
	}
}

func TestHTTPCookieSecure(t *testing.T) {
	tests := []struct {
		name   string
		trust  bool
		opts   []func(*http.Request)
		secure bool
	}{
		{"plain", false, nil, false},
		{"tls", false, []func(*http.Request){withTLS}, true},
		{"forwarded https untrusted", false, []func(*http.Request){header("X-Forwarded-Proto", "https")}, false},
		{"forwarded https trusted", true, []func(*http.Request){header("X-Forwarded-Proto", "https")}, true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.TrustProxy = tc.trust; c.CookieName = "sid" })
			body := `{"email":"s` + string(rune('a'+i)) + `@example.org","password":"longenough","display_name":"Secure Fox"}`
			r := do(t, h.mux(), "POST", "/api/signup", body, tc.opts...)
			c := r.cookie("sid")
			if r.Code != http.StatusCreated || c == nil || c.Secure != tc.secure {
				t.Fatalf("%d cookie %+v, want secure=%v", r.Code, c, tc.secure)
			}
		})
	}
}

func TestHTTPErrors(t *testing.T) {
	h := newHarness(t, nil)
	mux := h.mux()
	h.signup(t, "dup@example.org", "Dup Name")

	tests := []struct {
		name   string
		path   string
		body   string
		opts   []func(*http.Request)
		status int
		code   string
	}{
		{"malformed json", "/api/signup", `{"email":`, nil, 400, "bad_request"},
		{"trailing data", "/api/login", `{} {}`, nil, 400, "bad_request"},
		{"oversize", "/api/signup", `{"email":"` + strings.Repeat("a", httpx.MaxBody) + `"}`, nil, 413, "too_large"},
		{"form post refused", "/api/login", `{"email":"dup@example.org","password":"correct horse"}`, []func(*http.Request){header("Content-Type", "text/plain")}, 400, "bad_request"},
		{"duplicate", "/api/signup", `{"email":"DUP@example.org","password":"longenough","display_name":"Fresh"}`, nil, 409, "conflict"},
		{"wrong password", "/api/login", `{"email":"dup@example.org","password":"nope nope"}`, nil, 401, "unauthorized"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, mux, "POST", tc.path, tc.body, tc.opts...)
			if r.Code != tc.status || r.errCode() != tc.code {
				t.Fatalf("got %d %v, want %d %s", r.Code, r.Body, tc.status, tc.code)
			}
		})
	}
}

func TestHTTPRateLimitedAndProxyAddress(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.TrustProxy = true })
	mux := h.mux()
	login := `{"email":"x@example.org","password":"whatever1"}`
	for i := range 5 {
		// The client-supplied left-most entry changes; the proxy-appended one does not.
		r := do(t, mux, "POST", "/api/login", login, header("X-Forwarded-For", fmt.Sprintf("1.2.3.%d, 203.0.113.50", i)))
		if r.Code != http.StatusUnauthorized {
			t.Fatalf("attempt: %d %v", r.Code, r.Body)
		}
	}
	r := do(t, mux, "POST", "/api/login", `{"email":"y@example.org","password":"whatever1"}`, header("X-Forwarded-For", "9.9.9.9, 203.0.113.50"))
	if r.Code != http.StatusTooManyRequests || r.errCode() != "rate_limited" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("got %d %v headers %v", r.Code, r.Body, r.Header)
	}
	if e := r.Body["error"].(map[string]any); e["retry_after_ms"] == nil {
		t.Fatalf("no retry_after_ms: %v", e)
	}
}

func TestHTTPSetRole(t *testing.T) {
	h := newHarness(t, nil)
	mux := h.mux()
	ctx := t.Context()
	inv, _ := h.svc.AdminInvite(ctx)
	_, adminTok, err := h.svc.Signup(ctx, SignupRequest{Email: "a@example.org", Password: "longenough", DisplayName: "Admin Person", Invite: inv})
	if err != nil {
		t.Fatal(err)
	}
	member, memberTok := h.signup(t, "m@example.org", "Helpful Nurse")

	path := "/api/users/" + member.ID + "/role"
	r := do(t, mux, "PUT", path, `{"role":"admin"}`, bearer(memberTok))
	if r.Code != http.StatusForbidden || r.errCode() != "forbidden" {
		t.Fatalf("member sets role: %d %v", r.Code, r.Body)
	}
	r = do(t, mux, "PUT", path, `{"role":"clinician"}`, bearer(adminTok))
	user, _ := r.Body["user"].(map[string]any)
	if r.Code != http.StatusOK || user["role"] != store.RoleClinician || user["verified"] != true {
		t.Fatalf("admin sets clinician: %d %v", r.Code, r.Body)
	}
	// The change is live on the member's existing session.
	r = do(t, mux, "GET", "/api/me", "", bearer(memberTok))
	if me := r.Body["user"].(map[string]any); me["role"] != store.RoleClinician {
		t.Fatalf("me after role change: %v", r.Body)
	}
	r = do(t, mux, "PUT", "/api/users/u_nobody/role", `{"role":"member"}`, bearer(adminTok))
	if r.Code != http.StatusNotFound {
		t.Fatalf("unknown user: %d %v", r.Code, r.Body)
	}
}

func TestHTTPStoreDown(t *testing.T) {
	h := newHarness(t, nil)
	mux := h.mux()
	_, tok := h.signup(t, "up@example.org", "Still Here")
	h.st.setDown(true)
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/api/signup", `{"email":"n@example.org","password":"longenough","display_name":"New One"}`},
		{"POST", "/api/login", `{"email":"up@example.org","password":"correct horse"}`},
		{"GET", "/api/me", ""},
	} {
		r := do(t, mux, tc.method, tc.path, tc.body, bearer(tok))
		if r.Code != http.StatusServiceUnavailable || r.errCode() != "unavailable" {
			t.Fatalf("%s %s: %d %v", tc.method, tc.path, r.Code, r.Body)
		}
	}
}
