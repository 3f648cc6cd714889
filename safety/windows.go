package safety

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Addresses, dates, record numbers, postcodes and the like contain spaces. Their anchored
// patterns run on a short window from a word start that could begin one: a digit, a month
// name, a record keyword, an uppercase letter. A cheap lead check comes first, so most word
// starts run no pattern at all.

// Window lengths in bytes: longer than the longest match each pattern can make.
const (
	addressWindow = 160
	dateWindow    = 40
	recordWindow  = 96
	shortWindow   = 24
)

func (s *Screener) windows(text string, st textStats, out []Finding) []Finding {
	p := s.pi
	birth := -1                         // whether text has a birth keyword: -1 not known yet
	var nextAddr, nextDate, nextRec int // candidates inside an earlier match are skipped
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !isAlnum(c) || !wordStart(text, i) {
			continue
		}
		if isDigit(c) {
			if i >= nextAddr && addressLead(text, i, p.suffixes) {
				m := matchAt(p.address, text, i, addressWindow)
				conf := 0.0
				if m != nil {
					conf = addressConfidence(text, m)
				}
				if conf == 0 { // "77 harbour view terrace": the shortest street name was an ordinary word
					if m = matchAt(p.addressGreedy, text, i, addressWindow); m != nil {
						conf = addressConfidence(text, m)
					}
				}
				if conf > 0 {
					out = append(out, Finding{Start: m[0], End: m[1], Category: Address, Confidence: conf})
					nextAddr = m[1]
				}
			}
			if i >= nextDate && dateLead(text, i) {
				out, nextDate = s.dateAt(text, i, &birth, out, nextDate)
			}
			if st.upper && i+1 < len(text) && isUpper(text[i+1]) {
				out = appendAt(out, p.mbi, text, i, shortWindow, RecordNumber, 0.8)
			}
			continue
		}
		if i >= nextDate && monthDateLead(text, i) {
			out, nextDate = s.dateAt(text, i, &birth, out, nextDate)
		}
		if st.digits >= 4 && i >= nextRec && recordLead(text, i) {
			if m := matchAt(p.record, text, i, recordWindow); m != nil && countDigits(text[m[4]:m[5]]) >= 4 {
				end := m[5]
				for end > m[4] && (text[end-1] == ' ' || text[end-1] == '-') {
					end--
				}
				out = append(out, Finding{Start: m[4], End: end, Category: RecordNumber, Confidence: 0.95,
					Term: text[m[2]:m[3]]})
				nextRec = end
			}
		}
		switch lowerASCII(c) {
		case 'p':
			out = appendAt(out, p.poBox, text, i, shortWindow, Address, 0.85)
			out = s.zipAt(text, i, out)
		case 'z':
			out = s.zipAt(text, i, out)
		}
		if isUpper(c) {
			out = s.upperAt(text, i, out)
		}
	}
	return out
}

// wordStart reports that no letter or digit comes just before text[i].
func wordStart(text string, i int) bool {
	if i == 0 {
		return true
	}
	if c := text[i-1]; c < utf8.RuneSelf {
		return !isAlnum(c)
	}
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return !isWordRune(r)
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

// matchAt runs the anchored re on the window of n bytes at i, widened to the end of a word,
// and returns the submatch offsets in text, or nil.
func matchAt(re *regexp.Regexp, text string, i, n int) []int {
	end := min(i+n, len(text))
	for k := 0; k < 64 && end < len(text) && isAlnum(text[end]); k++ {
		end++
	}
	m := re.FindStringSubmatchIndex(text[i:end])
	for k := range m {
		if m[k] >= 0 {
			m[k] += i
		}
	}
	return m
}

func appendAt(out []Finding, re *regexp.Regexp, text string, i, n int, c Category, conf float64) []Finding {
	if m := matchAt(re, text, i, n); m != nil {
		out = append(out, Finding{Start: m[0], End: m[1], Category: c, Confidence: conf})
	}
	return out
}

// addressLead: 1–5 digits, an optional letter or "-12", then a street suffix within the
// next five words.
func addressLead(text string, i int, suffixes map[string]bool) bool {
	j := i
	for j < len(text) && j-i <= 5 && isDigit(text[j]) {
		j++
	}
	if j-i > 5 {
		return false
	}
	for j < len(text) && (isAlnum(text[j]) || text[j] == '-' || text[j] == '/' || text[j] == ',') && j-i < 14 {
		j++
	}
	for words := 0; words < 6; words++ {
		if j >= len(text) || text[j] != ' ' && text[j] != '\t' {
			return false
		}
		for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
			j++
		}
		var w [12]byte
		n := 0
		for ; j < len(text) && (isAlnum(text[j]) || text[j] == '\'' || text[j] == '.' || text[j] == '-'); j++ {
			if n < len(w) {
				w[n] = lowerASCII(text[j])
			}
			n++
		}
		if n == 0 {
			return false
		}
		if words > 0 {
			word := w[:min(n, len(w))]
			if word[len(word)-1] == '.' {
				word = word[:len(word)-1]
			}
			if n <= len(w) && suffixes[string(word)] {
				return true
			}
		}
		if j < len(text) && text[j] == ',' {
			return false
		}
	}
	return false
}

