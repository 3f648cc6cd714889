package e2e

import (
	"context"
	"crypto/sha256"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/havenhealth/haven/hub"
	"github.com/havenhealth/haven/internal/wsclient"
	"github.com/havenhealth/haven/store"
)

// Every bad input gets a clear error and loses nothing; the connection survives whatever
// the protocol says it survives.
func TestBadCommands(t *testing.T) {
	c := startCluster(t, sqliteSetup())
	room := c.newRoom(t)
	conn, _ := c.joined(0, room)
	ctx := ctxT(t, 20*time.Second)

	cases := []struct {
		name, frame, re, code string
	}{
		{"malformed JSON", `{"id":"x1","type":`, "", "bad_request"},
		{"not an object", `[1,2,3]`, "", "bad_request"},
		{"wrong field type keeps the id", `{"id":"x2","type":"send","room":42}`, "x2", "bad_request"},
		{"missing id", `{"type":"leave","room":"` + room + `"}`, "", "bad_request"},
		{"id too long", `{"id":"` + strings.Repeat("i", 65) + `","type":"typing","room":"` + room + `"}`, "", "bad_request"},
		{"unknown type", `{"id":"x3","type":"dance","room":"` + room + `"}`, "x3", "bad_request"},
		{"no type", `{"id":"x4","room":"` + room + `"}`, "x4", "bad_request"},
		{"send without room", `{"id":"x5","type":"send","text":"hi","client_msg_id":"a"}`, "x5", "bad_request"},
		{"send without client_msg_id", `{"id":"x6","type":"send","room":"` + room + `","text":"hi"}`, "x6", "bad_request"},
		{"blank text", `{"id":"x7","type":"send","room":"` + room + `","text":"   ","client_msg_id":"b"}`, "x7", "bad_request"},
		{"text over the limit", `{"id":"x8","type":"send","room":"` + room + `","text":"` + strings.Repeat("a", 4001) + `","client_msg_id":"c"}`, "x8", "too_large"},
		{"unknown room", `{"id":"x9","type":"join","room":"no-such-room"}`, "x9", "not_found"},
		{"invalid room name", `{"id":"x10","type":"join","room":"../etc"}`, "x10", "not_found"},
		{"send to a room not joined", `{"id":"x11","type":"send","room":"long-covid","text":"hi","client_msg_id":"d"}`, "x11", "not_member"},
		{"join without room", `{"id":"x12","type":"join"}`, "x12", "bad_request"},
		{"negative since", `{"id":"x13","type":"join","room":"` + room + `","since":-1}`, "x13", "bad_request"},
		{"delete without seq", `{"id":"x14","type":"delete","room":"` + room + `"}`, "x14", "bad_request"},
		{"delete unknown seq", `{"id":"x15","type":"delete","room":"` + room + `","seq":999}`, "x15", "not_found"},
		{"report without reason", `{"id":"x16","type":"report","room":"` + room + `","seq":1}`, "x16", "bad_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := conn.WriteRaw(ctx, []byte(tc.frame)); err != nil {
				t.Fatalf("write: %v", err)
			}
			ev, err := conn.Next(ctx, "error")
			if err != nil {
				t.Fatalf("no error reply: %v", err)
			}
			if ev.Code() != tc.code || ev.Str("re") != tc.re || ev.Str("message") == "" {
				t.Fatalf("got %v, want code %s re %q with a message", ev, tc.code, tc.re)
			}
		})
	}
	// The connection is still open and nothing bad was stored.
	r := send(t, conn, room, "still here", "after-bad")
	if r.Type() != "ok" || r.Int("seq") != 1 {
		t.Fatalf("after bad input: %v (a rejected send consumed a seq?)", r)
	}
}

func TestOversizedFrameCloses1009(t *testing.T) {
	c := startCluster(t, sqliteSetup())
	conn := c.dial(0, c.member(0))
	big := `{"id":"x","type":"send","room":"long-covid","text":"` + strings.Repeat("a", 70<<10) + `","client_msg_id":"z"}`
	_ = conn.WriteRaw(ctxT(t, 5*time.Second), []byte(big))
	if !wsclient.Wait(conn.Done(), 5*time.Second) {
		t.Fatal("connection not closed after an oversized frame")
	}
	if got := wsclient.CloseStatus(conn.Err()); got != websocket.StatusMessageTooBig {
		t.Fatalf("close status %v, want 1009", got)
	}
}

