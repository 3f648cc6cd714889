package safety

import "slices"

// Crisis screening weighs each phrase of crisisPhrases by its context, then reports means
// and methods (methodTerms) found beside a crisis finding.
//
// Confidence factors, multiplied into the phrase's weight:
//
//	negated within 3 words in the clause   ("I'm not suicidal")                  × 0.3
//	general advice or a hypothetical other ("if you ever feel suicidal")         × 0.35
//	about someone else                     ("my son has been suicidal")          × 0.65
//	  in a book, film or the news          ("a character who attempted suicide") × 0.6 more
//	  addressed to the reader              ("are you suicidal?")                 × 0.45
//	  about nobody in particular           ("suicide rates in diabetics")        × 0.55
//	  the topic itself                     ("suicide prevention")                × 0.4
//	  a possibility                        ("it can cause suicidal thoughts")    × 0.4
//	a hotline or support in the sentence   ("call 988")                          × 0.6
//	history with nothing current           ("I attempted years ago")             × 0.5
//	asked about or screened for            ("my GP asked if I had thoughts of")  × 0.35
//	a joke marker                          ("lol")                               × 0.6
//	an accident                            ("took too many by mistake")          × 0.3
//	study                                  ("came up in my pharmacology lecture") × 0.5
//	news or teaching, nobody's own words   ("the article says")                  × 0.7
//	a recovery told in the post, nothing current ("now I'm stable")              × 0.55
//	a weak phrase in a post asking for treatment advice ("what's helped?")      × 0.8
//
// Context marks inside the phrase itself do not count ("wish I hadn't survived" is no
// history). Besides phrases (crisisPhrases, indirectPhrases), three compositions report a
// crisis no single phrase states: an act after a wish or plan within actWindow words
// (actPhrases), a means with an intent or fixed on (crisis_means.go), and a question about a
// deadly quantity. Weak phrases (weight below the threshold) add up across the post.
//
// Reasoning: a missed crisis costs far more than a moderator's look at a false alarm, so
// support and third-party posts are lowered, not zeroed, and a caller that wants them can
// lower Config.MinConfidence.
const (
	negWindow    = 3  // words before a phrase a negator may stand
	personWindow = 6  // words before a phrase searched for its subject
	condWindow   = 10 // words before a phrase searched for "if you", "asked if"
)

