package safety

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Redact returns text with the span of every personal-information finding replaced by
// "[removed: <label>]", the text members see. Crisis and adverse-event findings describe the
// post rather than a part to hide, and are ignored; so are spans that do not fit text
// (out of range, reversed, or not on rune boundaries: findings of some other text).
// Overlapping spans merge into one replacement, labelled by the first finding's category if
// they all agree and "personal information" otherwise. The result is valid UTF-8 even if
// text is not: invalid bytes become U+FFFD.
func Redact(text string, findings []Finding) string {
	spans := make([]Finding, 0, len(findings))
	for _, f := range findings {
		if f.Category.Personal() && f.Start >= 0 && f.Start < f.End && f.End <= len(text) &&
			onBoundary(text, f.Start) && onBoundary(text, f.End) {
			spans = append(spans, f)
		}
	}
	if len(spans) == 0 {
		return strings.ToValidUTF8(text, "\uFFFD")
	}
	slices.SortFunc(spans, func(a, b Finding) int { return a.Start - b.Start })
	var b strings.Builder
	b.Grow(len(text))
	pos := 0
	for i := 0; i < len(spans); {
		start, end, label := spans[i].Start, spans[i].End, spans[i].Category.Label()
		for i++; i < len(spans) && spans[i].Start < end; i++ {
			end = max(end, spans[i].End)
			if spans[i].Category.Label() != label {
				label = "personal information"
			}
		}
		b.WriteString(strings.ToValidUTF8(text[pos:start], "\uFFFD"))
		b.WriteString("[removed: ")
		b.WriteString(label)
		b.WriteByte(']')
		pos = end
	}
	b.WriteString(strings.ToValidUTF8(text[pos:], "\uFFFD"))
	return b.String()
}

// onBoundary reports that byte offset p of text does not split a valid multi-byte rune. A
// stray continuation byte of invalid UTF-8 is a rune of its own, as the screens decode it.
func onBoundary(text string, p int) bool {
	if p <= 0 || p >= len(text) || utf8.RuneStart(text[p]) {
		return p >= 0 && p <= len(text)
	}
	for q := p - 1; q >= 0 && q >= p-3; q-- {
		if utf8.RuneStart(text[q]) {
			r, size := utf8.DecodeRuneInString(text[q:])
			return r == utf8.RuneError && size == 1 || q+size <= p
		}
	}
	return true
}
