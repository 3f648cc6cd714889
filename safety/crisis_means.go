package safety

// Cues are a second set of context bits (token.cues, sentence.cues) for the crisis and
// adverse-event screens, beside the shared markers: the marker bits are all taken.
const (
	cIntent    uint32 = 1 << iota // tonight, I'm going to, should be enough: an intent or a time
	cAccident                     // by mistake, accidentally: not self-harm
	cRecovered                    // now I'm stable, therapy helped: recovery told in the post
	cHowMuch                      // how much, how many: opens a quantity question
	cLethal                       // to kill me, would be fatal, to not wake up: a deadly aim
	cWeakEnd                      // would it take, it would take: a quantity question's end
	cReason                       // because of the shortage, before my trip: a benign reason for a stock
	cDrug                         // a drug or means noun: pills, insulin, pregabalin
	cResolved                     // has gone, stopped, cleared up: a symptom that went away
	cCausal                       // gave me, made me, caused: a product causing a reaction
	cAdvice                       // what's helped, any tips: asking for treatment advice
	cRelief                       // stopped, got rid of, cured: relief of the symptom after it
	cWant                         // want to, wish I could, thinking about: a wish before an act
	cPlan                         // going to, planning to, tonight: a plan before an act
	cAnniv                        // years ago today: an anniversary, history though "today" is current
	cStudy                        // lecture, exam, textbook: studying the topic, whoever speaks
	cObsess                       // can't stop thinking about, keep looking at: fixed on a means
	cHarmCtx                      // on purpose, relapsed, to feel something: self-harm context
)

// cuePhrases are the cue lexicon.
var cuePhrases = []struct {
	pattern string
	bits    uint32
}{
	{"tonight|tomorrow|this+weekend|this+week|going+to|gonna|planning|plan+to|decided|ready|should+be+enough|" +
		"enough+now|have+enough|got+enough|i+know+what|i+know+how+much|how+much+i'd+need|how+much+i+need|" +
		"letting+it+happen|thinking+about+using|at+once|when+everyone|soon|finally|once+and+for+all|" +
		"in+front+of+me|on+the+table|next+to+me|beside+me|laid+out|in+case+i|in+case+it|if+i+decide|when+i+decide|" +
		"work+up+the+courage|the+courage|the+guts|brave+enough", cIntent},
	{"by+mistake|by+accident|accidentally|accidental|mistakenly|mixed+up|mix+up|mix-up|wrong+pen|wrong+dose|" +
		"double-dosed|double+dosed|ate|chewed|clumsy|tripped|fell|bumped|walked+into|stubbed|on+the+corner", cAccident},
	{"now i'm|im|i+am stable|fine|okay|ok|well|better|happy|safe|in+a+good+place", cRecovered},
	{"therapy|treatment|meds|support|dbt|cbt helped|got+me+through|saved+me", cRecovered},
	{"stop|stopped|quit|stopping self+harming|self+harm|cutting|hurting+myself", cRecovered},
	{"much better now|doing well|doing+better|doing+brilliantly|doing+amazing|grateful|proud|thriving", cRecovered},
	{"how much|many", cHowMuch},
	{"can't+stop|cant+stop|keep|been|always thinking+about|looking+at|staring+at|obsessing+over|obsessing+about", cObsess},
	{"obsessing+about|obsessing+over|fixated+on|can't+stop+looking+at", cObsess},
	{"ago today|this+week|this+month|yesterday", cAnniv},
	{"anniversary", cAnniv},
	{"lecture|lectures|exam|exams|studying|homework|textbook|module|pharmacology|class|course|educator|" +
		"educators|assignment|essay|revision|revising|seminar|tutorial", cStudy},
	{"on+purpose|deliberately|intentionally|relapsed|relapse|to+feel|to+feel+something|until+it+bled|" +
		"until+they+bled|punish+myself|so+it+would+hurt|again", cHarmCtx},
	{"want+to|wanna|wanted+to|wants+to|wish+i+could|wish+to|ready+to|rather|i'd+rather|need+to|needs+to|" +
		"tempted+to|urge+to|urges+to|thinking+about|thinking+of|think+about|thought+about|thoughts+of|" +
		"thoughts+about|pray|hope|longing+to|telling+me+to|tells+me+to|told+me+to|should+just|could+just|" +
		"might+just|decided+to|ready+for|going+to+just|urge|fantasising+about|fantasizing+about|imagining|imagine|" +
		"picturing|picture|daydreaming+about|dreaming+about|say+i+should|says+i+should|tell+me+i+should|" +
		"telling+me+i+should|i+should", cWant},
	{"going+to|gonna|planning+to|plan+to|about+to|i'll|i+will|tonight|decided+to|i'm+going+to|try+to", cPlan},
	{"to kill|to+end me|it|myself", cLethal},
	{"would|will|could kill|end me|it", cLethal},
	{"would+be|is|be fatal|lethal|deadly|enough+to+die", cLethal},
	{"to die|not+wake+up|never+wake+up|overdose|od", cLethal},
	{"would|will it take|do+it", cWeakEnd},
	{"would|will be enough|do+it", cWeakEnd},
	{"it would|will take", cWeakEnd},
	{"it'd take", cWeakEnd},
	{"because|shortage|shortages|strike|trip|holiday|holidays|travel|travelling|traveling|abroad|" +
		"in+case+of|in+case+the|in+case+there|in+case+we|cost|costs|price|prices|prescription|pharmacy|refill|brexit", cReason},
	{"pills|tablets|meds|medication|medications|painkillers|insulin|paracetamol|acetaminophen|tylenol|" +
		"ibuprofen|aspirin|opioids|oxycodone|oxy|morphine|fentanyl|codeine|co-codamol|tramadol|pregabalin|" +
		"gabapentin|amitriptyline|nortriptyline|sertraline|citalopram|fluoxetine|mirtazapine|diazepam|valium|" +
		"zopiclone|zolpidem|quetiapine|lithium|propranolol|antidepressants|sleeping+pills|sleeping+tablets|" +
		"benzos|digoxin|warfarin|methadone|rope|gun|units|seroquel|novorapid|lantus|humalog", cDrug},
	{"gone|went+away|go+away|goes+away|gone+away|stopped|cleared|cleared+up|eased|eased+off|calmed|calmed+down|" +
		"lifted|disappeared|vanished|resolved|subsided|settled+down|got+rid+of|get+rid+of|took+away|" +
		"taken+away|away|fixed|cured|no+more|lifted", cResolved},
	{"gave|giving|given|gives|made|makes|making|left|causing|caused|triggered me|my", cCausal},
	{"caused|causing|causes|triggered|triggers|side+effect|side+effects|reaction+to|reacted", cCausal},
	{"stopped|stops|got+rid+of|gets+rid+of|get+rid+of|cured|cures|fixed|fixes|cleared|clears|took|takes|" +
		"eased|eases|calmed|calms|sorted|sorts", cRelief},
	{"what's|whats|what+has|what+have helped|helps|worked|works", cAdvice},
	{"any tips|advice|recommendations|suggestions|ideas", cAdvice},
}

