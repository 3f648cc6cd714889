package rooms

import (
	"context"
	"errors"
	"fmt"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// CodeConsentRequired refuses a post (or question, or edit) from a member who has not
// granted the deployment's current health-data consent, or has withdrawn it. The error
// carries kind, version and text, so the client can ask for it and grant it.
const CodeConsentRequired = "consent_required"

// DefaultConsentText is what members agree to when a deployment requires the health-data
// consent and configures no text of its own.
const DefaultConsentText = "I agree that what I post here may include information about my health, " +
	"and that Haven stores it to show it to the members of the rooms I post in, to its moderators, " +
	"and to the safety team where the law requires a report. I can download my data, withdraw " +
	"this consent or erase my account at any time from my privacy page."

// ConsentPolicy is the deployment's health-data consent requirement. The zero value
// requires nothing.
type ConsentPolicy struct {
	// Version is the consent version members must have granted to post; 0 = not required.
	// Raising it asks everyone again.
	Version int
	// Text is what they agree to; default DefaultConsentText.
	Text string
}

// Required reports whether posting needs the health-data consent.
func (p ConsentPolicy) Required() bool { return p.Version > 0 }

// ConsentText is the text members agree to.
func (p ConsentPolicy) ConsentText() string {
	if p.Text == "" {
		return DefaultConsentText
	}
	return p.Text
}

// ConsentRequired is the error a refused post carries.
func (p ConsentPolicy) ConsentRequired(msg string) *protocol.Error {
	return protocol.Errorf(CodeConsentRequired, "%s", msg).With("kind", store.ConsentHealthData).
		With("version", p.Version).With("text", p.ConsentText())
}

// Consent returns the deployment's consent policy.
func (s *Service) Consent() ConsentPolicy { return s.cfg.Consent }

// consentStep refuses posts from members without the deployment's current consents.
//
// It reads the store on every post rather than caching: a withdrawal is one committed row,
// so it is in force on every node the moment it commits, with no control event to lose
// while the broker is down and no window in which another node still allows a post. The
// read is one primary-index lookup, made only on deployments that require the consent.
// Joining stays possible without consent: members may read before they decide.
func (s *Service) consentStep(d *Draft) (Verdict, *protocol.Error) {
	p := s.cfg.Consent
	if !p.Required() {
		return Allow, nil
	}
	ctx := d.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	c, err := s.st.ActiveConsent(cctx, d.Member.User.ID, store.ConsentHealthData)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Reject, p.ConsentRequired("this community asks for your consent to process health information before you post")
	case err != nil:
		perr := protocol.AsError(storeErr(fmt.Errorf("check consent of %s: %w", d.Member.User.ID, err), "consent"))
		s.cfg.Logger.Warn("consent check failed; post refused", "user", d.Member.User.ID, "err", err)
		return Reject, perr
	case c.Version < p.Version:
		return Reject, p.ConsentRequired("the consent to process health information has changed; review it to keep posting")
	}
	return Allow, nil
}
