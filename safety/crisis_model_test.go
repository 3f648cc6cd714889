package safety

import (
	"slices"
	"strings"
	"testing"
)

// TestCrisisModelCrossValidated trains on four fifths of the corpus (and all the everyday
// chat) and scores the fifth it did not see, for each fifth in turn (contiguous blocks, so
// that a round of posts is mostly scored by a model that did not learn its phrasing).
// Floors sit just under what the model scores now at the default threshold.
func TestCrisisModelCrossValidated(t *testing.T) {
	lex, err := newLexical(corpusConfig)
	if err != nil {
		t.Fatal(err)
	}
	exs, err := examples(lex, corpusData)
	if err != nil {
		t.Fatal(err)
	}
	everyday, err := examples(lex, everydayData)
	if err != nil {
		t.Fatal(err)
	}
	const folds = 5
	threshold := DefaultMinConfidence + modelMargin
	var c counts
	for fold := range folds {
		in := func(i int) bool { return i*folds/len(exs) == fold }
		rest := slices.Clone(everyday)
		for i, e := range exs {
			if !in(i) {
				rest = append(rest, e)
			}
		}
		m := train(rest)
		for i, e := range exs {
			if !in(i) {
				continue
			}
			switch got := m.prob(e.fs) >= threshold; {
			case got && e.crisis:
				c.tp++
			case got:
				c.fp++
			case e.crisis:
				c.fn++
			}
		}
	}
	t.Logf("model alone, %d-fold: precision %.3f recall %.3f (tp %d fp %d fn %d)",
		folds, c.precision(), c.recall(), c.tp, c.fp, c.fn)
	if c.precision() < 0.96 || c.recall() < 0.68 {
		t.Errorf("cross-validated precision %.3f recall %.3f, below the floor 0.96 / 0.68", c.precision(), c.recall())
	}
}

func TestCrisisModelDeterministic(t *testing.T) {
	lex, err := newLexical(Config{})
	if err != nil {
		t.Fatal(err)
	}
	exs, err := examples(lex, corpusData)
	if err != nil {
		t.Fatal(err)
	}
	a, b := train(exs), train(exs)
	if !slices.Equal(a.w, b.w) || a.bias != b.bias {
		t.Fatal("two trainings on the same corpus gave different models")
	}
}

func TestCrisisModelCorpusErrors(t *testing.T) {
	lex, err := newLexical(Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = examples(lex, []byte("{\"text\": \"fine\", \"labels\": []}\n{\"text\": \"cut off\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v, want the bad line named", err)
	}
}

// modelProb is the model's probability for text on its own, lexicon vetoes aside.
func modelProb(t *testing.T, s *Screener, text string) float64 {
	t.Helper()
	sc := s.scan(text)
	defer s.scans.Put(sc)
	return s.model.prob(features(sc, 0, len(sc.toks), nil))
}

func TestCrisisModelFindings(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	lexOnly, err := New(Config{NoCrisisModel: true})
	if err != nil {
		t.Fatal(err)
	}
	threshold := DefaultMinConfidence + modelMargin
	for _, tc := range []struct {
		name, text string
		span       string // the model's finding; "" for none
		method     string // a crisis_method finding beside it
		veto       bool   // the model alone would report it
	}{
		{name: "missed by the lexicon", text: "I can't see a way forward anymore and I've stopped caring what happens to me",
			span: "I can't see a way forward anymore and I've stopped caring what happens to me"},
		{name: "the sentence that scores highest", text: "I cannot see a way forward anymore. The pills are in the kitchen drawer.",
			span: "I cannot see a way forward anymore", method: "pills"}, // a method beside it counts
		{name: "ordinary", text: "I cannot see a way forward with this landlord, we are moving out"},
		// The model alone scores these above its threshold; the lexicon matched a phrase
		// or a dosing question and judged it no crisis, and that judgement stands.
		{name: "negated", text: "I would never hurt myself", veto: true},
		{name: "negated, reassuring", text: "I'm not going to end my life, don't worry", veto: true},
		{name: "dosing question", text: "How much would it take to make the pain stop for a night?", veto: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if fs := lexOnly.Crisis(tc.text); len(fs) != 0 {
				t.Fatalf("the lexicon alone finds %s; pick a post it misses", describe(tc.text, fs))
			}
			p := modelProb(t, s, tc.text)
			fs := s.Crisis(tc.text)
			var got, method string
			for _, f := range fs {
				switch f.Category {
				case Crisis:
					got = tc.text[f.Start:f.End]
					if f.Term != ModelTerm || f.Confidence != p {
						t.Errorf("finding %+v, want term %q and confidence %.3f", f, ModelTerm, p)
					}
				case CrisisMethod:
					method = tc.text[f.Start:f.End]
				}
			}
			if got != tc.span || method != tc.method {
				t.Errorf("model %.2f: crisis %q method %q, want %q and %q", p, got, method, tc.span, tc.method)
			}
			if tc.veto && p < threshold {
				t.Errorf("model %.2f, under its threshold: the case does not test a veto", p)
			}
		})
	}
}

// TestCrisisModelNegation checks that words after a negator hash apart from the same
// words unnegated.
func TestCrisisModelNegation(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	hurt := fnvBytes(fnvByte(fnvOffset, 'w'), []byte("hurt")) & (1<<modelBits - 1)
	for text, want := range map[string]bool{
		"I would hurt myself":       true,
		"I would never hurt myself": false,
		"I wouldn't hurt myself":    false,
		"I never slept, I hurt":     true, // the clause ended
	} {
		sc := s.scan(text)
		got := slices.Contains(features(sc, 0, len(sc.toks), nil), hurt)
		s.scans.Put(sc)
		if got != want {
			t.Errorf("%q: unnegated \"hurt\" among the features = %v, want %v", text, got, want)
		}
	}
}

func TestCrisisModelContractions(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	feats := func(text string) []uint32 {
		sc := s.scan(text)
		defer s.scans.Put(sc)
		fs := features(sc, 0, len(sc.toks), nil)
		slices.Sort(fs)
		return fs
	}
	for _, pair := range [][2]string{
		{"I can't go on", "I cannot go on"},
		{"I can't go on", "I can not go on"},
		{"I've had enough", "I have had enough"},
		{"I won't be here", "I will not be here"},
	} {
		if a, b := feats(pair[0]), feats(pair[1]); !slices.Equal(a, b) {
			t.Errorf("%q and %q hash differently", pair[0], pair[1])
		}
	}
}
