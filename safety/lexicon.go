package safety

import (
	"fmt"
	"strings"
)

// kind says which screen a lexicon entry serves.
type kind uint8

const (
	kMarker   kind = iota // context word: sets marker bits on the tokens it covers
	kCrisis               // crisis phrase
	kMethod               // means or method of self-harm (reported only beside a crisis phrase)
	kSuppress             // idiom that cancels crisis phrases inside it ("killing myself laughing")
	kProduct              // configured product name
	kReaction             // adverse reaction
	kCue                  // context word of the crisis and adverse-event screens: sets cue bits
)

// entry is one lexicon phrase after expansion.
type entry struct {
	kind   kind
	term   string  // canonical name reported as Finding.Term
	weight float64 // base confidence
	flags  uint32  // marker bits (kMarker) or phrase flags (kCrisis, kMethod)
	id     int     // product or reaction index
}

// match is one occurrence of an entry: tokens [first, last).
type match struct {
	entry       int32
	first, last int32
}

// lexicon is a trie over folded words. Node 0 is the root.
type lexicon struct {
	nodes   []lnode
	entries []entry
	depth   int // longest phrase in tokens
}

type lnode struct {
	next map[string]int32
	ends []int32 // entries ending here
}

func newLexicon() *lexicon { return &lexicon{nodes: []lnode{{}}} }

// add expands pattern and adds every expansion as e. Pattern syntax: words separated by
// spaces; "a|b" is a choice; '+' joins words inside one choice ("do+not|don't"); a slot in
// brackets is optional ("[really] want"). Plain punctuation splits words as in posts.
func (lx *lexicon) add(pattern string, e entry) error {
	phrases, err := expand(pattern)
	if err != nil {
		return err
	}
	if e.term == "" {
		e.term = phrases[0]
	}
	id := int32(len(lx.entries))
	lx.entries = append(lx.entries, e)
	for _, p := range phrases {
		words := foldWords(p)
		if len(words) == 0 {
			return fmt.Errorf("lexicon phrase %q has no words", pattern)
		}
		n := int32(0)
		for _, w := range words {
			child, ok := lx.nodes[n].next[w]
			if !ok {
				child = int32(len(lx.nodes))
				lx.nodes = append(lx.nodes, lnode{})
				if lx.nodes[n].next == nil {
					lx.nodes[n].next = map[string]int32{}
				}
				lx.nodes[n].next[w] = child
			}
			n = child
		}
		lx.nodes[n].ends = append(lx.nodes[n].ends, id)
		lx.depth = max(lx.depth, len(words))
	}
	return nil
}

// maxExpansions bounds one pattern's expansions: a typo in a pattern must not build a trie
// of millions of nodes.
const maxExpansions = 4096

func expand(pattern string) ([]string, error) {
	out := []string{""}
	for slot := range strings.FieldsSeq(pattern) {
		optional := strings.HasPrefix(slot, "[") && strings.HasSuffix(slot, "]")
		if optional {
			slot = slot[1 : len(slot)-1]
		}
		choices := strings.Split(slot, "|")
		if optional {
			choices = append(choices, "")
		}
		if len(out)*len(choices) > maxExpansions {
			return nil, fmt.Errorf("lexicon pattern %q has too many expansions", pattern)
		}
		next := make([]string, 0, len(out)*len(choices))
		for _, prefix := range out {
			for _, c := range choices {
				c = strings.ReplaceAll(c, "+", " ")
				switch {
				case c == "":
					next = append(next, prefix)
				case prefix == "":
					next = append(next, c)
				default:
					next = append(next, prefix+" "+c)
				}
			}
		}
		out = next
	}
	if len(out) == 0 || out[0] == "" && len(out) == 1 {
		return nil, fmt.Errorf("empty lexicon pattern %q", pattern)
	}
	return out, nil
}

// match appends to sc.matches every entry occurrence in the tokens, all lengths, in token
// order. A phrase never crosses a sentence. Marker and suppress entries also set their bits
// on the tokens they cover and on the sentence.
func (lx *lexicon) match(sc *scan) {
	sc.matches = sc.matches[:0]
	toks := sc.toks
	for i := range toks {
		n := int32(0)
		for j := i; j < len(toks) && j-i < lx.depth && toks[j].sent == toks[i].sent; j++ {
			child, ok := lx.nodes[n].next[string(sc.word(j))]
			if !ok && toks[j].num {
				child, ok = lx.nodes[n].next[numberWord]
			}
			if !ok {
				break
			}
			n = child
			for _, e := range lx.nodes[n].ends {
				sc.matches = append(sc.matches, match{entry: e, first: int32(i), last: int32(j + 1)})
				if en := &lx.entries[e]; en.kind == kMarker || en.kind == kSuppress {
					for k := i; k <= j; k++ {
						toks[k].marks |= en.flags
					}
					sc.sents[toks[i].sent].marks |= en.flags
				} else if en.kind == kCue {
					for k := i; k <= j; k++ {
						toks[k].cues |= en.flags
					}
					sc.sents[toks[i].sent].cues |= en.flags
				}
			}
		}
	}
}
