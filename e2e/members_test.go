package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx", for tampering behind the store's back

	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/internal/wsclient"
	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/postgres"
	"github.com/havenhealth/haven/store/sqlite"
)

func TestMembersSQLite(t *testing.T)  { runMembersSuite(t, sqliteSetup()) }
func TestMembersCluster(t *testing.T) { runMembersSuite(t, postgresSetup(2, true)) }

// getJSON GETs url as token and decodes the reply into out; it returns the status.
func getJSON(t *testing.T, url, token string, out any) int {
	t.Helper()
	status, err := wsclient.DoJSON(ctxT(t, 10*time.Second), http.MethodGet, url, token, nil, out)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return status
}

type memberRow struct {
	User       map[string]any `json:"user"`
	Role       string         `json:"role"`
	MutedUntil *string        `json:"muted_until"`
	Banned     bool           `json:"banned"`
	Online     *bool          `json:"online"`
}

type memberList struct {
	Members   []memberRow `json:"members"`
	Truncated bool        `json:"truncated"`
}

func (l memberList) find(id string) (memberRow, bool) {
	for _, m := range l.Members {
		if m.User["id"] == id {
			return m, true
		}
	}
	return memberRow{}, false
}

// standing is the join reply's own standing of the caller.
func standing(t *testing.T, r wsclient.Msg) map[string]any {
	t.Helper()
	m, ok := r["member"].(map[string]any)
	if !ok {
		t.Fatalf("join reply without member: %v", r)
	}
	return m
}

