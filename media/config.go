// Package media is Haven's selective forwarding unit: webinar and support sessions tied to a
// room, one Pion PeerConnection per participant, one receiver per published track fanned
// out to every subscriber through a bounded, non-blocking writer, and server-side control
// (roles, mute, removal, raised hands) that the client cannot lift.
//
// A session lives on one node, recorded in a Registry. Commands from members connected to
// other nodes reach the owner over the broker's node channel and their replies and events
// come back the same way; ICE goes straight to the owner.
package media

import (
	"log/slog"
	"net"
	"time"
)

// Config tunes media on one node. The zero value of each field means the default in its
// comment.
type Config struct {
	// NodeID names this node in the Registry and on the broker. Required in a cluster.
	NodeID string
	// ListenIP is the address the ICE ports bind to; default all interfaces.
	ListenIP string
	// UDPPort is the single UDP port every peer connection shares (ICE UDP mux); 0 picks a
	// free port when media first starts.
	UDPPort int
	// TCPPort, when set, accepts ICE over TCP (passive candidates) on one port, for members
	// whose networks block UDP. 0 disables ICE-TCP.
	TCPPort int
	// PublicIPs are announced in host candidates instead of the local addresses (NAT 1:1,
	// e.g. a cloud VM's public address). Empty announces the local addresses.
	PublicIPs []string
	// IncludeLoopback announces loopback candidates; on by default when ListenIP is a
	// loopback address (tests, single-host trials).
	IncludeLoopback bool
	// STUNURLs are handed to clients (stun:host:port) so they learn their public address.
	STUNURLs []string
	// TURN relays media for members whose networks allow no direct path.
	TURN TURNConfig

	// SupportCapacity bounds a support session's participants; default 8.
	SupportCapacity int
	// WebinarCapacity bounds a webinar's participants on its node; default 500.
	WebinarCapacity int
	// SubscriberQueue is each subscriber track's packet queue; default 256 packets. A full
	// queue drops packets (counted), never the subscriber.
	SubscriberQueue int
	// InitialBitrate is a subscriber's bandwidth estimate before any feedback, in bits/s;
	// default 1 Mbit/s (the middle simulcast layer).
	InitialBitrate int

	// OwnerTTL is how long a session's owner record survives a node that stopped
	// refreshing it; members elsewhere get media.ended within about this time. Default 10 s.
	OwnerTTL time.Duration
	// CommandTimeout bounds the wait for the owning node to answer a command; default 10 s.
	CommandTimeout time.Duration
	// AnswerTimeout is how long a server offer may wait for the client's answer before the
	// participant is dropped (media.ended, reason no_answer); default 15 s.
	AnswerTimeout time.Duration

	// Registry records which node owns each room's session; default an in-memory registry,
	// right for one node only. A cluster needs the Redis registry.
	Registry Registry
	Logger   *slog.Logger
}

// TURNConfig describes the TURN servers handed to clients, and optionally one embedded in
// this node.
type TURNConfig struct {
	// URLs of external TURN servers (turn:host:3478?transport=udp, turns:host:5349).
	URLs []string
	// Username and Password are static credentials for URLs, used when Secret is empty.
	Username, Password string
	// Secret is a shared secret for short-lived credentials (the TURN REST scheme coturn's
	// use-auth-secret accepts): username "<expiry unix>:<user id>", password
	// base64(HMAC-SHA1(secret, username)). Required by the embedded server.
	Secret string
	// CredentialTTL is how long such a credential lasts; default 4 h, so a long webinar does
	// not outlive it while a leaked one soon expires.
	CredentialTTL time.Duration
	// Port, when set, runs an embedded TURN server on this UDP port. It relays only to this
	// node's own media port, so it cannot be used to reach anything else.
	Port int
	// Realm of the embedded server; default "haven".
	Realm string
}

func (c *Config) defaults() {
	if c.NodeID == "" {
		c.NodeID = "haven"
	}
	if c.SupportCapacity == 0 {
		c.SupportCapacity = 8
	}
	if c.WebinarCapacity == 0 {
		c.WebinarCapacity = 500
	}
	if c.SubscriberQueue == 0 {
		c.SubscriberQueue = 256
	}
	if c.InitialBitrate == 0 {
		c.InitialBitrate = 1_000_000
	}
	if c.OwnerTTL == 0 {
		c.OwnerTTL = 10 * time.Second
	}
	if c.CommandTimeout == 0 {
		c.CommandTimeout = 10 * time.Second
	}
	if c.AnswerTimeout == 0 {
		c.AnswerTimeout = 15 * time.Second
	}
	if c.TURN.CredentialTTL == 0 {
		c.TURN.CredentialTTL = 4 * time.Hour
	}
	if c.TURN.Realm == "" {
		c.TURN.Realm = "haven"
	}
	if ip := net.ParseIP(c.ListenIP); ip != nil && ip.IsLoopback() {
		c.IncludeLoopback = true
	}
	if c.Registry == nil {
		c.Registry = NewMemoryRegistry()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}
