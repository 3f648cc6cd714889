package safety

// Keyword lists of the personal-information screen, matched case-insensitively as whole
// words in the keywordReach bytes before a number.
var (
	phoneKeywords = []string{"phone", "telephone", "tel", "fax", "cell", "mobile", "mob", "whatsapp",
		"landline", "call", "ring", "text", "txt", "contact", "reach me", "number"}
	ssnKeywords     = []string{"ssn", "social security", "ss#", "ss no", "national insurance", "ni number", "ni no"}
	versionKeywords = []string{"version", "ver", "v", "firmware", "software", "build", "update", "release"}
)

// keywordBefore returns the first of words found as a whole word in the keywordReach bytes
// before i. One pass: at each word start, only the words with that first letter are tried.
func keywordBefore(text string, i int, words []string) (string, bool) {
	from := max(i-keywordReach, 0)
	for k := from; k < i; k++ {
		c := lowerASCII(text[k])
		if k > from && isAlnum(text[k-1]) || !isAlnum(c) {
			continue
		}
		for _, w := range words {
			if w[0] != c || i-k < len(w) || !equalFoldASCII(text[k:k+len(w)], w) {
				continue
			}
			if e := k + len(w); e == len(text) || !isAlnum(text[e]) {
				return w, true
			}
		}
	}
	return "", false
}

// equalFoldASCII compares s with the lower-case word w under ASCII case folding.
func equalFoldASCII(s, w string) bool {
	for j := 0; j < len(w); j++ {
		if lowerASCII(s[j]) != w[j] {
			return false
		}
	}
	return true
}

// indexWordFold is the index of the first occurrence of word in s, ASCII case-insensitive,
// not preceded or followed by a letter or digit; -1 if none.
func indexWordFold(s, word string) int {
	for off := 0; off+len(word) <= len(s); {
		i := indexFold(s[off:], word)
		if i < 0 {
			return -1
		}
		i += off
		before := i == 0 || !isAlnum(s[i-1])
		after := i+len(word) == len(s) || !isAlnum(s[i+len(word)])
		if before && after {
			return i
		}
		off = i + 1
	}
	return -1
}

// indexFold is strings.Index under ASCII case folding; word must be lower case.
func indexFold(s, word string) int {
	if len(word) == 0 {
		return 0
	}
	first := word[0]
	for i := 0; i+len(word) <= len(s); i++ {
		if lowerASCII(s[i]) != first {
			continue
		}
		j := 1
		for j < len(word) && lowerASCII(s[i+j]) == word[j] {
			j++
		}
		if j == len(word) {
			return i
		}
	}
	return -1
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
