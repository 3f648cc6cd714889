package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/internal/wsclient"
	"github.com/havenhealth/haven/safety"
	"github.com/havenhealth/haven/server"
	"github.com/havenhealth/haven/store"
)

// Safety screening on posts and edits (docs/PROTOCOL.md "Safety screening"), with the
// deployment's default safety configuration.
func TestScreeningSQLite(t *testing.T)  { runScreeningSuite(t, sqliteSetup()) }
func TestScreeningCluster(t *testing.T) { runScreeningSuite(t, postgresSetup(2, true)) }

// startScreenCluster is startCluster with the built-in safety configuration loaded, as
// cmd/haven loads it when -safety-config is unset.
func startScreenCluster(t *testing.T, s setup) *cluster {
	t.Helper()
	safetyCfg, err := server.LoadSafetyConfig("")
	if err != nil {
		t.Fatal(err)
	}
	opener, brk := s.openStore(t), s.broker(t)
	c := &cluster{t: t}
	for i := 0; i < s.nodes; i++ {
		id := fmt.Sprintf("node-%d", i+1)
		st := opener(t)
		br, pres := brk(t, id)
		cfg := testConfig(id, s.hubCfg)
		cfg.Safety = safetyCfg
		srv := server.New(cfg, st, br, pres)
		if err := srv.Start(context.Background()); err != nil {
			t.Fatalf("start %s: %v", id, err)
		}
		if i == 0 {
			if _, err := srv.SeedDemo(context.Background()); err != nil {
				t.Fatalf("seed: %v", err)
			}
			if _, err := srv.Accounts().EnsureAdmin(context.Background(), "admin@example.org", "admin-password-1"); err != nil {
				t.Fatalf("admin: %v", err)
			}
		}
		hs := httptest.NewServer(srv.Handler())
		n := &node{ID: id, URL: hs.URL, Srv: srv, HTTP: hs, St: st, Br: br}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			srv.Drain(ctx)
			hs.Close()
			br.Close()
			st.Close()
		})
		c.Nodes = append(c.Nodes, n)
	}
	return c
}

// setPIIPolicy patches the room's policy as the admin and checks the room JSON.
func setPIIPolicy(t *testing.T, c *cluster, room, policy string) {
	t.Helper()
	var out struct {
		Room map[string]any `json:"room"`
	}
	status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "PATCH", c.Nodes[0].URL+"/api/rooms/"+room,
		c.adminToken(), []byte(fmt.Sprintf(`{"pii_policy":%q}`, policy)), &out)
	if err != nil || status != http.StatusOK || out.Room["pii_policy"] != policy {
		t.Fatalf("PATCH pii_policy %s: %d %v %v", policy, status, err, out.Room)
	}
}

func sendOpts(t *testing.T, conn *wsclient.Conn, f map[string]any) wsclient.Msg {
	t.Helper()
	r, err := conn.Do(ctxT(t, 10*time.Second), "send", f)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return r
}

// nextOf returns conn's next event of type typ (moderators see review events too).
func nextOf(t *testing.T, conn *wsclient.Conn, typ string) wsclient.Msg {
	t.Helper()
	m, err := conn.Next(ctxT(t, 5*time.Second), typ)
	if err != nil {
		t.Fatalf("no %s event: %v", typ, err)
	}
	return m
}

func isMessage(m wsclient.Msg) bool { return m.Type() == "message" }

const (
	phoneText  = "my cell is 415-555-0132, text me after clinic"
	crisisText = "I don't want to be alive anymore, I think about killing myself every night"
	// modelText has no phrase of the crisis lexicon: only the crisis model finds it.
	modelText  = "I can't see a way forward anymore and I've stopped caring what happens to me"
	methodText = "I want to kill myself, I have saved up 60 of my sleeping pills to take tonight"
	aeText     = "Since starting Ozempic I get terrible nausea every single morning"
)

// storedAlert waits for the crisis alert with id to be stored (it is stored after the live
// alert goes out) and returns it.
func storedAlert(t *testing.T, c *cluster, id string) store.CrisisAlert {
	t.Helper()
	var found store.CrisisAlert
	waitFor(t, func() bool {
		as, err := c.Nodes[0].St.CrisisAlerts(context.Background(), store.CrisisAlertFilter{}, 50)
		if err != nil {
			t.Fatalf("crisis alerts: %v", err)
		}
		for _, a := range as {
			if a.ID == id {
				found = a
				return true
			}
		}
		return false
	})
	return found
}

