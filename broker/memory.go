package broker

import (
	"context"
	"errors"
	"sync"
)

var (
	_ Broker   = (*Memory)(nil)
	_ Presence = (*MemoryPresence)(nil)
)

// ErrClosed is returned by a broker used after Close.
var ErrClosed = errors.New("broker closed")

// Memory is the single-node broker: Publish hands the payload straight to the handler when
// this node subscribes to the channel.
type Memory struct {
	mu     sync.RWMutex // guards h, subs, closed
	h      Handler
	subs   map[string]int // channel → subscribe count
	closed bool
}

// NewMemory returns a broker for a single node.
func NewMemory() *Memory { return &Memory{subs: make(map[string]int)} }

func (m *Memory) Start(_ context.Context, h Handler) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.h = h
	return nil
}

func (m *Memory) Publish(_ context.Context, channel string, payload []byte) error {
	m.mu.RLock()
	h, subscribed, closed := m.h, m.subs[channel] > 0, m.closed
	m.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if subscribed && h != nil {
		h.HandleMessage(channel, payload)
	}
	metricPublished.WithLabelValues("ok").Inc()
	return nil
}

func (m *Memory) Subscribe(_ context.Context, channels ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range channels {
		m.subs[c]++
	}
	return nil
}

func (m *Memory) Unsubscribe(_ context.Context, channels ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range channels {
		if m.subs[c] <= 1 {
			delete(m.subs, c)
		} else {
			m.subs[c]--
		}
	}
	return nil
}

func (m *Memory) Healthy(context.Context) error { return nil }

func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// MemoryPresence is presence for a single node.
type MemoryPresence struct {
	mu    sync.Mutex                     // guards rooms
	rooms map[string]map[string]struct{} // room → users online
}

// NewMemoryPresence returns presence for a single node.
func NewMemoryPresence() *MemoryPresence {
	return &MemoryPresence{rooms: make(map[string]map[string]struct{})}
}

func (p *MemoryPresence) Join(_ context.Context, room, userID string) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	users := p.rooms[room]
	if users == nil {
		users = make(map[string]struct{})
		p.rooms[room] = users
	}
	users[userID] = struct{}{}
	return len(users), nil
}

func (p *MemoryPresence) Leave(_ context.Context, room, userID string) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	users := p.rooms[room]
	delete(users, userID)
	if len(users) == 0 {
		delete(p.rooms, room)
	}
	return len(users), nil
}

func (p *MemoryPresence) Online(_ context.Context, room string) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.rooms[room]), nil
}

func (p *MemoryPresence) Close() error { return nil }
