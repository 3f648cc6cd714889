package rooms

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// SetPIIPolicy sets a room's personal-information policy (admins and the room's
// moderators), audited as a room_update. It takes effect on every node with the next post:
// the screen step reads it from the store.
func (s *Service) SetPIIPolicy(ctx context.Context, actor store.User, slug, policy string) error {
	room, err := s.Get(ctx, slug)
	if err != nil {
		return err
	}
	info := room.Info()
	if err := s.requireModerator(ctx, actor, info); err != nil {
		return err
	}
	if !piiPolicyValid(policy) {
		return protocol.Errorf(protocol.CodeBadRequest, "pii_policy must be one of %s", strings.Join(store.PIIPolicies, ", "))
	}
	detail, _ := json.Marshal(map[string]any{"room": slug, "pii_policy": policy})
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	_, err = s.st.SetRoomPIIPolicy(cctx, info.ID, policy, store.AuditEntry{RoomID: info.ID, ActorID: actor.ID,
		Action: "room_update", Detail: string(detail), At: s.cfg.Now()})
	if err != nil {
		return storeErr(fmt.Errorf("set pii policy of room %s: %w", slug, err), "room")
	}
	metricModeration.WithLabelValues("room_update").Inc()
	return nil
}

// PIIPolicy returns the policy in force in a room: its own, or the deployment's default.
func (s *Service) PIIPolicy(ctx context.Context, info store.Room) (string, error) {
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	p, err := s.st.RoomPIIPolicy(cctx, info.ID)
	if err != nil {
		return "", storeErr(fmt.Errorf("pii policy of room %s: %w", info.Slug, err), "room")
	}
	if p == "" {
		p = s.cfg.Safety.DefaultPIIPolicy
	}
	if !piiPolicyValid(p) {
		p = store.PIIWarn
	}
	return p, nil
}

// WithPIIPolicy is the room's wire form with its policy; a failed read leaves it out.
func (s *Service) WithPIIPolicy(ctx context.Context, info store.Room) protocol.Room {
	w := WireRoom(info)
	p, err := s.PIIPolicy(ctx, info)
	if err != nil {
		s.cfg.Logger.Warn("read pii policy", "room", info.Slug, "err", err)
		return w
	}
	w.PIIPolicy = p
	return w
}