// dateLead: "12/03/1985", "2024-01-15", "3rd of March", "3 Mar" at i.
func dateLead(text string, i int) bool {
	j := i
	for j < len(text) && isDigit(text[j]) {
		j++
	}
	if j-i > 4 || j >= len(text) {
		return false
	}
	if c := text[j]; c == '/' || c == '.' || c == '-' { // d/m/y: the same separator twice
		k := j + 1
		for k < len(text) && k-j <= 3 && isDigit(text[k]) {
			k++
		}
		return k-j >= 2 && k-j <= 3 && k+1 < len(text) && text[k] == c && isDigit(text[k+1])
	}
	if j-i > 2 {
		return false
	}
	for j < len(text) && j-i < 6 && 'a' <= text[j]|0x20 && text[j]|0x20 <= 'z' { // ordinal
		j++
	}
	for j < len(text) && (text[j] == ' ' || text[j] == '\t' || text[j] == '-') {
		j++
	}
	if j+3 <= len(text) && strings.EqualFold(text[j:j+2], "of") && (text[j+2] == ' ' || text[j+2] == '\t') {
		for j += 2; j < len(text) && (text[j] == ' ' || text[j] == '\t'); j++ {
		}
	}
	return monthLead(text, j)
}

// monthLead: a word whose first three letters begin a month name.
func monthLead(text string, i int) bool {
	if i+3 > len(text) {
		return false
	}
	var w [3]byte
	for k := range w {
		w[k] = lowerASCII(text[i+k])
	}
	switch string(w[:]) {
	case "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec":
		return true
	}
	return false
}

// monthDateLead: "March 3", "Mar. 3rd" at i.
func monthDateLead(text string, i int) bool {
	if !monthLead(text, i) {
		return false
	}
	j := i + 3
	for j < len(text) && 'a' <= text[j]|0x20 && text[j]|0x20 <= 'z' {
		j++
	}
	if j < len(text) && text[j] == '.' {
		j++
	}
	k := j
	for k < len(text) && (text[k] == ' ' || text[k] == '\t' || text[k] == '-') {
		k++
	}
	return k > j && k < len(text) && isDigit(text[k])
}

// recordLeads are the beginnings of the record keywords of personalPatterns.record, by
// first letter.
var recordLeads = [26][]string{
	'a' - 'a': {"acc"}, 'b' - 'a': {"bene"}, 'c' - 'a': {"case", "chi", "claim", "cert"}, 'g' - 'a': {"group"},
	'h' - 'a': {"hosp", "health"}, 'i' - 'a': {"id", "insu"}, 'l' - 'a': {"lice"}, 'm' - 'a': {"mrn", "medic", "memb"},
	'n' - 'a': {"nhs"}, 'p' - 'a': {"pati", "poli", "plan", "pres"}, 'r' - 'a': {"rec", "ref", "rx"},
	's' - 'a': {"subs"}, 'u' - 'a': {"unit"},
}

func recordLead(text string, i int) bool {
	c := lowerASCII(text[i])
	if c < 'a' || c > 'z' {
		return false
	}
	for _, l := range recordLeads[c-'a'] {
		if len(text)-i >= len(l) && strings.EqualFold(text[i:i+len(l)], l) {
			return true
		}
	}
	return false
}

// dateAt appends a date starting at i, if any, and returns the new nextDate.
func (s *Screener) dateAt(text string, i int, birth *int, out []Finding, next int) ([]Finding, int) {
	p := s.pi
	if isDigit(text[i]) {
		if m := matchAt(p.numDate, text, i, dateWindow); m != nil {
			if numericDate(text, m) {
				return appendDate(out, text, m[0], m[1], true), m[1]
			}
			return out, next
		}
	}
	if m := matchAt(p.textDate, text, i, dateWindow); m != nil {
		day := m[2:4]
		if day[0] < 0 {
			day = m[6:8]
		}
		if inRange(text[day[0]:day[1]], 1, 31) {
			return appendDate(out, text, m[0], m[1], true), m[1]
		}
	}
	if *birth < 0 {
		*birth = 0
		if birthKeyword(text, 0, len(text)) != "" {
			*birth = 1
		}
	}
	if *birth == 1 {
		if m := matchAt(p.partialDate, text, i, dateWindow); m != nil {
			return appendDate(out, text, m[0], m[1], false), m[1]
		}
	}
	return out, next
}

// zipAt appends a ZIP code after "zip", "zip code", "postcode".
func (s *Screener) zipAt(text string, i int, out []Finding) []Finding {
	if m := matchAt(s.pi.zip, text, i, dateWindow); m != nil && m[2] >= 0 {
		out = append(out, Finding{Start: m[2], End: m[3], Category: Address, Confidence: 0.8})
	}
	return out
}

// upperAt appends what starts with an uppercase letter: a UK postcode, a National Insurance
// number, a US state and ZIP code ("IL 62704").
func (s *Screener) upperAt(text string, i int, out []Finding) []Finding {
	p := s.pi
	if i+1 < len(text) && (isUpper(text[i+1]) || isDigit(text[i+1])) {
		out = appendAt(out, p.postcode, text, i, shortWindow, Address, 0.8)
		if isUpper(text[i+1]) {
			if m := matchAt(p.niNumber, text, i, shortWindow); m != nil {
				switch text[i : i+2] {
				case "BG", "GB", "NK", "KN", "TN", "NT", "ZZ":
				default:
					out = append(out, Finding{Start: m[0], End: m[1], Category: SSN, Confidence: 0.85})
				}
			}
			if m := matchAt(p.zip, text, i, shortWindow); m != nil && m[4] >= 0 {
				out = append(out, Finding{Start: m[4], End: m[5], Category: Address, Confidence: 0.8})
			}
		}
	}
	return out
}
