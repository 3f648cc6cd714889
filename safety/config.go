package safety

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// New compiles cfg into a Screener: every pattern and lexicon is built here, once.
func New(cfg Config) (*Screener, error) {
	s, err := newLexical(cfg)
	if err != nil || cfg.NoCrisisModel {
		return s, err
	}
	if s.model, err = trainedModel(); err != nil {
		return nil, err
	}
	return s, nil
}

// newLexical is New without the crisis model, which is trained with one.
func newLexical(cfg Config) (*Screener, error) {
	if cfg.MinConfidence < 0 || cfg.MinConfidence > 1 {
		return nil, fmt.Errorf("safety: MinConfidence %v is outside [0, 1]", cfg.MinConfidence)
	}
	s := &Screener{lex: newLexicon(), minConf: cfg.MinConfidence}
	if s.minConf == 0 {
		s.minConf = DefaultMinConfidence
	}
	for _, d := range cfg.AllowDomains {
		d = strings.Trim(strings.ToLower(strings.TrimSpace(d)), ".")
		if d == "" || strings.ContainsAny(d, " /@") {
			return nil, fmt.Errorf("safety: allowed domain %q is not a host name", d)
		}
		s.allow = append(s.allow, d)
	}
	var err error
	if s.pi, err = compilePersonal(); err != nil {
		return nil, err
	}
	if err := s.addBuiltins(); err != nil {
		return nil, err
	}
	if err := s.addProducts(cfg.Products); err != nil {
		return nil, err
	}
	reactions := append(defaultReactions[:len(defaultReactions):len(defaultReactions)], cfg.Reactions...)
	for i, r := range reactions {
		if strings.TrimSpace(r.Term) == "" {
			return nil, errors.New("safety: a reaction has no term")
		}
		for _, p := range append([]string{r.Term}, r.Variants...) {
			if err := s.lex.add(p, entry{kind: kReaction, term: r.Term, weight: 1, id: i}); err != nil {
				return nil, fmt.Errorf("safety: reaction %q: %w", r.Term, err)
			}
		}
	}
	for _, r := range reactions {
		s.reactions = append(s.reactions, r.Term)
	}
	return s, nil
}

// addBuiltins adds the context markers and the crisis lexicon.
func (s *Screener) addBuiltins() error {
	for _, m := range markerPhrases {
		if err := s.lex.add(m.pattern, entry{kind: kMarker, flags: m.bits}); err != nil {
			return err
		}
	}
	for _, m := range cuePhrases {
		if err := s.lex.add(m.pattern, entry{kind: kCue, flags: m.bits}); err != nil {
			return err
		}
	}
	for _, p := range suppressPhrases {
		if err := s.lex.add(p, entry{kind: kSuppress, flags: mSuppressed}); err != nil {
			return err
		}
	}
	for _, p := range slices.Concat(crisisPhrases, indirectPhrases, actPhrases) {
		if err := s.lex.add(p.pattern, entry{kind: kCrisis, term: p.term, weight: p.weight, flags: p.flags}); err != nil {
			return err
		}
	}
	for _, p := range slices.Concat(methodTerms, meansTerms) {
		if err := s.lex.add(p.pattern, entry{kind: kMethod, term: p.term, weight: p.weight, flags: p.flags}); err != nil {
			return err
		}
	}
	return nil
}

// addProducts gives each product a key named by its brand. A generic name listed by several
// products gets a key of its own, named by the generic: a post that says only "semaglutide"
// does not say which brand.
func (s *Screener) addProducts(products []Product) error {
	owners := map[string][]int{} // folded generic → products listing it
	for i, p := range products {
		if strings.TrimSpace(p.Brand) == "" {
			return fmt.Errorf("safety: product %d has no brand", i)
		}
		for _, g := range p.Generics {
			k := strings.Join(foldWords(g), " ")
			if len(owners[k]) == 0 || owners[k][len(owners[k])-1] != i {
				owners[k] = append(owners[k], i)
			}
		}
	}
	add := func(name string, key int) error {
		if len(foldWords(name)) == 0 {
			return fmt.Errorf("safety: product name %q has no words", name)
		}
		// Product names are literal: escape nothing, but a name with pattern syntax is an error.
		if strings.ContainsAny(name, "|+[]") {
			return fmt.Errorf("safety: product name %q contains one of | + [ ]", name)
		}
		return s.lex.add(name, entry{kind: kProduct, term: name, id: key})
	}
	for i, p := range products {
		key := len(s.products)
		s.products = append(s.products, p.Brand)
		if err := add(p.Brand, key); err != nil {
			return err
		}
		for _, m := range p.Misspellings {
			if err := add(m, key); err != nil {
				return err
			}
		}
		for _, g := range p.Generics {
			k := strings.Join(foldWords(g), " ")
			if len(owners[k]) < 2 {
				if err := add(g, key); err != nil {
					return err
				}
				continue
			}
			if owners[k][0] != i {
				continue // added with its first owner
			}
			s.products = append(s.products, g)
			if err := add(g, len(s.products)-1); err != nil {
				return err
			}
		}
	}
	return nil
}
