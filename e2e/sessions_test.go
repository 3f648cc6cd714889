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

func TestSessionsSQLite(t *testing.T)  { runSessionsSuite(t, sqliteSetup()) }
func TestSessionsCluster(t *testing.T) { runSessionsSuite(t, postgresSetup(2, true)) }

// ssDo sends a command and returns its reply, failing on transport errors only.
func ssDo(t *testing.T, conn *wsclient.Conn, typ string, f map[string]any) wsclient.Msg {
	t.Helper()
	r, err := conn.Do(ctxT(t, 5*time.Second), typ, f)
	if err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
	return r
}

// ssHTTP sends a JSON request to node 0 as token and decodes the reply.
func ssHTTP(t *testing.T, c *cluster, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	var out map[string]any
	status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), method, c.Nodes[0].URL+path, token, b, &out)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return status, out
}

// nextWhere returns conn's next event of type typ that ok accepts, skipping others.
func nextWhere(t *testing.T, conn *wsclient.Conn, typ string, ok func(wsclient.Msg) bool) wsclient.Msg {
	t.Helper()
	ctx := ctxT(t, 5*time.Second)
	for {
		m, err := conn.Next(ctx, typ)
		if err != nil {
			t.Fatalf("no matching %s event: %v", typ, err)
		}
		if ok(m) {
			return m
		}
	}
}

func obj(m map[string]any, k string) map[string]any { v, _ := m[k].(map[string]any); return v }

func errCode(out map[string]any) string { s, _ := obj(out, "error")["code"].(string); return s }

