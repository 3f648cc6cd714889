package media

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/pion/turn/v5"
)

// turnCredentials makes a short-lived TURN credential in the TURN REST scheme (and coturn's
// use-auth-secret): the username carries its expiry, the password is an HMAC of the username
// under the shared secret, so any TURN server holding the secret can check it statelessly.
func turnCredentials(secret, userID string, expires time.Time) (username, password string) {
	username = strconv.FormatInt(expires.Unix(), 10) + ":" + userID
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	return username, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// announceIP is the address clients are told to reach this node's media (and embedded
// TURN) at: the first public address, else the listen address.
func announceIP(cfg Config) net.IP {
	if len(cfg.PublicIPs) > 0 {
		return net.ParseIP(cfg.PublicIPs[0])
	}
	if ip := net.ParseIP(cfg.ListenIP); ip != nil && !ip.IsUnspecified() {
		return ip
	}
	return nil
}

// iceServers is what a member's browser is handed on joining: STUN, external TURN, and the
// embedded TURN server, with credentials made for this user.
func (n *Node) iceServers(userID string) []ICEServer {
	cfg := n.cfg
	out := []ICEServer{}
	if len(cfg.STUNURLs) > 0 {
		out = append(out, ICEServer{URLs: cfg.STUNURLs})
	}
	expires := time.Now().Add(cfg.TURN.CredentialTTL)
	if len(cfg.TURN.URLs) > 0 {
		s := ICEServer{URLs: cfg.TURN.URLs, Username: cfg.TURN.Username, Credential: cfg.TURN.Password}
		if cfg.TURN.Secret != "" {
			s.Username, s.Credential = turnCredentials(cfg.TURN.Secret, userID, expires)
		}
		out = append(out, s)
	}
	if n.turnURL != "" {
		u, p := turnCredentials(cfg.TURN.Secret, userID, expires)
		out = append(out, ICEServer{URLs: []string{n.turnURL}, Username: u, Credential: p})
	}
	return out
}

// startTURN runs the embedded TURN server. It relays only to this node's media addresses:
// an open relay would let anyone with a credential reach the private network behind us.
func startTURN(cfg Config, media *net.UDPAddr) (*turn.Server, string, error) {
	if cfg.TURN.Secret == "" {
		return nil, "", errors.New("media: the embedded TURN server needs a TURN secret")
	}
	relayIP := announceIP(cfg)
	if relayIP == nil {
		return nil, "", errors.New("media: the embedded TURN server needs a public IP (or a specific listen IP) to announce")
	}
	listen := cfg.ListenIP
	if listen == "" {
		listen = "0.0.0.0"
	}
	conn, err := net.ListenPacket("udp4", net.JoinHostPort(listen, strconv.Itoa(cfg.TURN.Port)))
	if err != nil {
		return nil, "", fmt.Errorf("media: listen on TURN port %d: %w", cfg.TURN.Port, err)
	}
	allowed := []net.IP{relayIP, media.IP}
	for _, ip := range cfg.PublicIPs {
		allowed = append(allowed, net.ParseIP(ip))
	}
	logs := pionLogs{log: cfg.Logger}
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm:         cfg.TURN.Realm,
		LoggerFactory: logs,
		AuthHandler:   turn.LongTermTURNRESTAuthHandler(cfg.TURN.Secret, logs.NewLogger("turn")),
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            conn,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: relayIP, Address: listen},
			PermissionHandler: func(_ net.Addr, peer net.IP) bool {
				for _, ip := range allowed {
					if ip != nil && (ip.Equal(peer) || (ip.IsUnspecified() && isLocalIP(peer))) {
						return true
					}
				}
				return false
			},
		}},
	})
	if err != nil {
		_ = conn.Close()
		return nil, "", fmt.Errorf("media: start TURN server: %w", err)
	}
	url := "turn:" + net.JoinHostPort(relayIP.String(), strconv.Itoa(conn.LocalAddr().(*net.UDPAddr).Port)) + "?transport=udp"
	return srv, url, nil
}

// isLocalIP reports whether ip is one of this host's addresses (the media port listens on
// all of them when no listen IP is set).
func isLocalIP(ip net.IP) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}
