package rooms

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

func rule(id, kind, pattern, action string) store.Rule {
	return store.Rule{ID: id, Kind: kind, Pattern: pattern, Action: action, Reason: "reason " + id}
}

func mustSet(t *testing.T, rules ...store.Rule) *ruleSet {
	t.Helper()
	rs, errs := compileRuleSet(rules)
	if len(errs) > 0 {
		t.Fatalf("compile: %v", errs)
	}
	return rs
}

func matchedID(rs *ruleSet, text string) string {
	if c := rs.match(text); c != nil {
		return c.rule.ID
	}
	return ""
}

func TestRuleMatching(t *testing.T) {
	tests := []struct {
		name    string
		rule    store.Rule
		matches []string
		misses  []string
	}{
		{"word is whole and case-insensitive", rule("w", store.RuleWord, "pill", store.RuleBlock),
			[]string{"pill", "a PILL a day", "Pill.", "(pill)", "pill-box", "take pills? no: pill!"},
			[]string{"pillow", "spill", "pills", "pil l", ""}},
		{"word boundaries are Unicode-aware", rule("u", store.RuleWord, "café", store.RuleBlock),
			[]string{"meet at the CAFÉ", "café—now", "«café»"},
			[]string{"cafés", "xcafé", "caféine"}},
		{"non-Latin words", rule("g", store.RuleWord, "таблетка", store.RuleBlock),
			[]string{"Таблетка в день", "одна таблетка."},
			[]string{"таблетками"}},
		{"phrase matches across any spacing and punctuation", rule("p", store.RuleWord, "stop taking", store.RuleHold),
			[]string{"I will STOP   taking it", "stop, taking", "stop\ntaking"},
			[]string{"stop", "taking", "stopped taking", "stop retaking", "taking stop"}},
		{"wildcard star is any run of word characters", rule("s", store.RuleWildcard, "cur*", store.RuleBlock),
			[]string{"a cure", "Cures", "curing fast", "cur"},
			[]string{"incurable", "secure", "c ure"}},
		{"wildcard question mark is one character", rule("q", store.RuleWildcard, "m?d", store.RuleBlock),
			[]string{"mad", "MED", "mïd"},
			[]string{"md", "maad", "mods"}},
		{"wildcard at the start", rule("l", store.RuleWildcard, "*cillin", store.RuleAlert),
			[]string{"amoxicillin", "Penicillin works"},
			[]string{"cillins", "amoxi cillinx"}},
		{"wildcard phrase", rule("b", store.RuleWildcard, "buy * now", store.RuleHold),
			[]string{"buy pills now", "BUY them, now!"},
			[]string{"buy now", "buy pills later now"}},
		{"regex is case-sensitive by default", rule("r", store.RuleRegex, `\bDM me\b`, store.RuleBlock),
			[]string{"just DM me", "DM me!"},
			[]string{"dm me", "DM med"}},
		{"regex (?i) folds case", rule("i", store.RuleRegex, `(?i)\d{3}-\d{4}`, store.RuleHold),
			[]string{"call 555-1234"},
			[]string{"call 55-1234"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := mustSet(t, tc.rule)
			for _, text := range tc.matches {
				if got := matchedID(rs, text); got != tc.rule.ID {
					t.Errorf("%q: no match, want rule %s", text, tc.rule.ID)
				}
			}
			for _, text := range tc.misses {
				if got := matchedID(rs, text); got != "" {
					t.Errorf("%q: matched %s, want none", text, got)
				}
			}
		})
	}
}

func TestRuleRefusals(t *testing.T) {
	tests := []struct {
		name string
		rule store.Rule
		want string // in the message
	}{
		{"backreference", rule("x", store.RuleRegex, `(a)\1`, store.RuleBlock), "backreferences"},
		{"look-ahead", rule("x", store.RuleRegex, `foo(?=bar)`, store.RuleBlock), "look-around"},
		{"matches everything", rule("x", store.RuleRegex, `.*`, store.RuleBlock), "every post"},
		{"matches the empty text", rule("x", store.RuleRegex, `a?`, store.RuleBlock), "every post"},
		{"empty alternative", rule("x", store.RuleRegex, `pill|`, store.RuleBlock), "every post"},
		{"any single character", rule("x", store.RuleRegex, `[\s\S]`, store.RuleBlock), "every post"},
		{"nested counted repeats", rule("x", store.RuleRegex, `((((a{20}){20}){20}){20})`, store.RuleBlock), "too large"},
		{"large counted repeat", rule("x", store.RuleRegex, `[a-z]{1000}b`, store.RuleBlock), "too large"},
		{"large program", rule("x", store.RuleRegex, strings.Repeat(`\w{100}`, 11)+"x", store.RuleBlock), "instructions"},
		{"repeat over RE2's limit", rule("x", store.RuleRegex, `a{1001}`, store.RuleBlock), "too large"},
		{"unbalanced", rule("x", store.RuleRegex, `(abc`, store.RuleBlock), "regex"},
		{"pattern too long", rule("x", store.RuleWord, strings.Repeat("a", 201), store.RuleBlock), "limit is 200"},
		{"empty pattern", rule("x", store.RuleWord, "  ", store.RuleBlock), "empty"},
		{"symbols in a word pattern", rule("x", store.RuleWord, "c++", store.RuleBlock), "regex rule"},
		{"wildcards alone", rule("x", store.RuleWildcard, "* ?", store.RuleBlock), "letter or digit"},
		{"unknown kind", rule("x", "glob", "pill", store.RuleBlock), "kind"},
		{"unknown action", rule("x", store.RuleWord, "pill", "ban"), "action"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compileRule(tc.rule)
			var pe *protocol.Error
			if !errors.As(err, &pe) || pe.Code != protocol.CodeBadRequest {
				t.Fatalf("compile %q: %v, want bad_request", tc.rule.Pattern, err)
			}
			if !strings.Contains(pe.Message, tc.want) {
				t.Fatalf("message %q does not say %q", pe.Message, tc.want)
			}
		})
	}
}