func runSessionsSuite(t *testing.T, s setup) {
	c := startCluster(t, s)
	far := len(c.Nodes) - 1
	admin := c.adminToken()

	room := c.newRoom(t)
	// The host: a verified clinician (an admin grants the role), on node 0.
	hostAcc := c.member(0)
	if status, out := ssHTTP(t, c, "PUT", "/api/users/"+hostAcc.ID+"/role", admin, map[string]any{"role": "clinician"}); status != http.StatusOK {
		t.Fatalf("make clinician: %d %v", status, out)
	}
	host := c.dial(0, hostAcc)
	join(t, host, room, nil)
	// Attendees on the last node.
	attendee, attAcc := c.joined(far, room)
	voter, _ := c.joined(far, room)

	var sessionID string
	t.Run("schedule, list with sponsor, non-host start refused, host starts", func(t *testing.T) {
		starts := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		status, out := ssHTTP(t, c, "POST", "/api/sessions", attAcc.Token, map[string]any{"room": room, "title": "Ask a nurse",
			"host": hostAcc.ID, "starts_at": starts})
		if status != http.StatusForbidden || errCode(out) != "forbidden" {
			t.Fatalf("a member scheduling: %d %v", status, out)
		}
		status, out = ssHTTP(t, c, "POST", "/api/sessions", admin, map[string]any{"room": room, "title": "Ask a nurse",
			"host": hostAcc.ID, "starts_at": starts, "sponsor": "Sponsored by Acme Health"})
		sess := obj(out, "session")
		sessionID, _ = sess["id"].(string)
		if status != http.StatusCreated || sessionID == "" || sess["state"] != "scheduled" || sess["host_id"] != hostAcc.ID ||
			sess["room"] != room || sess["kind"] != "webinar" || obj(sess, "host")["verified"] != true {
			t.Fatalf("schedule: %d %v", status, out)
		}

		var list struct {
			Sessions []map[string]any `json:"sessions"`
		}
		st, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "GET", c.node(far).URL+"/api/sessions?room="+room, attAcc.Token, nil, &list)
		if err != nil || st != http.StatusOK || len(list.Sessions) != 1 || list.Sessions[0]["id"] != sessionID ||
			list.Sessions[0]["sponsor"] != "Sponsored by Acme Health" || list.Sessions[0]["title"] != "Ask a nurse" {
			t.Fatalf("member's list: %d %v %v", st, list, err)
		}

		status, out = ssHTTP(t, c, "POST", "/api/sessions/"+sessionID+"/start", attAcc.Token, nil)
		if status != http.StatusForbidden || errCode(out) != "forbidden" {
			t.Fatalf("a member starting: %d %v", status, out)
		}
		status, out = ssHTTP(t, c, "POST", "/api/sessions/"+sessionID+"/start", hostAcc.Token, nil)
		if status != http.StatusOK || obj(out, "session")["state"] != "live" || obj(out, "session")["started_at"] == nil {
			t.Fatalf("host starting: %d %v", status, out)
		}
		// Attendees on the other node hear of it.
		ev := nextWhere(t, attendee, "session.update", func(m wsclient.Msg) bool { return obj(m, "session")["state"] == "live" })
		if obj(ev, "session")["id"] != sessionID || obj(ev, "session")["sponsor"] != "Sponsored by Acme Health" {
			t.Fatalf("session.update: %v", ev)
		}
		status, out = ssHTTP(t, c, "POST", "/api/sessions/"+sessionID+"/start", hostAcc.Token, nil)
		if status != http.StatusConflict {
			t.Fatalf("starting twice: %d %v", status, out)
		}
	})
	if sessionID == "" {
		t.FailNow()
	}

	t.Run("Q&A across nodes: ask, live to the host, upvote once, answered", func(t *testing.T) {
		r := ssDo(t, attendee, "qa.ask", map[string]any{"room": room, "session": sessionID, "text": "How do you manage lows at night?"})
		qid := r.Str("question_id")
		if r.Type() != "ok" || qid == "" || r.Str("status") != "open" {
			t.Fatalf("qa.ask: %v", r)
		}
		ev := nextWhere(t, host, "qa.question", func(m wsclient.Msg) bool { return obj(m, "question")["id"] == qid })
		q := obj(ev, "question")
		if q["text"] != "How do you manage lows at night?" || q["status"] != "open" || obj(q, "author")["id"] != attAcc.ID ||
			q["session"] != sessionID || ev.Str("room") != room {
			t.Fatalf("host's qa.question: %v", ev)
		}

		r1 := ssDo(t, voter, "qa.vote", map[string]any{"room": room, "question_id": qid})
		r2 := ssDo(t, voter, "qa.vote", map[string]any{"room": room, "question_id": qid})
		if r1.Type() != "ok" || r1.Int("votes") != 1 || r1["counted"] != true || r2.Type() != "ok" || r2.Int("votes") != 1 || r2["counted"] != false {
			t.Fatalf("voting twice: %v then %v", r1, r2)
		}
		nextWhere(t, host, "qa.update", func(m wsclient.Msg) bool { return m.Str("question_id") == qid && m.Int("votes") == 1 })

		if r := ssDo(t, attendee, "qa.answer", map[string]any{"room": room, "question_id": qid}); r.Code() != "forbidden" {
			t.Fatalf("an attendee answering: %v", r)
		}
		if r := ssDo(t, host, "qa.answer", map[string]any{"room": room, "question_id": qid}); r.Type() != "ok" || r.Str("status") != "answered" {
			t.Fatalf("qa.answer: %v", r)
		}
		up := nextWhere(t, attendee, "qa.update", func(m wsclient.Msg) bool { return m.Str("question_id") == qid && m.Str("status") == "answered" })
		if obj(up, "by")["id"] != hostAcc.ID || up.Int("votes") != 1 {
			t.Fatalf("qa.update answered: %v", up)
		}
		if r := ssDo(t, voter, "qa.vote", map[string]any{"room": room, "question_id": qid}); r.Code() != "conflict" {
			t.Fatalf("a vote on an answered question: %v", r)
		}
		var qs struct {
			Questions []map[string]any `json:"questions"`
		}
		st, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "GET", c.node(far).URL+"/api/sessions/"+sessionID+"/questions", attAcc.Token, nil, &qs)
		if err != nil || st != http.StatusOK || len(qs.Questions) != 1 || qs.Questions[0]["status"] != "answered" || qs.Questions[0]["votes"] != float64(1) {
			t.Fatalf("GET questions: %d %v %v", st, qs, err)
		}
	})

	t.Run("a muted member's question is refused with muted", func(t *testing.T) {
		muted, mutedAcc := c.joined(far, room)
		mod := c.dial(0, wsclient.Account{Token: admin})
		join(t, mod, room, nil)
		if r := ssDo(t, mod, "mute", map[string]any{"room": room, "user": mutedAcc.ID, "duration_s": 600, "reason": "cool off"}); r.Type() != "ok" {
			t.Fatalf("mute: %v", r)
		}
		if _, err := muted.Next(ctxT(t, 5*time.Second), "moderation"); err != nil {
			t.Fatalf("muted member not told: %v", err)
		}
		r := ssDo(t, muted, "qa.ask", map[string]any{"room": room, "session": sessionID, "text": "may I?"})
		if r.Code() != "muted" || r.Str("until") == "" {
			t.Fatalf("muted qa.ask: %v", r)
		}
	})

	t.Run("polls: open, vote, second vote conflict, live results, close", func(t *testing.T) {
		r := ssDo(t, attendee, "poll.open", map[string]any{"room": room, "session": sessionID, "question": "mine?", "options": []string{"a", "b"}})
		if r.Code() != "forbidden" {
			t.Fatalf("an attendee opening a poll: %v", r)
		}
		r = ssDo(t, host, "poll.open", map[string]any{"room": room, "session": sessionID, "question": "How are you sleeping?",
			"options": []string{"Badly", "OK", "Well"}})
		pid := r.Str("poll_id")
		if r.Type() != "ok" || pid == "" {
			t.Fatalf("poll.open: %v", r)
		}
		ev := nextWhere(t, attendee, "poll.results", func(m wsclient.Msg) bool { return obj(m, "poll")["id"] == pid })
		if p := obj(ev, "poll"); p["question"] != "How are you sleeping?" || p["state"] != "open" || p["total"] != float64(0) ||
			fmt.Sprint(p["options"]) != "[Badly OK Well]" || fmt.Sprint(p["counts"]) != "[0 0 0]" {
			t.Fatalf("poll opened: %v", ev)
		}

		if r := ssDo(t, attendee, "poll.vote", map[string]any{"room": room, "poll_id": pid, "option": 2}); r.Type() != "ok" ||
			obj(r, "poll")["total"] != float64(1) {
			t.Fatalf("poll.vote: %v", r)
		}
		if r := ssDo(t, attendee, "poll.vote", map[string]any{"room": room, "poll_id": pid, "option": 0}); r.Code() != "conflict" {
			t.Fatalf("second vote: %v", r)
		}
		if r := ssDo(t, voter, "poll.vote", map[string]any{"room": room, "poll_id": pid, "option": 0}); r.Type() != "ok" {
			t.Fatalf("voter's vote: %v", r)
		}
		// Results reach the host on node 0 live.
		ev = nextWhere(t, host, "poll.results", func(m wsclient.Msg) bool {
			return obj(m, "poll")["id"] == pid && obj(m, "poll")["total"] == float64(2)
		})
		if got := fmt.Sprint(obj(ev, "poll")["counts"]); got != "[1 0 1]" {
			t.Fatalf("live counts = %s, want [1 0 1]", got)
		}

		if r := ssDo(t, attendee, "poll.close", map[string]any{"room": room, "poll_id": pid}); r.Code() != "forbidden" {
			t.Fatalf("an attendee closing: %v", r)
		}
		if r := ssDo(t, host, "poll.close", map[string]any{"room": room, "poll_id": pid}); r.Type() != "ok" || obj(r, "poll")["state"] != "closed" {
			t.Fatalf("poll.close: %v", r)
		}
		ev = nextWhere(t, attendee, "poll.results", func(m wsclient.Msg) bool {
			return obj(m, "poll")["id"] == pid && obj(m, "poll")["state"] == "closed"
		})
		if obj(ev, "poll")["total"] != float64(2) {
			t.Fatalf("final results: %v", ev)
		}
		late, _ := c.joined(far, room)
		if r := ssDo(t, late, "poll.vote", map[string]any{"room": room, "poll_id": pid, "option": 1}); r.Code() != "conflict" {
			t.Fatalf("a vote after the close: %v", r)
		}
		var ps struct {
			Polls []map[string]any `json:"polls"`
		}
		st, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "GET", c.node(far).URL+"/api/sessions/"+sessionID+"/polls", attAcc.Token, nil, &ps)
		if err != nil || st != http.StatusOK || len(ps.Polls) != 1 || ps.Polls[0]["state"] != "closed" || fmt.Sprint(ps.Polls[0]["counts"]) != "[1 0 1]" {
			t.Fatalf("GET polls: %d %v %v", st, ps, err)
		}
	})

	t.Run("bad inputs get clear errors", func(t *testing.T) {
		if status, out := ssHTTP(t, c, "GET", "/api/sessions/ss_nope", attAcc.Token, nil); status != http.StatusNotFound || errCode(out) != "not_found" {
			t.Fatalf("unknown session: %d %v", status, out)
		}
		if status, out := ssHTTP(t, c, "GET", "/api/sessions/ss_nope/questions", attAcc.Token, nil); status != http.StatusNotFound {
			t.Fatalf("questions of an unknown session: %d %v", status, out)
		}
		if status, out := ssHTTP(t, c, "GET", "/api/sessions", attAcc.Token, nil); status != http.StatusBadRequest {
			t.Fatalf("list without a room: %d %v", status, out)
		}
		if status, out := ssHTTP(t, c, "GET", "/api/sessions?room=no-such-room", attAcc.Token, nil); status != http.StatusNotFound {
			t.Fatalf("list of an unknown room: %d %v", status, out)
		}
		for name, body := range map[string]map[string]any{
			"bad starts_at":  {"room": room, "title": "t", "host": hostAcc.ID, "starts_at": "tomorrow"},
			"no starts_at":   {"room": room, "title": "t", "host": hostAcc.ID},
			"member as host": {"room": room, "title": "t", "host": attAcc.ID, "starts_at": time.Now().Add(time.Hour).Format(time.RFC3339)},
			"no room":        {"title": "t", "host": hostAcc.ID, "starts_at": time.Now().Add(time.Hour).Format(time.RFC3339)},
		} {
			if status, out := ssHTTP(t, c, "POST", "/api/sessions", admin, body); status != http.StatusBadRequest || obj(out, "error")["message"] == "" {
				t.Fatalf("%s: %d %v", name, status, out)
			}
		}
		if status, out := ssHTTP(t, c, "PATCH", "/api/sessions/"+sessionID, admin, map[string]any{"state": "ended"}); status != http.StatusBadRequest {
			t.Fatalf("PATCH state: %d %v", status, out)
		}

		for name, tc := range map[string]struct {
			typ    string
			fields map[string]any
			code   string
		}{
			"unknown session":   {"qa.ask", map[string]any{"session": "ss_nope", "text": "hi?"}, "not_found"},
			"no session":        {"qa.ask", map[string]any{"text": "hi?"}, "bad_request"},
			"question too long": {"qa.ask", map[string]any{"session": sessionID, "text": strings.Repeat("x", 501)}, "too_large"},
			"blank question":    {"qa.ask", map[string]any{"session": sessionID, "text": "   "}, "bad_request"},
			"no question_id":    {"qa.vote", map[string]any{}, "bad_request"},
			"unknown question":  {"qa.vote", map[string]any{"question_id": "q_nope"}, "not_found"},
			"one option":        {"poll.open", map[string]any{"session": sessionID, "question": "q?", "options": []string{"a"}}, "bad_request"},
			"seven options": {"poll.open", map[string]any{"session": sessionID, "question": "q?",
				"options": []string{"a", "b", "c", "d", "e", "f", "g"}}, "bad_request"},
			"no option":      {"poll.vote", map[string]any{"poll_id": "p_nope"}, "bad_request"},
			"unknown poll":   {"poll.vote", map[string]any{"poll_id": "p_nope", "option": 0}, "not_found"},
			"no room joined": {"qa.ask", map[string]any{"room": "caregivers", "session": sessionID, "text": "hi"}, "not_member"},
		} {
			f := map[string]any{"room": room}
			for k, v := range tc.fields {
				f[k] = v
			}
			conn := attendee
			if tc.typ == "poll.open" {
				conn = host
			}
			r := ssDo(t, conn, tc.typ, f)
			if r.Code() != tc.code || r.Str("message") == "" {
				t.Errorf("%s: %v, want %s with a message", name, r, tc.code)
			}
		}
	})

	t.Run("end: ended sessions take no questions and leave the list", func(t *testing.T) {
		status, out := ssHTTP(t, c, "POST", "/api/sessions/"+sessionID+"/end", hostAcc.Token, nil)
		if status != http.StatusOK || obj(out, "session")["state"] != "ended" || obj(out, "session")["ended_at"] == nil {
			t.Fatalf("end: %d %v", status, out)
		}
		nextWhere(t, attendee, "session.update", func(m wsclient.Msg) bool { return obj(m, "session")["state"] == "ended" })
		if r := ssDo(t, attendee, "qa.ask", map[string]any{"room": room, "session": sessionID, "text": "one more?"}); r.Code() != "conflict" {
			t.Fatalf("qa.ask after the end: %v", r)
		}
		if status, out := ssHTTP(t, c, "GET", "/api/sessions?room="+room, attAcc.Token, nil); status != http.StatusOK || len(out["sessions"].([]any)) != 0 {
			t.Fatalf("list after the end: %d %v", status, out)
		}
		var audit struct {
			Entries []map[string]any `json:"entries"`
		}
		if _, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "GET", c.Nodes[0].URL+"/api/rooms/"+room+"/audit", admin, nil, &audit); err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range audit.Entries {
			if a := fmt.Sprint(e["action"]); strings.HasPrefix(a, "session_") {
				actions = append(actions, a)
			}
		}
		if got := strings.Join(actions, " "); got != "session_end session_start session_schedule" {
			t.Fatalf("session audit entries = %q", got)
		}
	})
}
