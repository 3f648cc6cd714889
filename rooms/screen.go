package rooms

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/safety"
	"github.com/havenhealth/haven/store"
)

// SafetySettings is the deployment's side of screening (Config.Safety): what a member in
// crisis is shown and the personal-information policy of rooms that set none.
type SafetySettings struct {
	// ResourcesText and ResourceLinks are sent to the author of a crisis post.
	ResourcesText string
	ResourceLinks []protocol.ResourceLink
	// DefaultPIIPolicy is store.PIIWarn, PIIRedact or PIIHold; "" means warn.
	DefaultPIIPolicy string
}

// SendOptions are the sender's choices for one post or edit.
type SendOptions struct {
	// ConfirmPersonalInfo posts text with personal information as written, in a room whose
	// policy is warn, after the sender was shown the findings.
	ConfirmPersonalInfo bool
	// Result, when set, is filled with what the screens did to a published post.
	Result *SendResult
}

// SendResult is what the sender's reply says about screening.
type SendResult struct {
	Redacted   bool     // personal information was replaced before the post was stored
	Categories []string // the categories redacted
	Text       string   // the text as stored, when redacted
	Crisis     bool     // the author was sent support resources
}

// screening is what the screen step found in a draft, for the steps after publication.
type screening struct {
	opts      SendOptions
	edit      bool   // an edit of the message at seq, not a new post
	seq       int64  // the edited message
	original  string // the text as received, before redaction
	ran       bool
	crisis    bool
	method    bool
	terms     []string // crisis and method terms
	adverse   []safety.Finding
	redacted  []string
	personals int
}

// excerptRunes bounds the excerpt of a crisis post in a live alert.
const excerptRunes = 280

func piiPolicyValid(p string) bool { return slices.Contains(store.PIIPolicies, p) }

// screenStep runs the safety screens (personal information, crisis, adverse events) and
// decides by the room's personal-information policy. Crisis language is never refused: with
// method detail the post is held; otherwise it is published, and the author and the
// moderators are told after it is stored (afterScreen).
func (s *Service) screenStep(d *Draft) (Verdict, *protocol.Error) {
	if s.cfg.Screener == nil {
		return Allow, nil
	}
	sc := &d.screen
	sc.ran, sc.original = true, d.Text
	var personal []safety.Finding
	for _, f := range s.cfg.Screener.Screen(d.Text) {
		switch {
		case f.Category.Personal():
			personal = append(personal, f)
		case f.Category == safety.Crisis, f.Category == safety.CrisisMethod:
			sc.crisis = true
			sc.method = sc.method || f.Category == safety.CrisisMethod
			if f.Term != "" && !slices.Contains(sc.terms, f.Term) {
				sc.terms = append(sc.terms, f.Term)
			}
		case f.Category == safety.AdverseEvent:
			sc.adverse = append(sc.adverse, f)
		}
	}
	sc.personals = len(personal)
	if sc.method {
		// Method detail stays out of the room until a moderator has read it.
		return Hold, protocol.Errorf(protocol.CodeHeld, "crisis_method")
	}
	if len(personal) == 0 {
		return Allow, nil
	}
	policy, perr := s.piiPolicy(d)
	if perr != nil {
		return Reject, perr
	}
	if policy == store.PIIWarn && (sc.opts.ConfirmPersonalInfo || sc.crisis) {
		// The sender chose to post it as written. A member in crisis is never turned away
		// to edit: their post goes out redacted instead.
		if !sc.crisis {
			return Allow, nil
		}
		policy = store.PIIRedact
	}
	switch policy {
	case store.PIIHold:
		return Hold, protocol.Errorf(protocol.CodeHeld, "personal_info")
	case store.PIIRedact:
		d.Text = safety.Redact(d.Text, personal)
		for _, f := range personal {
			if c := string(f.Category); !slices.Contains(sc.redacted, c) {
				sc.redacted = append(sc.redacted, c)
			}
		}
		return Allow, nil
	}
	return Reject, personalInfoErr(personal)
}

// personalInfoErr is the warn policy's refusal: the spans, so the client can show them.
func personalInfoErr(fs []safety.Finding) *protocol.Error {
	out := make([]protocol.PersonalFinding, len(fs))
	labels := make([]string, 0, len(fs))
	for i, f := range fs {
		out[i] = protocol.PersonalFinding{Category: string(f.Category), Label: f.Category.Label(), Start: f.Start, End: f.End}
		if l := f.Category.Label(); !slices.Contains(labels, l) {
			labels = append(labels, l)
		}
	}
	return protocol.Errorf(protocol.CodePersonalInfo,
		"your message seems to contain personal information (%s); edit it, or confirm to post it as written",
		strings.Join(labels, ", ")).With("findings", out)
}

