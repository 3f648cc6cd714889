package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/internal/wsclient"
)

// Real processes: the haven binary is built once per test binary and run as separate
// processes on 127.0.0.1, configured by environment as in production, so faults (SIGKILL,
// SIGTERM, a dependency going away) are the real thing.

const (
	buildTimeout = 3 * time.Minute
	readyTimeout = 30 * time.Second
	adminEmail   = "admin@example.org"
	adminPass    = "admin-password-1"
)

var havenBin struct {
	once sync.Once
	path string
	err  error
}

// buildHaven builds cmd/haven once per test binary. Under `go test` the binary goes next to
// the test binary, in go's work directory, which go removes afterwards; otherwise into a
// directory under the system temp dir, where leftovers older than an hour are removed.
func buildHaven(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping process tests in -short mode")
	}
	havenBin.once.Do(func() {
		old, _ := filepath.Glob(filepath.Join(os.TempDir(), "haven-e2e-bin-*"))
		for _, d := range old {
			if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > time.Hour {
				_ = os.RemoveAll(d)
			}
		}
		dir := ""
		if exe, err := os.Executable(); err == nil && strings.Contains(exe, "go-build") {
			dir = filepath.Dir(exe)
		} else if dir, err = os.MkdirTemp("", "haven-e2e-bin-*"); err != nil {
			havenBin.err = err
			return
		}
		out := filepath.Join(dir, "haven")
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/havenhealth/haven/cmd/haven")
		if b, err := cmd.CombinedOutput(); err != nil {
			havenBin.err = fmt.Errorf("go build ./cmd/haven: %w\n%s", err, b)
			return
		}
		havenBin.path = out
	})
	if havenBin.err != nil {
		t.Fatalf("%v", havenBin.err)
	}
	return havenBin.path
}

// procConfig configures one node process.
type procConfig struct {
	ID          string
	DatabaseURL string
	RedisURL    string
	Env         []string // extra KEY=VALUE settings
}

// proc is one running haven process.
type proc struct {
	t      *testing.T
	ID     string
	URL    string
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan struct{}
	state  *os.ProcessState // set before exited closes
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startProc runs a node on a free loopback port and waits until /readyz answers 200. The
// process is killed when t ends; its log is printed when t failed.
func startProc(t *testing.T, pc procConfig) *proc {
	t.Helper()
	bin := buildHaven(t)
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	p := &proc{t: t, ID: pc.ID, URL: "http://" + addr, logs: &syncBuffer{}, exited: make(chan struct{})}
	cmd := exec.Command(bin)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(),
		"HAVEN_ADDR="+addr,
		"HAVEN_NODE_ID="+pc.ID,
		"DATABASE_URL="+pc.DatabaseURL,
		"REDIS_URL="+pc.RedisURL,
		"HAVEN_DATA_DIR="+filepath.Join(cmd.Dir, "data"),
		"HAVEN_ADMIN_EMAIL="+adminEmail,
		"HAVEN_ADMIN_PASSWORD="+adminPass,
		"HAVEN_SHUTDOWN_TIMEOUT=5s",
		"HAVEN_PRESENCE_TTL=3s",
		"HAVEN_LOG_LEVEL=info",
	)
	cmd.Env = append(cmd.Env, pc.Env...)
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	// If the test binary dies without its cleanups, the node goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", pc.ID, err)
	}
	p.cmd = cmd
	go func() {
		_ = cmd.Wait()
		p.state = cmd.ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("--- log of %s ---\n%s", p.ID, tailString(p.logs.String(), 6000))
		}
	})
	deadline := time.Now().Add(readyTimeout)
	for {
		status, body, err := p.readyz()
		if err == nil && status == http.StatusOK && body["status"] == "ok" {
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited during start-up (%v):\n%s", pc.ID, p.state, tailString(p.logs.String(), 4000))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within %v (last: %d %v %v):\n%s", pc.ID, readyTimeout, status, body, err, tailString(p.logs.String(), 4000))
		}
	}
}

