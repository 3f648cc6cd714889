package rooms

import (
	"context"
	"time"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// Verdict is what one moderation step decides about a post.
type Verdict int

const (
	Allow  Verdict = iota
	Reject         // refuse it; the sender sees the step's error
	Hold           // keep it out of the room until a moderator decides; the step sets Draft.Rule
)

// Draft is a post on its way through the pipeline, before it is stored.
type Draft struct {
	Member *Member
	Text   string
	Now    time.Time

	// Rule is the keyword rule behind a Hold, or the alert rule a published post matched.
	Rule *store.Rule

	// ctx bounds what steps read from the store (the room's rules, on first use).
	ctx context.Context
	// fingerprint identifies the text for the duplicate-spam check, once computed.
	fingerprint uint64
	// screen is what the safety screens found, for after the post is stored (screen.go).
	screen screening
}

// Step is one inline moderation check. It returns Allow; Reject with the reason the sender
// sees; or Hold, with the reason in the error's message. Steps run in order; the first that
// does not allow decides.
type Step interface {
	Name() string
	Check(d *Draft) (Verdict, *protocol.Error)
}

// StepFunc adapts a function to Step.
type StepFunc struct {
	StepName string
	Fn       func(d *Draft) (Verdict, *protocol.Error)
}

func (f StepFunc) Name() string                              { return f.StepName }
func (f StepFunc) Check(d *Draft) (Verdict, *protocol.Error) { return f.Fn(d) }

// standardSteps are the checks every post passes, in the order PROTOCOL.md gives: ban,
// guidelines, lock, mute, slow mode, rate, duplicate spam, then the room's keyword rules.
func (s *Service) standardSteps() []Step {
	return []Step{
		StepFunc{"ban", func(d *Draft) (Verdict, *protocol.Error) {
			if d.Member.Membership().Banned {
				return Reject, protocol.Errorf(protocol.CodeBanned, "you are banned from this room")
			}
			return Allow, nil
		}},
		StepFunc{"guidelines", func(d *Draft) (Verdict, *protocol.Error) {
			// Guidelines may change while members are in the room; the new version must be
			// accepted before the next post (the client re-joins with accept_guidelines).
			info := d.Member.Room.Info()
			if d.Member.Membership().AcceptedVersion != info.GuidelinesVersion {
				return Reject, protocol.Errorf(protocol.CodeGuidelinesRequired,
					"the room's guidelines changed; accept them to keep posting").
					With("guidelines", info.Guidelines).With("guidelines_version", info.GuidelinesVersion)
			}
			return Allow, nil
		}},
		StepFunc{"consent", s.consentStep},
		StepFunc{"lock", func(d *Draft) (Verdict, *protocol.Error) {
			if d.Member.Room.Info().Locked && !d.Member.IsStaff() {
				return Reject, protocol.Errorf(protocol.CodeRoomLocked, "this room is read-only for now")
			}
			return Allow, nil
		}},
		StepFunc{"mute", func(d *Draft) (Verdict, *protocol.Error) {
			if until := d.Member.Membership().MutedUntil; d.Now.Before(until) {
				return Reject, protocol.Errorf(protocol.CodeMuted, "a moderator has muted you in this room").
					With("until", protocol.TS(until))
			}
			return Allow, nil
		}},
		StepFunc{"slow_mode", func(d *Draft) (Verdict, *protocol.Error) {
			slow := time.Duration(d.Member.Room.Info().SlowModeS) * time.Second
			if slow <= 0 || d.Member.IsStaff() {
				return Allow, nil
			}
			d.Member.mu.Lock()
			last := d.Member.lastPost
			d.Member.mu.Unlock()
			if wait := last.Add(slow).Sub(d.Now); !last.IsZero() && wait > 0 {
				return Reject, protocol.Errorf(protocol.CodeSlowMode, "slow mode is on: one message every %s", slow).
					With("retry_after_ms", wait.Milliseconds())
			}
			return Allow, nil
		}},
		StepFunc{"rate", func(d *Draft) (Verdict, *protocol.Error) {
			r := d.Member.limiter.ReserveN(d.Now, 1)
			if delay := r.DelayFrom(d.Now); delay > 0 {
				r.CancelAt(d.Now)
				return Reject, protocol.Errorf(protocol.CodeRateLimited, "you are sending too fast").
					With("retry_after_ms", delay.Milliseconds()+1)
			}
			return Allow, nil
		}},
		StepFunc{"spam", spamStep},
		StepFunc{"rules", s.rulesStep},
		StepFunc{"affiliation", s.affiliationStep},
		StepFunc{"screen", s.screenStep},
	}
}
