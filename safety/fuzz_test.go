package safety

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkFindings asserts what every screen promises: spans inside the text on rune
// boundaries, sorted, known categories, confidences in [MinConfidence, 1], a bounded number
// of adverse events, and a Redact that yields valid UTF-8.
func checkFindings(t *testing.T, s *Screener, text string, fs []Finding) {
	t.Helper()
	adverse := 0
	for i, f := range fs {
		if f.Start < 0 || f.Start >= f.End || f.End > len(text) || !onBoundary(text, f.Start) || !onBoundary(text, f.End) {
			t.Fatalf("finding %d %+v: bad span for a text of %d bytes", i, f, len(text))
		}
		if i > 0 && fs[i-1].Start > f.Start {
			t.Fatalf("findings not sorted: %+v before %+v", fs[i-1], f)
		}
		if !f.Category.Personal() && f.Category != Crisis && f.Category != CrisisMethod && f.Category != AdverseEvent {
			t.Fatalf("unknown category %q", f.Category)
		}
		if !(f.Confidence >= s.minConf && f.Confidence <= 1) {
			t.Fatalf("finding %+v: confidence outside [%v, 1]", f, s.minConf)
		}
		if f.Category == AdverseEvent {
			adverse++
			if f.Product == "" || f.Term == "" {
				t.Fatalf("adverse event without product or reaction: %+v", f)
			}
		}
	}
	if adverse > maxAdverse {
		t.Fatalf("%d adverse events, more than %d", adverse, maxAdverse)
	}
	red := Redact(text, fs)
	if !utf8.ValidString(red) {
		t.Fatalf("Redact gave invalid UTF-8: %q", red)
	}
	if utf8.ValidString(text) && !slices.ContainsFunc(fs, func(f Finding) bool { return f.Category.Personal() }) && red != text {
		t.Fatalf("Redact changed a text with nothing personal: %q -> %q", text, red)
	}
}

var fuzzSeeds = []string{
	"",
	"Call me on 555-201-4477 or +44 (0)20 7946 0958, jane.doe@example.com",
	"I take 500 mg twice a day, HbA1c 6.5%, blood sugar 120/80 at 10:30, range 80-120",
	"My MRN is 00123456, DOB 03/04/1985. I live at 42 Oak Street, Springfield, IL 62704",
	"see https://www.example.org/a_(b)?x=1 and cdc.gov, IP 192.168.1.20 or 2001:db8::8a2e:370:7334",
	"I want to die. I've been saving up my insulin. I'm not suicidal lol",
	"If you ever feel suicidal call 988. My friend's suicide attempt last year",
	"Since starting Ozempic I've had nausea; semaglutide hair loss? Zoloft for anxiety",
	"SSN 123-45-6789, card 4111 1111 1111 1111, NI JG 10 37 48 D, 1EG4-TE5-MK73",
	"sarah dot jones at gmail dot com, tom[at]example[dot]org, PO Box 12, SW1A 1AA",
	"Ça va? appelle 06 12 34 56 78 — merci ❤️ 😂 İstanbul ǅ ﬃ",
	"\xff\xfe 555-201-4477 \xc3 kill myself \xe2\x82",
	"((((+1 (((2 3 4))) 5-6-7-8.9.0 :: ::1 a:b:c:d:e:f:0:1 1.2.3.4.5",
	"how many of my pills would it take? stockpiling my pregabalin, tonight. I want to just stay asleep",
	"Goodbye, nothing left. In 2019 I was suicidal, now I'm stable. Zoloft stopped my panic attacks",
}

func fuzzScreener(f *testing.F) *Screener {
	s, err := New(Config{Products: testProducts, AllowDomains: []string{"nhs.uk"}})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range fuzzSeeds {
		f.Add(seed)
	}
	return s
}

// only keeps the findings of fs whose category passes keep.
func only(fs []Finding, keep func(Category) bool) []Finding {
	var out []Finding
	for _, f := range fs {
		if keep(f.Category) {
			out = append(out, f)
		}
	}
	return out
}

func FuzzScreen(f *testing.F) {
	s := fuzzScreener(f)
	f.Fuzz(func(t *testing.T, text string) {
		fs := s.Screen(text)
		checkFindings(t, s, text, fs)
		if again := s.Screen(text); !slices.Equal(fs, again) {
			t.Fatalf("Screen is not deterministic:\n%v\n%v", fs, again)
		}
	})
}

func FuzzPersonal(f *testing.F) {
	s := fuzzScreener(f)
	f.Fuzz(func(t *testing.T, text string) {
		fs := s.Personal(text)
		checkFindings(t, s, text, fs)
		if want := only(s.Screen(text), Category.Personal); !slices.Equal(fs, want) {
			t.Fatalf("Personal disagrees with Screen:\n%v\n%v", fs, want)
		}
	})
}

func FuzzCrisis(f *testing.F) {
	s := fuzzScreener(f)
	f.Fuzz(func(t *testing.T, text string) {
		fs := s.Crisis(text)
		checkFindings(t, s, text, fs)
		if hasCategory(fs, CrisisMethod) && !hasCategory(fs, Crisis) {
			t.Fatalf("a method without a crisis: %v", fs)
		}
		isCrisis := func(c Category) bool { return c == Crisis || c == CrisisMethod }
		if want := only(s.Screen(text), isCrisis); !slices.Equal(fs, want) {
			t.Fatalf("Crisis disagrees with Screen:\n%v\n%v", fs, want)
		}
	})
}

func FuzzAdverseEvents(f *testing.F) {
	s := fuzzScreener(f)
	f.Fuzz(func(t *testing.T, text string) {
		fs := s.AdverseEvents(text)
		checkFindings(t, s, text, fs)
		isAE := func(c Category) bool { return c == AdverseEvent }
		if want := only(s.Screen(text), isAE); !slices.Equal(fs, want) {
			t.Fatalf("AdverseEvents disagrees with Screen:\n%v\n%v", fs, want)
		}
	})
}

// FuzzRedact gives Redact findings that need not fit the text.
func FuzzRedact(f *testing.F) {
	for _, seed := range fuzzSeeds {
		f.Add(seed, 0, len(seed)/2, len(seed)/3, len(seed), uint8(0))
	}
	f.Add("héllo ❤️ 555", 2, 4, 8, 10, uint8(3))
	cats := []Category{Phone, Email, Address, SSN, RecordNumber, DateOfBirth, FullDate, URL, IPAddress,
		Crisis, CrisisMethod, AdverseEvent, "other"}
	f.Fuzz(func(t *testing.T, text string, a, b, c, d int, cat uint8) {
		fs := []Finding{
			{Start: a, End: b, Category: cats[int(cat)%len(cats)]},
			{Start: c, End: d, Category: cats[int(cat/16)%len(cats)]},
			{Start: min(a, c), End: max(b, d), Category: Phone},
		}
		out := Redact(text, fs)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8: %q", out)
		}
		for _, f := range fs {
			if f.Category.Personal() && f.Start >= 0 && f.Start < f.End && f.End <= len(text) &&
				onBoundary(text, f.Start) && onBoundary(text, f.End) {
				if !strings.Contains(out, "[removed: ") {
					t.Fatalf("valid span %+v not redacted: %q", f, out)
				}
				return
			}
		}
		if out != strings.ToValidUTF8(text, "\uFFFD") {
			t.Fatalf("no valid span, yet the text changed: %q -> %q", text, out)
		}
	})
}
