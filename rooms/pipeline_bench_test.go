package rooms

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/havenhealth/haven/safety"
	"github.com/havenhealth/haven/store"
)

// benchRules are 50 rules of every kind and action, the size of a busy room's list.
func benchRules() []store.Rule {
	actions := []string{store.RuleBlock, store.RuleHold, store.RuleAlert}
	var rules []store.Rule
	for i := range 20 {
		rules = append(rules, rule(fmt.Sprintf("w%d", i), store.RuleWord, fmt.Sprintf("badword%d", i), actions[i%3]))
	}
	for i := range 5 {
		rules = append(rules, rule(fmt.Sprintf("p%d", i), store.RuleWord, fmt.Sprintf("stop taking med%d", i), actions[i%3]))
	}
	for i := range 10 {
		pat := fmt.Sprintf("cure%d*", i)
		if i%2 == 1 {
			pat = fmt.Sprintf("*cillin%d", i)
		}
		rules = append(rules, rule(fmt.Sprintf("g%d", i), store.RuleWildcard, pat, actions[i%3]))
	}
	regexes := []string{`(?i)\b\d{3}[-. ]\d{3}[-. ]\d{4}\b`, `(?i)https?://\S+`, `[A-Z0-9._%+-]+@[A-Z0-9.-]+\.[A-Z]{2,}`,
		`(?i)\bbuy\s+\w+\s+online\b`, `(?i)whats?app`, `\b(?:MRN|mrn)\s*:?\s*\d{6,}`, `(?i)\btelegram\b`,
		`(?i)(?:kill|hurt)\s+myself`, `\$\d+\s*(?:per|/)\s*pill`, `(?i)\bdm\s+me\b`, `(?i)\bpromo\s*code\b`,
		`\b\d{5}(?:-\d{4})?\b`, `(?i)cash\s*app`, `(?i)\bvenmo\b`, `(?i)crypto(?:currency)?`}
	for i, re := range regexes {
		rules = append(rules, rule(fmt.Sprintf("r%d", i), store.RuleRegex, re, actions[i%3]))
	}
	return rules
}

func benchMember(b *testing.B, rules []store.Rule, screener *safety.Screener) (*Service, *Member) {
	svc := New(nil, nil, Config{PostRate: 1e9, PostBurst: 1 << 30, Screener: screener})
	room := &Room{Slug: "bench", info: store.Room{GuidelinesVersion: 1}, members: map[string]*Member{}}
	rs, errs := compileRuleSet(rules)
	if len(errs) > 0 || rs.n != 50 {
		b.Fatalf("compile %d rules: %v", rs.n, errs)
	}
	room.rules.set.Store(rs)
	m := &Member{Room: room, ms: store.Membership{AcceptedVersion: 1},
		limiter: rate.NewLimiter(rate.Inf, 0)}
	return svc, m
}

// BenchmarkPipeline is the inline cost of every post in a room with 50 rules: all steps,
// rules already compiled (as they are after the room's first post), without and with the
// safety screens (personal information, crisis lexicon and model, adverse events). A post
// a rule stops (short_match) never reaches the screens.
func BenchmarkPipeline(b *testing.B) {
	screener, err := safety.New(safety.Config{Products: []safety.Product{{Brand: "Ozempic", Generics: []string{"semaglutide"}}}})
	if err != nil {
		b.Fatal(err)
	}
	short := "Has anyone tried the new pump? My numbers have been all over the place since Tuesday."
	long := strings.Repeat("Some days are better than others, and today I managed a walk outside. ", 58)[:4000]
	for _, tc := range []struct {
		name, text string
		screener   *safety.Screener
	}{
		{"short_clean", short, nil},
		{"short_match", short + " Call 555-123-4567 or DM me", nil},
		{"4000_chars_clean", long, nil},
		{"screens/short_clean", short, screener},
		{"screens/4000_chars_clean", long, screener},
	} {
		b.Run(tc.name, func(b *testing.B) {
			svc, m := benchMember(b, benchRules(), tc.screener)
			ctx := context.Background()
			now := time.Now()
			b.SetBytes(int64(len(tc.text)))
			b.ReportAllocs()
			for b.Loop() {
				d := &Draft{ctx: ctx, Member: m, Text: tc.text, Now: now}
				for _, step := range svc.pipeline {
					if v, _ := step.Check(d); v != Allow {
						break
					}
				}
			}
		})
	}
}
