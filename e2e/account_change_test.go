package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/wsclient"
)

// An admin's change of a member's global role reaches the member's open connections on
// every node: they are asked to reconnect ("account changed") and closed, and the new
// connection carries the new role and badge into the room.
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
}
