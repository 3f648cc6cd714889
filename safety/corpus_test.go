package safety

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The corpora are labelled chat posts, one JSON object a line: the text, the categories a
// moderator would expect found in it (post level), and optionally spans: substrings that
// must each be exactly one finding's text.
//
// corpus.jsonl (beside the code: the crisis model is trained on it) is the development
// set: the lexicon was tuned on it and the model learned it, so its figures are flattering. Round 1 (322 posts) was written before tuning began; every later round was
// first screened unseen, then tuned on and merged. Those first runs are the honest estimate
// (round (posts); per category: positives: precision / recall):
//
//	round         personal            crisis              crisis_method      adverse_event
//	2 (132)       29: 1.00 / 1.00     19: 0.88 / 0.79     5: 1.00 / 0.60     15: 0.87 / 0.87
//	3 (97)        23: 1.00 / 0.96     12: 0.86 / 0.50     4: 1.00 / 0.50     12: 1.00 / 0.75
//	4 (88)        17: 1.00 / 0.94     14: 0.67 / 0.29     4: 1.00 / 0.00     12: 1.00 / 0.67
//	5 (96)        19: 1.00 / 1.00     14: 1.00 / 0.50     5: 0.75 / 0.60     12: 0.91 / 0.83
//
// holdout.jsonl is round 6, never tuned on: keep it that way, and add a new round rather
// than fix its misses. holdout2.jsonl is round 7 (90 posts), written and committed before
// the crisis rework (indirect phrases, acts after a wish or plan, means with intent,
// quantity questions, weak signals that add up, history and recovery) and never tuned on;
// it first scored crisis 0.83 / 0.57, crisis_method 1.00 / 0.40, adverse_event 0.82 / 1.00.
// Rounds 8 to 12 went into corpus.jsonl, each screened unseen, then tuned on:
//
//	round         crisis              crisis_method
//	8 (175)       86: 0.84 / 0.49     23: 0.83 / 0.22   (the screens before the rework)
//	9 (68)        39: 0.79 / 0.38     11: — / 0.09
//	10 (55)       25: 0.62 / 0.32     6: — / 0.00
//	11 (40)       20: 0.40 / 0.20     5: — / 0.20
//	12 (45)       25: 0.89 / 0.32     7: — / 0.14
//
// Rounds 9 to 11 were written to break the rules of the round before, so they are harsher
// than ordinary posts; round 12 is ordinary phrasing and still scored 0.32; holdout2 was
// written just before round 8 by the same hand, so it shares its phrasings and is kinder.
// The honest reading, confirmed by holdout3.jsonl (round 13, after all tuning): on
// phrasings close to what the lexicon has seen, crisis recall is about 0.85 to 0.9 with
// precision near 0.9; on genuinely new paraphrases it is 0.25 to 0.35, though precision
// holds (0.89 in round 12, 1.00 in round 13). A lexicon will not close that gap alone.
// All rounds were written by the screens' authors, which flatters them too.
//
// The crisis model (crisis_model.go) came after round 14 (holdout4.jsonl) was written and
// screened. It is trained on corpus.jsonl and everyday.jsonl only; the hold-out sets stay
// unseen by it. Its design was settled on cross-validation, the unit cases and everyday
// chat, but the hold-out figures were looked at along the way (four times in all, two
// versions), so they are a little kinder than a single look. The first version, trained on
// the corpus alone with the classes weighted to balance, found 0.60 of the crisis posts in
// holdout3 and holdout4, and alerted on one everyday post in ten (8 of 78, 10 of 78): the
// corpus has almost no everyday chat. The second learns from 156 everyday posts, keeps the
// classes as they come, and needs probability 0.8: 0.48 of those crisis posts, no false
// alarm on them or on 76 everyday posts written afterwards (testdata/everyday_holdout.jsonl).
//
// Labelling rules: personal categories as in Category; a full date not tied to birth is
// "date"; links to corpusConfig.AllowDomains are not personal; an IP inside a link counts as
// the link. Crisis is present risk to the poster or to someone the poster describes now,
// not history, advice, news or idiom; crisis_method a means, method or quantity in a crisis
// post. An adverse event is a configured product with a reaction someone had (resolved
// ones too), not an indication, a negated reaction, a question without an experience or a
// leaflet's list.

type corpusPost struct {
	labelled          // what the crisis model trains on (crisis_model.go)
	Spans    []string `json:"spans"`
}

var corpusConfig = Config{Products: testProducts, AllowDomains: []string{"havenhealth.org", "nhs.uk"}}

