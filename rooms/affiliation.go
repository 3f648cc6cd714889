package rooms

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/havenhealth/haven/protocol"
)

// AffiliatedReason starts the review reason of a post held because a company-affiliated
// account named a listed product in a public room: such a post may be promotion, which
// medical/legal review must clear before members read it.
const AffiliatedReason = "affiliated_product"

// productMentions names the listed products text mentions. It is a variable so tests can
// stand in for a screener.
type productMentions func(text string) []string

// affiliationStep holds a post by a company-affiliated account that names one of the
// deployment's listed products in a public room. Room staff (hosts and moderators, global
// moderators and admins) are exempt; a verified clinician is held like anyone else only
// when they are affiliated. Private rooms are not public communication and are left alone.
func (s *Service) affiliationStep(d *Draft) (Verdict, *protocol.Error) {
	if s.cfg.Screener == nil {
		return Allow, nil
	}
	return affiliationCheck(d, s.cfg.Screener.Products, s.freshAffiliation)
}

// affiliationCheck is the step's decision, with the product finder and the affiliation
// lookup injected.
func affiliationCheck(d *Draft, products productMentions, affiliation func(d *Draft) (string, error)) (Verdict, *protocol.Error) {
	m := d.Member
	if m.Room.Info().Visibility != "public" || m.IsStaff() {
		return Allow, nil
	}
	named := products(d.Text)
	if len(named) == 0 {
		return Allow, nil
	}
	// Only now, for the rare post naming a product, read the author's current affiliation:
	// an admin may have set it after the author joined, on any node.
	aff, err := affiliation(d)
	if err != nil {
		// Fail closed: an affiliated post naming a product must not slip through because
		// the store was slow; the author is told to try again.
		return Reject, protocol.Errorf(protocol.CodeUnavailable, "cannot check your post right now; try again")
	}
	if aff == "" {
		return Allow, nil
	}
	return Hold, protocol.Errorf(protocol.CodeHeld, "%s: an account affiliated with %s named %s; held for medical/legal review",
		AffiliatedReason, aff, strings.Join(named, ", "))
}

// freshAffiliation reads the author's affiliation from the store.
func (s *Service) freshAffiliation(d *Draft) (string, error) {
	ctx := d.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	u, err := s.st.UserByID(cctx, d.Member.User.ID)
	if err != nil {
		return "", fmt.Errorf("affiliation of %s: %w", d.Member.User.ID, err)
	}
	return u.Affiliation, nil
}

// heldBecause tells the author of a post held for its affiliation why, in the held error
// (reason "affiliated_product"); other holds keep their generic answer.
func heldBecause(err error, reason string) error {
	var perr *protocol.Error
	if !strings.HasPrefix(reason, AffiliatedReason) || !errors.As(err, &perr) || perr.Code != protocol.CodeHeld {
		return err
	}
	held := *perr
	held.Message = "your account is affiliated with a company and your post names one of its products: " +
		"it is waiting for medical/legal review before members see it"
	return held.With("reason", AffiliatedReason)
}
