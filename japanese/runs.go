package japanese

import (
	"unicode"
	"unicode/utf8"
)

// Script is the kind of a script run.
type Script uint8

const (
	// ScriptOther is anything but kana and kanji: Latin letters, digits,
	// spaces, punctuation, emoji.
	ScriptOther Script = iota
	// ScriptKatakana is a run of its own: kagome splits an unknown katakana
	// word (スマホ, most brand names) differently depending on the words
	// around it, so analyzed alone it splits the same way wherever it is
	// written, in a post and in a search query.
	ScriptKatakana
	// ScriptKanjiKana is kanji and hiragana.
	ScriptKanjiKana
)

// ScriptOf returns the script of r; prev is the script of the rune before,
// which the prolonged sound mark and the sound marks continue.
func ScriptOf(r rune, prev Script) Script {
	switch {
	case r < 0x3000:
		return ScriptOther
	case r == 'ー' || r == '゛' || r == '゜':
		if prev == ScriptOther {
			return ScriptKatakana
		}
		return prev
	case r >= 'ァ' && r <= 'ヺ' || r == 'ヽ' || r == 'ヾ' || r >= 'ㇰ' && r <= 'ㇿ':
		return ScriptKatakana
	case r == '々', r == '〆', r == '〇', r == 'ゝ', r == 'ゞ',
		unicode.In(r, unicode.Hiragana, unicode.Han):
		return ScriptKanjiKana
	}
	return ScriptOther
}

// Run is the script run text[Start:End].
type Run struct {
	Start, End int
	Script     Script
}

// Runs splits text into maximal runs of one script.
func Runs(text string) []Run {
	var out []Run
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		s := ScriptOf(r, ScriptOther)
		j := i + size
		for j < len(text) {
			r, size := utf8.DecodeRuneInString(text[j:])
			if ScriptOf(r, s) != s {
				break
			}
			j += size
		}
		out = append(out, Run{Start: i, End: j, Script: s})
		i = j
	}
	return out
}
