// Package rooms is Haven's domain: condition rooms, membership, roles and permissions, the
// moderation state of each room, and the inline pipeline in front of every post. It knows
// no transport: it reads and writes the store and publishes events through the broker.
package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/safety"
	"github.com/havenhealth/haven/store"
)

// Config tunes the service. The zero value means the defaults in the comments.
type Config struct {
	MaxTextRunes  int              // longest message text; default 4000
	HistoryLimit  int              // messages a plain join returns; default 50
	RecoveryLimit int              // most messages a join with since returns; default 500
	PostRate      float64          // sustained posts per second per member; default 2
	PostBurst     int              // default 10
	StoreTimeout  time.Duration    // per store call; default 5 s
	Now           func() time.Time // default time.Now
	Logger        *slog.Logger     // default slog.Default()
	OnRoomChange  func(store.Room) // optional: called when a room's settings change
	// Screener runs the safety screens on posts and edits; nil screens nothing. One per
	// deployment: its product list and lexicons come from the safety configuration.
	Screener *safety.Screener
	// Consent is the deployment's health-data consent requirement (consent.go); the zero
	// value requires none.
	Consent ConsentPolicy
	// Safety is the deployment's crisis resources and default personal-information policy.
	Safety SafetySettings
	// PrepareAECase sets the due times of the adverse-event cases the screens open, by the
	// deployment's clocks (safetycases.Service.Prepare); nil leaves the store's defaults.
	PrepareAECase func(store.NewAECase) store.NewAECase
}

func (c *Config) defaults() {
	if c.MaxTextRunes == 0 {
		c.MaxTextRunes = 4000
	}
	if c.HistoryLimit == 0 {
		c.HistoryLimit = 50
	}
	if c.RecoveryLimit == 0 {
		c.RecoveryLimit = 500
	}
	if c.PostRate == 0 {
		c.PostRate = 2
	}
	if c.PostBurst == 0 {
		c.PostBurst = 10
	}
	if c.StoreTimeout == 0 {
		c.StoreTimeout = 5 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Service owns rooms on this node: a cache of their settings and of the members who are
// connected here, kept current across the cluster by control events.
type Service struct {
	cfg Config
	st  store.Store
	br  broker.Broker

	pipeline []Step // the inline moderation steps, in order; built once

	mu    sync.Mutex       // guards rooms
	rooms map[string]*Room // slug → cached room, loaded on first use
}

// New returns a service over st that publishes through br.
func New(st store.Store, br broker.Broker, cfg Config) *Service {
	cfg.defaults()
	s := &Service{cfg: cfg, st: st, br: br, rooms: make(map[string]*Room)}
	s.pipeline = s.standardSteps()
	return s
}

// Room is one room's cached state on this node.
type Room struct {
	Slug string

	mu      sync.RWMutex       // guards info, members
	info    store.Room         // settings as last loaded from the store
	members map[string]*Member // user id → member connected on this node

	rules ruleCache // the room's keyword rules, compiled; loaded on the first post

	reloadMu sync.Mutex // serialises Reload, so reloads apply in the order they read
}

// Info returns a copy of the room's settings.
func (r *Room) Info() store.Room {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.info
}

func (s *Service) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.StoreTimeout)
}

// storeErr turns a store failure into what a client sees; the cause is kept for the log.
func storeErr(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &protocol.Error{Code: protocol.CodeNotFound, Message: what + " not found", Cause: err}
	case errors.Is(err, store.ErrConflict):
		return &protocol.Error{Code: protocol.CodeConflict, Message: what + " already exists", Cause: err}
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return &protocol.Error{Code: protocol.CodeUnavailable, Message: "storage is unavailable; nothing was saved, try again", Cause: err}
	default:
		return &protocol.Error{Code: protocol.CodeInternal, Message: "internal error", Cause: err}
	}
}

// Get returns the room, loading it from the store on first use.
func (s *Service) Get(ctx context.Context, slug string) (*Room, error) {
	s.mu.Lock()
	r := s.rooms[slug]
	s.mu.Unlock()
	if r != nil {
		return r, nil
	}
	if !validSlug(slug) {
		return nil, protocol.Errorf(protocol.CodeNotFound, "no room %q", slug)
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	info, err := s.st.RoomBySlug(cctx, slug)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, protocol.Errorf(protocol.CodeNotFound, "no room %q", slug)
		}
		return nil, storeErr(fmt.Errorf("load room %s: %w", slug, err), "room")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r = s.rooms[slug]; r == nil {
		r = &Room{Slug: slug, info: info, members: make(map[string]*Member)}
		s.rooms[slug] = r
	}
	return r, nil
}

