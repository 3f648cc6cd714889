package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

var _ Presence = (*RedisPresence)(nil)

// DefaultPresenceTTL is how long a node's share of presence outlives its last heartbeat.
const DefaultPresenceTTL = 30 * time.Second

// RedisPresence counts who is online per room across the cluster.
//
// Each node knows its own members of each room exactly; Redis holds only each node's count.
// Key Prefix+"presence:"+room is a hash: field NodeID, value "<seq> <count> <expiresAtMs>".
// A heartbeat (every TTL/3) rewrites the expiry, so the share of a node that dies without
// Close expires within the TTL. Join, Leave and Online each run one script — one round trip,
// O(nodes in the room) inside Redis, independent of how many members join. Seq, taken under
// the same lock as the count, lets the script ignore an update that arrives after a newer
// one. Expiry uses Redis's clock, so node clocks may differ.
//
// The online count is the sum of the nodes' counts: a user connected to two nodes counts
// twice. Exact distinct counts would need a union of member sets, O(members) per call.
type RedisPresence struct {
	opts   RedisOptions
	client redis.UniversalClient
	ttl    time.Duration

	mu     sync.Mutex // guards rooms, seq, closed
	rooms  map[string]*presenceRoom
	seq    int64 // last update sequence; starts at the clock so a restarted node's seqs win
	closed bool

	stopOnce sync.Once
	stop     chan struct{} // closed to end the heartbeat
	done     chan struct{} // closed when the heartbeat has ended
}

type presenceRoom struct {
	users  map[string]struct{} // users of the room on this node
	others int                 // other nodes' last-known total, served while Redis is down
}

// NewRedisPresence connects presence to the Redis that opts names, with opts.NodeID as
// this node's identity; ttl 0 means DefaultPresenceTTL. It starts the heartbeat; Close
// withdraws this node's share and stops it.
func NewRedisPresence(opts RedisOptions, ttl time.Duration) (*RedisPresence, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if ttl <= 0 {
		ttl = DefaultPresenceTTL
	}
	if ttl < 30*time.Millisecond {
		return nil, fmt.Errorf("broker: redis presence: ttl %v too short", ttl)
	}
	client, _, err := newClient(o)
	if err != nil {
		return nil, err
	}
	p := &RedisPresence{
		opts:   o,
		client: client,
		ttl:    ttl,
		rooms:  make(map[string]*presenceRoom),
		seq:    time.Now().UnixMicro(), // below 2^53, so exact as a Lua number
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go p.heartbeat()
	return p, nil
}

// Join records userID in room on this node and returns the cluster-wide count. While Redis
// is unreachable it returns this node's count plus the others' last-known total, and an
// error wrapping ErrUnavailable.
func (p *RedisPresence) Join(ctx context.Context, room, userID string) (int, error) {
	return p.change(ctx, room, userID, true)
}

// Leave removes userID from room on this node; see Join for the result.
func (p *RedisPresence) Leave(ctx context.Context, room, userID string) (int, error) {
	return p.change(ctx, room, userID, false)
}

func (p *RedisPresence) change(ctx context.Context, room, userID string, join bool) (int, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0, ErrClosed
	}
	r := p.rooms[room]
	if r == nil {
		r = &presenceRoom{users: make(map[string]struct{})}
		p.rooms[room] = r
	}
	if join {
		r.users[userID] = struct{}{}
	} else {
		delete(r.users, userID)
	}
	local, others := len(r.users), r.others
	if local == 0 {
		delete(p.rooms, room) // the count-0 update below withdraws the share
	}
	p.seq++
	seq := p.seq
	p.mu.Unlock()

	total, err := p.run(ctx, room, seq, local)
	if err != nil {
		return local + others, err
	}
	p.remember(room, total-local)
	return total, nil
}

// Online returns the cluster-wide count for room, or this node's count plus the others'
// last-known total and an error wrapping ErrUnavailable.
func (p *RedisPresence) Online(ctx context.Context, room string) (int, error) {
	p.mu.Lock()
	local, others := 0, 0
	if r := p.rooms[room]; r != nil {
		local, others = len(r.users), r.others
	}
	p.mu.Unlock()
	total, err := p.run(ctx, room, 0, -1)
	if err != nil {
		return local + others, err
	}
	return total, nil
}

