package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/internal/wsclient"
)

// browserUserID asks the page's own session who it is (the id is needed to grant a room
// role, which only an admin's API call can do).
func browserUserID(b *browserMember) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/api/me").then((r) => r.json()).then((j) => j.user.id)`, chromedp.EvalAwaitPromise))
	if err != nil || id == "" {
		b.t.Fatalf("%s: own user id: %q %v", b.name, id, err)
	}
	return id
}

// moderationPair signs up a room moderator (a member globally, so the client has to learn
// the room role from the server: the panel appears only if it does) and a member, each in
// their own browser, both in the seeded room with the moderator there first.
func moderationPair(t *testing.T) (c *cluster, mod, mem *browserMember, memID, memName string) {
	t.Helper()
	testenv.Chromium(t) // skip (or fail under CI=true) before starting a node for nothing
	return moderationPairOn(t, startCluster(t, sqliteSetup()))
}

// moderationPairOn is moderationPair on the cluster c.
func moderationPairOn(t *testing.T, c *cluster) (_ *cluster, mod, mem *browserMember, memID, memName string) {
	t.Helper()
	url := c.Nodes[0].URL
	mod = newBrowserMember(t, "mod")
	mem = newBrowserMember(t, "member")
	suffix := time.Now().UnixNano() % 1_000_000
	modName := fmt.Sprintf("Lantern%d", suffix)
	memName = fmt.Sprintf("Otter%d", suffix)

	mod.signup(url, fmt.Sprintf("mod%d@example.org", suffix), modName)
	modID := browserUserID(mod)
	status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "PUT", url+"/api/rooms/"+browserRoom+"/roles/"+modID,
		c.adminToken(), []byte(`{"role":"moderator"}`), nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("make %s a room moderator: %d %v", modName, status, err)
	}
	mod.openRoom()
	mod.waitJS("moderation toggle", `!document.querySelector("#mod-toggle").hidden`, 10*time.Second)

	mem.signup(url, fmt.Sprintf("mem%d@example.org", suffix), memName)
	memID = browserUserID(mem)
	mem.openRoom()
	if browserEval[bool](mem, `!document.querySelector("#mod-toggle").hidden || !!document.querySelector("#mod-panel .mod-tabs")`) {
		t.Errorf("the member sees the moderation panel")
	}
	mod.do("open panel", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#mod-toggle`)),
		chromedp.WaitVisible(chromedp.CSS(`#mod-panel .mod-tabs`)))
	return c, mod, mem, memID, memName
}

