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
// or delete a record another node took over.
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

func (r *RedisRegistry) Claim(ctx context.Context, room, node string, ttl time.Duration) (string, error) {
	ok, err := r.c.SetNX(ctx, r.key(room), node, ttl).Result()
	if err != nil {
		return "", fmt.Errorf("media registry: claim %s: %w", room, err)
	}
	if ok {
		return node, nil
	}
	owner, err := r.Owner(ctx, room)
	if err != nil {
		return "", err
	}
	if owner == "" { // expired between the two calls: try once more
		if ok, err = r.c.SetNX(ctx, r.key(room), node, ttl).Result(); err != nil {
			return "", fmt.Errorf("media registry: claim %s: %w", room, err)
		}
		if ok {
			return node, nil
		}
		return r.Owner(ctx, room)
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
	return nil
}
