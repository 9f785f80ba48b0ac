package japanese

import "testing"

func TestLooksJapanese(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want bool
	}{
		{"アプリが使えない", true},
		{"ひらがなだけ", true},
		{"カタカナ", true},
		{"ｶﾀｶﾅ", true},
		{"最高", true},
		{"iPhone最高!", true},
		{"新年快乐", true},    // kanji without kana or Hangul: could be Chinese, reads as Japanese
		{"한국어 漢字", false}, // kanji with Hangul is Korean
		{"한국어", false},
		{"great app, love it", false},
		{"привет", false},
		{"「」。、ー", false}, // Japanese punctuation alone decides nothing
		{"", false},
		{"🎉🎉", false},
	}
	for _, tc := range tests {
		if got := LooksJapanese(tc.text); got != tc.want {
			t.Errorf("LooksJapanese(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}
