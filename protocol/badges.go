package protocol

import (
	"encoding/json"
	"strings"
)

// Badge is a public mark on an account that its owner cannot hide (extension): a verified
// clinician, or an affiliation with a company. Only admins set what badges show.
type Badge struct {
	Kind  string `json:"kind"` // BadgeClinician or BadgeAffiliated
	Label string `json:"label"`
}

// Badge kinds.
const (
	BadgeClinician  = "clinician"
	BadgeAffiliated = "affiliated"
)

// Badges holds an account's badges, at most one of each kind, in a fixed order. It is an
// array rather than a slice so that User stays comparable; it encodes as a JSON array of
// the badges present (the zero value, no badges, is left out with omitzero).
type Badges [2]Badge

// BadgesOf is what an account with these flags shows beside its name: the clinician badge
// first, then the affiliation.
func BadgesOf(verified bool, affiliation string) Badges {
	var out Badges
	i := 0
	if verified {
		out[i] = Badge{Kind: BadgeClinician, Label: "Verified clinician"}
		i++
	}
	if a := strings.TrimSpace(affiliation); a != "" {
		out[i] = Badge{Kind: BadgeAffiliated, Label: "Affiliated with " + a}
	}
	return out
}

// List returns the badges present.
func (b Badges) List() []Badge {
	out := make([]Badge, 0, len(b))
	for _, x := range b {
		if x.Kind != "" {
			out = append(out, x)
		}
	}
	return out
}

// Has reports whether a badge of kind is present.
func (b Badges) Has(kind string) bool {
	for _, x := range b {
		if x.Kind == kind {
			return true
		}
	}
	return false
}

func (b Badges) MarshalJSON() ([]byte, error) { return json.Marshal(b.List()) }

func (b *Badges) UnmarshalJSON(data []byte) error {
	var list []Badge
	if err := json.Unmarshal(data, &list); err != nil {
		return err
	}
	*b = Badges{}
	for i, x := range list {
		if i == len(b) {
			break // more badges than this client knows of
		}
		b[i] = x
	}
	return nil
}

// Disclosure is the sponsorship disclosure a `join` reply carries (extension): the room's
// sponsor and disclosure text, and the sponsor of each of the room's scheduled or live
// sessions that has one. Clients show it prominently and do not let it be dismissed for good.
type Disclosure struct {
	Sponsor  string              `json:"sponsor,omitempty"`
	Text     string              `json:"text,omitempty"`
	Sessions []SessionDisclosure `json:"sessions,omitempty"`
}

// SessionDisclosure is one sponsored session in a Disclosure.
type SessionDisclosure struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Kind     string `json:"kind"`
	State    string `json:"state"`
	StartsAt string `json:"starts_at"`
	Sponsor  string `json:"sponsor"`
}
