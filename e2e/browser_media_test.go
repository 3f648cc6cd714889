package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/hub"
	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/internal/wsclient"
	"github.com/havenhealth/haven/media"
	"github.com/havenhealth/haven/server"
	"github.com/havenhealth/haven/store/sqlite"
)

// The web client in headless Chromium with fake camera and microphone, against one node
// whose media listens on 127.0.0.1: a webinar (host publishes, attendee decodes, a
// moderator mutes the host's video, hand raising and promotion) and a support session of
// three. Every step is a click in the bundled client; the pages' own RTCPeerConnections
// are read with getStats to see what is decoded.

const mediaBrowserBudget = 170 * time.Second

// pcRecorder runs before the page's scripts: it keeps every RTCPeerConnection the client
// makes, so the test can read their stats.
const pcRecorder = `(() => { const O = window.RTCPeerConnection; if (!O) return; window.__havenPCs = [];
	window.RTCPeerConnection = class extends O { constructor(...a) { super(...a); window.__havenPCs.push(this); } }; })();`

// inboundJS sums the inbound RTP of the page's open peer connections, by kind.
const inboundJS = `(async () => { const out = {video_frames: 0, video_streams: 0, decoding: 0, audio_packets: 0};
	for (const pc of window.__havenPCs || []) {
		if (pc.connectionState === "closed") continue;
		(await pc.getStats()).forEach((r) => {
			if (r.type !== "inbound-rtp") return;
			if (r.kind === "video") { out.video_frames += r.framesDecoded || 0; out.video_streams++; if ((r.framesDecoded || 0) > 0) out.decoding++; }
			if (r.kind === "audio") out.audio_packets += r.packetsReceived || 0;
		});
	}
	return out; })()`

type inbound struct {
	VideoFrames  int `json:"video_frames"`
	VideoStreams int `json:"video_streams"`
	Decoding     int `json:"decoding"` // video streams with frames decoded
	AudioPackets int `json:"audio_packets"`
}

func (b *browserMember) inbound() inbound {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](inboundJS, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: stats: %v", b.name, err)
	}
	var in inbound
	if err := json.Unmarshal(raw, &in); err != nil {
		b.t.Fatalf("%s: stats %s: %v", b.name, raw, err)
	}
	return in
}

// waitInbound polls the page's stats until ok holds.
func (b *browserMember) waitInbound(step string, d time.Duration, ok func(inbound) bool) inbound {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for {
		in := b.inbound()
		if ok(in) {
			return in
		}
		if time.Now().After(deadline) {
			path := b.screenshot("fail-" + step)
			b.t.Fatalf("%s: %s: not within %v (last %+v, screenshot %s)", b.name, step, d, in, path)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// newMediaBrowser is a member in their own Chromium with fake devices (one process per
// page, own profile, killed as a process group on cleanup).
func newMediaBrowser(t *testing.T, name string) *browserMember {
	t.Helper()
	ctx, cancel := testenv.BrowserContextWith(t, testenv.BrowserOptions{FakeMedia: true})
	t.Cleanup(cancel)
	ctx, cancelAll := context.WithTimeout(ctx, mediaBrowserBudget)
	t.Cleanup(cancelAll)
	b := &browserMember{t: t, name: name, ctx: ctx}
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
	t.Cleanup(func() { // runs before the browser is closed
		if t.Failed() {
			b.screenshot("at-failure")
			ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
			state, err := chromedp.Run(ctx, chromedp.Evaluate[string](pageStateJS))
			cancel()
			t.Logf("%s page at failure: %s %v", b.name, state, err)
			b.mu.Lock()
			for _, m := range b.console {
				t.Logf("%s console: %s", b.name, m)
			}
			b.mu.Unlock()
		}
	})
	b.do("record peer connections", 10*time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: pcRecorder})
		return err
	}))
	return b
}

// startBrowserMediaNode starts one node (SQLite, memory broker) whose media listens on
// 127.0.0.1 only, with the seeded admin; configure, if any, adjusts the server's settings.
func startBrowserMediaNode(t *testing.T, mc media.Config, configure ...func(*server.Config)) *cluster {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "haven.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	br := broker.NewMemory()
	cfg := testConfig("node-1", hub.Config{})
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	mc.ListenIP = "127.0.0.1"
	cfg.Media = mc
	for _, f := range configure {
		f(&cfg)
	}
	srv := server.New(cfg, st, br, broker.NewMemoryPresence())
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	if _, err := srv.Accounts().EnsureAdmin(context.Background(), "admin@example.org", "admin-password-1"); err != nil {
		t.Fatalf("admin: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		srv.Drain(ctx)
		hs.Close()
		br.Close()
		st.Close()
	})
	return &cluster{t: t, Nodes: []*node{{ID: "node-1", URL: hs.URL, Srv: srv, HTTP: hs, St: st, Br: br}}}
}

