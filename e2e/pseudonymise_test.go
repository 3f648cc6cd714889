package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/internal/wsclient"
	"github.com/havenhealth/haven/media"
	"github.com/havenhealth/haven/server"
	"github.com/havenhealth/haven/store"
)

func TestPseudonymiseSQLite(t *testing.T)  { runPseudonymise(t, sqliteSetup()) }
func TestPseudonymiseCluster(t *testing.T) { runPseudonymise(t, postgresSetup(2, true)) }

// runPseudonymise: where erasure keeps the texts under a pseudonym, members with a room
// open see the erased member's name change at once, on every node, in every room that
// shows something of theirs; a reload serves the same.
func runPseudonymise(t *testing.T, s setup) {
	c := startPrivacyCluster(t, s, server.PrivacyConfig{HealthConsentVersion: 1, ErasureContent: store.ErasurePseudonymise})
	far := len(c.Nodes) - 1
	room, quiet := c.newRoom(t), c.newRoom(t)
	conn, acc := c.joined(far, room)
	grantHealth(t, c, far, acc.Token, 1)
	seq := send(t, conn, room, "a useful tip about insulin pens", "ps1").Int("seq")
	join(t, conn, quiet, nil) // a room where they said nothing: nothing to rename there
	watcher, _ := c.joined(0, room)
	bystander, _ := c.joined(0, quiet)

	status, out := c.pvDo(t, 0, "DELETE", "/api/me", acc.Token, map[string]any{"password": "correct horse battery"})
	pvWant(t, "erase", status, http.StatusOK, out)
	pseudonym, _ := out["pseudonym"].(string)
	if out["content"] != store.ErasurePseudonymise || pseudonym == "" || pseudonym == acc.DisplayName {
		t.Fatalf("erase reply: %v", out)
	}

	ev := nextOf(t, watcher, "author_renamed")
	a, _ := ev["author"].(map[string]any)
	if ev.Str("room") != room || a["id"] != acc.ID || a["display_name"] != pseudonym || a["role"] != store.RoleMember {
		t.Fatalf("author_renamed = %v, want %s as %q", ev, acc.ID, pseudonym)
	}
	// The quiet room hears nothing of it: a typing event sent after the erasure arrives
	// first, and no rename came before it.
	typist, _ := c.joined(0, quiet)
	if r := rvDo(t, typist, "typing", map[string]any{"room": quiet}); r.Type() != "ok" {
		t.Fatalf("typing: %v", r)
	}
	deadline := time.After(5 * time.Second)
	for typed := false; !typed; {
		select {
		case m := <-bystander.Events:
			if m.Type() == "author_renamed" {
				t.Fatalf("a room with nothing of theirs was told of the pseudonym: %v", m)
			}
			typed = m.Type() == "typing"
		case <-deadline:
			t.Fatal("the typing event never reached the quiet room")
		}
	}

	again := c.dial(far, c.member(far))
	hist, _ := join(t, again, room, nil)["messages"].([]any)
	for _, m := range hist {
		mm := m.(map[string]any)
		if int64(mm["seq"].(float64)) != seq {
			continue
		}
		author, _ := mm["author"].(map[string]any)
		if mm["text"] != "a useful tip about insulin pens" || author["display_name"] != pseudonym {
			t.Fatalf("the message after a reload: %v", mm)
		}
		return
	}
	t.Fatalf("seq %d missing after a reload: %v", seq, hist)
}