// runMembersSuite: moderators list a room's members and read deleted originals, the join
// reply carries the caller's standing, and admins read and verify the whole audit log. A
// moderator on node 0, members on the last node.
func runMembersSuite(t *testing.T, s setup) {
	c := startCluster(t, s)
	far := len(c.Nodes) - 1
	k := rvKit{c: c, far: far}
	admin := c.adminToken()

	t.Run("the join reply carries the caller's room role and mute", func(t *testing.T) {
		room := c.newRoom(t)
		mod, _ := k.mod(t, room)
		if st := standing(t, join(t, mod, room, nil)); st["role"] != "moderator" || st["muted_until"] != nil {
			t.Fatalf("moderator's standing %v", st)
		}
		target, acc := c.joined(far, room)
		if st := standing(t, join(t, target, room, nil)); st["role"] != "member" || st["muted_until"] != nil {
			t.Fatalf("member's standing %v", st)
		}
		until := rvDo(t, mod, "mute", map[string]any{"room": room, "user": acc.ID, "duration_s": 600, "reason": "cool off"}).Str("until")
		if until == "" {
			t.Fatal("mute without until")
		}
		// A fresh connection, as after a page reload, on the far node: muted from the start.
		reload := c.dial(far, acc)
		if st := standing(t, join(t, reload, room, nil)); st["role"] != "member" || st["muted_until"] != until {
			t.Fatalf("standing after the mute %v, want muted_until %s", st, until)
		}
		rvDo(t, mod, "unmute", map[string]any{"room": room, "user": acc.ID})
		if st := standing(t, join(t, reload, room, nil)); st["muted_until"] != nil {
			t.Fatalf("standing after the unmute %v", st)
		}
		status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), http.MethodPut, c.Nodes[0].URL+"/api/rooms/"+room+"/roles/"+acc.ID,
			admin, []byte(`{"role":"host"}`), nil)
		if err != nil || status != http.StatusOK {
			t.Fatalf("make host: %d %v", status, err)
		}
		if st := standing(t, join(t, reload, room, nil)); st["role"] != "host" {
			t.Fatalf("host's standing %v", st)
		}
	})

	t.Run("moderators list every member with their standing", func(t *testing.T) {
		room := c.newRoom(t)
		mod, modAcc := k.mod(t, room)
		_, plain := c.joined(far, room)
		_, muted := c.joined(far, room)
		absent := c.member(0) // never joined: banned all the same, and not online
		until := rvDo(t, mod, "mute", map[string]any{"room": room, "user": muted.ID, "duration_s": 3600, "reason": "calm"}).Str("until")
		if r := rvDo(t, mod, "ban", map[string]any{"room": room, "user": absent.ID, "reason": "spam elsewhere"}); r.Type() != "ok" {
			t.Fatalf("ban: %v", r)
		}
		url := c.Nodes[far].URL + "/api/rooms/" + room + "/members"
		var list memberList
		if status := getJSON(t, url, modAcc.Token, &list); status != http.StatusOK {
			t.Fatalf("members as moderator: %d", status)
		}
		if len(list.Members) != 4 || list.Truncated {
			t.Fatalf("members %+v", list)
		}
		if list.Members[0].User["id"] != absent.ID || !list.Members[0].Banned {
			t.Errorf("first row %+v, want the banned member", list.Members[0])
		}
		if m := list.Members[1]; m.User["id"] != muted.ID || m.MutedUntil == nil || *m.MutedUntil != until || m.Banned {
			t.Errorf("second row %+v, want the muted member until %s", m, until)
		}
		if m, ok := list.find(modAcc.ID); !ok || m.Role != "moderator" || m.User["display_name"] != modAcc.DisplayName || m.MutedUntil != nil {
			t.Errorf("moderator's row %+v", m)
		}
		if m, ok := list.find(plain.ID); !ok || m.Role != "member" || m.Banned || m.MutedUntil != nil || m.User["role"] != "member" {
			t.Errorf("member's row %+v", m)
		}
		for _, m := range list.Members {
			if m.Online != nil {
				t.Errorf("row %+v has online: the server cannot know it per user across a cluster", m)
			}
		}

		// Who may read it.
		if status := getJSON(t, url, plain.Token, nil); status != http.StatusForbidden {
			t.Errorf("members as a member: %d, want 403", status)
		}
		if status := getJSON(t, url, admin, nil); status != http.StatusOK {
			t.Errorf("members as admin: %d", status)
		}
		global := c.member(0)
		status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), http.MethodPut, c.Nodes[0].URL+"/api/users/"+global.ID+"/role",
			admin, []byte(`{"role":"moderator"}`), nil)
		if err != nil || status != http.StatusOK {
			t.Fatalf("make global moderator: %d %v", status, err)
		}
		if status := getJSON(t, url, global.Token, nil); status != http.StatusOK {
			t.Errorf("members as a global moderator: %d", status)
		}
		if status := getJSON(t, c.Nodes[0].URL+"/api/rooms/no-such-room/members", admin, nil); status != http.StatusNotFound {
			t.Errorf("members of an unknown room: %d", status)
		}

		// Limits.
		var one memberList
		if status := getJSON(t, url+"?limit=1", modAcc.Token, &one); status != http.StatusOK || len(one.Members) != 1 || !one.Truncated ||
			one.Members[0].User["id"] != absent.ID {
			t.Errorf("limit=1: %d %+v", status, one)
		}
		for _, q := range []string{"0", "-1", "1001", "many"} {
			if status := getJSON(t, url+"?limit="+q, modAcc.Token, nil); status != http.StatusBadRequest {
				t.Errorf("limit=%s: %d, want 400", q, status)
			}
		}

		// The banned member is not online, and can be unbanned from the list all the same.
		rvDo(t, mod, "unban", map[string]any{"room": room, "user": absent.ID})
		list = memberList{}
		getJSON(t, url, modAcc.Token, &list)
		if m, ok := list.find(absent.ID); !ok || m.Banned {
			t.Errorf("after unban %+v", m)
		}
	})

	t.Run("moderators read a deleted message's original", func(t *testing.T) {
		room := c.newRoom(t)
		mod, modAcc := k.mod(t, room)
		member, acc := c.joined(far, room)
		own := send(t, member, room, "my number is 555-0100", "o1").Int("seq")
		if r := rvDo(t, member, "delete", map[string]any{"room": room, "seq": own}); r.Type() != "ok" {
			t.Fatalf("delete own: %v", r)
		}
		hidden := send(t, member, room, "buy my pills", "o2").Int("seq")
		if r := rvDo(t, mod, "delete", map[string]any{"room": room, "seq": hidden}); r.Type() != "ok" {
			t.Fatalf("moderator delete: %v", r)
		}
		live := send(t, member, room, "sorry about that", "o3").Int("seq")

		base := c.Nodes[far].URL + "/api/rooms/" + room + "/messages/"
		get := func(seq int64) map[string]any {
			t.Helper()
			var out struct {
				Message map[string]any `json:"message"`
			}
			if status := getJSON(t, fmt.Sprint(base, seq), modAcc.Token, &out); status != http.StatusOK {
				t.Fatalf("message %d as moderator: %d", seq, status)
			}
			return out.Message
		}
		m := get(own)
		author, _ := m["author"].(map[string]any)
		if m["text"] != "my number is 555-0100" || m["deleted"] != true || m["deleted_by"] != "author" || m["deleted_at"] == nil ||
			m["seq"] != float64(own) || m["room"] != room || m["type"] != "message" || m["message_id"] == nil || m["ts"] == nil || author["id"] != acc.ID {
			t.Errorf("own deleted message %v", m)
		}
		if m := get(hidden); m["text"] != "buy my pills" || m["deleted"] != true || m["deleted_by"] != "moderator" {
			t.Errorf("moderator-deleted message %v", m)
		}
		if m := get(live); m["text"] != "sorry about that" || m["deleted"] != false || m["deleted_by"] != nil || m["deleted_at"] != nil {
			t.Errorf("live message %v", m)
		}
		// Members still see only the tombstone, and may not ask for the original.
		h := rvDo(t, member, "history", map[string]any{"room": room, "before": 0, "limit": 10})
		for _, x := range h["messages"].([]any) {
			if msg := x.(map[string]any); msg["seq"] == float64(own) && (msg["text"] != "" || msg["deleted"] != true) {
				t.Errorf("member's history shows %v", msg)
			}
		}
		if status := getJSON(t, fmt.Sprint(base, own), acc.Token, nil); status != http.StatusForbidden {
			t.Errorf("own deleted message as its author: %d, want 403", status)
		}
		if status := getJSON(t, fmt.Sprint(base, 999), modAcc.Token, nil); status != http.StatusNotFound {
			t.Errorf("unknown seq: %d", status)
		}
		for _, bad := range []string{"0", "-3", "abc"} {
			if status := getJSON(t, base+bad, modAcc.Token, nil); status != http.StatusBadRequest {
				t.Errorf("seq %s: %d, want 400", bad, status)
			}
		}
	})

	t.Run("admins read the whole audit log and verify the chain", func(t *testing.T) {
		room := c.newRoom(t)
		mod, modAcc := k.mod(t, room)
		_, acc := c.joined(far, room)
		rvDo(t, mod, "mute", map[string]any{"room": room, "user": acc.ID, "duration_s": 60, "reason": "calm"})
		// A deployment-wide entry: a global role change has no room.
		status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), http.MethodPut, c.Nodes[0].URL+"/api/users/"+acc.ID+"/role",
			admin, []byte(`{"role":"clinician"}`), nil)
		if err != nil || status != http.StatusOK {
			t.Fatalf("global role change: %d %v", status, err)
		}
		type page struct {
			Entries []map[string]any `json:"entries"`
		}
		var p page
		if status := getJSON(t, c.Nodes[far].URL+"/api/audit?limit=3", admin, &p); status != http.StatusOK || len(p.Entries) != 3 {
			t.Fatalf("audit: %d %v", status, p.Entries)
		}
		e := p.Entries
		if e[0]["action"] != "user_role" || e[0]["room"] != "" || e[0]["target"] != acc.ID || e[0]["hash"] == "" {
			t.Errorf("newest entry %v, want the global role change with no room", e[0])
		}
		if e[1]["action"] != "mute" || e[1]["room"] != room || e[1]["actor"] != modAcc.ID || e[1]["reason"] != "calm" || e[1]["expires_at"] == nil {
			t.Errorf("second entry %v, want the mute in %s", e[1], room)
		}
		if e[2]["action"] != "room_role" || e[2]["room"] != room {
			t.Errorf("third entry %v", e[2])
		}
		if e[0]["prev_hash"] != e[1]["hash"] || e[1]["prev_hash"] != e[2]["hash"] {
			t.Errorf("entries not chained: %v", e)
		}
		var older page
		getJSON(t, fmt.Sprintf("%s/api/audit?before=%d&limit=1", c.Nodes[0].URL, int64(e[1]["id"].(float64))), admin, &older)
		if len(older.Entries) != 1 || older.Entries[0]["id"] != e[2]["id"] {
			t.Errorf("page before %v: %v", e[1]["id"], older.Entries)
		}
		// Count the whole log, page by page.
		total, before := 0, int64(0)
		for {
			var pg page
			url := c.Nodes[0].URL + "/api/audit?limit=500"
			if before > 0 {
				url += fmt.Sprintf("&before=%d", before)
			}
			getJSON(t, url, admin, &pg)
			if len(pg.Entries) == 0 {
				break
			}
			total += len(pg.Entries)
			before = int64(pg.Entries[len(pg.Entries)-1]["id"].(float64))
		}

		var v struct {
			OK       bool   `json:"ok"`
			Entries  int    `json:"entries"`
			BrokenAt *int64 `json:"broken_at"`
		}
		if status := getJSON(t, c.Nodes[far].URL+"/api/audit/verify", admin, &v); status != http.StatusOK || !v.OK || v.Entries != total || v.BrokenAt != nil {
			t.Errorf("verify: %d %+v, want ok with %d entries", status, v, total)
		}
		for _, path := range []string{"/api/audit", "/api/audit/verify"} {
			for who, token := range map[string]string{"room moderator": modAcc.Token, "member": acc.Token} {
				if status := getJSON(t, c.Nodes[0].URL+path, token, nil); status != http.StatusForbidden {
					t.Errorf("%s as %s: %d, want 403", path, who, status)
				}
			}
			if status := getJSON(t, c.Nodes[0].URL+path, "", nil); status != http.StatusUnauthorized {
				t.Errorf("%s signed out: %d, want 401", path, status)
			}
		}
	})
}

