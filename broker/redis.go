package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

var _ Broker = (*Redis)(nil)

// Redis is the cluster broker. Every node publishes to and subscribes from one Redis (or
// Redis Cluster, with sharded pub/sub).
//
// Local delivery never depends on Redis: Publish hands the payload to this node's handler
// first, then sends it to Redis tagged with the origin node, and the receive loop drops
// what this node sent. While Redis is down a node keeps serving its own members; when it
// returns, the loop subscribes again and calls Handler.HandleReconnect once.
//
// Redis layout: channel C (RoomChannel, ControlChannel, NodeChannel) is Prefix+C in plain
// pub/sub. In a cluster it is Prefix+"{ps}"+C: the hash tag puts every channel in one slot
// so one subscriber connection can hold them all (see clusterChannel).
//
// Payload format on the wire: 0x01, len(NodeID) as one byte, NodeID, then the payload bytes
// unchanged.
type Redis struct {
	opts    RedisOptions
	client  redis.UniversalClient
	cluster bool
	tag     []byte // wire prefix: version, node id length, node id

	// subMu orders changes to the Redis subscription set (Subscribe, Unsubscribe and the
	// loop's resubscribe), so an UNSUBSCRIBE cannot overtake the SUBSCRIBE it undoes. It is
	// taken before mu and held across a pub/sub write, which only queues a command.
	subMu sync.Mutex

	mu      sync.Mutex // guards h, subs, ps, up, closed, started
	h       Handler
	subs    map[string]int // channel (unprefixed) → subscribe count
	ps      *redis.PubSub  // the live subscriber connection; nil while down
	up      bool
	closed  bool
	started bool

	cancel context.CancelFunc
	done   chan struct{} // closed when the receive loop returns
}

// NewRedis returns a broker for opts. It does not connect; Start does, in the background,
// so a node starts even while Redis is down.
func NewRedis(opts RedisOptions) (*Redis, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	client, cluster, err := newClient(o)
	if err != nil {
		return nil, err
	}
	tag := make([]byte, 0, 2+len(o.NodeID))
	tag = append(tag, 1, byte(len(o.NodeID)))
	tag = append(tag, o.NodeID...)
	return &Redis{
		opts:    o,
		client:  client,
		cluster: cluster,
		tag:     tag,
		subs:    make(map[string]int),
		done:    make(chan struct{}),
	}, nil
}

// Start sets the handler and starts the receive loop, which connects in the background.
func (r *Redis) Start(ctx context.Context, h Handler) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if r.started {
		return errors.New("broker: redis: Start called twice")
	}
	r.started, r.h = true, h
	// The loop outlives Start's ctx (often a request or startup context); Close ends it.
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	go r.run(loopCtx)
	return nil
}

// Publish delivers payload to this node's handler (if it subscribes to channel), then to
// Redis. When Redis fails the error wraps ErrUnavailable; the local delivery has happened.
func (r *Redis) Publish(ctx context.Context, channel string, payload []byte) error {
	r.mu.Lock()
	h, subscribed, closed := r.h, r.subs[channel] > 0, r.closed
	r.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if subscribed && h != nil {
		h.HandleMessage(channel, payload)
	}

	frame := make([]byte, 0, len(r.tag)+len(payload))
	frame = append(frame, r.tag...)
	frame = append(frame, payload...)
	ctx, cancel := context.WithTimeout(ctx, r.opts.OpTimeout)
	defer cancel()
	start := time.Now()
	var err error
	if r.cluster {
		err = r.client.SPublish(ctx, r.redisChannel(channel), frame).Err()
	} else {
		err = r.client.Publish(ctx, r.redisChannel(channel), frame).Err()
	}
	metricPublishSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		metricPublished.WithLabelValues("error").Inc()
		return fmt.Errorf("broker: redis: publish %s: %w: %w", channel, ErrUnavailable, err)
	}
	metricPublished.WithLabelValues("ok").Inc()
	return nil
}

// Subscribe records this node's interest in channels and subscribes in Redis on each
// channel's first subscriber. It does not fail because Redis is down: the interest is
// replayed when the loop reconnects, followed by HandleReconnect.
func (r *Redis) Subscribe(ctx context.Context, channels ...string) error {
	return r.change(ctx, channels, +1)
}

