package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/wsclient"
	"github.com/havenhealth/haven/server"
)

// Badges, sponsorship disclosure and the company-affiliated post hold (docs/PROTOCOL.md
// "Disclosure and badges"), with the deployment's default product list (it lists Ozempic).
func TestDisclosureSQLite(t *testing.T)  { runDisclosureSuite(t, sqliteSetup()) }
func TestDisclosureCluster(t *testing.T) { runDisclosureSuite(t, postgresSetup(2, true)) }

// startDisclosureCluster is startCluster with the default safety configuration compiled, so
// the rooms know the listed products.
func startDisclosureCluster(t *testing.T, s setup) *cluster {
	t.Helper()
	safetyCfg := server.DefaultSafetyConfig()
	if err := safetyCfg.Compile(); err != nil {
		t.Fatal(err)
	}
	opener, brk := s.openStore(t), s.broker(t)
	c := &cluster{t: t}
	for i := 0; i < s.nodes; i++ {
		id := fmt.Sprintf("node-%d", i+1)
		st := opener(t)
		br, pres := brk(t, id)
		cfg := testConfig(id, s.hubCfg)
		cfg.Safety = safetyCfg
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

// apiJSON sends body (nil: none) as token to node 0 and decodes the reply into a map.
func apiJSON(t *testing.T, c *cluster, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	var out map[string]any
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	status, err := wsclient.DoJSON(ctxT(t, 10*time.Second), method, c.Nodes[0].URL+path, token, b, &out)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return status, out
}

// badgeKinds lists the kinds of a user object's badges.
func badgeKinds(u any) []string {
	m, _ := u.(map[string]any)
	list, _ := m["badges"].([]any)
	var out []string
	for _, b := range list {
		if bm, ok := b.(map[string]any); ok {
			out = append(out, fmt.Sprint(bm["kind"], ":", bm["label"]))
		}
	}
	return out
}

func hasBadge(u any, want string) bool {
	for _, k := range badgeKinds(u) {
		if k == want {
			return true
		}
	}
	return false
}

// errOf is the code and message of an HTTP error reply ({"error":{code, message}}).
func errOf(out map[string]any) (code, message string) {
	e, _ := out["error"].(map[string]any)
	code, _ = e["code"].(string)
	message, _ = e["message"].(string)
	return code, message
}

const affiliatedBadge = "affiliated:Affiliated with Novo Nordisk"

func runDisclosureSuite(t *testing.T, s setup) {
	c := startDisclosureCluster(t, s)
	far := len(c.Nodes) - 1
	room := c.newRoom(t)
	admin := c.adminToken()
	rep := c.member(far) // will be affiliated with a company
	plain := c.member(0) // an ordinary member
	observer, _ := c.joined(0, room)
	repPath := "/api/users/" + rep.ID + "/badges"

	t.Run("OnlyAdminsSetBadges", func(t *testing.T) {
		if st, out := apiJSON(t, c, "PUT", repPath, rep.Token, `{"affiliation":""}`); st != http.StatusForbidden || out["error"].(map[string]any)["code"] != "forbidden" {
			t.Fatalf("a member setting their own badges: %d %v", st, out)
		}
		if st, out := apiJSON(t, c, "PUT", repPath, plain.Token, `{"verified_clinician":true}`); st != http.StatusForbidden {
			t.Fatalf("a member setting another's badges: %d %v", st, out)
		}
		if st, _ := apiJSON(t, c, "PUT", repPath, "", `{"affiliation":"X"}`); st != http.StatusUnauthorized {
			t.Fatalf("signed out: %d", st)
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		for _, tc := range []struct {
			path, body string
			status     int
		}{
			{repPath, `{}`, http.StatusBadRequest},
			{repPath, `{"affiliation":"` + strings.Repeat("x", 101) + `"}`, http.StatusBadRequest},
			{repPath, `{"affiliation":"two\nlines"}`, http.StatusBadRequest},
			{repPath, `{"affiliation":`, http.StatusBadRequest},
			{repPath, `{"verified_clinician":"yes"}`, http.StatusBadRequest},
			{"/api/users/u_nobody/badges", `{"affiliation":"X"}`, http.StatusNotFound},
		} {
			st, out := apiJSON(t, c, "PUT", tc.path, admin, tc.body)
			if code, msg := errOf(out); st != tc.status || code == "" || msg == "" {
				t.Errorf("PUT %s %s: %d %v, want %d with a code and message", tc.path, tc.body, st, out, tc.status)
			}
		}
		long := fmt.Sprintf(`{"disclosure":%q}`, strings.Repeat("d", 2001))
		if st, out := apiJSON(t, c, "PATCH", "/api/rooms/"+room, admin, long); st != http.StatusBadRequest {
			t.Errorf("a disclosure too long: %d %v", st, out)
		}
		if st, out := apiJSON(t, c, "PATCH", "/api/rooms/no-such-room", admin, `{"disclosure":"x"}`); st != http.StatusNotFound {
			t.Errorf("disclosure of an unknown room: %d %v", st, out)
		}
	})

	t.Run("AdminSetsBadgesAudited", func(t *testing.T) {
		st, out := apiJSON(t, c, "PUT", repPath, admin, `{"affiliation":"  Novo Nordisk "}`)
		if st != http.StatusOK || out["affiliation"] != "Novo Nordisk" || !hasBadge(out["user"], affiliatedBadge) {
			t.Fatalf("set affiliation: %d %v", st, out)
		}
		st, audit := apiJSON(t, c, "GET", "/api/audit?limit=50", admin, "")
		entries, _ := audit["entries"].([]any)
		found := false
		for _, e := range entries {
			em, _ := e.(map[string]any)
			if em["action"] == "user_badges" && em["target"] == rep.ID {
				d, _ := em["detail"].(map[string]any)
				found = d["affiliation"] == "Novo Nordisk" && d["previous_affiliation"] == ""
			}
		}
		if st != http.StatusOK || !found {
			t.Fatalf("no user_badges audit entry for %s: %d %v", rep.ID, st, audit)
		}
		if st, me := apiJSON(t, c, "GET", "/api/me", rep.Token, ""); st != http.StatusOK || !hasBadge(me["user"], affiliatedBadge) {
			t.Fatalf("/api/me of the affiliated member: %d %v", st, me)
		}
		// A member cannot clear it either.
		if st, _ := apiJSON(t, c, "PUT", repPath, rep.Token, `{"affiliation":""}`); st != http.StatusForbidden {
			t.Fatalf("a member clearing their own affiliation: %d", st)
		}
	})

	t.Run("JoinCarriesDisclosure", func(t *testing.T) {
		if st, out := apiJSON(t, c, "PATCH", "/api/rooms/"+room, rep.Token, `{"disclosure":"mine"}`); st != http.StatusForbidden {
			t.Fatalf("a member setting the disclosure: %d %v", st, out)
		}
		text := "This room is supported by Acme Health, which does not see or shape its conversations."
		st, out := apiJSON(t, c, "PATCH", "/api/rooms/"+room, admin, fmt.Sprintf(`{"sponsor":"Acme Health","disclosure":%q}`, text))
		roomJSON, _ := out["room"].(map[string]any)
		if st != http.StatusOK || roomJSON["disclosure"] != text || roomJSON["sponsor"] != "Acme Health" {
			t.Fatalf("PATCH disclosure: %d %v", st, out)
		}
		var adminID string
		if _, me := apiJSON(t, c, "GET", "/api/me", admin, ""); me != nil {
			adminID, _ = me["user"].(map[string]any)["id"].(string)
		}
		starts := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
		st, sess := apiJSON(t, c, "POST", "/api/sessions", admin, fmt.Sprintf(
			`{"room":%q,"kind":"webinar","title":"Living with T2D","host":%q,"starts_at":%q,"sponsor":"Novo Nordisk"}`, room, adminID, starts))
		if st != http.StatusCreated {
			t.Fatalf("schedule a sponsored session: %d %v", st, sess)
		}
		st, list := apiJSON(t, c, "GET", "/api/sessions?room="+room, rep.Token, "")
		if st != http.StatusOK || !strings.Contains(fmt.Sprint(list), "sponsor:Novo Nordisk") {
			t.Fatalf("session listing without its sponsor: %d %v", st, list)
		}

		// The far node has not cached the room yet: the join there reads it from the store.
		conn := c.dial(far, rep)
		reply := join(t, conn, room, nil)
		d, _ := reply["disclosure"].(map[string]any)
		sessions, _ := d["sessions"].([]any)
		if d["text"] != text || d["sponsor"] != "Acme Health" || len(sessions) != 1 || sessions[0].(map[string]any)["sponsor"] != "Novo Nordisk" {
			t.Fatalf("join disclosure %v", d)
		}
		leave(t, conn, room)
	})

	repConn := c.dial(far, rep)
	join(t, repConn, room, nil)

	var helloSeq int64
	t.Run("BadgeOnMessages", func(t *testing.T) {
		r := send(t, repConn, room, "Hello everyone, glad to be here.", "hello-1")
		if r.Type() != "ok" {
			t.Fatalf("affiliated member's plain post: %v", r)
		}
		helloSeq = r.Int("seq")
		m := collect(t, observer, 1, 10*time.Second)[0]
		if !hasBadge(m["author"], affiliatedBadge) {
			t.Fatalf("message author without the badge: %v", m["author"])
		}
		st, out := apiJSON(t, c, "GET", "/api/rooms/"+room+"/members", admin, "")
		if st != http.StatusOK || !strings.Contains(fmt.Sprint(out), "Affiliated with Novo Nordisk") {
			t.Fatalf("members list without the badge: %d %v", st, out)
		}
	})

	const promo = "Ask your doctor whether Ozempic is right for you."
	t.Run("AffiliatedProductPostHeld", func(t *testing.T) {
		r := send(t, repConn, room, promo, "promo-1")
		if r.Code() != "held" || r.Str("reason") != "affiliated_product" || r.Str("held_id") == "" {
			t.Fatalf("affiliated post naming a product: %v", r)
		}
		st, q := apiJSON(t, c, "GET", "/api/rooms/"+room+"/queue", admin, "")
		held, _ := q["held"].([]any)
		found := false
		for _, h := range held {
			hm, _ := h.(map[string]any)
			if hm["id"] == r.Str("held_id") {
				found = strings.HasPrefix(fmt.Sprint(hm["reason"]), "affiliated_product") && hm["text"] == promo &&
					hasBadge(hm["author"], affiliatedBadge)
			}
		}
		if st != http.StatusOK || !found {
			t.Fatalf("held post not in the review queue as expected: %d %v", st, q)
		}
	})

	t.Run("AffiliatedProductEditHeld", func(t *testing.T) {
		r, err := repConn.Do(ctxT(t, 10*time.Second), "edit", map[string]any{"room": room, "seq": helloSeq, "text": promo})
		if err != nil || r.Code() != "held" {
			t.Fatalf("affiliated edit naming a product: %v %v", r, err)
		}
	})

	t.Run("UnaffiliatedSameTextPublished", func(t *testing.T) {
		plainConn := c.dial(0, plain)
		join(t, plainConn, room, nil)
		r := send(t, plainConn, room, promo, "promo-2")
		if r.Type() != "ok" || r.Int("seq") == 0 {
			t.Fatalf("unaffiliated member's post: %v", r)
		}
		// The observer's next message is this one: the held post never reached them.
		m := collect(t, observer, 1, 10*time.Second)[0]
		if m.Int("seq") != r.Int("seq") || m.Str("text") != promo {
			t.Fatalf("observer got %v, want the unaffiliated post seq %d", m, r.Int("seq"))
		}
		if len(badgeKinds(m["author"])) != 0 {
			t.Fatalf("unaffiliated author has badges: %v", m["author"])
		}
	})

	t.Run("ClearedAffiliationPublishes", func(t *testing.T) {
		if st, out := apiJSON(t, c, "PUT", repPath, admin, `{"affiliation":"","verified_clinician":true}`); st != http.StatusOK ||
			out["affiliation"] != "" || out["verified_clinician"] != true || !hasBadge(out["user"], "clinician:Verified clinician") {
			t.Fatalf("clear affiliation, verify: %d %v", st, out)
		}
		// The member's connection is asked to reconnect, so its presence carries the change;
		// the next post, from the new connection, is checked against the stored affiliation.
		if ev, err := repConn.Next(ctxT(t, 10*time.Second), "reconnect"); err != nil || ev.Str("reason") != "account changed" {
			t.Fatalf("reconnect after the badge change = %v, %v", ev, err)
		}
		repConn = c.dial(far, rep)
		join(t, repConn, room, nil)
		r := send(t, repConn, room, promo+" (as a clinician)", "promo-3")
		if r.Type() != "ok" {
			t.Fatalf("post after the affiliation was cleared: %v", r)
		}
		m := collect(t, observer, 1, 10*time.Second)[0]
		if hasBadge(m["author"], affiliatedBadge) || !hasBadge(m["author"], "clinician:Verified clinician") {
			t.Fatalf("author badges after the change: %v", m["author"])
		}
	})
}

// leave leaves room, failing on anything but ok.
func leave(t *testing.T, conn *wsclient.Conn, room string) {
	t.Helper()
	r, err := conn.Do(ctxT(t, 5*time.Second), "leave", map[string]any{"room": room})
	if err != nil || r.Type() != "ok" {
		t.Fatalf("leave %s: %v %v", room, r, err)
	}
}
