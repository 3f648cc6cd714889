package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/havenhealth/haven/internal/wsclient"
)

// TestMediaRoomEventsAndLeave: a member of the room who is not in the session learns when
// media starts and ends (media.started, media.ended); a participant who leaves the chat
// room leaves the session too: the others' state drops them and the server closes their
// peer connection.
func TestMediaRoomEventsAndLeave(t *testing.T) {
	c := startMediaCluster(t, 1)
	slug := fmt.Sprintf("webinar-%d", time.Now().UnixNano())
	body := fmt.Appendf(nil, `{"slug":%q,"name":"Webinar","condition":"Testing","kind":"webinar","guidelines":"Be kind."}`, slug)
	if status, err := wsclient.PostJSON(ctxT(t, 10*time.Second), c.Nodes[0].URL+"/api/rooms", c.adminToken(), body, nil); err != nil || status != http.StatusCreated {
		t.Fatalf("create webinar room: %d %v", status, err)
	}
	watcher, _ := c.joined(0, slug)
	host := newRTCPeer(t, c.dial(0, wsclient.Account{Token: c.adminToken()}), slug)
	join(t, host.conn, slug, nil)
	host.must("media.start", nil) // no scheduled session: an ad-hoc start
	ev, err := watcher.Next(ctxT(t, 10*time.Second), "media.started")
	if err != nil || ev.Str("room") != slug || ev.Str("kind") != "webinar" || ev.Str("started_at") == "" {
		t.Fatalf("media.started: %v %v", ev, err)
	}
	if by, _ := ev["by"].(map[string]any); by == nil || by["id"] == "" {
		t.Fatalf("media.started names no host: %v", ev)
	}
	host.join()
	host.publish()

	attConn, attAcc := c.joined(0, slug)
	a := newRTCPeer(t, attConn, slug)
	a.join()
	a.waitPackets(host.participant+":video", 10, 15*time.Second)
	host.next("media.state", 10*time.Second, func(m wsclient.Msg) bool { return len(participantsOf(m)) == 2 })

	if r, err := attConn.Do(ctxT(t, 10*time.Second), "leave", map[string]any{"room": slug}); err != nil || r.Type() != "ok" {
		t.Fatalf("leave: %v %v", r, err)
	}
	host.next("media.state", 10*time.Second, func(m wsclient.Msg) bool {
		for _, p := range participantsOf(m) {
			if u, _ := p["user"].(map[string]any); u != nil && u["id"] == attAcc.ID {
				return false
			}
		}
		return len(participantsOf(m)) == 1
	})
	deadline := time.Now().Add(15 * time.Second)
	for a.pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
		if time.Now().After(deadline) {
			t.Fatal("the server did not close the peer connection of a member who left the room")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := a.do("media.join", nil); r.Code() != "not_member" {
		t.Fatalf("media.join after leaving the room: %v", r)
	}

	host.must("media.end", nil)
	ev, err = watcher.Next(ctxT(t, 10*time.Second), "media.ended")
	if err != nil || ev.Str("reason") != "ended" {
		t.Fatalf("room media.ended: %v %v", ev, err)
	}
}

func participantsOf(m wsclient.Msg) []map[string]any {
	ps, _ := m["participants"].([]any)
	var out []map[string]any
	for _, p := range ps {
		if pm, ok := p.(map[string]any); ok {
			out = append(out, pm)
		}
	}
	return out
}
