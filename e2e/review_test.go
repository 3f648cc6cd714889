package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/wsclient"
)

func TestReviewSQLite(t *testing.T)  { runReviewSuite(t, sqliteSetup()) }
func TestReviewCluster(t *testing.T) { runReviewSuite(t, postgresSetup(2, true)) }

// rvKit holds the suite's helpers: a moderator on node 0 reviews members on the last node.
type rvKit struct {
	c   *cluster
	far int
}

// mod makes a fresh member the room's moderator and joins them on node 0.
func (k rvKit) mod(t *testing.T, room string) (*wsclient.Conn, wsclient.Account) {
	t.Helper()
	acc := k.c.member(0)
	status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "PUT", k.c.Nodes[0].URL+"/api/rooms/"+room+"/roles/"+acc.ID,
		k.c.adminToken(), []byte(`{"role":"moderator"}`), nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("assign moderator: %d %v", status, err)
	}
	conn := k.c.dial(0, acc)
	join(t, conn, room, nil)
	return conn, acc
}

func rvDo(t *testing.T, conn *wsclient.Conn, typ string, f map[string]any) wsclient.Msg {
	t.Helper()
	r, err := conn.Do(ctxT(t, 5*time.Second), typ, f)
	if err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
	return r
}

// addRule posts a rule as token and returns the status and the created rule.
func (k rvKit) addRule(t *testing.T, room, token, kind, pattern, action, reason string) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"kind": kind, "pattern": pattern, "action": action, "reason": reason})
	var out struct {
		Rule map[string]any `json:"rule"`
	}
	status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "POST", k.c.Nodes[0].URL+"/api/rooms/"+room+"/rules", token, body, &out)
	if err != nil {
		t.Fatalf("add rule: %v", err)
	}
	return status, out.Rule
}

// mustRule adds a rule as the admin, failing the test unless it is created.
func (k rvKit) mustRule(t *testing.T, room, kind, pattern, action, reason string) map[string]any {
	t.Helper()
	status, rule := k.addRule(t, room, k.c.adminToken(), kind, pattern, action, reason)
	if status != http.StatusCreated || rule["id"] == nil {
		t.Fatalf("add %s rule %q: %d %v", kind, pattern, status, rule)
	}
	return rule
}

// syncRules waits until member's node enforces every rule added so far: it adds a probe
// block rule last and sends until the probe is blocked. Rules reach other nodes through
// the broker; once the last one is in force, the earlier ones are too.
func (k rvKit) syncRules(t *testing.T, room string, member *wsclient.Conn) {
	t.Helper()
	k.mustRule(t, room, "word", "syncprobe", "block", "probe")
	n := 0
	waitFor(t, func() bool {
		n++ // a different text each time, so that early sends never count as spam
		return send(t, member, room, fmt.Sprintf("syncprobe %d", n), fmt.Sprintf("probe-%d-%d", n, time.Now().UnixNano())).Code() == "blocked"
	})
}

// nextAsMember returns conn's next event of type typ and fails if a review event arrives
// first: members never see the review queue.
func nextAsMember(t *testing.T, conn *wsclient.Conn, typ string, d time.Duration) wsclient.Msg {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case m := <-conn.Events:
			if strings.HasPrefix(m.Type(), "review.") {
				t.Fatalf("a member received %v", m)
			}
			if m.Type() == typ {
				return m
			}
		case <-timeout:
			t.Fatalf("no %s event within %s", typ, d)
		}
	}
}

// quietFor fails if conn receives, within d, an event bad says it must not.
func quietFor(t *testing.T, conn *wsclient.Conn, d time.Duration, bad func(wsclient.Msg) bool) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case m := <-conn.Events:
			if bad(m) {
				t.Fatalf("unexpected event %v", m)
			}
		case <-timeout:
			return
		}
	}
}

func isReview(m wsclient.Msg) bool { return strings.HasPrefix(m.Type(), "review.") }

