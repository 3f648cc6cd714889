// Package safety screens chat text for what a health community must act on before or after
// it publishes a post: personal information (the HIPAA Safe Harbor identifiers that turn up
// in chat), crisis language (suicide and self-harm) and adverse-event reports (a configured
// product and a reaction in one post).
//
// Screens are pure functions of the text and the Config: no network, no shared mutable
// state, only RE2 regular expressions, word tries and a crisis model trained once at start
// from the embedded corpus (crisis_model.go), so work is linear in the text. They
// report findings with byte spans and a confidence; they do not decide. The moderation
// pipeline in rooms maps them to a verdict, for example:
//
//   - personal information: redact the spans (Redact) and tell the sender why, or hold;
//   - crisis: publish, alert moderators at once and show the sender support resources;
//     crisis_method raises the alert's priority;
//   - adverse_event: publish, and queue the post for the pharmacovigilance team.
package safety

import (
	"cmp"
	"slices"
	"sync"
)

// Category is what a finding is about.
type Category string

// Personal information. Values are stable: they are stored and shown to moderators.
const (
	Phone        Category = "phone"          // phone and fax numbers
	Email        Category = "email"          // email addresses, also "name at example dot com"
	Address      Category = "street_address" // street addresses, PO boxes, postcodes, ZIP with a state
	SSN          Category = "ssn"            // US social security and UK national insurance numbers
	RecordNumber Category = "record_number"  // medical record, health plan, account, card numbers
	DateOfBirth  Category = "date_of_birth"  // a date beside "born", "DOB", "birthday"
	FullDate     Category = "date"           // any other date with day, month and year
	URL          Category = "url"            // web links
	IPAddress    Category = "ip_address"     // IPv4 and IPv6 addresses
)

// Crisis and adverse events.
const (
	Crisis       Category = "crisis"        // suicidal ideation or intent, self-harm
	CrisisMethod Category = "crisis_method" // a means, method or quantity beside a crisis finding
	AdverseEvent Category = "adverse_event" // a product and a reaction in one post
)

// Personal reports whether c is personal information, which Redact hides.
func (c Category) Personal() bool {
	switch c {
	case Phone, Email, Address, SSN, RecordNumber, DateOfBirth, FullDate, URL, IPAddress:
		return true
	}
	return false
}

// Label names c for members, as in "[removed: phone number]".
func (c Category) Label() string {
	switch c {
	case Phone:
		return "phone number"
	case Email:
		return "email address"
	case Address:
		return "address"
	case SSN:
		return "ID number"
	case RecordNumber:
		return "record number"
	case DateOfBirth:
		return "date of birth"
	case FullDate:
		return "date"
	case URL:
		return "link"
	case IPAddress:
		return "IP address"
	case Crisis, CrisisMethod:
		return "crisis"
	case AdverseEvent:
		return "adverse event"
	}
	return "personal information"
}

// Finding is one thing a screen found.
type Finding struct {
	// Start and End are the byte span [Start, End) in the screened text, on rune boundaries.
	// An adverse event spans its product and reaction mentions and what lies between.
	Start, End int
	Category   Category
	Confidence float64 // in [0, 1]
	// Term is the lexicon entry behind the finding: the crisis phrase or method, the reaction
	// of an adverse event, or the keyword that anchored an identifier ("MRN", "fax", "DOB").
	Term string
	// Product is an adverse event's product: its brand, or the generic name when the generic
	// belongs to several configured products.
	Product string
}

// Product is one product whose adverse events are screened for. Names match whole words,
// case-insensitively; a name may span several words ("insulin glargine").
type Product struct {
	Brand        string
	Generics     []string
	Misspellings []string
}

// Config configures a Screener. The zero Config screens personal information and crisis
// language with defaults, and no adverse events.
type Config struct {
	// Products are the products whose adverse events are reported. Default: none, and the
	// adverse-event screen reports nothing.
	Products []Product
	// Reactions are added to the built-in reaction lexicon (rash, nausea, dizziness, ...).
	Reactions []Reaction
	// AllowDomains are hosts whose links are not personal information, with their
	// subdomains: the organisation's own site, "nhs.uk", "cdc.gov". Default: none.
	AllowDomains []string
	// MinConfidence drops findings below it. Default (zero): 0.5. The corpus figures in
	// corpus_test.go are measured at the default.
	MinConfidence float64
	// NoCrisisModel leaves crisis screening to the lexicon alone (crisis_model.go): fewer
	// false alarms, far fewer crises found in wording the lexicon was not written for.
	NoCrisisModel bool
}

// DefaultMinConfidence is the MinConfidence of a zero Config.
const DefaultMinConfidence = 0.5

// Screener runs the screens. It is safe for concurrent use.
type Screener struct {
	lex       *lexicon
	minConf   float64
	pi        *personalPatterns
	allow     []string     // folded AllowDomains
	products  []string     // product key → name reported
	reactions []string     // reaction index → Term
	scans     sync.Pool    // *scan, reused between calls
	model     *crisisModel // nil with Config.NoCrisisModel
}

// Screen runs every screen over text and returns the findings sorted by Start, longer spans
// first. A finding inside another of the same kind is dropped (a phone number in a link).
func (s *Screener) Screen(text string) []Finding {
	out := s.personal(text, nil)
	if sc := s.scan(text); sc != nil {
		out = s.crisis(sc, out)
		out = s.adverse(sc, out)
		s.scans.Put(sc)
	}
	return normalize(out)
}

// Personal returns the personal-information findings in text.
func (s *Screener) Personal(text string) []Finding { return normalize(s.personal(text, nil)) }

// Crisis returns the crisis and crisis_method findings in text.
func (s *Screener) Crisis(text string) []Finding {
	sc := s.scan(text)
	if sc == nil {
		return nil
	}
	out := s.crisis(sc, nil)
	s.scans.Put(sc)
	return normalize(out)
}

// AdverseEvents returns the adverse_event findings in text.
func (s *Screener) AdverseEvents(text string) []Finding {
	sc := s.scan(text)
	if sc == nil {
		return nil
	}
	out := s.adverse(sc, nil)
	s.scans.Put(sc)
	return normalize(out)
}

// scan tokenizes text and matches the lexicon; nil if text has no words.
func (s *Screener) scan(text string) *scan {
	sc, _ := s.scans.Get().(*scan)
	if sc == nil {
		sc = &scan{}
	}
	sc.text = text
	sc.tokenize()
	if len(sc.toks) == 0 {
		s.scans.Put(sc)
		return nil
	}
	s.lex.match(sc)
	sc.summarize()
	return sc
}

// normalize sorts findings and drops those inside an earlier one of the same kind: personal
// findings count as one kind, so a phone number inside a link goes; adverse events are
// pairs, and two pairs may share a span, so they are all kept.
func normalize(fs []Finding) []Finding {
	if len(fs) < 2 {
		return fs
	}
	slices.SortFunc(fs, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(b.End, a.End),
			cmp.Compare(b.Confidence, a.Confidence), cmp.Compare(a.Category, b.Category),
			cmp.Compare(a.Product, b.Product), cmp.Compare(a.Term, b.Term))
	})
	var personalEnd, crisisEnd, methodEnd int
	out := fs[:0]
	for _, f := range fs {
		var end *int
		switch {
		case f.Category.Personal():
			end = &personalEnd
		case f.Category == Crisis:
			end = &crisisEnd
		case f.Category == CrisisMethod:
			end = &methodEnd
		}
		if end != nil {
			if f.End <= *end {
				continue
			}
			*end = f.End
		}
		out = append(out, f)
	}
	return out
}
