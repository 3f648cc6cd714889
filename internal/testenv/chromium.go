package testenv

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"testing"

	"github.com/chromedp/chromedp"
)

// Chromium returns the path of a Chromium binary (Debian's /usr/bin/chromium, else
// chromium or chromium-browser on PATH), or skips t (fails it under CI=true).
func Chromium(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Unavailable(t, "Chromium", "no /usr/bin/chromium, and neither chromium nor chromium-browser on PATH (apt-get install chromium)")
	return ""
}

// BrowserOptions are the extras a test may ask of its browser. The zero value is what
// BrowserContext gives.
type BrowserOptions struct {
	// FakeMedia gives the page a fake camera and microphone (a test pattern and a tone)
	// without a permission prompt, WebRTC over loopback with plain IP candidates (no mDNS
	// names), and sound that plays without a click. The browser also runs in a process
	// group of its own, killed whole on cleanup: media tests start several browsers, and
	// their renderer and GPU helpers must not outlive the test.
	FakeMedia bool
}

// BrowserContext starts a fresh headless Chromium with its own temporary profile and returns
// a chromedp context for a tab in it. The browser is killed and its profile removed in
// t.Cleanup; cancel ends it earlier. Callers add their own timeouts
// (context.WithTimeout(ctx, ...)) around actions.
func BrowserContext(t testing.TB) (context.Context, context.CancelFunc) {
	t.Helper()
	return BrowserContextWith(t, BrowserOptions{})
}

// BrowserContextWith is BrowserContext with options.
func BrowserContextWith(t testing.TB, o BrowserOptions) (context.Context, context.CancelFunc) {
	t.Helper()
	bin := Chromium(t)
	profile := t.TempDir()

	// Puppeteer-like defaults (headless, no first run, no background networking, ...), then
	// the flags Haven's tests rely on.
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // tests run as root in containers
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1280, 860),
	)
	var group *processGroup
	if o.FakeMedia {
		opts = append(opts,
			chromedp.Flag("use-fake-device-for-media-stream", true),
			chromedp.Flag("use-fake-ui-for-media-stream", true),
			chromedp.Flag("allow-loopback-in-peer-connection", true),
			chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
			// Host candidates as IP addresses: the test server resolves no mDNS names.
			chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,WebRtcHideLocalIpsWithMdns"),
		)
		group = &processGroup{}
		opts = append(opts, chromedp.ModifyCmdFunc(group.setup))
	}
	// chromedp may log from its own goroutines after the test ends, when t.Logf panics.
	var mu sync.Mutex
	done := false
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			t.Logf("chromedp: "+format, args...)
		}
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithErrorf(logf))

	// Start the browser now, so a broken install is reported here rather than at first use.
	// The first run must use the context without a deadline: it owns the browser's lifetime.
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		group.kill()
		Unavailable(t, "Chromium", "start "+bin+": "+err.Error())
	}

	var once sync.Once
	cancel := func() {
		once.Do(func() {
			cancelCtx()   // closes the tab and the browser gracefully when it can
			cancelAlloc() // kills the process if it is still running, and waits for it
			group.kill()  // and whatever it started (FakeMedia only)
			mu.Lock()
			done = true
			mu.Unlock()
		})
	}
	t.Cleanup(cancel)
	return ctx, cancel
}

// processGroup starts the browser as the leader of a new process group and kills the whole
// group at the end, helpers (renderer, GPU, network service) included.
type processGroup struct {
	mu  sync.Mutex
	cmd *exec.Cmd
}

func (g *processGroup) setup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = new(syscall.SysProcAttr)
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL // as chromedp's default: die with the test binary
	g.mu.Lock()
	g.cmd = cmd
	g.mu.Unlock()
}

// kill sends SIGKILL to the group; nil-safe, and harmless once the group is gone.
func (g *processGroup) kill() {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cmd == nil || g.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
}
