package safety

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
)

// The crisis model is a second, learned signal beside the lexicon: logistic regression over
// hashed words, word pairs and triples, and character n-grams, trained when the first
// Screener is made on the labelled corpus (corpus.jsonl) and on everyday chat
// (everyday.jsonl: greetings, thanks, replies such as "I know the feeling", none a crisis),
// both embedded. The lexicon is precise
// on wording it was written for and misses most new paraphrases (recall 0.23–0.25 on the
// untouched hold-out sets); the model recognises wording that resembles crisis posts it has
// seen without sharing a phrase with them. It speaks only for posts in which the lexicon
// matched no crisis phrase, so every lexicon judgement, with its term and context rules,
// stands as it was.
//
// Training is deterministic (fixed order, fixed seed) and takes some tens of milliseconds,
// so the model is always the one its data and code describe: there is no weights file to
// fall out of step. (Across architectures the weights may differ in their last bits: Go
// may fuse a multiply and an add where the processor has the instruction.) BENCHMARKS.md
// has the cross-validated and hold-out figures.

//go:embed corpus.jsonl
var corpusData []byte

// everydayData is what most of a community's posts look like. The corpus is crisis posts
// and the hard cases beside them; trained on it alone, the model took one short everyday
// post in eight for a crisis ("Thinking of you all today", "I know the feeling").
//
//go:embed everyday.jsonl
var everydayData []byte

const (
	modelBits   = 18 // hashed feature space: 1 MiB of float32 weights
	modelEpochs = 10 // passes over the corpus
	modelL2     = 1e-4
	modelRate   = 0.5 // AdaGrad's base step
	// modelMargin puts the model's threshold this far above MinConfidence (0.8 at the
	// default): an urgent alert on an everyday post costs the moderators' trust in every
	// alert, and at 0.8 the model's cross-validated precision is near 0.97 and it raised
	// none on everyday chat it had not seen (BENCHMARKS.md).
	modelMargin = 0.3
	// ModelTerm is the Term of a crisis finding the model made: no lexicon phrase matched.
	ModelTerm = "(crisis model)"
)

// FNV-1a, inline so that hashing a post allocates nothing.
const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

func fnvBytes(h uint32, b []byte) uint32 {
	for _, c := range b {
		h = (h ^ uint32(c)) * fnvPrime
	}
	return h
}

func fnvByte(h uint32, c byte) uint32 { return (h ^ uint32(c)) * fnvPrime }

var numberToken = []byte(numberWord)

// features appends the hashed features of tokens [first, last) of sc to out: each word
// (numbers as one word, "#"; contractions as two, so "can't" and "cannot" are "can not"),
// each pair and triple of words within a sentence (a sentence's first word pairs with its
// start), and the 3- to 5-byte n-grams of each word between '<' and '>'. Words after a
// negator, to the end of its clause, hash apart from the same words unnegated: a bag of
// words cannot otherwise tell "I would never hurt myself" from "I would hurt myself". sc
// must have been matched against the lexicon, whose markers say which words negate.
func features(sc *scan, first, last int, out []uint32) []uint32 {
	const mask = 1<<modelBits - 1
	var prev, prev2 []byte
	sent, negClause := -1, -1
	for i := first; i < last; i++ {
		t := &sc.toks[i]
		if t.sent != sent {
			sent, prev, prev2 = t.sent, nil, nil
		}
		parts := [2][]byte{sc.word(i)}
		n := 1
		if t.num {
			parts[0] = numberToken
		} else {
			n = uncontract(&parts)
		}
		for _, w := range parts[:n] {
			kind := byte('w')
			if negClause == t.clause {
				kind = 'n'
			}
			out = append(out, fnvBytes(fnvByte(fnvOffset, kind), w)&mask)
			out = append(out, fnvBytes(fnvByte(fnvBytes(fnvByte(fnvOffset, kind+1), prev), 0), w)&mask)
			if prev != nil {
				h := fnvByte(fnvBytes(fnvByte(fnvBytes(fnvByte(fnvOffset, kind+2), prev2), 0), prev), 0)
				out = append(out, fnvBytes(h, w)&mask)
			}
			prev2, prev = prev, w
			if !t.num {
				out = charGrams(w, out)
			}
		}
		negator := t.marks&mNeg != 0 || n == 2 && string(parts[1]) == "not" // "can't" is no marker
		if negator && (i+1 >= len(sc.toks) || sc.toks[i+1].marks&mNegOff == 0) {
			negClause = t.clause
		}
	}
	return out
}

