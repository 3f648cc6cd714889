package server

import (
	"net/http"

	"github.com/havenhealth/haven/accounts"
	"github.com/havenhealth/haven/internal/httpx"
	"github.com/havenhealth/haven/rooms"
	"github.com/havenhealth/haven/store"
)

// disclosureRoutes serves badges and sponsorship disclosure (issue 7). A room's disclosure
// text is set with PATCH /api/rooms/{slug} (updateRoom), beside its sponsor.
func (s *Server) disclosureRoutes(mux *http.ServeMux) {
	mux.HandleFunc("PUT /api/users/{user_id}/badges", s.accounts.RequireUser(s.setBadges))
}

// badgesReply is an account's badges as admins see them: the public face (with its
// badges) and the settings behind it.
type badgesReply struct {
	User              accounts.PublicUser `json:"user"`
	Affiliation       string              `json:"affiliation"`
	VerifiedClinician bool                `json:"verified_clinician"`
}

func (s *Server) setBadges(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	var req struct {
		Affiliation       *string `json:"affiliation"`
		VerifiedClinician *bool   `json:"verified_clinician"`
	}
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	target, err := s.rooms.SetBadges(r.Context(), u, r.PathValue("user_id"),
		rooms.BadgeInput{Affiliation: req.Affiliation, VerifiedClinician: req.VerifiedClinician})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	s.hub.UserChanged(r.Context(), target.ID) // presence and typing carry the badges
	httpx.WriteJSON(w, http.StatusOK, badgesReply{User: accounts.Public(target),
		Affiliation: target.Affiliation, VerifiedClinician: target.Verified})
}