// auditTrail writes a few audit entries through the API: a room role, a mute, an unmute, a
// lock and a global role change.
func auditTrail(t *testing.T, c *cluster) (modAcc wsclient.Account) {
	t.Helper()
	k := rvKit{c: c, far: 0}
	room := c.newRoom(t)
	mod, modAcc := k.mod(t, room)
	_, acc := c.joined(0, room)
	rvDo(t, mod, "mute", map[string]any{"room": room, "user": acc.ID, "duration_s": 60, "reason": "calm"})
	rvDo(t, mod, "unmute", map[string]any{"room": room, "user": acc.ID})
	rvDo(t, mod, "lock", map[string]any{"room": room, "locked": true})
	status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), http.MethodPut, c.Nodes[0].URL+"/api/users/"+acc.ID+"/role",
		c.adminToken(), []byte(`{"role":"clinician"}`), nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("global role change: %d %v", status, err)
	}
	return modAcc
}

type chainCheck struct {
	OK       bool  `json:"ok"`
	Entries  int64 `json:"entries"`
	BrokenAt int64 `json:"broken_at"`
}

func verifyChain(t *testing.T, c *cluster, token string) (int, chainCheck) {
	t.Helper()
	var v chainCheck
	status := getJSON(t, c.Nodes[0].URL+"/api/audit/verify", token, &v)
	return status, v
}