// Close withdraws this node's share of every room at once and stops the heartbeat.
func (p *RedisPresence) Close() error {
	p.stopHeartbeat()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	rooms := make([]string, 0, len(p.rooms))
	for room := range p.rooms {
		rooms = append(rooms, room)
	}
	p.rooms = nil
	p.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), p.opts.OpTimeout)
	defer cancel()
	var err error
	if len(rooms) > 0 {
		_, err = p.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for _, room := range rooms {
				pipe.HDel(ctx, p.key(room), p.opts.NodeID)
			}
			return nil
		})
	}
	if cerr := p.client.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("broker: redis presence: withdraw: %w", err)
	}
	return nil
}

// stopHeartbeat ends the heartbeat without withdrawing anything, as a crash would.
func (p *RedisPresence) stopHeartbeat() {
	p.stopOnce.Do(func() { close(p.stop) })
	<-p.done
}

func (p *RedisPresence) heartbeat() {
	defer close(p.done)
	t := time.NewTicker(p.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		if err := p.refresh(); err != nil {
			p.opts.Logger.Warn("broker: redis presence: heartbeat failed", "err", err)
		}
	}
}

// refresh rewrites this node's share of every room it has members in, in one pipeline.
// It also restores the shares after Redis lost its data (a restart without persistence).
func (p *RedisPresence) refresh() error {
	type share struct {
		room       string
		seq, count int64
	}
	p.mu.Lock()
	shares := make([]share, 0, len(p.rooms))
	for room, r := range p.rooms {
		p.seq++
		shares = append(shares, share{room, p.seq, int64(len(r.users))})
	}
	p.mu.Unlock()
	if len(shares) == 0 {
		return nil
	}

	ctx, cancel := context.WithTimeout(context.Background(), p.ttl/3)
	defer cancel()
	// EVALSHA in a pipeline cannot fall back to EVAL per command, so load the script
	// first: it is gone after a Redis restart.
	if err := presenceScript.Load(ctx, p.client).Err(); err != nil {
		return fmt.Errorf("load script: %w", err)
	}
	cmds, err := p.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, s := range shares {
			presenceScript.EvalSha(ctx, pipe, []string{p.key(s.room)},
				p.opts.NodeID, s.seq, s.count, p.ttl.Milliseconds())
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("refresh %d rooms: %w", len(shares), err)
	}
	for i, cmd := range cmds {
		if total, err := cmd.(*redis.Cmd).Int(); err == nil {
			p.remember(shares[i].room, total-int(shares[i].count))
		}
	}
	return nil
}

// remember keeps the other nodes' total for room, served while Redis is down.
func (p *RedisPresence) remember(room string, others int) {
	p.mu.Lock()
	if r := p.rooms[room]; r != nil {
		r.others = max(others, 0)
	}
	p.mu.Unlock()
}

// run executes the presence script: with count ≥ 0 it writes this node's share first.
func (p *RedisPresence) run(ctx context.Context, room string, seq int64, count int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.OpTimeout)
	defer cancel()
	node := p.opts.NodeID
	if count < 0 {
		node = "" // read only
	}
	total, err := presenceScript.Run(ctx, p.client, []string{p.key(room)},
		node, seq, count, p.ttl.Milliseconds()).Int()
	if err != nil {
		if errors.Is(err, redis.Nil) {
			return 0, nil
		}
		return 0, fmt.Errorf("broker: redis presence: room %s: %w: %w", room, ErrUnavailable, err)
	}
	return total, nil
}

func (p *RedisPresence) key(room string) string { return p.opts.Prefix + "presence:" + room }

// presenceScript: KEYS[1] the room's hash; ARGV node ("" to only read), seq, count, ttl ms.
// It writes the node's share unless a newer one is stored, drops expired shares and returns
// the sum of the live counts. Count-0 shares stay until they expire, as tombstones that keep
// a late, older update from resurrecting a share.
var presenceScript = redis.NewScript(`
local key, node = KEYS[1], ARGV[1]
local ttl = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if node ~= '' then
  local cur = redis.call('HGET', key, node)
  local curSeq = -1
  if cur then curSeq = tonumber(string.match(cur, '^(%d+)')) or -1 end
  if tonumber(ARGV[2]) > curSeq then
    redis.call('HSET', key, node, ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. string.format('%.0f', now + ttl))
  end
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
local total = 0
local all = redis.call('HGETALL', key)
for i = 1, #all, 2 do
  local c, e = string.match(all[i + 1], '^%d+ (%d+) (%d+)$')
  if e and tonumber(e) > now then
    total = total + tonumber(c)
  else
    redis.call('HDEL', key, all[i])
  end
end
return total
`)
