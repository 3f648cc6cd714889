package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/internal/wsclient"
)

// TestMediaOwnerDeathEndsSession: two real haven processes on PostgreSQL and Redis. A
// webinar runs on node A; an attendee connected to node B receives its media, and another
// member of the room on node B watches without joining. Node A is killed (SIGKILL, so it
// cannot say goodbye): within the registry's TTL the attendee gets media.ended with reason
// owner_lost, and so does the room, and so does the room of a second session on node A that
// no member on node B had joined. A host on node B then starts the session again, the
// room hears media.started, and the attendee can join it.
func TestMediaOwnerDeathEndsSession(t *testing.T) {
	rs := testenv.StartRedis(t)
	dsn := testenv.PostgresURL(t)
	c := &cluster{t: t}
	var procs []*proc
	for i := 0; i < 2; i++ {
		p := startProc(t, procConfig{ID: fmt.Sprintf("mnode-%d", i+1), DatabaseURL: dsn, RedisURL: rs.URL(),
			Env: []string{"HAVEN_RTC_LISTEN_IP=127.0.0.1", "HAVEN_RTC_UDP_PORT=" + strconv.Itoa(testenv.FreePort(t))}})
		procs = append(procs, p)
		c.Nodes = append(c.Nodes, &node{ID: p.ID, URL: p.URL})
	}
	admin := wsclient.Account{Token: c.adminToken()}
	slug := fmt.Sprintf("failover-%d", time.Now().UnixNano())
	watcher, host := startWebinar(t, c, admin, slug)
	host.join()
	host.publish()
	att, _ := c.joined(1, slug)
	a := newRTCPeer(t, att, slug)
	a.join()
	a.waitPackets(host.participant+":video", 10, 15*time.Second)

	// A second webinar on node A with its host alone in it: no other node has a member in
	// the session, and its room must hear of the loss all the same.
	slug2 := slug + "-alone"
	watcher2, alone := startWebinar(t, c, admin, slug2)
	alone.join()

	killed := time.Now()
	procs[0].kill()
	ended := a.next("media.ended", 30*time.Second, func(m wsclient.Msg) bool { return m.Str("reason") == "owner_lost" })
	t.Logf("media.ended %v after the kill", time.Since(killed).Round(100*time.Millisecond))
	if ended.Str("room") != slug {
		t.Fatalf("media.ended for another room: %v", ended)
	}
	ev, err := watcher.Next(ctxT(t, 10*time.Second), "media.ended")
	if err != nil || ev.Str("reason") != "owner_lost" {
		t.Fatalf("the room was not told the session ended: %v %v", ev, err)
	}
	ev, err = watcher2.Next(ctxT(t, 10*time.Second), "media.ended")
	if err != nil || ev.Str("reason") != "owner_lost" || ev.Str("room") != slug2 {
		t.Fatalf("the room of the session no other node was in was not told it ended: %v %v", ev, err)
	}

	// A host restarts it on node B; the attendee joins the new session there.
	host2 := newRTCPeer(t, c.dial(1, admin), slug)
	join(t, host2.conn, slug, nil)
	host2.must("media.start", nil)
	if ev, err := watcher.Next(ctxT(t, 10*time.Second), "media.started"); err != nil {
		t.Fatalf("the room was not told the session restarted: %v %v", ev, err)
	}
	host2.join()
	r := a.must("media.join", nil)
	st, _ := r["state"].(map[string]any)
	if ps, _ := st["participants"].([]any); len(ps) != 2 {
		t.Fatalf("restarted session's participants: %v", st["participants"])
	}
}

// startWebinar creates a webinar room through node B, joins a watcher to it there, and has
// the admin start its session on node A; the watcher must hear media.started.
func startWebinar(t *testing.T, c *cluster, admin wsclient.Account, slug string) (*wsclient.Conn, *rtcPeer) {
	t.Helper()
	body := fmt.Appendf(nil, `{"slug":%q,"name":"Webinar","condition":"Testing","kind":"webinar","guidelines":"Be kind."}`, slug)
	if status, err := wsclient.PostJSON(ctxT(t, 10*time.Second), c.Nodes[1].URL+"/api/rooms", admin.Token, body, nil); err != nil || status != http.StatusCreated {
		t.Fatalf("create webinar room %s: %d %v", slug, status, err)
	}
	watcher, _ := c.joined(1, slug)
	host := newRTCPeer(t, c.dial(0, admin), slug)
	join(t, host.conn, slug, nil)
	host.must("media.start", nil)
	if ev, err := watcher.Next(ctxT(t, 10*time.Second), "media.started"); err != nil || ev.Str("kind") != "webinar" {
		t.Fatalf("room %s was not told the session started: %v %v", slug, ev, err)
	}
	return watcher, host
}
