package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandlerServesClient(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		path, ctype, contains string
	}{
		{"/", "text/html; charset=utf-8", `id="signup-form"`},
		{"/index.html", "text/html; charset=utf-8", `<script type="module" src="/app.js">`},
		{"/rooms/t1d", "text/html; charset=utf-8", `id="login-form"`},
		{"/admin", "text/html; charset=utf-8", `id="conn-state"`},
		{"/app.js", "text/javascript; charset=utf-8", "import"},
		{"/socket.js", "text/javascript; charset=utf-8", "haven.v1"},
		{"/app.css", "text/css; charset=utf-8", "body"},
	} {
		rec := get(t, h, tc.path)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: status %d", tc.path, rec.Code)
		}
		if got := rec.Header().Get("Content-Type"); got != tc.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, got, tc.ctype)
		}
		if got := rec.Header().Get("Content-Security-Policy"); got != ContentSecurityPolicy {
			t.Errorf("GET %s: CSP %q", tc.path, got)
		}
		for _, d := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "connect-src 'self' ws: wss:"} {
			if !strings.Contains(rec.Header().Get("Content-Security-Policy"), d) {
				t.Errorf("GET %s: CSP lacks %q", tc.path, d)
			}
		}
		if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q", tc.path, got)
		}
		if !strings.Contains(rec.Body.String(), tc.contains) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
		}
	}
}

func TestHandlerNoInlineCode(t *testing.T) {
	body := get(t, Handler(), "/").Body.String()
	for _, bad := range []string{"<style", " style=", " onclick=", " onload=", "<script>", "http://", "https://"} {
		if strings.Contains(body, bad) {
			t.Errorf("index.html contains %q, which the CSP blocks or which loads an external resource", bad)
		}
	}
}

func TestHandlerLeavesServerPathsAlone(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/api/me", "/api/rooms", "/ws", "/healthz", "/metrics"} {
		rec := get(t, h, p)
		if rec.Code != http.StatusNotFound || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Errorf("GET %s: status %d type %q, want a 404 JSON error", p, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	if rec := get(t, h, "/missing.js"); rec.Code != http.StatusNotFound {
		t.Errorf("GET /missing.js: status %d, want 404", rec.Code)
	}
	rec := get(t, h, "/app.js")
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on /app.js")
	}
	if rec := get(t, h, "/app.js", "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("conditional GET /app.js: status %d, want 304", rec.Code)
	}
}
