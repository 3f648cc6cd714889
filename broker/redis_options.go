package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable wraps every error caused by Redis being unreachable. Publish returns it
// after the local delivery has happened, so a caller may count it and carry on.
var ErrUnavailable = errors.New("broker backend unavailable")

// RedisOptions configures the Redis broker and presence. Zero values mean the default given
// beside each field.
type RedisOptions struct {
	// URL names the server. Accepted forms:
	//   redis://[user:pass@]host:port[/db][?opts]          one server, plain pub/sub
	//   rediss://...                                       the same over TLS
	//   redis+cluster://[user:pass@]host1:port1,host2:port2[?opts]
	//   rediss+cluster://...                               Redis Cluster, sharded pub/sub
	// A cluster URL may also list seeds as repeated addr=host:port query parameters; opts are
	// go-redis's (dial_timeout, pool_size, ...). Required.
	URL string
	// NodeID names this node; it tags what the node publishes so its own messages are not
	// delivered twice. At most 255 bytes, unique in the cluster. Required.
	NodeID string
	// Prefix goes before every channel and key in Redis. Default "haven:".
	Prefix string
	// DialTimeout bounds connecting to Redis. Default 1 s.
	DialTimeout time.Duration
	// OpTimeout bounds one command (publish, presence update, ping). Default 1 s.
	OpTimeout time.Duration
	// PingInterval is how often an idle subscriber connection is probed; a connection
	// silent for two intervals is treated as lost. Default 2 s.
	PingInterval time.Duration
	// MinBackoff and MaxBackoff bound the jittered exponential wait between reconnect
	// attempts. Defaults 100 ms and 5 s.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives connection state changes. Default slog.Default().
	Logger *slog.Logger
}

func (o RedisOptions) withDefaults() (RedisOptions, error) {
	if o.URL == "" {
		return o, errors.New("broker: redis: URL is required")
	}
	if o.NodeID == "" || len(o.NodeID) > 255 {
		return o, fmt.Errorf("broker: redis: NodeID must be 1 to 255 bytes, got %d", len(o.NodeID))
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.Prefix == "" {
		o.Prefix = "haven:"
	}
	def(&o.DialTimeout, time.Second)
	def(&o.OpTimeout, time.Second)
	def(&o.PingInterval, 2*time.Second)
	def(&o.MinBackoff, 100*time.Millisecond)
	def(&o.MaxBackoff, 5*time.Second)
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// newClient builds the go-redis client the URL names. cluster reports whether it is a
// ClusterClient, which decides between sharded and plain pub/sub.
func newClient(o RedisOptions) (c redis.UniversalClient, cluster bool, err error) {
	clusterURL, seeds, isCluster, err := splitClusterURL(o.URL)
	if err != nil {
		return nil, false, err
	}
	if !isCluster {
		ro, err := redis.ParseURL(o.URL)
		if err != nil {
			return nil, false, fmt.Errorf("broker: redis: parse URL: %w", err)
		}
		ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout = o.DialTimeout, o.OpTimeout, o.OpTimeout
		ro.PoolTimeout = o.OpTimeout
		// One retry rides out a single dropped connection; more would hold callers far
		// beyond OpTimeout while Redis is down.
		ro.MaxRetries = 1
		// go-redis redials up to 5 times by default; the receive loop has its own backoff.
		ro.DialerRetries = 1
		return redis.NewClient(ro), false, nil
	}
	co, err := redis.ParseClusterURL(clusterURL)
	if err != nil {
		return nil, false, fmt.Errorf("broker: redis: parse cluster URL: %w", err)
	}
	co.Addrs = append(co.Addrs, seeds...)
	co.DialTimeout, co.ReadTimeout, co.WriteTimeout = o.DialTimeout, o.OpTimeout, o.OpTimeout
	co.PoolTimeout = o.OpTimeout
	co.MaxRetries = 1
	co.DialerRetries = 1
	return redis.NewClusterClient(co), true, nil
}

// splitClusterURL recognises the redis+cluster and rediss+cluster schemes. It returns a URL
// go-redis's ParseClusterURL accepts (plain scheme, first host) and the other hosts, which
// net/url cannot parse as one comma-separated authority.
func splitClusterURL(raw string) (clusterURL string, seeds []string, isCluster bool, err error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "", nil, false, fmt.Errorf("broker: redis: URL %q has no scheme", redactURL(raw))
	}
	switch scheme {
	case "redis", "rediss":
		return raw, nil, false, nil
	case "redis+cluster", "rediss+cluster":
	default:
		return "", nil, false, fmt.Errorf("broker: redis: unsupported URL scheme %q", scheme)
	}
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	userinfo, hosts := "", authority
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		userinfo, hosts = authority[:at+1], authority[at+1:]
	}
	var addrs []string
	for _, h := range strings.Split(hosts, ",") {
		if h == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			return "", nil, false, fmt.Errorf("broker: redis: cluster address %q: %w", h, err)
		}
		addrs = append(addrs, h)
	}
	if len(addrs) == 0 {
		return "", nil, false, errors.New("broker: redis: cluster URL names no host")
	}
	if strings.HasPrefix(tail, "/") {
		// A cluster has no databases; ParseClusterURL ignores a path, so reject "/3" rather
		// than silently dropping it.
		path, _, _ := strings.Cut(tail, "?")
		if path != "/" && path != "/0" {
			return "", nil, false, fmt.Errorf("broker: redis: cluster URL cannot select database %q", path)
		}
	}
	base := strings.TrimSuffix(scheme, "+cluster")
	return base + "://" + userinfo + addrs[0] + tail, addrs[1:], true, nil
}

// redactURL hides a password before a URL goes into an error or log line.
func redactURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "<invalid>"
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if user, _, hasPass := strings.Cut(rest[:at], ":"); hasPass {
			return scheme + "://" + user + ":xxx" + rest[at:]
		}
	}
	return raw
}
