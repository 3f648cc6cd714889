package e2e

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/wsclient"
)

func TestChatSQLite(t *testing.T)   { runChatSuite(t, sqliteSetup()) }
func TestChatPostgres(t *testing.T) { runChatSuite(t, postgresSetup(1, false)) }

// runChatSuite is the end-to-end chat contract. It runs on one node and on a cluster, with
// members spread round robin over the nodes.
func runChatSuite(t *testing.T, s setup) {
	c := startCluster(t, s)

	t.Run("fan-out and order under concurrent senders", func(t *testing.T) {
		room := c.newRoom(t)
		const members, each = 4, 25
		conns := make([]*wsclient.Conn, members)
		for i := range conns {
			conns[i], _ = c.joined(i, room)
		}
		var wg sync.WaitGroup
		for i, conn := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < each; j++ {
					if r := send(t, conn, room, fmt.Sprintf("m%d-%d", i, j), fmt.Sprintf("c%d-%d", i, j)); r.Type() != "ok" {
						t.Errorf("send: %v", r)
					}
				}
			}()
		}
		wg.Wait()
		for _, conn := range conns {
			assertConsecutive(t, collect(t, conn, members*each, 20*time.Second), 1)
		}
	})

	t.Run("idempotent resend stores and delivers once", func(t *testing.T) {
		room := c.newRoom(t)
		a, _ := c.joined(0, room)
		b, _ := c.joined(1, room)
		r1 := send(t, a, room, "hello", "same-id")
		r2 := send(t, a, room, "hello", "same-id")
		if r1.Int("seq") != r2.Int("seq") || r1.Str("message_id") != r2.Str("message_id") {
			t.Fatalf("resend got seq %d/%s, first %d/%s", r2.Int("seq"), r2.Str("message_id"), r1.Int("seq"), r1.Str("message_id"))
		}
		send(t, a, room, "after", "other-id")
		got := collect(t, b, 2, 10*time.Second)
		assertConsecutive(t, got, 1)
		if got[0].Str("text") != "hello" || got[1].Str("text") != "after" {
			t.Fatalf("b saw %v", got)
		}
	})

	t.Run("recovery after disconnect with concurrent senders", func(t *testing.T) {
		room := c.newRoom(t)
		acc := c.member(0)
		a := c.dial(0, acc)
		join(t, a, room, nil)
		senders := []*wsclient.Conn{}
		for i := 1; i <= 2; i++ {
			s, _ := c.joined(i, room)
			senders = append(senders, s)
		}
		send(t, senders[0], room, "before", "b0")
		last := collect(t, a, 1, 10*time.Second)[0].Int("seq")
		a.Close()

		// Others keep talking while a is away, and while it rejoins.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var sentMu sync.Mutex
		sent := 1
		for i, s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; ; j++ {
					select {
					case <-stop:
						return
					default:
					}
					if r := send(t, s, room, "during", fmt.Sprintf("d%d-%d", i, j)); r.Type() == "ok" {
						sentMu.Lock()
						sent++
						sentMu.Unlock()
					}
					if j > 200 {
						return
					}
					time.Sleep(2 * time.Millisecond)
				}
			}()
		}
		time.Sleep(100 * time.Millisecond)
		a2 := c.dial(len(c.Nodes)-1, acc) // come back on another node when there is one
		r := join(t, a2, room, &last)
		time.Sleep(100 * time.Millisecond)
		close(stop)
		wg.Wait()

		recovered := toMsgs(r["messages"])
		if len(recovered) == 0 {
			t.Fatalf("join with since=%d recovered nothing", last)
		}
		assertConsecutive(t, recovered, last+1)
		if r.Int("last_seq") != recovered[len(recovered)-1].Int("seq") {
			t.Fatalf("last_seq %d, last recovered %d", r.Int("last_seq"), recovered[len(recovered)-1].Int("seq"))
		}
		sentMu.Lock()
		total := sent
		sentMu.Unlock()
		live := collect(t, a2, total-1-len(recovered), 20*time.Second)
		assertConsecutive(t, live, r.Int("last_seq")+1)
	})

	t.Run("history pages back oldest first", func(t *testing.T) {
		room := c.newRoom(t)
		a, _ := c.joined(0, room)
		for i := 1; i <= 30; i++ {
			send(t, a, room, fmt.Sprintf("n%d", i), fmt.Sprintf("h%d", i))
		}
		r, err := a.Do(ctxT(t, 5*time.Second), "history", map[string]any{"room": room, "before": 21, "limit": 10})
		if err != nil || r.Type() != "ok" {
			t.Fatalf("history: %v %v", r, err)
		}
		page := toMsgs(r["messages"])
		if len(page) != 10 {
			t.Fatalf("history returned %d messages, want 10", len(page))
		}
		assertConsecutive(t, page, 11)
		r, _ = a.Do(ctxT(t, 5*time.Second), "history", map[string]any{"room": room, "before": 1, "limit": 10})
		if got := toMsgs(r["messages"]); len(got) != 0 {
			t.Fatalf("history before seq 1 returned %d", len(got))
		}
		r, _ = a.Do(ctxT(t, 5*time.Second), "history", map[string]any{"room": room, "before": 5, "limit": 500})
		if r.Code() != "bad_request" {
			t.Fatalf("limit 500: %v", r)
		}
	})

	t.Run("join returns recent history and presence", func(t *testing.T) {
		room := c.newRoom(t)
		a, accA := c.joined(0, room)
		send(t, a, room, "first", "f1")
		b := c.dial(1, c.member(1))
		r := join(t, b, room, nil)
		if r.Int("online") != 2 || r.Int("last_seq") != 1 || len(toMsgs(r["messages"])) != 1 {
			t.Fatalf("join reply %v", r)
		}
		if room := r["room"].(map[string]any); room["slug"] != room["slug"] || room["guidelines_version"] == nil {
			t.Fatalf("join room %v", room)
		}
		var p wsclient.Msg
		for p == nil || p["joined"] == nil || p["joined"].(map[string]any)["id"] == accA.ID {
			var err error
			if p, err = a.Next(ctxT(t, 5*time.Second), "presence"); err != nil {
				t.Fatalf("presence: %v", err)
			}
		}
		if p.Int("online") != 2 {
			t.Fatalf("presence after b joined: %v", p)
		}
		_, _ = b.Do(ctxT(t, 5*time.Second), "typing", map[string]any{"room": room})
		ty, err := a.Next(ctxT(t, 5*time.Second), "typing")
		if err != nil || ty["user"].(map[string]any)["display_name"] == "" {
			t.Fatalf("typing: %v %v", ty, err)
		}
		b.Close()
		for {
			var err error
			p, err = a.Next(ctxT(t, 5*time.Second), "presence")
			if err != nil {
				t.Fatalf("presence after leave: %v", err)
			}
			if p["left"] != nil {
				break
			}
		}
		if p.Int("online") != 1 {
			t.Fatalf("online after leave = %d", p.Int("online"))
		}
	})

	t.Run("guidelines must be accepted", func(t *testing.T) {
		room := c.newRoom(t)
		a := c.dial(0, c.member(0))
		r, _ := a.Do(ctxT(t, 5*time.Second), "join", map[string]any{"room": room})
		if r.Code() != "guidelines_required" || r.Str("guidelines") != "Be kind." || r.Int("guidelines_version") != 1 {
			t.Fatalf("join without acceptance: %v", r)
		}
		r, _ = a.Do(ctxT(t, 5*time.Second), "join", map[string]any{"room": room, "accept_guidelines": 7})
		if r.Code() != "guidelines_required" {
			t.Fatalf("accepting a stale version: %v", r)
		}
		r, _ = a.Do(ctxT(t, 5*time.Second), "join", map[string]any{"room": room, "accept_guidelines": 1})
		if r.Type() != "ok" {
			t.Fatalf("accepting: %v", r)
		}
		// New guidelines while a member is in the room: the next post needs them accepted.
		body := []byte(`{"guidelines":"Be kind. No medical advice."}`)
		if status, err := wsclient.DoJSON(ctxT(t, 5*time.Second), "PATCH", c.Nodes[0].URL+"/api/rooms/"+room, c.adminToken(), body, nil); err != nil || status != 200 {
			t.Fatalf("edit guidelines: %d %v", status, err)
		}
		var r2 wsclient.Msg
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) { // the change reaches every node through the broker
			if r2 = send(t, a, room, "still ok?", fmt.Sprintf("g%d", time.Now().UnixNano())); r2.Code() == "guidelines_required" {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if r2.Code() != "guidelines_required" || r2.Int("guidelines_version") != 2 {
			t.Fatalf("post after the guidelines changed: %v", r2)
		}
		join(t, a, room, nil)
		if r := send(t, a, room, "accepted", "g-after"); r.Type() != "ok" {
			t.Fatalf("post after accepting: %v", r)
		}
	})

	t.Run("delete own message and report", func(t *testing.T) {
		room := c.newRoom(t)
		a, _ := c.joined(0, room)
		b, _ := c.joined(1, room)
		seq := send(t, a, room, "oops", "d1").Int("seq")
		collect(t, b, 1, 5*time.Second)
		if r, _ := b.Do(ctxT(t, 5*time.Second), "delete", map[string]any{"room": room, "seq": seq}); r.Code() != "forbidden" {
			t.Fatalf("deleting another's message: %v", r)
		}
		rep, _ := b.Do(ctxT(t, 5*time.Second), "report", map[string]any{"room": room, "seq": seq, "reason": "spam"})
		if rep.Type() != "ok" || rep.Str("report_id") == "" {
			t.Fatalf("report: %v", rep)
		}
		if r, _ := a.Do(ctxT(t, 5*time.Second), "delete", map[string]any{"room": room, "seq": seq}); r.Type() != "ok" {
			t.Fatalf("delete own: %v", r)
		}
		ev, err := b.Next(ctxT(t, 5*time.Second), "message_deleted")
		if err != nil || ev.Int("seq") != seq || ev.Str("by") != "author" {
			t.Fatalf("tombstone: %v %v", ev, err)
		}
		h, _ := b.Do(ctxT(t, 5*time.Second), "history", map[string]any{"room": room, "before": 0, "limit": 10})
		msgs := toMsgs(h["messages"])
		if len(msgs) != 1 || msgs[0].Str("text") != "" || msgs[0]["deleted"] != true {
			t.Fatalf("history still serves deleted text: %v", msgs)
		}
	})
}

func toMsgs(v any) []wsclient.Msg {
	list, _ := v.([]any)
	out := make([]wsclient.Msg, 0, len(list))
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			out = append(out, wsclient.Msg(m))
		}
	}
	return out
}
