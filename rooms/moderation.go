package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// Limits PROTOCOL v1 sets on moderation commands.
const (
	MaxMute        = 28 * 24 * time.Hour
	MaxDeleteSince = 7 * 24 * time.Hour
	MaxSlowMode    = 21600
)

// Ranks order who may act on whom: an actor acts only on targets of lower rank, so a
// moderator never acts on an admin or on a moderator of equal standing.
const (
	rankMember = iota
	rankHost
	rankRoomModerator
	rankModerator
	rankAdmin
)

func rankOf(u store.User, ms store.Membership) int {
	switch {
	case u.Role == store.RoleAdmin:
		return rankAdmin
	case u.Role == store.RoleModerator:
		return rankModerator
	case ms.Role == store.RoomRoleModerator:
		return rankRoomModerator
	case ms.Role == store.RoomRoleHost:
		return rankHost
	}
	return rankMember
}

// Action is one moderation command.
type Action struct {
	Kind         string // mute, unmute, remove, ban, unban, slow_mode, lock
	Target       string // user id, for actions on a member
	Duration     time.Duration
	DeleteRecent time.Duration
	Reason       string
	Seconds      int
	Locked       bool
}

// Moderate checks the actor's power, writes the change and its audit entry in one
// transaction, and tells every node. It returns the mute's end for `mute`.
func (s *Service) Moderate(ctx context.Context, actor *Member, a Action) (time.Time, error) {
	room := actor.Room
	info := room.Info()
	actorRank := rankOf(actor.User, actor.Membership())
	if actorRank < rankRoomModerator {
		return time.Time{}, protocol.Errorf(protocol.CodeForbidden, "only the room's moderators may %s", strings.ReplaceAll(a.Kind, "_", " "))
	}
	now := s.cfg.Now()
	ch := store.ModerationChange{Audit: store.AuditEntry{RoomID: info.ID, ActorID: actor.User.ID,
		Action: a.Kind, Reason: strings.TrimSpace(a.Reason), At: now}}
	detail := map[string]any{"room": room.Slug}
	var target store.User
	if a.Kind != "slow_mode" && a.Kind != "lock" {
		var err error
		if target, err = s.targetBelow(ctx, info, actorRank, a.Target); err != nil {
			return time.Time{}, err
		}
		ch.Audit.TargetID = target.ID
	}
	var until time.Time
	switch a.Kind {
	case "mute":
		if a.Duration < time.Second || a.Duration > MaxMute {
			return time.Time{}, protocol.Errorf(protocol.CodeBadRequest, "duration_s must be 1-%d", int(MaxMute.Seconds()))
		}
		until = now.Add(a.Duration)
		ch.MutedUntil, ch.Audit.ExpiresAt = &until, until
		detail["duration_s"] = int64(a.Duration.Seconds())
	case "unmute":
		var zero time.Time
		ch.MutedUntil = &zero
	case "remove":
	case "ban":
		if a.DeleteRecent < 0 || a.DeleteRecent > MaxDeleteSince {
			return time.Time{}, protocol.Errorf(protocol.CodeBadRequest, "delete_recent_s must be 0-%d", int(MaxDeleteSince.Seconds()))
		}
		banned := true
		ch.Banned = &banned
		if a.DeleteRecent > 0 {
			ch.DeleteSince = now.Add(-a.DeleteRecent)
			detail["delete_recent_s"] = int64(a.DeleteRecent.Seconds())
		}
	case "unban":
		banned := false
		ch.Banned = &banned
	case "slow_mode":
		if a.Seconds < 0 || a.Seconds > MaxSlowMode {
			return time.Time{}, protocol.Errorf(protocol.CodeBadRequest, "seconds must be 0-%d", MaxSlowMode)
		}
		ch.Room = &store.RoomPatch{SlowModeS: &a.Seconds}
		detail["seconds"] = a.Seconds
	case "lock":
		ch.Room = &store.RoomPatch{Locked: &a.Locked}
		detail["locked"] = a.Locked
	default:
		return time.Time{}, protocol.Errorf(protocol.CodeBadRequest, "unknown moderation action %q", a.Kind)
	}
	d, _ := json.Marshal(detail)
	ch.Audit.Detail = string(d)

	cctx, cancel := s.ctx(ctx)
	defer cancel()
	if _, err := s.st.ApplyModeration(cctx, ch); err != nil {
		return time.Time{}, storeErr(fmt.Errorf("%s in room %s: %w", a.Kind, room.Slug, err), "moderation")
	}
	metricModeration.WithLabelValues(a.Kind).Inc()
	s.announce(ctx, room, actor, target, a, until)
	return until, nil
}

// targetBelow loads the target and refuses targets of equal or higher rank.
func (s *Service) targetBelow(ctx context.Context, info store.Room, actorRank int, userID string) (store.User, error) {
	if userID == "" {
		return store.User{}, protocol.Errorf(protocol.CodeBadRequest, "name the user to act on")
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	u, err := s.st.UserByID(cctx, userID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.User{}, protocol.Errorf(protocol.CodeNotFound, "no user %q", userID)
		}
		return store.User{}, storeErr(err, "user")
	}
	ms, err := s.st.Membership(cctx, info.ID, userID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, storeErr(err, "membership")
	}
	if rankOf(u, ms) >= actorRank {
		return store.User{}, protocol.Errorf(protocol.CodeForbidden, "you cannot act on a moderator of equal or higher rank")
	}
	return u, nil
}