// TestBrowserModeration: a room moderator and a member, each in their own headless
// Chromium, in the same room on a real node. The moderator works only through the panel
// (clicks, no direct API calls): mutes the member from the member list, sees the mute in
// the audit log, unmutes them from one of their messages, then locks and unlocks the room.
// The member sees the mute banner with the composer disabled, then the read-only room.
func TestBrowserModeration(t *testing.T) {
	start := time.Now()
	_, mod, mem, memID, memName := moderationPair(t)
	hello := "Hello, is anyone around tonight?"
	mem.send(hello)
	mod.waitMessage(hello)

	// Mute from the member list, with a reason, for the first preset (5 minutes).
	memberRow := fmt.Sprintf(`.mod-member[data-user-id=%q]`, memID)
	mod.do("moderate member", 10*time.Second,
		chromedp.WaitVisible(chromedp.CSS(memberRow+` .mod-act`)),
		chromedp.Click(chromedp.CSS(memberRow+` .mod-act`)),
		chromedp.WaitVisible(chromedp.CSS(`#mod-action-dialog #mod-act-reason`)),
		chromedp.SendKeys(chromedp.CSS(`#mod-act-reason`), "Please take a short break"),
		chromedp.SetValue(chromedp.CSS(`#mod-act-duration`), "300"),
		chromedp.Click(chromedp.CSS(`#mod-act-mute`)))
	mod.waitJS("mute confirmed", `(() => { const ok = document.querySelector("#mod-action-dialog .form-ok");
		return ok && !ok.hidden && ok.textContent.includes("is muted until"); })()`, 10*time.Second)
	mod.screenshot("mute-dialog")

	mem.waitJS("mute banner", `(() => { const b = document.querySelector("#room-view .room-banner");
		return b && !b.hidden && b.textContent.startsWith("A moderator has muted you until") && b.textContent.includes("Reason: Please take a short break") &&
			document.querySelector("#composer textarea").disabled && document.querySelector("#send").disabled; })()`, 10*time.Second)
	mem.screenshot("muted")

	// The audit log shows it.
	mod.do("close dialog, open the log", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#mod-act-close`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#mod-action-dialog`)),
		chromedp.Click(chromedp.CSS(`#mod-tab-log`)))
	mod.waitJS("mute in the audit log", fmt.Sprintf(`[...document.querySelectorAll('.mod-audit-entry[data-action="mute"]')]
		.some((e) => e.textContent.includes("You muted %s") && e.textContent.includes("Reason: Please take a short break"))`, memName), 10*time.Second)
	mod.screenshot("audit")

	// Unmute, acting from the member's message (the author's name is a button).
	mod.do("moderate from a message", 10*time.Second,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#room-view .message[data-author-id=%q] .author-btn`, memID))),
		chromedp.WaitVisible(chromedp.CSS(`#mod-action-dialog #mod-act-unmute`)),
		chromedp.Click(chromedp.CSS(`#mod-act-unmute`)))
	mod.waitJS("unmute confirmed", `(() => { const ok = document.querySelector("#mod-action-dialog .form-ok");
		return ok && !ok.hidden && ok.textContent.includes("can post again"); })()`, 10*time.Second)
	mod.do("close dialog", 10*time.Second, chromedp.Click(chromedp.CSS(`#mod-act-close`)), chromedp.WaitNotPresent(chromedp.CSS(`#mod-action-dialog`)))
	mem.waitJS("mute lifted", `document.querySelector("#room-view .room-banner").hidden && !document.querySelector("#composer textarea").disabled`, 10*time.Second)

	// Lock from the panel: the member's room turns read-only; the moderator may still post.
	mod.do("lock", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#mod-tab-room`)),
		chromedp.WaitVisible(chromedp.CSS(`#mod-lock-toggle`)),
		chromedp.Click(chromedp.CSS(`#mod-lock-toggle`)))
	mod.waitJS("locked", `document.querySelector("#mod-lock-toggle").textContent === "Unlock the room"`, 10*time.Second)
	mem.waitJS("read-only", `(() => { const b = document.querySelector("#room-view .room-banner");
		return b && !b.hidden && b.dataset.state === "locked" && b.textContent.includes("read-only") &&
			document.querySelector("#composer textarea").disabled && document.querySelector("#send").disabled &&
			document.querySelector("#room-view .room-flags").textContent.includes("Locked"); })()`, 10*time.Second)
	mem.screenshot("locked")
	if browserEval[bool](mod, `document.querySelector("#composer textarea").disabled`) {
		t.Errorf("the moderator's composer is disabled in the locked room")
	}
	mod.do("lock in the log", 10*time.Second, chromedp.Click(chromedp.CSS(`#mod-tab-log`)))
	mod.waitJS("lock in the audit log", `[...document.querySelectorAll('.mod-audit-entry[data-action="lock"]')].some((e) => e.textContent.includes("You locked the room"))`, 10*time.Second)

	// Unlock: the member can post again.
	mod.do("unlock", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#mod-tab-room`)),
		chromedp.Click(chromedp.CSS(`#mod-lock-toggle`)))
	mem.waitJS("open again", `document.querySelector("#room-view .room-banner").hidden && !document.querySelector("#composer textarea").disabled`, 10*time.Second)
	after := "Thank you, feeling calmer now"
	mem.send(after)
	mod.waitMessage(after)

	mod.checkConsole()
	mem.checkConsole()
	t.Logf("browser moderation test took %v", time.Since(start).Round(time.Millisecond))
}

