package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/coder/websocket"

	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/web"
)

// modFake speaks the moderation parts of docs/PROTOCOL.md (queue, rules, audit, review
// commands and events) for one signed-in user, so the panel and the member-side messages
// can be driven before, and independently of, the real server's implementation.
type modFake struct {
	mu      sync.Mutex
	user    map[string]any
	gets    map[string]int // GET requests to the moderator endpoints, by path
	members []any          // GET /api/rooms/t1d/members
	cmds    []map[string]any
	rules   []map[string]any
	nextID  int
	audit   []map[string]any // newest first
	push    chan string
	respond func(cmd map[string]any) []any // the frame answering a command (nil: plain ok)
}

var (
	fern   = map[string]any{"id": "u3", "display_name": "Fern", "role": "member", "verified": false}
	birchM = map[string]any{"id": "u2", "display_name": "Birch", "role": "member", "verified": false}
)

func newModFake(user map[string]any) *modFake {
	f := &modFake{user: user, push: make(chan string, 16), nextID: 100, gets: map[string]int{}}
	f.members = []any{
		map[string]any{"user": map[string]any{"id": "u7", "display_name": "Ash", "role": "member", "verified": false}, "role": "member", "banned": true},
		map[string]any{"user": birchM, "role": "member", "banned": false, "muted_until": time.Now().Add(time.Hour).Format(time.RFC3339)},
		map[string]any{"user": user, "role": "moderator", "banned": false},
		map[string]any{"user": fern, "role": "member", "banned": false},
	}
	f.rules = []map[string]any{{"id": "r1", "kind": "word", "pattern": "miracle cure", "action": "hold", "reason": "Treatment claims need a moderator's look.", "created_by": "u1", "created_at": time.Now().Format(time.RFC3339)}}
	for i := 60; i >= 1; i-- { // 60 entries: a first page of 50 and one older page
		e := map[string]any{"id": i, "actor": "u1", "target": "u3", "action": "mute", "reason": fmt.Sprintf("entry %d", i),
			"detail": map[string]any{"duration_s": 300}, "at": time.Now().Add(-time.Duration(61-i) * time.Minute).Format(time.RFC3339), "prev_hash": "", "hash": ""}
		if i%2 == 0 {
			e = map[string]any{"id": i, "actor": "u1", "target": "", "action": "lock", "reason": "", "detail": map[string]any{"locked": i%4 == 0},
				"at": time.Now().Add(-time.Duration(61-i) * time.Minute).Format(time.RFC3339), "prev_hash": "", "hash": ""}
		}
		f.audit = append(f.audit, e)
	}
	return f
}

func (f *modFake) moderator() bool { return f.user["id"] == "u1" }

// member is the join reply's own standing: u1 moderates the room (a member globally).
func (f *modFake) member() map[string]any {
	if f.moderator() {
		return map[string]any{"role": "moderator"}
	}
	return map[string]any{"role": "member"}
}

// applyStanding keeps the member list in step with mute, unmute, ban and unban commands.
// f.mu is held.
func (f *modFake) applyStanding(cmd map[string]any) {
	for _, x := range f.members {
		m := x.(map[string]any)
		if m["user"].(map[string]any)["id"] != cmd["user"] {
			continue
		}
		switch cmd["type"] {
		case "mute":
			d, _ := cmd["duration_s"].(float64)
			m["muted_until"] = time.Now().Add(time.Duration(d) * time.Second).Format(time.RFC3339)
		case "unmute":
			delete(m, "muted_until")
		case "ban", "unban":
			m["banned"] = cmd["type"] == "ban"
		}
	}
}

func (f *modFake) got(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets[path]
}

func (f *modFake) commands(typ string) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []map[string]any
	for _, c := range f.cmds {
		if c["type"] == typ {
			out = append(out, c)
		}
	}
	return out
}

