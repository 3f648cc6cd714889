package safety

import (
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func TestRedact(t *testing.T) {
	s := newTestScreener(t, Config{Products: testProducts})
	for _, tc := range []struct{ name, text, want string }{
		{"phone and email", "Call me on 555-201-4477 or jane@example.com",
			"Call me on [removed: phone number] or [removed: email address]"},
		{"record keeps keyword", "My MRN is 00123456.", "My MRN is [removed: record number]."},
		{"crisis and adverse untouched", "I want to die. Ozempic gave me nausea.",
			"I want to die. Ozempic gave me nausea."},
		{"nothing", "Sugars steady today", "Sugars steady today"},
		{"unicode", "Ça va? appelle 06 12 34 56 78 — merci ❤️", "Ça va? appelle [removed: phone number] — merci ❤️"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Redact(tc.text, s.Screen(tc.text)); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestRedactSpans(t *testing.T) {
	text := "abc 0123456789 xyz"
	for _, tc := range []struct {
		name string
		fs   []Finding
		want string
	}{
		{"overlap same", []Finding{{Start: 4, End: 9, Category: Phone}, {Start: 6, End: 14, Category: Phone}},
			"abc [removed: phone number] xyz"},
		{"overlap mixed", []Finding{{Start: 4, End: 9, Category: Phone}, {Start: 6, End: 14, Category: SSN}},
			"abc [removed: personal information] xyz"},
		{"unsorted", []Finding{{Start: 15, End: 18, Category: URL}, {Start: 0, End: 3, Category: Email}},
			"[removed: email address] 0123456789 [removed: link]"},
		{"out of range", []Finding{{Start: 4, End: 99, Category: Phone}, {Start: -1, End: 2, Category: Phone},
			{Start: 5, End: 5, Category: Phone}, {Start: 9, End: 4, Category: Phone}}, text},
		{"not personal", []Finding{{Start: 0, End: 3, Category: Crisis}, {Start: 4, End: 14, Category: AdverseEvent}}, text},
		{"adjacent", []Finding{{Start: 4, End: 9, Category: Phone}, {Start: 9, End: 14, Category: Phone}},
			"abc [removed: phone number][removed: phone number] xyz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Redact(text, tc.fs); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestRedactUTF8(t *testing.T) {
	text := "héllo ❤️ 555"
	// A span splitting "é" or the heart is not a span of this text: ignored.
	for _, f := range []Finding{{Start: 2, End: 4, Category: Phone}, {Start: 8, End: 10, Category: Phone}} {
		if got := Redact(text, []Finding{f}); got != text {
			t.Errorf("%v: got %q", f, got)
		}
	}
	bad := "call \xff\xfe 555-201-4477 \xc3"
	got := Redact(bad, newTestScreener(t, Config{}).Screen(bad))
	if !utf8.ValidString(got) || !strings.Contains(got, "[removed: phone number]") {
		t.Errorf("got %q", got)
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"confidence high", Config{MinConfidence: 1.5}},
		{"confidence negative", Config{MinConfidence: -0.1}},
		{"no brand", Config{Products: []Product{{Generics: []string{"x"}}}}},
		{"pattern in name", Config{Products: []Product{{Brand: "a|b"}}}},
		{"no words", Config{Products: []Product{{Brand: "Ok", Misspellings: []string{"!!"}}}}},
		{"bad domain", Config{AllowDomains: []string{"a b.com"}}},
		{"empty domain", Config{AllowDomains: []string{" "}}},
		{"no reaction term", Config{Reactions: []Reaction{{Variants: []string{"x"}}}}},
		{"bad variant", Config{Reactions: []Reaction{{Term: "x", Variants: []string{"[]"}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil {
				t.Error("New accepted it")
			}
		})
	}
}

// TestConcurrentScreen: one Screener serves every room; run with -race.
func TestConcurrentScreen(t *testing.T) {
	s := newTestScreener(t, Config{Products: testProducts})
	texts := append(benchPosts, "I want to die. I've been saving up my insulin", "Ozempic gave me nausea, call 555-201-4477")
	want := make([]int, len(texts))
	for i, text := range texts {
		want[i] = len(s.Screen(text))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := (g + i) % len(texts)
				if n := len(s.Screen(texts[k])); n != want[k] {
					t.Errorf("%q: %d findings, want %d", texts[k], n, want[k])
					return
				}
			}
		})
	}
	wg.Wait()
}
