package safety

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The lexicon screens (crisis, adverse events) work on words, not bytes: the text is split
// once into folded tokens with sentence and clause numbers, and every lexicon is a trie over
// those tokens. Phrase matching is then a walk of at most maxPhrase tokens from each token,
// linear in the text, and spelling variants ("light-headed", "light headed", "Light Headed")
// collapse to one token sequence.

// token is one word of the text.
type token struct {
	start, end int    // byte span in the text
	lo, hi     int    // the folded word in scan.buf
	sent       int    // index into scan.sents
	clause     int    // clause number: sentences split further at , ; : ( ) and "but"
	marks      uint32 // marker bits of the marker phrases covering this token
	cues       uint32 // cue bits of the cue phrases covering this token (crisis_means.go)
	num        bool   // digits only (with inner . or ,): also matches numberWord
}

// sentence is a run of tokens ended by . ! ? or a line break.
type sentence struct {
	first, last int                   // token indexes [first, last)
	marks       uint32                // union of its tokens' marks
	cues        uint32                // union of its tokens' cues
	tokMarks    uint32                // union of its tokens' marks (marks also has bits set by code)
	counts      [len(countBits)]int32 // tokens with each of countBits (summarize)
	dechal      int32                 // tokens marked mDechallenge
	question    bool                  // ended by '?'
	crisis      float64               // best crisis confidence reported in it (crisis.go)
}

// scan is the per-call working state of the lexicon screens.
type scan struct {
	text    string
	buf     []byte // folded words, back to back
	toks    []token
	sents   []sentence
	matches []match
	// adverse.go
	prods, reacts []occ
	pairs         []pair
	rbest         []int
	// summarize
	cues      uint32 // union of every sentence's cues
	recovered bool   // a sentence with no negation tells a recovery (cRecovered)
	// crisis_model.go
	feats []uint32
}

// word is the folded form of token i.
func (sc *scan) word(i int) []byte { return sc.buf[sc.toks[i].lo:sc.toks[i].hi] }

// numberWord in a lexicon phrase matches any number, so phrases can say "# pills".
const numberWord = "#"

// isClauseWord lists words that open a new clause for negation scope.
func isClauseWord(w []byte) bool {
	switch string(w) {
	case "but", "although", "though", "however", "yet", "except":
		return true
	}
	return false
}

// tokenize splits sc.text into tokens. Letters, digits and marks make words; an apostrophe
// between letters stays in the word (can't, friend's), folded to '\”; a number keeps its
// inner '.' and ',' (6.5, 1,000) and is marked num.
func (sc *scan) tokenize() {
	text := sc.text
	sc.buf = sc.buf[:0]
	sc.toks = sc.toks[:0]
	sc.sents = sc.sents[:0]
	clause := 0
	sentFirst := 0
	endSentence := func(question bool) {
		if len(sc.toks) > sentFirst {
			sc.sents = append(sc.sents, sentence{first: sentFirst, last: len(sc.toks), question: question})
			sentFirst = len(sc.toks)
		} else if question && len(sc.sents) > 0 {
			sc.sents[len(sc.sents)-1].question = true
		}
		clause++
	}
	for i := 0; i < len(text); {
		r, n := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(text[i:])
		}
		if !isWordRune(r) {
			switch r {
			case '.', '!', '?', '\n', '\r', '…':
				endSentence(r == '?')
			case ',', ';', ':', '(', ')', '"', '–', '—', '“', '”':
				clause++
			}
			i += n
			continue
		}
		start, lo := i, len(sc.buf)
		digits := true
		for i < len(text) {
			r, n = rune(text[i]), 1
			if r >= utf8.RuneSelf {
				r, n = utf8.DecodeRuneInString(text[i:])
			}
			if isWordRune(r) {
				digits = digits && '0' <= r && r <= '9'
				sc.buf = appendFolded(sc.buf, r)
				i += n
				continue
			}
			// Keep ' inside words and . , inside numbers when the next rune continues the word.
			next, nn := rune(0), 0
			if i+n < len(text) {
				next, nn = utf8.DecodeRuneInString(text[i+n:])
			}
			if nn > 0 && (r == '\'' || r == '’' || r == 'ʼ') && unicode.IsLetter(next) {
				sc.buf = append(sc.buf, '\'')
				digits = false
				i += n
				continue
			}
			if nn > 0 && digits && (r == '.' || r == ',') && '0' <= next && next <= '9' {
				sc.buf = append(sc.buf, byte(r))
				i += n
				continue
			}
			break
		}
		if isClauseWord(sc.buf[lo:]) {
			clause++
		}
		sc.toks = append(sc.toks, token{start: start, end: i, lo: lo, hi: len(sc.buf),
			sent: len(sc.sents), clause: clause, num: digits})
	}
	endSentence(false)
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return isAlnum(byte(r))
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

func appendFolded(b []byte, r rune) []byte {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(b, byte(r))
	}
	return utf8.AppendRune(b, unicode.ToLower(r))
}

// foldWords splits a lexicon phrase into folded words exactly as tokenize splits a post;
// a bare "#" stays, as numberWord.
func foldWords(phrase string) []string {
	var words []string
	for field := range strings.FieldsSeq(phrase) {
		if field == numberWord {
			words = append(words, numberWord)
			continue
		}
		sc := scan{text: field}
		sc.tokenize()
		for i := range sc.toks {
			words = append(words, string(sc.word(i)))
		}
	}
	return words
}
