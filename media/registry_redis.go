package media

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

var _ Registry = (*RedisRegistry)(nil)

// RedisRegistry keeps each session's owner in one Redis key with a TTL: SET NX to claim,
// compare-and-extend to refresh, compare-and-delete to release, so a node can never extend
// or delete a record another node took over. The live marks are one hash, room → node,
// with no TTL: they outlive the node that died.
type RedisRegistry struct {
	c      redis.UniversalClient
	prefix string
}

// NewRedisRegistry stores records under prefix+"media:owner:"+room (prefix default
// "haven:", as the broker's).
func NewRedisRegistry(c redis.UniversalClient, prefix string) *RedisRegistry {
	if prefix == "" {
		prefix = "haven:"
	}
	return &RedisRegistry{c: c, prefix: prefix}
}

func (r *RedisRegistry) key(room string) string { return r.prefix + "media:owner:" + room }

func (r *RedisRegistry) liveKey() string { return r.prefix + "media:live" }

func (r *RedisRegistry) Claim(ctx context.Context, room, node string, ttl time.Duration) (string, error) {
	ok, err := r.c.SetNX(ctx, r.key(room), node, ttl).Result()
	if err != nil {
		return "", fmt.Errorf("media registry: claim %s: %w", room, err)
	}
	owner := node
	if !ok {
		if owner, err = r.Owner(ctx, room); err != nil {
			return "", err
		}
	}
	if owner == "" { // expired between the two calls: try once more
		if ok, err = r.c.SetNX(ctx, r.key(room), node, ttl).Result(); err != nil {
			return "", fmt.Errorf("media registry: claim %s: %w", room, err)
		}
		if owner = node; !ok {
			if owner, err = r.Owner(ctx, room); err != nil {
				return "", err
			}
		}
	}
	if owner == node {
		// Marked on every claim that names us, so a claim whose mark failed is marked by
		// the next.
		if err := r.c.HSet(ctx, r.liveKey(), room, node).Err(); err != nil {
			return "", fmt.Errorf("media registry: mark %s live: %w", room, err)
		}
	}
	return owner, nil
}

func (r *RedisRegistry) Owner(ctx context.Context, room string) (string, error) {
	owner, err := r.c.Get(ctx, r.key(room)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("media registry: owner of %s: %w", room, err)
	}
	return owner, nil
}

var refreshScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`)

var releaseScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)

func (r *RedisRegistry) Refresh(ctx context.Context, room, node string, ttl time.Duration) (bool, error) {
	n, err := refreshScript.Run(ctx, r.c, []string{r.key(room)}, node, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("media registry: refresh %s: %w", room, err)
	}
	return n == 1, nil
}

func (r *RedisRegistry) Release(ctx context.Context, room, node string) error {
	if err := releaseScript.Run(ctx, r.c, []string{r.key(room)}, node).Err(); err != nil {
		return fmt.Errorf("media registry: release %s: %w", room, err)
	}
	if _, err := r.Forget(ctx, room, node); err != nil {
		return fmt.Errorf("media registry: release %s: %w", room, err)
	}
	return nil
}

var forgetScript = redis.NewScript(`
if redis.call("HGET", KEYS[1], ARGV[1]) == ARGV[2] then
	return redis.call("HDEL", KEYS[1], ARGV[1])
end
return 0`)

func (r *RedisRegistry) Live(ctx context.Context) (map[string]string, error) {
	marks, err := r.c.HGetAll(ctx, r.liveKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("media registry: live marks: %w", err)
	}
	return marks, nil
}

func (r *RedisRegistry) Forget(ctx context.Context, room, node string) (bool, error) {
	n, err := forgetScript.Run(ctx, r.c, []string{r.liveKey()}, room, node).Int()
	if err != nil {
		return false, fmt.Errorf("media registry: forget %s: %w", room, err)
	}
	return n == 1, nil
}
