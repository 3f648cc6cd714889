package load

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// runID tells this run's accounts apart from earlier runs' (emails and display names are
// unique on the server).
func runID() string {
	const digits = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = digits[int(b[i])%len(digits)]
	}
	return string(b)
}

// apiError is a non-2xx API reply.
type apiError struct {
	Status int
	Code   string
	Msg    string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("status %d %s: %s", e.Status, e.Code, e.Msg)
}

// doJSON sends a JSON request and decodes a 2xx reply into out.
func doJSON(ctx context.Context, hc *http.Client, method, url, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode: %w", method, url, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
		return fmt.Errorf("%s %s: %w", method, url, &apiError{resp.StatusCode, e.Error.Code, e.Error.Message})
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("%s %s: decode reply: %w", method, url, err)
		}
	}
	return nil
}

func readTokens(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" && !strings.HasPrefix(t, "#") {
			out = append(out, t)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read tokens %s: %w", path, err)
	}
	return out, nil
}

func writeTokens(path string, tokens []string) error {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteString(t)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("save tokens: %w", err)
	}
	return nil
}

// tokens returns n bearer tokens: those in -tokens first, then fresh sign-ups, made in
// parallel (sign-up hashes a password with argon2id, which is slow by design).
func (r *runner) tokens(ctx context.Context, n int) ([]string, error) {
	var have []string
	if r.o.Tokens != "" {
		t, err := readTokens(r.o.Tokens)
		switch {
		case errors.Is(err, os.ErrNotExist) && r.o.Tokens == r.o.SaveTokens:
			// -tokens F -save-tokens F: the first run creates F.
		case err != nil:
			return nil, err
		}
		have = t
	}
	if len(have) >= n {
		return have[:n], nil
	}
	need := n - len(have)
	fresh := make([]string, need)
	var done atomic.Int64
	r.phase.Set(func() string { return fmt.Sprintf("signing up %d/%d members", done.Load(), need) })
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	work := make(chan int)
	for w := 0; w < r.o.SignupConc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				tok, err := r.signup(ctx, i)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
					continue
				}
				fresh[i] = tok
				done.Add(1)
			}
		}()
	}
feed:
	for i := 0; i < need; i++ {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return nil, fmt.Errorf("sign up %d members (%d done): %w", need, done.Load(), firstErr)
	}
	r.res.Setup.SignedUp = need
	r.res.Setup.SignupSeconds = time.Since(start).Seconds()
	all := append(have, fresh...)
	if r.o.SaveTokens != "" {
		if err := writeTokens(r.o.SaveTokens, all); err != nil {
			return nil, err
		}
	}
	return all, nil
}