// charGrams appends the hashed 3- to 5-byte n-grams of '<' w '>'. The n-grams starting
// at one byte share their prefix, so each start's hash runs on from 3 bytes to 5.
func charGrams(w []byte, out []uint32) []uint32 {
	const mask = 1<<modelBits - 1
	padded := len(w) + 2
	at := func(k int) byte {
		switch {
		case k == 0:
			return '<'
		case k == padded-1:
			return '>'
		}
		return w[k-1]
	}
	for j := 0; j+3 <= padded; j++ {
		h := fnvByte(fnvByte(fnvByte(fnvByte(fnvOffset, 'c'), at(j)), at(j+1)), at(j+2))
		out = append(out, h&mask)
		for k := j + 3; k < j+5 && k < padded; k++ {
			h = fnvByte(h, at(k))
			out = append(out, h&mask)
		}
	}
	return out
}

// Contractions and what they stand for; the tokenizer folds every apostrophe to '.
var (
	contractions = []struct {
		suffix string
		word   []byte
	}{
		{"n't", wordNot}, {"'ve", []byte("have")}, {"'m", []byte("am")}, {"'ll", []byte("will")},
		{"'re", []byte("are")}, {"'d", []byte("would")},
	}
	irregularStems = map[string][]byte{"ca": wordCan, "wo": []byte("will"), "sha": []byte("shall"), "ai": []byte("is")}
	wordCan        = []byte("can")
	wordNot        = []byte("not")
)

// uncontract splits a contracted parts[0] into its two words and returns how many there are.
func uncontract(parts *[2][]byte) int {
	w := parts[0]
	if string(w) == "cannot" {
		parts[0], parts[1] = wordCan, wordNot
		return 2
	}
	if bytes.IndexByte(w, '\'') < 0 {
		return 1 // most words: no contraction to look for
	}
	for _, c := range contractions {
		if len(w) > len(c.suffix) && string(w[len(w)-len(c.suffix):]) == c.suffix {
			stem := w[:len(w)-len(c.suffix)]
			if c.suffix == "n't" {
				if full, ok := irregularStems[string(stem)]; ok {
					stem = full
				}
			}
			parts[0], parts[1] = stem, c.word
			return 2
		}
	}
	return 1
}

type crisisModel struct {
	w    []float32
	bias float32
}

// logit is the model's log-odds for a post with features fs; each post's feature vector
// has unit length (every feature 1/sqrt(n)), so long posts do not score high by length.
func (m *crisisModel) logit(fs []uint32) float64 {
	var sum float64
	for _, f := range fs {
		sum += float64(m.w[f])
	}
	return float64(m.bias) + sum/math.Sqrt(float64(len(fs)))
}

func (m *crisisModel) prob(fs []uint32) float64 {
	if len(fs) == 0 {
		return 0
	}
	return 1 / (1 + math.Exp(-m.logit(fs)))
}

type example struct {
	fs     []uint32
	crisis bool
}

// train fits the model by AdaGrad on the log loss, with L2 on the weights a post touches.
// The classes keep their weights as they come: weighting crisis posts up to balance them
// put an uninformative post (an unknown word, a greeting) at a probability of one half.
func train(exs []example) *crisisModel {
	m := &crisisModel{w: make([]float32, 1<<modelBits)}
	g2 := make([]float32, 1<<modelBits)
	var biasG2 float64
	order := make([]int, len(exs))
	for i := range order {
		order[i] = i
	}
	rnd := uint64(1) // a fixed LCG: the same corpus always trains the same model
	for range modelEpochs {
		for i := len(order) - 1; i > 0; i-- {
			rnd = rnd*6364136223846793005 + 1442695040888963407
			j := int(rnd>>33) % (i + 1)
			order[i], order[j] = order[j], order[i]
		}
		for _, k := range order {
			e := &exs[k]
			if len(e.fs) == 0 {
				continue
			}
			y := 0.0
			if e.crisis {
				y = 1
			}
			g := m.prob(e.fs) - y
			norm := 1 / math.Sqrt(float64(len(e.fs)))
			for _, f := range e.fs {
				gf := g*norm + modelL2*float64(m.w[f])
				g2[f] += float32(gf * gf)
				m.w[f] -= float32(modelRate * gf / math.Sqrt(float64(g2[f])+1e-8))
			}
			biasG2 += g * g
			m.bias -= float32(modelRate * g / math.Sqrt(biasG2+1e-8))
		}
	}
	return m
}

