package rooms

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// Limits on keyword rules.
const (
	MaxRules        = 200 // per room
	MaxPatternRunes = 200
	MaxReasonRunes  = 300
	// maxRegexInsts caps a regex's compiled program. RE2 matching is linear in the text but
	// also in the program: a post can keep up to one thread per instruction alive, so
	// `[a-z]{1000}b` costs ~60 ms on a 4,000-character post (measured), against ~40 µs for
	// `\bpill\b`. Real moderation patterns compile to tens of instructions.
	maxRegexInsts = 1000
	// maxRegexRepeat caps one counted repetition ({n,m}), the usual way a short pattern
	// grows a large program.
	maxRegexRepeat = 100
)

// compiledRule is one rule ready to match. word and wildcard rules are a sequence of word
// patterns matched against consecutive words of the post; regex rules use RE2.
type compiledRule struct {
	rule   store.Rule
	rank   int // action precedence: block > hold > alert
	order  int // position among the room's rules: the oldest wins a tie
	words  []wordPat
	re     *regexp.Regexp
	filter litFilters // for re: literals a match must contain; nil = none known
	class  [][]rune   // for re without filter: small classes a match needs a rune of each
}

type wordPat struct {
	text   string // folded word, or a glob with * and ? when glob is set
	glob   bool
	prefix string // the glob's literal head and tail: cheap rejections before glob matching
	suffix string
}

// ruleSet is a room's rules compiled once per change and shared, read-only, by every post.
// Word rules are indexed by their first word, so a post costs one map lookup per word
// whatever the number of word rules; only globs that start with a wildcard and regexes are
// tried one by one.
type ruleSet struct {
	byWord    map[string][]*compiledRule // first word (folded, literal) → rules
	globFirst []*compiledRule            // rules whose first word is a glob
	regexes   []*compiledRule            // sorted by precedence, best first
	needFold  bool                       // some rule compares against the folded post
	n         int
}

func actionRank(action string) int {
	switch action {
	case store.RuleBlock:
		return 3
	case store.RuleHold:
		return 2
	case store.RuleAlert:
		return 1
	}
	return 0
}

// better reports whether a beats b (b may be nil).
func (a *compiledRule) better(b *compiledRule) bool {
	return b == nil || a.rank > b.rank || (a.rank == b.rank && a.order < b.order)
}

func ruleErr(format string, args ...any) *protocol.Error {
	return protocol.Errorf(protocol.CodeBadRequest, format, args...)
}

// compileRule checks a rule as a moderator submitted it and prepares it for matching. Its
// errors are client-facing: they say what to change.
func compileRule(r store.Rule) (*compiledRule, error) {
	rank := actionRank(r.Action)
	if rank == 0 {
		return nil, ruleErr("action must be block, hold or alert")
	}
	if strings.TrimSpace(r.Pattern) == "" {
		return nil, ruleErr("pattern is empty")
	}
	if n := utf8.RuneCountInString(r.Pattern); n > MaxPatternRunes {
		return nil, ruleErr("pattern is %d characters; the limit is %d", n, MaxPatternRunes)
	}
	if !utf8.ValidString(r.Pattern) {
		return nil, ruleErr("pattern is not valid UTF-8")
	}
	c := &compiledRule{rule: r, rank: rank}
	switch r.Kind {
	case store.RuleWord, store.RuleWildcard:
		words, err := compileWords(r.Pattern, r.Kind == store.RuleWildcard)
		if err != nil {
			return nil, err
		}
		c.words = words
	case store.RuleRegex:
		re, parsed, err := compileRegex(r.Pattern)
		if err != nil {
			return nil, err
		}
		c.re = re
		if c.filter = requiredLiterals(parsed); c.filter == nil {
			c.class = requiredClasses(parsed)
		}
	default:
		return nil, ruleErr("kind must be word, wildcard or regex")
	}
	return c, nil
}

// isWordRune is what a word is made of, in posts and patterns alike: letters, digits,
// combining marks (so an accent written as a separate code point stays in its word) and _.
// Every other character separates words, which is what makes `pill` miss `pillow` in any
// script.
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.M, r)
}

