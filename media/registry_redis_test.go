package media

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/havenhealth/haven/internal/testenv"
)

// TestRegistryRedis: the Redis registry behaves as the memory one, against a real Redis.
func TestRegistryRedis(t *testing.T) {
	rs := testenv.StartRedis(t)
	opts, err := redis.ParseURL(rs.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	testRegistry(t, NewRedisRegistry(c, "test:"))
}
