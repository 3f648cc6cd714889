package e2e

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/havenhealth/haven/accounts"
	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/internal/wsclient"
	"github.com/havenhealth/haven/rooms"
	"github.com/havenhealth/haven/safetycases"
	"github.com/havenhealth/haven/server"
	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/sqlite"
)

func TestSafetyCasesSQLite(t *testing.T)  { runSafetyCases(t, sqliteSetup()) }
func TestSafetyCasesCluster(t *testing.T) { runSafetyCases(t, postgresSetup(2, true)) }

// scKit is the suite's state: a room, a case's author on the last node, a global
// moderator (a safety reviewer) on node 0 and a plain member.
type scKit struct {
	c        *cluster
	room     string
	roomID   string
	author   wsclient.Account
	authConn *wsclient.Conn
	reviewer wsclient.Account
	revConn  *wsclient.Conn
	member   wsclient.Account
}

func (k *scKit) url(path string) string { return k.c.Nodes[0].URL + path }

// call sends a JSON request as token and decodes the reply into out (when non-nil).
func (k *scKit) call(t *testing.T, method, path, token, body string, out any) int {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	status, err := wsclient.DoJSON(ctxT(t, 10*time.Second), method, k.url(path), token, b, out)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return status
}

// raw fetches path as token and returns the status and body.
func (k *scKit) raw(t *testing.T, method, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctxT(t, 10*time.Second), method, k.url(path), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func newSCKit(t *testing.T, c *cluster) *scKit {
	k := &scKit{c: c, room: c.newRoom(t)}
	room, err := c.Nodes[0].St.RoomBySlug(ctxT(t, 5*time.Second), k.room)
	if err != nil {
		t.Fatal(err)
	}
	k.roomID = room.ID
	far := len(c.Nodes) - 1
	k.authConn, k.author = c.joined(far, k.room)
	k.reviewer = c.member(0)
	if st := k.call(t, http.MethodPut, "/api/users/"+k.reviewer.ID+"/role", c.adminToken(), `{"role":"moderator"}`, nil); st != http.StatusOK {
		t.Fatalf("make global moderator: %d", st)
	}
	k.revConn = c.dial(0, k.reviewer)
	join(t, k.revConn, k.room, nil)
	k.member = c.member(0)
	return k
}

// openCase stores a case as the pipeline would, for a message the author posted.
func (k *scKit) openCase(t *testing.T, text string, aware time.Time) string {
	t.Helper()
	r := send(t, k.authConn, k.room, "a post about my week", fmt.Sprintf("sc-%d", time.Now().UnixNano()))
	id, err := k.c.Nodes[0].Srv.Cases().Open(ctxT(t, 5*time.Second), store.NewAECase{RoomID: k.roomID,
		MessageSeq: r.Int("seq"), AuthorID: k.author.ID, Text: text, Products: []string{"drugzol"},
		Reactions: []string{"rash"}, Terms: []string{"drugzol", "rash"}, AwareAt: aware})
	if err != nil {
		t.Fatalf("open case: %v", err)
	}
	return id
}

func runSafetyCases(t *testing.T, s setup) {
	c := startCluster(t, s)
	k := newSCKit(t, c)
	caseID := k.openCase(t, "=since drugzol I have a rash", time.Now().Add(-20*24*time.Hour))
	rev := k.reviewer.Token

	t.Run("MembersForbidden", func(t *testing.T) {
		for _, p := range []struct{ method, path, body string }{
			{http.MethodGet, "/api/safety/cases", ""},
			{http.MethodGet, "/api/safety/cases/" + caseID, ""},
			{http.MethodGet, "/api/safety/cases.csv", ""},
			{http.MethodGet, "/api/safety/alerts", ""},
			{http.MethodPost, "/api/safety/cases/" + caseID + "/close", `{"reason":"not_ae"}`},
			{http.MethodPost, "/api/safety/cases/" + caseID + "/followups", `{"text":"hi"}`},
		} {
			var out struct {
				Error struct{ Code string } `json:"error"`
			}
			if st := k.call(t, p.method, p.path, k.member.Token, p.body, &out); st != http.StatusForbidden || out.Error.Code != "forbidden" {
				t.Fatalf("member %s %s: %d %q", p.method, p.path, st, out.Error.Code)
			}
		}
		if st := k.call(t, http.MethodGet, "/api/safety/cases", "", "", nil); st != http.StatusUnauthorized {
			t.Fatalf("anonymous: %d", st)
		}
	})

	t.Run("ListAndDetailWithoutEmail", func(t *testing.T) {
		var list struct {
			Cases []map[string]any `json:"cases"`
		}
		if st := k.call(t, http.MethodGet, "/api/safety/cases?status=open&overdue=true&room="+k.room, rev, "", &list); st != http.StatusOK || len(list.Cases) != 1 {
			t.Fatalf("list: %d %v", st, list.Cases)
		}
		got := list.Cases[0]
		if got["id"] != caseID || got["author"] != k.author.ID || got["text"] != "=since drugzol I have a rash" ||
			!slices.Equal(toStrings(got["overdue"]), []string{"forward", "regulatory"}) {
			t.Fatalf("case = %v", got)
		}
		st, body := k.raw(t, http.MethodGet, "/api/safety/cases/"+caseID, rev)
		if st != http.StatusOK || !strings.Contains(body, caseID) {
			t.Fatalf("detail: %d %s", st, body)
		}
		if strings.Contains(body, k.author.Email) || strings.Contains(strings.ToLower(body), "email") {
			t.Fatalf("the reviewer's view shows the author's email: %s", body)
		}
		for _, bad := range []string{"?status=maybe", "?overdue=perhaps", "?limit=0", "?limit=100000", "?room=no-such-room"} {
			if st := k.call(t, http.MethodGet, "/api/safety/cases"+bad, rev, "", nil); st != http.StatusBadRequest && st != http.StatusNotFound {
				t.Fatalf("list %s: %d", bad, st)
			}
		}
		if st := k.call(t, http.MethodGet, "/api/safety/cases/ae_nope", rev, "", nil); st != http.StatusNotFound {
			t.Fatalf("unknown case: %d", st)
		}
	})

	t.Run("NoDeleteRoute", func(t *testing.T) {
		for _, tok := range []string{rev, c.adminToken()} {
			if st := k.call(t, http.MethodDelete, "/api/safety/cases/"+caseID, tok, "", nil); st != http.StatusMethodNotAllowed && st != http.StatusNotFound {
				t.Fatalf("DELETE case: %d", st)
			}
		}
		if st := k.call(t, http.MethodGet, "/api/safety/cases/"+caseID, rev, "", nil); st != http.StatusOK {
			t.Fatalf("case after DELETE attempts: %d", st)
		}
	})

	t.Run("ExportCSVAndJSON", func(t *testing.T) {
		st, body := k.raw(t, http.MethodGet, "/api/safety/cases.csv?room="+k.room, rev)
		if st != http.StatusOK {
			t.Fatalf("csv: %d %s", st, body)
		}
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil || len(rows) != 2 {
			t.Fatalf("csv parses to %d rows, %v:\n%s", len(rows), err, body)
		}
		col := map[string]int{}
		for i, name := range rows[0] {
			col[name] = i
		}
		for _, name := range []string{"case_id", "aware_date", "forward_due_at", "regulatory_due_at", "status", "products",
			"reactions", "verbatim_text", "room", "message_seq", "reporter_id", "closed_reason", "closed_by", "closed_at"} {
			if _, ok := col[name]; !ok {
				t.Fatalf("csv has no %s column: %v", name, rows[0])
			}
		}
		row := rows[1]
		if row[col["case_id"]] != caseID || row[col["reporter_id"]] != k.author.ID || row[col["products"]] != "drugzol" ||
			row[col["room"]] != k.room || row[col["verbatim_text"]] != "'=since drugzol I have a rash" {
			t.Fatalf("csv row = %v", row)
		}
		var js struct {
			Cases []map[string]any `json:"cases"`
		}
		if st := k.call(t, http.MethodGet, "/api/safety/cases.json?room="+k.room, rev, "", &js); st != http.StatusOK ||
			len(js.Cases) != 1 || js.Cases[0]["verbatim_text"] != "=since drugzol I have a rash" {
			t.Fatalf("json export: %d %v", st, js.Cases)
		}
	})

	t.Run("FollowupReachesAuthorLive", func(t *testing.T) {
		var out struct {
			Followup map[string]any `json:"followup"`
		}
		if st := k.call(t, http.MethodPost, "/api/safety/cases/"+caseID+"/followups", rev, `{"text":"When did the rash start?"}`, &out); st != http.StatusCreated {
			t.Fatalf("reviewer follow-up: %d", st)
		}
		ev, err := k.authConn.Next(ctxT(t, 5*time.Second), "safety.followup")
		if err != nil || ev.Str("case_id") != caseID || ev.Str("text") != "When did the rash start?" {
			t.Fatalf("author's live event = %v, %v", ev, err)
		}
		if st := k.call(t, http.MethodPost, "/api/safety/followups/"+caseID, k.author.Token, `{"text":"Two days after the first dose."}`, nil); st != http.StatusCreated {
			t.Fatalf("author reply: %d", st)
		}
		if st := k.call(t, http.MethodPost, "/api/safety/followups/"+caseID, k.member.Token, `{"text":"not mine"}`, nil); st != http.StatusNotFound {
			t.Fatalf("another member replies: %d", st)
		}
		for _, bad := range []string{`{"text":"   "}`, `{"text":` + fmt.Sprintf("%q", strings.Repeat("x", 4001)) + `}`, `not json`} {
			if st := k.call(t, http.MethodPost, "/api/safety/followups/"+caseID, k.author.Token, bad, nil); st != http.StatusBadRequest && st != http.StatusRequestEntityTooLarge {
				t.Fatalf("bad reply %.20s: %d", bad, st)
			}
		}
		var mine struct {
			Followups []map[string]any `json:"followups"`
		}
		if st := k.call(t, http.MethodGet, "/api/safety/my-followups", k.author.Token, "", &mine); st != http.StatusOK || len(mine.Followups) != 2 ||
			mine.Followups[0]["mine"] != false || mine.Followups[1]["mine"] != true {
			t.Fatalf("my follow-ups: %d %v", st, mine.Followups)
		}
		st, body := k.raw(t, http.MethodGet, "/api/safety/cases/"+caseID, rev)
		if st != http.StatusOK || !strings.Contains(body, "Two days after the first dose.") || strings.Contains(body, k.author.Email) {
			t.Fatalf("reviewer's thread: %d %s", st, body)
		}
	})

	t.Run("CloseWithReasonThenConflict", func(t *testing.T) {
		var out struct {
			Case  map[string]any `json:"case"`
			Error struct{ Code string }
		}
		if st := k.call(t, http.MethodPost, "/api/safety/cases/"+caseID+"/close", rev, `{"reason":"because"}`, &out); st != http.StatusBadRequest {
			t.Fatalf("unknown reason: %d", st)
		}
		if st := k.call(t, http.MethodPost, "/api/safety/cases/"+caseID+"/forward", rev, "", &out); st != http.StatusOK || out.Case["status"] != "forwarded" {
			t.Fatalf("forward: %d %v", st, out.Case)
		}
		if st := k.call(t, http.MethodPost, "/api/safety/cases/"+caseID+"/close", rev, `{"reason":"reported_to_regulator"}`, &out); st != http.StatusOK ||
			out.Case["status"] != "closed" || out.Case["closed_by"] != k.reviewer.ID || out.Case["closed_reason"] != "reported_to_regulator" {
			t.Fatalf("close: %d %v", st, out.Case)
		}
		if st := k.call(t, http.MethodPost, "/api/safety/cases/"+caseID+"/close", rev, `{"reason":"duplicate"}`, &out); st != http.StatusConflict {
			t.Fatalf("second close: %d", st)
		}
	})

	t.Run("CrisisAlerts", func(t *testing.T) {
		id, err := c.Nodes[0].St.RecordCrisisAlert(ctxT(t, 5*time.Second), store.NewCrisisAlert{RoomID: k.roomID,
			AuthorID: k.author.ID, Text: "I can't do this anymore", Terms: []string{"can't do this anymore"}})
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Alerts []map[string]any `json:"alerts"`
		}
		if st := k.call(t, http.MethodGet, "/api/safety/alerts?unacknowledged=true&room="+k.room, rev, "", &out); st != http.StatusOK ||
			len(out.Alerts) != 1 || out.Alerts[0]["id"] != id {
			t.Fatalf("alerts: %d %v", st, out.Alerts)
		}
		if st := k.call(t, http.MethodPost, "/api/safety/alerts/"+id+"/ack", rev, "", nil); st != http.StatusOK {
			t.Fatalf("ack: %d", st)
		}
		if st := k.call(t, http.MethodPost, "/api/safety/alerts/"+id+"/ack", rev, "", nil); st != http.StatusConflict {
			t.Fatalf("second ack: %d", st)
		}
		if st := k.call(t, http.MethodGet, "/api/safety/alerts?unacknowledged=sometimes", rev, "", nil); st != http.StatusBadRequest {
			t.Fatalf("bad filter: %d", st)
		}
	})

	t.Run("EveryViewAudited", func(t *testing.T) {
		// Views of reports (the review queue) and of members, by the same reviewer.
		for _, p := range []string{"/api/rooms/" + k.room + "/queue", "/api/rooms/" + k.room + "/members"} {
			if st := k.call(t, http.MethodGet, p, rev, "", nil); st != http.StatusOK {
				t.Fatalf("GET %s: %d", p, st)
			}
		}
		var out struct {
			Entries []map[string]any `json:"entries"`
		}
		if st := k.call(t, http.MethodGet, "/api/audit?limit=200", c.adminToken(), "", &out); st != http.StatusOK {
			t.Fatalf("audit: %d", st)
		}
		seen := map[string]map[string]any{}
		for _, e := range out.Entries {
			if e["actor"] == k.reviewer.ID {
				if _, ok := seen[e["action"].(string)]; !ok {
					seen[e["action"].(string)] = e
				}
			}
		}
		for _, action := range []string{"view_ae_cases", "view_ae_case", "export_ae_cases", "view_crisis_alerts",
			"view_reports", "view_members", "ae_followup", "ae_forward", "ae_close", "crisis_ack"} {
			if seen[action] == nil {
				t.Fatalf("no %s entry by the reviewer in the audit log (saw %v)", action, keys(seen))
			}
		}
		if e := seen["view_ae_case"]; e["target"] != k.author.ID || e["room"] != k.room {
			t.Fatalf("view_ae_case entry = %v", e)
		}
		if e := seen["view_members"]; e["room"] != k.room {
			t.Fatalf("view_members entry = %v", e)
		}
		var v struct {
			OK bool `json:"ok"`
		}
		if st := k.call(t, http.MethodGet, "/api/audit/verify", c.adminToken(), "", &v); st != http.StatusOK || !v.OK {
			t.Fatalf("chain verify after access entries: %d %v", st, v)
		}
	})
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// scClock is a settable clock for the overdue job.
type scClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *scClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *scClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// TestSafetyOverdueJob runs a node whose case clock is fake: moving it past a case's due
// times sets the /metrics gauges and sends safety.overdue to a reviewer in the room, once
// per clock however many passes run.
func TestSafetyOverdueJob(t *testing.T) {
	aware := time.Date(2026, 3, 6, 10, 0, 0, 0, time.UTC) // a Friday
	clock := &scClock{now: aware}
	path := filepath.Join(t.TempDir(), "haven.db")
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{NodeID: "node-1", Accounts: accounts.Config{Argon2Time: 1, Argon2MemoryKiB: 1024},
		Rooms:  rooms.Config{PostRate: 10000, PostBurst: 10000},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Cases:  safetycases.Config{RegulatoryDays: 5, OverdueEvery: time.Hour, Now: clock.Now}}
	if cfg.Safety, err = server.LoadSafetyConfig(""); err != nil { // the built-in screens
		t.Fatal(err)
	}
	br := broker.NewMemory()
	srv := server.New(cfg, st, br, broker.NewMemoryPresence())
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Accounts().EnsureAdmin(context.Background(), "admin@example.org", "admin-password-1"); err != nil {
		t.Fatal(err)
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
	c := &cluster{t: t, Nodes: []*node{{ID: "node-1", URL: hs.URL, Srv: srv, HTTP: hs, St: st, Br: br}}}
	k := newSCKit(t, c)
	id := k.openCase(t, "drugzol and a rash", time.Time{}) // aware "now" on the fake clock

	tick := func() {
		t.Helper()
		if err := srv.Cases().Tick(ctxT(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	metric := func(name string) string {
		t.Helper()
		_, body := k.raw(t, http.MethodGet, "/metrics", "")
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, name+" ") {
				return strings.TrimPrefix(line, name+" ")
			}
		}
		t.Fatalf("/metrics has no %s", name)
		return ""
	}
	tick()
	if got := metric(`haven_ae_cases_overdue{clock="forward"}`); got != "0" {
		t.Fatalf("forward overdue before the due time = %s", got)
	}
	if got := metric("haven_ae_cases_open"); got != "1" {
		t.Fatalf("open cases = %s", got)
	}

	clock.Set(aware.AddDate(0, 0, 3).Add(time.Minute)) // Monday, just past 1 business day
	tick()
	tick()
	ev, err := k.revConn.Next(ctxT(t, 5*time.Second), "safety.overdue")
	if err != nil || ev.Str("case_id") != id || ev.Str("clock") != "forward" || ev.Str("room") != k.room {
		t.Fatalf("overdue event = %v, %v", ev, err)
	}
	if got := metric(`haven_ae_cases_overdue{clock="forward"}`); got != "1" {
		t.Fatalf("forward overdue = %s", got)
	}

	clock.Set(aware.AddDate(0, 0, 5).Add(time.Minute))
	tick()
	ev, err = k.revConn.Next(ctxT(t, 5*time.Second), "safety.overdue")
	if err != nil || ev.Str("clock") != "regulatory" {
		t.Fatalf("regulatory overdue event = %v, %v (a second forward alert would show here)", ev, err)
	}
	if got := metric(`haven_ae_cases_overdue{clock="regulatory"}`); got != "1" {
		t.Fatalf("regulatory overdue = %s", got)
	}
	// The member who wrote the post is not a moderator and hears nothing of it.
	select {
	case m := <-k.authConn.Events:
		if m.Type() == "safety.overdue" {
			t.Fatalf("the author got %v", m)
		}
	default:
	}

	// Cases the screens open with a post, and with an edit, run on the configured clock too
	// (5 days, not the default 15), though each is stored in its post's transaction.
	posted := send(t, k.authConn, k.room, aeText, "sc-ae-post")
	plain := send(t, k.authConn, k.room, "see you at the meetup", "sc-ae-edit")
	if r, err := k.authConn.Do(ctxT(t, 10*time.Second), "edit", map[string]any{"room": k.room,
		"seq": plain.Int("seq"), "text": aeText}); err != nil || r.Type() != "ok" {
		t.Fatalf("edit: %v %v", r, err)
	}
	cases, err := st.AECases(ctxT(t, 5*time.Second), store.AECaseFilter{RoomID: k.roomID}, 10)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, c := range cases {
		if c.MessageSeq != posted.Int("seq") && c.MessageSeq != plain.Int("seq") {
			continue
		}
		seen++
		if got := c.RegulatoryDueAt.Sub(c.AwareAt); got != 5*24*time.Hour {
			t.Errorf("case of seq %d: regulatory clock %v after awareness, want 5 days", c.MessageSeq, got)
		}
	}
	if seen != 2 {
		t.Fatalf("%d cases for the post and the edit, want 2: %+v", seen, cases)
	}
}
