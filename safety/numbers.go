package safety

import (
	"strings"
	"unicode/utf8"
)

// Phone, SSN and card numbers are found by one hand-written scan for digit runs, "+44 (0)20
// 7946 0958", "555-123-4567", "123 45 6789": digit groups joined by single spaces, dots,
// hyphens or parentheses. A run's group shape then decides what it is. Doses, readings,
// ranges and times never take a phone's shape: "500 mg" is one group, "120/80" and "10:30"
// are split by characters that do not join groups, "80-120" has two groups of the wrong
// sizes, a decimal such as "6.5" is two short groups.

const (
	maxGroups    = 8
	maxRunDigits = 19
	keywordReach = 40 // bytes before a number searched for "call", "fax", "SSN"
)

type numRun struct {
	start, end int
	groups     [maxGroups]uint8
	n          int // groups
	digits     int
	plus       bool  // a leading '+' or "00": an international number
	prefix00   bool  // the "00" form, whose two zeros are not part of the number
	seps       uint8 // sepSpace | sepDash | sepDot | sepParen
}

const (
	sepSpace uint8 = 1 << iota
	sepDash
	sepDot
	sepParen
)

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlnum(c byte) bool { return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'z' }

// numbers appends the phone, SSN and card findings in text.
func numbers(text string, out []Finding) []Finding {
	for i := 0; i < len(text); {
		c := text[i]
		startsRun := isDigit(c) || (c == '+' || c == '(') && i+1 < len(text) && isDigit(text[i+1])
		if !startsRun {
			i++
			continue
		}
		r, ok := readRun(text, i)
		i = max(r.end, i+1)
		if !ok || blockedBefore(text, r.start) || blockedAfter(text, r.end) {
			continue
		}
		out = classifyRun(text, r, out)
	}
	return out
}

// readRun reads the digit run starting at i; ok is false when it has too many groups or
// digits to be any identifier (a list of readings, a pasted table).
func readRun(text string, i int) (numRun, bool) {
	r := numRun{start: i}
	j := i
	if text[j] == '+' {
		r.plus = true
		j++
	} else if strings.HasPrefix(text[j:], "00") && j+2 < len(text) && '1' <= text[j+2] && text[j+2] <= '9' {
		r.plus, r.prefix00 = true, true // "0031 6 1234 5678"
	}
	ok := true
	for {
		if j < len(text) && text[j] == '(' {
			r.seps |= sepParen
			j++
		}
		d := 0
		for j+d < len(text) && isDigit(text[j+d]) {
			d++
		}
		if d == 0 {
			break
		}
		if r.n == maxGroups || r.digits+d > maxRunDigits || d > 255 {
			ok = false
		} else {
			r.groups[r.n] = uint8(d)
			r.n++
		}
		r.digits += d
		j += d
		r.end = j
		if j < len(text) && text[j] == ')' {
			r.seps |= sepParen
			j++
			if j < len(text) && isDigit(text[j]) {
				continue // "(0)113"
			}
		}
		// A separator is 1 to 3 of " .-(" with at most one of '.' or '-', then a digit.
		k, marks := j, 0
		var seps uint8
	sep:
		for k < len(text) && k-j < 3 {
			switch text[k] {
			case ' ':
				seps |= sepSpace
			case '-':
				seps |= sepDash
				marks++
			case '.':
				seps |= sepDot
				marks++
			case '(':
				seps |= sepParen
			default:
				break sep
			}
			k++
		}
		if k == j || marks > 1 || k >= len(text) || !isDigit(text[k]) && !(text[k] == '(' && text[k-1] != '(') {
			break
		}
		if text[k-1] == '(' { // the '(' opens the next group
			k--
		}
		r.seps |= seps
		j = k
	}
	return r, ok && r.n > 0
}

// blockedBefore reports a character before i that makes the run part of something else:
// a word ("A1C", "G7"), a decimal, a fraction, money.
func blockedBefore(text string, i int) bool {
	if i == 0 {
		return false
	}
	c := text[i-1]
	if c >= utf8.RuneSelf {
		r, _ := utf8.DecodeLastRuneInString(text[:i])
		return isWordRune(r) || r == '€' || r == '£' || r == '¥'
	}
	return isAlnum(c) || c == '.' || c == ',' || c == '/' || c == '_' || c == '$' || c == '-' || c == '@' || c == '\\'
}

// blockedAfter reports a character at i that continues the run into something else: a
// word or unit ("5551234567mg"), a percentage, a fraction, a decimal.
func blockedAfter(text string, i int) bool {
	if i >= len(text) {
		return false
	}
	c := text[i]
	if c >= utf8.RuneSelf {
		r, _ := utf8.DecodeRuneInString(text[i:])
		return isWordRune(r)
	}
	if isAlnum(c) || c == '%' || c == '_' || c == '@' {
		return true
	}
	return (c == '/' || c == ',' || c == '.' || c == ':') && i+1 < len(text) && isDigit(text[i+1])
}

