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
