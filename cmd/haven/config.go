package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/havenhealth/haven/server"
)

// config is every setting of the haven binary. Each is a flag whose default comes from an
// environment variable, so containers configure by environment and people by flags.
type config struct {
	Addr            string
	AdminAddr       string
	DataDir         string
	DatabaseURL     string
	RedisURL        string
	NodeID          string
	AdminEmail      string
	AdminPassword   string
	AllowedOrigins  string
	PublicURL       string
	TLSCert         string
	TLSKey          string
	TrustProxy      bool
	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration
	PresenceTTL     time.Duration
	SeedDemo        bool
	GCPercent       int
	FlushMax        time.Duration
	Media           mediaConfig
	Safety          server.SafetyConfig // loaded from -safety-config at parse time

	// The adverse-event case queue's clocks (safetycases.Config).
	AEForwardBusinessDays int
	AERegulatoryDays      int
	AEOverdueInterval     time.Duration

	// Consent, erasure and retention (server.PrivacyConfig).
	Privacy server.PrivacyConfig
}

// mediaConfig is the WebRTC part: ports, the addresses announced to browsers, and the
// STUN/TURN servers handed to them.
type mediaConfig struct {
	ListenIP        string
	UDPPort         int
	TCPPort         int
	PublicIPs       []string
	STUNURLs        []string
	TURNURLs        []string
	TURNUsername    string
	TURNPassword    string
	TURNSecret      string
	TURNPort        int
	TURNRealm       string
	TURNTTL         time.Duration
	SupportCapacity int
}

// setting documents one flag; the README's configuration table is generated from the same
// list (`haven -help`).
type setting struct {
	flag, env, def, help string
}