// classifyRun appends the finding r's shape makes, if any.
func classifyRun(text string, r numRun, out []Finding) []Finding {
	g := r.groups[:r.n]
	span := text[r.start:r.end]
	firstDigit := span[0]
	if r.plus || firstDigit == '(' {
		firstDigit = span[1]
	}
	// SSN: 3-2-4 with one kind of single separator, or 9 digits after "SSN".
	if kw, ok := keywordBefore(text, r.start, ssnKeywords); !r.plus && (ok || shape(g, 3, 2, 4)) {
		if c := ssnConfidence(text, r, ok); c > 0 {
			return append(out, Finding{Start: r.start, End: r.end, Category: SSN, Confidence: c, Term: kw})
		}
	}
	// Payment cards: 16 digits in fours or one run, 15 as 4-6-5, with a valid Luhn sum.
	if !r.plus && (r.digits == 16 && (shape(g, 4, 4, 4, 4) || r.n == 1) || r.digits == 15 && (shape(g, 4, 6, 5) || r.n == 1)) &&
		luhn(span) {
		return append(out, Finding{Start: r.start, End: r.end, Category: RecordNumber, Confidence: 0.85, Term: "card"})
	}
	kw, hasKW := keywordBefore(text, r.start, phoneKeywords)
	strong := hasKW && kw != "number"
	c := phoneConfidence(r, g, firstDigit, strong)
	if c == 0 && hasKW && shape(g, 3, 4) && r.seps&(sepDash|sepDot) != 0 && firstDigit >= '2' {
		c = 0.7 // "my number is 555-0142": a North American local number
	}
	if c == 0 {
		return out
	}
	if strong {
		c = min(c+0.07, 0.97)
	}
	return append(out, Finding{Start: r.start, End: r.end, Category: Phone, Confidence: c, Term: kw})
}

func phoneConfidence(r numRun, g []uint8, firstDigit byte, hasKW bool) float64 {
	d := r.digits
	onlyDots := r.seps&sepDot != 0 && r.seps&^sepDot == 0
	switch {
	case r.plus:
		if r.prefix00 {
			d -= 2
		}
		if d >= 8 && d <= 15 && (r.n >= 2 || d >= 10) && !(onlyDots && r.n == 4) {
			return 0.9
		}
		return 0
	case nanp(g, firstDigit):
		if r.n == 1 {
			return 0.6
		}
		return 0.9
	case firstDigit == '0' && (d == 10 || d == 11):
		if r.n == 1 {
			if d == 11 && len(g) == 1 {
				return 0.7
			}
			return 0.6
		}
		if r.n <= 5 && minGroup(g) >= 2 {
			return 0.85
		}
	case firstDigit == '0' && d == 9 && r.n >= 2 && r.n <= 4 && minGroup(g) >= 2:
		return 0.65
	case firstDigit >= '6' && shape(g, 3, 2, 2, 2):
		return 0.7
	}
	// A keyword lets looser shapes through: "call me on 555-1234", "fax 0161 496 000".
	if hasKW && d >= 7 && d <= 13 && r.n >= 2 && r.n <= 5 && minGroup(g) >= 2 && !onlyDots {
		return 0.7
	}
	return 0
}

// nanp reports a North American number: [1] NXX NXX XXXX, area code and exchange from 2-9.
func nanp(g []uint8, firstDigit byte) bool {
	ok := shape(g, 3, 3, 4) || shape(g, 1, 3, 3, 4) && firstDigit == '1' ||
		len(g) == 1 && (g[0] == 10 || g[0] == 11 && firstDigit == '1')
	return ok
}

func ssnConfidence(text string, r numRun, keyword bool) float64 {
	if r.digits != 9 || r.plus || r.seps&(sepDot|sepParen) != 0 {
		return 0
	}
	var ds [9]byte
	n := 0
	for i := r.start; i < r.end; i++ {
		if isDigit(text[i]) {
			ds[n] = text[i] - '0'
			n++
		}
	}
	area := int(ds[0])*100 + int(ds[1])*10 + int(ds[2])
	group := int(ds[3])*10 + int(ds[4])
	serial := int(ds[5])*1000 + int(ds[6])*100 + int(ds[7])*10 + int(ds[8])
	if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
		return 0
	}
	switch {
	case keyword:
		return 0.95
	case r.seps == sepDash && r.n == 3:
		return 0.85
	case r.seps == sepSpace && r.n == 3:
		return 0.7
	}
	return 0
}

func shape(g []uint8, want ...uint8) bool {
	if len(g) != len(want) {
		return false
	}
	for i := range g {
		if g[i] != want[i] {
			return false
		}
	}
	return true
}

func minGroup(g []uint8) uint8 {
	m := g[0]
	for _, x := range g[1:] {
		m = min(m, x)
	}
	return m
}

// luhn checks the card checksum over the digits of s.
func luhn(s string) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		if !isDigit(s[i]) {
			continue
		}
		d := int(s[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