// markYears marks the sentence of "in 2018", "back in 2009", "since 1999" as history (mPast):
// a year is a number, which the lexicon cannot range over.
func markYears(sc *scan) {
	for i := 1; i < len(sc.toks); i++ {
		t := &sc.toks[i]
		w := sc.word(i)
		if !t.num || len(w) != 4 || !(w[0] == '1' && w[1] == '9' || w[0] == '2' && w[1] == '0') {
			continue
		}
		switch string(sc.word(i - 1)) {
		case "in", "since", "during", "of", "from", "around":
			sc.sents[t.sent].marks |= mPast
		}
	}
}

// cueNear reports a token with any of bits in the sentences si-1 to si+1.
func cueNear(sc *scan, si int, bits uint32) bool {
	for k := max(si-1, 0); k <= si+1 && k < len(sc.sents); k++ {
		if sc.sents[k].cues&bits != 0 {
			return true
		}
	}
	return false
}

// impliedCrisis adds the crisis findings that no ideation phrase states: a means with an
// intent ("been stockpiling my pregabalin. I know what I'm going to do") and a question
// about a deadly quantity ("how many of my pills would it take"). Each is weighed for
// context like a phrase (impliedConfidence) and sets its sentence's crisis, so the method
// terms beside it are reported too.
func (s *Screener) impliedCrisis(sc *scan, out []Finding) []Finding {
	lx := s.lex
	report := func(first, last int, term string, conf float64) {
		st := &sc.sents[sc.toks[first].sent]
		if conf < s.minConf || st.crisis > 0 {
			return
		}
		f := Finding{Start: sc.toks[first].start, End: sc.toks[last-1].end, Category: Crisis, Confidence: conf, Term: term}
		out = append(out, f, Finding{Start: f.Start, End: f.End, Category: CrisisMethod, Confidence: conf, Term: term})
		st.crisis = conf
	}
	for _, m := range sc.matches {
		e := &lx.entries[m.entry]
		if e.kind != kMethod || e.flags&fMeans == 0 || sc.toks[m.last-1].marks&mSuppressed != 0 {
			continue
		}
		si := sc.toks[m.first].sent
		if e.flags&fNeedsDrug != 0 && !cueNear(sc, si, cDrug) {
			continue
		}
		conf := impliedConfidence(sc, int(m.first), 0.8)
		if !cueNear(sc, si, cIntent) {
			if e.flags&fStock == 0 {
				continue
			}
			conf *= 0.75 // a stockpile for no reason told is a warning sign on its own
		}
		if cueNear(sc, si, cReason) {
			conf *= 0.5 // stocking up before a trip or a shortage
		}
		report(int(m.first), int(m.last), e.term, conf)
	}
	// A means the speaker cannot stop thinking about or looking at: "been looking at the pills
	// in my drawer all evening".
	for _, m := range sc.matches {
		e := &lx.entries[m.entry]
		if e.kind != kMethod || e.flags&fQuiet != 0 || sc.toks[m.last-1].marks&mSuppressed != 0 {
			continue
		}
		for k := int(m.first) - 1; k >= 0 && k >= int(m.first)-actWindow && sc.toks[k].sent == sc.toks[m.first].sent; k-- {
			if sc.toks[k].cues&cObsess != 0 {
				report(k, int(m.last), e.term, impliedConfidence(sc, k, 0.65))
				break
			}
		}
	}
	// "how much|many ... would it take|to kill me": the end within 10 words of the question in
	// the sentence; a weak end ("would it take") needs a drug named and to end the sentence.
	for i := range sc.toks {
		if sc.toks[i].cues&cHowMuch == 0 || i > 0 && sc.toks[i-1].cues&cHowMuch != 0 {
			continue
		}
		si := sc.toks[i].sent
		drug := false
		for j := i + 1; j < len(sc.toks) && j <= i+12 && sc.toks[j].sent == si; j++ {
			c := sc.toks[j].cues
			drug = drug || c&cDrug != 0
			if c&(cLethal|cWeakEnd) == 0 {
				continue
			}
			end := j + 1
			for end < len(sc.toks) && sc.toks[end].sent == si && sc.toks[end].cues&(cWeakEnd|cLethal) != 0 {
				c |= sc.toks[end].cues
				end++
			}
			// A weak end counts where the sentence ends: "it would take", not "would it take
			// to cover a curry".
			if c&cLethal != 0 || drug && (end == len(sc.toks) || sc.toks[end].sent != si) {
				report(i, end, "quantity", impliedConfidence(sc, i, 0.8))
			}
			break
		}
	}
	return out
}