// TestBrowserErasePseudonymise: a member erases their account from the privacy page;
// another member with the room open sees the post stay and its author become the
// pseudonym, without a reload.
func TestBrowserErasePseudonymise(t *testing.T) {
	testenv.Chromium(t)
	c := startPrivacyCluster(t, sqliteSetup(), server.PrivacyConfig{ErasureContent: store.ErasurePseudonymise})
	if _, err := c.Nodes[0].Srv.SeedDemo(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("seed: %v", err)
	}
	url := c.Nodes[0].URL
	suffix := time.Now().UnixNano() % 1_000_000
	leaver, stayer := newBrowserMember(t, "leaver"), newBrowserMember(t, "stayer")
	name := fmt.Sprintf("Kestrel%d", suffix)
	leaver.signup(url, fmt.Sprintf("leaver%d@example.org", suffix), name)
	stayer.signup(url, fmt.Sprintf("stayer%d@example.org", suffix), fmt.Sprintf("Wren%d", suffix))
	leaver.openRoom()
	stayer.openRoom()
	const tip = "Rotating injection sites stopped my lumps"
	leaver.send(tip)
	stayer.waitMessage(tip)
	authorOf := `[...document.querySelectorAll("#room-view .messages .message[data-seq]")].find((m) => m.querySelector(".text").textContent === ` +
		strconv.Quote(tip) + `).querySelector(".author").textContent`
	if got := browserEval[string](stayer, authorOf); got != name {
		t.Fatalf("the post's author before the erasure: %q, want %q", got, name)
	}

	stayer.waitJS("presence 2", `document.querySelector("#presence-count").textContent === "2 online"`, 10*time.Second)

	browserEval[bool](leaver, `(window.confirm = () => true, true)`)
	leaver.do("erase the account", 15*time.Second,
		chromedp.Click(chromedp.CSS(`#privacy-link`)),
		chromedp.WaitVisible(chromedp.CSS(`#erase-password`)),
		chromedp.SendKeys(chromedp.CSS(`#erase-password`), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`#erase-sure`)),
		chromedp.Click(chromedp.CSS(`#erase-account`)),
	)
	leaver.waitJS("signed out, erased", `document.body.innerText.includes("Your account was erased.")`, 10*time.Second)
	stayer.waitJS("the pseudonym on the post", authorOf+`.startsWith("Former member ")`, 10*time.Second)
	if n := browserEval[int](stayer, `[...document.querySelectorAll("#room-view .messages .author")].filter((a) => a.textContent === `+strconv.Quote(name)+`).length`); n != 0 {
		t.Fatalf("%d posts still show the erased member's name", n)
	}
	stayer.waitMessage(tip)
	// The erasure closed the leaver's sockets: the room no longer counts them.
	stayer.waitJS("presence 1 after the erasure", `document.querySelector("#presence-count").textContent === "1 online"`, 10*time.Second)
	stayer.screenshot("pseudonymised")
	stayer.checkConsole()
}

// TestBrowserEraseRenamesQuestion: an attendee asks in a live webinar's Q&A, an admin
// erases the account under pseudonymise, and the host's open Q&A panel names the question's
// author by the pseudonym without a reload.
func TestBrowserEraseRenamesQuestion(t *testing.T) {
	testenv.Chromium(t)
	c := startBrowserMediaNode(t, media.Config{}, func(cfg *server.Config) {
		cfg.Privacy = server.PrivacyConfig{ErasureContent: store.ErasurePseudonymise}
	})
	slug := c.mediaRoom(t, "webinar")
	sfx := time.Now().UnixNano() % 1_000_000
	host, att := newMediaBrowser(t, "host"), newMediaBrowser(t, "attendee")
	host.joinAs(c, slug, fmt.Sprintf("Willow%d", sfx), "host")
	host.schedule("Sleep and blood sugar", "")
	host.click("start", `.session[data-state="scheduled"] .session-start`)
	host.waitJS("hosting", `document.querySelector(".live")?.dataset.role === "host"`, 15*time.Second)
	name := fmt.Sprintf("Sorrel%d", sfx)
	attID := att.joinAs(c, slug, name, "")
	att.click("join", `.session[data-state="live"] .session-join`)
	att.waitJS("watching", `document.querySelector(".live")?.dataset.role === "attendee"`, 15*time.Second)

	const question = "Does a late snack help with lows at night?"
	att.do("ask", 10*time.Second, chromedp.SendKeys(chromedp.CSS(`#qa-text`), question), chromedp.Click(chromedp.CSS(`#qa-ask`)))
	askedBy := fmt.Sprintf(`([...document.querySelectorAll(".qa-item")].find((e) => e.querySelector(".qa-text")?.textContent === %s)?.querySelector(".qa-meta strong")?.textContent ?? "")`,
		browserJSString(question))
	host.waitJS("the question under the asker's name", askedBy+` === `+browserJSString(name), 10*time.Second)

	body := []byte(`{"reason":"member asked by email to be forgotten"}`)
	if status, err := wsclient.DoJSON(ctxT(t, 10*time.Second), http.MethodDelete, c.Nodes[0].URL+"/api/users/"+attID, c.adminToken(), body, nil); err != nil || status != http.StatusOK {
		t.Fatalf("erase the attendee: %d %v", status, err)
	}
	host.waitJS("the question under the pseudonym", askedBy+`.startsWith("Former member ")`, 10*time.Second)
	host.screenshot("question-pseudonymised")
	host.checkConsole()
}