// TestAuditVerifyTamperSQLite: an attacker with the database file drops the append-only
// trigger and rewrites an entry; /api/audit/verify names it.
func TestAuditVerifyTamperSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "haven.db")
	s := sqliteSetup()
	s.openStore = func(t *testing.T) func(t *testing.T) store.Store {
		return func(t *testing.T) store.Store {
			st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
			if err != nil {
				t.Fatalf("open sqlite: %v", err)
			}
			return st
		}
	}
	c := startCluster(t, s)
	modAcc := auditTrail(t, c)
	status, v := verifyChain(t, c, c.adminToken())
	if status != http.StatusOK || !v.OK || v.Entries < 5 {
		t.Fatalf("untouched chain: %d %+v", status, v)
	}

	// The attacker's own connection to the file (the modernc driver, as sqlite3 would be).
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ctx := ctxT(t, 10*time.Second)
	const rewrite = `UPDATE audit_log SET reason = 'nothing to see' WHERE id = 2`
	if _, err := raw.ExecContext(ctx, rewrite); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("rewrite with the trigger in place: %v, want it refused", err)
	}
	if _, err := raw.ExecContext(ctx, `DROP TRIGGER audit_log_no_update`); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, rewrite); err != nil {
		t.Fatal(err)
	}

	status, v = verifyChain(t, c, c.adminToken())
	if status != http.StatusOK || v.OK || v.BrokenAt != 2 || v.Entries != 1 {
		t.Fatalf("after the rewrite: %d %+v, want ok false, broken_at 2, entries 1", status, v)
	}
	if status, _ := verifyChain(t, c, modAcc.Token); status != http.StatusForbidden {
		t.Fatalf("verify as a room moderator: %d, want 403", status)
	}
}