// Reload refreshes a cached room's settings from the store (after a control event or a
// broker outage during which control events may have been missed).
func (s *Service) Reload(ctx context.Context, slug string) error {
	s.mu.Lock()
	r := s.rooms[slug]
	s.mu.Unlock()
	if r == nil {
		return nil
	}
	// One reload at a time per room, each reading the store only once it holds the lock:
	// a slow reload that read before a later change cannot overwrite the newer settings.
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	info, err := s.st.RoomBySlug(cctx, slug)
	if err != nil {
		return fmt.Errorf("reload room %s: %w", slug, err)
	}
	r.mu.Lock()
	r.info = info
	r.mu.Unlock()
	// A reload may follow a broker outage, during which a rules event may have been lost.
	r.rules.invalidate()
	if s.cfg.OnRoomChange != nil {
		s.cfg.OnRoomChange(info)
	}
	return nil
}

// Cached lists the slugs of rooms cached on this node.
func (s *Service) Cached() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.rooms))
	for slug := range s.rooms {
		out = append(out, slug)
	}
	return out
}

// HandleControl applies a control event from any node (this one included).
//
// It runs on the broker's delivery path, before the events published after it, so what it
// changes in memory is in force by the time members hear of it: it must not block. Store
// reloads run in the background.
func (s *Service) HandleControl(ctx context.Context, e Event) {
	switch e.Kind {
	case KindRoomUpdate:
		if s.applyRoomSettings(e.Room, e.Data) {
			return
		}
		go func() {
			if err := s.Reload(ctx, e.Room); err != nil {
				s.cfg.Logger.Warn("reload room after control event", "room", e.Room, "err", err)
			}
		}()
	case KindRules:
		s.invalidateRules(e.Room)
	case KindMember:
		if s.applyMemberState(e.Room, e.User, e.Data) {
			return // the event carried the new state: no store round trip
		}
		go func() {
			if err := s.ReloadMember(ctx, e.Room, e.User); err != nil {
				s.cfg.Logger.Warn("reload member after control event", "room", e.Room, "user", e.User, "err", err)
			}
		}()
	}
}

// RoomSettings carries the moderation settings a control event changed (nil: unchanged).
type RoomSettings struct {
	SlowModeS *int  `json:"slow_mode_s,omitempty"`
	Locked    *bool `json:"locked,omitempty"`
}

// applyRoomSettings reports false when the event carries no settings, so the caller reloads
// the room from the store instead.
func (s *Service) applyRoomSettings(slug string, data []byte) bool {
	var set RoomSettings
	if len(data) == 0 || json.Unmarshal(data, &set) != nil || (set.SlowModeS == nil && set.Locked == nil) {
		return false
	}
	s.mu.Lock()
	r := s.rooms[slug]
	s.mu.Unlock()
	if r == nil {
		return true
	}
	r.mu.Lock()
	if set.SlowModeS != nil {
		r.info.SlowModeS = *set.SlowModeS
	}
	if set.Locked != nil {
		r.info.Locked = *set.Locked
	}
	r.mu.Unlock()
	return true
}