func (f *modFake) handler() http.Handler {
	mux := http.NewServeMux()
	js := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	forbidden := func(w http.ResponseWriter, r *http.Request) bool {
		f.mu.Lock()
		f.gets[r.URL.Path]++
		f.mu.Unlock()
		if f.moderator() {
			return false
		}
		js(w, 403, map[string]any{"error": map[string]any{"code": "forbidden", "message": "moderators only"}})
		return true
	}
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) { js(w, 200, map[string]any{"user": f.user}) })
	mux.HandleFunc("GET /api/rooms", func(w http.ResponseWriter, r *http.Request) {
		js(w, 200, map[string]any{"rooms": []any{map[string]any{"slug": "t1d", "name": "Type 1 Diabetes", "condition": "Type 1 Diabetes",
			"kind": "chat", "visibility": "public", "guidelines": "Be kind.", "guidelines_version": 1}}})
	})
	mux.HandleFunc("GET /api/rooms/t1d/queue", func(w http.ResponseWriter, r *http.Request) {
		if forbidden(w, r) {
			return
		}
		ts := time.Now().Add(-5 * time.Minute).Format(time.RFC3339)
		js(w, 200, map[string]any{
			"held": []any{map[string]any{"id": "h1", "author": fern, "text": "This miracle cure <b>works</b>", "reason": "Treatment claims need a moderator's look.", "rule_id": "r1", "ts": ts}},
			"reports": []any{
				map[string]any{"id": "p1", "seq": 1, "category": "self-harm", "reason": "worried about them", "snapshot": "I can't go on", "author": birchM, "ts": ts},
				map[string]any{"id": "p2", "seq": 2, "category": "spam", "reason": "spam", "snapshot": "Buy now", "author": fern, "ts": ts},
			}})
	})
	mux.HandleFunc("GET /api/rooms/t1d/members", func(w http.ResponseWriter, r *http.Request) {
		if forbidden(w, r) {
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		js(w, 200, map[string]any{"members": f.members, "truncated": false})
	})
	mux.HandleFunc("GET /api/rooms/t1d/rules", func(w http.ResponseWriter, r *http.Request) {
		if forbidden(w, r) {
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		js(w, 200, map[string]any{"rules": f.rules})
	})
	mux.HandleFunc("POST /api/rooms/t1d/rules", func(w http.ResponseWriter, r *http.Request) {
		var rule map[string]any
		_ = json.NewDecoder(r.Body).Decode(&rule)
		if rule["kind"] == "regex" && strings.Count(rule["pattern"].(string), "(") != strings.Count(rule["pattern"].(string), ")") {
			js(w, 400, map[string]any{"error": map[string]any{"code": "bad_request", "message": "regex: missing closing ): `(a`"}})
			return
		}
		f.mu.Lock()
		f.nextID++
		rule["id"] = fmt.Sprintf("r%d", f.nextID)
		rule["created_at"] = time.Now().Format(time.RFC3339)
		f.rules = append(f.rules, rule)
		f.mu.Unlock()
		js(w, 201, map[string]any{"rule": rule})
	})
	mux.HandleFunc("DELETE /api/rooms/t1d/rules/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		for i, rule := range f.rules {
			if rule["id"] == r.PathValue("id") {
				f.rules = append(f.rules[:i], f.rules[i+1:]...)
				w.WriteHeader(204)
				return
			}
		}
		js(w, 404, map[string]any{"error": map[string]any{"code": "not_found", "message": "no such rule"}})
	})
	mux.HandleFunc("GET /api/rooms/t1d/audit", func(w http.ResponseWriter, r *http.Request) {
		if forbidden(w, r) {
			return
		}
		before, _ := strconv.Atoi(r.URL.Query().Get("before"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if limit <= 0 {
			limit = 100
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		out := []map[string]any{}
		for _, e := range f.audit {
			if id := e["id"].(int); (before <= 0 || id < before) && len(out) < limit {
				out = append(out, e)
			}
		}
		js(w, 200, map[string]any{"entries": out})
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"haven.v1"}})
		if err != nil {
			return
		}
		defer c.CloseNow()
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
				_ = c.Write(ctx, websocket.MessageText, []byte(raw))
			case m, ok := <-cmds:
				if !ok {
					return
				}
				f.mu.Lock()
				f.cmds = append(f.cmds, m)
				f.applyStanding(m)
				f.mu.Unlock()
				if frame := f.respond(m); frame != nil {
					write(frame...)
				} else {
					write(map[string]any{"type": "ok", "re": m["id"]})
				}
			}
		}
	})
	mux.Handle("/", web.Handler())
	return mux
}