func (c *cluster) mediaRoom(t *testing.T, kind string) string {
	t.Helper()
	slug := fmt.Sprintf("%s-%d", kind, c.seq.Add(1))
	body := fmt.Appendf(nil, `{"slug":%q,"name":"Live %s","condition":"Testing","kind":%q,"guidelines":"Be kind. No medical advice."}`, slug, kind, kind)
	if status, err := wsclient.PostJSON(ctxT(t, 10*time.Second), c.Nodes[0].URL+"/api/rooms", c.adminToken(), body, nil); err != nil || status != http.StatusCreated {
		t.Fatalf("create %s room: %d %v", kind, status, err)
	}
	return slug
}

func (c *cluster) setRoomRole(t *testing.T, slug, userID, role string) {
	t.Helper()
	status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "PUT", c.Nodes[0].URL+"/api/rooms/"+slug+"/roles/"+userID,
		c.adminToken(), fmt.Appendf(nil, `{"role":%q}`, role), nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("make %s a room %s: %d %v", userID, role, status, err)
	}
}

// joinAs signs up through the form, returns the user id, and opens room slug (accepting its
// guidelines).
func (b *browserMember) joinAs(c *cluster, slug, name string, role string) string {
	b.t.Helper()
	url := c.Nodes[0].URL
	b.do("sign up", 20*time.Second,
		chromedp.Navigate(url+"/signup"),
		chromedp.WaitVisible(chromedp.CSS(`#signup-email`)),
		chromedp.SendKeys(chromedp.CSS(`#signup-email`), fmt.Sprintf("%s-%d@example.org", b.name, time.Now().UnixNano())),
		chromedp.SendKeys(chromedp.CSS(`#signup-password`), "correct horse battery"),
		chromedp.SendKeys(chromedp.CSS(`#signup-display-name`), name),
		chromedp.Click(chromedp.CSS(`#signup-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#room-list a[data-slug="`+slug+`"]`)))
	id := browserUserID(b)
	if role != "" {
		c.setRoomRole(b.t, slug, id, role)
	}
	b.do("open room", 15*time.Second,
		chromedp.Click(chromedp.CSS(`#room-list a[data-slug="`+slug+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#accept-guidelines`)),
		chromedp.Click(chromedp.CSS(`#accept-guidelines`)),
		chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)),
		chromedp.WaitVisible(chromedp.CSS(`#sessions-title`)))
	b.waitJoined()
	return id
}

