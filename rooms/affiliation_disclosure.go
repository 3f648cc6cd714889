package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// Limits on disclosure texts.
const (
	MaxAffiliationRunes = 100
	MaxDisclosureRunes  = 2000
)

// BadgeInput is an admin's change to an account's badges; nil fields are left alone.
type BadgeInput struct {
	Affiliation       *string // company name; "" removes the affiliation
	VerifiedClinician *bool
}

// SetBadges changes an account's badges (admins only), audited with the change. Verifying
// a member makes them a clinician, since the badge says "Verified clinician"; other roles
// are kept. Members, the account's owner included, cannot set or hide their badges.
func (s *Service) SetBadges(ctx context.Context, actor store.User, userID string, in BadgeInput) (store.User, error) {
	if actor.Role != store.RoleAdmin {
		return store.User{}, protocol.Errorf(protocol.CodeForbidden, "only an admin can set badges")
	}
	if in.Affiliation == nil && in.VerifiedClinician == nil {
		return store.User{}, protocol.Errorf(protocol.CodeBadRequest, "set affiliation or verified_clinician")
	}
	var ch store.BadgeChange
	if in.Affiliation != nil {
		a, err := validLine(*in.Affiliation, MaxAffiliationRunes, "affiliation")
		if err != nil {
			return store.User{}, err
		}
		ch.Affiliation = &a
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	target, err := s.st.UserByID(cctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, protocol.Errorf(protocol.CodeNotFound, "no user %q", userID)
	}
	if err != nil {
		return store.User{}, storeErr(fmt.Errorf("set badges: user %s: %w", userID, err), "user")
	}
	detail := map[string]any{"previous_affiliation": target.Affiliation, "previous_verified": target.Verified}
	if ch.Affiliation != nil {
		detail["affiliation"] = *ch.Affiliation
	}
	if v := in.VerifiedClinician; v != nil {
		ch.Verified = v
		detail["verified_clinician"] = *v
		if *v && target.Role == store.RoleMember {
			role := store.RoleClinician
			ch.Role, detail["role"] = &role, role
		}
	}
	d, _ := json.Marshal(detail)
	u, _, err := s.st.SetBadges(cctx, ch, store.AuditEntry{ActorID: actor.ID, TargetID: userID,
		Action: "user_badges", Detail: string(d), At: s.cfg.Now()})
	if err != nil {
		return store.User{}, storeErr(fmt.Errorf("set badges of %s: %w", userID, err), "user")
	}
	metricModeration.WithLabelValues("user_badges").Inc()
	s.cfg.Logger.InfoContext(ctx, "badges changed", "actor", actor.ID, "user", u.ID,
		"affiliation", u.Affiliation, "verified", u.Verified)
	return u, nil
}

// SetDisclosure sets a room's sponsorship disclosure text (admins only), audited with the
// change, and tells every node.
func (s *Service) SetDisclosure(ctx context.Context, actor store.User, slug, text string) (store.Room, error) {
	if actor.Role != store.RoleAdmin {
		return store.Room{}, protocol.Errorf(protocol.CodeForbidden, "only an admin can set a room's disclosure")
	}
	text = strings.TrimSpace(text)
	if !utf8.ValidString(text) || utf8.RuneCountInString(text) > MaxDisclosureRunes {
		return store.Room{}, protocol.Errorf(protocol.CodeBadRequest, "disclosure must be at most %d characters", MaxDisclosureRunes)
	}
	room, err := s.Get(ctx, slug)
	if err != nil {
		return store.Room{}, err
	}
	info := room.Info()
	if info.Disclosure == text {
		return info, nil // nothing to change, nothing to audit
	}
	d, _ := json.Marshal(map[string]any{"room": slug, "disclosure": text})
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	updated, _, err := s.st.SetRoomDisclosure(cctx, text, store.AuditEntry{RoomID: info.ID, ActorID: actor.ID,
		Action: "room_disclosure", Detail: string(d), At: s.cfg.Now()})
	if err != nil {
		return store.Room{}, storeErr(fmt.Errorf("set disclosure of room %s: %w", slug, err), "room")
	}
	metricModeration.WithLabelValues("room_disclosure").Inc()
	room.mu.Lock()
	room.info = updated
	room.mu.Unlock()
	s.publishControl(ctx, Event{Kind: KindRoomUpdate, Room: slug})
	return updated, nil
}

// JoinDisclosure is the disclosure a join reply carries: nil when the room has no sponsor,
// no disclosure text and no sponsored upcoming or live session. A store failure reading
// the sessions leaves them out (and is logged) rather than failing the join.
func (s *Service) JoinDisclosure(ctx context.Context, room *Room) *protocol.Disclosure {
	info := room.Info()
	d := protocol.Disclosure{Sponsor: info.Sponsor, Text: info.Disclosure}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	list, err := s.st.RoomSessions(cctx, info.ID, []string{store.SessionScheduled, store.SessionLive}, sessionListLimit)
	if err != nil {
		s.cfg.Logger.WarnContext(ctx, "sessions for join disclosure", "room", room.Slug, "err", err)
	}
	for _, rs := range list {
		if rs.Sponsor == "" {
			continue
		}
		d.Sessions = append(d.Sessions, protocol.SessionDisclosure{ID: rs.ID, Title: rs.Title, Kind: rs.Kind,
			State: rs.State, StartsAt: protocol.TS(rs.StartsAt), Sponsor: rs.Sponsor})
	}
	if d.Sponsor == "" && d.Text == "" && len(d.Sessions) == 0 {
		return nil
	}
	return &d
}

// validLine trims a one-line text and checks its length and characters.
func validLine(v string, max int, what string) (string, error) {
	v = strings.TrimSpace(v)
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > max {
		return "", protocol.Errorf(protocol.CodeBadRequest, "%s must be at most %d characters", what, max)
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return "", protocol.Errorf(protocol.CodeBadRequest, "%s must be one line of text", what)
	}
	return v, nil
}
