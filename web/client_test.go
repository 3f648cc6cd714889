package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/web"
)

// fakeHaven speaks just enough of PROTOCOL v1 to drive the client through a room: login,
// rooms, guidelines, join, send (ok and event in one frame), typing, reconnect with since.
type fakeHaven struct {
	mu      sync.Mutex
	accepts int
	joins   []map[string]any // every join command seen
	sends   []map[string]any
	push    chan string // raw frames to write to the current connection
}

var me = map[string]any{"id": "u1", "display_name": "Maple", "role": "member", "verified": false}
var birch = map[string]any{"id": "u2", "display_name": "Birch", "role": "clinician", "verified": true}

func (f *fakeHaven) handler() http.Handler {
	mux := http.NewServeMux()
	js := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	signedIn := func(r *http.Request) bool { c, err := r.Cookie("haven_session"); return err == nil && c.Value == "s1" }
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		if !signedIn(r) {
			js(w, 401, map[string]any{"error": map[string]any{"code": "unauthorized", "message": "sign in"}})
			return
		}
		js(w, 200, map[string]any{"user": me})
	})
	mux.HandleFunc("POST /api/login", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Email, Password string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body.Password != "correct horse" {
			js(w, 401, map[string]any{"error": map[string]any{"code": "unauthorized", "message": "Wrong email or password."}})
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "haven_session", Value: "s1", Path: "/", HttpOnly: true})
		js(w, 200, map[string]any{"user": me, "token": "t"})
	})
	mux.HandleFunc("GET /api/rooms", func(w http.ResponseWriter, r *http.Request) {
		js(w, 200, map[string]any{"rooms": []any{map[string]any{
			"slug": "t1d", "name": "Type 1 Diabetes", "condition": "Type 1 Diabetes", "kind": "chat",
			"visibility": "public", "guidelines": "Be kind.", "guidelines_version": 3, "slow_mode_s": 0,
			"locked": false, "sponsor": "Juvenile Diabetes Foundation",
		}}})
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		if !signedIn(r) {
			http.Error(w, "unauthorized", 401)
			return
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"haven.v1"}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		f.mu.Lock()
		f.accepts++
		f.mu.Unlock()
		ctx := r.Context()
		cmds := make(chan map[string]any)
		go func() {
			defer close(cmds)
			for {
				_, b, err := c.Read(ctx)
				if err != nil {
					return
				}
				var m map[string]any
				_ = json.Unmarshal(b, &m)
				cmds <- m
			}
		}()
		write := func(objs ...any) {
			var parts []string
			for _, o := range objs {
				b, _ := json.Marshal(o)
				parts = append(parts, string(b))
			}
			_ = c.Write(ctx, websocket.MessageText, []byte(strings.Join(parts, "\n")))
		}
		for {
			select {
			case raw := <-f.push:
				if raw == "close" {
					c.Close(websocket.StatusGoingAway, "drain")
					return
				}
				_ = c.Write(ctx, websocket.MessageText, []byte(raw))
			case m, ok := <-cmds:
				if !ok {
					return
				}
				id := m["id"]
				switch m["type"] {
				case "join":
					f.mu.Lock()
					f.joins = append(f.joins, m)
					f.mu.Unlock()
					if m["accept_guidelines"] == nil && m["since"] == nil {
						write(map[string]any{"type": "error", "re": id, "code": "guidelines_required", "message": "accept first",
							"guidelines": "1. Be kind.\n2. No medical advice.", "guidelines_version": 3})
						continue
					}
					msgs := []any{
						map[string]any{"room": "t1d", "seq": 1, "message_id": "m1", "author": birch, "text": "Welcome! <img src=x onerror=alert(1)>", "ts": time.Now().Add(-time.Hour).Format(time.RFC3339)},
						map[string]any{"room": "t1d", "seq": 2, "message_id": "m2", "author": me, "text": "Hi all", "ts": time.Now().Add(-time.Minute).Format(time.RFC3339)},
						map[string]any{"room": "t1d", "seq": 3, "message_id": "m3", "author": birch, "text": "How are your numbers today?", "ts": time.Now().Format(time.RFC3339)},
					}
					last := 3
					if s, ok := m["since"].(float64); ok {
						msgs = []any{map[string]any{"room": "t1d", "seq": int(s) + 1, "message_id": "m5", "author": birch, "text": "Missed while away", "ts": time.Now().Format(time.RFC3339)}}
						last = int(s) + 1
					}
					write(map[string]any{"type": "ok", "re": id, "room": map[string]any{"slug": "t1d", "name": "Type 1 Diabetes", "condition": "Type 1 Diabetes", "kind": "chat", "sponsor": "Juvenile Diabetes Foundation"},
						"online": 4, "messages": msgs, "last_seq": last, "truncated": false})
				case "send":
					f.mu.Lock()
					f.sends = append(f.sends, m)
					f.mu.Unlock()
					// The event and the ok reply in one frame: the client must split and de-duplicate.
					write(map[string]any{"type": "message", "room": "t1d", "seq": 4, "message_id": "m4", "author": me, "text": m["text"], "ts": time.Now().Format(time.RFC3339)},
						map[string]any{"type": "ok", "re": id, "seq": 4, "message_id": "m4"})
				case "history":
					write(map[string]any{"type": "ok", "re": id, "messages": []any{}})
				default:
					write(map[string]any{"type": "ok", "re": id})
				}
			}
		}
	})
	mux.Handle("/", web.Handler())
	return mux
}

