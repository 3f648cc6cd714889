package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/internal/wsclient"
)

// An admin's change of a member's global role, or of their badges, reaches the member's
// open connections on every node: they are asked to reconnect ("account changed") and
// closed, and the new connection carries the change into the room.
func TestAccountChangeSQLite(t *testing.T)  { runAccountChange(t, sqliteSetup()) }
func TestAccountChangeCluster(t *testing.T) { runAccountChange(t, postgresSetup(2, true)) }

func runAccountChange(t *testing.T, s setup) {
	c := startCluster(t, s)
	room := c.newRoom(t)
	far := len(c.Nodes) - 1 // the admin's request goes to node 0
	conn, acc := c.joined(far, room)

	status, err := wsclient.DoJSON(ctxT(t, 10*time.Second), http.MethodPut, c.Nodes[0].URL+"/api/users/"+acc.ID+"/role",
		c.adminToken(), []byte(`{"role":"clinician"}`), nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("make clinician: %d %v", status, err)
	}
	ev, err := conn.Next(ctxT(t, 10*time.Second), "reconnect")
	if err != nil || ev.Str("reason") != "account changed" {
		t.Fatalf("reconnect event = %v, %v", ev, err)
	}
	select {
	case <-conn.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the connection was not closed after the reconnect event")
	}

	again := c.dial(far, acc)
	join(t, again, room, nil)
	send(t, again, room, "hello as a clinician", "ac-1")
	msg := collect(t, again, 1, 10*time.Second)[0]
	author, _ := msg["author"].(map[string]any)
	if author["role"] != "clinician" || author["verified"] != true {
		t.Fatalf("author after the change = %v", author)
	}

	status, err = wsclient.DoJSON(ctxT(t, 10*time.Second), http.MethodPut, c.Nodes[0].URL+"/api/users/"+acc.ID+"/badges",
		c.adminToken(), []byte(`{"affiliation":"Acme Pumps"}`), nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("set affiliation: %d %v", status, err)
	}
	if ev, err := again.Next(ctxT(t, 10*time.Second), "reconnect"); err != nil || ev.Str("reason") != "account changed" {
		t.Fatalf("reconnect event after a badge change = %v, %v", ev, err)
	}
}

// TestBrowserAccountChange: a member with the app open is made a global moderator; the page
// reconnects on its own, rejoins the room, and its header shows the safety console link
// that the new role opens.
func TestBrowserAccountChange(t *testing.T) {
	testenv.Chromium(t)
	c := startCluster(t, sqliteSetup())
	url := c.Nodes[0].URL
	b := newBrowserMember(t, "member")
	suffix := time.Now().UnixNano() % 1_000_000
	b.signup(url, fmt.Sprintf("ac%d@example.org", suffix), fmt.Sprintf("Kestrel%d", suffix))
	b.openRoom()
	if !browserEval[bool](b, `document.querySelector("#safety-link").hidden`) {
		t.Fatal("a member sees the safety console link")
	}
	id := browserEval[string](b, `(() => { const x = new XMLHttpRequest(); x.open("GET", "/api/me", false); x.send();
		return JSON.parse(x.responseText).user.id; })()`)

	status, err := wsclient.DoJSON(ctxT(t, 10*time.Second), http.MethodPut, url+"/api/users/"+id+"/role",
		c.adminToken(), []byte(`{"role":"moderator"}`), nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("make moderator: %d %v", status, err)
	}
	b.waitJS("safety link shown", `!document.querySelector("#safety-link").hidden`, 15*time.Second)
	b.waitJoined()
	b.send("back as a moderator")
	b.checkConsole()
}