// crisis appends crisis and crisis_method findings for sc to out.
func (s *Screener) crisis(sc *scan, out []Finding) []Finding {
	lx := s.lex
	from := len(out)
	for i := range sc.sents {
		sc.sents[i].crisis = 0
	}
	markYears(sc)
	var cur match
	curConf, have := 0.0, false
	// Weak signals: phrases below the threshold by their own weight, not by context. Two or
	// more distinct ones add up ("Everything feels pointless. I'm the problem"): the post is
	// reported at 1 - Π(1 - conf) when no phrase is reported alone.
	var weak, weakBest match
	weakNone, weakN, weakBestConf, reported := 1.0, 0, 0.0, false
	flush := func() {
		if !have {
			return
		}
		e := &lx.entries[cur.entry]
		if curConf < s.minConf {
			if curConf >= 0.9*e.weight && curConf >= weakMin && (weakN == 0 || weak.entry != cur.entry) {
				weakNone *= 1 - curConf
				weakN++
				weak = cur
				if curConf > weakBestConf {
					weakBest, weakBestConf = cur, curConf
				}
			}
			return
		}
		reported = true
		f := Finding{Start: sc.toks[cur.first].start, End: sc.toks[cur.last-1].end, Category: Crisis,
			Confidence: curConf, Term: e.term}
		out = append(out, f)
		if e.flags&fMethod != 0 {
			f.Category = CrisisMethod
			out = append(out, f)
		}
		st := &sc.sents[sc.toks[cur.first].sent]
		st.crisis = max(st.crisis, curConf)
	}
	for _, m := range sc.matches {
		e := &lx.entries[m.entry]
		if e.kind != kCrisis || sc.toks[m.last-1].marks&mSuppressed != 0 ||
			e.flags&fEnd != 0 && !endsClause(sc, int(m.last)) {
			continue
		}
		if e.flags&fHarmCtx != 0 && !cueNear(sc, sc.toks[m.first].sent, cHarmCtx) {
			continue
		}
		if e.flags&fAct != 0 {
			k := desire(sc, int(m.first), e.flags&fPlan != 0)
			if k < 0 {
				continue
			}
			m.first = int32(k) // the finding spans the wish: "want to ... stay asleep"
		}
		conf := crisisConfidence(sc, m, e)
		if have && m.first < cur.last {
			if conf > curConf {
				cur, curConf = m, conf
			}
			continue
		}
		flush()
		cur, curConf, have = m, conf, true
	}
	flush()
	if !reported && weakN >= 2 && 1-weakNone >= s.minConf {
		cur, curConf, have = weakBest, 1-weakNone, true
		flush()
	}
	out = s.impliedCrisis(sc, out)
	if !slices.ContainsFunc(out[from:], func(f Finding) bool { return f.Category == Crisis }) {
		out = s.modelCrisis(sc, out)
	}

	// Methods: only beside a crisis finding that was reported.
	lastEnd := int32(-1)
	for _, m := range sc.matches {
		e := &lx.entries[m.entry]
		if e.kind != kMethod || e.flags&fQuiet != 0 || sc.toks[m.last-1].marks&mSuppressed != 0 {
			continue
		}
		si := sc.toks[m.first].sent
		near := sc.sents[si].crisis
		if e.flags&fNear != 0 {
			if si > 0 {
				near = max(near, sc.sents[si-1].crisis)
			}
			if si+1 < len(sc.sents) {
				near = max(near, sc.sents[si+1].crisis)
			}
		}
		conf := near * e.weight
		if near == 0 || conf < s.minConf || negated(sc, int(m.first)) {
			continue
		}
		f := Finding{Start: sc.toks[m.first].start, End: sc.toks[m.last-1].end, Category: CrisisMethod,
			Confidence: conf, Term: e.term}
		if m.first < lastEnd && len(out) > 0 && out[len(out)-1].Category == CrisisMethod {
			// Overlaps the previous method term: keep the longer span.
			if prev := &out[len(out)-1]; f.End-f.Start > prev.End-prev.Start {
				*prev = f
				lastEnd = m.last
			}
			continue
		}
		out = append(out, f)
		lastEnd = m.last
	}
	return out
}

// crisisConfidence is e's weight times the context factors of the table above.
func crisisConfidence(sc *scan, m match, e *entry) float64 {
	first, last := int(m.first), int(m.last)
	st := &sc.sents[sc.toks[first].sent]
	conf := e.weight
	if negated(sc, first) {
		conf *= 0.3
	}
	if hasBefore(sc, first, condWindow, mCond) {
		conf *= 0.35
	}
	switch {
	case e.flags&fTopic != 0:
		subject := person(sc, first, personWindow)
		if possessive(sc, first) {
			subject = mThird // "my cousin's suicide"
		}
		switch subject {
		case mFirst:
		case mSecond:
			conf *= 0.45
		case mThird:
			conf *= 0.65
			if st.marks&mInfo != 0 {
				conf *= 0.6 // a character in a book, a case in the news
			}
		default: // no subject: "feeling suicidal tonight" is still the speaker
			implied := first > st.first && sc.toks[first-1].marks&mFeel != 0 ||
				first == st.first && e.term == "suicidal" // "Suicidal. I have a bottle of pills"
			if !implied && st.marks&(mFirst|mCurrent) == 0 {
				conf *= 0.55
			}
		}
		if last < len(sc.toks) && sc.toks[last].sent == sc.toks[first].sent && sc.toks[last].marks&mInfo != 0 ||
			hasBefore(sc, first, condWindow, mHypo) || inClause(sc, last, last+condWindow, mHypo, first) {
			conf *= 0.4
		} else if st.marks&mInfo != 0 && st.marks&mFirst == 0 {
			conf *= 0.6
		}
	case e.flags&fSelf == 0:
		switch person(sc, first, 2) {
		case mSecond:
			conf *= 0.45
		case mThird:
			conf *= 0.65
		}
	}
	if e.weight < 0.7 && sc.cues&cAdvice != 0 {
		conf *= 0.8 // "I want the pain to stop, what's helped you?": asking about treatment
	}
	return conf * contextFactor(sc, st, outside(sc, st, first, last))
}

