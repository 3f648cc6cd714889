package safety

import (
	"net/netip"
	"regexp"
	"strings"
)

// Emails, links and IP addresses hold no spaces: their patterns run only on the
// whitespace-delimited chunk around a trigger ('@', a '.' between word characters, a ':').
// Chunks do not overlap, so every byte is matched by each pattern at most once.

// textStats are cheap facts about a text that let the screen skip patterns that cannot match.
type textStats struct {
	digits int
	upper  bool // an uppercase ASCII letter
}

func statsOf(text string) textStats {
	var st textStats
	for i := 0; i < len(text); i++ {
		if c := text[i]; isDigit(c) {
			st.digits++
		} else if 'A' <= c && c <= 'Z' {
			st.upper = true
		}
	}
	return st
}

// personal appends the personal-information findings in text.
func (s *Screener) personal(text string, out []Finding) []Finding {
	st := statsOf(text)
	if hasObfuscatedEmail(text) {
		for _, m := range s.pi.obfEmail.FindAllStringIndex(text, -1) {
			out = append(out, Finding{Start: m[0], End: m[1], Category: Email, Confidence: 0.8})
		}
	}
	for i := 0; i < len(text); i++ {
		if !chunkTrigger(text, i) {
			continue
		}
		a, b := i, i+1
		for a > 0 && !isSpace(text[a-1]) {
			a--
		}
		for b < len(text) && !isSpace(text[b]) {
			b++
		}
		out = s.chunk(text, a, b, out)
		i = b
	}
	if st.digits == 0 {
		return out
	}
	if st.digits >= 7 {
		out = numbers(text, out)
	}
	return s.windows(text, st, out)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func chunkTrigger(text string, i int) bool {
	switch text[i] {
	case '@':
		return true
	case '.':
		return i > 0 && i+1 < len(text) && isAlnum(text[i-1]) && isAlnum(text[i+1])
	case ':':
		return i+1 < len(text) && (text[i+1] == '/' || text[i+1] == ':' || isHex(text[i+1]) && i > 0 && isHex(text[i-1]))
	}
	return false
}

func isHex(c byte) bool { return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'f' }

// chunk appends the emails, links and IP addresses in text[a:b].
func (s *Screener) chunk(text string, a, b int, out []Finding) []Finding {
	c := text[a:b]
	var at, web bool
	var dots, colons int
	for i := 0; i < len(c); i++ {
		switch c[i] {
		case '@':
			at = true
		case '.':
			dots++
			web = web || i+1 < len(c) && i > 0 && isAlnum(c[i-1]) && isAlnum(c[i+1]) && !isDigit(c[i+1])
		case ':':
			colons++
			web = web || strings.HasPrefix(c[i:], "://")
		}
	}
	if at {
		out = appendAll(out, s.pi.email, text, a, b, Email, 0.95)
	}
	if web {
		out = s.urls(s.pi.url, text, a, b, 0.85, out)
		out = s.urls(s.pi.bareURL, text, a, b, 0.75, out)
	}
	if dots >= 3 {
		out = ipv4s(s.pi.ipv4, text, a, b, out)
	}
	if colons >= 2 {
		out = ipv6s(s.pi.ipv6, text, a, b, out)
	}
	return out
}

// appendAll appends every match of re in text[a:b].
func appendAll(out []Finding, re *regexp.Regexp, text string, a, b int, c Category, conf float64) []Finding {
	for _, m := range re.FindAllStringIndex(text[a:b], -1) {
		out = append(out, Finding{Start: a + m[0], End: a + m[1], Category: c, Confidence: conf})
	}
	return out
}

var obfuscationHints = []string{"[at]", "(at)", "{at}", "<at>", " dot ", "[dot]", "(dot)"}

// hasObfuscatedEmail reports a hint of "jane [at] example [dot] com" in one pass.
func hasObfuscatedEmail(text string) bool {
	for i := 0; i < len(text); i++ {
		if c := text[i]; c != ' ' && c != '[' && c != '(' && c != '{' && c != '<' {
			continue
		}
		if i+1 == len(text) || lowerASCII(text[i+1]) != 'a' && lowerASCII(text[i+1]) != 'd' {
			continue
		}
		for _, h := range obfuscationHints {
			if h[0] == text[i] && len(text)-i >= len(h) && strings.EqualFold(text[i:i+len(h)], h) {
				return true
			}
		}
	}
	return false
}

// urls appends the links re finds in text[a:b], except those to AllowDomains. A link keeps
// balanced parentheses and loses trailing punctuation: "(see example.org/a_(b))." ends at "b)".
func (s *Screener) urls(re *regexp.Regexp, text string, a, b int, conf float64, out []Finding) []Finding {
	for _, m := range re.FindAllStringIndex(text[a:b], -1) {
		start := a + m[0]
		end := trimURL(text, start, a+m[1])
		if start > 0 && (text[start-1] == '@' || text[start-1] == '.' || text[start-1] == '/') {
			continue // part of an email address or of a longer link
		}
		if end <= start || s.allowed(hostOf(text[start:end])) {
			continue
		}
		out = append(out, Finding{Start: start, End: end, Category: URL, Confidence: conf})
	}
	return out
}

func trimURL(text string, start, end int) int {
	for end > start {
		switch text[end-1] {
		case '.', ',', ';', ':', '!', '?', '\'', '"', ']', '*':
			end--
			continue
		case ')':
			if strings.Count(text[start:end], "(") < strings.Count(text[start:end], ")") {
				end--
				continue
			}
		}
		break
	}
	return end
}

// hostOf is the host of a link: after any scheme and user, before any port, path, query or
// fragment.
func hostOf(link string) string {
	if i := strings.Index(link, "://"); i >= 0 {
		link = link[i+3:]
	}
	if i := strings.IndexAny(link, "/?#"); i >= 0 {
		link = link[:i]
	}
	if i := strings.LastIndexByte(link, '@'); i >= 0 {
		link = link[i+1:]
	}
	if i := strings.IndexByte(link, ':'); i >= 0 {
		link = link[:i]
	}
	return link
}

func (s *Screener) allowed(host string) bool {
	for _, d := range s.allow {
		if len(host) == len(d) && strings.EqualFold(host, d) ||
			len(host) > len(d) && host[len(host)-len(d)-1] == '.' && strings.EqualFold(host[len(host)-len(d):], d) {
			return true
		}
	}
	return false
}

func ipv4s(re *regexp.Regexp, text string, a, b int, out []Finding) []Finding {
	for _, m := range re.FindAllStringIndex(text[a:b], -1) {
		start, end := a+m[0], a+m[1]
		if start > 0 && (text[start-1] == '.' || isAlnum(text[start-1])) ||
			end+1 < len(text) && (text[end] == '.' || text[end] == '-') && isAlnum(text[end+1]) {
			continue // a longer dotted number: a version, an OID
		}
		if _, ok := keywordBefore(text, start, versionKeywords); ok {
			continue
		}
		out = append(out, Finding{Start: start, End: end, Category: IPAddress, Confidence: 0.9})
	}
	return out
}

func ipv6s(re *regexp.Regexp, text string, a, b int, out []Finding) []Finding {
	for _, m := range re.FindAllStringIndex(text[a:b], -1) {
		start, end := a+m[0], a+m[1]
		for end > start && (text[end-1] == '.' || text[end-1] == ':' && (end-start < 2 || text[end-2] != ':')) {
			end--
		}
		if start > 0 && (isAlnum(text[start-1]) || text[start-1] == ':') || end < len(text) && isAlnum(text[end]) {
			continue
		}
		ip, err := netip.ParseAddr(text[start:end])
		if err != nil || !ip.Is6() || hexDigits(text[start:end]) < 4 {
			continue // "::", "::1" and the like identify nobody
		}
		out = append(out, Finding{Start: start, End: end, Category: IPAddress, Confidence: 0.9})
	}
	return out
}

func hexDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isHex(s[i]) {
			n++
		}
	}
	return n
}