func TestUpgradeRefusals(t *testing.T) {
	c := startCluster(t, sqliteSetup())
	acc := c.member(0)
	url := c.Nodes[0].URL
	dial := func(token string, h http.Header, protos []string) int {
		t.Helper()
		if h == nil {
			h = http.Header{}
		}
		if token != "" {
			h.Set("Authorization", "Bearer "+token)
		}
		ws, resp, err := websocket.Dial(ctxT(t, 5*time.Second), "ws"+strings.TrimPrefix(url, "http")+"/ws",
			&websocket.DialOptions{HTTPHeader: h, Subprotocols: protos})
		if err == nil {
			ws.Close(websocket.StatusNormalClosure, "")
			return http.StatusSwitchingProtocols
		}
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		return resp.StatusCode
	}
	v1 := []string{"haven.v1"}
	if got := dial("", nil, v1); got != http.StatusUnauthorized {
		t.Errorf("no credentials: %d, want 401", got)
	}
	if got := dial("not-a-token", nil, v1); got != http.StatusUnauthorized {
		t.Errorf("bad token: %d, want 401", got)
	}
	if got := dial(acc.Token, http.Header{"Origin": {"https://evil.example"}}, v1); got != http.StatusForbidden {
		t.Errorf("foreign origin: %d, want 403", got)
	}
	if got := dial(acc.Token, http.Header{"Origin": {url}}, v1); got != http.StatusSwitchingProtocols {
		t.Errorf("same origin: %d, want 101", got)
	}
	if got := dial(acc.Token, nil, v1); got != http.StatusSwitchingProtocols {
		t.Errorf("no origin (non-browser client): %d, want 101", got)
	}
	if got := dial(acc.Token, nil, nil); got != http.StatusBadRequest {
		t.Errorf("no subprotocol: %d, want 400", got)
	}

	// An expired session is refused like no session at all.
	st := c.Nodes[0].St
	token := "expired-token-for-test"
	sum := sha256.Sum256([]byte(token))
	err := st.CreateSession(context.Background(), store.Session{ID: "s_expired", TokenHash: sum[:], UserID: acc.ID,
		CreatedAt: time.Now().Add(-48 * time.Hour), ExpiresAt: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatalf("create expired session: %v", err)
	}
	if got := dial(token, nil, v1); got != http.StatusUnauthorized {
		t.Errorf("expired session: %d, want 401", got)
	}
}

func TestAllowedOrigins(t *testing.T) {
	s := sqliteSetup()
	s.hubCfg = hub.Config{AllowedOrigins: []string{"https://app.example.org"}}
	c := startCluster(t, s)
	acc := c.member(0)
	h := http.Header{"Origin": {"https://app.example.org"}, "Authorization": {"Bearer " + acc.Token}}
	ws, _, err := websocket.Dial(ctxT(t, 5*time.Second), "ws"+strings.TrimPrefix(c.Nodes[0].URL, "http")+"/ws",
		&websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{"haven.v1"}})
	if err != nil {
		t.Fatalf("allowed origin refused: %v", err)
	}
	ws.Close(websocket.StatusNormalClosure, "")
}

func TestLogoutRevokesEverywhere(t *testing.T) {
	c := startCluster(t, sqliteSetup())
	acc := c.member(0)
	live := c.dial(0, acc)
	join(t, live, "long-covid", nil)
	status, err := wsclient.PostJSON(ctxT(t, 5*time.Second), c.Nodes[0].URL+"/api/logout", acc.Token, nil, nil)
	if err != nil || status != http.StatusNoContent {
		t.Fatalf("logout: %d %v", status, err)
	}
	if !wsclient.Wait(live.Done(), 5*time.Second) {
		t.Fatal("live connection of the revoked session still open")
	}
	if got := wsclient.CloseStatus(live.Err()); got != websocket.StatusPolicyViolation {
		t.Fatalf("close status %v, want 1008 session revoked", got)
	}
	if _, resp, err := wsclient.Dial(ctxT(t, 5*time.Second), c.Nodes[0].URL, acc.Token); err == nil || resp.StatusCode != 401 {
		t.Fatalf("revoked token still opens /ws")
	}
	var me map[string]any
	if status, _ := wsclient.DoJSON(ctxT(t, 5*time.Second), "GET", c.Nodes[0].URL+"/api/me", acc.Token, nil, &me); status != 401 {
		t.Fatalf("/api/me after logout: %d", status)
	}
}

func TestAccountErrors(t *testing.T) {
	c := startCluster(t, sqliteSetup())
	base := c.Nodes[0].URL
	ctx := ctxT(t, 10*time.Second)
	if _, err := wsclient.Signup(ctx, base, "dup@example.org", "correct horse battery", "dupname"); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	status, _ := wsclient.PostJSON(ctx, base+"/api/signup", "", []byte(`{"email":"DUP@example.org","password":"correct horse battery","display_name":"another"}`), &out)
	if status != http.StatusConflict || out.Error.Code != "conflict" {
		t.Errorf("duplicate email: %d %+v", status, out)
	}
	status, _ = wsclient.PostJSON(ctx, base+"/api/signup", "", []byte(`{"email":"new@example.org","password":"correct horse battery","display_name":"DupName"}`), &out)
	if status != http.StatusConflict {
		t.Errorf("duplicate display name: %d %+v", status, out)
	}
	var wrong, unknown struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	s1, _ := wsclient.PostJSON(ctx, base+"/api/login", "", []byte(`{"email":"dup@example.org","password":"wrong password!"}`), &wrong)
	s2, _ := wsclient.PostJSON(ctx, base+"/api/login", "", []byte(`{"email":"nobody@example.org","password":"wrong password!"}`), &unknown)
	if s1 != 401 || s2 != 401 || wrong.Error != unknown.Error {
		t.Errorf("wrong password %d %+v vs unknown account %d %+v: must be the same 401", s1, wrong, s2, unknown)
	}
	out.Error.Code = ""
	if status, _ := wsclient.DoJSON(ctx, "GET", base+"/api/no-such-endpoint", "", nil, &out); status != http.StatusNotFound || out.Error.Code != "not_found" {
		t.Errorf("unknown API path: %d %+v", status, out)
	}
	status, _ = wsclient.PostJSON(ctx, base+"/api/signup", "", []byte(`{"email":`), &out)
	if status != http.StatusBadRequest || out.Error.Code != "bad_request" {
		t.Errorf("malformed signup: %d %+v", status, out)
	}
}

