// Package web serves Haven's bundled browser client: plain HTML, CSS and ES modules embedded
// in the binary, with no build step. Handler serves the files with strict security headers
// and answers unknown client routes (such as /rooms/t1d or /admin) with index.html, so the
// client can route by path.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy is sent with every response: no inline scripts or styles, no
// external resources, WebSocket to the same host only (ws:/wss: are needed because 'self'
// does not match WebSocket schemes in every browser).
const ContentSecurityPolicy = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; " +
	"style-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

type file struct {
	name  string
	body  []byte
	ctype string
	etag  string
}

var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".webmanifest": "application/manifest+json",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".ico":         "image/x-icon",
	".txt":         "text/plain; charset=utf-8",
}

// serverPrefixes are paths owned by the server; the client never answers them with index.html.
var serverPrefixes = []string{"/api/", "/ws", "/healthz", "/readyz", "/metrics", "/debug/"}

// Handler returns the handler for the bundled client. Mount it as the fallback ("/") route.
func Handler() http.Handler {
	files := map[string]*file{}
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(b)
		files["/"+p] = &file{name: p, body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic(err)
	}
	index := files["/index.html"]
	if index == nil {
		panic("web: static/index.html missing")
	}

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")

		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			writeNotFound(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed")
			return
		}
		p := path.Clean("/" + r.URL.Path)
		for _, pre := range serverPrefixes {
			if p == strings.TrimSuffix(pre, "/") || strings.HasPrefix(p, pre) {
				writeNotFound(w, http.StatusNotFound, "not_found", "not found")
				return
			}
		}
		f := files[p]
		if f == nil {
			if path.Ext(p) != "" {
				// A missing asset is a 404, never index.html (which would hide the mistake).
				http.Error(w, "404 page not found", http.StatusNotFound)
				return
			}
			f = index // a client route: /, /rooms/t1d, /admin, ...
		}
		h.Set("Content-Type", f.ctype)
		// No build step means no hashed file names: always revalidate, cheap with ETags.
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", f.etag)
		http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
	})
}

func writeNotFound(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":{"code":"` + code + `","message":"` + msg + `"}}` + "\n"))
}
