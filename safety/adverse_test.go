package safety

import (
	"testing"
)

func TestAdverseEvents(t *testing.T) {
	s := newTestScreener(t, Config{Products: testProducts})
	type pair struct{ product, reaction string }
	for _, tc := range []struct {
		name, text string
		want       []pair
	}{
		{"brand", "Since starting Ozempic I've had terrible nausea", []pair{{"Ozempic", "nausea"}}},
		{"generic", "on sertraline 50mg and the insomnia is brutal", []pair{{"Zoloft", "insomnia"}}},
		{"multiword generic", "insulin glargine gave me a rash", []pair{{"Lantus", "rash"}}},
		{"misspelling", "Ozempik is making me so tired all the time", []pair{{"Ozempic", "fatigue"}}},
		{"shared generic", "semaglutide gave me a headache", []pair{{"semaglutide", "headache"}}},
		{"two reactions", "Ozempic: nausea and my hair is falling out",
			[]pair{{"Ozempic", "nausea"}, {"Ozempic", "hair loss"}}},
		{"next sentence", "Started Wegovy last month. The nausea hit on day 3.", []pair{{"Wegovy", "nausea"}}},
		{"third party", "My mum came out in hives after her first Humira injection", []pair{{"Humira", "hives"}}},
		{"anyone else", "Has anyone else had blurred vision on semaglutide?", []pair{{"semaglutide", "blurred vision"}}},
		{"resolved", "My nausea on Ozempic finally went away", []pair{{"Ozempic", "nausea"}}},
		{"indication", "I take Zoloft for anxiety", nil},
		{"negated", "No side effects at all on Mounjaro", nil},
		{"negated product", "My nausea is from the pregnancy, not the metformin", nil},
		{"question", "Does Ozempic cause hair loss?", nil},
		{"leaflet", "The leaflet says metformin can cause diarrhoea", nil},
		{"conditional", "if I get a rash on tamoxifen I call the nurse", nil},
		{"benefit", "Sertraline has really helped my anxiety", nil},
		{"relieved", "Since starting Lyrica my back pain has gone", nil},
		{"relief by the product", "Mounjaro got rid of my heartburn", nil},
		{"relieved but caused", "Lipitor gave me muscle aches for a month but they have gone now",
			[]pair{{"Lipitor", "muscle pain"}}},
		{"relieved after stopping", "the diarrhoea stopped once I came off metformin",
			[]pair{{"Glucophage", "diarrhoea"}}},
		{"relieved on the product", "the headaches on Keytruda stopped after a week", []pair{{"Keytruda", "headache"}}},
		{"product stopped", "Jardiance gave me thrush so the nurse stopped it", []pair{{"Jardiance", "infection"}}},
		{"no reaction", "Getting my Ozempic by mail order now", nil},
		{"no product", "Had a headache all day, probably the weather", nil},
		{"substring", "Ozempicky is not a word, nausea", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := s.AdverseEvents(tc.text)
			got := map[pair]bool{}
			for _, f := range fs {
				got[pair{f.Product, f.Term}] = true
			}
			for _, w := range tc.want {
				if !got[w] {
					t.Errorf("%q: want %v, got %s", tc.text, w, describe(tc.text, fs))
				}
			}
			if len(tc.want) == 0 && len(fs) > 0 {
				t.Errorf("%q: want nothing, got %s", tc.text, describe(tc.text, fs))
			}
		})
	}
}

func TestAdverseEventsConfig(t *testing.T) {
	if fs := newTestScreener(t, Config{}).AdverseEvents("Ozempic gave me nausea"); len(fs) > 0 {
		t.Errorf("no products configured, got %v", fs)
	}
	s := newTestScreener(t, Config{
		Products:  []Product{{Brand: "Zyx-Pen", Generics: []string{"zyxamab alfa"}}},
		Reactions: []Reaction{{Term: "photosensitivity", Variants: []string{"sun|light sensitivity", "burn easily"}}},
	})
	text := "On zyxamab alfa since June and I burn easily now"
	fs := s.AdverseEvents(text)
	if len(fs) != 1 || fs[0].Product != "Zyx-Pen" || fs[0].Term != "photosensitivity" {
		t.Fatalf("got %s", describe(text, fs))
	}
	if got := text[fs[0].Start:fs[0].End]; got != "zyxamab alfa since June and I burn easily" {
		t.Errorf("span %q", got)
	}
}

// TestAdverseEventsCloser: a reaction beside the product is more likely its reaction.
func TestAdverseEventsCloser(t *testing.T) {
	s := newTestScreener(t, Config{Products: testProducts})
	conf := func(text string) float64 {
		fs := s.AdverseEvents(text)
		if len(fs) != 1 {
			t.Fatalf("%q: got %s", text, describe(text, fs))
		}
		return fs[0].Confidence
	}
	near := conf("Lipitor gave me muscle aches.")
	sentence := conf("Lipitor is cheap and I have been walking a lot every single day with friends, with muscle aches.")
	adjacent := conf("I started Lipitor in May. Muscle aches since.")
	apart := conf("I started Lipitor in May. We went on holiday. It rained. Muscle aches since.")
	if !(near > sentence && sentence > adjacent && adjacent > apart) {
		t.Errorf("confidence should fall with distance: %v %v %v %v", near, sentence, adjacent, apart)
	}
}
