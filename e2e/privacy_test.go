package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/wsclient"
	"github.com/havenhealth/haven/server"
	"github.com/havenhealth/haven/store"
)

// startPrivacyCluster is startCluster with a privacy policy on every node.
func startPrivacyCluster(t *testing.T, s setup, p server.PrivacyConfig) *cluster {
	t.Helper()
	opener := s.openStore(t)
	brk := s.broker(t)
	c := &cluster{t: t}
	for i := 0; i < s.nodes; i++ {
		id := fmt.Sprintf("node-%d", i+1)
		st := opener(t)
		br, pres := brk(t, id)
		cfg := testConfig(id, s.hubCfg)
		cfg.Privacy = p
		srv := server.New(cfg, st, br, pres)
		if err := srv.Start(context.Background()); err != nil {
			t.Fatalf("start %s: %v", id, err)
		}
		if i == 0 {
			if _, err := srv.Accounts().EnsureAdmin(context.Background(), "admin@example.org", "admin-password-1"); err != nil {
				t.Fatalf("admin: %v", err)
			}
		}
		hs := httptest.NewServer(srv.Handler())
		n := &node{ID: id, URL: hs.URL, Srv: srv, HTTP: hs, St: st, Br: br}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			srv.Drain(ctx)
			hs.Close()
			br.Close()
			st.Close()
		})
		c.Nodes = append(c.Nodes, n)
	}
	return c
}

// pvDo sends a JSON request to node i and returns the status and the decoded reply.
func (c *cluster) pvDo(t *testing.T, i int, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	var out map[string]any
	status, err := wsclient.DoJSON(ctxT(t, 10*time.Second), method, c.node(i).URL+path, token, raw, &out)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return status, out
}

func pvWant(t *testing.T, what string, status, want int, out map[string]any) {
	t.Helper()
	if status != want {
		t.Fatalf("%s: status %d, want %d (%v)", what, status, want, out)
	}
}

func grantHealth(t *testing.T, c *cluster, i int, token string, version int) {
	t.Helper()
	status, out := c.pvDo(t, i, "POST", "/api/me/consents", token, map[string]any{"kind": "health_data", "version": version})
	pvWant(t, "grant consent", status, http.StatusCreated, out)
}

// TestPrivacyConsentCluster: a post without consent is refused; a grant on one node lets
// the member post on another; a withdrawal on node 0 refuses their very next post on node 1.
func TestPrivacyConsentCluster(t *testing.T) {
	c := startPrivacyCluster(t, postgresSetup(2, true), server.PrivacyConfig{HealthConsentVersion: 2, HealthConsentText: "I agree to share."})
	room := c.newRoom(t)
	conn, acc := c.joined(1, room) // joining needs no consent: members may read first

	r := send(t, conn, room, "hello", "c1")
	if r.Code() != "consent_required" || r.Int("version") != 2 || r.Str("kind") != "health_data" || r.Str("text") != "I agree to share." {
		t.Fatalf("post without consent: %v", r)
	}
	status, out := c.pvDo(t, 0, "GET", "/api/me/consents", acc.Token, nil)
	req, _ := out["required"].(map[string]any)
	if status != http.StatusOK || req["version"] != float64(2) || req["text"] != "I agree to share." {
		t.Fatalf("consents: %d %v", status, out)
	}
	for _, bad := range []map[string]any{
		{"kind": "marketing", "version": 2},
		{"kind": "health_data", "version": 1},
		{"kind": "health_data"},
	} {
		status, out := c.pvDo(t, 0, "POST", "/api/me/consents", acc.Token, bad)
		pvWant(t, fmt.Sprintf("grant %v", bad), status, http.StatusBadRequest, out)
	}
	status, out = c.pvDo(t, 0, "DELETE", "/api/me/consents/health_data", acc.Token, nil)
	pvWant(t, "withdraw before any grant", status, http.StatusNotFound, out)
	status, out = c.pvDo(t, 0, "DELETE", "/api/me/consents/marketing", acc.Token, nil)
	pvWant(t, "withdraw unknown kind", status, http.StatusBadRequest, out)
	status, out = c.pvDo(t, 0, "GET", "/api/me/consents", "", nil)
	pvWant(t, "consents signed out", status, http.StatusUnauthorized, out)

	grantHealth(t, c, 0, acc.Token, 2)
	if r := send(t, conn, room, "hello", "c2"); r.Type() != "ok" {
		t.Fatalf("post after consent on the other node: %v", r)
	}
	status, out = c.pvDo(t, 0, "DELETE", "/api/me/consents/health_data", acc.Token, nil)
	pvWant(t, "withdraw", status, http.StatusOK, out)
	if r := send(t, conn, room, "still here?", "c3"); r.Code() != "consent_required" {
		t.Fatalf("post right after withdrawal on the other node: %v", r)
	}
	status, out = c.pvDo(t, 1, "GET", "/api/me/consents", acc.Token, nil)
	list, _ := out["consents"].([]any)
	if status != http.StatusOK || len(list) != 1 || list[0].(map[string]any)["active"] != false {
		t.Fatalf("consent history: %d %v", status, out)
	}
}

