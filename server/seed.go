package server

import (
	"context"
	"fmt"

	"github.com/havenhealth/haven/store"
)

const demoGuidelines = `Welcome. This is a peer community, not a substitute for medical care.
1. Be kind. Everyone here is living with something hard.
2. Stay pseudonymous: do not share your real name, address, phone number or medical record numbers — yours or anyone else's.
3. Share experience, not prescriptions. Talk to your care team before changing treatment.
4. If you are in crisis or thinking about harming yourself, contact your local emergency number now.
5. Sponsored content is always disclosed. Report posts that break these rules.`

var demoRooms = []store.Room{
	{Slug: "type-1-diabetes", Name: "Type 1 Diabetes", Condition: "Type 1 diabetes"},
	{Slug: "long-covid", Name: "Long COVID", Condition: "Post-COVID-19 condition"},
	{Slug: "chronic-pain", Name: "Living with Chronic Pain", Condition: "Chronic pain"},
	{Slug: "caregivers", Name: "Caregivers' Corner", Condition: "Caring for someone"},
}

// SeedDemo creates the demo condition rooms on first start (when there are no rooms).
func (s *Server) SeedDemo(ctx context.Context) (int, error) {
	existing, err := s.st.ListRooms(ctx)
	if err != nil {
		return 0, fmt.Errorf("seed demo rooms: %w", err)
	}
	if len(existing) > 0 {
		return 0, nil
	}
	admin := store.User{Role: store.RoleAdmin}
	for _, r := range demoRooms {
		r.Kind, r.Visibility, r.Guidelines = "chat", "public", demoGuidelines
		if _, err := s.rooms.Create(ctx, admin, r); err != nil {
			return 0, fmt.Errorf("seed room %s: %w", r.Slug, err)
		}
	}
	return len(demoRooms), nil
}