// weakMin is the least confidence a weak signal needs to add up with others.
const weakMin = 0.3

// actWindow is how many words before an act its wish or plan may stand.
const actWindow = 8

// desire returns the first token of the wish (cWant), or with plan also of the plan (cPlan),
// within actWindow words before token i in its sentence, or -1. A wish separated from the
// act by another clause's "but" does not count.
func desire(sc *scan, i int, plan bool) int {
	bits := cWant
	if plan {
		bits |= cPlan
	}
	k := -1
	for j := i - 1; j >= 0 && j >= i-actWindow && sc.toks[j].sent == sc.toks[i].sent; j-- {
		if sc.toks[j].cues&bits != 0 {
			k = j
		} else if k >= 0 {
			break
		}
		if isClauseWord(sc.word(j)) {
			break
		}
	}
	return k
}

// endsClause reports that token i (one past a phrase) starts another clause or sentence, or
// the text has ended.
func endsClause(sc *scan, i int) bool {
	return i >= len(sc.toks) || sc.toks[i].clause != sc.toks[i-1].clause || sc.toks[i].sent != sc.toks[i-1].sent
}

// possessive reports that the word before token i is a possessive noun ("cousin's"), not a
// contraction ("it's", "I'm").
func possessive(sc *scan, i int) bool {
	if i == 0 || sc.toks[i-1].sent != sc.toks[i].sent {
		return false
	}
	w := sc.word(i - 1)
	if len(w) < 3 || w[len(w)-2] != '\'' || w[len(w)-1] != 's' {
		return false
	}
	switch string(w) {
	case "it's", "that's", "he's", "she's", "what's", "there's", "here's", "let's", "who's", "where's",
		"how's", "life's", "everything's", "nothing's", "one's":
		return false
	}
	return true
}

// countBits are the marks whose tokens each sentence counts, so that outside can tell in
// constant time whether a mark lies only inside a phrase.
var countBits = [...]uint32{mSupport, mPast, mCurrent, mJoke, mInfo, mFirst}

// summarize fills the per-sentence and per-post summaries the screens read many times, in
// one pass, so that no finding costs a walk of its sentence or post.
func (sc *scan) summarize() {
	sc.cues, sc.recovered = 0, false
	for i := range sc.sents {
		st := &sc.sents[i]
		st.tokMarks, st.counts, st.dechal = 0, [len(countBits)]int32{}, 0
		for k := st.first; k < st.last; k++ {
			m := sc.toks[k].marks
			st.tokMarks |= m
			for b, bit := range countBits {
				if m&bit != 0 {
					st.counts[b]++
				}
			}
			if m&mDechallenge != 0 {
				st.dechal++
			}
		}
		sc.cues |= st.cues
		if st.cues&cRecovered != 0 && st.marks&mNeg == 0 {
			sc.recovered = true
		}
	}
}

// negated reports a negator within negWindow words before token i in its clause, not undone
// by the word after it ("not sure").
func negated(sc *scan, i int) bool {
	for k := i - 1; k >= 0 && k >= i-negWindow; k-- {
		if sc.toks[k].clause != sc.toks[i].clause {
			return false
		}
		if sc.toks[k].marks&mNeg != 0 && sc.toks[k+1].marks&mNegOff == 0 {
			return true
		}
	}
	return false
}

// hasBefore reports a token with any of bits within window words before token i in its
// sentence.
func hasBefore(sc *scan, i, window int, bits uint32) bool {
	for k := i - 1; k >= 0 && k >= i-window && sc.toks[k].sent == sc.toks[i].sent; k-- {
		if sc.toks[k].marks&bits != 0 {
			return true
		}
	}
	return false
}

// person is the nearest person marker (mFirst, mSecond or mThird) within window words before
// token i in its sentence, or 0. A third party outranks the "my" before it: "my son".
func person(sc *scan, i, window int) uint32 {
	for k := i - 1; k >= 0 && k >= i-window && sc.toks[k].sent == sc.toks[i].sent; k-- {
		switch marks := sc.toks[k].marks; {
		case marks&mThird != 0:
			return mThird
		case marks&mSecond != 0:
			return mSecond
		case marks&mFirst != 0:
			return mFirst
		}
	}
	return 0
}