func compileWords(pattern string, wildcard bool) ([]wordPat, error) {
	folded := foldString(pattern)
	var out []wordPat
	literal := false
	var cur strings.Builder
	flush := func() {
		if cur.Len() == 0 {
			return
		}
		w := wordPat{text: cur.String()}
		if i := strings.IndexAny(w.text, "*?"); i >= 0 {
			w.glob, w.prefix = true, w.text[:i]
			w.suffix = w.text[strings.LastIndexAny(w.text, "*?")+1:]
		}
		out = append(out, w)
		cur.Reset()
	}
	for _, r := range folded {
		switch {
		case isWordRune(r):
			literal = true
			cur.WriteRune(r)
		case wildcard && (r == '*' || r == '?'):
			cur.WriteRune(r)
		case unicode.IsSpace(r) || r == '-' || r == '\'' || r == '’':
			flush()
		default:
			if wildcard {
				return nil, ruleErr("wildcard patterns hold letters, digits, spaces, hyphens, apostrophes, * and ?; %q is not allowed (use a regex rule)", r)
			}
			return nil, ruleErr("word patterns hold letters, digits, spaces, hyphens and apostrophes; %q is not allowed (use a regex rule)", r)
		}
	}
	flush()
	if !literal {
		// A pattern of wildcards alone would match nearly every post.
		return nil, ruleErr("pattern needs at least one letter or digit")
	}
	return out, nil
}

// compileRegex accepts RE2 syntax only, with a bounded program, and refuses patterns that
// match every post. It also returns the parsed pattern, from which prefilters are derived.
func compileRegex(pattern string) (*regexp.Regexp, *syntax.Regexp, error) {
	parsed, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			switch se.Code {
			case syntax.ErrInvalidEscape:
				return nil, nil, ruleErr("regex: %v (backreferences such as \\1 are not supported: patterns use RE2 syntax)", err)
			case syntax.ErrInvalidPerlOp:
				return nil, nil, ruleErr("regex: %v (look-around is not supported: patterns use RE2 syntax)", err)
			case syntax.ErrInvalidRepeatSize, syntax.ErrLarge, syntax.ErrNestingDepth:
				return nil, nil, ruleErr("regex is too large: %v", err)
			}
		}
		return nil, nil, ruleErr("regex: %v", err)
	}
	if n := largestRepeat(parsed); n > maxRegexRepeat {
		return nil, nil, ruleErr("regex is too large: a counted repeat of %d; the limit is %d", n, maxRegexRepeat)
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return nil, nil, ruleErr("regex: %v", err)
	}
	if len(prog.Inst) > maxRegexInsts {
		return nil, nil, ruleErr("regex is too large: it compiles to %d instructions; the limit is %d (avoid large counted repeats)", len(prog.Inst), maxRegexInsts)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, nil, ruleErr("regex: %v", err)
	}
	if re.MatchString("") {
		return nil, nil, ruleErr("regex matches an empty text, so it would match every post; require at least one character")
	}
	// A pattern matching any one of these unrelated characters matches virtually every post.
	everything := true
	for _, probe := range []string{"a", "Q", "7", " ", "!", "é", "字", "\n"} {
		if !re.MatchString(probe) {
			everything = false
			break
		}
	}
	if everything {
		return nil, nil, ruleErr("regex matches any character, so it would match every post")
	}
	return re, parsed, nil
}

func largestRepeat(re *syntax.Regexp) int {
	n := 0
	if re.Op == syntax.OpRepeat {
		n = max(re.Min, re.Max)
	}
	for _, sub := range re.Sub {
		n = max(n, largestRepeat(sub))
	}
	return n
}

