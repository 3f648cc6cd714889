package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/havenhealth/haven/media"
)

// config maps the media settings onto media.Config (the registry is built separately).
func (m mediaConfig) config(reg media.Registry) media.Config {
	return media.Config{
		ListenIP: m.ListenIP, UDPPort: m.UDPPort, TCPPort: m.TCPPort, PublicIPs: m.PublicIPs,
		STUNURLs: m.STUNURLs, SupportCapacity: m.SupportCapacity, Registry: reg,
		TURN: media.TURNConfig{URLs: m.TURNURLs, Username: m.TURNUsername, Password: m.TURNPassword,
			Secret: m.TURNSecret, Port: m.TURNPort, Realm: m.TURNRealm, CredentialTTL: m.TURNTTL},
	}
}

// mediaRegistry records which node owns each media session: in Redis for a cluster, in
// memory (nil: media's default) for a single node.
func mediaRegistry(cfg config) (media.Registry, func(), error) {
	if cfg.RedisURL == "" {
		return nil, func() {}, nil
	}
	c, err := redisClient(cfg.RedisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("media registry: %w", err)
	}
	return media.NewRedisRegistry(c, ""), func() { _ = c.Close() }, nil
}

// redisClient opens the Redis REDIS_URL names, in the forms the broker accepts:
// redis://, rediss://, and redis+cluster:// / rediss+cluster:// with comma-separated hosts.
func redisClient(raw string) (redis.UniversalClient, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("parse Redis URL: no scheme")
	}
	if base, isCluster := strings.CutSuffix(scheme, "+cluster"); isCluster {
		hostsEnd := strings.IndexAny(rest, "/?")
		if hostsEnd < 0 {
			hostsEnd = len(rest)
		}
		authority, tail := rest[:hostsEnd], rest[hostsEnd:]
		userinfo, hosts := "", authority
		if at := strings.LastIndex(authority, "@"); at >= 0 {
			userinfo, hosts = authority[:at+1], authority[at+1:]
		}
		all := strings.Split(hosts, ",")
		u, err := url.Parse(base + "://" + userinfo + all[0] + tail)
		if err != nil {
			return nil, fmt.Errorf("parse Redis cluster URL: %w", err)
		}
		q := u.Query()
		for _, h := range all[1:] {
			q.Add("addr", h)
		}
		u.RawQuery = q.Encode()
		opts, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, fmt.Errorf("parse Redis cluster URL: %w", err)
		}
		return redis.NewClusterClient(opts), nil
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("parse Redis URL: %w", err)
	}
	return redis.NewClient(opts), nil
}