// joinReply is the ok reply to a join: two messages by other members, and the caller's own
// standing (nil: an older server's reply, without it).
func joinReply(m map[string]any, locked bool, member map[string]any) []any {
	now := time.Now()
	reply := map[string]any{"type": "ok", "re": m["id"], "room": map[string]any{"slug": "t1d", "name": "Type 1 Diabetes", "condition": "Type 1 Diabetes", "kind": "chat", "locked": locked},
		"online": 3, "last_seq": 2, "truncated": false, "messages": []any{
			map[string]any{"type": "message", "room": "t1d", "seq": 1, "message_id": "m1", "author": birchM, "text": "I can't go on", "ts": now.Add(-time.Hour).Format(time.RFC3339)},
			map[string]any{"type": "message", "room": "t1d", "seq": 2, "message_id": "m2", "author": fern, "text": "Buy now", "ts": now.Add(-time.Minute).Format(time.RFC3339)},
		}}
	if member != nil {
		reply["member"] = member
	}
	return []any{reply}
}

// page is one headless Chromium tab with helpers that fail the test on timeout.
type page struct {
	t   *testing.T
	ctx context.Context
}

func newPage(t *testing.T, d time.Duration) *page {
	ctx, cancel := testenv.BrowserContext(t)
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, d)
	t.Cleanup(cancelT)
	p := &page{t: t, ctx: ctx}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				t.Errorf("browser console: %s", m)
			}
		}
	}()
	return p
}

func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

func (p *page) eval(js string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		p.t.Fatalf("eval %s: %v", js, err)
	}
	return s
}

func (p *page) wait(what, js string) {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for %s (%s): %v", what, js, err)
		}
		time.Sleep(40 * time.Millisecond)
	}
}