// floor is the precision and recall a category must reach on a corpus.
type floor struct{ precision, recall float64 }

// TestCorpusDev: go test -run 'TestCorpus' -v ./safety/ prints the tables.
func TestCorpusDev(t *testing.T) {
	testCorpus(t, "corpus.jsonl", map[string]floor{
		"personal":       {0.95, 0.95},
		"phone":          {0.9, 0.9},
		"email":          {0.9, 0.9},
		"street_address": {0.9, 0.9},
		"ssn":            {0.9, 0.9},
		"record_number":  {0.9, 0.9},
		"date_of_birth":  {0.9, 0.9},
		"date":           {0.9, 0.9},
		"url":            {0.9, 0.9},
		"ip_address":     {0.9, 0.9},
		"crisis":         {0.99, 0.96},
		"crisis_method":  {0.98, 0.95},
		"adverse_event":  {0.98, 0.98},
	})
}

// personalFloors are the held-out floors of every personal-information category: each has
// only a few positives there, so one miss fails it, which is the point of a regression alarm.
func personalFloors(crisis, method, adverse floor) map[string]floor {
	fl := map[string]floor{"personal": {0.95, 0.95}, "crisis": crisis, "crisis_method": method, "adverse_event": adverse}
	for _, c := range []Category{Phone, Email, Address, SSN, RecordNumber, DateOfBirth, FullDate, URL, IPAddress} {
		fl[string(c)] = floor{0.9, 0.9}
	}
	return fl
}

// TestCorpusHoldout holds the unseen round to what it scores now, less a little: a
// regression alarm, not a target.
func TestCorpusHoldout(t *testing.T) {
	testCorpus(t, "testdata/holdout.jsonl", personalFloors(floor{0.95, 0.9}, floor{0.95, 0.75}, floor{0.95, 0.95}))
}

// TestCorpusHoldout2 is round 7, written and committed before the crisis rework was tuned
// (on corpus.jsonl only) and never tuned on since.
func TestCorpusHoldout2(t *testing.T) {
	testCorpus(t, "testdata/holdout2.jsonl", personalFloors(floor{0.85, 0.93}, floor{0.95, 0.85}, floor{0.95, 0.95}))
}

// TestCorpusHoldout3 is round 13 (40 posts: 20 crisis, 20 hard negatives), written after
// all tuning as ordinary posts, screened once and never tuned on: the estimate for new
// paraphrases. The lexicon scored crisis 1.00 / 0.25 (5 tp, 0 fp, 15 fn) and crisis_method
// 1.00 / 0.17: precision holds on unseen text, recall does not. With the crisis model
// (crisis_model.go): crisis 1.00 / 0.60, crisis_method 0.67 / 0.33.
func TestCorpusHoldout3(t *testing.T) {
	testCorpus(t, "testdata/holdout3.jsonl", map[string]floor{"crisis": {0.95, 0.55}, "crisis_method": {0.65, 0.3}})
}

func readCorpus(t *testing.T, path string) []corpusPost {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var posts []corpusPost
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		var p corpusPost
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		for _, l := range p.Labels {
			if c := Category(l); !c.Personal() && c != Crisis && c != CrisisMethod && c != AdverseEvent {
				t.Fatalf("%s:%d: unknown label %q", path, n, l)
			}
		}
		posts = append(posts, p)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return posts
}

type counts struct{ tp, fp, fn int }

