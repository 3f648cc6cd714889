// Package broker carries events between Haven nodes. Two implementations sit behind one
// interface: Memory (one node, the embedded default and unit tests) and Redis (a cluster).
// A broker moves opaque bytes; what they mean belongs to rooms and hub.
package broker

import "context"

// Channel names. A room channel carries that room's events; the control channel carries
// cluster-wide state changes (moderation, revoked sessions); a node channel addresses one node.
const (
	ControlChannel = "control"
)

// RoomChannel is the channel of one room.
func RoomChannel(slug string) string { return "room:" + slug }

// NodeChannel is the channel that addresses one node.
func NodeChannel(nodeID string) string { return "node:" + nodeID }

// Handler receives what the broker delivers. Calls for one channel arrive in the order the
// broker delivered them; a handler must not block (it hands work off and returns).
type Handler interface {
	HandleMessage(channel string, payload []byte)
	// HandleReconnect is called after the broker lost its backend and subscribed again.
	// Anything published meanwhile was missed and must be recovered from the store.
	HandleReconnect()
}

// Broker is publish/subscribe between nodes. Publish reaches every node subscribed to the
// channel, this one included.
type Broker interface {
	// Start sets the handler and begins delivery. It must be called once, before Subscribe.
	Start(ctx context.Context, h Handler) error
	Publish(ctx context.Context, channel string, payload []byte) error
	Subscribe(ctx context.Context, channels ...string) error
	Unsubscribe(ctx context.Context, channels ...string) error
	// Healthy returns nil while the backend is reachable, for /readyz.
	Healthy(ctx context.Context) error
	Close() error
}

// Presence counts who is online in each room across the cluster. The hub calls Join when a
// user's first connection on this node enters a room and Leave when the last one goes; each
// returns the cluster-wide count of distinct users online in the room.
type Presence interface {
	Join(ctx context.Context, room, userID string) (online int, err error)
	Leave(ctx context.Context, room, userID string) (online int, err error)
	Online(ctx context.Context, room string) (int, error)
	// Close withdraws this node's share of presence (on drain).
	Close() error
}
