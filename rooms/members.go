package rooms

import (
	"context"
	"errors"
	"fmt"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// Limits of the moderators' member list.
const (
	DefaultMemberList = 200
	MaxMemberList     = 1000
)

// Standing is a member's own standing in a room, as the join reply carries it: the room
// role, and the end of a mute in force.
type Standing struct {
	Role       string `json:"role"`
	MutedUntil string `json:"muted_until,omitempty"`
}

// StandingOf is m's standing now.
func (s *Service) StandingOf(m *Member) Standing {
	ms := m.Membership()
	st := Standing{Role: ms.Role}
	if st.Role == "" {
		st.Role = store.RoomRoleMember
	}
	if ms.MutedUntil.After(s.cfg.Now()) {
		st.MutedUntil = protocol.TS(ms.MutedUntil)
	}
	return st
}

// ListedMember is one row of a room's member list as moderators see it.
type ListedMember struct {
	User       protocol.User `json:"user"`
	Role       string        `json:"role"`
	MutedUntil string        `json:"muted_until,omitempty"` // only while the mute lasts
	Banned     bool          `json:"banned"`
}

// Members lists a room's members for its moderators (room moderators, global moderators,
// admins): banned and muted members first (store.Store.Memberships' order), up to limit
// (0: DefaultMemberList; otherwise 1 to MaxMemberList). more is true when the room has
// more members than were returned.
func (s *Service) Members(ctx context.Context, actor store.User, slug string, limit int) (list []ListedMember, more bool, err error) {
	if limit == 0 {
		limit = DefaultMemberList
	}
	if limit < 0 || limit > MaxMemberList {
		return nil, false, protocol.Errorf(protocol.CodeBadRequest, "limit must be 1-%d", MaxMemberList)
	}
	room, err := s.Get(ctx, slug)
	if err != nil {
		return nil, false, err
	}
	info := room.Info()
	if err := s.requireModerator(ctx, actor, info); err != nil {
		return nil, false, err
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	rows, err := s.st.Memberships(cctx, info.ID, limit+1)
	if err != nil {
		return nil, false, storeErr(fmt.Errorf("members of room %s: %w", slug, err), "members")
	}
	if len(rows) > limit {
		rows, more = rows[:limit], true
	}
	now := s.cfg.Now()
	list = make([]ListedMember, len(rows))
	for i, m := range rows {
		lm := ListedMember{User: publicAuthor(m.User), Role: m.Role, Banned: m.Banned}
		if lm.Role == "" {
			lm.Role = store.RoomRoleMember
		}
		if m.MutedUntil.After(now) {
			lm.MutedUntil = protocol.TS(m.MutedUntil)
		}
		list[i] = lm
	}
	return list, more, nil
}

// ModeratorMessage is a stored message as moderators see it: the original text even when
// it was deleted, and by whom ("author" or "moderator") and when.
type ModeratorMessage struct {
	Type      string        `json:"type"`
	Room      string        `json:"room"`
	Seq       int64         `json:"seq"`
	MessageID string        `json:"message_id"`
	Author    protocol.User `json:"author"`
	Text      string        `json:"text"`
	TS        string        `json:"ts"`
	Deleted   bool          `json:"deleted"`
	DeletedBy string        `json:"deleted_by,omitempty"`
	DeletedAt string        `json:"deleted_at,omitempty"`
}

// Original returns one message of the room with its original text, deleted or not, for
// the room's moderators; members get forbidden.
func (s *Service) Original(ctx context.Context, actor store.User, slug string, seq int64) (ModeratorMessage, error) {
	if seq <= 0 {
		return ModeratorMessage{}, protocol.Errorf(protocol.CodeBadRequest, "seq must be a message's seq (1 or more)")
	}
	room, err := s.Get(ctx, slug)
	if err != nil {
		return ModeratorMessage{}, err
	}
	info := room.Info()
	if err := s.requireModerator(ctx, actor, info); err != nil {
		return ModeratorMessage{}, err
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	m, err := s.st.MessageBySeq(cctx, info.ID, seq)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ModeratorMessage{}, protocol.Errorf(protocol.CodeNotFound, "no message %d in this room", seq)
		}
		return ModeratorMessage{}, storeErr(fmt.Errorf("message %d of room %s: %w", seq, slug, err), "message")
	}
	out := ModeratorMessage{Type: "message", Room: slug, Seq: m.Seq, MessageID: m.ID,
		Author: publicAuthor(m.Author), Text: m.Text, TS: protocol.TS(m.CreatedAt), Deleted: m.Deleted()}
	if m.Deleted() {
		out.DeletedBy, out.DeletedAt = m.DeletedBy, protocol.TS(m.DeletedAt)
	}
	return out, nil
}

// AuditAll returns the deployment's whole audit log, newest first, every room's entries and
// the deployment-wide ones (RoomID ""): admins only.
func (s *Service) AuditAll(ctx context.Context, actor store.User, before int64, limit int) ([]store.AuditEntry, error) {
	if actor.Role != store.RoleAdmin {
		return nil, protocol.Errorf(protocol.CodeForbidden, "only admins read the whole audit log")
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	entries, err := s.st.AuditLog(cctx, "", before, limit)
	if err != nil {
		return nil, storeErr(fmt.Errorf("audit log: %w", err), "audit")
	}
	return entries, nil
}

// ChainCheck is the outcome of verifying the audit chain: Entries is how many entries
// verified, in order from the first; BrokenAt is the ID of the first entry that does not
// (0 when OK).
type ChainCheck struct {
	OK       bool  `json:"ok"`
	Entries  int64 `json:"entries"`
	BrokenAt int64 `json:"broken_at,omitempty"`
}

// auditPage is how many entries one store read of the chain returns.
const auditPage = 1000

// VerifyAudit walks the whole audit chain from its first entry, a page at a time, checking
// every hash (store.VerifyChain): admins only. Entries appended while it runs are checked
// too, up to the end it reaches.
func (s *Service) VerifyAudit(ctx context.Context, actor store.User) (ChainCheck, error) {
	if actor.Role != store.RoleAdmin {
		return ChainCheck{}, protocol.Errorf(protocol.CodeForbidden, "only admins verify the audit log")
	}
	prev := make([]byte, 32) // the first entry's PrevHash
	var after, n int64
	for {
		if err := ctx.Err(); err != nil {
			return ChainCheck{}, storeErr(fmt.Errorf("verify audit chain: %w", err), "audit")
		}
		cctx, cancel := s.ctx(ctx)
		page, err := s.st.AuditChain(cctx, after, auditPage)
		cancel()
		if err != nil {
			return ChainCheck{}, storeErr(fmt.Errorf("verify audit chain after %d: %w", after, err), "audit")
		}
		if len(page) == 0 {
			return ChainCheck{OK: true, Entries: n}, nil
		}
		if bad := store.VerifyChain(prev, page); bad != 0 {
			for _, e := range page {
				if e.ID == bad {
					break
				}
				n++
			}
			return ChainCheck{Entries: n, BrokenAt: bad}, nil
		}
		n += int64(len(page))
		last := page[len(page)-1]
		after, prev = last.ID, last.Hash
	}
}
