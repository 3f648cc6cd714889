package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
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
	c = config{
		Addr: get("addr"), AdminAddr: get("admin-addr"), DataDir: get("data-dir"),
		DatabaseURL: get("database-url"), RedisURL: get("redis-url"), NodeID: get("node-id"),
		AdminEmail: get("admin-email"), AdminPassword: *vals["admin-password"],
		AllowedOrigins: get("allowed-origins"), PublicURL: get("public-url"),
		TLSCert: get("tls-cert"), TLSKey: get("tls-key"), TrustProxy: boolean("trust-proxy"),
		LogLevel: get("log-level"), LogFormat: get("log-format"),
		ShutdownTimeout: duration("shutdown-timeout"), PresenceTTL: duration("presence-ttl"),
		SeedDemo: boolean("seed-demo"),
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

func (c config) origins() []string {
	var out []string
	for _, o := range strings.Split(c.AllowedOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}