var settings = []setting{
	{"addr", "HAVEN_ADDR", ":8080", "address to serve HTTP and WebSocket on"},
	{"admin-addr", "HAVEN_ADMIN_ADDR", "", "address for pprof (e.g. 127.0.0.1:6060); empty disables it"},
	{"data-dir", "HAVEN_DATA_DIR", "./haven-data", "directory of the embedded SQLite store (used when no database URL)"},
	{"database-url", "DATABASE_URL", "", "PostgreSQL URL; empty uses the embedded SQLite store"},
	{"redis-url", "REDIS_URL", "", "Redis URL (redis://, rediss://, redis+cluster://); empty uses the in-memory broker (one node)"},
	{"node-id", "HAVEN_NODE_ID", "", "this node's name in logs, metrics and the cluster; default: host name"},
	{"admin-email", "HAVEN_ADMIN_EMAIL", "", "email of the admin created on first start"},
	{"admin-password", "HAVEN_ADMIN_PASSWORD", "", "password of the admin created on first start"},
	{"allowed-origins", "HAVEN_ALLOWED_ORIGINS", "", "comma-separated origins allowed to open /ws cross-origin (same origin is always allowed)"},
	{"public-url", "HAVEN_PUBLIC_URL", "", "URL members reach Haven at, for the admin sign-up link; default http://localhost<addr>"},
	{"tls-cert", "HAVEN_TLS_CERT", "", "TLS certificate file; with -tls-key serves HTTPS (session cookies become Secure)"},
	{"tls-key", "HAVEN_TLS_KEY", "", "TLS key file"},
	{"trust-proxy", "HAVEN_TRUST_PROXY", "false", "trust X-Forwarded-For/-Proto from a reverse proxy"},
	{"log-level", "HAVEN_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"log-format", "HAVEN_LOG_FORMAT", "text", "text or json"},
	{"shutdown-timeout", "HAVEN_SHUTDOWN_TIMEOUT", "10s", "how long a drain on SIGTERM may take"},
	{"presence-ttl", "HAVEN_PRESENCE_TTL", "30s", "how long a silent node's presence survives (cluster mode)"},
	{"seed-demo", "HAVEN_SEED_DEMO", "true", "create demo condition rooms when there are none"},
	{"gc-percent", "HAVEN_GC_PERCENT", "50", "garbage collector target (Go's GOGC; -1 turns collection off); the GOGC variable, when set, wins"},
	{"flush-max", "HAVEN_FLUSH_MAX", "50ms", "longest a large room holds its events so that each member gets them in one frame (the window is 10 µs per local member, 10 ms at least)"},
	{"rtc-listen-ip", "HAVEN_RTC_LISTEN_IP", "", "address the WebRTC ports bind to; empty binds all interfaces"},
	{"rtc-udp-port", "HAVEN_RTC_UDP_PORT", "7882", "the one UDP port all WebRTC media uses (ICE UDP mux); open it in the firewall"},
	{"rtc-tcp-port", "HAVEN_RTC_TCP_PORT", "0", "TCP port for WebRTC media when UDP is blocked (ICE-TCP); 0 disables it"},
	{"rtc-public-ip", "HAVEN_RTC_PUBLIC_IP", "", "comma-separated public addresses announced to browsers (NAT 1:1, e.g. a cloud VM's); empty announces local addresses"},
	{"stun-urls", "HAVEN_STUN_URLS", "", "comma-separated STUN servers handed to browsers (stun:host:3478)"},
	{"turn-urls", "HAVEN_TURN_URLS", "", "comma-separated external TURN servers handed to browsers (turn:host:3478?transport=udp, turns:host:5349)"},
	{"turn-username", "HAVEN_TURN_USERNAME", "", "static username for the external TURN servers (when no TURN secret)"},
	{"turn-password", "HAVEN_TURN_PASSWORD", "", "static password for the external TURN servers"},
	{"turn-secret", "HAVEN_TURN_SECRET", "", "shared secret for short-lived TURN credentials (coturn use-auth-secret; required by the embedded TURN server)"},
	{"turn-port", "HAVEN_TURN_PORT", "0", "UDP port of an embedded TURN server that relays to this node only; 0 disables it"},
	{"turn-realm", "HAVEN_TURN_REALM", "haven", "realm of the embedded TURN server"},
	{"turn-credential-ttl", "HAVEN_TURN_CREDENTIAL_TTL", "4h", "how long a TURN credential handed to a browser stays valid"},
	{"support-capacity", "HAVEN_SUPPORT_CAPACITY", "8", "most participants in a support session's audio/video"},
	{"ae-forward-business-days", "HAVEN_AE_FORWARD_BUSINESS_DAYS", "1", "an adverse-event case is due to be forwarded to the safety team this many business days (Saturday and Sunday skipped) after awareness"},
	{"ae-regulatory-days", "HAVEN_AE_REGULATORY_DAYS", "15", "an adverse-event case's regulatory clock runs out this many calendar days after awareness (day 0)"},
	{"ae-overdue-interval", "HAVEN_AE_OVERDUE_INTERVAL", "1m", "how often each node looks for overdue adverse-event cases (metrics and reviewer alerts)"},
	{"health-consent-version", "HAVEN_HEALTH_CONSENT_VERSION", "0", "version of the health-data consent members must grant before posting; 0 = not required; raising it asks everyone again"},
	{"health-consent-text", "HAVEN_HEALTH_CONSENT_TEXT", "", "text of the health-data consent; empty uses the built-in text"},
	{"erasure-content", "HAVEN_ERASURE_CONTENT", "delete", "what erasing an account does to its messages: delete (text removed, shown as deleted) or pseudonymise (text kept under a \"Former member\" pseudonym); legal-hold messages are always kept"},
	{"retention-interval", "HAVEN_RETENTION_INTERVAL", "1h", "how often each node removes messages older than their room's retention_days"},
	{"safety-config", "HAVEN_SAFETY_CONFIG", "", "JSON file of products, reactions, allowed link domains, crisis resources and the default personal-information policy; empty uses built-in demo defaults"},
}

func parseConfig(fs *flag.FlagSet, args []string) (config, error) {
	var c config
	vals := make(map[string]*string, len(settings))
	for _, s := range settings {
		def := s.def
		if v, ok := os.LookupEnv(s.env); ok {
			def = v
		}
		vals[s.flag] = fs.String(s.flag, def, fmt.Sprintf("%s (env %s)", s.help, s.env))
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	get := func(name string) string { return strings.TrimSpace(*vals[name]) }
	var err error
	boolean := func(name string) bool {
		b, perr := strconv.ParseBool(get(name))
		if perr != nil && err == nil {
			err = fmt.Errorf("-%s: %w", name, perr)
		}
		return b
	}
	duration := func(name string) time.Duration {
		d, perr := time.ParseDuration(get(name))
		if perr != nil && err == nil {
			err = fmt.Errorf("-%s: %w", name, perr)
		}
		return d
	}
	integer := func(name string) int {
		n, perr := strconv.Atoi(get(name))
		if perr != nil && err == nil {
			err = fmt.Errorf("-%s: %w", name, perr)
		}
		return n
	}
	c = config{
		Addr: get("addr"), AdminAddr: get("admin-addr"), DataDir: get("data-dir"),
		DatabaseURL: get("database-url"), RedisURL: get("redis-url"), NodeID: get("node-id"),
		AdminEmail: get("admin-email"), AdminPassword: *vals["admin-password"],
		AllowedOrigins: get("allowed-origins"), PublicURL: get("public-url"),
		TLSCert: get("tls-cert"), TLSKey: get("tls-key"), TrustProxy: boolean("trust-proxy"),
		LogLevel: get("log-level"), LogFormat: get("log-format"),
		ShutdownTimeout: duration("shutdown-timeout"), PresenceTTL: duration("presence-ttl"),
		SeedDemo: boolean("seed-demo"), GCPercent: integer("gc-percent"),
		FlushMax: duration("flush-max"),
		Media: mediaConfig{
			ListenIP: get("rtc-listen-ip"), UDPPort: integer("rtc-udp-port"), TCPPort: integer("rtc-tcp-port"),
			PublicIPs: list(get("rtc-public-ip")), STUNURLs: list(get("stun-urls")), TURNURLs: list(get("turn-urls")),
			TURNUsername: get("turn-username"), TURNPassword: *vals["turn-password"], TURNSecret: *vals["turn-secret"],
			TURNPort: integer("turn-port"), TURNRealm: get("turn-realm"), TURNTTL: duration("turn-credential-ttl"),
			SupportCapacity: integer("support-capacity"),
		},
	}
	if err != nil {
		return c, err
	}
	if c.NodeID == "" {
		c.NodeID, _ = os.Hostname()
	}
	if c.NodeID == "" {
		c.NodeID = "haven"
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return c, fmt.Errorf("-tls-cert and -tls-key go together")
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") {
		return c, fmt.Errorf("HAVEN_ADMIN_EMAIL and HAVEN_ADMIN_PASSWORD go together")
	}
	if c.FlushMax <= 0 {
		return c, fmt.Errorf("-flush-max %s: use a positive duration", c.FlushMax)
	}
	if c.GCPercent < -1 || c.GCPercent == 0 {
		return c, fmt.Errorf("-gc-percent %d: use a positive percentage, or -1 for off", c.GCPercent)
	}
	if err := c.Media.validate(); err != nil {
		return c, err
	}
	c.AEForwardBusinessDays, c.AERegulatoryDays = integer("ae-forward-business-days"), integer("ae-regulatory-days")
	c.AEOverdueInterval = duration("ae-overdue-interval")
	if err != nil {
		return c, err
	}
	if c.AEForwardBusinessDays < 1 || c.AERegulatoryDays < 1 || c.AEOverdueInterval <= 0 {
		return c, fmt.Errorf("-ae-forward-business-days and -ae-regulatory-days must be 1 or more, -ae-overdue-interval positive")
	}
	c.Privacy = server.PrivacyConfig{HealthConsentVersion: integer("health-consent-version"),
		HealthConsentText: get("health-consent-text"), ErasureContent: get("erasure-content"),
		RetentionInterval: duration("retention-interval")}
	if err != nil {
		return c, err
	}
	if err := validPrivacy(c.Privacy); err != nil {
		return c, err
	}
	if c.Safety, err = server.LoadSafetyConfig(get("safety-config")); err != nil {
		return c, fmt.Errorf("-safety-config: %w", err)
	}
	if c.PublicURL == "" {
		scheme, host := "http", c.Addr
		if c.TLSCert != "" {
			scheme = "https"
		}
		if strings.HasPrefix(host, ":") {
			host = "localhost" + host
		}
		c.PublicURL = scheme + "://" + host
	}
	return c, nil
}

func (c config) origins() []string { return list(c.AllowedOrigins) }

// list splits a comma-separated setting, dropping blanks.
func list(s string) []string {
	var out []string
	for _, o := range strings.Split(s, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

func (m mediaConfig) validate() error {
	for name, p := range map[string]int{"rtc-udp-port": m.UDPPort, "rtc-tcp-port": m.TCPPort, "turn-port": m.TURNPort} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("-%s: %d is not a port", name, p)
		}
	}
	if m.ListenIP != "" && net.ParseIP(m.ListenIP) == nil {
		return fmt.Errorf("-rtc-listen-ip: %q is not an IP address", m.ListenIP)
	}
	for _, ip := range m.PublicIPs {
		if net.ParseIP(ip) == nil {
			return fmt.Errorf("-rtc-public-ip: %q is not an IP address", ip)
		}
	}
	for _, u := range m.STUNURLs {
		if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") {
			return fmt.Errorf("-stun-urls: %q is not a stun: or stuns: URL", u)
		}
	}
	for _, u := range m.TURNURLs {
		if !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			return fmt.Errorf("-turn-urls: %q is not a turn: or turns: URL", u)
		}
	}
	if len(m.TURNURLs) > 0 && m.TURNSecret == "" && (m.TURNUsername == "" || m.TURNPassword == "") {
		return fmt.Errorf("-turn-urls needs -turn-secret, or -turn-username and -turn-password")
	}
	if m.TURNPort > 0 && m.TURNSecret == "" {
		return fmt.Errorf("-turn-port (the embedded TURN server) needs -turn-secret")
	}
	if m.TURNPort > 0 && len(m.PublicIPs) == 0 && (m.ListenIP == "" || net.ParseIP(m.ListenIP).IsUnspecified()) {
		return fmt.Errorf("-turn-port needs -rtc-public-ip (or a specific -rtc-listen-ip) to announce")
	}
	if m.TURNTTL <= 0 {
		return fmt.Errorf("-turn-credential-ttl must be positive")
	}
	if m.SupportCapacity < 2 {
		return fmt.Errorf("-support-capacity must be at least 2")
	}
	return nil
}

func validPrivacy(p server.PrivacyConfig) error {
	switch {
	case p.HealthConsentVersion < 0:
		return fmt.Errorf("-health-consent-version must be 0 (not required) or more")
	case p.ErasureContent != "delete" && p.ErasureContent != "pseudonymise":
		return fmt.Errorf("-erasure-content must be delete or pseudonymise, not %q", p.ErasureContent)
	case p.RetentionInterval <= 0:
		return fmt.Errorf("-retention-interval must be positive")
	}
	return nil
}
