package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBadgesJSON(t *testing.T) {
	u := User{ID: "u1", DisplayName: "rep", Role: "clinician", Verified: true, Badges: BadgesOf(true, " Novo Nordisk ")}
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	want := `"badges":[{"kind":"clinician","label":"Verified clinician"},{"kind":"affiliated","label":"Affiliated with Novo Nordisk"}]`
	if !strings.Contains(string(b), want) {
		t.Fatalf("encoded %s, want it to contain %s", b, want)
	}
	var back User
	if err := json.Unmarshal(b, &back); err != nil || back != u {
		t.Fatalf("round trip: %+v, %v; want %+v", back, err, u)
	}

	plain, _ := json.Marshal(User{ID: "u2", DisplayName: "member", Role: "member"})
	if strings.Contains(string(plain), "badges") {
		t.Fatalf("a user with no badges encodes them: %s", plain)
	}
	if only := BadgesOf(false, "Acme"); only.List()[0].Kind != BadgeAffiliated || len(only.List()) != 1 || only.Has(BadgeClinician) {
		t.Fatalf("affiliation only: %+v", only)
	}
	var many Badges
	if err := json.Unmarshal([]byte(`[{"kind":"a"},{"kind":"b"},{"kind":"c"}]`), &many); err != nil || many[1].Kind != "b" {
		t.Fatalf("more badges than known: %+v, %v", many, err)
	}
	if err := json.Unmarshal([]byte(`{"kind":"a"}`), &many); err == nil {
		t.Fatal("an object decoded as badges")
	}
}