func tailString(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// readyz returns /readyz's status and body.
func (p *proc) readyz() (int, map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, body, nil
}

// waitReady polls /readyz until its body's status is want, failing after d.
func (p *proc) waitReady(want string, d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	var last map[string]any
	var lastErr error
	for time.Now().Before(deadline) {
		_, body, err := p.readyz()
		if err == nil && body["status"] == want {
			return
		}
		last, lastErr = body, err
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("%s: /readyz never reported %q within %v; last %v %v", p.ID, want, d, last, lastErr)
}

// kill ends the process with SIGKILL and waits for it.
func (p *proc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// signal sends sig to the process.
func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %s: %v", p.ID, err)
	}
}

// waitExit waits up to d for the process to exit and returns its state.
func (p *proc) waitExit(d time.Duration) (*os.ProcessState, bool) {
	select {
	case <-p.exited:
		return p.state, true
	case <-time.After(d):
		return nil, false
	}
}

// procCluster starts n nodes, one after another (the first migrates and seeds), on a fresh
// database of the shared PostgreSQL (or dsn when non-empty) and redisURL. The returned
// cluster's helpers (member, dial, joined, newRoom) reach the processes.
func procCluster(t *testing.T, n int, dsn, redisURL string, env ...string) (*cluster, []*proc) {
	t.Helper()
	if dsn == "" {
		dsn = testenv.PostgresURL(t)
	}
	c := &cluster{t: t}
	var procs []*proc
	for i := 0; i < n; i++ {
		p := startProc(t, procConfig{ID: fmt.Sprintf("pnode-%d", i+1), DatabaseURL: dsn, RedisURL: redisURL, Env: env})
		procs = append(procs, p)
		c.Nodes = append(c.Nodes, &node{ID: p.ID, URL: p.URL})
	}
	return c, procs
}

// acked is one send the server acknowledged.
type acked struct {
	seq  int64
	id   string
	text string
}

// ledger records acknowledged sends from many goroutines.
type ledger struct {
	mu  sync.Mutex
	ok  map[int64]acked
	err map[string]int // error code → count
}

func newLedger() *ledger { return &ledger{ok: make(map[int64]acked), err: make(map[string]int)} }

func (l *ledger) record(r wsclient.Msg, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.Type() == "ok" {
		l.ok[r.Int("seq")] = acked{seq: r.Int("seq"), id: r.Str("message_id"), text: text}
		return
	}
	l.err[r.Code()]++
}

func (l *ledger) snapshot() (map[int64]acked, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[int64]acked, len(l.ok))
	var max int64
	for k, v := range l.ok {
		out[k] = v
		if k > max {
			max = k
		}
	}
	return out, max
}

func (l *ledger) errors() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.err))
	for k, v := range l.err {
		out[k] = v
	}
	return out
}

// stream is what one member has seen of a room: seq → message, with duplicates counted.
type stream struct {
	who  string
	seen map[int64]wsclient.Msg
	dups []int64
	last int64 // highest seq seen
}

func newStream(who string) *stream { return &stream{who: who, seen: make(map[int64]wsclient.Msg)} }

// add records messages in arrival order; it fails t when they arrive out of order.
func (s *stream) add(t *testing.T, msgs ...wsclient.Msg) {
	t.Helper()
	for _, m := range msgs {
		seq := m.Int("seq")
		if _, dup := s.seen[seq]; dup {
			s.dups = append(s.dups, seq)
			continue
		}
		if seq <= s.last {
			t.Errorf("%s: seq %d arrived after %d (out of order)", s.who, seq, s.last)
		}
		s.seen[seq] = m
		if seq > s.last {
			s.last = seq
		}
	}
}

// readUntil reads message events from conn into s until it has seen seq upto, bounded by d.
func (s *stream) readUntil(t *testing.T, conn *wsclient.Conn, upto int64, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for s.last < upto {
		m, err := conn.Next(ctx, "message")
		if err != nil {
			t.Fatalf("%s: has seq up to %d (%d messages), waiting for %d: %v", s.who, s.last, len(s.seen), upto, err)
		}
		s.add(t, m)
	}
}

// drainQuiet reads whatever else arrives within d (to catch late duplicates).
func (s *stream) drainQuiet(t *testing.T, conn *wsclient.Conn, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		m, err := conn.Next(ctx, "message")
		if err != nil {
			return
		}
		s.add(t, m)
	}
}