func TestPrivacySQLite(t *testing.T)  { runPrivacySuite(t, sqliteSetup()) }
func TestPrivacyCluster(t *testing.T) { runPrivacySuite(t, postgresSetup(2, true)) }

// pvClock is the retention job's fake clock, moved by the test.
type pvClock struct{ off atomic.Int64 }

func (c *pvClock) now() time.Time       { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *pvClock) skip(d time.Duration) { c.off.Add(int64(d)) }
func (c *pvClock) reset()               { c.off.Store(0) }
func auditHas(es []any, action, target string) map[string]any {
	for _, e := range es {
		m, _ := e.(map[string]any)
		if m["action"] == action && m["target"] == target {
			return m
		}
	}
	return nil
}

func runPrivacySuite(t *testing.T, s setup) {
	clock := &pvClock{}
	c := startPrivacyCluster(t, s, server.PrivacyConfig{HealthConsentVersion: 1, RetentionInterval: 50 * time.Millisecond, Now: clock.now})
	far := len(c.Nodes) - 1
	audit := func(t *testing.T) []any {
		t.Helper()
		status, out := c.pvDo(t, 0, "GET", "/api/audit?limit=200", c.adminToken(), nil)
		pvWant(t, "audit", status, http.StatusOK, out)
		es, _ := out["entries"].([]any)
		return es
	}

	t.Run("Export", func(t *testing.T) {
		room := c.newRoom(t)
		other, otherAcc := c.joined(0, room)
		grantHealth(t, c, 0, otherAcc.Token, 1)
		theirs := send(t, other, room, "someone else's words", "o1").Int("seq")
		conn, acc := c.joined(far, room)
		grantHealth(t, c, far, acc.Token, 1)
		m1 := send(t, conn, room, "first words", "e1").Int("seq")
		m2 := send(t, conn, room, "words I took back", "e2").Int("seq")
		if r := rvDo(t, conn, "delete", map[string]any{"room": room, "seq": m2}); r.Type() != "ok" {
			t.Fatalf("delete own: %v", r)
		}
		if r := rvDo(t, conn, "report", map[string]any{"room": room, "seq": theirs, "reason": "rude", "category": "harassment"}); r.Type() != "ok" {
			t.Fatalf("report: %v", r)
		}
		req, _ := http.NewRequestWithContext(ctxT(t, 10*time.Second), "GET", c.node(0).URL+"/api/me/export", nil)
		req.Header.Set("Authorization", "Bearer "+acc.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
			t.Fatalf("export: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
		}
		var x struct {
			Format string           `json:"format"`
			User   map[string]any   `json:"user"`
			Mems   []map[string]any `json:"memberships"`
			Msgs   []map[string]any `json:"messages"`
			Cons   []map[string]any `json:"consents"`
			Sess   []map[string]any `json:"sessions"`
			Reps   []map[string]any `json:"reports"`
		}
		if err := json.Unmarshal(body, &x); err != nil {
			t.Fatalf("export is not JSON: %v", err)
		}
		if x.Format != "haven.export.v1" || x.User["id"] != acc.ID || x.User["email"] != strings.ToLower(acc.Email) ||
			x.User["display_name"] != acc.DisplayName {
			t.Fatalf("export profile: %s", body)
		}
		if len(x.Mems) != 1 || x.Mems[0]["room"] != room || x.Mems[0]["accepted_guidelines_version"] != float64(1) {
			t.Fatalf("memberships: %v", x.Mems)
		}
		if len(x.Msgs) != 2 || x.Msgs[0]["seq"] != float64(m1) || x.Msgs[0]["text"] != "first words" ||
			x.Msgs[1]["text"] != "words I took back" || x.Msgs[1]["deleted"] != true {
			t.Fatalf("messages: %v", x.Msgs)
		}
		if len(x.Reps) != 1 || x.Reps[0]["seq"] != float64(theirs) || x.Reps[0]["reason"] != "rude" || x.Reps[0]["room"] != room {
			t.Fatalf("reports: %v", x.Reps)
		}
		if len(x.Cons) != 1 || x.Cons[0]["kind"] != "health_data" || len(x.Sess) != 1 || x.Sess[0]["current"] != true {
			t.Fatalf("consents %v sessions %v", x.Cons, x.Sess)
		}
		if bytes.Contains(body, []byte("token_hash")) || bytes.Contains(body, []byte(otherAcc.Email)) {
			t.Fatal("the export holds a token hash or another member's email")
		}
		if auditHas(audit(t), "export_data", acc.ID) == nil {
			t.Fatal("the export is not in the audit log")
		}
		status, out := c.pvDo(t, 0, "GET", "/api/me/export", "", nil)
		pvWant(t, "export signed out", status, http.StatusUnauthorized, out)
	})

	t.Run("Erase", func(t *testing.T) {
		room := c.newRoom(t)
		conn, acc := c.joined(far, room)
		grantHealth(t, c, far, acc.Token, 1)
		plain := send(t, conn, room, "call me on 555 0100", "x1").Int("seq")
		held := send(t, conn, room, "examplumab gave me a rash", "x2")
		// The AE case puts the message under legal hold, as the pipeline's screen would.
		info, err := c.Nodes[0].St.RoomBySlug(ctxT(t, 5*time.Second), room)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Nodes[0].St.OpenAECase(ctxT(t, 5*time.Second), store.NewAECase{RoomID: info.ID,
			MessageID: held.Str("message_id"), MessageSeq: held.Int("seq"), AuthorID: acc.ID, Text: "examplumab gave me a rash",
			AwareAt: time.Now()}); err != nil {
			t.Fatalf("open AE case: %v", err)
		}
		watcher, _ := c.joined(0, room)

		status, out := c.pvDo(t, 0, "DELETE", "/api/me", acc.Token, map[string]any{})
		pvWant(t, "erase without password", status, http.StatusBadRequest, out)
		status, out = c.pvDo(t, 0, "DELETE", "/api/me", acc.Token, map[string]any{"password": "wrong password!"})
		pvWant(t, "erase with a wrong password", status, http.StatusUnauthorized, out)
		status, out = c.pvDo(t, 0, "DELETE", "/api/me", acc.Token, map[string]any{"password": "correct horse battery"})
		pvWant(t, "erase", status, http.StatusOK, out)
		if out["messages"] != float64(1) || out["legal_hold_kept"] != float64(1) || out["content"] != "delete" {
			t.Fatalf("erase reply: %v", out)
		}
		pseudonym, _ := out["pseudonym"].(string)
		if !wsclient.Wait(conn.Done(), 5*time.Second) {
			t.Fatal("the erased member's socket on the other node stayed open")
		}
		status, out = c.pvDo(t, 0, "GET", "/api/me", acc.Token, nil)
		pvWant(t, "session after erasure", status, http.StatusUnauthorized, out)
		status, out = c.pvDo(t, 0, "POST", "/api/login", "", map[string]any{"email": acc.Email, "password": "correct horse battery"})
		pvWant(t, "login after erasure", status, http.StatusUnauthorized, out)

		// A member with the room open on another node sees both go at once, newest first.
		for _, seq := range []int64{held.Int("seq"), plain} {
			if d := nextOf(t, watcher, "message_deleted"); d.Int("seq") != seq || d.Str("room") != room || d.Str("by") != "author" {
				t.Fatalf("live tombstone = %v, want seq %d by the author", d, seq)
			}
		}
		// Members see both messages gone after a reload; the store keeps the legal-hold text.
		again := c.dial(0, c.member(0))
		hist, _ := join(t, again, room, nil)["messages"].([]any)
		seen := map[int64]map[string]any{}
		for _, m := range hist {
			mm := m.(map[string]any)
			seen[int64(mm["seq"].(float64))] = mm
		}
		for _, seq := range []int64{plain, held.Int("seq")} {
			if m := seen[seq]; m == nil || m["deleted"] != true || m["text"] != "" {
				t.Fatalf("seq %d after erasure, as members see it: %v", seq, m)
			}
		}
		kept, err := c.Nodes[0].St.MessageBySeq(ctxT(t, 5*time.Second), info.ID, held.Int("seq"))
		if err != nil || kept.Text != "examplumab gave me a rash" || kept.Author.ID != acc.ID || kept.Author.DisplayName != pseudonym {
			t.Fatalf("legal-hold message in the store: %+v, %v", kept, err)
		}
		gone, err := c.Nodes[0].St.MessageBySeq(ctxT(t, 5*time.Second), info.ID, plain)
		if err != nil || gone.Text != "" {
			t.Fatalf("erased message in the store: %+v, %v", gone, err)
		}
		e := auditHas(audit(t), "erase_account", acc.ID)
		raw, _ := json.Marshal(e)
		if e == nil || e["actor"] != acc.ID || bytes.Contains(raw, []byte(acc.Email)) || bytes.Contains(raw, []byte(acc.DisplayName)) {
			t.Fatalf("erase_account audit entry: %s", raw)
		}
		status, out = c.pvDo(t, 0, "GET", "/api/audit/verify", c.adminToken(), nil)
		if status != http.StatusOK || out["ok"] != true {
			t.Fatalf("audit chain after erasure: %d %v", status, out)
		}
	})

	t.Run("AdminErase", func(t *testing.T) {
		target, peer := c.member(0), c.member(far)
		status, out := c.pvDo(t, 0, "DELETE", "/api/users/"+target.ID, peer.Token, map[string]any{"reason": "x"})
		pvWant(t, "erase by a member", status, http.StatusForbidden, out)
		status, out = c.pvDo(t, 0, "DELETE", "/api/users/"+target.ID, c.adminToken(), map[string]any{"reason": "  "})
		pvWant(t, "erase without reason", status, http.StatusBadRequest, out)
		status, out = c.pvDo(t, 0, "DELETE", "/api/users/u_nobody", c.adminToken(), map[string]any{"reason": "request by email"})
		pvWant(t, "erase unknown user", status, http.StatusNotFound, out)
		var me struct {
			User struct {
				ID string `json:"id"`
			} `json:"user"`
		}
		if _, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "GET", c.node(0).URL+"/api/me", c.adminToken(), nil, &me); err != nil {
			t.Fatal(err)
		}
		status, out = c.pvDo(t, 0, "DELETE", "/api/users/"+me.User.ID, c.adminToken(), map[string]any{"reason": "oops"})
		pvWant(t, "erase an admin", status, http.StatusConflict, out)
		room := c.newRoom(t)
		tconn := c.dial(0, target)
		join(t, tconn, room, nil)
		grantHealth(t, c, 0, target.Token, 1)
		seq := send(t, tconn, room, "a post an admin will erase", "ae1").Int("seq")
		watcher, _ := c.joined(far, room)
		status, out = c.pvDo(t, far, "DELETE", "/api/users/"+target.ID, c.adminToken(), map[string]any{"reason": "request by email"})
		pvWant(t, "admin erase", status, http.StatusOK, out)
		if d := nextOf(t, watcher, "message_deleted"); d.Int("seq") != seq || d.Str("by") != "moderator" {
			t.Fatalf("live tombstone after an admin's erasure = %v", d)
		}
		status, out = c.pvDo(t, 0, "DELETE", "/api/users/"+target.ID, c.adminToken(), map[string]any{"reason": "request by email"})
		pvWant(t, "erase twice", status, http.StatusNotFound, out)
		if e := auditHas(audit(t), "erase_account", target.ID); e == nil || e["reason"] != "request by email" {
			t.Fatalf("admin erasure audit: %v", e)
		}
	})

	t.Run("Retention", func(t *testing.T) {
		defer clock.reset()
		room := c.newRoom(t)
		conn, acc := c.joined(far, room)
		grantHealth(t, c, far, acc.Token, 1)
		old := send(t, conn, room, "an old message", "r1")
		holdMsg := send(t, conn, room, "an old message under hold", "r2")
		info, err := c.Nodes[0].St.RoomBySlug(ctxT(t, 5*time.Second), room)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Nodes[0].St.OpenAECase(ctxT(t, 5*time.Second), store.NewAECase{RoomID: info.ID,
			MessageID: holdMsg.Str("message_id"), MessageSeq: holdMsg.Int("seq"), AuthorID: acc.ID, Text: "x",
			AwareAt: time.Now()}); err != nil {
			t.Fatalf("open AE case: %v", err)
		}
		for _, bad := range []struct {
			token string
			days  any
			want  int
		}{
			{acc.Token, 30, http.StatusForbidden},
			{c.adminToken(), -1, http.StatusBadRequest},
			{c.adminToken(), 40000, http.StatusBadRequest},
			{c.adminToken(), "thirty", http.StatusBadRequest},
		} {
			status, out := c.pvDo(t, 0, "PATCH", "/api/rooms/"+room, bad.token, map[string]any{"retention_days": bad.days})
			pvWant(t, fmt.Sprintf("retention %v", bad.days), status, bad.want, out)
		}
		status, out := c.pvDo(t, 0, "PATCH", "/api/rooms/"+room, c.adminToken(), map[string]any{"retention_days": 30})
		pvWant(t, "set retention", status, http.StatusOK, out)
		status, out = c.pvDo(t, far, "GET", "/api/rooms/"+room+"/retention", acc.Token, nil)
		if status != http.StatusOK || out["retention_days"] != float64(30) {
			t.Fatalf("read retention: %d %v", status, out)
		}
		before := metricValue(t, c.node(0).URL, "haven_retention_messages_removed_total")
		// 29 days on: nothing is old enough yet.
		clock.skip(29 * 24 * time.Hour)
		time.Sleep(200 * time.Millisecond) // several passes of the 50 ms job
		if m, _ := c.Nodes[0].St.MessageBySeq(ctxT(t, 5*time.Second), info.ID, old.Int("seq")); m.Text == "" {
			t.Fatal("retention removed a message younger than the room's retention")
		}
		clock.skip(2 * 24 * time.Hour)
		waitFor(t, func() bool {
			m, err := c.Nodes[0].St.MessageBySeq(ctxT(t, 5*time.Second), info.ID, old.Int("seq"))
			return err == nil && m.Text == "" && m.Deleted()
		})
		kept, err := c.Nodes[0].St.MessageBySeq(ctxT(t, 5*time.Second), info.ID, holdMsg.Int("seq"))
		if err != nil || kept.Text != "an old message under hold" || kept.Deleted() {
			t.Fatalf("legal-hold message after retention: %+v, %v", kept, err)
		}
		// The job counts a pass's removals after the store has committed them.
		waitFor(t, func() bool {
			after := metricValue(t, c.node(0).URL, "haven_retention_messages_removed_total")
			t.Logf("haven_retention_messages_removed_total %v → %v", before, after)
			return after > before
		})
		if e := auditHas(audit(t), "room_retention", ""); e == nil {
			t.Fatal("the retention change is not audited")
		}
	})
}