// Unsubscribe undoes one Subscribe per channel and unsubscribes in Redis on the last.
func (r *Redis) Unsubscribe(ctx context.Context, channels ...string) error {
	return r.change(ctx, channels, -1)
}

func (r *Redis) change(ctx context.Context, channels []string, delta int) error {
	r.subMu.Lock()
	defer r.subMu.Unlock()

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	var edges []string // channels that crossed 0↔1, in Redis form
	for _, c := range channels {
		n := r.subs[c]
		switch {
		case delta > 0 && n == 0:
			edges = append(edges, r.redisChannel(c))
		case delta < 0 && n == 1:
			edges = append(edges, r.redisChannel(c))
		case delta < 0 && n == 0:
			continue // unbalanced Unsubscribe: nothing held
		}
		if n+delta == 0 {
			delete(r.subs, c)
		} else {
			r.subs[c] = n + delta
		}
	}
	ps := r.ps
	r.mu.Unlock()

	if ps == nil || len(edges) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.OpTimeout)
	defer cancel()
	var err error
	switch {
	case delta > 0 && r.cluster:
		err = ps.SSubscribe(ctx, edges...)
	case delta > 0:
		err = ps.Subscribe(ctx, edges...)
	case r.cluster:
		err = ps.SUnsubscribe(ctx, edges...)
	default:
		err = ps.Unsubscribe(ctx, edges...)
	}
	if err != nil {
		// go-redis may redial behind our back after a failed write, so an outage could go
		// unseen by the loop; closing the connection makes it take the full recovery path.
		r.opts.Logger.Warn("broker: redis: subscription change failed; reconnecting", "err", err)
		_ = ps.Close()
	}
	return nil
}

// Healthy returns an error wrapping ErrUnavailable while the subscriber connection is down
// or Redis does not answer PING.
func (r *Redis) Healthy(ctx context.Context) error {
	r.mu.Lock()
	up, closed := r.up, r.closed
	r.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if !up {
		return fmt.Errorf("broker: redis: subscriber disconnected: %w", ErrUnavailable)
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.OpTimeout)
	defer cancel()
	if err := r.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("broker: redis: ping: %w: %w", ErrUnavailable, err)
	}
	return nil
}

// Close stops the receive loop and closes the connections. It waits for the loop, so no
// handler call happens after Close returns.
func (r *Redis) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	ps, cancel, started := r.ps, r.cancel, r.started
	r.mu.Unlock()

	if cancel != nil {
		cancel()
	}
	if ps != nil {
		_ = ps.Close() // unblocks a pending receive
	}
	if started {
		<-r.done
	}
	if err := r.client.Close(); err != nil {
		return fmt.Errorf("broker: redis: close: %w", err)
	}
	return nil
}

// redisChannel is channel's name in Redis.
func (r *Redis) redisChannel(channel string) string {
	if r.cluster {
		return clusterChannel(r.opts.Prefix, channel)
	}
	return r.opts.Prefix + channel
}

// clusterChannel names a channel in Redis Cluster. The "{ps}" hash tag maps every Haven
// channel to one slot, so a single subscriber connection (go-redis opens it on the slot's
// master) can SSUBSCRIBE them all. Spreading channels over shards would need a connection
// per shard; one shard's pub/sub capacity is ample for now, and SPUBLISH still keeps
// messages off the cluster bus, which plain PUBLISH floods to every node.
func clusterChannel(prefix, channel string) string { return prefix + "{ps}" + channel }

// localChannel maps a Redis channel name back to Haven's, or reports it is not ours.
func (r *Redis) localChannel(redisChannel string) (string, bool) {
	p := r.opts.Prefix
	if r.cluster {
		p += "{ps}"
	}
	if len(redisChannel) < len(p) || redisChannel[:len(p)] != p {
		return "", false
	}
	return redisChannel[len(p):], true
}

// splitFrame parses the wire format, returning the origin node id and the payload.
func splitFrame(frame string) (origin, payload string, ok bool) {
	if len(frame) < 2 || frame[0] != 1 {
		return "", "", false
	}
	n := int(frame[1])
	if len(frame) < 2+n {
		return "", "", false
	}
	return frame[2 : 2+n], frame[2+n:], true
}
