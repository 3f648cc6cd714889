package safety

import (
	"regexp"
	"strings"
)

// personalPatterns are the regular expressions of the personal-information screen,
// compiled once by New. RE2 semantics: matching is linear in the text.
// Patterns of words with spaces (addresses, dates, records) are anchored with ^ and run only
// on a short window from a candidate word start (windows.go); those of space-free tokens
// (emails, links, IP addresses) run on the whitespace-delimited chunk around a trigger
// character. Either way no pattern runs over the whole of a long post, and each byte is
// looked at by a bounded number of patterns.
type personalPatterns struct {
	email, obfEmail, url, bareURL, ipv4, ipv6 *regexp.Regexp
	record, mbi, niNumber                     *regexp.Regexp
	address, addressGreedy, poBox, postcode   *regexp.Regexp
	zip                                       *regexp.Regexp
	suffixes                                  map[string]bool // street suffixes, for addressLead
	numDate, textDate, partialDate            *regexp.Regexp
}

const (
	tlds = `com|org|net|edu|gov|mil|int|io|co|uk|us|ca|au|nz|ie|de|fr|nl|be|es|it|ch|at|se|no|dk|fi|pl|pt|` +
		`in|info|biz|me|ly|app|dev|health|care|clinic|link|site|online|blog|page|tv|ai|xyz|club|shop`
	hostLabel = `[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?`
	months    = `jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|` +
		`sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?`
	ordinal = `(?:st|nd|rd|th)?`
	// Street suffixes. Those that are also ordinary words ("way", "place", "park", "drive")
	// need a capitalised street name; see addressConfidence.
	suffixes = `street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|way|` +
		`terrace|ter|close|crescent|cres|circle|cir|highway|hwy|parkway|pkwy|square|sq|trail|trl|` +
		`row|mews|gardens|gdns|grove|hill|park|walk|rise|green|view|parade|alley|path|pike|loop|plaza|` +
		`broadway|wynd|crossing|xing|estate`
)

func compilePersonal() (*personalPatterns, error) {
	p := personalPatterns{suffixes: map[string]bool{}}
	for _, s := range strings.Split(suffixes, "|") {
		p.suffixes[s] = true
	}
	var err error
	must := func(expr string) *regexp.Regexp {
		re, e := regexp.Compile(expr)
		if e != nil && err == nil {
			err = e
		}
		return re
	}
	p.email = must(`(?i)[a-z0-9][a-z0-9._%+\-]{0,63}@` + hostLabel + `(?:\.` + hostLabel + `)*\.[a-z]{2,24}\b`)
	p.obfEmail = must(`(?i)\b[a-z0-9][a-z0-9._\-]{0,63}(?:\s(?:dot|\[dot\]|\(dot\))\s[a-z0-9][a-z0-9_\-]{0,63}){0,3}\s*(?:\[at\]|\(at\)|\{at\}|<at>|\sat\s)\s*` + hostLabel +
		`\s*(?:\[dot\]|\(dot\)|\{dot\}|<dot>|\sdot\s|\.)\s*(?:` + tlds + `)\b`)
	p.url = must(`(?i)\b(?:https?://|ftp://|www\.)[^\s<>"'{}|\\^` + "`" + `]+`)
	p.bareURL = must(`(?i)\b` + hostLabel + `(?:\.` + hostLabel + `)*\.(?:(?:` + tlds + `)\b(?:[/?#][^\s<>"']*)?|` +
		`[a-z]{2,24}/[^\s<>"']+)`) // any top-level domain when a path follows: "linktr.ee/sam"
	p.ipv4 = must(`\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b`)
	p.ipv6 = must(`(?i)[0-9a-f]{0,4}:[0-9a-f]{0,4}:[0-9a-f:.]{0,41}`)
	p.record = must(anchored(`(?i)\b(mrn|medical[ \-]records?(?: number| no\.?| num| #)?|(?:hospital|patient|nhs|chi|unit|` +
		`case|claim|record|reference|ref|account|acct|policy|group|plan|subscriber|member(?:ship)?|insurance|` +
		`insurer|medicare|medicaid|beneficiary|health[ \-]?(?:plan|card|insurance)|id|identification|` +
		`prescription|rx|certificate|license|licence)(?: (?:id|number|no|num|#))?)\.?[ \t]*[#:=\-]?[ \t]*` +
		`(?:(?:is|was|are)[ \t]+)?[#:]?[ \t]*([a-z]{0,4}[\-]?\d[a-z0-9]*(?:[\- ]\d[a-z0-9]*){0,4})\b`))
	p.mbi = must(anchored(`\b[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d-?[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d-?` +
		`[AC-HJKMNP-RT-Y]{2}\d{2}\b`))
	p.niNumber = must(anchored(`\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b`))
	p.address = must(anchored(`(?i)\b\d{1,5}[a-z]?(?:[\-/]\d{1,5}[a-z]?)?,?[ \t]+((?:[a-z0-9][a-z0-9'’.\-]*[ \t]+){1,4}?)(?:` +
		suffixes + `)\b\.?` +
		`(?:,?[ \t]+(?:apt|apartment|unit|suite|ste|flat|floor|#)\.?[ \t]*#?[a-z0-9\-]{1,6}\b)?` +
		`(?-i:(?:,[ \t]*[A-Z][a-z]+(?:[ \-][A-Z][a-z]+){0,2})?(?:,?[ \t]+[A-Z]{2})?(?:,?[ \t]+\d{5}(?:-\d{4})?)?` +
		`(?:,?[ \t]+[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2})?)`))
	p.addressGreedy = must(strings.Replace(p.address.String(), "{1,4}?", "{1,4}", 1))
	p.poBox = must(anchored(`(?i)\bp\.?[ \t]?o\.?[ \t]*box[ \t]+\d{1,6}\b`))
	p.postcode = must(anchored(`\b(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?|GIR)[ \t]?\d[ABD-HJLNP-UW-Z]{2}\b`))
	p.zip = must(anchored(`(?i)\b(?:zip|zip[ \-]?code|postal[ \-]code|postcode)[ \t:#]*(?:is[ \t]+)?(\d{5}(?:-\d{4})?)\b|` +
		`(?-i:\b(?:` + usStates + `),?[ \t]+(\d{5}(?:-\d{4})?))\b`))
	p.numDate = must(anchored(`\b(\d{1,4})([/.\-])(\d{1,2})([/.\-])(\d{2,4})\b`))
	p.textDate = must(anchored(`(?i)\b(?:(\d{1,2})` + ordinal + `(?:[ \t]+of)?[ \t\-]+(?:` + months + `)\.?,?[ \t\-]+(\d{4}|'\d{2})|` +
		`(?:` + months + `)\.?[ \t\-]+(\d{1,2})` + ordinal + `,?[ \t]+(\d{4}))\b`))
	p.partialDate = must(anchored(`(?i)\b(?:\d{1,2}` + ordinal + `(?:[ \t]+of)?[ \t]+(?:` + months + `)|(?:` + months + `)\.?[ \t]+\d{1,2}` +
		ordinal + `)\b`))
	return &p, err
}

// anchored makes expr match only at the start of its window.
func anchored(expr string) string { return "^(?:" + expr + ")" }

const usStates = `AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|` +
	`NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR`