func TestBrowserRoomAgainstFakeServer(t *testing.T) {
	f := &fakeHaven{push: make(chan string, 16)}
	url := serve(t, f.handler())
	ctx, cancel := testenv.BrowserContext(t)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 45*time.Second)
	defer cancelT()
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("eval %s: %v", js, err)
		}
		return s
	}
	waitFor := func(what, js string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (%s): %v", what, js, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	step("log in (wrong password first)",
		chromedp.Navigate(url+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#login-form`)),
		chromedp.SendKeys(chromedp.CSS(`#login-form input[name="email"]`), "maple@example.org"),
		chromedp.SendKeys(chromedp.CSS(`#login-form input[name="password"]`), "wrong"),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#login-form .form-error`)),
	)
	if got := eval(`document.querySelector("#login-form .form-error").textContent`); got != "Wrong email or password." {
		t.Errorf("login error shown as %q", got)
	}
	step("log in",
		chromedp.SetValue(chromedp.CSS(`#login-form input[name="password"]`), "correct horse"),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#room-list [data-slug="t1d"]`)),
	)
	if got := eval(`document.querySelector('#room-list [data-slug="t1d"]').textContent`); !strings.Contains(got, "Sponsored by Juvenile Diabetes Foundation") {
		t.Errorf("room link text %q lacks the sponsor line", got)
	}
	step("open room, accept guidelines",
		chromedp.Click(chromedp.CSS(`#room-list [data-slug="t1d"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#guidelines-dialog`)),
		chromedp.Click(chromedp.CSS(`#accept-guidelines`)),
	)
	waitFor("history", `document.querySelectorAll(".message[data-seq]").length === 3`)
	f.mu.Lock()
	if len(f.joins) != 2 || f.joins[1]["accept_guidelines"] != float64(3) {
		t.Errorf("joins = %v, want a second join with accept_guidelines 3", f.joins)
	}
	f.mu.Unlock()
	if got := eval(`document.querySelector('.message[data-seq="1"] .text').textContent`); got != "Welcome! <img src=x onerror=alert(1)>" {
		t.Errorf("message text %q", got)
	}
	if n := eval(`String(document.querySelectorAll('.message img').length)`); n != "0" {
		t.Errorf("user text became markup: %s img elements", n)
	}
	if got := eval(`document.querySelector('.message[data-seq="1"] .meta').textContent`); !strings.Contains(got, "clinician ✓") {
		t.Errorf("verified clinician badge missing: %q", got)
	}
	if got := eval(`document.querySelector("#presence-count").textContent`); got != "4 online" {
		t.Errorf("presence %q", got)
	}

	f.push <- `{"type":"typing","room":"t1d","user":{"id":"u2","display_name":"Birch","role":"clinician","verified":true}}` + "\n" +
		`{"type":"presence","room":"t1d","online":5,"joined":{"id":"u3","display_name":"Fern","role":"member","verified":false}}`
	waitFor("typing indicator", `document.querySelector("#typing").textContent === "Birch is typing…"`)
	waitFor("presence update", `document.querySelector("#presence-count").textContent === "5 online"`)

	step("send",
		chromedp.SendKeys(chromedp.CSS(`#composer textarea`), "My numbers are steady"),
		chromedp.Click(chromedp.CSS(`#send`)),
	)
	waitFor("sent message", `document.querySelectorAll('.message[data-seq="4"]').length === 1 && !document.querySelector(".message.pending:not([hidden])")`)
	f.mu.Lock()
	if len(f.sends) != 1 || f.sends[0]["client_msg_id"] == nil || f.sends[0]["text"] != "My numbers are steady" {
		t.Errorf("sends = %v", f.sends)
	}
	f.mu.Unlock()

	if path := os.Getenv("HAVEN_SCREENSHOT_ROOM"); path != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err == nil {
			_ = os.WriteFile(path, png, 0o644)
		}
	}

	// The node drains: the client reconnects and re-joins with since = 4.
	f.push <- `{"type":"reconnect","reason":"draining","retry_after_ms":50}`
	waitFor("recovered message", `document.querySelectorAll(".message[data-seq]").length === 5 && document.querySelector('.message[data-seq="5"]') !== null`)
	f.mu.Lock()
	last := f.joins[len(f.joins)-1]
	if last["since"] != float64(4) || f.accepts < 2 {
		t.Errorf("after reconnect: last join %v, %d connections; want since 4 on a new connection", last, f.accepts)
	}
	f.mu.Unlock()
	waitFor("seq order", `[...document.querySelectorAll(".message[data-seq]")].map(e => e.dataset.seq).join(",") === "1,2,3,4,5"`)

	f.push <- `{"type":"moderation","room":"t1d","action":"mute","target":{"id":"u1","display_name":"Maple"},"until":"2030-01-01T10:00:00Z","reason":"cool down"}`
	waitFor("mute banner", `document.querySelector("#room-view .room-banner").textContent.includes("A moderator has muted you until") &&
		document.querySelector("#room-view .room-banner").textContent.includes("Reason: cool down") &&
		document.querySelector("#composer textarea").disabled && document.querySelector("#send").disabled`)
	f.push <- `{"type":"message_deleted","room":"t1d","seq":3,"by":"moderator"}`
	waitFor("deleted", `document.querySelector('.message[data-seq="3"] .text').textContent === "message deleted"`)
	f.push <- `{"type":"removed","room":"t1d","reason":"spam","banned":false}`
	waitFor("removed notice", `document.querySelector("#notices").textContent.includes("You were removed from this room: spam")`)
	waitFor("removed explanation", `(() => { const g = document.querySelector("#room-view .room-gone");
		return g && g.textContent.includes("A moderator removed you from Type 1 Diabetes") && g.textContent.includes("Reason given: spam") &&
			!document.querySelector("#composer"); })()`)

	// A dropped connection (no reconnect event) shows the banner and recovers too.
	f.push <- "close"
	waitFor("banner", `["Reconnecting…","Back online"].includes(document.querySelector("#conn-state").textContent)`)
	step("log out", chromedp.Click(chromedp.CSS(`#logout`)), chromedp.WaitVisible(chromedp.CSS(`#login-form`)))
}