func runScreeningSuite(t *testing.T, s setup) {
	c := startScreenCluster(t, s)
	far := len(c.Nodes) - 1
	k := rvKit{c: c, far: far}

	t.Run("warn refuses before anyone sees it, confirm posts", func(t *testing.T) {
		room := c.newRoom(t)
		author, _ := c.joined(0, room)
		other, _ := c.joined(far, room)
		r := send(t, author, room, phoneText, "w1")
		if r.Code() != "personal_info" {
			t.Fatalf("send with a phone number = %v, want personal_info", r)
		}
		fs, _ := r["findings"].([]any)
		if len(fs) != 1 {
			t.Fatalf("findings = %v", r["findings"])
		}
		f := fs[0].(map[string]any)
		start, end := int(f["start"].(float64)), int(f["end"].(float64))
		if f["category"] != "phone" || phoneText[start:end] != "415-555-0132" {
			t.Fatalf("finding = %v", f)
		}
		quietFor(t, other, 300*time.Millisecond, isMessage)
		r = sendOpts(t, author, map[string]any{"room": room, "text": phoneText, "client_msg_id": "w1", "confirm_personal_info": true})
		if r.Type() != "ok" || r["redacted"] != nil {
			t.Fatalf("confirmed send = %v", r)
		}
		if m := nextAsMember(t, other, "message", 5*time.Second); m.Str("text") != phoneText {
			t.Fatalf("delivered %v", m)
		}
	})

	t.Run("redact replaces the spans for members", func(t *testing.T) {
		room := c.newRoom(t)
		setPIIPolicy(t, c, room, store.PIIRedact)
		author, _ := c.joined(0, room)
		other, _ := c.joined(far, room)
		r := send(t, author, room, phoneText, "r1")
		cats, _ := r["categories"].([]any)
		if r.Type() != "ok" || r["redacted"] != true || len(cats) != 1 || cats[0] != "phone" ||
			strings.Contains(r.Str("text"), "415") || !strings.Contains(r.Str("text"), "text me after clinic") {
			t.Fatalf("send = %v", r)
		}
		if m := nextAsMember(t, other, "message", 5*time.Second); strings.Contains(m.Str("text"), "415") {
			t.Fatalf("the phone number reached a member: %v", m)
		}
	})

	t.Run("hold keeps it for review", func(t *testing.T) {
		room := c.newRoom(t)
		setPIIPolicy(t, c, room, store.PIIHold)
		mod, _ := k.mod(t, room)
		author, _ := c.joined(far, room)
		other, _ := c.joined(0, room)
		r := send(t, author, room, phoneText, "h1")
		if r.Code() != "held" || r.Str("held_id") == "" {
			t.Fatalf("send = %v", r)
		}
		held := nextOf(t, mod, "review.held")
		if h, _ := held["held"].(map[string]any); h == nil || h["reason"] != "personal_info" {
			t.Fatalf("review.held = %v", held)
		}
		quietFor(t, other, 300*time.Millisecond, isMessage)
	})

	t.Run("bad policy is refused", func(t *testing.T) {
		room := c.newRoom(t)
		status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "PATCH", c.Nodes[0].URL+"/api/rooms/"+room,
			c.adminToken(), []byte(`{"pii_policy":"shout"}`), nil)
		if err != nil || status != http.StatusBadRequest {
			t.Fatalf("bad policy: %d %v", status, err)
		}
		member := c.member(0)
		status, err = wsclient.DoJSON(ctxT(t, 5*time.Second), "PATCH", c.Nodes[0].URL+"/api/rooms/"+room,
			member.Token, []byte(`{"pii_policy":"hold"}`), nil)
		if err != nil || status != http.StatusForbidden {
			t.Fatalf("member sets policy: %d %v", status, err)
		}
	})

	t.Run("crisis alerts a moderator on another node and sends the author resources", func(t *testing.T) {
		room := c.newRoom(t)
		mod, _ := k.mod(t, room) // node 0
		author, acc := c.joined(far, room)
		other, _ := c.joined(0, room)
		r := send(t, author, room, crisisText, "c1")
		if r.Type() != "ok" || r["crisis"] != true {
			t.Fatalf("crisis send = %v", r)
		}
		res := nextAsMember(t, author, "safety.resources", 5*time.Second)
		if !strings.Contains(res.Str("text"), "emergency") || res.Str("room") != room {
			t.Fatalf("resources = %v", res)
		}
		if links, _ := res["links"].([]any); len(links) == 0 {
			t.Fatalf("resources without links: %v", res)
		}
		alert := nextOf(t, mod, "safety.crisis")
		author0, _ := alert["author"].(map[string]any)
		if alert.Str("priority") != "urgent" || alert.Int("seq") != r.Int("seq") || alert["method"] != false ||
			alert.Str("alert_id") == "" || author0["id"] != acc.ID || alert.Str("excerpt") == "" || alert["source"] != nil {
			t.Fatalf("alert = %v", alert)
		}
		// Published normally: not silently dropped.
		if m := nextAsMember(t, other, "message", 5*time.Second); m.Str("text") != crisisText {
			t.Fatalf("delivered %v", m)
		}
		if a := storedAlert(t, c, alert.Str("alert_id")); a.MessageSeq != r.Int("seq") {
			t.Fatalf("stored alert %+v, want seq %d", a, r.Int("seq"))
		}
	})

	t.Run("wording the lexicon misses alerts through the crisis model", func(t *testing.T) {
		room := c.newRoom(t)
		mod, _ := k.mod(t, room)
		author, _ := c.joined(far, room)
		r := send(t, author, room, modelText, "cm1")
		if r.Type() != "ok" || r["crisis"] != true {
			t.Fatalf("send = %v", r)
		}
		nextAsMember(t, author, "safety.resources", 5*time.Second)
		alert := nextOf(t, mod, "safety.crisis")
		if alert.Int("seq") != r.Int("seq") || alert["method"] != false || alert["source"] != "model" {
			t.Fatalf("alert = %v", alert)
		}
		if a := storedAlert(t, c, alert.Str("alert_id")); !slices.Equal(a.Terms, []string{safety.ModelTerm}) {
			t.Fatalf("stored terms %q, want the model named", a.Terms)
		}
	})

	t.Run("method detail is hidden from members", func(t *testing.T) {
		room := c.newRoom(t)
		mod, _ := k.mod(t, room)
		author, _ := c.joined(far, room)
		other, _ := c.joined(0, room)
		r := send(t, author, room, methodText, "m1")
		if r.Code() != "held" {
			t.Fatalf("method send = %v", r)
		}
		nextAsMember(t, author, "safety.resources", 5*time.Second)
		alert := nextOf(t, mod, "safety.crisis")
		if alert["method"] != true || alert.Str("held_id") != r.Str("held_id") {
			t.Fatalf("alert = %v", alert)
		}
		quietFor(t, other, 300*time.Millisecond, isMessage)
	})

	t.Run("adverse event opens a case", func(t *testing.T) {
		room := c.newRoom(t)
		author, acc := c.joined(far, room)
		r := send(t, author, room, aeText, "ae1")
		if r.Type() != "ok" {
			t.Fatalf("ae send = %v", r)
		}
		cases, err := c.Nodes[0].St.AECases(context.Background(), store.AECaseFilter{AuthorID: acc.ID}, 10)
		if err != nil || len(cases) != 1 {
			t.Fatalf("cases = %+v, %v", cases, err)
		}
		ae := cases[0]
		if ae.Text != aeText || ae.MessageSeq != r.Int("seq") || ae.MessageID != r.Str("message_id") ||
			len(ae.Products) != 1 || ae.Products[0] != "Ozempic" || ae.AwareAt.IsZero() {
			t.Fatalf("case = %+v", ae)
		}
	})

	t.Run("edit passes the screens and reaches members", func(t *testing.T) {
		room := c.newRoom(t)
		author, _ := c.joined(0, room)
		other, _ := c.joined(far, room)
		r := send(t, author, room, "see you at the meetup", "e1")
		seq := r.Int("seq")
		nextAsMember(t, other, "message", 5*time.Second)
		e := rvDo(t, author, "edit", map[string]any{"room": room, "seq": seq, "text": phoneText})
		if e.Code() != "personal_info" {
			t.Fatalf("edit with a phone number = %v", e)
		}
		e = rvDo(t, author, "edit", map[string]any{"room": room, "seq": seq, "text": "see you at the meetup on Friday"})
		if e.Type() != "ok" || e.Str("edited_at") == "" {
			t.Fatalf("edit = %v", e)
		}
		ev := nextAsMember(t, other, "message_edited", 5*time.Second)
		if ev.Int("seq") != seq || ev.Str("text") != "see you at the meetup on Friday" || ev.Str("edited_at") == "" {
			t.Fatalf("message_edited = %v", ev)
		}
		// Another member cannot edit it; a late joiner sees the edited text and its mark.
		if e := rvDo(t, other, "edit", map[string]any{"room": room, "seq": seq, "text": "mine"}); e.Code() != "forbidden" {
			t.Fatalf("edit by another member = %v", e)
		}
		if e := rvDo(t, author, "edit", map[string]any{"room": room, "text": "no seq"}); e.Code() != "bad_request" {
			t.Fatalf("edit without seq = %v", e)
		}
		// Moderators read the earlier text.
		var orig struct {
			Message map[string]any   `json:"message"`
			Edits   []map[string]any `json:"edits"`
		}
		status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "GET", fmt.Sprintf("%s/api/rooms/%s/messages/%d", c.Nodes[0].URL, room, seq),
			c.adminToken(), nil, &orig)
		if err != nil || status != http.StatusOK || len(orig.Edits) != 1 || orig.Edits[0]["text"] != "see you at the meetup" {
			t.Fatalf("moderator's view: %d %v %+v", status, err, orig)
		}
		j := join(t, c.dial(far, c.member(far)), room, nil)
		msgs, _ := j["messages"].([]any)
		if len(msgs) != 1 {
			t.Fatalf("join history = %v", j["messages"])
		}
		m := msgs[0].(map[string]any)
		if m["text"] != "see you at the meetup on Friday" || m["edited_at"] == nil {
			t.Fatalf("history message = %v", m)
		}
	})
}