// TestAuditVerifyTamperPostgres: an attacker with database access disables the append-only
// trigger and removes an entry; verification stops at the entry after the hole.
func TestAuditVerifyTamperPostgres(t *testing.T) {
	var dsn string
	s := postgresSetup(1, false)
	s.openStore = func(t *testing.T) func(t *testing.T) store.Store {
		dsn = testenv.PostgresURL(t)
		return func(t *testing.T) store.Store {
			st, err := postgres.Open(context.Background(), dsn, postgres.Options{})
			if err != nil {
				t.Fatalf("open postgres: %v", err)
			}
			return st
		}
	}
	c := startCluster(t, s)
	auditTrail(t, c)
	if status, v := verifyChain(t, c, c.adminToken()); status != http.StatusOK || !v.OK || v.Entries < 5 {
		t.Fatalf("untouched chain: %d %+v", status, v)
	}
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ctx := ctxT(t, 10*time.Second)
	const remove = `DELETE FROM audit_log WHERE id = 2`
	if _, err := raw.ExecContext(ctx, remove); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("delete with the trigger in place: %v, want it refused", err)
	}
	if _, err := raw.ExecContext(ctx, `ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change`); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, remove); err != nil {
		t.Fatal(err)
	}
	if status, v := verifyChain(t, c, c.adminToken()); status != http.StatusOK || v.OK || v.BrokenAt != 3 || v.Entries != 1 {
		t.Fatalf("after removing entry 2: %d %+v, want ok false, broken_at 3, entries 1", status, v)
	}
}