// compileRuleSet builds the matcher for a room's rules (oldest first). A stored rule that
// no longer compiles is skipped and reported, rather than stopping every post in the room.
func compileRuleSet(rules []store.Rule) (*ruleSet, []error) {
	rs := &ruleSet{byWord: make(map[string][]*compiledRule)}
	var errs []error
	for i, r := range rules {
		c, err := compileRule(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", r.ID, err))
			continue
		}
		c.order = i
		rs.n++
		switch {
		case c.re != nil:
			rs.regexes = append(rs.regexes, c)
			rs.needFold = rs.needFold || c.filter.hasFold()
		case c.words[0].glob:
			rs.globFirst = append(rs.globFirst, c)
		default:
			rs.byWord[c.words[0].text] = append(rs.byWord[c.words[0].text], c)
		}
	}
	slices.SortFunc(rs.regexes, func(a, b *compiledRule) int {
		if a.better(b) {
			return -1
		}
		return 1
	})
	return rs, errs
}

// match returns the rule that decides text: the highest action among those that match,
// the oldest rule among equals; nil when none does.
func (rs *ruleSet) match(text string) *compiledRule {
	if rs == nil || rs.n == 0 {
		return nil
	}
	var best *compiledRule
	folded := ""
	if rs.needFold || len(rs.byWord) > 0 || len(rs.globFirst) > 0 {
		folded = foldString(text)
	}
	if len(rs.byWord) > 0 || len(rs.globFirst) > 0 {
		for i := 0; ; {
			w, next := nextWord(folded, i)
			if w == "" {
				break
			}
			for _, c := range rs.byWord[w] {
				if c.better(best) && c.wordsMatchFrom(folded, next) {
					best = c
				}
			}
			for _, c := range rs.globFirst {
				if c.better(best) && globMatch(c.words[0], w) && c.wordsMatchFrom(folded, next) {
					best = c
				}
			}
			i = next
		}
	}
	// Regexes are sorted best first, so the first that matches is the best of them, and
	// none after one that cannot beat best needs to run.
	for _, c := range rs.regexes {
		if !c.better(best) {
			break
		}
		if c.filter != nil && !c.filter.pass(text, folded) || c.class != nil && !classesPass(text, c.class) {
			continue
		}
		if c.re.MatchString(text) {
			return c
		}
	}
	return best
}

// wordsMatchFrom matches the rule's words after the first against the words of folded
// that follow byte offset i.
func (c *compiledRule) wordsMatchFrom(folded string, i int) bool {
	for _, p := range c.words[1:] {
		w, next := nextWord(folded, i)
		if w == "" || !globMatch(p, w) {
			return false
		}
		i = next
	}
	return true
}

// nextWord returns the first word of s at or after byte offset i and the offset after it;
// "" when there is none.
func nextWord(s string, i int) (string, int) {
	start := -1
	for i < len(s) {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
		} else if start >= 0 {
			return s[start:i], i
		}
		i += size
	}
	if start >= 0 {
		return s[start:], len(s)
	}
	return "", len(s)
}

// globMatch matches one word against a word pattern: * is any run of word characters
// (including none), ? exactly one. The single-backtrack-point algorithm keeps it linear for
// the patterns moderators write.
func globMatch(p wordPat, w string) bool {
	if !p.glob {
		return p.text == w
	}
	if !strings.HasPrefix(w, p.prefix) || !strings.HasSuffix(w, p.suffix) {
		return false
	}
	pat, s := p.text[len(p.prefix):], w[len(p.prefix):]
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(pat) {
			switch pat[pi] {
			case '*':
				starP, starS = pi, si
				pi++
				continue
			case '?':
				_, size := utf8.DecodeRuneInString(s[si:])
				pi, si = pi+1, si+size
				continue
			default:
				pr, psize := utf8.DecodeRuneInString(pat[pi:])
				sr, ssize := utf8.DecodeRuneInString(s[si:])
				if pr == sr {
					pi, si = pi+psize, si+ssize
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last * swallow one more rune and retry from there.
		_, size := utf8.DecodeRuneInString(s[starS:])
		starS += size
		pi, si = starP+1, starS
	}
	for pi < len(pat) && pat[pi] == '*' {
		pi++
	}
	return pi == len(pat)
}
