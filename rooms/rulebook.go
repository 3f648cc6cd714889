package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// ruleCache holds a room's compiled rules. A post reads it with one atomic load; a change
// anywhere in the cluster clears it on every node (a KindRules control event) and the next
// post loads and compiles the rules once.
type ruleCache struct {
	// load serialises loads and invalidations: a burst of posts after a change reads the
	// store once, and an invalidation that arrives while a load is reading waits for it and
	// then clears what it installed, so a set read before the change never survives it.
	load sync.Mutex
	set  atomic.Pointer[ruleSet]
}

func (c *ruleCache) invalidate() {
	c.load.Lock()
	defer c.load.Unlock()
	c.set.Store(nil)
}

// roomRules returns the room's compiled rules, loading them on first use.
func (s *Service) roomRules(ctx context.Context, room *Room) (*ruleSet, error) {
	c := &room.rules
	if rs := c.set.Load(); rs != nil {
		return rs, nil
	}
	c.load.Lock()
	defer c.load.Unlock()
	if rs := c.set.Load(); rs != nil {
		return rs, nil
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	rules, err := s.st.Rules(cctx, room.Info().ID)
	if err != nil {
		return nil, storeErr(fmt.Errorf("load rules of room %s: %w", room.Slug, err), "rules")
	}
	rs, errs := compileRuleSet(rules)
	for _, err := range errs {
		s.cfg.Logger.Warn("skipping a stored keyword rule that does not compile", "room", room.Slug, "err", err)
	}
	c.set.Store(rs)
	return rs, nil
}

// invalidateRules drops a room's compiled rules on this node.
func (s *Service) invalidateRules(slug string) {
	s.mu.Lock()
	room := s.rooms[slug]
	s.mu.Unlock()
	if room != nil {
		room.rules.invalidate()
	}
}

const defaultRuleReason = "this post matches one of the room's keyword rules"

func ruleReason(r store.Rule) string {
	if r.Reason != "" {
		return r.Reason
	}
	return defaultRuleReason
}

// rulesStep runs last: block refuses with the rule's reason, hold keeps the post for
// review, alert lets it through and marks the draft so moderators hear of it.
func (s *Service) rulesStep(d *Draft) (Verdict, *protocol.Error) {
	ctx := d.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	rs, err := s.roomRules(ctx, d.Member.Room)
	if err != nil {
		// Fail closed: a post the rules were not checked against must not be published.
		return Reject, protocol.AsError(err)
	}
	c := rs.match(d.Text)
	if c == nil {
		return Allow, nil
	}
	rule := c.rule
	d.Rule = &rule
	switch rule.Action {
	case store.RuleBlock:
		return Reject, protocol.Errorf(protocol.CodeBlocked, "%s", ruleReason(rule))
	case store.RuleHold:
		return Hold, protocol.Errorf(protocol.CodeHeld, "%s", ruleReason(rule))
	}
	return Allow, nil
}

// Rules lists a room's keyword rules, oldest first (moderators and admins).
func (s *Service) Rules(ctx context.Context, actor store.User, slug string) ([]store.Rule, error) {
	room, err := s.Get(ctx, slug)
	if err != nil {
		return nil, err
	}
	info := room.Info()
	if err := s.requireModerator(ctx, actor, info); err != nil {
		return nil, err
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	rules, err := s.st.Rules(cctx, info.ID)
	if err != nil {
		return nil, storeErr(fmt.Errorf("rules of room %s: %w", slug, err), "rules")
	}
	return rules, nil
}

// AddRule checks and stores a keyword rule, audited in the same transaction, and has every
// node recompile the room's rules.
func (s *Service) AddRule(ctx context.Context, actor store.User, slug string, r store.Rule) (store.Rule, error) {
	room, err := s.Get(ctx, slug)
	if err != nil {
		return store.Rule{}, err
	}
	info := room.Info()
	if err := s.requireModerator(ctx, actor, info); err != nil {
		return store.Rule{}, err
	}
	r.Kind = strings.ToLower(strings.TrimSpace(r.Kind))
	r.Action = strings.ToLower(strings.TrimSpace(r.Action))
	r.Reason = strings.TrimSpace(r.Reason)
	if n := utf8.RuneCountInString(r.Reason); n > MaxReasonRunes {
		return store.Rule{}, protocol.Errorf(protocol.CodeBadRequest, "reason is %d characters; the limit is %d", n, MaxReasonRunes)
	}
	if _, err := compileRule(r); err != nil {
		return store.Rule{}, err
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	existing, err := s.st.Rules(cctx, info.ID)
	if err != nil {
		return store.Rule{}, storeErr(fmt.Errorf("rules of room %s: %w", slug, err), "rules")
	}
	if len(existing) >= MaxRules {
		return store.Rule{}, protocol.Errorf(protocol.CodeBadRequest, "this room already has %d rules, the most it may hold; remove one first", MaxRules)
	}
	r.ID, r.RoomID, r.CreatedBy, r.CreatedAt = ids.New("rl_"), info.ID, actor.ID, s.cfg.Now()
	detail, _ := json.Marshal(map[string]any{"room": slug, "rule_id": r.ID, "kind": r.Kind, "pattern": r.Pattern, "action": r.Action})
	_, err = s.st.ApplyModeration(cctx, store.ModerationChange{
		Audit: store.AuditEntry{RoomID: info.ID, ActorID: actor.ID, Action: "rule_add",
			Reason: r.Reason, Detail: string(detail), At: r.CreatedAt},
		AddRule: &r,
	})
	if err != nil {
		return store.Rule{}, storeErr(fmt.Errorf("add rule to room %s: %w", slug, err), "rule")
	}
	metricModeration.WithLabelValues("rule_add").Inc()
	s.rulesChanged(ctx, room)
	return r, nil
}

// RemoveRule deletes a keyword rule, audited in the same transaction, on every node.
func (s *Service) RemoveRule(ctx context.Context, actor store.User, slug, ruleID string) error {
	room, err := s.Get(ctx, slug)
	if err != nil {
		return err
	}
	info := room.Info()
	if err := s.requireModerator(ctx, actor, info); err != nil {
		return err
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	rules, err := s.st.Rules(cctx, info.ID)
	if err != nil {
		return storeErr(fmt.Errorf("rules of room %s: %w", slug, err), "rules")
	}
	var gone *store.Rule
	for i := range rules {
		if rules[i].ID == ruleID {
			gone = &rules[i]
		}
	}
	if gone == nil {
		return protocol.Errorf(protocol.CodeNotFound, "no rule %q in this room", ruleID)
	}
	// The audit entry keeps what the rule was, since the rule itself is gone.
	detail, _ := json.Marshal(map[string]any{"room": slug, "rule_id": gone.ID, "kind": gone.Kind, "pattern": gone.Pattern, "action": gone.Action})
	_, err = s.st.ApplyModeration(cctx, store.ModerationChange{
		Audit: store.AuditEntry{RoomID: info.ID, ActorID: actor.ID, Action: "rule_remove",
			Reason: gone.Reason, Detail: string(detail), At: s.cfg.Now()},
		RemoveRuleID: ruleID,
	})
	if errors.Is(err, store.ErrNotFound) {
		return protocol.Errorf(protocol.CodeNotFound, "no rule %q in this room", ruleID) // removed concurrently
	}
	if err != nil {
		return storeErr(fmt.Errorf("remove rule %s from room %s: %w", ruleID, slug, err), "rule")
	}
	metricModeration.WithLabelValues("rule_remove").Inc()
	s.rulesChanged(ctx, room)
	return nil
}

// rulesChanged clears the room's rules here at once (so the next post on this node obeys
// the change without waiting for the broker) and on every other node by a control event.
func (s *Service) rulesChanged(ctx context.Context, room *Room) {
	room.rules.invalidate()
	s.publishControl(ctx, Event{Kind: KindRules, Room: room.Slug})
}

// WireRule is a rule as the rules API serves it.
func WireRule(r store.Rule) protocol.Rule {
	return protocol.Rule{ID: r.ID, Kind: r.Kind, Pattern: r.Pattern, Action: r.Action, Reason: r.Reason,
		CreatedBy: r.CreatedBy, CreatedAt: protocol.TS(r.CreatedAt)}
}