// check asserts the stream is exactly seqs 1..upto, once each, and holds every
// acknowledged message with its id and text.
func (s *stream) check(t *testing.T, ok map[int64]acked, upto int64) {
	t.Helper()
	if len(s.dups) > 0 {
		t.Errorf("%s: delivered twice: seqs %v", s.who, s.dups)
	}
	var missing []int64
	for seq := int64(1); seq <= upto; seq++ {
		if _, have := s.seen[seq]; !have {
			missing = append(missing, seq)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%s: missing seqs %v of 1..%d", s.who, compact(missing), upto)
	}
	texts := make(map[string]int64, len(s.seen))
	for seq, m := range s.seen {
		if prev, dup := texts[m.Str("text")]; dup {
			t.Errorf("%s: text %q stored twice, at seqs %d and %d", s.who, m.Str("text"), prev, seq)
		}
		texts[m.Str("text")] = seq
	}
	for seq, a := range ok {
		m, have := s.seen[seq]
		if !have {
			continue // reported above
		}
		if m.Str("message_id") != a.id || m.Str("text") != a.text {
			t.Errorf("%s: seq %d is %s %q, acknowledged as %s %q", s.who, seq, m.Str("message_id"), m.Str("text"), a.id, a.text)
		}
	}
}

// compact renders seqs as ranges for readable failures.
func compact(seqs []int64) string {
	var b strings.Builder
	for i := 0; i < len(seqs); {
		j := i
		for j+1 < len(seqs) && seqs[j+1] == seqs[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteString(",")
		}
		if i == j {
			fmt.Fprintf(&b, "%d", seqs[i])
		} else {
			fmt.Fprintf(&b, "%d-%d", seqs[i], seqs[j])
		}
		i = j + 1
	}
	return b.String()
}

// sendRaw sends without failing the test on transport errors; it returns nil then.
func sendRaw(conn *wsclient.Conn, room, text, clientID string, d time.Duration) wsclient.Msg {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	r, err := conn.Do(ctx, "send", map[string]any{"room": room, "text": text, "client_msg_id": clientID})
	if err != nil {
		return nil
	}
	return r
}

// unanswered holds sends that got no reply (the connection died or the node stalled): the
// client does not know whether they were stored, so it resends them with the same
// client_msg_id after reconnecting, and the store's idempotency must keep them single.
type unanswered struct {
	mu   sync.Mutex
	list [][2]string // text, client_msg_id
}

func (u *unanswered) add(text, clientID string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.list = append(u.list, [2]string{text, clientID})
}

func (u *unanswered) take() [][2]string {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := u.list
	u.list = nil
	return out
}

// resend retries unanswered sends on conn, which must acknowledge them now.
func (u *unanswered) resend(t *testing.T, conn *wsclient.Conn, room string, l *ledger) {
	t.Helper()
	for _, s := range u.take() {
		r := sendRaw(conn, room, s[0], s[1], 10*time.Second)
		if r == nil || r.Type() != "ok" {
			t.Fatalf("resending unanswered %s: %v", s[1], r)
		}
		l.record(r, s[0])
	}
}

// sender posts paced messages (the binary keeps the default per-member rate limit of 2/s,
// burst 10) until stop closes or the connection ends, recording acknowledgements in l and
// sends without a reply in u (when non-nil).
func sender(conn *wsclient.Conn, room, name string, pace time.Duration, l *ledger, u *unanswered, stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	for j := 0; ; j++ {
		select {
		case <-stop:
			return
		case <-conn.Done():
			return
		default:
		}
		text := fmt.Sprintf("%s-%d", name, j)
		clientID := fmt.Sprintf("%s-c%d", name, j)
		if r := sendRaw(conn, room, text, clientID, 10*time.Second); r != nil {
			l.record(r, text)
		} else if u != nil {
			u.add(text, clientID)
		}
		select {
		case <-stop:
			return
		case <-time.After(pace):
		}
	}
}

// merge combines ledgers.
func merge(ls ...*ledger) (map[int64]acked, int64) {
	out := make(map[int64]acked)
	var max int64
	for _, l := range ls {
		ok, m := l.snapshot()
		for k, v := range ok {
			out[k] = v
		}
		if m > max {
			max = m
		}
	}
	return out, max
}

// waitEvent waits up to d for an event of type typ on conn, recording the messages that
// arrive meanwhile in s (wsclient's Next would discard them).
func waitEvent(t *testing.T, conn *wsclient.Conn, s *stream, typ string, d time.Duration) wsclient.Msg {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case m := <-conn.Events:
			if m.Type() == "message" {
				s.add(t, m)
			}
			if m.Type() == typ {
				return m
			}
		case <-conn.Done():
		queued:
			for {
				select {
				case m := <-conn.Events:
					if m.Type() == "message" {
						s.add(t, m)
					}
					if m.Type() == typ {
						return m
					}
				default:
					break queued
				}
			}
			t.Fatalf("%s: connection closed before a %s event: %v", s.who, typ, conn.Err())
		case <-timer.C:
			t.Fatalf("%s: no %s event within %v", s.who, typ, d)
		}
	}
}