func (s *Service) publishControl(ctx context.Context, e Event) {
	if err := s.br.Publish(ctx, broker.ControlChannel, e.Encode()); err != nil {
		// Local delivery already happened; other nodes reload on broker reconnect.
		s.cfg.Logger.Warn("publish control event", "kind", e.Kind, "room", e.Room, "err", err)
	}
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func validSlug(s string) bool { return slugRE.MatchString(s) }

// CanSee reports whether u may see (list and join) the room.
func (s *Service) CanSee(ctx context.Context, u store.User, info store.Room) (bool, error) {
	if info.Visibility != "private" || u.Role == store.RoleAdmin || u.Role == store.RoleModerator {
		return true, nil
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	_, err := s.st.Membership(cctx, info.ID, u.ID)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	default:
		return false, storeErr(err, "membership")
	}
}

// List returns the rooms u may see.
func (s *Service) List(ctx context.Context, u store.User) ([]store.Room, error) {
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	all, err := s.st.ListRooms(cctx)
	if err != nil {
		return nil, storeErr(fmt.Errorf("list rooms: %w", err), "rooms")
	}
	out := all[:0]
	for _, r := range all {
		ok, err := s.CanSee(ctx, u, r)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// Create makes a room (admins only).
func (s *Service) Create(ctx context.Context, actor store.User, r store.Room) (store.Room, error) {
	if actor.Role != store.RoleAdmin {
		return store.Room{}, protocol.Errorf(protocol.CodeForbidden, "only admins create rooms")
	}
	r.Slug = strings.TrimSpace(strings.ToLower(r.Slug))
	r.Name = strings.TrimSpace(r.Name)
	switch {
	case !validSlug(r.Slug):
		return store.Room{}, protocol.Errorf(protocol.CodeBadRequest, "slug must be 1-63 lower-case letters, digits or dashes")
	case r.Name == "" || len([]rune(r.Name)) > 100:
		return store.Room{}, protocol.Errorf(protocol.CodeBadRequest, "name must be 1-100 characters")
	}
	if r.Kind == "" {
		r.Kind = "chat"
	}
	if r.Visibility == "" {
		r.Visibility = "public"
	}
	if r.Kind != "chat" && r.Kind != "webinar" && r.Kind != "support" {
		return store.Room{}, protocol.Errorf(protocol.CodeBadRequest, "kind must be chat, webinar or support")
	}
	if r.Visibility != "public" && r.Visibility != "private" {
		return store.Room{}, protocol.Errorf(protocol.CodeBadRequest, "visibility must be public or private")
	}
	r.ID = ids.New("r_")
	r.CreatedAt = s.cfg.Now()
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	created, err := s.st.CreateRoom(cctx, r)
	if err != nil {
		return store.Room{}, storeErr(fmt.Errorf("create room %s: %w", r.Slug, err), "room")
	}
	return created, nil
}

// Update changes a room's settings (admins and the room's moderators) and tells every node.
func (s *Service) Update(ctx context.Context, actor store.User, slug string, p store.RoomPatch) (store.Room, error) {
	room, err := s.Get(ctx, slug)
	if err != nil {
		return store.Room{}, err
	}
	if err := s.requireModerator(ctx, actor, room.Info()); err != nil {
		return store.Room{}, err
	}
	if p.Name != nil && (strings.TrimSpace(*p.Name) == "" || len([]rune(*p.Name)) > 100) {
		return store.Room{}, protocol.Errorf(protocol.CodeBadRequest, "name must be 1-100 characters")
	}
	if p.SlowModeS != nil && (*p.SlowModeS < 0 || *p.SlowModeS > 21600) {
		return store.Room{}, protocol.Errorf(protocol.CodeBadRequest, "slow_mode_s must be 0-21600")
	}
	if p == (store.RoomPatch{}) {
		return room.Info(), nil // nothing to change, nothing to audit
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	_, err = s.st.ApplyModeration(cctx, store.ModerationChange{
		Audit: store.AuditEntry{RoomID: room.Info().ID, ActorID: actor.ID, Action: "room_update",
			Detail: patchDetail(slug, p), At: s.cfg.Now()},
		Room: &p,
	})
	if err != nil {
		return store.Room{}, storeErr(fmt.Errorf("update room %s: %w", slug, err), "room")
	}
	metricModeration.WithLabelValues("room_update").Inc()
	updated, err := s.st.RoomBySlug(cctx, slug)
	if err != nil {
		return store.Room{}, storeErr(fmt.Errorf("reload room %s after update: %w", slug, err), "room")
	}
	room.mu.Lock()
	room.info = updated
	room.mu.Unlock()
	s.publishControl(ctx, Event{Kind: KindRoomUpdate, Room: slug})
	return updated, nil
}

// requireModerator allows admins, global moderators and the room's moderators.
func (s *Service) requireModerator(ctx context.Context, actor store.User, info store.Room) error {
	if actor.Role == store.RoleAdmin || actor.Role == store.RoleModerator {
		return nil
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	m, err := s.st.Membership(cctx, info.ID, actor.ID)
	if err == nil && m.Role == store.RoomRoleModerator {
		return nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return storeErr(err, "membership")
	}
	return protocol.Errorf(protocol.CodeForbidden, "only the room's moderators may do that")
}

// SetRoomRole gives a user a role in a room (admins only) and tells every node.
func (s *Service) SetRoomRole(ctx context.Context, actor store.User, slug, userID, role string) (store.Membership, error) {
	if actor.Role != store.RoleAdmin {
		return store.Membership{}, protocol.Errorf(protocol.CodeForbidden, "only admins assign room roles")
	}
	if role != store.RoomRoleMember && role != store.RoomRoleHost && role != store.RoomRoleModerator {
		return store.Membership{}, protocol.Errorf(protocol.CodeBadRequest, "role must be member, host or moderator")
	}
	room, err := s.Get(ctx, slug)
	if err != nil {
		return store.Membership{}, err
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	if _, err := s.st.UserByID(cctx, userID); err != nil {
		return store.Membership{}, storeErr(fmt.Errorf("set room role: %w", err), "user")
	}
	info := room.Info()
	detail, _ := json.Marshal(map[string]any{"room": slug, "role": role})
	_, err = s.st.ApplyModeration(cctx, store.ModerationChange{
		Audit: store.AuditEntry{RoomID: info.ID, ActorID: actor.ID, TargetID: userID, Action: "room_role",
			Detail: string(detail), At: s.cfg.Now()},
		RoomRole: &role,
	})
	if err != nil {
		return store.Membership{}, storeErr(fmt.Errorf("set room role %s in %s: %w", userID, slug, err), "membership")
	}
	metricModeration.WithLabelValues("room_role").Inc()
	m, err := s.st.Membership(cctx, info.ID, userID)
	if err != nil {
		return store.Membership{}, storeErr(fmt.Errorf("read room role %s in %s: %w", userID, slug, err), "membership")
	}
	s.publishControl(ctx, Event{Kind: KindMember, Room: slug, User: userID})
	return m, nil
}
