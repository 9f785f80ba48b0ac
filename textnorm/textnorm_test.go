package textnorm

import (
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, norm, lower string
	}{
		{"ascii lower", "Kumo MOBILE", "kumo mobile", "kumo mobile"},
		{"full width latin", "ＫＵＭＯ　Ｍｏｂｉｌｅ", "kumo mobile", "kumo mobile"},
		{"half width katakana", "ｸﾓﾓﾊﾞｲﾙ", "クモモバイル", "クモモバイル"},
		{"hiragana folds to katakana", "くももばいる", "クモモバイル", "くももばいる"},
		{"zero width space dropped", "kumo\u200bmobile", "kumomobile", "kumomobile"},
		{"full width digits", "１２３", "123", "123"},
		{"circled and compat", "①ｷﾛ", "1キロ", "1キロ"},
		{"invalid utf8", "a\xffb", "a\uFFFDb", "a\uFFFDb"},
		{"white space collapsed", "  kumo \n\t mobile  ", "kumo mobile", "kumo mobile"},
		{"curly apostrophe", "don\u2019t", "don't", "don't"},
		{"accented kept", "Café", "café", "café"},
		{"emoji variation selector dropped", "❤️", "❤", "❤"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Normalize(tc.in)
			if got.Norm != tc.norm || got.Lower != tc.lower {
				t.Errorf("Normalize(%q) = {%q, %q}, want {%q, %q}", tc.in, got.Lower, got.Norm, tc.lower, tc.norm)
			}
		})
	}
}

func TestBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, term string
		prefix           bool
		want             bool
	}{
		{"whole word", "i love kumo mobile", "kumo", false, true},
		{"inside a word", "kumon school", "kumo", false, false},
		{"prefix term inside a word", "refunded now", "refund", true, true},
		{"preceded by letters", "akumo", "kumo", false, false},
		{"next to kana", "クモモバイルのiphoneが", "iphone", false, true},
		{"kana term inside kana", "クモモバイルが最高", "モバイル", false, true},
		{"apostrophe", "kumo's plan", "kumo", false, true},
		{"underscore is a boundary", "@kumo_fan", "kumo", false, true},
		{"digit glued", "kumo2", "kumo", false, false},
		{"cyrillic needs boundary", "привет", "рив", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			i := indexOf(tc.text, tc.term)
			if i < 0 {
				t.Fatalf("term %q not in %q", tc.term, tc.text)
			}
			if got := Bounded(tc.text, i, i+len(tc.term), tc.prefix); got != tc.want {
				t.Errorf("Bounded(%q, %q) = %v, want %v", tc.text, tc.term, got, tc.want)
			}
		})
	}
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestWordStarts(t *testing.T) {
	t.Parallel()
	got := WordStarts("my phone, 圏外だ!", nil)
	want := []int{0, 3, 10, 13, 16}
	if len(got) != len(want) {
		t.Fatalf("WordStarts = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("WordStarts = %v, want %v", got, want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"Kumo", "ｸﾓﾓﾊﾞｲﾙ", "くも", "a\xffb", "\u200b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if len(n.Lower) != len(n.Norm) {
			t.Fatalf("Lower and Norm differ in length for %q", s)
		}
		if !utf8.ValidString(n.Norm) {
			t.Fatalf("invalid UTF-8 out of %q", s)
		}
		for i := range n.Norm {
			_ = Bounded(n.Norm, i, len(n.Norm), false)
			_ = Bounded(n.Norm, 0, i, false)
		}
	})
}