func (k rvKit) auditActions(t *testing.T, room string) []string {
	t.Helper()
	var out struct {
		Entries []map[string]any `json:"entries"`
	}
	status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "GET", k.c.Nodes[k.far].URL+"/api/rooms/"+room+"/audit", k.c.adminToken(), nil, &out)
	if err != nil || status != http.StatusOK {
		t.Fatalf("audit: %d %v", status, err)
	}
	var actions []string
	for _, e := range out.Entries {
		actions = append(actions, fmt.Sprint(e["action"]))
	}
	return actions
}

func runReviewSuite(t *testing.T, s setup) {
	c := startCluster(t, s)
	k := rvKit{c: c, far: len(c.Nodes) - 1}
	far := k.far

	t.Run("a block rule refuses with its reason", func(t *testing.T) {
		room := c.newRoom(t)
		member, _ := c.joined(far, room)
		k.mustRule(t, room, "word", "pill", "block", "No trading medication here.")
		k.syncRules(t, room, member)
		r := send(t, member, room, "Selling a PILL, cheap", "b1")
		if r.Code() != "blocked" || r.Str("message") != "No trading medication here." {
			t.Fatalf("blocked send: %v", r)
		}
		if r := send(t, member, room, "my pillow is soft", "b2"); r.Type() != "ok" {
			t.Fatalf("pillow is not pill: %v", r)
		}
	})

	t.Run("held post reaches moderators live; approval publishes it with a new seq", func(t *testing.T) {
		room := c.newRoom(t)
		mod, _ := k.mod(t, room)
		author, authorAcc := c.joined(far, room)
		watcher, _ := c.joined(far, room)
		rule := k.mustRule(t, room, "wildcard", "cur*", "hold", "Cure claims need a moderator's look.")
		k.syncRules(t, room, author)
		before := send(t, author, room, "hello all", "h0").Int("seq")

		r := send(t, author, room, "this will CURE you", "h1")
		heldID := r.Str("held_id")
		if r.Code() != "held" || heldID == "" {
			t.Fatalf("held send: %v", r)
		}
		ev, err := mod.Next(ctxT(t, 5*time.Second), "review.held")
		held, _ := ev["held"].(map[string]any)
		if err != nil || held["id"] != heldID || held["text"] != "this will CURE you" || held["rule_id"] != rule["id"] ||
			held["reason"] != "Cure claims need a moderator's look." || held["author"].(map[string]any)["id"] != authorAcc.ID {
			t.Fatalf("review.held: %v %v", ev, err)
		}
		if r := send(t, author, room, "this will CURE you", "h1"); r.Code() != "held" || r.Str("held_id") != heldID {
			t.Fatalf("resend while held: %v", r)
		}
		if r := rvDo(t, watcher, "approve", map[string]any{"room": room, "held_id": heldID}); r.Code() != "forbidden" {
			t.Fatalf("member approving: %v", r)
		}

		r = rvDo(t, mod, "approve", map[string]any{"room": room, "held_id": heldID})
		seq := r.Int("seq")
		if r.Type() != "ok" || seq <= before || r.Str("message_id") == "" {
			t.Fatalf("approve: %v (seq before %d)", r, before)
		}
		for name, conn := range map[string]*wsclient.Conn{"watcher": watcher, "author": author, "moderator": mod} {
			for {
				var m wsclient.Msg
				if conn == mod {
					m, err = conn.Next(ctxT(t, 5*time.Second), "message")
					if err != nil {
						t.Fatalf("%s did not get the approved message: %v", name, err)
					}
				} else {
					m = nextAsMember(t, conn, "message", 5*time.Second)
				}
				if m.Int("seq") == seq {
					if m.Str("text") != "this will CURE you" || m.Str("message_id") != r.Str("message_id") {
						t.Fatalf("%s got %v", name, m)
					}
					break
				}
				if m.Int("seq") > seq || strings.Contains(m.Str("text"), "CURE") {
					t.Fatalf("%s got %v before the approved seq %d", name, m, seq)
				}
			}
		}
		if r := send(t, author, room, "this will CURE you", "h1"); r.Type() != "ok" || r.Int("seq") != seq {
			t.Fatalf("author's resend after approval: %v, want seq %d", r, seq)
		}
		if ev, err := mod.Next(ctxT(t, 5*time.Second), "review.resolved"); err != nil || ev.Str("id") != heldID ||
			ev.Str("kind") != "held" || ev.Str("decision") != "approved" {
			t.Fatalf("review.resolved: %v %v", ev, err)
		}
		if r := rvDo(t, mod, "approve", map[string]any{"room": room, "held_id": heldID}); r.Code() != "conflict" {
			t.Fatalf("second approval: %v", r)
		}
		if r := rvDo(t, mod, "approve", map[string]any{"room": room, "held_id": "h_nope"}); r.Code() != "not_found" {
			t.Fatalf("unknown held_id: %v", r)
		}
		quietFor(t, watcher, 200*time.Millisecond, isReview)
		quietFor(t, author, 50*time.Millisecond, isReview)
	})

	t.Run("a rejected post stays out", func(t *testing.T) {
		room := c.newRoom(t)
		mod, _ := k.mod(t, room)
		author, _ := c.joined(far, room)
		k.mustRule(t, room, "regex", `(?i)\bbuy\s+now\b`, "hold", "Sales pitch?")
		k.syncRules(t, room, author)
		r := send(t, author, room, "Buy   now!", "r1")
		heldID := r.Str("held_id")
		if r.Code() != "held" {
			t.Fatalf("held send: %v", r)
		}
		if _, err := mod.Next(ctxT(t, 5*time.Second), "review.held"); err != nil {
			t.Fatalf("review.held: %v", err)
		}
		if r := rvDo(t, mod, "reject", map[string]any{"room": room, "held_id": heldID, "reason": "advertising"}); r.Type() != "ok" {
			t.Fatalf("reject: %v", r)
		}
		if ev, err := mod.Next(ctxT(t, 5*time.Second), "review.resolved"); err != nil || ev.Str("decision") != "rejected" {
			t.Fatalf("review.resolved: %v %v", ev, err)
		}
		if r := send(t, author, room, "Buy   now!", "r1"); r.Code() != "blocked" {
			t.Fatalf("resend after rejection: %v", r)
		}
		for _, typ := range []string{"reject", "approve"} {
			if r := rvDo(t, mod, typ, map[string]any{"room": room, "held_id": heldID}); r.Code() != "conflict" {
				t.Fatalf("%s after rejection: %v", typ, r)
			}
		}
		quietFor(t, author, 200*time.Millisecond, func(m wsclient.Msg) bool {
			return isReview(m) || m.Type() == "message" && strings.Contains(m.Str("text"), "Buy")
		})
	})

	t.Run("an alert rule publishes and tells moderators only", func(t *testing.T) {
		room := c.newRoom(t)
		mod, _ := k.mod(t, room)
		member, acc := c.joined(far, room)
		rule := k.mustRule(t, room, "word", "side effects", "alert", "Check for medical advice")
		k.syncRules(t, room, member)
		r := send(t, member, room, "Any SIDE-EFFECTS with this?", "a1")
		if r.Type() != "ok" {
			t.Fatalf("alert send: %v", r)
		}
		ev, err := mod.Next(ctxT(t, 5*time.Second), "review.alert")
		if err != nil || ev.Int("seq") != r.Int("seq") || ev.Str("rule_id") != rule["id"] ||
			ev["author"].(map[string]any)["id"] != acc.ID {
			t.Fatalf("review.alert: %v %v", ev, err)
		}
		quietFor(t, member, 200*time.Millisecond, isReview)
	})

	t.Run("a report reaches moderators without the reporter", func(t *testing.T) {
		room := c.newRoom(t)
		mod, modAcc := k.mod(t, room)
		author, authorAcc := c.joined(far, room)
		reporter, reporterAcc := c.joined(far, room)
		seq := send(t, author, room, "you are all idiots", "x1").Int("seq")
		if r := rvDo(t, reporter, "report", map[string]any{"room": room, "seq": seq, "reason": "rude", "category": "gossip"}); r.Code() != "bad_request" {
			t.Fatalf("unknown category: %v", r)
		}
		r := rvDo(t, reporter, "report", map[string]any{"room": room, "seq": seq, "reason": "rude", "category": "harassment"})
		reportID := r.Str("report_id")
		if r.Type() != "ok" || reportID == "" {
			t.Fatalf("report: %v", r)
		}
		ev, err := mod.Next(ctxT(t, 5*time.Second), "review.report")
		if err != nil {
			t.Fatalf("review.report: %v", err)
		}
		rep, _ := ev["report"].(map[string]any)
		raw, _ := json.Marshal(ev)
		if rep["id"] != reportID || rep["category"] != "harassment" || rep["snapshot"] != "you are all idiots" ||
			rep["author"].(map[string]any)["id"] != authorAcc.ID || int64(rep["seq"].(float64)) != seq {
			t.Fatalf("review.report: %v", ev)
		}
		if strings.Contains(string(raw), reporterAcc.ID) {
			t.Fatalf("review.report names the reporter: %s", raw)
		}
		var queue map[string]any
		status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "GET", c.Nodes[far].URL+"/api/rooms/"+room+"/queue", modAcc.Token, nil, &queue)
		rawQ, _ := json.Marshal(queue)
		if err != nil || status != http.StatusOK || !strings.Contains(string(rawQ), reportID) || strings.Contains(string(rawQ), reporterAcc.ID) {
			t.Fatalf("queue: %d %v %s", status, err, rawQ)
		}
		if r := rvDo(t, author, "resolve_report", map[string]any{"room": room, "report_id": reportID, "outcome": "dismissed"}); r.Code() != "forbidden" {
			t.Fatalf("member resolving: %v", r)
		}
		if r := rvDo(t, mod, "resolve_report", map[string]any{"room": room, "report_id": reportID, "outcome": "dismissed"}); r.Type() != "ok" {
			t.Fatalf("resolve: %v", r)
		}
		if r := rvDo(t, mod, "resolve_report", map[string]any{"room": room, "report_id": reportID, "outcome": "actioned"}); r.Code() != "conflict" {
			t.Fatalf("second resolve: %v", r)
		}
		if ev, err := mod.Next(ctxT(t, 5*time.Second), "review.resolved"); err != nil || ev.Str("kind") != "report" || ev.Str("decision") != "dismissed" {
			t.Fatalf("review.resolved: %v %v", ev, err)
		}
		// The author hears nothing of the report, least of all who made it.
		quietFor(t, author, 300*time.Millisecond, func(m wsclient.Msg) bool {
			b, _ := json.Marshal(m)
			return isReview(m) || strings.Contains(string(b), reporterAcc.ID) && m.Type() != "presence"
		})
	})

	t.Run("rules API: refusals and permissions", func(t *testing.T) {
		room := c.newRoom(t)
		_, modAcc := k.mod(t, room)
		_, memberAcc := c.joined(far, room)
		for _, p := range []string{`(a)\1`, `.*`, `a?`, `((((a{20}){20}){20}){20})`, `[a-z]{1000}x`, strings.Repeat("x", 201)} {
			if status, _ := k.addRule(t, room, modAcc.Token, "regex", p, "block", ""); status != http.StatusBadRequest {
				t.Errorf("regex %.40q: %d, want 400", p, status)
			}
		}
		if status, _ := k.addRule(t, room, memberAcc.Token, "word", "pill", "block", ""); status != http.StatusForbidden {
			t.Errorf("member adding a rule: %d", status)
		}
		for _, path := range []string{"/rules", "/queue"} {
			if status, _ := wsclient.DoJSON(ctxT(t, 5*time.Second), "GET", c.Nodes[0].URL+"/api/rooms/"+room+path, memberAcc.Token, nil, nil); status != http.StatusForbidden {
				t.Errorf("member GET %s: %d", path, status)
			}
			if status, _ := wsclient.DoJSON(ctxT(t, 5*time.Second), "GET", c.Nodes[0].URL+"/api/rooms/no-such-room"+path, modAcc.Token, nil, nil); status != http.StatusNotFound {
				t.Errorf("GET %s of an unknown room: %d", path, status)
			}
		}
		if status, _ := k.addRule(t, room, modAcc.Token, "word", "pill", "block", ""); status != http.StatusCreated {
			t.Errorf("room moderator adding a rule: %d", status)
		}
		if status, _ := wsclient.DoJSON(ctxT(t, 5*time.Second), "DELETE", c.Nodes[0].URL+"/api/rooms/"+room+"/rules/rl_nope", modAcc.Token, nil, nil); status != http.StatusNotFound {
			t.Errorf("delete unknown rule: %d", status)
		}
	})

	t.Run("rule, room, role and delete changes are audited", func(t *testing.T) {
		room := c.newRoom(t)
		mod, _ := k.mod(t, room)
		member, memberAcc := c.joined(far, room)
		rule := k.mustRule(t, room, "word", "pill", "block", "")
		status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "DELETE", c.Nodes[0].URL+"/api/rooms/"+room+"/rules/"+fmt.Sprint(rule["id"]), c.adminToken(), nil, nil)
		if err != nil || status != http.StatusNoContent {
			t.Fatalf("delete rule: %d %v", status, err)
		}
		var list struct {
			Rules []map[string]any `json:"rules"`
		}
		if status, _ := wsclient.DoJSON(ctxT(t, 5*time.Second), "GET", c.Nodes[far].URL+"/api/rooms/"+room+"/rules", c.adminToken(), nil, &list); status != http.StatusOK || len(list.Rules) != 0 {
			t.Fatalf("rules after delete: %d %v", status, list.Rules)
		}
		if status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "PATCH", c.Nodes[0].URL+"/api/rooms/"+room, c.adminToken(), []byte(`{"name":"Renamed"}`), nil); err != nil || status != http.StatusOK {
			t.Fatalf("patch room: %d %v", status, err)
		}
		if status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "PUT", c.Nodes[0].URL+"/api/rooms/"+room+"/roles/"+memberAcc.ID, c.adminToken(), []byte(`{"role":"host"}`), nil); err != nil || status != http.StatusOK {
			t.Fatalf("room role: %d %v", status, err)
		}
		seq := send(t, member, room, "delete me", "d1").Int("seq")
		if r := rvDo(t, mod, "delete", map[string]any{"room": room, "seq": seq}); r.Type() != "ok" {
			t.Fatalf("moderator delete: %v", r)
		}
		got := strings.Join(k.auditActions(t, room), ",")
		for _, want := range []string{"rule_add", "rule_remove", "room_update", "room_role", "delete"} {
			if !strings.Contains(got, want) {
				t.Errorf("audit log %s lacks %s", got, want)
			}
		}
	})

	t.Run("the same text a third time within a minute is spam", func(t *testing.T) {
		room := c.newRoom(t)
		member, _ := c.joined(far, room)
		for i, text := range []string{"Join my group", "join  MY group"} {
			if r := send(t, member, room, text, fmt.Sprintf("s%d", i)); r.Type() != "ok" {
				t.Fatalf("copy %d: %v", i+1, r)
			}
		}
		if r := send(t, member, room, "JOIN MY GROUP", "s3"); r.Code() != "spam" || r.Int("retry_after_ms") <= 0 {
			t.Fatalf("third copy: %v", r)
		}
	})
}
