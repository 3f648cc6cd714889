package e2e

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/internal/wsclient"
	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/postgres"
)

// TestModerationSurvivesRestartOfAllNodes: moderation state lives in the database, not in
// any node. Two real haven processes on PostgreSQL and Redis; a moderator bans one member
// (hiding their recent messages), mutes another, turns on slow mode and locks the room;
// then every node stops (one drained with SIGTERM, one killed) and Redis restarts empty.
// On the restarted nodes the ban, the mute, the lock and slow mode all still hold, on
// every node, and the audit log is intact, hash-chained, and goes on chaining.
func TestModerationSurvivesRestartOfAllNodes(t *testing.T) {
	rs := testenv.StartRedis(t)
	dsn := testenv.PostgresURL(t)
	c, procs := procCluster(t, 2, dsn, rs.URL())
	do := func(t *testing.T, conn *wsclient.Conn, typ string, f map[string]any) wsclient.Msg {
		t.Helper()
		r, err := conn.Do(ctxT(t, 10*time.Second), typ, f)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		return r
	}

	room := c.newRoom(t)
	modAcc := c.member(0)
	status, err := wsclient.DoJSON(ctxT(t, 10*time.Second), "PUT", c.Nodes[0].URL+"/api/rooms/"+room+"/roles/"+modAcc.ID,
		c.adminToken(), []byte(`{"role":"moderator"}`), nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("assign room moderator: %d %v", status, err)
	}
	mod := c.dial(0, modAcc)
	join(t, mod, room, nil)
	bannedConn, bannedAcc := c.joined(1, room)
	mutedConn, mutedAcc := c.joined(0, room)
	plainConn, plainAcc := c.joined(1, room)

	hidden := send(t, bannedConn, room, "to be hidden by the ban", "b1")
	if hidden.Type() != "ok" {
		t.Fatalf("send before the ban: %v", hidden)
	}
	r := do(t, mod, "mute", map[string]any{"room": room, "user": mutedAcc.ID, "duration_s": 3600, "reason": "cool off"})
	until := r.Str("until")
	if r.Type() != "ok" || until == "" {
		t.Fatalf("mute: %v", r)
	}
	if r := do(t, mod, "ban", map[string]any{"room": room, "user": bannedAcc.ID, "reason": "spam", "delete_recent_s": 3600}); r.Type() != "ok" {
		t.Fatalf("ban: %v", r)
	}
	if ev, err := bannedConn.Next(ctxT(t, 10*time.Second), "removed"); err != nil || ev["banned"] != true {
		t.Fatalf("banned member not removed: %v %v", ev, err)
	}
	if r := do(t, mod, "slow_mode", map[string]any{"room": room, "seconds": 30}); r.Type() != "ok" {
		t.Fatalf("slow_mode: %v", r)
	}
	if r := do(t, mod, "lock", map[string]any{"room": room, "locked": true}); r.Type() != "ok" {
		t.Fatalf("lock: %v", r)
	}
	before := roomAudit(t, c.Nodes[0].URL, room, modAcc.Token)
	wantActions(t, "before the restart", before, "lock", "slow_mode", "ban", "mute")

	// Stop every node: one drains, one dies. Redis comes back empty.
	for _, conn := range []*wsclient.Conn{mod, bannedConn, mutedConn, plainConn} {
		conn.Close()
	}
	procs[0].signal(syscall.SIGTERM)
	procs[1].kill()
	if _, exited := procs[0].waitExit(15 * time.Second); !exited {
		t.Fatalf("%s still running 15 s after SIGTERM", procs[0].ID)
	}
	rs.Kill(t)
	rs.Start(t)

	// Start them again on the same database.
	c = &cluster{t: t}
	for _, old := range procs {
		p := startProc(t, procConfig{ID: old.ID, DatabaseURL: dsn, RedisURL: rs.URL()})
		c.Nodes = append(c.Nodes, &node{ID: p.ID, URL: p.URL})
	}

	for i, n := range c.Nodes {
		// The room is still locked and slow, as every node reads it.
		var rooms struct {
			Rooms []map[string]any `json:"rooms"`
		}
		status, err := wsclient.DoJSON(ctxT(t, 10*time.Second), "GET", n.URL+"/api/rooms", plainAcc.Token, nil, &rooms)
		if err != nil || status != http.StatusOK {
			t.Fatalf("%s: list rooms: %d %v (the session should survive the restart)", n.ID, status, err)
		}
		var found map[string]any
		for _, rm := range rooms.Rooms {
			if rm["slug"] == room {
				found = rm
			}
		}
		if found == nil || found["locked"] != true || found["slow_mode_s"] != float64(30) {
			t.Errorf("%s: room after restart %v, want locked with slow_mode_s 30", n.ID, found)
		}

		// The banned member's join fails with banned on every node.
		banned := c.dial(i, bannedAcc)
		if r := do(t, banned, "join", map[string]any{"room": room}); r.Code() != "banned" {
			t.Errorf("%s: banned member's join after restart: %v, want banned", n.ID, r)
		}
		banned.Close()

		// A member may join and read, the ban's tombstone included, but not post: locked.
		plain := c.dial(i, plainAcc)
		jr := join(t, plain, room, nil)
		var sawTombstone bool
		for _, m := range toMsgs(jr["messages"]) {
			if m.Int("seq") == hidden.Int("seq") {
				sawTombstone = m["deleted"] == true && m.Str("text") == ""
			}
		}
		if !sawTombstone {
			t.Errorf("%s: the banned member's message is not a tombstone after restart: %v", n.ID, jr["messages"])
		}
		if r := send(t, plain, room, "locked?", fmt.Sprintf("p-locked-%d", i)); r.Code() != "room_locked" {
			t.Errorf("%s: member's send in the locked room after restart: %v, want room_locked", n.ID, r)
		}
		plain.Close()

		// The audit log is what it was, on every node.
		after := roomAudit(t, n.URL, room, modAcc.Token)
		if len(after) != len(before) {
			t.Fatalf("%s: audit log has %d entries after restart, %d before", n.ID, len(after), len(before))
		}
		for j := range before {
			if after[j]["id"] != before[j]["id"] || after[j]["hash"] != before[j]["hash"] || after[j]["prev_hash"] != before[j]["prev_hash"] {
				t.Errorf("%s: audit entry %d changed across the restart: %v → %v", n.ID, j, before[j], after[j])
			}
		}
	}

	// Unlock (a new audit entry, chained onto the pre-restart head), then the mute shows.
	mod = c.dial(1, modAcc)
	join(t, mod, room, nil)
	if r := do(t, mod, "lock", map[string]any{"room": room, "locked": false}); r.Type() != "ok" {
		t.Fatalf("unlock after restart: %v", r)
	}
	for i, n := range c.Nodes {
		muted := c.dial(i, mutedAcc)
		join(t, muted, room, nil)
		waitFor(t, func() bool { // the unlock reaches the other node through Redis
			return send(t, muted, room, "muted?", fmt.Sprintf("mu-%d-%d", i, time.Now().UnixNano())).Code() != "room_locked"
		})
		r := send(t, muted, room, "still muted?", fmt.Sprintf("mu-%d", i))
		if r.Code() != "muted" || r.Str("until") != until {
			t.Errorf("%s: muted member's send after restart: %v, want muted until %s", n.ID, r, until)
		}
		muted.Close()
	}
	plain := c.dial(0, plainAcc)
	join(t, plain, room, nil)
	if r := send(t, plain, room, "first after restart", "p-1"); r.Type() != "ok" {
		t.Fatalf("member's first send after unlock: %v", r)
	}
	if r := send(t, plain, room, "second right away", "p-2"); r.Code() != "slow_mode" || r.Int("retry_after_ms") <= 0 {
		t.Errorf("member's second send under slow mode after restart: %v, want slow_mode with retry_after_ms", r)
	}

	final := roomAudit(t, c.Nodes[0].URL, room, modAcc.Token)
	wantActions(t, "after the restart", final, "lock", "lock", "slow_mode", "ban", "mute")
	if final[0]["prev_hash"] != before[0]["hash"] {
		t.Errorf("the first entry after the restart does not chain onto the last before it: prev_hash %v, head was %v",
			final[0]["prev_hash"], before[0]["hash"])
	}
	verifyAuditChain(t, dsn, final)
}

