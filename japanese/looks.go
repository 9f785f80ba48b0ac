package japanese

import "unicode"

// LooksJapanese reports whether s looks like Japanese text, for posts
// without a language field: it contains hiragana or katakana, or it
// contains kanji and no Hangul (kanji also appear in Korean text). It needs
// no dictionary.
func LooksJapanese(s string) bool {
	han, hangul := false, false
	for _, r := range s {
		switch {
		case r < 0x1100:
			// Latin, Greek, Cyrillic, …: nothing to decide
		case unicode.In(r, unicode.Hiragana, unicode.Katakana):
			return true
		case unicode.Is(unicode.Han, r):
			han = true
		case unicode.Is(unicode.Hangul, r):
			hangul = true
		}
	}
	return han && !hangul
}
