package media

import (
	"context"
	"maps"
	"sync"
	"time"
)

// Registry records which node owns each room's media session. An owner keeps its record
// alive by refreshing it; a node that dies stops refreshing and its record expires, which
// is how members on other nodes learn that the session is gone.
type Registry interface {
	// Claim records node as the owner of room unless another node holds it, and returns
	// the owner either way.
	Claim(ctx context.Context, room, node string, ttl time.Duration) (owner string, err error)
	// Owner returns room's owner, "" when there is none.
	Owner(ctx context.Context, room string) (string, error)
	// Refresh extends node's record of room; false when node no longer owns it.
	Refresh(ctx context.Context, room, node string, ttl time.Duration) (bool, error)
	// Release deletes node's record of room (a no-op when another node owns it), and its
	// live mark.
	Release(ctx context.Context, room, node string) error
	// Live returns the live marks: each room whose session was claimed and not released,
	// with the node that claimed it. A mark whose node no longer owns the room is a session
	// that died without ending, whose room has not been told.
	Live(ctx context.Context) (map[string]string, error)
	// Forget deletes room's live mark if it still names node, and reports whether this call
	// deleted it, so that of all the nodes that find an owner gone, one tells the room.
	Forget(ctx context.Context, room, node string) (bool, error)
}

var _ Registry = (*MemoryRegistry)(nil)

// MemoryRegistry is the registry of a single node (and of unit tests). Records expire as
// Redis's would, so both behave alike.
type MemoryRegistry struct {
	now func() time.Time

	mu     sync.Mutex // guards owners and marks
	owners map[string]memoryOwner
	marks  map[string]string // live marks: room → node
}

type memoryOwner struct {
	node    string
	expires time.Time
}

// NewMemoryRegistry returns an empty in-memory registry.
func NewMemoryRegistry() *MemoryRegistry {
	return &MemoryRegistry{now: time.Now, owners: make(map[string]memoryOwner), marks: make(map[string]string)}
}

func (r *MemoryRegistry) liveLocked(room string) (memoryOwner, bool) {
	o, ok := r.owners[room]
	if ok && !r.now().Before(o.expires) {
		delete(r.owners, room)
		return memoryOwner{}, false
	}
	return o, ok
}

func (r *MemoryRegistry) Claim(_ context.Context, room, node string, ttl time.Duration) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if o, ok := r.liveLocked(room); ok {
		return o.node, nil
	}
	r.owners[room] = memoryOwner{node: node, expires: r.now().Add(ttl)}
	r.marks[room] = node
	return node, nil
}

func (r *MemoryRegistry) Owner(_ context.Context, room string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o, _ := r.liveLocked(room)
	return o.node, nil
}

func (r *MemoryRegistry) Refresh(_ context.Context, room, node string, ttl time.Duration) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o, ok := r.liveLocked(room)
	if !ok || o.node != node {
		return false, nil
	}
	r.owners[room] = memoryOwner{node: node, expires: r.now().Add(ttl)}
	return true, nil
}

func (r *MemoryRegistry) Release(_ context.Context, room, node string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if o, ok := r.liveLocked(room); ok && o.node == node {
		delete(r.owners, room)
	}
	if r.marks[room] == node {
		delete(r.marks, room)
	}
	return nil
}

func (r *MemoryRegistry) Live(context.Context) (map[string]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.marks), nil
}

func (r *MemoryRegistry) Forget(_ context.Context, room, node string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.marks[room] != node {
		return false, nil
	}
	delete(r.marks, room)
	return true, nil
}
