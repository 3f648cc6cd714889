package broker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"
)

// readyPing is the payload of the PING sent after (re)subscribing. Redis answers commands
// on a connection in order, so its PONG proves the subscriptions before it are in place.
const readyPing = "haven:ready"

// run owns the subscriber connection: connect, subscribe everything held, receive until the
// connection is lost, back off, repeat. go-redis's PubSub.Channel would reconnect silently
// and hide the gap; receiving here lets the loop see each outage and report its end.
func (r *Redis) run(ctx context.Context) {
	defer close(r.done)
	log := r.opts.Logger
	attempt := 0
	missed := false // whether messages may have been missed since the last healthy moment
	for {
		ps, err := r.connect(ctx)
		if err == nil {
			attempt = 0
			err = r.receive(ctx, ps, &missed)
			_ = ps.Close()
		}
		r.setDown(ps)
		if ctx.Err() != nil {
			return
		}
		if attempt == 0 {
			log.Warn("broker: redis: subscriber down; reconnecting", "err", err)
		} else {
			log.Debug("broker: redis: reconnect failed", "attempt", attempt, "err", err)
		}
		missed = true
		attempt++
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff(attempt, r.opts.MinBackoff, r.opts.MaxBackoff)):
		}
	}
}

// anchorChannel is subscribed on every cluster connection and never published to.
const anchorChannel = "anchor"

// connect opens a subscriber connection and subscribes every channel this node holds,
// followed by readyPing. It installs the connection in r.ps under subMu, so a concurrent
// Subscribe either is in the snapshot or writes to the new connection itself.
func (r *Redis) connect(ctx context.Context) (*redis.PubSub, error) {
	r.subMu.Lock()
	defer r.subMu.Unlock()

	var ps *redis.PubSub
	if r.cluster {
		// Open the connection on a channel of the "{ps}" slot so go-redis routes it to the
		// shard that owns every Haven channel; an empty SSubscribe may land on another shard,
		// whose MOVED reply would look like a lost connection.
		ps = r.client.SSubscribe(ctx, r.redisChannel(anchorChannel))
	} else {
		ps = r.client.Subscribe(ctx)
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = ps.Close()
		return nil, ErrClosed
	}
	held := make([]string, 0, len(r.subs))
	for c := range r.subs {
		held = append(held, r.redisChannel(c))
	}
	r.mu.Unlock()

	opCtx, cancel := context.WithTimeout(ctx, r.opts.DialTimeout+r.opts.OpTimeout)
	defer cancel()
	var err error
	switch {
	case len(held) == 0:
	case r.cluster:
		err = ps.SSubscribe(opCtx, held...)
	default:
		err = ps.Subscribe(opCtx, held...)
	}
	if err == nil {
		err = ps.Ping(opCtx, readyPing)
	}
	if err != nil {
		_ = ps.Close()
		return nil, fmt.Errorf("broker: redis: subscribe: %w", err)
	}

	r.mu.Lock()
	closed := r.closed
	if !closed {
		r.ps = ps
	}
	r.mu.Unlock()
	if closed {
		_ = ps.Close()
		return nil, ErrClosed
	}
	return ps, nil
}

// receive delivers messages until the connection fails. The first readyPing answer marks
// the broker up and, if messages may have been missed, calls HandleReconnect once.
func (r *Redis) receive(ctx context.Context, ps *redis.PubSub, missed *bool) error {
	interval := r.opts.PingInterval
	lastHeard := time.Now()
	for {
		msg, err := ps.ReceiveTimeout(ctx, interval)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !isTimeout(err) {
				return err
			}
			if time.Since(lastHeard) > 2*interval {
				return errors.New("broker: redis: subscriber connection silent")
			}
			pctx, cancel := context.WithTimeout(ctx, r.opts.OpTimeout)
			err = ps.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("broker: redis: ping subscriber: %w", err)
			}
			continue
		}
		lastHeard = time.Now()
		switch m := msg.(type) {
		case *redis.Message:
			r.deliver(m)
		case *redis.Pong:
			if m.Payload == readyPing && r.markUp() && *missed {
				*missed = false
				metricReconnects.Inc()
				r.opts.Logger.Info("broker: redis: subscriber reconnected")
				r.handler().HandleReconnect()
			}
		case *redis.Subscription:
			// Redis Cluster drops shard subscriptions itself when a slot moves; the channel
			// then lives on another node, which only a new connection reaches.
			if m.Kind == "sunsubscribe" {
				if c, ok := r.localChannel(m.Channel); ok && r.holds(c) {
					return fmt.Errorf("broker: redis: server dropped shard subscription %s", m.Channel)
				}
			}
		}
	}
}

// deliver hands a message from Redis to the handler unless this node sent it (it was
// delivered locally at Publish) or no longer subscribes to the channel.
func (r *Redis) deliver(m *redis.Message) {
	channel, ok := r.localChannel(m.Channel)
	if !ok {
		return
	}
	origin, payload, ok := splitFrame(m.Payload)
	if !ok {
		r.opts.Logger.Debug("broker: redis: dropped untagged message", "channel", m.Channel)
		return
	}
	if origin == r.opts.NodeID {
		return
	}
	metricReceived.Inc()
	r.mu.Lock()
	h, subscribed := r.h, r.subs[channel] > 0
	r.mu.Unlock()
	if subscribed && h != nil {
		h.HandleMessage(channel, []byte(payload))
	}
}

func (r *Redis) handler() Handler {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.h
}

func (r *Redis) holds(channel string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.subs[channel] > 0
}

// markUp records that the subscriber connection works, reporting whether it was down.
func (r *Redis) markUp() bool {
	r.mu.Lock()
	was := r.up
	r.up = true
	r.mu.Unlock()
	metricUp.Set(1)
	return !was
}

// setDown forgets the connection ps (if it is still the live one) and marks the broker down.
func (r *Redis) setDown(ps *redis.PubSub) {
	r.mu.Lock()
	if ps == nil || r.ps == ps {
		r.ps = nil
	}
	r.up = false
	r.mu.Unlock()
	metricUp.Set(0)
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// backoff is the wait before reconnect attempt n (from 1): exponential from min, capped at
// max, with equal jitter so nodes that lost Redis together do not return in lockstep.
func backoff(n int, minD, maxD time.Duration) time.Duration {
	d := minD
	for i := 1; i < n && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	half := d / 2
	return half + rand.N(half+1)
}