// A store that is down answers unavailable, and nothing is acknowledged that was not stored.
func TestStoreDownSendsUnavailable(t *testing.T) {
	c := startCluster(t, sqliteSetup())
	room := c.newRoom(t)
	a, _ := c.joined(0, room)
	b, _ := c.joined(0, room)
	if r := send(t, a, room, "stored", "s1"); r.Type() != "ok" {
		t.Fatalf("send: %v", r)
	}
	collect(t, b, 1, 5*time.Second)
	c.Nodes[0].St.Close()
	r := send(t, a, room, "lost?", "s2")
	if r.Code() != "unavailable" || r.Str("message") == "" {
		t.Fatalf("send with the store down: %v, want unavailable", r)
	}
	select {
	case m := <-b.Events:
		if m.Type() == "message" {
			t.Fatalf("an unstored message was delivered: %v", m)
		}
	case <-time.After(200 * time.Millisecond):
	}
	var ready map[string]any
	status, _ := wsclient.DoJSON(ctxT(t, 5*time.Second), "GET", c.Nodes[0].URL+"/readyz", "", nil, &ready)
	if status != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the store down: %d %v", status, ready)
	}
}

// A client that stops reading is disconnected with a reason; everyone else keeps receiving.
func TestSlowClientDoesNotStallRoom(t *testing.T) {
	s := sqliteSetup()
	s.hubCfg = hub.Config{QueueEvents: 64, QueueBytes: 256 << 10, WriteTimeout: 2 * time.Second}
	c := startCluster(t, s)
	room := c.newRoom(t)
	sender, _ := c.joined(0, room)
	fast, _ := c.joined(0, room)

	slowAcc := c.member(0)
	slow, _, err := websocket.Dial(ctxT(t, 5*time.Second), "ws"+strings.TrimPrefix(c.Nodes[0].URL, "http")+"/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + slowAcc.Token}},
			Subprotocols: []string{"haven.v1"}, HTTPClient: tinyBufferClient()})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.CloseNow()
	slow.SetReadLimit(1 << 30)
	joinRaw := func(v int) {
		msg := `{"id":"j","type":"join","room":"` + room + `"}`
		if v > 0 {
			msg = `{"id":"j","type":"join","room":"` + room + `","accept_guidelines":1}`
		}
		if err := slow.Write(ctxT(t, 5*time.Second), websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	joinRaw(1) // then never read again

	text := strings.Repeat("x", 3900)
	// Send until the server gives up on the slow client (bounded in count and time).
	drops := metricValue(t, c.Nodes[0].URL, "haven_queue_drops_total")
	n := 0
	deadline := time.Now().Add(60 * time.Second)
	for ; n < 3000 && time.Now().Before(deadline); n++ {
		// Each text differs: the same text a third time in a minute is refused as spam.
		if r := send(t, sender, room, strconv.Itoa(n)+text, "f"+strconv.Itoa(n)); r.Type() != "ok" {
			t.Fatalf("send %d: %v", n, r)
		}
		if n%25 == 24 && metricValue(t, c.Nodes[0].URL, "haven_queue_drops_total") > drops {
			n++
			break
		}
	}
	got := collect(t, fast, n, 60*time.Second)
	assertConsecutive(t, got, 1)

	// The server gave up on the slow client: counted, and its socket closed. (A close frame
	// cannot always get through a full TCP buffer, so the client may see only EOF.)
	if got := metricValue(t, c.Nodes[0].URL, "haven_queue_drops_total"); got <= drops {
		t.Fatalf("haven_queue_drops_total = %v, want >= 1", got)
	}
	rctx := ctxT(t, 30*time.Second)
	for {
		if _, _, err := slow.Read(rctx); err != nil {
			if rctx.Err() != nil {
				t.Fatal("slow client still connected")
			}
			if cs := websocket.CloseStatus(err); cs != -1 && cs != websocket.StatusPolicyViolation {
				t.Fatalf("slow client closed with %v, want 1008 or a dropped socket", err)
			}
			return
		}
	}
}

// metricValue reads one unlabelled metric from a node's /metrics.
func metricValue(t *testing.T, base, name string) float64 {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctxT(t, 5*time.Second), "GET", base+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v
		}
	}
	return 0
}

// tinyBufferClient dials with a 4 KiB receive buffer so a client that stops reading
// backs up the server after a few messages rather than megabytes.
func tinyBufferClient() *http.Client {
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}