func TestRulePrecedence(t *testing.T) {
	alert := rule("alert", store.RuleWord, "pill", store.RuleAlert)
	hold := rule("hold", store.RuleWildcard, "pil?", store.RuleHold)
	hold2 := rule("hold2", store.RuleRegex, `(?i)pill`, store.RuleHold)
	block := rule("block", store.RuleRegex, `(?i)\bpills?\b`, store.RuleBlock)
	tests := []struct {
		name  string
		rules []store.Rule
		want  string
	}{
		{"block beats hold and alert, whatever the order", []store.Rule{alert, hold, block}, "block"},
		{"hold beats alert", []store.Rule{alert, hold}, "hold"},
		{"hold beats alert across kinds", []store.Rule{alert, hold2}, "hold2"},
		{"the oldest wins among equals", []store.Rule{hold2, hold}, "hold2"},
		{"the oldest wins among equals (word first)", []store.Rule{hold, hold2}, "hold"},
		{"alert alone", []store.Rule{alert}, "alert"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := matchedID(mustSet(t, tc.rules...), "one pill a day"); got != tc.want {
				t.Fatalf("decided by %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRuleSetSkipsBrokenStoredRules(t *testing.T) {
	rs, errs := compileRuleSet([]store.Rule{rule("bad", store.RuleRegex, `(a)\1`, store.RuleBlock), rule("ok", store.RuleWord, "pill", store.RuleBlock)})
	if len(errs) != 1 || matchedID(rs, "a pill") != "ok" {
		t.Fatalf("errs %v, match %q", errs, matchedID(rs, "a pill"))
	}
}

func TestSpamStep(t *testing.T) {
	m := &Member{}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	post := func(text string, at time.Time) *protocol.Error {
		d := &Draft{Member: m, Text: text, Now: at}
		if v, perr := spamStep(d); v != Allow {
			return perr
		}
		m.noteText(d.fingerprint, at)
		return nil
	}
	if err := post("Buy now", t0); err != nil {
		t.Fatal(err)
	}
	if err := post("something else", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := post("buy  NOW", t0.Add(10*time.Second)); err != nil {
		t.Fatalf("second copy: %v", err)
	}
	pe := post("BUYNOW\n", t0.Add(20*time.Second))
	if pe == nil || pe.Code != protocol.CodeSpam {
		t.Fatalf("third copy within 60 s: %v, want spam", pe)
	}
	// The first copy leaves the window at t0+60s: 40 s after the refused attempt.
	if ms, _ := pe.Extra["retry_after_ms"].(int64); ms < 39_000 || ms > 40_001 {
		t.Fatalf("retry_after_ms %v, want about 40000", pe.Extra["retry_after_ms"])
	}
	if err := post("buy now", t0.Add(60*time.Second)); err != nil {
		t.Fatalf("after the first copy aged out: %v", err)
	}
	if err := post("buy now", t0.Add(61*time.Second)); err == nil || err.Code != protocol.CodeSpam {
		t.Fatalf("third copy in the new window: %v", err)
	}
	// Memory is bounded: the ring forgets beyond spamMemory posts.
	for i := range spamMemory {
		if err := post(fmt.Sprintf("filler %d", i), t0.Add(62*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := post("buy now", t0.Add(63*time.Second)); err != nil {
		t.Fatalf("after the ring turned over: %v", err)
	}
}

// The prefilters may only skip a regex on posts it cannot match: compare with the regex
// alone, over posts that hit and miss, in both cases and in look-alike case forms.
func TestRegexPrefilterIsSound(t *testing.T) {
	texts := []string{"", "call 555-123-4567 now", "CALL 555.123.4567", "see https://x.example/a", "mail a@B.CO",
		"BUY pills ONLINE", "whatsapp me", "WhatApp", "MRN: 1234567", "i want to HURT   myself", "$20 per pill",
		"dm me", "DM ME", "promo code", "zip 12345-6789", "CashApp", "venmo", "Cryptocurrency", "telegram",
		"\u212Aill myſelf", "ſome text without anything", "Some days are better than others"}
	for _, r := range benchRules() {
		if r.Kind != store.RuleRegex {
			continue
		}
		rs := mustSet(t, r)
		for _, text := range texts {
			want := rs.regexes[0].re.MatchString(text)
			if got := rs.match(text) != nil; got != want {
				t.Errorf("%q on %q: prefiltered %v, regex %v", r.Pattern, text, got, want)
			}
		}
	}
	rs := mustSet(t, rule("k", store.RuleWord, "kill", store.RuleBlock))
	if matchedID(rs, "\u212AILL") != "k" { // Kelvin sign: the same letter to (?i) and to word rules
		t.Errorf("word rule missed a look-alike case form")
	}
}