// TestBrowserReviewQueue: screening and review through the UI against a real node. The
// moderator adds a hold rule in the Rules tab (a regex the server refuses is explained
// inline), the member's matching post waits for review, the moderator approves it from the
// live queue and it reaches the room; a member's report arrives live with its category and
// is dismissed. Approval and the rule change are in the audit log.
func TestBrowserReviewQueue(t *testing.T) {
	_, mod, mem, _, memName := moderationPair(t)

	mod.do("rules tab", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#mod-tab-rules`)),
		chromedp.WaitVisible(chromedp.CSS(`#mod-rule-form #mod-rule-pattern`)),
		chromedp.SetValue(chromedp.CSS(`#mod-rule-kind`), "regex"),
		chromedp.SendKeys(chromedp.CSS(`#mod-rule-pattern`), `(a`),
		chromedp.SendKeys(chromedp.CSS(`#mod-rule-reason`), "Treatment claims need a moderator's look"),
		chromedp.Click(chromedp.CSS(`#mod-rule-form button[type="submit"]`)))
	mod.waitJS("regex refused inline", `(() => { const e = document.querySelector("#mod-rule-form .form-error");
		return !e.hidden && e.textContent.length > 0 && document.querySelectorAll("#mod-pane-rules .rule").length === 0; })()`, 10*time.Second)
	mod.do("hold rule", 10*time.Second,
		chromedp.SetValue(chromedp.CSS(`#mod-rule-kind`), "word"),
		chromedp.SetValue(chromedp.CSS(`#mod-rule-pattern`), "miracle cure"),
		chromedp.SetValue(chromedp.CSS(`#mod-rule-action`), "hold"),
		chromedp.Click(chromedp.CSS(`#mod-rule-form button[type="submit"]`)))
	mod.waitJS("rule listed", `[...document.querySelectorAll("#mod-pane-rules .rule")].some((r) => r.textContent.includes("miracle cure"))`, 10*time.Second)

	held := "I read about a miracle cure today"
	mem.do("send a held post", 10*time.Second,
		chromedp.SendKeys(chromedp.CSS(`#composer textarea`), held),
		chromedp.Click(chromedp.CSS(`#send`)))
	mem.waitJS("waiting for review", `(() => { const m = document.querySelector("#room-view .message.held");
		return m && m.querySelector(".status").textContent === "Waiting for a moderator's review"; })()`, 10*time.Second)
	mem.screenshot("held")

	mod.do("queue tab", 10*time.Second, chromedp.Click(chromedp.CSS(`#mod-tab-queue`)))
	mod.waitJS("held item live", `[...document.querySelectorAll('#mod-pane-queue .review-item[data-kind="held"]')].some((e) => e.textContent.includes("miracle cure"))`, 10*time.Second)
	mod.screenshot("queue")
	mod.do("approve", 10*time.Second, chromedp.Click(chromedp.CSS(`#mod-pane-queue .review-item[data-kind="held"] .btn-primary`)))
	mod.waitJS("queue emptied", `!document.querySelector('#mod-pane-queue .review-item[data-kind="held"]')`, 10*time.Second)
	mod.waitMessage(held)
	mem.waitMessage(held)
	mem.waitJS("waiting copy gone", `!document.querySelector("#room-view .message.held")`, 10*time.Second)

	// The moderator posts; the member reports it; it arrives live in the queue.
	note := "Remember to check with your care team before changing doses"
	mod.send(note)
	mem.waitMessage(note)
	mem.do("report", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#room-view .message[data-seq]:last-child .report`)),
		chromedp.WaitVisible(chromedp.CSS(`#report-dialog input[value="misinformation"]`)),
		chromedp.Click(chromedp.CSS(`#report-dialog input[value="misinformation"]`)),
		chromedp.SendKeys(chromedp.CSS(`#report-details`), "Not sure this is right"),
		chromedp.Click(chromedp.CSS(`#submit-report`)))
	mem.waitJS("report thanked", `document.querySelector("#notices").textContent.includes("A moderator will review this message")`, 10*time.Second)
	mod.waitJS("report live", `[...document.querySelectorAll('#mod-pane-queue .review-item[data-kind="report"]')].some((e) =>
		e.textContent.includes("Medical misinformation") && e.textContent.includes("Not sure this is right"))`, 10*time.Second)
	mod.do("dismiss", 10*time.Second, chromedp.Click(chromedp.Search(`//li[@data-kind="report"]//button[text()="Dismiss"]`)))
	mod.waitJS("report gone", `!document.querySelector('#mod-pane-queue .review-item[data-kind="report"]')`, 10*time.Second)

	mod.do("log", 10*time.Second, chromedp.Click(chromedp.CSS(`#mod-tab-log`)))
	mod.waitJS("audit", fmt.Sprintf(`(() => { const t = [...document.querySelectorAll(".mod-audit-entry")].map((e) => e.dataset.action + ": " + e.textContent);
		return t.some((x) => x.startsWith("rule_add")) && t.some((x) => x.startsWith("approve") && x.includes(%q)) && t.some((x) => x.startsWith("report_resolve")); })()`, memName), 10*time.Second)

	mod.checkConsole()
	mem.checkConsole()
}