// roomAudit reads a room's whole audit log over HTTP, newest first, checking that each
// entry's prev_hash is the hash of the entry before it where their ids are consecutive.
func roomAudit(t *testing.T, base, room, token string) []map[string]any {
	t.Helper()
	var out struct {
		Entries []map[string]any `json:"entries"`
	}
	status, err := wsclient.DoJSON(ctxT(t, 10*time.Second), "GET", base+"/api/rooms/"+room+"/audit?limit=500", token, nil, &out)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET audit of %s on %s: %d %v", room, base, status, err)
	}
	es := out.Entries
	for i := 0; i+1 < len(es); i++ {
		id, older := es[i]["id"].(float64), es[i+1]["id"].(float64)
		if id <= older {
			t.Errorf("audit log not newest first: id %v before %v", id, older)
		}
		if id == older+1 && es[i]["prev_hash"] != es[i+1]["hash"] {
			t.Errorf("audit entry %v: prev_hash %v, but entry %v has hash %v", id, es[i]["prev_hash"], older, es[i+1]["hash"])
		}
	}
	return es
}

// wantActions checks the log's moderation entries (room role changes aside), newest first.
func wantActions(t *testing.T, when string, es []map[string]any, want ...string) {
	t.Helper()
	var got []string
	for _, e := range es {
		if a, _ := e["action"].(string); a != "room_role" {
			got = append(got, a)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("audit actions %s: %v, want %v", when, got, want)
	}
}

// verifyAuditChain recomputes the deployment's whole chain from the database and checks
// that the entries served over HTTP are the stored ones.
func verifyAuditChain(t *testing.T, dsn string, served []map[string]any) {
	t.Helper()
	ctx := ctxT(t, 20*time.Second)
	st, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		t.Fatalf("open the database: %v", err)
	}
	defer st.Close()
	var chain []store.AuditEntry
	for after := int64(0); ; {
		page, err := st.AuditChain(ctx, after, 500)
		if err != nil {
			t.Fatalf("read the audit chain: %v", err)
		}
		if len(page) == 0 {
			break
		}
		chain = append(chain, page...)
		after = page[len(page)-1].ID
	}
	if bad := store.VerifyChain(make([]byte, 32), chain); bad != 0 {
		t.Fatalf("audit chain broken at entry %d", bad)
	}
	byID := make(map[int64]store.AuditEntry, len(chain))
	for _, e := range chain {
		byID[e.ID] = e
	}
	for _, e := range served {
		id := int64(e["id"].(float64))
		stored, ok := byID[id]
		if !ok {
			t.Errorf("served audit entry %d is not in the chain", id)
			continue
		}
		if e["hash"] != hex.EncodeToString(stored.Hash) || e["prev_hash"] != hex.EncodeToString(stored.PrevHash) ||
			e["action"] != stored.Action || e["actor"] != stored.ActorID || e["target"] != stored.TargetID {
			t.Errorf("served audit entry %d %v differs from the stored one %+v", id, e, stored)
		}
	}
	t.Logf("audit chain of %d entries verifies; %d served for the room", len(chain), len(served))
}
