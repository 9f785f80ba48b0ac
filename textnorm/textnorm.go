// Package textnorm normalizes text the same way for rule terms and posts,
// so that a keyword written once matches every way people type it: Unicode
// NFKC (full- and half-width forms folded), lower case, hiragana folded to
// katakana, invisible characters dropped. It also knows which scripts
// separate words with spaces, because a regexp \b silently fails next to
// kana and kanji: Latin keywords need word boundaries, Japanese ones match
// as substrings.
package textnorm

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Text is a normalized text in two forms with identical byte offsets:
// Lower (NFKC, lower case, invisibles dropped) for morphological analysis,
// which needs kana as written, and Norm (Lower with hiragana folded to
// katakana) for matching.
type Text struct {
	Lower string
	Norm  string
}

// Normalize returns the normalized forms of s. Invalid UTF-8 becomes U+FFFD.
func Normalize(s string) Text {
	if isPlainASCII(s) && !needsASCIIWork(s) {
		return Text{Lower: s, Norm: s}
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if !isPlainASCII(s) {
		s = norm.NFKC.String(s)
	}
	var lower, folded strings.Builder
	lower.Grow(len(s))
	folded.Grow(len(s))
	space := false
	for _, r := range s {
		if r < utf8.RuneSelf {
			// ASCII, most of even a Japanese post (URLs, handles, digits): no
			// invisible characters, no kana, simple case and space rules.
			c := byte(r)
			switch c {
			case ' ', '\t', '\n', '\v', '\f', '\r':
				space = true
				continue
			}
			if space {
				if lower.Len() > 0 {
					lower.WriteByte(' ')
					folded.WriteByte(' ')
				}
				space = false
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			lower.WriteByte(c)
			folded.WriteByte(c)
			continue
		}
		if invisible(r) {
			continue
		}
		// Runs of white space become one space, so that a phrase matches
		// however it was spaced or broken across lines.
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space {
			if lower.Len() > 0 {
				lower.WriteByte(' ')
				folded.WriteByte(' ')
			}
			space = false
		}
		switch r {
		case '\u2019', '\u2018', '\u02BC', '\u2032':
			r = '\''
		}
		r = unicode.ToLower(r)
		lower.WriteRune(r)
		folded.WriteRune(foldKana(r))
	}
	return Text{Lower: lower.String(), Norm: folded.String()}
}

// needsASCIIWork reports upper case letters or white space other than
// single inner spaces.
func needsASCIIWork(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			return true
		case c == ' ':
			if i == 0 || i == len(s)-1 || s[i+1] == ' ' {
				return true
			}
		case c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			return true
		}
	}
	return false
}

// String is the matching form of s: Normalize(s).Norm.
func String(s string) string { return Normalize(s).Norm }

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// invisible reports characters that hide a keyword from a plain substring
// search without changing what a reader sees.
func invisible(r rune) bool {
	switch r {
	case '\u00AD', '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u180E':
		return true
	}
	return unicode.Is(unicode.Variation_Selector, r)
}

// foldKana maps hiragana to katakana. Both blocks are three UTF-8 bytes, so
// byte offsets stay the same.
func foldKana(r rune) rune {
	if r >= 'ぁ' && r <= 'ゖ' || r == 'ゝ' || r == 'ゞ' {
		return r + ('ァ' - 'ぁ')
	}
	return r
}

// Spaced reports whether r belongs to a script that separates words with
// spaces (Latin, Greek, Cyrillic, digits…), so that a match needs a word
// boundary next to it. Han, kana, Hangul and Thai are matched as substrings.
func Spaced(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) {
		return false
	}
	return !unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar) && r != 'ー'
}

// CJK reports whether r is written without spaces between words.
func CJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) || r == 'ー' || r == '々'
}

// Bounded reports whether the match s[start:end] stands on word boundaries
// where the script needs them: a match that begins with a spaced-script
// letter must not follow one, and one that ends with such a letter must not
// be followed by one. prefix skips the end check (a "refund*" term).
func Bounded(s string, start, end int, prefix bool) bool {
	if start > 0 {
		first, _ := utf8.DecodeRuneInString(s[start:])
		if Spaced(first) {
			before, _ := utf8.DecodeLastRuneInString(s[:start])
			if Spaced(before) {
				return false
			}
		}
	}
	if !prefix && end < len(s) {
		last, _ := utf8.DecodeLastRuneInString(s[:end])
		if Spaced(last) {
			after, _ := utf8.DecodeRuneInString(s[end:])
			if Spaced(after) {
				return false
			}
		}
	}
	return true
}

// WordStarts returns the byte offsets at which words start in s: a run of
// spaced-script letters is one word, each CJK character is one word (NEAR
// distances in Japanese are then counted in characters, a fair proxy for
// short words), and punctuation and spaces are not words.
func WordStarts(s string, dst []int) []int {
	dst = dst[:0]
	prevSpaced := false
	for i, r := range s {
		sp := Spaced(r)
		switch {
		case sp && !prevSpaced:
			dst = append(dst, i)
		case !sp && (CJK(r) || unicode.IsLetter(r) || unicode.IsDigit(r)):
			dst = append(dst, i)
		}
		prevSpaced = sp
	}
	return dst
}
