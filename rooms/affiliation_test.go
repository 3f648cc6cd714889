package rooms

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// fakeProducts names "Brandex" wherever the text says it.
func fakeProducts(text string) []string {
	if strings.Contains(strings.ToLower(text), "brandex") {
		return []string{"Brandex"}
	}
	return nil
}

func affDraft(visibility, role, roomRole, text string) *Draft {
	room := &Room{Slug: "t", info: store.Room{ID: "r1", Slug: "t", Visibility: visibility}}
	m := &Member{Room: room, User: store.User{ID: "u1", Role: role}, ms: store.Membership{Role: roomRole}}
	return &Draft{Member: m, Text: text, Now: time.Unix(0, 0)}
}

func TestAffiliationStep(t *testing.T) {
	affiliated := func(*Draft) (string, error) { return "Acme Pharma", nil }
	unaffiliated := func(*Draft) (string, error) { return "", nil }
	failing := func(*Draft) (string, error) { return "", errors.New("store down") }
	for _, tc := range []struct {
		name                       string
		visibility, role, roomRole string
		text                       string
		aff                        func(*Draft) (string, error)
		want                       Verdict
		code                       string
	}{
		{"affiliated names product in public room", "public", store.RoleMember, store.RoomRoleMember, "Try Brandex!", affiliated, Hold, protocol.CodeHeld},
		{"affiliated verified clinician too", "public", store.RoleClinician, store.RoomRoleMember, "brandex works", affiliated, Hold, protocol.CodeHeld},
		{"no product named", "public", store.RoleMember, store.RoomRoleMember, "hello all", affiliated, Allow, ""},
		{"unaffiliated member", "public", store.RoleMember, store.RoomRoleMember, "Brandex helped me", unaffiliated, Allow, ""},
		{"unaffiliated clinician", "public", store.RoleClinician, store.RoomRoleMember, "Brandex dosing", unaffiliated, Allow, ""},
		{"private room", "private", store.RoleMember, store.RoomRoleMember, "Try Brandex!", affiliated, Allow, ""},
		{"global moderator", "public", store.RoleModerator, store.RoomRoleMember, "Try Brandex!", affiliated, Allow, ""},
		{"room host", "public", store.RoleMember, store.RoomRoleHost, "Try Brandex!", affiliated, Allow, ""},
		{"store failure fails closed", "public", store.RoleMember, store.RoomRoleMember, "Try Brandex!", failing, Reject, protocol.CodeUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			looked := false
			aff := func(d *Draft) (string, error) { looked = true; return tc.aff(d) }
			v, perr := affiliationCheck(affDraft(tc.visibility, tc.role, tc.roomRole, tc.text), fakeProducts, aff)
			if v != tc.want {
				t.Fatalf("verdict %v, want %v (%v)", v, tc.want, perr)
			}
			if tc.code != "" && (perr == nil || perr.Code != tc.code) {
				t.Fatalf("error %v, want code %s", perr, tc.code)
			}
			if v == Hold && (!strings.HasPrefix(perr.Message, AffiliatedReason) || !strings.Contains(perr.Message, "Acme Pharma") ||
				!strings.Contains(perr.Message, "Brandex")) {
				t.Fatalf("hold reason %q", perr.Message)
			}
			if looked && fakeProducts(tc.text) == nil {
				t.Fatal("read the affiliation for a post naming no product")
			}
		})
	}
}

func TestHeldBecause(t *testing.T) {
	held := heldErr("h_1")
	err := heldBecause(held, AffiliatedReason+": Acme named Brandex")
	pe := protocol.AsError(err)
	if pe == nil || pe.Code != protocol.CodeHeld || pe.Extra["reason"] != AffiliatedReason || pe.Extra["held_id"] != "h_1" ||
		!strings.Contains(pe.Message, "medical/legal review") {
		t.Fatalf("affiliated hold answer %+v", pe)
	}
	if got := heldBecause(held, "matched a rule"); got != error(held) {
		t.Fatalf("another hold's answer changed: %v", got)
	}
	other := protocol.Errorf(protocol.CodeUnavailable, "down")
	if got := heldBecause(other, AffiliatedReason); got != error(other) {
		t.Fatalf("a failure to hold changed: %v", got)
	}
}
