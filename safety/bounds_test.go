package safety

import (
	"strings"
	"testing"
)

// maxPost is the largest post a caller may screen; hub caps messages below it.
const maxPost = 64 << 10

// adversarialPosts are 64 KiB texts built to make each screen work hardest: every byte a
// trigger, one chunk of 64 KiB, every word a lexicon hit, runs too long to be numbers.
func adversarialPosts() map[string]string {
	fill := func(unit string) string { return strings.Repeat(unit, maxPost/len(unit)+1)[:maxPost] }
	return map[string]string{
		"digits":          fill("1"),
		"digit words":     fill("1 "),
		"phones":          fill("555-201-4477 "),
		"phone soup":      fill("+(1) 2-3.4 "),
		"ssn":             fill("123-45-6789 SSN "),
		"one chunk":       fill("a@b.co."),
		"dots":            fill("1.2."),
		"colons":          fill("ab::"),
		"ipv6":            fill("2001:db8::1 "),
		"links":           fill("www.a.com/"),
		"addresses":       fill("12 Oak Street "),
		"address misses":  fill("12 a b c d "),
		"dates":           fill("3 March 1985 born "),
		"numeric dates":   fill("1/2/3/4/"),
		"records":         fill("MRN 1234 "),
		"uppercase":       fill("AB12 3CD "),
		"crisis":          fill("I want to kill myself "),
		"crisis method":   fill("suicidal pills rope bridge "),
		"negated":         fill("not suicidal if you "),
		"adverse":         fill("Ozempic nausea Humira rash Lyrica headache metformin hives "),
		"products":        fill("Ozempic "),
		"reactions":       fill("nausea "),
		"one sentence":    fill("want to die and "),
		"sentences":       fill("."),
		"lines":           fill("\n"),
		"unicode":         fill("é❤️😂"),
		"invalid":         fill("\xff\xc3"),
		"parens":          fill("("),
		"apostrophes":     fill("'a"),
		"obfuscated mail": fill("a dot b at c dot com "),
		"quantity":        fill("how many pills how much insulin would it take "),
		"means intent":    fill("stockpiling my pills tonight "),
		"acts":            fill("I want to want to stay asleep and "),
		"weak signals":    fill("goodbye, nothing left, i'm the problem, "),
		"relief":          fill("Zoloft stopped my anxiety since I stopped my metformin "),
		"history":         fill("in 2019 I was suicidal, now I'm stable "),
	}
}

// TestAdversarialBounded screens every adversarial post and checks the findings are
// bounded: no more than one per two bytes, at most maxAdverse adverse events, all spans
// valid. Speed is measured by BenchmarkScreenAdversarial, not asserted here.
func TestAdversarialBounded(t *testing.T) {
	s := newTestScreener(t, Config{Products: testProducts})
	for name, text := range adversarialPosts() {
		t.Run(name, func(t *testing.T) {
			fs := s.Screen(text)
			if len(fs) > len(text)/2 {
				t.Errorf("%d findings in %d bytes", len(fs), len(text))
			}
			checkFindings(t, s, text, fs)
		})
	}
}
