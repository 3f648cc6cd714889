package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
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

// TestStaticModules: with no build step, a typo in an import path only shows up in a
// browser. Every relative import must name an embedded file that exports the names
// imported, and no module may write markup from strings (innerHTML and friends): user text
// goes through textContent only.
func TestStaticModules(t *testing.T) {
	files, err := fs.Glob(static, "static/*.js")
	if err != nil || len(files) == 0 {
		t.Fatalf("no modules: %v", err)
	}
	src := map[string]string{}
	for _, f := range files {
		b, err := fs.ReadFile(static, f)
		if err != nil {
			t.Fatal(err)
		}
		src[path.Base(f)] = string(b)
	}
	importRe := regexp.MustCompile(`import \{([^}]*)\} from "\./([^"]+)"`)
	for name, s := range src {
		for _, m := range importRe.FindAllStringSubmatch(s, -1) {
			target, ok := src[m[2]]
			if !ok {
				t.Errorf("%s imports ./%s, which is not embedded", name, m[2])
				continue
			}
			for _, imp := range strings.Split(m[1], ",") {
				imp = strings.TrimSpace(imp)
				if imp == "" {
					continue
				}
				exp := regexp.MustCompile(`export (async )?(function|class|const|let) ` + regexp.QuoteMeta(imp) + `[\s=(]`)
				if !exp.MatchString(target) {
					t.Errorf("%s imports %s from ./%s, which does not export it", name, imp, m[2])
				}
			}
		}
		for _, bad := range []string{".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "new Function"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s uses %s", name, bad)
			}
		}
	}
}

// TestStylesheetsLinked: every stylesheet index.html links is embedded and served as CSS
// (media.css carries the webinar and support-session styles).
func TestStylesheetsLinked(t *testing.T) {
	h := Handler()
	body := get(t, h, "/").Body.String()
	links := regexp.MustCompile(`<link rel="stylesheet" href="(/[^"]+)">`).FindAllStringSubmatch(body, -1)
	if len(links) < 2 {
		t.Fatalf("index.html links %d stylesheets, want app.css and media.css", len(links))
	}
	for _, l := range links {
		rec := get(t, h, l[1])
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/css; charset=utf-8" {
			t.Errorf("GET %s: status %d type %q", l[1], rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}
