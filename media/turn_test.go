package media

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"

	"github.com/havenhealth/haven/broker"
)

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func turnNode(t *testing.T) (*tnode, string) {
	t.Helper()
	port := freeUDPPort(t)
	tn := newTestNode(t, "n1", broker.NewMemory(), nil, func(c *Config) {
		c.TURN.Port, c.TURN.Secret = port, "s3cret"
	})
	return tn, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// TestTURNCredentials: the embedded TURN server allocates only for credentials made with
// its secret that have not expired, and joins hand them out.
func TestTURNCredentials(t *testing.T) {
	tn, addr := turnNode(t)
	allocate := func(user, pass string) error {
		conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		c, err := turn.NewClient(&turn.ClientConfig{TURNServerAddr: addr, STUNServerAddr: addr, Conn: conn,
			Username: user, Password: pass, Realm: "haven", LoggerFactory: pionLogs{log: testLogger()}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Listen(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		relay, err := c.AllocateWithContext(ctx)
		if err == nil {
			_ = relay.Close()
		}
		return err
	}
	if err := allocate(turnCredentials("s3cret", "u1", time.Now().Add(time.Hour))); err != nil {
		t.Fatalf("valid credential refused: %v", err)
	}
	if err := allocate(turnCredentials("guessed", "u1", time.Now().Add(time.Hour))); err == nil {
		t.Fatal("a credential made with another secret was accepted")
	}
	if err := allocate(turnCredentials("s3cret", "u1", time.Now().Add(-time.Minute))); err == nil {
		t.Fatal("an expired credential was accepted")
	}

	host := tn.client("host", "talk", "webinar", RankHost)
	host.must("media.start", nil)
	r := host.join()
	servers, _ := r["ice_servers"].([]any)
	if len(servers) != 1 {
		t.Fatalf("ice_servers %v, want the embedded TURN server", r["ice_servers"])
	}
	s := servers[0].(map[string]any)
	if urls := s["urls"].([]any); urls[0] != "turn:"+addr+"?transport=udp" {
		t.Fatalf("TURN URL %v", urls)
	}
	if u := s["username"].(string); !strings.HasSuffix(u, ":u-host") {
		t.Fatalf("TURN username %q does not name the user", u)
	}
}

// TestTURNRelayedMedia: a member that may only use relayed candidates gets media through
// the embedded TURN server.
func TestTURNRelayedMedia(t *testing.T) {
	tn, _ := turnNode(t)
	host := tn.client("host", "talk", "webinar", RankHost)
	host.must("media.start", nil)
	host.join()
	src := newSource(t, host, nil, false)
	host.offer(src.kinds())
	src.start()

	att := tn.client("att", "talk", "webinar", RankMember)
	var servers []webrtc.ICEServer
	for _, s := range tn.n.iceServers("u-att") {
		servers = append(servers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	att.iceConfig = webrtc.Configuration{ICEServers: servers, ICETransportPolicy: webrtc.ICETransportPolicyRelay}
	if r := att.join(); r.str("type") != "ok" {
		t.Fatalf("join: %v", r)
	}
	got := att.waitPackets(host.participantID()+":video", 0, 20, 15*time.Second)
	src.checkIntact("relayed video", got, true)
	stats := att.pc.GetStats()
	relayed := false
	for _, s := range stats {
		if c, ok := s.(webrtc.ICECandidateStats); ok && c.CandidateType == webrtc.ICECandidateTypeRelay {
			relayed = true
		}
	}
	if !relayed {
		t.Fatal("no relay candidate in the member's stats")
	}
}
