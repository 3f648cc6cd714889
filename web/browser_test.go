package web_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/web"
)

// serve starts h on 127.0.0.1 (not a wildcard address) for the browser.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestBrowserSignupForm loads the client in headless Chromium with no API behind it: the
// client must fall back to the sign-up form, run under the strict CSP without errors, and
// show the pseudonym advice. HAVEN_SCREENSHOT=path saves a screenshot for design review.
func TestBrowserSignupForm(t *testing.T) {
	url := serve(t, web.Handler())
	ctx, cancel := testenv.BrowserContext(t)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 30*time.Second)
	defer cancelT()

	if err := chromedp.Do(ctx,
		chromedp.Navigate(url+"/?invite=abc123"),
		chromedp.WaitVisible(chromedp.CSS(`#signup-form input[name="display_name"]`)),
	); err != nil {
		t.Fatalf("sign-up form not visible: %v", err)
	}
	help, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#signup-display-name-help`)))
	if err != nil || help == "" {
		t.Fatalf("display-name help: %q, %v", help, err)
	}
	invite, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.querySelector("#invite-note").hidden`))
	if err != nil || !invite {
		t.Errorf("invite note not shown for ?invite=: %v, %v", invite, err)
	}
	if path := os.Getenv("HAVEN_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The toggle shows the login form.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#show-login`)),
		chromedp.WaitVisible(chromedp.CSS(`#login-form input[name="password"]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#signup-form`)),
	); err != nil {
		t.Fatalf("login toggle: %v", err)
	}
}