func (c counts) precision() float64 { return ratio(c.tp, c.tp+c.fp) }
func (c counts) recall() float64    { return ratio(c.tp, c.tp+c.fn) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// testCorpus screens every post, logs precision and recall per category and for personal
// information as a whole, logs every error, and checks floors.
func testCorpus(t *testing.T, path string, floors map[string]floor) {
	posts := readCorpus(t, path)
	s, err := New(corpusConfig)
	if err != nil {
		t.Fatal(err)
	}
	stats := map[string]*counts{}
	count := func(cat string, want, got bool) {
		c := stats[cat]
		if c == nil {
			c = &counts{}
			stats[cat] = c
		}
		switch {
		case want && got:
			c.tp++
		case got:
			c.fp++
		case want:
			c.fn++
		}
	}
	var spanErrors int
	for _, p := range posts {
		fs := s.Screen(p.Text)
		got := map[string]bool{}
		for _, f := range fs {
			got[string(f.Category)] = true
			if f.Category.Personal() {
				got["personal"] = true
			}
		}
		want := map[string]bool{}
		for _, l := range p.Labels {
			want[l] = true
			if Category(l).Personal() {
				want["personal"] = true
			}
		}
		cats := map[string]bool{"personal": true}
		for c := range got {
			cats[c] = true
		}
		for c := range want {
			cats[c] = true
		}
		for c := range cats {
			count(c, want[c], got[c])
			if want[c] != got[c] {
				t.Logf("%s: want %s=%v: %q\n\t%s", path, c, want[c], p.Text, describe(p.Text, fs))
			}
		}
		for _, span := range p.Spans {
			if !slices.ContainsFunc(fs, func(f Finding) bool { return p.Text[f.Start:f.End] == span }) {
				spanErrors++
				t.Errorf("%s: no finding is exactly %q in %q\n\t%s", path, span, p.Text, describe(p.Text, fs))
			}
		}
	}
	cats := make([]string, 0, len(stats))
	for c := range stats {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	t.Logf("%s: %d posts", path, len(posts))
	t.Logf("%-16s %5s %5s %5s %9s %7s", "category", "tp", "fp", "fn", "precision", "recall")
	for _, c := range cats {
		st := stats[c]
		t.Logf("%-16s %5d %5d %5d %9.3f %7.3f", c, st.tp, st.fp, st.fn, st.precision(), st.recall())
	}
	for c, fl := range floors {
		st := stats[c]
		if st == nil || st.tp == 0 {
			t.Errorf("%s: no positives for %s", path, c)
			continue
		}
		if st.precision() < fl.precision || st.recall() < fl.recall {
			t.Errorf("%s: %s precision %.3f recall %.3f, below the floor %.2f / %.2f",
				path, c, st.precision(), st.recall(), fl.precision, fl.recall)
		}
	}
}

func describe(text string, fs []Finding) string {
	var b strings.Builder
	b.WriteString("found:")
	for _, f := range fs {
		fmt.Fprintf(&b, " %s(%.2f %q", f.Category, f.Confidence, text[f.Start:f.End])
		if f.Term != "" {
			fmt.Fprintf(&b, " term=%q", f.Term)
		}
		if f.Product != "" {
			fmt.Fprintf(&b, " product=%q", f.Product)
		}
		b.WriteString(")")
	}
	return b.String()
}

// TestCorpusHoldout4 is round 14 (60 posts: 30 crisis, 30 hard negatives, each negative
// sharing words with a positive), written after all tuning and never tuned on. Screened
// once by the lexicon: crisis 1.00 / 0.23 (7 tp, 0 fp, 23 fn), crisis_method 1.00 / 0.29.
// With the crisis model: crisis 1.00 / 0.40, crisis_method 0.75 / 0.43.
func TestCorpusHoldout4(t *testing.T) {
	testCorpus(t, "testdata/holdout4.jsonl", map[string]floor{"crisis": {0.95, 0.35}, "crisis_method": {0.7, 0.4}})
}

// TestCorpusEveryday: everyday chat the model was not trained on (76 posts: greetings,
// thanks, replies like "I feel exactly the same way", symptoms and appointments) raises
// no crisis alert. The first model, trained on the corpus alone, alerted on 8 of them.
func TestCorpusEveryday(t *testing.T) {
	s, err := New(corpusConfig)
	if err != nil {
		t.Fatal(err)
	}
	posts := readCorpus(t, "testdata/everyday_holdout.jsonl")
	for _, p := range posts {
		if len(p.Labels) != 0 {
			t.Fatalf("an everyday post is labelled: %+v", p)
		}
		if fs := s.Crisis(p.Text); len(fs) != 0 {
			t.Errorf("%q: %s", p.Text, describe(p.Text, fs))
		}
	}
	t.Logf("%d everyday posts", len(posts))
}

// TestCorpusHoldout5 is round 15 (90 posts: 30 crisis, 30 hard negatives, 30 everyday),
// written after the crisis model's design was final and screened once, to measure it
// without the looks the earlier hold-outs had while it took shape. Lexicon alone: crisis
// 0.89 / 0.27 (8 tp, 1 fp, 22 fn). With the model: 0.90 / 0.63 (19, 2, 11); no alert on
// its 30 everyday posts. crisis_method 0.67 / 0.67 (one post labelled crisis only, "walking
// into the sea", reported with its method: by the labelling rules the label is short).
func TestCorpusHoldout5(t *testing.T) {
	testCorpus(t, "testdata/holdout5.jsonl", map[string]floor{"crisis": {0.85, 0.6}, "crisis_method": {0.6, 0.6}})
}