// TestBrowserScreening: the sender-side warning, "Post anyway", editing with the edited
// mark, and the crisis resources panel, in a real browser.
func TestBrowserScreening(t *testing.T) {
	c := startScreenCluster(t, sqliteSetup())
	a := newBrowserMember(t, "a")
	suffix := time.Now().UnixNano() % 1_000_000
	a.signup(c.Nodes[0].URL, fmt.Sprintf("s%d@example.org", suffix), fmt.Sprintf("Wren%d", suffix))
	a.openRoom()

	a.do("send a phone number", 10*time.Second,
		chromedp.SendKeys(chromedp.CSS(`#composer textarea`), phoneText),
		chromedp.Click(chromedp.CSS(`#send`)),
		chromedp.WaitVisible(chromedp.CSS(`.pi-warning .pi-post`)),
	)
	if got := browserEval[string](a, `document.querySelector(".pi-warning mark").textContent`); got != "415-555-0132" {
		t.Fatalf("highlighted %q", got)
	}
	a.screenshot("personal-info-warning")
	a.do("post anyway", 10*time.Second, chromedp.Click(chromedp.CSS(`.pi-warning .pi-post`)))
	a.waitMessage(phoneText)

	a.do("edit own message", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#room-view .messages .message.own[data-seq] .edit`)),
		chromedp.WaitVisible(chromedp.CSS(`.edit-form textarea`)),
	)
	browserEval[bool](a, `(document.querySelector(".edit-form textarea").value = "see you at clinic", true)`)
	a.do("save edit", 10*time.Second, chromedp.Click(chromedp.CSS(`.edit-form button[type="submit"]`)))
	a.waitMessage("see you at clinic")
	a.waitJS("edited mark", `!!document.querySelector("#room-view .message[data-seq] .edited")`, 10*time.Second)

	a.do("send a crisis post", 10*time.Second,
		chromedp.SendKeys(chromedp.CSS(`#composer textarea`), crisisText),
		chromedp.Click(chromedp.CSS(`#send`)),
		chromedp.WaitVisible(chromedp.CSS(`.safety-resources`)),
	)
	if n := browserEval[int](a, `document.querySelectorAll(".safety-resources a[href^='https://']").length`); n == 0 {
		t.Fatal("the resources panel has no links")
	}
	a.screenshot("crisis-resources")
	a.checkConsole()
}

// TestBrowserCrisisAlert: a room moderator's panel shows each crisis alert live; the one
// only the crisis model found says so, the lexicon's does not.
func TestBrowserCrisisAlert(t *testing.T) {
	testenv.Chromium(t)
	_, mod, mem, _, _ := moderationPairOn(t, startScreenCluster(t, sqliteSetup()))
	for _, tc := range []struct {
		text    string
		byModel bool
	}{{modelText, true}, {crisisText, false}} {
		mem.send(tc.text)
		mod.waitJS("alert for "+tc.text, `[...document.querySelectorAll("#mod-panel .crisis-alert blockquote")].some((b) => b.textContent === `+strconv.Quote(tc.text)+`)`, 10*time.Second)
		got := browserEval[bool](mod, `[...document.querySelectorAll("#mod-panel .crisis-alert")].find((a) => a.querySelector("blockquote").textContent === `+strconv.Quote(tc.text)+`).querySelector(".crisis-head").textContent.includes("found by the crisis model")`)
		if got != tc.byModel {
			t.Errorf("%q: the alert says it was found by the crisis model: %v, want %v", tc.text, got, tc.byModel)
		}
	}
	mod.screenshot("crisis-alerts")
	mod.checkConsole()
	mem.checkConsole()
}
