package rooms_test

import (
	"context"
	"testing"

	"github.com/havenhealth/haven/rooms"
	"github.com/havenhealth/haven/store"
)

// TestTellErasedCapsEachRoom: an erasure's live tombstones go out newest first, at most a
// thousand a room (older pages come from the store, already blank).
func TestTellErasedCapsEachRoom(t *testing.T) {
	f := newScreenFixture(t, "")
	var msgs []store.DeletedMessage
	for seq := int64(1005); seq >= 1; seq-- {
		msgs = append(msgs, store.DeletedMessage{RoomSlug: "screen", Seq: seq})
	}
	f.svc.TellErased(context.Background(), msgs, "author")
	got := f.typed(rooms.KindEphemeral)
	if len(got) != 1000 || got[0]["seq"] != float64(1005) || got[999]["seq"] != float64(6) ||
		got[0]["type"] != "message_deleted" || got[0]["by"] != "author" || got[0]["room"] != "screen" {
		t.Fatalf("%d tombstones, first %v, last %v", len(got), got[0], got[len(got)-1])
	}
}

// TestTellRenamed: the room is told, once, the pseudonymous author as history now serves
// it (the fixture hears one room; the e2e privacy suite covers several on two nodes).
func TestTellRenamed(t *testing.T) {
	f := newScreenFixture(t, "")
	f.svc.TellRenamed(context.Background(), []string{"screen"},
		store.User{ID: "u_abcd", DisplayName: "Former member abcd", Role: store.RoleMember})
	got := f.typed(rooms.KindEphemeral)
	if len(got) != 1 {
		t.Fatalf("%d events, want one: %v", len(got), got)
	}
	a, _ := got[0]["author"].(map[string]any)
	if got[0]["type"] != "author_renamed" || got[0]["room"] != "screen" || a["id"] != "u_abcd" ||
		a["display_name"] != "Former member abcd" || a["role"] != store.RoleMember || a["verified"] != false {
		t.Fatalf("event = %v", got[0])
	}
}