// TestBrowserMemberListAndMuteAfterReload: the moderator's panel lists members from the
// server, banned ones who are not online included, and lifts a ban from there; a muted
// member who reloads the page sees the mute banner as soon as the room opens; the
// moderator's panel comes back after a reload from the join reply alone.
func TestBrowserMemberListAndMuteAfterReload(t *testing.T) {
	c, mod, mem, memID, memName := moderationPair(t)
	url := c.Nodes[0].URL

	// Mute the member from the list.
	row := fmt.Sprintf(`.mod-member[data-user-id=%q]`, memID)
	mod.do("mute from the list", 10*time.Second,
		chromedp.WaitVisible(chromedp.CSS(row+` .mod-act`)),
		chromedp.Click(chromedp.CSS(row+` .mod-act`)),
		chromedp.WaitVisible(chromedp.CSS(`#mod-action-dialog #mod-act-reason`)),
		chromedp.SendKeys(chromedp.CSS(`#mod-act-reason`), "Please take a break"),
		chromedp.SetValue(chromedp.CSS(`#mod-act-duration`), "3600"),
		chromedp.Click(chromedp.CSS(`#mod-act-mute`)))
	mod.waitJS("muted", `document.querySelector("#mod-act-now").textContent.includes("is muted until")`, 10*time.Second)
	mod.do("close dialog", 10*time.Second, chromedp.Click(chromedp.CSS(`#mod-act-close`)), chromedp.WaitNotPresent(chromedp.CSS(`#mod-action-dialog`)))
	mod.waitJS("muted in the list", fmt.Sprintf(`document.querySelector('%s .mod-member-state')?.dataset.state === "muted"`, row), 10*time.Second)
	mem.waitJS("mute banner", `document.querySelector("#room-view .room-banner").dataset.state === "muted"`, 10*time.Second)

	// The member reloads: the banner is there as soon as the room is, with no mute event.
	mem.do("reload", 15*time.Second, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)))
	mem.waitJoined()
	if !browserEval[bool](mem, `(() => { const b = document.querySelector("#room-view .room-banner");
		return !b.hidden && b.textContent.startsWith("A moderator has muted you until") &&
			document.querySelector("#composer textarea").disabled && document.querySelector("#send").disabled; })()`) {
		t.Errorf("no mute banner right after the reload: %q", browserEval[string](mem, `document.querySelector("#room-view .room-banner").textContent`))
	}
	mem.screenshot("muted-after-reload")

	// Someone banned who is not online shows in the list and is unbanned from it.
	absent := c.member(0)
	adminConn := c.dial(0, wsclient.Account{Token: c.adminToken()})
	join(t, adminConn, browserRoom, nil)
	if r, err := adminConn.Do(ctxT(t, 5*time.Second), "ban", map[string]any{"room": browserRoom, "user": absent.ID, "reason": "spam"}); err != nil || r.Type() != "ok" {
		t.Fatalf("ban: %v %v", r, err)
	}
	banned := fmt.Sprintf(`.mod-member[data-user-id=%q]`, absent.ID)
	mod.do("refresh the list", 10*time.Second, chromedp.Click(chromedp.CSS(`#mod-members-refresh`)))
	mod.waitJS("banned member listed", fmt.Sprintf(`document.querySelector('%s .mod-member-state')?.dataset.state === "banned" &&
		document.querySelector('%s').dataset.online === "false"`, banned, banned), 10*time.Second)
	mod.screenshot("member-list")
	mod.do("unban from the list", 10*time.Second,
		chromedp.Click(chromedp.CSS(banned+` .mod-act`)),
		chromedp.WaitVisible(chromedp.CSS(`#mod-action-dialog #mod-act-unban`)))
	if got := browserEval[string](mod, `document.querySelector("#mod-act-now").textContent`); !strings.Contains(got, "is banned") {
		t.Errorf("the dialog does not say the member is banned: %q", got)
	}
	mod.do("unban", 10*time.Second, chromedp.Click(chromedp.CSS(`#mod-act-unban`)))
	mod.waitJS("unbanned", `document.querySelector("#mod-action-dialog .form-ok").textContent.includes("may join the room again")`, 10*time.Second)
	mod.do("close dialog", 10*time.Second, chromedp.Click(chromedp.CSS(`#mod-act-close`)), chromedp.WaitNotPresent(chromedp.CSS(`#mod-action-dialog`)))
	mod.waitJS("ban gone from the list", fmt.Sprintf(`document.querySelector('%s') && !document.querySelector('%s .mod-member-state')`, banned, banned), 10*time.Second)
	var list memberList
	if status := getJSON(t, url+"/api/rooms/"+browserRoom+"/members", c.adminToken(), &list); status != http.StatusOK {
		t.Fatalf("members: %d", status)
	}
	if m, ok := list.find(absent.ID); !ok || m.Banned {
		t.Errorf("after the unban from the panel: %+v", m)
	}
	if m, ok := list.find(memID); !ok || m.MutedUntil == nil {
		t.Errorf("%s should still be muted: %+v", memName, m)
	}

	// The moderator reloads: the panel is back, decided by the join reply.
	mod.do("moderator reload", 15*time.Second, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)))
	mod.waitJS("panel after reload", `!document.querySelector("#mod-toggle").hidden && !!document.querySelector("#mod-panel .mod-tabs")`, 10*time.Second)

	mod.checkConsole()
	mem.checkConsole()
}