// announce applies the change on every node (this one included) through the broker: the
// new member state or room settings, then what members see.
func (s *Service) announce(ctx context.Context, room *Room, actor *Member, target store.User, a Action, until time.Time) {
	slug := room.Slug
	switch a.Kind {
	case "slow_mode", "lock":
		// The new setting travels with the control event so every node enforces it before
		// members see the announcement below; the store reload follows in the background.
		var set RoomSettings
		if a.Kind == "slow_mode" {
			set.SlowModeS = &a.Seconds
		} else {
			set.Locked = &a.Locked
		}
		data, _ := json.Marshal(set)
		s.publishControl(ctx, Event{Kind: KindRoomUpdate, Room: slug, Data: data})
		ev := protocol.Moderation{Type: "moderation", Room: slug, Action: a.Kind, Reason: a.Reason}
		if a.Kind == "slow_mode" {
			ev.Seconds = &a.Seconds
		} else {
			ev.Locked = &a.Locked
		}
		s.PublishEphemeral(ctx, slug, ev)
		return
	}
	tu := PublicUser(target)
	var state MemberState
	switch a.Kind {
	case "mute", "unmute":
		state.MutedUntil = &until // zero for unmute
	case "ban", "unban":
		banned := a.Kind == "ban"
		state.Banned = &banned
	}
	if state.MutedUntil != nil || state.Banned != nil {
		st, _ := json.Marshal(state)
		s.publishControl(ctx, Event{Kind: KindMember, Room: slug, User: target.ID, Data: st})
	}
	switch a.Kind {
	case "mute", "unmute":
		ev := protocol.Moderation{Type: "moderation", Room: slug, Action: a.Kind, Target: &tu, Reason: a.Reason}
		if !until.IsZero() {
			ev.Until = protocol.TS(until)
		}
		s.publishToUser(ctx, slug, target.ID, ev)
	case "remove", "ban":
		data, _ := json.Marshal(protocol.Removed{Type: "removed", Room: slug, Reason: a.Reason, Banned: a.Kind == "ban"})
		e := Event{Kind: KindRemove, Room: slug, User: target.ID, Data: data}
		if err := s.br.Publish(ctx, broker.ControlChannel, e.Encode()); err != nil {
			s.cfg.Logger.Warn("publish removal", "room", slug, "err", err)
		}
		if a.Kind == "ban" && a.DeleteRecent > 0 {
			s.broadcastTombstones(ctx, room, target.ID, s.cfg.Now().Add(-a.DeleteRecent))
		}
	}
}

// publishToUser sends a client event to one member's connections in a room, on every node.
func (s *Service) publishToUser(ctx context.Context, slug, userID string, ev any) {
	data, err := json.Marshal(ev)
	if err != nil {
		return
	}
	e := Event{Kind: KindToUser, Room: slug, User: userID, Data: data}
	if err := s.br.Publish(ctx, broker.RoomChannel(slug), e.Encode()); err != nil {
		s.cfg.Logger.Warn("publish to member", "room", slug, "err", err)
	}
}

// broadcastTombstones tells members which of the banned member's recent messages are gone.
func (s *Service) broadcastTombstones(ctx context.Context, room *Room, userID string, since time.Time) {
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	msgs, err := s.st.MessagesBefore(cctx, room.Info().ID, 0, 1000)
	if err != nil {
		s.cfg.Logger.Warn("read messages for ban tombstones", "room", room.Slug, "err", err)
		return
	}
	for _, m := range msgs {
		if m.Author.ID == userID && !m.CreatedAt.Before(since) {
			s.tellDeleted(ctx, room.Slug, m.Seq, "moderator")
		}
	}
}

// maxErasureTombstones bounds one erasure's live tombstones in a room: members have a few
// pages of a room on screen at most, and older pages come from the store, already blank.
const maxErasureTombstones = 1000

// TellErased tells each room's members, on every node, that an erased member's messages
// are gone (the store has marked them; newest first, at most maxErasureTombstones a room).
// by is "author" when members erased themselves, "moderator" when an admin did.
func (s *Service) TellErased(ctx context.Context, msgs []store.DeletedMessage, by string) {
	told := map[string]int{}
	for _, m := range msgs {
		if told[m.RoomSlug] == maxErasureTombstones {
			continue
		}
		told[m.RoomSlug]++
		s.tellDeleted(ctx, m.RoomSlug, m.Seq, by)
	}
}

// TellRenamed tells each room's members, on every node, that what they show of u's (its
// messages, its questions) is now under u's current name: an erased account's pseudonym,
// which they would otherwise see only at their next join.
func (s *Service) TellRenamed(ctx context.Context, slugs []string, u store.User) {
	author := PublicUser(u)
	for _, slug := range slugs {
		s.PublishEphemeral(ctx, slug, protocol.AuthorRenamed{Type: "author_renamed", Room: slug, Author: author})
	}
}

// Audit returns a room's audit log, newest first (moderators and admins).
func (s *Service) Audit(ctx context.Context, actor store.User, slug string, before int64, limit int) ([]store.AuditEntry, error) {
	room, err := s.Get(ctx, slug)
	if err != nil {
		return nil, err
	}
	if err := s.requireModerator(ctx, actor, room.Info()); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	entries, err := s.st.AuditLog(cctx, room.Info().ID, before, limit)
	if err != nil {
		return nil, storeErr(fmt.Errorf("audit log %s: %w", slug, err), "audit")
	}
	return entries, nil
}

// patchDetail records in the audit entry exactly which settings a patch set, and to what.
func patchDetail(slug string, p store.RoomPatch) string {
	d := map[string]any{"room": slug}
	if p.Name != nil {
		d["name"] = *p.Name
	}
	if p.Guidelines != nil {
		d["guidelines"] = *p.Guidelines
	}
	if p.SlowModeS != nil {
		d["slow_mode_s"] = *p.SlowModeS
	}
	if p.Locked != nil {
		d["locked"] = *p.Locked
	}
	if p.Sponsor != nil {
		d["sponsor"] = *p.Sponsor
	}
	b, _ := json.Marshal(d)
	return string(b)
}
