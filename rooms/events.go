package rooms

import (
	"encoding/json"
	"fmt"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// Event kinds carried between nodes.
const (
	KindMessage    = "message"   // Data: protocol.Message; Seq set; ordered by seq
	KindEphemeral  = "ephemeral" // Data: a client event (typing, presence, tombstone) sent as is
	KindRoomUpdate = "room"      // control: the room's settings changed; reload them
	KindRevoke     = "revoke"    // control: Session was revoked; close its connections
	KindRemove     = "remove"    // control: User is out of Room (Data: protocol.Removed)
	KindMember     = "member"    // control: User's standing in Room changed; reload it
	KindToUser     = "to_user"   // Data: a client event for User's connections in Room only
	KindModerators = "mods"      // Data: a client event for the room's moderators only (review queue)
	KindRules      = "rules"     // control: Room's keyword rules changed; recompile them
	KindUser       = "user"      // control: User's account (role, badge) changed; their connections reconnect
)

// Event is what travels on the broker. Data holds the client-facing event, encoded once by
// the node that produced it; every receiving node hands those same bytes to its members.
type Event struct {
	Kind    string          `json:"k"`
	Room    string          `json:"r,omitempty"`
	Seq     int64           `json:"s,omitempty"`
	User    string          `json:"u,omitempty"`
	Session string          `json:"sid,omitempty"`
	Data    json.RawMessage `json:"d,omitempty"`
}

// Encode serialises e for the broker.
func (e Event) Encode() []byte {
	b, _ := json.Marshal(e) // RawMessage came from json.Marshal; cannot fail
	return b
}

// DecodeEvent parses a broker payload.
func DecodeEvent(b []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return Event{}, fmt.Errorf("decode broker event: %w", err)
	}
	return e, nil
}

// PublicUser is the wire form of an author.
func PublicUser(u store.User) protocol.User {
	return protocol.User{ID: u.ID, DisplayName: u.DisplayName, Role: u.Role, Verified: u.Verified,
		Badges: protocol.BadgesOf(u.Verified, u.Affiliation)}
}

// WireMessage is a stored message as members see it: a deleted one is a tombstone.
func WireMessage(slug string, m store.Message) protocol.Message {
	w := protocol.Message{
		Type:      "message",
		Room:      slug,
		Seq:       m.Seq,
		MessageID: m.ID,
		Author:    publicAuthor(m.Author),
		Text:      m.Text,
		TS:        protocol.TS(m.CreatedAt),
	}
	if !m.EditedAt.IsZero() {
		w.EditedAt = protocol.TS(m.EditedAt)
	}
	if m.Deleted() {
		w.Text, w.Deleted = "", true
	}
	return w
}

// EncodeMessage is the client bytes of a `message` event.
func EncodeMessage(slug string, m store.Message) []byte {
	b, _ := json.Marshal(WireMessage(slug, m))
	return b
}

// WireMessages converts a page of stored messages.
func WireMessages(slug string, ms []store.Message) []protocol.Message {
	out := make([]protocol.Message, len(ms))
	for i, m := range ms {
		out[i] = WireMessage(slug, m)
	}
	return out
}

// WireRoom is a room's public settings.
func WireRoom(r store.Room) protocol.Room {
	return protocol.Room{Slug: r.Slug, Name: r.Name, Condition: r.Condition, Kind: r.Kind,
		Visibility: r.Visibility, Guidelines: r.Guidelines, GuidelinesVersion: r.GuidelinesVersion,
		SlowModeS: r.SlowModeS, Locked: r.Locked, Sponsor: r.Sponsor, Disclosure: r.Disclosure}
}