func (r *runner) signup(ctx context.Context, i int) (string, error) {
	name := fmt.Sprintf("load %s %d", r.id, i)
	in := map[string]string{"email": fmt.Sprintf("m-%s-%d@load.example.org", r.id, i), "password": r.o.Password, "display_name": name}
	var out struct {
		Token string `json:"token"`
	}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err = doJSON(sctx, r.hc, http.MethodPost, r.o.URL+"/api/signup", "", in, &out)
		cancel()
		var ae *apiError
		if err == nil || !errors.As(err, &ae) || (ae.Status != http.StatusServiceUnavailable && ae.Status != http.StatusTooManyRequests) {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
	if err != nil {
		return "", fmt.Errorf("sign up %s: %w", name, err)
	}
	if out.Token == "" {
		return "", fmt.Errorf("sign up %s: reply carries no token", name)
	}
	return out.Token, nil
}

// adminToken is the admin's bearer token from -admin-token or a log-in; "" without either.
func (r *runner) adminToken(ctx context.Context) (string, error) {
	if r.o.AdminToken != "" {
		return r.o.AdminToken, nil
	}
	if r.o.AdminEmail == "" {
		return "", nil
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := doJSON(ctx, r.hc, http.MethodPost, r.o.URL+"/api/login", "",
		map[string]string{"email": r.o.AdminEmail, "password": r.o.AdminPass}, &out); err != nil {
		return "", fmt.Errorf("admin log-in: %w", err)
	}
	return out.Token, nil
}

// loadRooms returns n room slugs for the rooms scenario: load-room-1 … load-room-n, created
// with the admin's token when given (existing ones are reused), or else the public rooms
// the server already has.
func (r *runner) loadRooms(ctx context.Context, n int, memberToken string) ([]string, error) {
	admin, err := r.adminToken(ctx)
	if err != nil {
		return nil, err
	}
	if admin != "" {
		slugs := make([]string, n)
		for i := range slugs {
			slugs[i] = fmt.Sprintf("load-room-%d", i+1)
			in := map[string]string{"slug": slugs[i], "name": fmt.Sprintf("Load room %d", i+1),
				"condition": "Load testing", "kind": "chat", "visibility": "public"}
			err := doJSON(ctx, r.hc, http.MethodPost, r.o.URL+"/api/rooms", admin, in, nil)
			var ae *apiError
			if err != nil && !(errors.As(err, &ae) && ae.Status == http.StatusConflict) {
				return nil, fmt.Errorf("create room %s: %w", slugs[i], err)
			}
		}
		return slugs, nil
	}
	var out struct {
		Rooms []struct {
			Slug, Kind, Visibility string
			Locked                 bool
		} `json:"rooms"`
	}
	if err := doJSON(ctx, r.hc, http.MethodGet, r.o.URL+"/api/rooms", memberToken, nil, &out); err != nil {
		return nil, fmt.Errorf("list rooms: %w", err)
	}
	var slugs []string
	for _, rm := range out.Rooms {
		if rm.Kind == "chat" && rm.Visibility == "public" && !rm.Locked && len(slugs) < n {
			slugs = append(slugs, rm.Slug)
		}
	}
	if len(slugs) < n {
		return nil, fmt.Errorf("the server has %d public chat rooms and -rooms is %d: pass -admin-email/-admin-password or -admin-token so the load tool can create load-room-1 … load-room-%d", len(slugs), n, n)
	}
	return slugs, nil
}

// userIDs returns each token's user id (GET /api/me), SignupConc requests at a time.
func (r *runner) userIDs(ctx context.Context, tokens []string) ([]string, error) {
	ids := make([]string, len(tokens))
	errs := make([]error, len(tokens))
	sem := make(chan struct{}, r.o.SignupConc)
	var wg sync.WaitGroup
	for i, tok := range tokens {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			var out struct {
				User struct {
					ID string `json:"id"`
				} `json:"user"`
			}
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := doJSON(cctx, r.hc, http.MethodGet, r.o.URL+"/api/me", tok, nil, &out); err != nil {
				errs[i] = err
				return
			}
			if out.User.ID == "" {
				errs[i] = errors.New("GET /api/me: reply carries no user id")
			}
			ids[i] = out.User.ID
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("member %d: %w", i, err)
		}
	}
	return ids, nil
}

// moderatedRoom creates a fresh public chat room, slug, and makes the user modID its
// moderator, with the admin's token.
func (r *runner) moderatedRoom(ctx context.Context, admin, slug, modID string) error {
	in := map[string]string{"slug": slug, "name": "Load moderation " + r.id, "condition": "Load testing",
		"kind": "chat", "visibility": "public"}
	if err := doJSON(ctx, r.hc, http.MethodPost, r.o.URL+"/api/rooms", admin, in, nil); err != nil {
		return fmt.Errorf("create room %s: %w", slug, err)
	}
	if err := doJSON(ctx, r.hc, http.MethodPut, r.o.URL+"/api/rooms/"+slug+"/roles/"+modID, admin,
		map[string]string{"role": "moderator"}, nil); err != nil {
		return fmt.Errorf("make the moderator a moderator of %s: %w", slug, err)
	}
	return nil
}
