package safety

import (
	"strings"
	"testing"
)

// benchPosts are typical posts of about 200 bytes: most carry nothing to find.
var benchPosts = []string{
	"Has anyone tried the new pump? My numbers have been all over the place since Tuesday, " +
		"mostly 8-12 mmol after breakfast. Thinking of asking my nurse about a basal change.",
	"Day 3 on Ozempic 0.25 mg and honestly the nausea is rough. Eating small meals helps a bit. " +
		"Any tips for the first month? My A1c was 7.9 so hoping this works.",
	"Thank you all for the support this week. Appointment at 10:30 tomorrow with Dr Patel, " +
		"will report back. Call me on 07700 900123 if you want to chat before then!",
	"Some days I just want to die, everything hurts and nobody gets it. Not sure why I'm posting " +
		"this here but I needed to say it somewhere. Sorry for the downer.",
}

func benchScreener(b *testing.B) *Screener {
	s, err := New(Config{Products: testProducts})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkScreen is the cost of all screens on one post; lexicon-only is the same without
// the crisis model.
func BenchmarkScreen(b *testing.B) {
	b.Run("model", func(b *testing.B) { benchScreen(b, benchScreener(b)) })
	b.Run("lexicon-only", func(b *testing.B) {
		s, err := New(Config{Products: testProducts, NoCrisisModel: true})
		if err != nil {
			b.Fatal(err)
		}
		benchScreen(b, s)
	})
}

func benchScreen(b *testing.B, s *Screener) {
	long := strings.Repeat(strings.Join(benchPosts, " "), 8)[:4096]
	for _, tc := range []struct {
		name  string
		posts []string
	}{
		{"200B", benchPosts},
		{"4KiB", []string{long}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				s.Screen(tc.posts[n%len(tc.posts)])
				n++
			}
		})
	}
}

// BenchmarkScreenAdversarial is the cost of the worst 64 KiB posts, one sub-benchmark each.
func BenchmarkScreenAdversarial(b *testing.B) {
	s := benchScreener(b)
	for name, text := range adversarialPosts() {
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				s.Screen(text)
			}
		})
	}
}