// piiPolicy reads the room's policy. It is read only for the rare post with personal
// information, so it is not cached: a PATCH is in force on every node at once.
func (s *Service) piiPolicy(d *Draft) (string, *protocol.Error) {
	ctx := d.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	p, err := s.PIIPolicy(ctx, d.Member.Room.Info())
	if err != nil {
		return "", protocol.AsError(err)
	}
	return p, nil
}

// afterScreen acts on what the screens found once the post is stored: published (msg set)
// or held (heldID set). It fills the sender's result.
func (s *Service) afterScreen(ctx context.Context, d *Draft, msg store.Message, heldID string) {
	sc := &d.screen
	if !sc.ran {
		return
	}
	if r := sc.opts.Result; r != nil {
		r.Redacted, r.Categories, r.Crisis = len(sc.redacted) > 0, sc.redacted, sc.crisis
		if r.Redacted {
			r.Text = d.Text
		}
	}
	if sc.crisis {
		s.crisisAlert(ctx, d, msg.Seq, heldID)
	}
}

// crisisAlert sends the author support resources and the moderators an urgent alert, then
// records the alert.
func (s *Service) crisisAlert(ctx context.Context, d *Draft, seq int64, heldID string) {
	m := d.Member
	metric, source := "crisis", ""
	if slices.Contains(d.screen.terms, safety.ModelTerm) {
		// Only the model found it (it speaks when the lexicon matched no crisis phrase): its
		// own count tells an operator how many alerts, true and false, it adds, and the
		// moderators are told it is a learned guess.
		metric, source = "crisis_model", "model"
	}
	s.raiseCrisis(ctx, m.Room, crisis{authorID: m.User.ID, author: protocol.User{ID: m.User.ID,
		DisplayName: m.User.DisplayName, Role: m.User.Role, Verified: m.User.Verified},
		text: d.screen.original, seq: seq, heldID: heldID, method: d.screen.method, edit: d.screen.edit,
		terms: d.screen.terms, at: d.Now, metric: metric, source: source})
}

// crisis is one crisis finding, from the screens or from a member's self-harm report.
type crisis struct {
	authorID       string
	author         protocol.User
	text           string
	seq            int64
	heldID         string
	method, edit   bool
	source, report string // "report" and the report's ID when a member reported it; "model" when only the crisis model found it
	terms          []string
	at             time.Time
	metric         string
}

// raiseCrisis is the one path every crisis finding takes: the author's resources, then the
// moderators' urgent alert, then the stored alert. The live alert goes first: a store that
// is slow or down must not delay or stop it.
func (s *Service) raiseCrisis(ctx context.Context, room *Room, c crisis) {
	slug := room.Slug
	res := s.cfg.Safety
	links := res.ResourceLinks
	if links == nil {
		links = []protocol.ResourceLink{}
	}
	s.publishToUser(ctx, slug, c.authorID, protocol.SafetyResources{Type: "safety.resources", Room: slug,
		Text: res.ResourcesText, Links: links})
	alertID := ids.New("ca_")
	s.toModerators(ctx, slug, protocol.SafetyCrisis{Type: "safety.crisis", AlertID: alertID, Room: slug, Seq: c.seq,
		HeldID: c.heldID, Author: c.author, Excerpt: excerpt(c.text), Method: c.method, Priority: "urgent",
		Edit: c.edit, Source: c.source, ReportID: c.report, At: protocol.TS(c.at)})
	metricScreen.WithLabelValues(c.metric).Inc()
	cctx, cancel := s.ctx(context.WithoutCancel(ctx))
	defer cancel()
	_, err := s.st.RecordCrisisAlert(cctx, store.NewCrisisAlert{ID: alertID, RoomID: room.Info().ID,
		MessageSeq: c.seq, HeldID: c.heldID, AuthorID: c.authorID, Text: c.text, Method: c.method,
		Terms: c.terms, At: c.at})
	if err != nil {
		s.cfg.Logger.Error("record crisis alert (the live alert was sent)", "alert", alertID, "room", slug,
			"seq", c.seq, "held_id", c.heldID, "author", c.authorID, "report", c.report, "err", err)
	}
}

func excerpt(text string) string {
	if utf8.RuneCountInString(text) <= excerptRunes {
		return text
	}
	r := []rune(text)
	return string(r[:excerptRunes]) + "…"
}