// labelled is one line of a corpus.
type labelled struct {
	Text   string   `json:"text"`
	Labels []string `json:"labels"`
}

// examples reads a corpus (one JSON object a line) into training examples; lex (a
// Screener without the model) marks the words features needs marked.
func examples(lex *Screener, data []byte) ([]example, error) {
	var exs []example
	lines := bufio.NewScanner(bytes.NewReader(data))
	lines.Buffer(nil, 1<<20)
	for n := 1; lines.Scan(); n++ {
		var p labelled
		if err := json.Unmarshal(lines.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("corpus line %d: %w", n, err)
		}
		e := example{crisis: slices.Contains(p.Labels, string(Crisis))}
		if sc := lex.scan(p.Text); sc != nil {
			e.fs = features(sc, 0, len(sc.toks), nil)
			lex.scans.Put(sc)
		}
		exs = append(exs, e)
	}
	return exs, lines.Err()
}

// trainedModel is the model trained on the embedded corpus, once per process.
var trainedModel = sync.OnceValues(func() (*crisisModel, error) {
	lex, err := newLexical(Config{})
	if err != nil {
		return nil, err
	}
	exs, err := examples(lex, corpusData)
	if err != nil {
		return nil, fmt.Errorf("safety: crisis model: corpus.jsonl: %w", err)
	}
	everyday, err := examples(lex, everydayData)
	if err != nil {
		return nil, fmt.Errorf("safety: crisis model: everyday.jsonl: %w", err)
	}
	return train(append(exs, everyday...)), nil
})

// modelCrisis adds a crisis finding when the lexicon matched no crisis phrase and asked no
// quantity question, and the model's probability reaches its threshold. Where the lexicon
// matched and its context rules judged the post no crisis (negated, told as history, about
// the news, an idiom, a dosing question), it knows more than a bag of n-grams, which
// cannot tell "I would never hurt myself" from "I would hurt myself". The veto covers the
// whole post: scoring the sentences the lexicon did not judge strips the context that made
// a post benign ("My brother died by suicide in 2015. I still think of him every day").
// The finding spans the sentence the model scores highest, and that sentence counts as a
// crisis one, so method terms in or beside it are reported as they are beside a lexicon
// finding.
func (s *Screener) modelCrisis(sc *scan, out []Finding) []Finding {
	if s.model == nil || sc.cues&cHowMuch != 0 {
		return out
	}
	for _, m := range sc.matches {
		if s.lex.entries[m.entry].kind == kCrisis {
			return out
		}
	}
	sc.feats = features(sc, 0, len(sc.toks), sc.feats[:0])
	p := s.model.prob(sc.feats)
	if p < min(s.minConf+modelMargin, 1) {
		return out
	}
	// The whole post decides: scored alone, a post's sentences fire more often, and the
	// added alarms (13 more false ones in cross-validation) bought no recall there.
	best, bestLogit := 0, math.Inf(-1)
	if len(sc.sents) > 1 {
		for i, st := range sc.sents {
			sc.feats = features(sc, st.first, st.last, sc.feats[:0])
			if l := s.model.logit(sc.feats); l > bestLogit {
				best, bestLogit = i, l
			}
		}
	}
	st := &sc.sents[best]
	st.crisis = max(st.crisis, p)
	return append(out, Finding{Start: sc.toks[st.first].start, End: sc.toks[st.last-1].end,
		Category: Crisis, Confidence: p, Term: ModelTerm})
}
