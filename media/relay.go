package media

import (
	"context"
	"encoding/json"
	"time"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/rooms"
)

// RelayKind is the broker event kind of media relay messages on a node's channel. The hub
// passes such events' data to HandleRelay.
const RelayKind = "media"

// relayMsg travels between nodes on the destination's node channel: a command for the
// session's owner ("cmd"), or frames for clients connected to the destination ("out").
// Each sender publishes in its own order, which the broker keeps per channel.
type relayMsg struct {
	Op     string          `json:"op"`
	From   string          `json:"from"`
	Req    *Request        `json:"req,omitempty"`
	Keys   []string        `json:"keys,omitempty"`
	Frame  json.RawMessage `json:"frame,omitempty"`
	Token  string          `json:"tok,omitempty"`
	Joined string          `json:"joined,omitempty"`
	Left   string          `json:"left,omitempty"`
}

func (n *Node) forward(ctx context.Context, owner string, req Request) error {
	data, err := json.Marshal(relayMsg{Op: "cmd", From: n.cfg.NodeID, Req: &req})
	if err != nil {
		return err
	}
	e := rooms.Event{Kind: RelayKind, Data: data}
	return n.br.Publish(ctx, broker.NodeChannel(owner), e.Encode())
}

func (n *Node) publish(node string, m relayMsg) {
	data, err := json.Marshal(m)
	if err != nil {
		n.log.Error("encode media relay message", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	e := rooms.Event{Kind: RelayKind, Data: data}
	if err := n.br.Publish(ctx, broker.NodeChannel(node), e.Encode()); err != nil {
		// The client's node times the command out; events are lost until the next state.
		n.log.Warn("relay media frames", "node", node, "err", err)
	}
}

// publishRoom sends a client event to everyone in the room, on every node: the room's own
// broker channel, as an ephemeral room event.
func (n *Node) publishRoom(room string, frame []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	e := rooms.Event{Kind: rooms.KindEphemeral, Room: room, Data: frame}
	if err := n.br.Publish(ctx, broker.RoomChannel(room), e.Encode()); err != nil {
		n.log.Warn("publish media event to the room", "room", room, "err", err)
	}
}

// HandleRelay takes a relay message from the broker. It must not block.
func (n *Node) HandleRelay(data []byte) {
	var m relayMsg
	if err := json.Unmarshal(data, &m); err != nil {
		n.log.Warn("dropping undecodable media relay message", "err", err)
		return
	}
	switch m.Op {
	case "cmd":
		if m.Req != nil {
			n.execute(*m.Req)
		}
	case "out":
		var frame []byte
		if len(m.Frame) > 0 {
			frame = m.Frame
		}
		for i, key := range m.Keys {
			token := ""
			if i == 0 {
				token = m.Token // a reply goes to one client
			}
			n.deliverLocal(key, frame, token, m.Joined, m.Left, m.From)
		}
	}
}

// run keeps this node's ownership records alive, watches the owners of remote sessions its
// clients are in, and samples the bitrate gauges.
func (n *Node) run() {
	defer n.wg.Done()
	every := n.cfg.OwnerTTL / 3
	owners := time.NewTicker(every)
	defer owners.Stop()
	second := time.NewTicker(time.Second)
	defer second.Stop()
	var lastIn, lastOut uint64
	for {
		select {
		case <-n.stop:
			return
		case <-second.C:
			in, out := totalIn.Load(), totalOut.Load()
			bitrateIn.Set(float64(in-lastIn) * 8)
			bitrateOut.Set(float64(out-lastOut) * 8)
			lastIn, lastOut = in, out
			// Every second, not every heartbeat: members learn of a dead owner within a
			// second of its record expiring (at most OwnerTTL after it died).
			n.watch()
		case <-owners.C:
			n.heartbeat()
		}
	}
}

// heartbeat refreshes the records of sessions this node owns. A record taken over by
// another node (after an outage longer than the TTL) ends the session here: two owners
// would split the room.
func (n *Node) heartbeat() {
	n.mu.Lock()
	var ss []*Session
	for _, s := range n.sessions {
		ss = append(ss, s)
	}
	n.mu.Unlock()
	for _, s := range ss {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		ok, err := n.reg.Refresh(ctx, s.room, n.cfg.NodeID, n.cfg.OwnerTTL)
		if err == nil && !ok {
			var owner string
			owner, err = n.reg.Claim(ctx, s.room, n.cfg.NodeID, n.cfg.OwnerTTL)
			switch {
			case err != nil:
			case owner != n.cfg.NodeID:
				n.log.Warn("media session taken over by another node", "room", s.room, "owner", owner)
				s.post(func() { s.end("moved") })
			default:
				// The record had expired (this node lost Redis for longer than its lifetime),
				// so another node may have told the room the session was lost: it is not.
				n.log.Warn("media session record renewed after it expired", "room", s.room)
				s.announce()
			}
		}
		cancel()
		if err != nil {
			n.log.Warn("refresh media session record", "room", s.room, "err", err)
		}
	}
}

// watch tells this node's clients in sessions owned elsewhere when the owner is gone (its
// record expired or changed hands): their session has ended. Then it looks for sessions
// that died without ending, wherever their members are (sweepLive).
func (n *Node) watch() {
	type membership struct{ key, room, owner string }
	var ms []membership
	n.mu.Lock()
	for key, rooms := range n.clients {
		for room, owner := range rooms {
			if owner != n.cfg.NodeID {
				ms = append(ms, membership{key, room, owner})
			}
		}
	}
	n.mu.Unlock()
	current := make(map[string]string)
	for _, m := range ms {
		owner, err := n.ownerOf(current, m.room)
		if err != nil {
			continue // cannot tell; look again next time
		}
		if owner != m.owner {
			n.deliverLocal(m.key, ownerLost(m.room), "", "", m.room, m.owner)
		}
	}
	n.sweepLive(current)
}

// sweepLive tells the room of each session whose live mark names a node while the room has
// no owner: the owner died without ending it. The room may have no members in the session
// at all, so no node would notice otherwise. Forget lets exactly one node tell it. A mark
// naming another node than a live owner is left alone: that owner is between its claim and
// its own mark, which replaces this one, and it tells the room media.started, which an
// owner_lost sent now could follow.
func (n *Node) sweepLive(current map[string]string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	marks, err := n.reg.Live(ctx)
	if err != nil {
		n.log.Warn("read live media sessions", "err", err)
		return
	}
	for room, claimant := range marks {
		owner, err := n.ownerOf(current, room)
		if err != nil || owner != "" {
			continue
		}
		if told, err := n.reg.Forget(ctx, room, claimant); err == nil && told {
			n.log.Warn("media session's node is gone", "room", room, "node", claimant)
			go n.publishRoom(room, ownerLost(room))
		}
	}
}

// ownerOf is room's owner in the registry, asked once per round (current).
func (n *Node) ownerOf(current map[string]string, room string) (string, error) {
	if owner, ok := current[room]; ok {
		return owner, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	owner, err := n.reg.Owner(ctx, room)
	if err == nil {
		current[room] = owner
	}
	return owner, err
}

func ownerLost(room string) []byte {
	return mustJSON(wireEnded{Type: "media.ended", Room: room, Reason: "owner_lost"})
}
