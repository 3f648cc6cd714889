package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/havenhealth/haven/internal/testenv"
)

// browserMember is one member in their own headless Chromium (own process, own profile,
// own cookies).
type browserMember struct {
	t    *testing.T
	name string // display name, also used in screenshot file names
	ctx  context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

func newBrowserMember(t *testing.T, name string) *browserMember {
	t.Helper()
	ctx, cancel := testenv.BrowserContext(t)
	t.Cleanup(cancel)
	// The whole test stays bounded whatever the per-step timeouts add up to.
	ctx, cancelAll := context.WithTimeout(ctx, browserTestBudget)
	t.Cleanup(cancelAll)
	b := &browserMember{t: t, name: name, ctx: ctx}
	// Record the page's console: uncaught exceptions and CSP violations fail the test.
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// do runs actions with a per-step timeout; on failure it saves a screenshot and fails.
func (b *browserMember) do(step string, d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		path := b.screenshot("fail-" + strings.ReplaceAll(step, " ", "-"))
		b.t.Fatalf("%s: %s: %v (screenshot %s)", b.name, step, err, path)
	}
}

// browserEval evaluates a JavaScript expression with a short timeout.
func browserEval[T any](b *browserMember, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("%s: evaluate %s: %v", b.name, expr, err)
	}
	return v
}

// waitJS waits until expr is truthy in the page.
func (b *browserMember) waitJS(step, expr string, d time.Duration) {
	b.t.Helper()
	b.do(step, d+time.Second,
		chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(d)))
}

// screenshot saves the current viewport to /tmp/haven-e2e-<name>-<label>.png.
func (b *browserMember) screenshot(label string) string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("%s: screenshot %s: %v", b.name, label, err)
		return ""
	}
	path := fmt.Sprintf("%s/haven-e2e-%s-%s.png", os.TempDir(), b.name, label)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("write %s: %v", path, err)
		return ""
	}
	return path
}

// checkConsole fails on uncaught exceptions and Content Security Policy violations.
func (b *browserMember) checkConsole() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		b.t.Logf("%s console: %s", b.name, m)
		if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
			b.t.Errorf("%s: browser console: %s", b.name, m)
		}
	}
}

func (b *browserMember) signup(baseURL, email, displayName string) {
	b.t.Helper()
	b.do("sign up", 15*time.Second,
		chromedp.Navigate(baseURL+"/signup"),
		chromedp.WaitVisible(chromedp.CSS(`#signup-form input[name="email"]`)),
		chromedp.SendKeys(chromedp.CSS(`#signup-email`), email),
		chromedp.SendKeys(chromedp.CSS(`#signup-password`), "correct horse battery"),
		chromedp.SendKeys(chromedp.CSS(`#signup-display-name`), displayName),
		chromedp.Click(chromedp.CSS(`#signup-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#me`)),
		chromedp.WaitVisible(chromedp.CSS(`#room-list a[data-slug="`+browserRoom+`"]`)),
	)
	if got := browserEval[string](b, `document.querySelector("#me strong").textContent`); got != displayName {
		b.t.Fatalf("%s: signed in as %q, want %q", b.name, got, displayName)
	}
}

// openRoom opens the room from the room list and accepts its guidelines in the dialog.
func (b *browserMember) openRoom() {
	b.t.Helper()
	b.do("open room", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#room-list a[data-slug="`+browserRoom+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#guidelines-dialog #accept-guidelines`)),
	)
	if g := browserEval[string](b, `document.querySelector("#guidelines-text").textContent.trim()`); g == "" {
		b.t.Fatalf("%s: the guidelines dialog shows no guidelines", b.name)
	}
	b.screenshot("guidelines")
	b.do("accept guidelines", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#accept-guidelines`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#guidelines-dialog`)),
		chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)),
	)
	b.waitJoined()
}

// waitJoined waits until the room view has joined (history status no longer "Joining…").
func (b *browserMember) waitJoined() {
	b.t.Helper()
	b.waitJS("join", `(() => { const s = document.querySelector("#room-view .history-status");
		return s && !s.textContent.includes("Joining") && /\d+ online/.test(document.querySelector("#presence-count").textContent); })()`, 10*time.Second)
}

func (b *browserMember) send(text string) {
	b.t.Helper()
	b.do("send", 10*time.Second,
		chromedp.SendKeys(chromedp.CSS(`#composer textarea`), text),
		chromedp.Click(chromedp.CSS(`#send`)),
	)
	// Confirmed by the server: a stored message (with a seq) carries the text.
	b.waitMessage(text)
}

// waitMessage waits until a stored message (one with a seq) shows exactly text.
func (b *browserMember) waitMessage(text string) {
	b.t.Helper()
	b.waitJS("see message "+text, fmt.Sprintf(`[...document.querySelectorAll("#room-view .messages .message[data-seq] .text")].some((e) => e.textContent === %s)`, browserJSString(text)), 10*time.Second)
}

// storedTexts returns the texts of the stored messages, in list order.
func (b *browserMember) storedTexts() []string {
	return browserEval[[]string](b, `[...document.querySelectorAll("#room-view .messages .message[data-seq] .text")].map((e) => e.textContent)`)
}