// schedule fills in the session form and waits for the session in the list.
func (b *browserMember) schedule(title, sponsor string) {
	b.t.Helper()
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Click(chromedp.CSS(`#session-schedule-toggle`)),
		chromedp.WaitVisible(chromedp.CSS(`#session-form`)),
		chromedp.SendKeys(chromedp.CSS(`#session-title`), title),
	}
	if sponsor != "" {
		steps = append(steps, chromedp.SendKeys(chromedp.CSS(`#session-sponsor`), sponsor))
	}
	steps = append(steps, chromedp.Click(chromedp.CSS(`#session-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`.session[data-state="scheduled"] .session-start`)))
	b.do("schedule "+title, 15*time.Second, steps...)
}

// pageStateJS summarises a page for a failure report.
const pageStateJS = `JSON.stringify({
	conn: document.querySelector("#conn-state")?.textContent, online: document.querySelector("#presence-count")?.textContent,
	role: document.querySelector(".live")?.dataset.role, note: document.querySelector(".media-note")?.textContent,
	banners: [...document.querySelectorAll("#media-status .media-banner")].map((e) => e.textContent),
	people: [...document.querySelectorAll(".person")].map((e) => e.textContent),
	notices: [...document.querySelectorAll("#notices .notice-text")].map((e) => e.textContent) })`

// click waits until sel is visible and has stopped moving (the live view grows as device
// lists and state arrive), then clicks it.
func (b *browserMember) click(step, sel string) {
	b.t.Helper()
	b.waitJS(step+": settled", fmt.Sprintf(`(() => { const e = document.querySelector(%s);
		if (!e || e.offsetParent === null || e.disabled) return false;
		e.scrollIntoView({block: "center"});
		const r = JSON.stringify(e.getBoundingClientRect()), ok = window.__lastRect === r;
		window.__lastRect = r; return ok; })()`, browserJSString(sel)), 15*time.Second)
	b.do(step, 15*time.Second, chromedp.Click(chromedp.CSS(sel)))
}

// waitBanner waits for a media status line containing text.
func (b *browserMember) waitBanner(text string) {
	b.t.Helper()
	b.waitJS("banner "+text, fmt.Sprintf(`[...document.querySelectorAll("#media-status .media-banner")].some((e) => e.textContent.includes(%s))`, browserJSString(text)), 15*time.Second)
}

// TestBrowserWebinarMedia: a room host schedules a sponsored webinar, starts it and turns
// on camera and microphone; an attendee joins and decodes the video and receives the
// audio; a room moderator joins and stops the host's video from the people list, and the
// attendee's decoding stalls. Then the attendee raises a hand, the host lets them speak
// from the hand queue, and the attendee, now a speaker, publishes to the host.
func TestBrowserWebinarMedia(t *testing.T) {
	testenv.Chromium(t) // skip (or fail under CI=true) before starting anything
	start := time.Now()
	c := startBrowserMediaNode(t, media.Config{})
	slug := c.mediaRoom(t, "webinar")
	sfx := time.Now().UnixNano() % 1_000_000

	host := newMediaBrowser(t, "host")
	att := newMediaBrowser(t, "attendee")
	mod := newMediaBrowser(t, "moderator")
	hostID := host.joinAs(c, slug, fmt.Sprintf("Willow%d", sfx), "host")
	host.schedule("Living well with type 1", "Acme Pumps")
	host.waitJS("sponsor shown", `document.querySelector(".session .session-sponsor").textContent === "Sponsored by Acme Pumps"`, 5*time.Second)

	host.click("start", `.session[data-state="scheduled"] .session-start`)
	host.waitJS("hosting", `document.querySelector(".live")?.dataset.role === "host"`, 15*time.Second)
	host.click("camera and microphone on", `#media-publish`)
	host.waitJS("own preview", `(() => { const t = document.querySelector(".tile.local"); return t && !t.classList.contains("no-video"); })()`, 15*time.Second)
	host.screenshot("studio")

	direct := `haven_media_connections_total{path="direct"}`
	directBefore := metricValue(t, c.Nodes[0].URL, direct)
	attID := att.joinAs(c, slug, fmt.Sprintf("Fern%d", sfx), "")
	att.waitJS("sponsor shown to members", `[...document.querySelectorAll(".session-sponsor")].some((e) => e.textContent === "Sponsored by Acme Pumps")`, 10*time.Second)
	att.click("join", `.session[data-state="live"] .session-join`)
	att.waitJS("watching", `document.querySelector(".live")?.dataset.role === "attendee"`, 15*time.Second)
	att.waitInbound("decodes the host's video", 30*time.Second, func(in inbound) bool { return in.VideoFrames > 0 })
	att.waitInbound("receives the host's audio", 15*time.Second, func(in inbound) bool { return in.AudioPackets > 0 })
	att.waitJS("host tile", fmt.Sprintf(`(() => { const t = document.querySelector('.tile[data-kind="video"][data-user=%q]'); return t && !t.classList.contains("no-video"); })()`, hostID), 10*time.Second)
	att.screenshot("watching")
	// Chromium answered the server's offer as DTLS client: its media came by the direct
	// SRTP path (media/srtpout.go), with the keys the server derived.
	if n := metricValue(t, c.Nodes[0].URL, direct); n <= directBefore {
		t.Fatalf("%s: %v before the attendee joined, %v after", direct, directBefore, n)
	}

	// A room moderator (a host in the session) stops the host's video.
	mod.joinAs(c, slug, fmt.Sprintf("Beacon%d", sfx), "moderator")
	mod.click("join", `.session[data-state="live"] .session-join`)
	mod.waitJS("moderating", `document.querySelector(".live")?.dataset.role === "host"`, 15*time.Second)
	mod.click("stop the host's video", fmt.Sprintf(`.person[data-user=%q] .act-mute-video`, hostID))
	host.waitBanner("You are muted by a moderator")
	waitStall(t, att, 1500*time.Millisecond, 15*time.Second)
	att.waitJS("paused note", `[...document.querySelectorAll(".tile .tile-note")].some((e) => e.textContent === "Paused by a moderator")`, 10*time.Second)
	mod.screenshot("people")

	// Hand raising and promotion.
	att.click("raise hand", `#media-hand`)
	att.waitBanner("Your hand is raised")
	host.click("let them speak", fmt.Sprintf(`.hand[data-user=%q] .hand-promote`, attID))
	att.waitBanner("You are now a speaker")
	att.waitJS("hand lowered", `document.querySelector(".hand-bar").hidden && !document.querySelector("#media-status [data-banner=hand]")`, 10*time.Second)
	att.click("speaker publishes", `#media-publish`)
	host.waitInbound("decodes the new speaker", 30*time.Second, func(in inbound) bool { return in.VideoFrames > 0 && in.AudioPackets > 0 })
	// Their camera arrives as simulcast layers: the server offered to them first (as an
	// attendee), and its offer carried the mid and rid extensions Chrome's simulcast needs.
	waitLayers(t, c, slug, attID, 2)
	att.screenshot("speaker")
	host.screenshot("speaker")

	// Q&A: the attendee asks, the host marks it answered.
	const question = "How do you handle lows at night?"
	att.do("ask", 10*time.Second, chromedp.SendKeys(chromedp.CSS(`#qa-text`), question), chromedp.Click(chromedp.CSS(`#qa-ask`)))
	host.waitJS("question arrives", fmt.Sprintf(`[...document.querySelectorAll('.qa-item[data-status="open"] .qa-text')].some((e) => e.textContent === %s)`, browserJSString(question)), 10*time.Second)
	host.click("mark answered", `.qa-item[data-status="open"] .qa-answer`)
	att.waitJS("answered", `!!document.querySelector('.qa-item[data-status="answered"]')`, 10*time.Second)

	// A poll: the host opens it, the attendee votes and sees the result, the host closes it.
	host.click("polls tab", `#engage-tab-polls`)
	host.do("open poll", 10*time.Second,
		chromedp.SendKeys(chromedp.CSS(`#poll-question`), "Which topic next week?"),
		chromedp.SendKeys(chromedp.CSS(`.poll-options input:nth-child(1)`), "Exercise"),
		chromedp.SendKeys(chromedp.CSS(`.poll-options input:nth-child(2)`), "Travel"),
		chromedp.Click(chromedp.CSS(`#poll-open`)))
	att.click("polls tab", `#engage-tab-polls`)
	att.click("vote", `.poll[data-state="open"] .poll-vote[data-option="1"]`)
	att.waitJS("own vote counted", `document.querySelector('.poll-count[data-option="1"]')?.textContent === "1 (100%)"`, 10*time.Second)
	host.waitJS("live result", `document.querySelector('.poll-count[data-option="1"]')?.textContent === "1 (100%)"`, 10*time.Second)
	host.click("close poll", `.poll[data-state="open"] .poll-close`)
	att.waitJS("closed", `!!document.querySelector('.poll[data-state="closed"]')`, 10*time.Second)
	att.screenshot("poll")

	for _, b := range []*browserMember{host, att, mod} {
		b.checkConsole()
	}
	t.Logf("webinar browser test took %v", time.Since(start).Round(time.Millisecond))
}

// waitLayers waits until the server receives user's camera as at least n simulcast layers
// (state.tracks[].layers, read with media.start, which answers a running session's state).
func waitLayers(t *testing.T, c *cluster, slug, user string, n int) {
	t.Helper()
	adm := c.dial(0, wsclient.Account{Token: c.adminToken()})
	join(t, adm, slug, nil)
	deadline := time.Now().Add(20 * time.Second)
	var last any
	for time.Now().Before(deadline) {
		r, err := adm.Do(ctxT(t, 10*time.Second), "media.start", map[string]any{"room": slug})
		if err != nil || r.Type() != "ok" {
			t.Fatalf("media.start for the state: %v %v", r, err)
		}
		st, _ := r["state"].(map[string]any)
		tracks, _ := st["tracks"].([]any)
		last = tracks
		for _, x := range tracks {
			tr, _ := x.(map[string]any)
			if tr["user"] == user && tr["kind"] == "video" {
				if ls, _ := tr["layers"].([]any); len(ls) >= n {
					return
				}
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("the server does not receive %s's camera as %d simulcast layers: tracks %v", user, n, last)
}

// waitStall waits until the page's decoded video frames stop increasing for stall.
func waitStall(t *testing.T, b *browserMember, stall, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	last, since := b.inbound().VideoFrames, time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		n := b.inbound().VideoFrames
		if n != last {
			last, since = n, time.Now()
			continue
		}
		if time.Since(since) >= stall {
			return
		}
	}
	t.Fatalf("%s: video still decoding %v after the mute (frames %d)", b.name, within, last)
}

// TestBrowserSupportSession: three members in a support room with room for three. The room
// host schedules and starts the session; everyone joins with camera and microphone and
// every page decodes the other two. A fourth participant takes the last seat first, so the
// third member sees the session is full, then gets in once it is free.
func TestBrowserSupportSession(t *testing.T) {
	testenv.Chromium(t)
	start := time.Now()
	c := startBrowserMediaNode(t, media.Config{SupportCapacity: 3})
	slug := c.mediaRoom(t, "support")
	sfx := time.Now().UnixNano() % 1_000_000

	pion := `haven_media_connections_total{path="pion"}`
	pionBefore := metricValue(t, c.Nodes[0].URL, pion)
	pages := []*browserMember{newMediaBrowser(t, "p1"), newMediaBrowser(t, "p2"), newMediaBrowser(t, "p3")}
	pages[0].joinAs(c, slug, fmt.Sprintf("Harbor%d", sfx), "host")
	pages[0].schedule("Tuesday evening circle", "")
	pages[0].click("start", `.session[data-state="scheduled"] .session-start`)
	pages[0].waitJS("in the grid", `document.querySelector(".live")?.dataset.role === "host"`, 15*time.Second)
	pages[0].waitJS("publishing", `(() => { const t = document.querySelector(".tiles.grid .tile.local"); return t && !t.classList.contains("no-video"); })()`, 15*time.Second)

	pages[1].joinAs(c, slug, fmt.Sprintf("Meadow%d", sfx), "")
	pages[1].click("join", `.session[data-state="live"] .session-join`)
	pages[1].waitJS("speaking", `document.querySelector(".live")?.dataset.role === "speaker"`, 15*time.Second)

	// Someone else takes the third seat.
	seat, _ := c.joined(0, slug)
	if r, err := seat.Do(ctxT(t, 10*time.Second), "media.join", map[string]any{"room": slug}); err != nil || r.Type() != "ok" {
		t.Fatalf("fourth participant's media.join: %v %v", r, err)
	}
	pages[2].joinAs(c, slug, fmt.Sprintf("Pebble%d", sfx), "")
	pages[2].click("join while full", `.session[data-state="live"] .session-join`)
	pages[2].waitJS("full", `(() => { const n = document.querySelector(".media-note"); return n && !n.hidden && n.textContent.includes("This support session is full"); })()`, 15*time.Second)
	pages[2].screenshot("full")
	if r, err := seat.Do(ctxT(t, 10*time.Second), "media.leave", map[string]any{"room": slug}); err != nil || r.Type() != "ok" {
		t.Fatalf("fourth participant's media.leave: %v %v", r, err)
	}
	pages[2].click("join", `.session[data-state="live"] .session-join`)
	pages[2].waitJS("speaking", `document.querySelector(".live")?.dataset.role === "speaker"`, 15*time.Second)

	for _, p := range pages {
		p.waitInbound("decodes both others", 40*time.Second, func(in inbound) bool { return in.Decoding >= 2 && in.AudioPackets > 0 })
		p.waitJS("three tiles with video", `document.querySelectorAll(".tiles.grid .tile:not(.no-video)").length === 3`, 15*time.Second)
	}
	pages[0].screenshot("grid")
	for _, p := range pages {
		p.checkConsole()
	}
	// Every page offered first to publish, and the server answered as DTLS server, so every
	// connection's media came by the direct SRTP path.
	if n := metricValue(t, c.Nodes[0].URL, pion); n != pionBefore {
		t.Fatalf("%s: %v before, %v after: a connection fell back to Pion's path", pion, pionBefore, n)
	}
	t.Logf("support browser test took %v", time.Since(start).Round(time.Millisecond))
}
