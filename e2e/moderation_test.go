package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/wsclient"
)

func TestModerationSQLite(t *testing.T)  { runModerationSuite(t, sqliteSetup()) }
func TestModerationCluster(t *testing.T) { runModerationSuite(t, postgresSetup(2, true)) }

// runModerationSuite: a moderator on node 0 acts on members on the last node.
func runModerationSuite(t *testing.T, s setup) {
	c := startCluster(t, s)
	far := len(c.Nodes) - 1

	// makeMod gives acc the room moderator role and joins them on node 0.
	makeMod := func(t *testing.T, room string) (*wsclient.Conn, wsclient.Account) {
		acc := c.member(0)
		status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "PUT", c.Nodes[0].URL+"/api/rooms/"+room+"/roles/"+acc.ID,
			c.adminToken(), []byte(`{"role":"moderator"}`), nil)
		if err != nil || status != http.StatusOK {
			t.Fatalf("assign moderator: %d %v", status, err)
		}
		conn := c.dial(0, acc)
		join(t, conn, room, nil)
		return conn, acc
	}
	do := func(t *testing.T, conn *wsclient.Conn, typ string, f map[string]any) wsclient.Msg {
		t.Helper()
		r, err := conn.Do(ctxT(t, 5*time.Second), typ, f)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		return r
	}

	t.Run("mute refuses sends on every node and unmute lifts it", func(t *testing.T) {
		room := c.newRoom(t)
		mod, _ := makeMod(t, room)
		target, acc := c.joined(far, room)
		r := do(t, mod, "mute", map[string]any{"room": room, "user": acc.ID, "duration_s": 600, "reason": "cool off"})
		if r.Type() != "ok" || r.Str("until") == "" {
			t.Fatalf("mute: %v", r)
		}
		ev, err := target.Next(ctxT(t, 5*time.Second), "moderation")
		if err != nil || ev.Str("action") != "mute" || ev.Str("until") == "" {
			t.Fatalf("target not told of mute: %v %v", ev, err)
		}
		if r := send(t, target, room, "hello?", "m1"); r.Code() != "muted" || r.Str("until") == "" {
			t.Fatalf("send while muted: %v", r)
		}
		do(t, mod, "unmute", map[string]any{"room": room, "user": acc.ID})
		// The state travels ahead of the event that announces it: the first send after the
		// event must go through, on the far node too.
		if ev, err := target.Next(ctxT(t, 5*time.Second), "moderation"); err != nil || ev.Str("action") != "unmute" {
			t.Fatalf("target not told of unmute: %v %v", ev, err)
		}
		if r := send(t, target, room, "back", "m2"); r.Type() != "ok" {
			t.Fatalf("first send after the unmute event: %v", r)
		}
	})

	t.Run("remove takes the member out at once; they may rejoin", func(t *testing.T) {
		room := c.newRoom(t)
		mod, _ := makeMod(t, room)
		target, acc := c.joined(far, room)
		do(t, mod, "remove", map[string]any{"room": room, "user": acc.ID, "reason": "off topic"})
		ev, err := target.Next(ctxT(t, 5*time.Second), "removed")
		if err != nil || ev.Str("reason") != "off topic" || ev["banned"] != false {
			t.Fatalf("removed event: %v %v", ev, err)
		}
		if r := send(t, target, room, "still here?", "r1"); r.Code() != "not_member" {
			t.Fatalf("send after removal: %v", r)
		}
		join(t, target, room, nil)
	})

	t.Run("ban holds until unban and hides recent messages", func(t *testing.T) {
		room := c.newRoom(t)
		mod, _ := makeMod(t, room)
		target, acc := c.joined(far, room)
		watcher, _ := c.joined(far, room)
		seq := send(t, target, room, "spam spam", "b1").Int("seq")
		do(t, mod, "ban", map[string]any{"room": room, "user": acc.ID, "reason": "spam", "delete_recent_s": 3600})
		if ev, err := target.Next(ctxT(t, 5*time.Second), "removed"); err != nil || ev["banned"] != true {
			t.Fatalf("banned event: %v %v", ev, err)
		}
		if ev, err := watcher.Next(ctxT(t, 5*time.Second), "message_deleted"); err != nil || ev.Int("seq") != seq {
			t.Fatalf("tombstone for the banned member's message: %v %v", ev, err)
		}
		r, _ := target.Do(ctxT(t, 5*time.Second), "join", map[string]any{"room": room})
		if r.Code() != "banned" {
			t.Fatalf("rejoin while banned: %v", r)
		}
		do(t, mod, "unban", map[string]any{"room": room, "user": acc.ID})
		join(t, target, room, nil)
	})

	t.Run("slow mode and lock", func(t *testing.T) {
		room := c.newRoom(t)
		mod, _ := makeMod(t, room)
		member, _ := c.joined(far, room)
		do(t, mod, "slow_mode", map[string]any{"room": room, "seconds": 60})
		waitFor(t, func() bool {
			send(t, member, room, "one", fmt.Sprintf("s-%d", time.Now().UnixNano()))
			r := send(t, member, room, "two", fmt.Sprintf("s-%d", time.Now().UnixNano()))
			return r.Code() == "slow_mode" && r.Int("retry_after_ms") > 0
		})
		if r := send(t, mod, room, "mods are exempt", "s-mod"); r.Type() != "ok" {
			t.Fatalf("moderator under slow mode: %v", r)
		}
		do(t, mod, "slow_mode", map[string]any{"room": room, "seconds": 0})
		do(t, mod, "lock", map[string]any{"room": room, "locked": true})
		for {
			ev, err := member.Next(ctxT(t, 5*time.Second), "moderation")
			if err != nil {
				t.Fatalf("member not told of the lock: %v", err)
			}
			if ev.Str("action") == "lock" {
				break
			}
		}
		if r := send(t, member, room, "locked?", "l-1"); r.Code() != "room_locked" {
			t.Fatalf("first send after the lock event: %v", r)
		}
		if r := send(t, mod, room, "mods may post", "l-mod"); r.Type() != "ok" {
			t.Fatalf("moderator in a locked room: %v", r)
		}
	})

	t.Run("permission matrix", func(t *testing.T) {
		room := c.newRoom(t)
		mod, modAcc := makeMod(t, room)
		mod2, _ := makeMod(t, room)
		member, memberAcc := c.joined(far, room)
		other, _ := c.joined(far, room)
		cmds := []struct {
			typ    string
			fields map[string]any
		}{
			{"mute", map[string]any{"duration_s": 60}}, {"unmute", nil}, {"remove", nil}, {"ban", nil},
			{"unban", nil}, {"slow_mode", map[string]any{"seconds": 5}}, {"lock", map[string]any{"locked": false}},
		}
		for _, cmd := range cmds {
			f := map[string]any{"room": room, "user": memberAcc.ID, "reason": "test"}
			for k, v := range cmd.fields {
				f[k] = v
			}
			if r := do(t, other, cmd.typ, f); r.Code() != "forbidden" { // a member may do none of it
				t.Errorf("member %s: %v, want forbidden", cmd.typ, r)
			}
			f["user"] = modAcc.ID
			if cmd.typ != "slow_mode" && cmd.typ != "lock" {
				if r := do(t, mod2, cmd.typ, f); r.Code() != "forbidden" { // nor on an equal
					t.Errorf("moderator %s on moderator: %v, want forbidden", cmd.typ, r)
				}
			}
		}
		_ = member
		_ = mod
		if r := do(t, mod, "mute", map[string]any{"room": room, "user": memberAcc.ID, "duration_s": 0}); r.Code() != "bad_request" {
			t.Errorf("mute for 0 s: %v", r)
		}
		if r := do(t, mod, "mute", map[string]any{"room": room, "user": memberAcc.ID, "duration_s": 2419201}); r.Code() != "bad_request" {
			t.Errorf("mute over 28 days: %v", r)
		}
		if r := do(t, mod, "mute", map[string]any{"room": room, "user": "u_nobody", "duration_s": 5}); r.Code() != "not_found" {
			t.Errorf("mute unknown user: %v", r)
		}
	})

	t.Run("every action is in the audit log, chained", func(t *testing.T) {
		room := c.newRoom(t)
		mod, modAcc := makeMod(t, room)
		_, acc := c.joined(far, room)
		do(t, mod, "mute", map[string]any{"room": room, "user": acc.ID, "duration_s": 30, "reason": "calm"})
		do(t, mod, "unmute", map[string]any{"room": room, "user": acc.ID})
		do(t, mod, "lock", map[string]any{"room": room, "locked": true})
		var out struct {
			Entries []map[string]any `json:"entries"`
		}
		status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "GET", c.Nodes[far].URL+"/api/rooms/"+room+"/audit", modAcc.Token, nil, &out)
		// Four entries: the moderator's role assignment is audited too.
		if err != nil || status != 200 || len(out.Entries) != 4 || out.Entries[3]["action"] != "room_role" {
			t.Fatalf("audit: %d %v %v", status, err, out.Entries)
		}
		if out.Entries[0]["action"] != "lock" || out.Entries[2]["action"] != "mute" || out.Entries[2]["reason"] != "calm" ||
			out.Entries[2]["target"] != acc.ID || out.Entries[2]["actor"] != modAcc.ID || out.Entries[2]["expires_at"] == nil {
			t.Fatalf("audit entries: %v", out.Entries)
		}
		if out.Entries[0]["prev_hash"] != out.Entries[1]["hash"] {
			t.Fatalf("audit entries not chained: %v", out.Entries)
		}
		if status, _ := wsclient.DoJSON(ctxT(t, 5*time.Second), "GET", c.Nodes[0].URL+"/api/rooms/"+room+"/audit", acc.Token, nil, nil); status != http.StatusForbidden {
			t.Fatalf("member reading the audit log: %d", status)
		}
		for _, m := range []string{"DELETE", "PUT", "PATCH"} {
			if status, _ := wsclient.DoJSON(ctxT(t, 5*time.Second), m, c.Nodes[0].URL+"/api/rooms/"+room+"/audit", c.adminToken(), []byte(`{}`), nil); status < 400 {
				t.Fatalf("%s on the audit log answered %d", m, status)
			}
		}
	})
}

// waitFor retries cond for up to 5 s: an effect reaches other nodes through the broker.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
