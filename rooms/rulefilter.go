package rooms

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// foldRune maps r to one representative of its simple case-folding orbit (the smallest
// rune in it), the equivalence RE2's (?i) uses: 'k', 'K' and the Kelvin sign all become
// 'K', 's', 'S' and 'ſ' all become 'S'. Folding post and pattern alike this way makes
// case-insensitive comparison a plain string comparison that no look-alike case escapes.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			return r - ('a' - 'A')
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}

// foldString folds every rune of s (see foldRune); rune count and order are unchanged.
func foldString(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf && (s[i] < 'a' || s[i] > 'z') {
		i++
	}
	if i == len(s) {
		return s // nothing to fold: no allocation
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		if r < utf8.RuneSelf {
			b.WriteByte(byte(foldRune(r)))
		} else {
			b.WriteRune(foldRune(r))
		}
	}
	return b.String()
}

// litFilter is a cheap necessary condition for a regex to match: at least one of these
// literals occurs in the post. Most moderation regexes contain words ("telegram",
// "myself", "@"), and substring searches for them are far cheaper than running the regex,
// which then runs only on the few posts that pass every filter it has.
type litFilter []lit

type lit struct {
	text string // folded when fold is set
	fold bool   // compare against the folded post
}

// pass reports whether the post (and its folded form) might match.
func (f litFilter) pass(text, folded string) bool {
	for _, l := range f {
		if l.fold && strings.Contains(folded, l.text) || !l.fold && strings.Contains(text, l.text) {
			return true
		}
	}
	return false
}

// score orders filters by selectivity: the shortest literal a post must contain.
func (f litFilter) score() int {
	s := 1 << 30
	for _, l := range f {
		s = min(s, utf8.RuneCountInString(l.text))
	}
	return s
}

// litFilters are all required: a post must pass each.
type litFilters []litFilter

func (fs litFilters) pass(text, folded string) bool {
	for _, f := range fs {
		if !f.pass(text, folded) {
			return false
		}
	}
	return true
}

func (fs litFilters) hasFold() bool {
	for _, f := range fs {
		for _, l := range f {
			if l.fold {
				return true
			}
		}
	}
	return false
}

func (fs litFilters) best() litFilter {
	var b litFilter
	for _, f := range fs {
		if b == nil || f.score() > b.score() {
			b = f
		}
	}
	return b
}

// requiredLiterals derives filters from a parsed regex, or nil when every post could
// match as far as literals tell (then the regex always runs). It must never reject a post
// the regex would match: each case below keeps only literals every match contains.
func requiredLiterals(re *syntax.Regexp) litFilters {
	switch re.Op {
	case syntax.OpLiteral:
		fold := re.Flags&syntax.FoldCase != 0
		var b strings.Builder
		for _, r := range re.Rune {
			if fold {
				r = foldRune(r)
			}
			b.WriteRune(r)
		}
		return litFilters{{{text: b.String(), fold: fold}}}
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiterals(re.Sub[0])
		}
	case syntax.OpConcat:
		// Every part is required.
		var all litFilters
		for _, sub := range re.Sub {
			all = append(all, requiredLiterals(sub)...)
		}
		slices.SortStableFunc(all, func(a, b litFilter) int { return b.score() - a.score() })
		return all
	case syntax.OpAlternate:
		// Some branch is required: a post must contain a literal of one of them.
		var union litFilter
		for _, sub := range re.Sub {
			f := requiredLiterals(sub).best()
			if f == nil {
				return nil
			}
			union = append(union, f...)
		}
		return litFilters{union}
	}
	return nil
}

// requiredClasses returns small character classes (lo, hi rune pairs) each of which some
// rune of every match belongs to: `\d{3}-\d{4}` needs a digit, and a post without one is
// passed over at a few nanoseconds a rune instead of the regex's tens.
func requiredClasses(re *syntax.Regexp) [][]rune {
	switch re.Op {
	case syntax.OpCharClass:
		if len(re.Rune) <= 2*maxFilterRanges && classSize(re.Rune) <= maxFilterRunes {
			return [][]rune{re.Rune}
		}
	case syntax.OpCapture, syntax.OpPlus:
		return requiredClasses(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredClasses(re.Sub[0])
		}
	case syntax.OpConcat:
		var all [][]rune
		for _, sub := range re.Sub {
			all = append(all, requiredClasses(sub)...)
		}
		return all
	}
	return nil
}

// A class filter is only worth it while it is small: testing a rune against it must stay
// far cheaper than a regex step, and a class most runes belong to filters nothing.
const (
	maxFilterRanges = 8
	maxFilterRunes  = 256
)

func classSize(ranges []rune) int {
	n := 0
	for i := 0; i+1 < len(ranges); i += 2 {
		n += int(ranges[i+1]-ranges[i]) + 1
	}
	return n
}

func classesPass(text string, classes [][]rune) bool {
	for _, c := range classes {
		if !classPass(text, c) {
			return false
		}
	}
	return true
}

func classPass(text string, ranges []rune) bool {
	for _, r := range text {
		for i := 0; i+1 < len(ranges); i += 2 {
			if ranges[i] <= r && r <= ranges[i+1] {
				return true
			}
		}
	}
	return false
}