func browserJSString(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r < 0x20 || r == '<' || r == '>':
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			sb.WriteRune(r)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

const (
	browserRoom       = "type-1-diabetes"
	browserTestBudget = 55 * time.Second
)

// TestBrowserTwoMembers drives the bundled web client against a real node in two separate
// headless Chromium processes: both members sign up through the form, open the same seeded
// room, accept its guidelines, chat live, see markup shown as text, see each other in the
// presence count, and find the history after a reload. Screenshots (desktop and a
// 390x844 phone) go to /tmp/haven-e2e-*.png.
func TestBrowserTwoMembers(t *testing.T) {
	start := time.Now()
	c := startCluster(t, sqliteSetup())
	url := c.Nodes[0].URL

	a := newBrowserMember(t, "a")
	b := newBrowserMember(t, "b")
	suffix := time.Now().UnixNano() % 1_000_000
	nameA, nameB := fmt.Sprintf("Sunflower%d", suffix), fmt.Sprintf("Heron%d", suffix)

	a.signup(url, fmt.Sprintf("a%d@example.org", suffix), nameA)
	b.signup(url, fmt.Sprintf("b%d@example.org", suffix), nameB)
	a.screenshot("home")

	a.openRoom()
	b.openRoom()

	// Presence: each sees two people online (A learns about B from a presence event).
	for _, m := range []*browserMember{a, b} {
		m.waitJS("presence 2", `document.querySelector("#presence-count").textContent === "2 online"`, 10*time.Second)
	}

	// Live messages both ways.
	hello := "Hello from " + nameA
	a.send(hello)
	b.waitMessage(hello)
	reply := "Hi " + nameA + ", good to meet you"
	b.send(reply)
	a.waitMessage(reply)

	// Markup is shown as text, never interpreted.
	for _, m := range []*browserMember{a, b} {
		browserEval[bool](m, `(window.alert = () => { window.__alerted = true; }, true)`)
	}
	const evil = `<script>alert(1)</script><b>x</b>`
	a.send(evil)
	b.waitMessage(evil)
	for _, m := range []*browserMember{a, b} {
		last := browserEval[string](m, `[...document.querySelectorAll("#room-view .messages .message[data-seq] .text")].pop().textContent`)
		if last != evil {
			t.Errorf("%s: last message text %q, want %q", m.name, last, evil)
		}
		if n := browserEval[int](m, `document.querySelectorAll("#room-view .messages b, #room-view .messages script").length`); n != 0 {
			t.Errorf("%s: %d <b>/<script> elements inside the message list", m.name, n)
		}
		if browserEval[bool](m, `window.__alerted === true`) {
			t.Errorf("%s: alert() ran", m.name)
		}
	}
	a.screenshot("room")
	b.screenshot("room")

	// B reloads: still signed in (cookie), guidelines already accepted, history is there.
	want := []string{hello, reply, evil}
	b.do("reload", 15*time.Second,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)),
	)
	b.waitJoined()
	b.waitMessage(evil)
	if got := b.storedTexts(); strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("b after reload: messages %q, want %q", got, want)
	}
	if open := browserEval[bool](b, `document.querySelector("#guidelines-dialog").open`); open {
		t.Errorf("b after reload: the guidelines dialog opened again")
	}
	a.waitJS("presence 2 after reload", `document.querySelector("#presence-count").textContent === "2 online"`, 10*time.Second)
	b.waitJS("presence 2 after reload", `document.querySelector("#presence-count").textContent === "2 online"`, 10*time.Second)

	// Live again after the reload.
	after := "Still here after the reload"
	b.send(after)
	a.waitMessage(after)

	// A phone-sized viewport: the room must fit without horizontal scrolling, with the
	// composer on screen.
	b.do("phone viewport", 10*time.Second,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulatePortrait, chromedp.EmulateScale(2)),
		chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)),
	)
	b.waitJS("phone layout settles", `document.documentElement.clientWidth === 390`, 5*time.Second)
	checkPhoneLayout(t, b)
	b.screenshot("phone-room")
	b.do("phone guidelines", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#room-view .room-guidelines`)),
		chromedp.WaitVisible(chromedp.CSS(`#guidelines-dialog #guidelines-text`)),
	)
	checkPhoneLayout(t, b)
	b.screenshot("phone-guidelines")
	b.do("phone guidelines close", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#accept-guidelines`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#guidelines-dialog`)),
	)
	b.do("phone back to rooms", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#room-view .room-back`)),
		chromedp.WaitVisible(chromedp.CSS(`#room-list a[data-slug="`+browserRoom+`"]`)),
	)
	checkPhoneLayout(t, b)
	b.screenshot("phone-home")

	// The node drains: both clients are told to reconnect elsewhere and say so.
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		c.Nodes[0].Srv.Drain(ctx)
	}()
	for _, m := range []*browserMember{a, b} {
		m.waitJS("reconnect banner", `(() => { const s = document.querySelector("#conn-state");
			return !s.hidden && s.textContent.startsWith("Reconnecting"); })()`, 10*time.Second)
	}
	a.screenshot("reconnecting")
	b.screenshot("phone-reconnecting")
	<-drained

	a.checkConsole()
	b.checkConsole()
	t.Logf("browser test took %v", time.Since(start).Round(time.Millisecond))
}

// checkPhoneLayout fails when the page scrolls sideways or a visible control sticks out of
// the viewport.
func checkPhoneLayout(t *testing.T, b *browserMember) {
	t.Helper()
	if w := browserEval[int](b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("phone: page is %d px wide, wider than the 390 px viewport", w)
	}
	out := browserEval[[]string](b, `[...document.querySelectorAll("button, a, input, textarea, h1, .presence")]
		.filter((e) => e.offsetParent !== null && !e.closest("dialog:not([open])") && !e.classList.contains("skip-link"))
		.filter((e) => { const r = e.getBoundingClientRect(); return r.width > 0 && (r.left < -1 || r.right > innerWidth + 1); })
		.map((e) => e.tagName + (e.id ? "#" + e.id : "") + "." + e.className + " " + JSON.stringify(e.getBoundingClientRect()))`)
	for _, o := range out {
		t.Errorf("phone: element outside the viewport: %s", o)
	}
}
