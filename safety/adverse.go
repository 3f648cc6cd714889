package safety

// An adverse-event report, for a pharmacovigilance team, needs a suspect product and a
// reaction; a post naming both is worth a look. Confidence grows as they come closer and
// shrinks when the reaction is negated, is what the product treats, got better, or is only
// a possibility ("it can cause nausea"):
//
//	same sentence, within 8 words       0.88
//	same sentence                       0.80
//	next or previous sentence           0.65
//	elsewhere in the post               0.55
//	× 0.3 a negated reaction ("no nausea") or product ("not the metformin")
//	× 0.35 an indication ("Zofran for nausea")
//	× 0.5 a benefit ("it helped my anxiety"), unless the product was stopped ("came off it");
//	      a reaction that went away is still reported
//	× 0.5 a conditional ("if I get a rash, call")
//	× 0.5 a question ("does it cause hair loss?"; not "has anyone else had hair loss?")
//	× 0.5 hypothetical ("may cause", "the leaflet says"), unless the post also tells an
//	      experience ("gave me", "since starting"); an experience × 1.08
const (
	maxAdverse    = 32 // distinct product–reaction pairs kept per post
	maxPairScan   = 16 // products paired with one reaction mention in nearby sentences
	closeDistance = 8  // words
)

// occ is one product or reaction mention.
type occ struct {
	key         int   // product key or reaction index
	first, last int32 // tokens
	sent        int
	factor      float64 // the local factors: negation; for reactions also indication, benefit
	relieved    bool    // a reaction that went away with no cause told: a benefit unless attributed
}

type pair struct {
	product, reaction int
	start, end        int
	conf              float64
}

func (s *Screener) adverse(sc *scan, out []Finding) []Finding {
	if len(s.products) == 0 {
		return out
	}
	sc.prods, sc.reacts, sc.pairs = sc.prods[:0], sc.reacts[:0], sc.pairs[:0]
	for _, m := range sc.matches {
		switch e := &s.lex.entries[m.entry]; e.kind {
		case kProduct:
			o := occ{key: e.id, first: m.first, last: m.last, sent: sc.toks[m.first].sent, factor: 1}
			if negated(sc, int(m.first)) {
				o.factor = 0.3 // "from the pregnancy, not the metformin"
			}
			sc.prods = appendLongest(sc.prods, o)
		case kReaction:
			sc.reacts = appendLongest(sc.reacts, occ{key: e.id, first: m.first, last: m.last, sent: sc.toks[m.first].sent})
		}
	}
	if len(sc.prods) == 0 || len(sc.reacts) == 0 {
		return out
	}
	if cap(sc.rbest) < len(s.reactions) {
		sc.rbest = make([]int, len(s.reactions))
	}
	rbest := sc.rbest[:len(s.reactions)]
	for i := range rbest {
		rbest[i] = -1
	}
	for i := range sc.reacts {
		r := &sc.reacts[i]
		r.factor = reactionFactor(sc, r)
		r.relieved = relieved(sc, r)
		if b := rbest[r.key]; b < 0 || r.factor > sc.reacts[b].factor {
			rbest[r.key] = i
		}
	}

	// Nearby pairs: each reaction with the products of its own and the adjacent sentences.
	lo := 0
	for _, r := range sc.reacts {
		for lo < len(sc.prods) && sc.prods[lo].sent < r.sent-1 {
			lo++
		}
		for k := lo; k < len(sc.prods) && k < lo+maxPairScan && sc.prods[k].sent <= r.sent+1; k++ {
			p := sc.prods[k]
			base := 0.65
			if p.sent == r.sent {
				base = 0.8
				if dist := max(r.first-p.last, p.first-r.last); dist <= closeDistance {
					base = 0.88
				}
			}
			s.addPair(sc, p, r, base)
		}
	}
	// Post-level pairs: each product with the best mention of each reaction.
	for k, p := range sc.prods {
		if k >= 2*maxAdverse {
			break
		}
		for _, b := range rbest {
			if b >= 0 {
				s.addPair(sc, p, sc.reacts[b], 0.55)
			}
		}
	}
	for _, pr := range sc.pairs {
		if pr.conf >= s.minConf {
			out = append(out, Finding{Start: pr.start, End: pr.end, Category: AdverseEvent,
				Confidence: pr.conf, Term: s.reactions[pr.reaction], Product: s.products[pr.product]})
		}
	}
	return out
}