// impliedConfidence weighs an implied crisis at token i like a phrase without fSelf.
func impliedConfidence(sc *scan, i int, conf float64) float64 {
	st := &sc.sents[sc.toks[i].sent]
	if negated(sc, i) {
		conf *= 0.3
	}
	if hasBefore(sc, i, condWindow, mCond) {
		conf *= 0.5
	}
	if person(sc, i, personWindow) == mThird && st.marks&mFirst == 0 {
		conf *= 0.65
	}
	return conf * contextFactor(sc, st, outside(sc, st, i, i+1))
}

// contextFactor is the product of the factors that weigh every crisis finding by its
// sentence and post: support, history, jokes, accidents, study, and recovery told elsewhere.
// marks are the sentence's marks outside the phrase: "wish I hadn't survived" is no history.
func contextFactor(sc *scan, st *sentence, marks uint32) float64 {
	f := 1.0
	if marks&mSupport != 0 {
		f *= 0.6
	}
	if marks&mPast != 0 && (marks&mCurrent == 0 || st.cues&cAnniv != 0) {
		f *= 0.5
	}
	if marks&mJoke != 0 {
		f *= 0.6
	}
	if st.cues&cAccident != 0 {
		f *= 0.3
	}
	if st.cues&cStudy != 0 {
		f *= 0.5
	}
	if marks&mInfo != 0 && marks&mFirst == 0 {
		f *= 0.7 // a lecture, an article: nobody's own words
	}
	if marks&mCurrent == 0 && sc.recovered {
		f *= 0.55 // "I used to want to die. Now I'm stable"
	}
	return f
}

// outside is the union of the marks of the tokens of st outside [first, last), and of the
// marks set on the sentence by code (markYears).
// Only countBits are told apart; other marks count wherever they are. The cost is the
// phrase's length, not the sentence's.
func outside(sc *scan, st *sentence, first, last int) uint32 {
	m := st.tokMarks
	lo, hi := max(first, st.first), min(last, st.last)
	for b, bit := range countBits {
		if m&bit == 0 {
			continue
		}
		n := int32(0)
		for k := lo; k < hi; k++ {
			if sc.toks[k].marks&bit != 0 {
				n++
			}
		}
		if n == st.counts[b] {
			m &^= bit
		}
	}
	return m | st.marks&mPast&^st.tokMarks
}
