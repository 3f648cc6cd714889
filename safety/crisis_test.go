package safety

import (
	"slices"
	"testing"
)

func hasCategory(fs []Finding, c Category) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Category == c })
}

func TestCrisis(t *testing.T) {
	s := newTestScreener(t, Config{})
	for _, tc := range []struct {
		name, text     string
		crisis, method bool
	}{
		{"ideation", "I want to die, nothing helps", true, false},
		{"intent", "honestly i just want to kill myself", true, false},
		{"subjectless", "Feeling suicidal again tonight", true, false},
		{"one word", "Suicidal. Can't sleep", true, false},
		{"third party now", "my daughter told me she's been suicidal for weeks", true, false},
		{"self-harm", "Been cutting myself again", true, false},
		{"method in phrase", "I keep thinking about hanging myself", true, true},
		{"method next sentence", "I want to die. I've been saving up my insulin", true, true},
		{"quantity", "suicidal tonight, I have 60 tablets in front of me", true, true},
		{"negated", "I'm not suicidal, just exhausted", false, false},
		{"never", "I would never hurt myself", false, false},
		{"advice", "If you ever feel suicidal please call 988", false, false},
		{"third party past", "My friend's suicide attempt last year was hard", false, false},
		{"history", "I attempted suicide 10 years ago and I'm in a good place now", false, false},
		{"topic", "Suicide rates among people with chronic pain are high", false, false},
		{"prevention", "This is suicide prevention month", false, false},
		{"leaflet", "The leaflet says it can cause suicidal thoughts", false, false},
		{"idiom laughing", "I nearly killed myself laughing lol", false, false},
		{"idiom slack", "Cutting myself some slack this week", false, false},
		{"idiom holiday", "Can't go on holiday this year", false, false},
		{"medical fear", "I thought I was going to die when my sugar hit 1.8", false, false},
		{"pills without crisis", "I take all my pills in the morning", false, false},
		{"stockpile without crisis", "Stockpiling insulin because of the shortage", false, false},
		{"rope idiom", "at the end of my rope with the pharmacy, thinking about ending things", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := s.Crisis(tc.text)
			if got := hasCategory(fs, Crisis); got != tc.crisis {
				t.Errorf("%q: crisis %v, want %v: %s", tc.text, got, tc.crisis, describe(tc.text, fs))
			}
			if got := hasCategory(fs, CrisisMethod); got != tc.method {
				t.Errorf("%q: method %v, want %v: %s", tc.text, got, tc.method, describe(tc.text, fs))
			}
			for _, f := range fs {
				if f.Category == CrisisMethod && f.Confidence > 0 && !hasCategory(fs, Crisis) {
					t.Errorf("a method without a crisis finding: %s", describe(tc.text, fs))
				}
			}
		})
	}
}

// TestCrisisIndirect covers the indirect ways of crisis_indirect.go and crisis_means.go and
// the contexts that lower them.
func TestCrisisIndirect(t *testing.T) {
	s := newTestScreener(t, Config{})
	for _, tc := range []struct {
		name, text     string
		crisis, method bool
	}{
		{"not wake up", "honestly I'd rather not wake up in the morning", true, false},
		{"burden", "my wife would be happier if I was gone", true, false},
		{"act after a wish", "I keep wishing I could just stay asleep", true, false},
		{"act after a plan", "I'm going to take all my tablets tonight", true, true},
		{"act without a wish", "I thought I was going to die in that ambulance", false, false},
		{"means and intent", "Been stashing my gabapentin. Tonight I'll have enough", true, true},
		{"stockpile with a reason", "Stashing my insulin because of the shortage", false, false},
		{"quantity question", "how many of my sleeping tablets would it take to not wake up", true, true},
		{"dosing question", "How much insulin would it take to cover a curry?", false, false},
		{"self-harm slang", "sh again tonight, I'm so ashamed", true, false},
		{"weak signals add up", "Everything feels pointless. I'm the problem here", true, false},
		{"one weak signal", "Everything feels pointless with this flare", false, false},
		{"clause end", "I just want out", true, false},
		{"not clause end", "I just want out of this contract", false, false},
		{"history with recovery", "I used to want to die. Now I'm stable on my meds", false, false},
		{"year", "I was suicidal in 2016 and therapy helped", false, false},
		{"possessive", "my neighbour's suicide shook the whole street", false, false},
		{"accident", "took a handful of my tablets by mistake, called 111", false, false},
		{"study", "the lethal dose of paracetamol came up in my pharmacology lecture", false, false},
		{"idiom", "I'm killing myself trying to get this report done", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := s.Crisis(tc.text)
			if got := hasCategory(fs, Crisis); got != tc.crisis {
				t.Errorf("%q: crisis %v, want %v: %s", tc.text, got, tc.crisis, describe(tc.text, fs))
			}
			if got := hasCategory(fs, CrisisMethod); got != tc.method {
				t.Errorf("%q: method %v, want %v: %s", tc.text, got, tc.method, describe(tc.text, fs))
			}
		})
	}
}

// TestCrisisLowered: context lowers confidence rather than hiding a finding, so a caller
// that wants the borderline cases asks for them with MinConfidence.
func TestCrisisLowered(t *testing.T) {
	s := newTestScreener(t, Config{MinConfidence: 0.01})
	for _, text := range []string{
		"I'm not suicidal, just exhausted",
		"My friend's suicide attempt last year was hard",
		"If you ever feel suicidal please call 988",
	} {
		fs := s.Crisis(text)
		if len(fs) == 0 || fs[0].Confidence >= DefaultMinConfidence {
			t.Errorf("%q: want a crisis finding below %v, got %s", text, DefaultMinConfidence, describe(text, fs))
		}
	}
	strong := s.Crisis("I want to kill myself")
	weak := s.Crisis("I'm not going to kill myself")
	if len(strong) != 1 || len(weak) != 1 || weak[0].Confidence >= strong[0].Confidence {
		t.Errorf("negation does not lower confidence: %v vs %v", strong, weak)
	}
}

func TestCrisisTerms(t *testing.T) {
	s := newTestScreener(t, Config{})
	text := "I want to die. I bought a rope yesterday"
	fs := s.Crisis(text)
	want := []struct {
		cat        Category
		span, term string
	}{
		{Crisis, "want to die", "want to die"},
		{CrisisMethod, "rope", "hanging"},
	}
	if len(fs) != len(want) {
		t.Fatalf("got %s", describe(text, fs))
	}
	for i, w := range want {
		if f := fs[i]; f.Category != w.cat || text[f.Start:f.End] != w.span || f.Term != w.term {
			t.Errorf("finding %d: got %s %q %q, want %s %q %q", i, f.Category, text[f.Start:f.End], f.Term,
				w.cat, w.span, w.term)
		}
	}
}