// addPair weighs product mention p with reaction mention r at base confidence and keeps the
// best confidence per distinct pair, at most maxAdverse pairs.
func (s *Screener) addPair(sc *scan, p, r occ, base float64) {
	conf := base * r.factor * p.factor
	if r.relieved && !attributed(sc, p, r) {
		conf *= 0.4 // "Sertraline stopped my panic attacks", "on Jardiance the fatigue has eased"
	}
	st, ps := &sc.sents[r.sent], &sc.sents[p.sent]
	switch {
	case st.question && asks(sc, int(r.first)) && st.marks&mElse == 0:
		conf *= 0.5 // "does it cause hair loss?", not "has anyone else had hair loss?"
	case (st.marks|ps.marks)&mExperience != 0:
		conf = min(conf*1.08, 1)
	case st.marks&mHypo != 0:
		conf *= 0.5
	}
	if conf < s.minConf {
		return
	}
	first, last := min(p.first, r.first), max(p.last, r.last)
	pr := pair{product: p.key, reaction: r.key, start: sc.toks[first].start, end: sc.toks[last-1].end, conf: conf}
	worst := -1
	for i := range sc.pairs {
		q := &sc.pairs[i]
		if q.product == pr.product && q.reaction == pr.reaction {
			if conf > q.conf {
				*q = pr
			}
			return
		}
		if worst < 0 || q.conf < sc.pairs[worst].conf {
			worst = i
		}
	}
	if len(sc.pairs) < maxAdverse {
		sc.pairs = append(sc.pairs, pr)
	} else if conf > sc.pairs[worst].conf {
		sc.pairs[worst] = pr
	}
}

// appendLongest appends o unless it overlaps the last mention; at the same first word the
// longer mention wins ("hair loss" over "hair").
func appendLongest(os []occ, o occ) []occ {
	if n := len(os); n > 0 && o.first < os[n-1].last {
		if o.first == os[n-1].first && o.last > os[n-1].last {
			os[n-1] = o
		}
		return os
	}
	return append(os, o)
}

// asks reports that the clause of token i opens with a question word.
func asks(sc *scan, i int) bool {
	k := i
	for k > 0 && sc.toks[k-1].clause == sc.toks[i].clause {
		k--
	}
	return sc.toks[k].marks&mAsk != 0
}

// reactionFactor is the product of the local factors of reaction mention r.
func reactionFactor(sc *scan, r *occ) float64 {
	f := 1.0
	first, last := int(r.first), int(r.last)
	if negated(sc, first) {
		f *= 0.3
	}
	if inClause(sc, first-condWindow, first, mIfExp, first) {
		f *= 0.5 // "if I get a rash, call"
	}
	if inClause(sc, first-negWindow, first, mIndication, first) {
		f *= 0.35
	}
	if inClause(sc, first-negWindow, last+negWindow, mImprove, first) && sc.sents[r.sent].marks&mDechallenge == 0 {
		f *= 0.5
	}
	return f
}

// inClause reports a token in [from, to) with any of bits in the clause of token at.
func inClause(sc *scan, from, to int, bits uint32, at int) bool {
	from, to = max(from, 0), min(to, len(sc.toks))
	for k := from; k < to; k++ {
		if sc.toks[k].clause == sc.toks[at].clause && sc.toks[k].marks&bits != 0 {
			return true
		}
	}
	return false
}

// relieved reports a reaction that went away ("the panic attacks have stopped", "got rid of
// my reflux"), with nothing in its sentence
// that makes it a reaction the product caused ("gave me", "made me") or one that went when
// the product was stopped ("since I came off it"): those are still adverse events.
func relieved(sc *scan, r *occ) bool {
	st := &sc.sents[r.sent]
	first, last := int(r.first), int(r.last)
	if st.cues&cCausal != 0 {
		return false
	}
	// "stopped my panic attacks" is relief; "stopped my metformin" a dechallenge: count the
	// dechallenge words just before the reaction against the sentence's.
	near := int32(0)
	for k := max(first-3, st.first); k < last; k++ {
		if sc.toks[k].marks&mDechallenge != 0 {
			near++
		}
	}
	if st.dechal > near {
		return false
	}
	for k := max(first-3, st.first); k < min(last+7, st.last); k++ {
		if sc.toks[k].clause != sc.toks[first].clause || negated(sc, k) {
			continue
		}
		if k < first && sc.toks[k].cues&cRelief != 0 || k >= last && sc.toks[k].cues&cResolved != 0 {
			return true
		}
	}
	return false
}

// attributed reports the reaction told as the product's: "the dizziness on Lyrica",
// "nausea from metformin".
func attributed(sc *scan, p, r occ) bool {
	if p.first != r.last+1 {
		return false
	}
	switch string(sc.word(int(r.last))) {
	case "on", "from", "with", "after":
		return true
	}
	return false
}