// shot saves a screenshot to $HAVEN_SCREENSHOT_DIR/name.png for design review, when set.
func (p *page) shot(name string) {
	dir := os.Getenv("HAVEN_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	if png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot()); err == nil {
		_ = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
}

// setValue sets a field's value from script (chromedp.SetValue refuses the empty string).
func (p *page) setValue(sel, v string) {
	p.t.Helper()
	b, _ := json.Marshal([]string{sel, v})
	p.eval(fmt.Sprintf(`(([s, v]) => { const e = document.querySelector(s); e.value = v; e.dispatchEvent(new Event("input")); return ""; })(%s)`, b))
}

func (p *page) click(what, sel string) {
	p.t.Helper()
	p.do(what, chromedp.Click(chromedp.CSS(sel)))
}

// TestBrowserModeratorPanel drives the panel of a room moderator (a member globally, so the
// client must learn the room role from the join reply): members, the action dialog,
// the review queue live, room controls, keyword rules with a refused regex, the audit log
// with paging, and the phone layout.
func TestBrowserModeratorPanel(t *testing.T) {
	f := newModFake(map[string]any{"id": "u1", "display_name": "Maple", "role": "member", "verified": false})
	f.respond = func(m map[string]any) []any {
		id := m["id"]
		switch m["type"] {
		case "join":
			return joinReply(m, false, f.member())
		case "mute":
			return []any{map[string]any{"type": "ok", "re": id, "until": time.Now().Add(2 * time.Hour).Format(time.RFC3339)}}
		case "approve":
			return []any{map[string]any{"type": "message", "room": "t1d", "seq": 3, "message_id": "m3", "author": fern, "text": "This miracle cure <b>works</b>", "ts": time.Now().Format(time.RFC3339)},
				map[string]any{"type": "ok", "re": id, "seq": 3, "message_id": "m3"}}
		case "resolve_report":
			if m["report_id"] == "p2" {
				return []any{map[string]any{"type": "error", "re": id, "code": "conflict", "message": "already decided"}}
			}
		case "slow_mode":
			return []any{map[string]any{"type": "ok", "re": id}, map[string]any{"type": "moderation", "room": "t1d", "action": "slow_mode", "seconds": m["seconds"]}}
		case "lock":
			return []any{map[string]any{"type": "ok", "re": id}, map[string]any{"type": "moderation", "room": "t1d", "action": "lock", "locked": m["locked"]}}
		}
		return nil
	}
	url := serve(t, f.handler())
	p := newPage(t, 60*time.Second)

	p.do("open room", chromedp.Navigate(url+"/rooms/t1d"), chromedp.WaitVisible(chromedp.CSS(`#mod-toggle`)))
	p.wait("queue count", `document.querySelector("#mod-toggle .count").textContent === "3"`)
	p.click("open panel", `#mod-toggle`)
	p.wait("panel open", `!document.querySelector("#mod-panel").hidden && document.querySelector("#mod-toggle").getAttribute("aria-expanded") === "true"`)

	// The member list comes from the server: banned and muted members who are not online
	// are there too (so a ban or mute can be lifted for anyone); the moderator is not.
	p.wait("member list", `document.querySelectorAll(".mod-member").length === 3`)
	if got := p.eval(`[...document.querySelectorAll(".mod-member")].map((e) => e.dataset.userId + ":" +
		(e.querySelector(".mod-member-state")?.dataset.state || "")).join(",")`); got != "u7:banned,u2:muted,u3:" {
		t.Errorf("member list %q, want Ash banned, Birch muted, then Fern", got)
	}
	if got := p.eval(`document.querySelector('.mod-member[data-user-id="u2"] .mod-member-state').textContent`); !strings.HasPrefix(got, "Muted until ") {
		t.Errorf("Birch's mute shown as %q", got)
	}
	p.click("moderate Ash", `.mod-member[data-user-id="u7"] .mod-act`)
	p.wait("dialog says banned", `document.querySelector("#mod-act-now").textContent === "Ash is banned from this room." && !document.querySelector("#mod-act-now").hidden`)
	p.click("unban Ash", `#mod-act-unban`)
	p.wait("unbanned", `document.querySelector("#mod-action-dialog .form-ok").textContent === "Ash may join the room again." && document.querySelector("#mod-act-now").hidden`)
	p.click("close dialog", `#mod-act-close`)
	p.wait("ban flag gone", `!document.querySelector('.mod-member[data-user-id="u7"] .mod-member-state')`)
	if c := f.commands("unban"); len(c) != 1 || c[0]["user"] != "u7" {
		t.Errorf("unban commands %v", c)
	}
	p.setValue(`#mod-member-filter`, "fer")
	p.wait("filtered", `[...document.querySelectorAll(".mod-member")].map((e) => e.dataset.userId).join() === "u3"`)
	p.setValue(`#mod-member-filter`, "")
	if n := f.got("/api/rooms/t1d/queue"); n != 1 {
		t.Errorf("the queue was fetched %d times; want once, by the panel, and no probe for the role", n)
	}

	// Members: someone joins; the moderator mutes them for a custom 2 hours.
	f.push <- `{"type":"presence","room":"t1d","online":4,"joined":{"id":"u3","display_name":"Fern","role":"member","verified":false}}`
	p.wait("member row", `document.querySelector('.mod-member[data-user-id="u3"] .mod-member-seen').textContent === "online" &&
		document.querySelector(".mod-member").dataset.userId === "u3"`)
	p.click("moderate Fern", `.mod-member[data-user-id="u3"] .mod-act`)
	p.wait("dialog", `document.querySelector("#mod-action-dialog").open`)
	p.eval(`(() => { const s = document.querySelector("#mod-act-duration"); s.value = "custom"; s.dispatchEvent(new Event("change")); return ""; })()`)
	p.click("mute without a length", `#mod-act-mute`)
	p.wait("length asked for", `document.querySelector("#mod-action-dialog .form-error").textContent.includes("how long")`)
	p.do("custom length",
		chromedp.SendKeys(chromedp.CSS(`#mod-act-custom`), "2"),
		chromedp.SetValue(chromedp.CSS(`#mod-act-unit`), "3600"),
		chromedp.SendKeys(chromedp.CSS(`#mod-act-reason`), "Please cool down"))
	p.click("mute", `#mod-act-mute`)
	p.wait("muted", `document.querySelector("#mod-action-dialog .form-ok").textContent.startsWith("Fern is muted until")`)
	p.shot("mod-dialog")
	if c := f.commands("mute"); len(c) != 1 || c[0]["duration_s"] != float64(7200) || c[0]["user"] != "u3" || c[0]["reason"] != "Please cool down" || c[0]["room"] != "t1d" {
		t.Errorf("mute commands %v", c)
	}
	// Ban asks twice and wants a reason; then deletes the last hour.
	p.setValue(`#mod-act-reason`, "")
	p.click("ban (arm)", `#mod-act-ban`)
	p.wait("armed", `document.querySelector("#mod-act-ban").textContent === "Really ban?"`)
	p.click("ban (confirm)", `#mod-act-ban`)
	p.wait("reason asked for", `document.querySelector("#mod-action-dialog .form-error").textContent.includes("Please give a reason")`)
	p.do("ban reason", chromedp.SendKeys(chromedp.CSS(`#mod-act-reason`), "spam links"), chromedp.SetValue(chromedp.CSS(`#mod-act-delete`), "3600"))
	p.click("ban (arm)", `#mod-act-ban`)
	p.click("ban (confirm)", `#mod-act-ban`)
	p.wait("banned", `document.querySelector("#mod-action-dialog .form-ok").textContent.includes("is banned")`)
	if c := f.commands("ban"); len(c) != 1 || c[0]["delete_recent_s"] != float64(3600) || c[0]["reason"] != "spam links" {
		t.Errorf("ban commands %v", c)
	}
	p.click("close dialog", `#mod-act-close`)
	p.wait("dialog gone", `!document.querySelector("#mod-action-dialog")`)

	// Acting from a message: the author's name is a button for moderators.
	p.click("author of seq 1", `.message[data-seq="1"] .author-btn`)
	p.wait("dialog for Birch", `document.querySelector("#mod-action-dialog").dataset.userId === "u2" && document.querySelector("#mod-action-dialog blockquote").textContent === "I can't go on"`)
	p.click("close dialog", `#mod-act-close`)

	// Review queue: approve the held post, a report someone else decided, live events.
	p.click("queue tab", `#mod-tab-queue`)
	p.wait("queue items", `document.querySelectorAll("#mod-pane-queue .review-item").length === 3 && document.querySelector('.review-item[data-id="p1"]').classList.contains("urgent")`)
	if got := p.eval(`document.querySelector('.review-item[data-id="h1"] .review-text').textContent`); got != "This miracle cure <b>works</b>" {
		t.Errorf("held text %q", got)
	}
	p.shot("mod-queue")
	p.click("approve", `.review-item[data-id="h1"] .btn-primary`)
	p.wait("approved", `!document.querySelector('.review-item[data-id="h1"]') && document.querySelector(".message[data-seq='3']") !== null`)
	p.do("dismiss p2", chromedp.Click(chromedp.Search(`//li[@data-id="p2"]//button[text()="Dismiss"]`)))
	p.wait("conflict handled", `!document.querySelector('.review-item[data-id="p2"]') && document.querySelector("#mod-pane-queue .mod-status").textContent.includes("Another moderator")`)
	f.push <- `{"type":"review.held","room":"t1d","held":{"id":"h2","author":{"id":"u3","display_name":"Fern","role":"member"},"text":"second","reason":"r","ts":"2030-01-01T10:00:00Z"}}`
	p.wait("live held", `document.querySelector('.review-item[data-id="h2"]') !== null && document.querySelector("#mod-toggle .count").textContent === "2"`)
	f.push <- `{"type":"review.resolved","room":"t1d","kind":"held","id":"h2","decision":"rejected","by":{"id":"u9","display_name":"Oak"}}`
	p.wait("resolved elsewhere", `!document.querySelector('.review-item[data-id="h2"]') && document.querySelector("#mod-pane-queue .mod-status").textContent === "Oak rejected a held post."`)
	if c := f.commands("approve"); len(c) != 1 || c[0]["held_id"] != "h1" {
		t.Errorf("approve commands %v", c)
	}

	// Room controls.
	p.click("room tab", `#mod-tab-room`)
	p.do("slow 30", chromedp.SetValue(chromedp.CSS(`#mod-slow`), "30"))
	p.click("apply slow", `#mod-slow-apply`)
	p.wait("slow on", `document.querySelector("#mod-pane-room .mod-now").textContent.includes("30 s")`)
	p.click("lock", `#mod-lock-toggle`)
	p.wait("locked", `document.querySelector("#mod-lock-toggle").textContent === "Unlock the room" &&
		document.querySelector("#room-view .room-banner").dataset.state === "locked-exempt" && !document.querySelector("#composer textarea").disabled`)

	p.shot("mod-room")
	// Keyword rules: the list, a refused regex shown inline, add and delete.
	p.click("rules tab", `#mod-tab-rules`)
	p.wait("rules", `document.querySelectorAll("#mod-pane-rules .rule").length === 1`)
	p.do("bad regex",
		chromedp.SetValue(chromedp.CSS(`#mod-rule-kind`), "regex"),
		chromedp.SendKeys(chromedp.CSS(`#mod-rule-pattern`), "(a"),
		chromedp.SendKeys(chromedp.CSS(`#mod-rule-reason`), "test"),
		chromedp.Click(chromedp.CSS(`#mod-rule-form button[type=submit]`)))
	p.wait("regex refused", `document.querySelector("#mod-rule-form .form-error").textContent.includes("missing closing")`)
	p.do("good rule",
		chromedp.SetValue(chromedp.CSS(`#mod-rule-pattern`), "(a)"),
		chromedp.Click(chromedp.CSS(`#mod-rule-form button[type=submit]`)))
	p.shot("mod-rules")
	p.wait("rule added", `document.querySelectorAll("#mod-pane-rules .rule").length === 2 && document.querySelector("#mod-rule-form .form-error").hidden`)
	p.click("delete (arm)", `#mod-pane-rules .rule[data-id="r1"] button`)
	p.click("delete (confirm)", `#mod-pane-rules .rule[data-id="r1"] button`)
	p.wait("rule deleted", `document.querySelectorAll("#mod-pane-rules .rule").length === 1 && !document.querySelector('.rule[data-id="r1"]')`)

	// Audit log, newest first, with paging.
	p.click("log tab", `#mod-tab-log`)
	p.wait("log page", `document.querySelectorAll(".mod-audit-entry").length === 50`)
	if got := p.eval(`document.querySelector(".mod-audit-entry").dataset.id + " " + document.querySelector('.mod-audit-entry[data-action="mute"]').textContent`); !strings.HasPrefix(got, "60 ") || !strings.Contains(got, "You muted Fern for 5 min") {
		t.Errorf("first entries: %q", got)
	}
	p.shot("mod-log")
	p.do("older", chromedp.Click(chromedp.Search(`//button[text()="Load older entries"]`)))
	p.wait("older page", `document.querySelectorAll(".mod-audit-entry").length === 60 && document.querySelector(".mod-audit-entry:last-child").dataset.id === "1"`)

	// Keyboard: arrow keys move between tabs.
	p.do("focus tab", chromedp.Focus(chromedp.CSS(`#mod-tab-log`)))
	p.do("arrow", chromedp.KeyEvent(kb.ArrowLeft))
	p.wait("rules tab by keyboard", `document.activeElement.id === "mod-tab-rules" && !document.querySelector("#mod-pane-rules").hidden`)

	// Phone: the panel takes the room, nothing sticks out.
	p.do("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	p.wait("phone width", `document.documentElement.clientWidth === 390`)
	out := p.eval(`JSON.stringify([...document.querySelectorAll("button, a, input, select, textarea, h1")]
		.filter((e) => e.offsetParent !== null && !e.classList.contains("skip-link"))
		.filter((e) => { const r = e.getBoundingClientRect(); return r.width > 0 && (r.left < -1 || r.right > innerWidth + 1); })
		.map((e) => e.tagName + "#" + e.id + "." + e.className))`)
	if out != "[]" || p.eval(`String(document.documentElement.scrollWidth)`) != "390" {
		t.Errorf("phone layout: outside the viewport: %s; page width %s", out, p.eval(`String(document.documentElement.scrollWidth)`))
	}
	p.shot("mod-phone")
	if p.eval(`getComputedStyle(document.querySelector(".room-chat")).display`) != "none" {
		t.Errorf("phone: the chat is still shown beside the open panel")
	}
	p.click("close panel", `#mod-panel .mod-close`)
	p.wait("chat back", `getComputedStyle(document.querySelector(".room-chat")).display !== "none" && document.activeElement.id === "mod-toggle"`)
}

// TestBrowserMemberRestrictions: what a member sees when screening, slow mode, a lock, a
// mute, a removal and a ban get in the way, and that the draft is never lost.
func TestBrowserMemberRestrictions(t *testing.T) {
	f := newModFake(map[string]any{"id": "u5", "display_name": "Willow", "role": "member", "verified": false})
	var mu sync.Mutex
	banned := false
	f.respond = func(m map[string]any) []any {
		id := m["id"]
		switch m["type"] {
		case "join":
			mu.Lock()
			defer mu.Unlock()
			if banned {
				return []any{map[string]any{"type": "error", "re": id, "code": "banned", "message": "you are banned from this room"}}
			}
			return joinReply(m, false, f.member())
		case "send":
			switch text := m["text"].(string); {
			case strings.HasPrefix(text, "buy"):
				return []any{map[string]any{"type": "error", "re": id, "code": "blocked", "message": "Selling medicines is not allowed here"}}
			case strings.HasPrefix(text, "miracle"):
				return []any{map[string]any{"type": "error", "re": id, "code": "held", "message": "held for review", "held_id": "h9"}}
			case strings.HasPrefix(text, "fast"):
				return []any{map[string]any{"type": "error", "re": id, "code": "slow_mode", "message": "slow down", "retry_after_ms": 2500}}
			case strings.HasPrefix(text, "muted"):
				return []any{map[string]any{"type": "error", "re": id, "code": "muted", "message": "muted", "until": time.Now().Add(2 * time.Second).Format(time.RFC3339Nano)}}
			}
		}
		return nil
	}
	url := serve(t, f.handler())
	p := newPage(t, 60*time.Second)
	p.do("open room", chromedp.Navigate(url+"/rooms/t1d"), chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)))
	p.wait("joined", `document.querySelectorAll(".message[data-seq]").length === 2`)
	time.Sleep(300 * time.Millisecond) // give a wrongly shown panel time to appear
	if p.eval(`String(document.querySelector("#mod-toggle").hidden) + document.querySelectorAll(".author-btn").length`) != "true0" {
		t.Errorf("a member sees moderator controls")
	}
	f.mu.Lock()
	if len(f.gets) != 0 {
		t.Errorf("a member's client asked moderator endpoints: %v (the join reply says the member is no moderator)", f.gets)
	}
	f.mu.Unlock()
	send := func(text string) {
		t.Helper()
		p.do("send "+text, chromedp.SetValue(chromedp.CSS(`#composer textarea`), text), chromedp.Click(chromedp.CSS(`#send`)))
	}

	send("buy cheap insulin")
	p.wait("blocked", `document.querySelector(".composer-status").textContent.includes("Selling medicines is not allowed here.") &&
		document.querySelector("#composer textarea").value === "buy cheap insulin" && !document.querySelector(".message.pending, .message.failed")`)

	p.shot("member-blocked")
	send("miracle cure found")
	p.wait("held", `(() => { const m = document.querySelector(".message.held"); return m && m.dataset.heldId === "h9" &&
		m.querySelector(".status").textContent === "Waiting for a moderator's review" &&
		document.querySelector(".composer-status").textContent.includes("waiting for a moderator's review"); })()`)
	p.shot("member-held")
	f.push <- fmt.Sprintf(`{"type":"message","room":"t1d","seq":3,"message_id":"m3","author":{"id":"u5","display_name":"Willow","role":"member"},"text":"miracle cure found","ts":%q}`, time.Now().Format(time.RFC3339))
	p.wait("approved", `!document.querySelector(".message.held") && document.querySelector('.message[data-seq="3"] .text').textContent === "miracle cure found"`)

	send("fast again")
	p.wait("slow mode wait", `document.querySelector(".composer-wait").textContent.includes("You can post again in") && document.querySelector("#send").disabled &&
		document.querySelector("#composer textarea").value === "fast again"`)
	p.shot("member-slow")
	p.wait("slow mode over", `document.querySelector(".composer-wait").hidden && !document.querySelector("#send").disabled`)

	f.push <- `{"type":"moderation","room":"t1d","action":"lock","locked":true}`
	p.wait("read-only", `document.querySelector(".room-banner").dataset.state === "locked" && document.querySelector(".room-banner").textContent.includes("read-only") &&
		document.querySelector("#composer textarea").disabled && document.querySelector("#composer textarea").value === "fast again"`)
	p.shot("member-locked")
	f.push <- `{"type":"moderation","room":"t1d","action":"lock","locked":false}`
	p.wait("open again", `document.querySelector(".room-banner").hidden && !document.querySelector("#composer textarea").disabled`)

	// A send refused with muted (2 s) shows the banner, then lifts by itself.
	p.setValue(`#composer textarea`, "")
	send("muted?")
	p.wait("muted banner", `document.querySelector(".room-banner").textContent.startsWith("A moderator has muted you until") && document.querySelector("#composer textarea").disabled`)
	p.wait("mute over", `document.querySelector(".room-banner").hidden && !document.querySelector("#composer textarea").disabled &&
		document.querySelector(".composer-status").textContent.includes("Your mute has ended")`)
	// A mute event, then unmute.
	f.push <- `{"type":"moderation","room":"t1d","action":"mute","target":{"id":"u5","display_name":"Willow"},"until":"2099-01-01T10:00:00Z","reason":"take a breath"}`
	p.wait("mute event", `document.querySelector(".room-banner").textContent.includes("Reason: take a breath") && document.querySelector("#send").disabled`)
	p.shot("member-muted")
	f.push <- `{"type":"moderation","room":"t1d","action":"unmute","target":{"id":"u5","display_name":"Willow"}}`
	p.wait("unmute event", `document.querySelector(".room-banner").hidden && !document.querySelector("#send").disabled`)

	// Banned: the room is replaced by an explanation; coming back shows the ban clearly.
	mu.Lock()
	banned = true
	mu.Unlock()
	f.push <- `{"type":"removed","room":"t1d","reason":"repeated spam","banned":true}`
	p.wait("banned card", `(() => { const g = document.querySelector(".room-gone"); return g && g.dataset.banned === "true" &&
		g.textContent.includes("A moderator banned you from Type 1 Diabetes") && g.textContent.includes("Reason given: repeated spam") &&
		!g.textContent.includes("Rejoin") && document.activeElement === g.querySelector("h2"); })()`)
	p.shot("member-banned")
	p.do("back", chromedp.Click(chromedp.Search(`//button[text()="Back to rooms"]`)), chromedp.WaitVisible(chromedp.CSS(`#home-view`)))
	p.click("room again", `#room-list a[data-slug="t1d"]`)
	p.wait("ban on rejoin", `(() => { const g = document.querySelector(".room-gone"); return g && g.textContent.includes("You are banned from Type 1 Diabetes"); })()`)
}

