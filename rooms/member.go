package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// Member is a user admitted to a room on this node. Every connection of that user in the
// room shares one Member, so mutes, slow mode and rate limits hold across their tabs.
type Member struct {
	Room *Room
	User store.User
	Wire protocol.User // public form, computed once

	mu         sync.Mutex // guards ms, refs, lastPost, lastTyping, recent, held, texts
	ms         store.Membership
	refs       int
	limiter    *rate.Limiter
	lastPost   time.Time
	lastTyping time.Time
	recent     []sentID // ring of this member's latest client_msg_ids on this node; made on the first post
	recentNext int
	held       [8]heldID // ring of this member's latest held posts on this node
	heldNext   int
	texts      [spamMemory]textSeen // ring of this member's latest post fingerprints
	textsNext  int
}

type sentID struct {
	clientID string
	msg      store.Message
}

// Membership returns the member's current standing.
func (m *Member) Membership() store.Membership {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ms
}

// IsStaff reports whether the member moderates or hosts the room, which exempts them from
// slow mode and lock.
func (m *Member) IsStaff() bool {
	if m.User.Role == store.RoleAdmin || m.User.Role == store.RoleModerator {
		return true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ms.Role == store.RoomRoleHost || m.ms.Role == store.RoomRoleModerator
}

// IsModerator reports whether the member may moderate the room.
func (m *Member) IsModerator() bool {
	if m.User.Role == store.RoleAdmin || m.User.Role == store.RoleModerator {
		return true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ms.Role == store.RoomRoleModerator
}

// Admit lets u into the room named slug, recording acceptance of the guidelines when
// accept names the current version. The caller must Release the member when done.
func (s *Service) Admit(ctx context.Context, u store.User, slug string, accept int) (*Member, error) {
	room, err := s.Get(ctx, slug)
	if err != nil {
		return nil, err
	}
	info := room.Info()
	visible, err := s.CanSee(ctx, u, info)
	if err != nil {
		return nil, err
	}
	if !visible {
		return nil, protocol.Errorf(protocol.CodeNotFound, "no room %q", slug)
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	ms, err := s.st.Membership(cctx, info.ID, u.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, storeErr(fmt.Errorf("join room %s: %w", slug, err), "membership")
	}
	if ms.Banned {
		return nil, protocol.Errorf(protocol.CodeBanned, "you are banned from this room")
	}
	if ms.AcceptedVersion != info.GuidelinesVersion {
		if accept != info.GuidelinesVersion {
			return nil, protocol.Errorf(protocol.CodeGuidelinesRequired,
				"accept the room's community guidelines to join").
				With("guidelines", info.Guidelines).
				With("guidelines_version", info.GuidelinesVersion)
		}
		ms, err = s.st.AcceptGuidelines(cctx, info.ID, u.ID, accept, s.cfg.Now())
		if err != nil {
			return nil, storeErr(fmt.Errorf("accept guidelines room %s: %w", slug, err), "membership")
		}
	}

	room.mu.Lock()
	defer room.mu.Unlock()
	m := room.members[u.ID]
	if m == nil {
		m = &Member{Room: room, User: u, Wire: PublicUser(u),
			limiter: rate.NewLimiter(rate.Limit(s.cfg.PostRate), s.cfg.PostBurst)}
		room.members[u.ID] = m
	}
	m.mu.Lock()
	m.ms = ms
	m.refs++
	m.mu.Unlock()
	return m, nil
}

// Release undoes one Admit.
func (s *Service) Release(m *Member) {
	room := m.Room
	room.mu.Lock()
	defer room.mu.Unlock()
	m.mu.Lock()
	m.refs--
	last := m.refs <= 0
	m.mu.Unlock()
	if last && room.members[m.User.ID] == m {
		delete(room.members, m.User.ID)
	}
}

// ReloadMember refreshes a connected member's standing from the store.
func (s *Service) ReloadMember(ctx context.Context, slug, userID string) error {
	s.mu.Lock()
	room := s.rooms[slug]
	s.mu.Unlock()
	if room == nil {
		return nil
	}
	room.mu.RLock()
	m := room.members[userID]
	roomID := room.info.ID
	room.mu.RUnlock()
	if m == nil {
		return nil
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	ms, err := s.st.Membership(cctx, roomID, userID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("reload member %s in %s: %w", userID, slug, err)
	}
	m.mu.Lock()
	m.ms = ms
	m.mu.Unlock()
	return nil
}

// MemberState is the part of a membership that one moderation action changed, carried in
// control events so every node applies it without a store round trip. Only the fields the
// action changed are set: an unban must not lift a mute, nor an unmute a ban.
type MemberState struct {
	MutedUntil *time.Time `json:"muted_until,omitempty"` // zero time: mute lifted
	Banned     *bool      `json:"banned,omitempty"`
}

// applyMemberState updates a connected member from a control event. It reports false when
// the event carries no state, so the caller reloads the member from the store instead.
func (s *Service) applyMemberState(slug, userID string, data []byte) bool {
	var st MemberState
	if len(data) == 0 || json.Unmarshal(data, &st) != nil || (st.MutedUntil == nil && st.Banned == nil) {
		return false
	}
	s.mu.Lock()
	room := s.rooms[slug]
	s.mu.Unlock()
	if room == nil {
		return true
	}
	room.mu.RLock()
	m := room.members[userID]
	room.mu.RUnlock()
	if m != nil {
		m.mu.Lock()
		if st.MutedUntil != nil {
			m.ms.MutedUntil = *st.MutedUntil
		}
		if st.Banned != nil {
			m.ms.Banned = *st.Banned
		}
		m.mu.Unlock()
	}
	return true
}
