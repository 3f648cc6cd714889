package hub

import (
	"context"
	"sync"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/media"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/rooms"
	"github.com/havenhealth/haven/store"
)

// mediaRelayKind marks broker events on this node's channel that belong to media.
const mediaRelayKind = media.RelayKind

// mediaCommands are the media.* command types; conn.handle passes them here with the raw
// frame, since their fields (sdp, candidate, kind, ...) are media's, not the chat envelope's.
var mediaCommands = func() map[string]bool {
	m := make(map[string]bool, len(media.Commands))
	for _, t := range media.Commands {
		m[t] = true
	}
	return m
}()

// mediaHub connects connections to the media node: it names each connection that uses
// media with a key the node (and other nodes) address it by.
type mediaHub struct {
	node *media.Node

	mu    sync.Mutex       // guards keys, conns
	keys  map[*conn]string // connection → its media key
	conns map[string]*conn // media key → connection
}

// AttachMedia gives the hub this node's media sessions. Without it media.* commands fail
// with unavailable.
func (h *Hub) AttachMedia(n *media.Node) {
	mh := &mediaHub{node: n, keys: make(map[*conn]string), conns: make(map[string]*conn)}
	n.SetDeliver(mh.deliver)
	h.media = mh
}

func (mh *mediaHub) key(c *conn) string {
	mh.mu.Lock()
	defer mh.mu.Unlock()
	k := mh.keys[c]
	if k == "" {
		k = ids.New("mc_")
		mh.keys[c], mh.conns[k] = k, c
	}
	return k
}

func (mh *mediaHub) deliver(key string, frame []byte) {
	mh.mu.Lock()
	c := mh.conns[key]
	mh.mu.Unlock()
	if c != nil {
		c.enqueue(frame)
	}
}

// mediaCommand sends a media command to the room's session, wherever it runs. The member
// must have joined the room: membership, bans and guidelines were checked there.
func (c *conn) mediaCommand(ctx context.Context, cmd protocol.Command, raw []byte) {
	mh := c.h.media
	if mh == nil {
		c.fail(cmd.ID, protocol.Errorf(protocol.CodeUnavailable, "media is not enabled on this server"))
		return
	}
	if cmd.Room == "" {
		c.fail(cmd.ID, protocol.Errorf(protocol.CodeBadRequest, "%s needs a room", cmd.Type))
		return
	}
	c.subMu.Lock()
	s := c.subs[cmd.Room]
	c.subMu.Unlock()
	if s == nil {
		c.fail(cmd.ID, protocol.Errorf(protocol.CodeNotMember, "join room %q first", cmd.Room))
		return
	}
	if cmd.Session != "" && cmd.Type == "media.start" {
		if err := c.startScheduled(ctx, cmd); err != nil {
			c.fail(cmd.ID, err)
			return
		}
	}
	if cmd.Session != "" && cmd.Type == "media.end" {
		if err := c.endScheduled(ctx, cmd); err != nil {
			c.fail(cmd.ID, err)
			return
		}
	}
	info := s.m.Room.Info()
	req := media.Request{ID: cmd.ID, Type: cmd.Type, Room: cmd.Room, RoomID: info.ID, RoomKind: info.Kind,
		Client: media.ClientRef{Node: c.h.cfg.NodeID, Key: mh.key(c)}, Actor: mediaActor(s.m), Body: raw}
	err := mh.node.Handle(ctx, req)
	if err != nil && cmd.Type == "media.end" && cmd.Session != "" && protocol.AsError(err).Code == media.CodeNotStarted {
		err = nil // the scheduled session has ended; no media was running
		c.reply(cmd.ID, nil)
	}
	if err != nil {
		c.fail(cmd.ID, err)
	}
}

// startScheduled takes a scheduled session live before its media starts, under the
// session's own rules (its host, or the room's moderators) and audit.
func (c *conn) startScheduled(ctx context.Context, cmd protocol.Command) error {
	rs, err := c.h.rooms.Session(ctx, c.user, cmd.Session)
	if err != nil {
		return err
	}
	if rs.RoomSlug != cmd.Room {
		return protocol.Errorf(protocol.CodeNotFound, "no session %q in this room", cmd.Session)
	}
	if rs.State == store.SessionLive {
		return nil // started over HTTP already; media joins it
	}
	_, err = c.h.rooms.StartSession(ctx, c.user, cmd.Session)
	return err
}

// endScheduled ends the scheduled session along with its media.
func (c *conn) endScheduled(ctx context.Context, cmd protocol.Command) error {
	rs, err := c.h.rooms.Session(ctx, c.user, cmd.Session)
	if err != nil {
		return err
	}
	if rs.RoomSlug != cmd.Room {
		return protocol.Errorf(protocol.CodeNotFound, "no session %q in this room", cmd.Session)
	}
	if rs.State == store.SessionEnded {
		return nil
	}
	_, err = c.h.rooms.EndSession(ctx, c.user, cmd.Session)
	return err
}

// mediaActor ranks a member for media as rooms ranks them for moderation; a clinician
// hosts webinars like a room host.
func mediaActor(m *rooms.Member) media.Actor {
	ms := m.Membership()
	rank := media.RankMember
	switch {
	case m.User.Role == store.RoleAdmin:
		rank = media.RankAdmin
	case m.User.Role == store.RoleModerator:
		rank = media.RankModerator
	case ms.Role == store.RoomRoleModerator:
		rank = media.RankRoomModerator
	case ms.Role == store.RoomRoleHost, m.User.Role == store.RoleClinician:
		rank = media.RankHost
	}
	return media.Actor{User: m.Wire, Rank: rank}
}

// mediaGone runs when a connection closes: it leaves every media session it was in.
func (h *Hub) mediaGone(c *conn) {
	mh := h.media
	if mh == nil {
		return
	}
	mh.mu.Lock()
	k := mh.keys[c]
	delete(mh.keys, c)
	delete(mh.conns, k)
	mh.mu.Unlock()
	if k != "" {
		mh.node.ClientGone(k)
	}
}

// mediaLeft runs when a connection leaves a room (the leave command): it leaves the room's
// media session too, so its peer connection closes.
func (h *Hub) mediaLeft(c *conn, slug string) {
	mh := h.media
	if mh == nil {
		return
	}
	mh.mu.Lock()
	k := mh.keys[c]
	mh.mu.Unlock()
	if k != "" {
		mh.node.ClientLeft(k, slug)
	}
}

// mediaRemoved runs on every node when a member is removed or banned from a room; the
// node owning the room's session closes their peer connections and keeps them out.
func (h *Hub) mediaRemoved(slug, userID string) {
	if h.media != nil {
		h.media.node.UserRemoved(slug, userID)
	}
}

// mediaRelay passes a media message from another node to the media node.
func (h *Hub) mediaRelay(data []byte) {
	if h.media != nil {
		h.media.node.HandleRelay(data)
	}
}