// TestBrowserMuteBannerAfterReload: the join reply's member.muted_until shows the mute banner
// as soon as the room opens, with no mute event (the member reloaded the page, or was muted
// while away), and a reply without it lifts a mute the page still showed.
func TestBrowserMuteBannerAfterReload(t *testing.T) {
	f := newModFake(map[string]any{"id": "u5", "display_name": "Willow", "role": "member", "verified": false})
	var mu sync.Mutex
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	f.respond = func(m map[string]any) []any {
		if m["type"] != "join" {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		member := map[string]any{"role": "member"}
		if until != "" {
			member["muted_until"] = until
		}
		return joinReply(m, false, member)
	}
	url := serve(t, f.handler())
	p := newPage(t, 60*time.Second)
	// Both in one check: the banner is up by the time the history shows, not later.
	bannerAtJoin := `document.querySelectorAll(".message[data-seq]").length === 2 &&
		document.querySelector(".room-banner").dataset.state === "muted" &&
		document.querySelector(".room-banner").textContent.startsWith("A moderator has muted you until") &&
		document.querySelector("#composer textarea").disabled && document.querySelector("#send").disabled`
	joined := `document.querySelectorAll(".message[data-seq]").length === 2`

	p.do("open room", chromedp.Navigate(url+"/rooms/t1d"), chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)))
	p.wait("joined", joined)
	if p.eval(`String(`+bannerAtJoin+`)`) != "true" {
		t.Fatalf("no mute banner at join: banner %q", p.eval(`document.querySelector(".room-banner").textContent`))
	}
	p.shot("member-muted-at-join")

	p.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)))
	p.wait("joined again", joined)
	if p.eval(`String(`+bannerAtJoin+`)`) != "true" {
		t.Fatalf("no mute banner after a reload: banner %q", p.eval(`document.querySelector(".room-banner").textContent`))
	}

	// The mute is lifted while the connection is down: the rejoin says so, and the banner goes.
	mu.Lock()
	until = ""
	mu.Unlock()
	f.push <- `{"type":"reconnect","reason":"draining","retry_after_ms":50}`
	p.wait("mute lifted by the rejoin", `document.querySelector(".room-banner").hidden && !document.querySelector("#composer textarea").disabled &&
		document.querySelector(".composer-status").textContent.includes("Your mute has ended")`)
	p.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)))
	p.wait("joined, not muted", joined+` && document.querySelector(".room-banner").hidden && !document.querySelector("#composer textarea").disabled`)
	f.mu.Lock()
	if len(f.gets) != 0 {
		t.Errorf("a member's client asked moderator endpoints: %v", f.gets)
	}
	f.mu.Unlock()
}
