package safety

import "strings"

// Medical-record, health-plan, account and similar numbers are a keyword ("MRN", "member ID",
// "policy no.") then an identifier with at least 4 digits; the span is the identifier only,
// so "my MRN is [removed: record number]" still reads. Medicare beneficiary identifiers and
// UK National Insurance numbers have shapes specific enough to need no keyword.
//
// A full date (day, month and year) is a Safe Harbor identifier whenever it concerns a
// person, but most dates in chat are appointments and diagnoses: those are reported as
// FullDate at 0.6, so the pipeline can redact or keep them by category. Beside a birth
// keyword ("born", "DOB", "birthday") the date is DateOfBirth at 0.95, and then a day and
// month without a year count too, at 0.75. A year alone is never reported (Safe Harbor
// allows it), nor "10:30", "120/80", "80-120".

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}

// addressStopwords never appear in a street name; their presence means "2 pills on the way"
// or "5 miles down the road", not an address.
var addressStopwords = map[string]bool{
	"the": true, "a": true, "an": true, "of": true, "on": true, "in": true, "at": true, "to": true, "for": true,
	"with": true, "and": true, "or": true, "my": true, "your": true, "his": true, "her": true, "their": true,
	"our": true, "by": true, "from": true, "into": true, "per": true, "times": true, "time": true, "days": true,
	"day": true, "weeks": true, "week": true, "months": true, "month": true, "years": true, "year": true,
	"hours": true, "hrs": true, "mins": true, "minutes": true, "mg": true, "ml": true, "units": true,
	"iu": true, "mcg": true, "kg": true, "lbs": true, "lb": true, "pounds": true, "miles": true, "km": true,
	"steps": true, "pills": true, "tablets": true, "was": true, "is": true, "are": true, "be": true,
	"i": true, "me": true, "you": true, "it": true, "this": true, "that": true, "up": true, "down": true,
	"each": true, "every": true, "more": true, "less": true, "than": true, "then": true, "about": true,
	"after": true, "before": true, "over": true, "under": true, "we": true, "they": true, "kids": true,
	"people": true, "doses": true, "shots": true, "injections": true, "am": true, "pm": true,
	"mmol": true, "mg/dl": true, "percent": true, "other": true, "different": true, "separate": true,
}

// ambiguousSuffixes are ordinary words as well as street suffixes.
var ambiguousSuffixes = map[string]bool{
	"way": true, "place": true, "pl": true, "park": true, "view": true, "green": true, "walk": true,
	"rise": true, "row": true, "close": true, "hill": true, "drive": true, "dr": true, "path": true,
	"loop": true, "st": true, "court": true, "ct": true, "square": true, "sq": true, "trail": true,
	"circle": true, "estate": true, "crossing": true, "gardens": true, "grove": true, "ave": true, "av": true,
}

// addressConfidence checks the street name of an address match m (group 1) and weighs the
// suffix: 0 rejects.
func addressConfidence(text string, m []int) float64 {
	name := strings.TrimSpace(text[m[2]:m[3]])
	suffixStart := m[3]
	suffix := text[suffixStart:m[1]]
	if i := strings.IndexAny(suffix, " \t,."); i >= 0 {
		suffix = suffix[:i]
	}
	capitalised := true
	for w := range strings.FieldsSeq(name) {
		if addressStopwords[strings.ToLower(w)] {
			return 0
		}
		if c := w[0]; 'a' <= c && c <= 'z' {
			capitalised = false
		}
		if countDigits(w) == len(w) {
			return 0 // "3 4 5 st": numbers, not a street name
		}
	}
	lower := strings.ToLower(suffix)
	extended := m[1]-suffixStart > len(suffix)+1 // unit, city, state, ZIP or postcode follow
	switch {
	case ambiguousSuffixes[lower] && !capitalised:
		return 0
	case ambiguousSuffixes[lower]:
		if extended {
			return 0.85
		}
		return 0.7
	case capitalised || extended:
		return 0.9
	}
	return 0.75
}

func appendDate(out []Finding, text string, start, end int, full bool) []Finding {
	if w := birthKeyword(text, start-48, end+24); w != "" {
		c := 0.95
		if !full {
			c = 0.75
		}
		return append(out, Finding{Start: start, End: end, Category: DateOfBirth, Confidence: c, Term: w})
	}
	if !full {
		return out
	}
	return append(out, Finding{Start: start, End: end, Category: FullDate, Confidence: 0.6})
}

// numericDate validates a d/m/y, m/d/y or y-m-d match: one separator kind, a real month and
// day, a 2-digit or 1900–2099 year, and nothing dotted around it (a version, an IP).
func numericDate(text string, m []int) bool {
	if text[m[4]:m[5]] != text[m[8]:m[9]] {
		return false
	}
	if m[0] > 0 && (isDigit(text[m[0]-1]) || strings.IndexByte("./-", text[m[0]-1]) >= 0) ||
		m[1]+1 < len(text) && strings.IndexByte("./-:", text[m[1]]) >= 0 && isDigit(text[m[1]+1]) {
		return false
	}
	a, b, c := text[m[2]:m[3]], text[m[6]:m[7]], text[m[10]:m[11]]
	if len(a) == 4 { // y-m-d
		return len(c) <= 2 && validYear(a) && inRange(b, 1, 12) && inRange(c, 1, 31)
	}
	if len(a) == 3 || len(c) == 3 || len(c) == 1 || len(c) == 4 && !validYear(c) {
		return false
	}
	return inRange(a, 1, 31) && inRange(b, 1, 31) && (inRange(a, 1, 12) || inRange(b, 1, 12))
}

func validYear(y string) bool { return inRange(y, 1900, 2099) }

func inRange(s string, lo, hi int) bool { n := atoi(s); return n >= lo && n <= hi }

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s) && i < 9; i++ {
		if !isDigit(s[i]) {
			return -1
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

var birthWords = []string{"born", "dob", "d.o.b", "birth", "birthday", "birthdate", "bday", "b-day", "b'day"}

// birthKeyword is the first birth keyword in text[from:to] (clamped), or "".
func birthKeyword(text string, from, to int) string {
	from, to = max(from, 0), min(to, len(text))
	for _, w := range birthWords {
		if indexWordFold(text[from:to], w) >= 0 {
			return w
		}
	}
	return ""
}
