package safety

// Products names the listed products text mentions, each once, in order of first mention:
// the brand, or the generic name when the generic belongs to several configured products.
// A negated mention ("not Ozempic") still counts: the question it answers is whether the
// text talks about a product at all, as a company-affiliated account's post must not
// without review. Nil when the Screener lists no products or none is named.
func (s *Screener) Products(text string) []string {
	if len(s.products) == 0 {
		return nil
	}
	sc := s.scan(text)
	if sc == nil {
		return nil
	}
	defer s.scans.Put(sc)
	var out []string
	seen := make(map[int]bool)
	for _, m := range sc.matches {
		e := &s.lex.entries[m.entry]
		if e.kind != kProduct || seen[e.id] {
			continue
		}
		seen[e.id] = true
		out = append(out, s.products[e.id])
	}
	return out
}
