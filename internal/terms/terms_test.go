package terms

import (
	"slices"
	"testing"

	"github.com/kizuki-dev/kizuki/japanese"
)

// One analyzer for the package: the dictionary loads once.
var ja = japanese.New()

func texts(ts []Term) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Text)
	}
	return out
}

func TestOf(t *testing.T) {
	t.Parallel()
	e := New(ja, "Kumo Mobile", "クモモバイル", "kumomobile")
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"english words and phrases", "Kumo Mobile: no signal since the update, refund please! https://x.com/a @kumo_support",
			[]string{"no signal", "signal", "update", "refund"}},
		{"brand words left out", "kumomobile KUMO mobile charges", []string{"charges"}},
		{"numbers need letters", "error 503 on 5G", []string{"error", "5g"}},
		{"a hashtag is a word of its own", "lunch #sorabad today", []string{"lunch", "sorabad"}},
		{"japanese noun runs and phrases", "クモモバイル、電波が入らないし通信障害ひどい",
			[]string{"電波", "電波が入らない", "通信障害", "通信障害ひどい"}},
		{"japanese brand inside a compound", "クモモバイル解約したい", []string{"解約"}},
		{"japanese negation spelled politely", "ログインできません", []string{"ログイン", "ログインできません"}},
		{"japanese prefix joins its noun", "パスワード再設定はどこ？", []string{"パスワード再設定"}},
		{"japanese verb without negation", "料金プランの変更方法を教えてください", []string{"料金プラン", "変更方法", "変更方法を教える"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := texts(e.Of(tc.text)); !slices.Equal(got, tc.want) {
				t.Errorf("Of(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestOfFoldsForms(t *testing.T) {
	t.Parallel()
	e := New(ja)
	a, b := e.Of("ＳＩＭカードが届かない"), e.Of("simカードが届かない")
	if len(a) != 2 || len(b) != 2 || a[0].Key != b[0].Key || a[1].Key != b[1].Key {
		t.Errorf("full and half width variants differ: %+v vs %+v", a, b)
	}
	if x, y := e.Of("refund charges"), e.Of("Refund charge"); x[1].Key != y[1].Key {
		t.Errorf("plural and singular differ: %+v vs %+v", x, y)
	}
}

func TestCounterTop(t *testing.T) {
	t.Parallel()
	e := New(ja, "Kumo Mobile")
	c := NewCounter()
	for _, s := range []string{
		"Kumo Mobile no signal again",
		"no signal in Osaka, Kumo Mobile",
		"Kumo Mobile: No Signal since noon",
		"kumo mobile signal is weak, refund?",
		"how do I get a refund from Kumo Mobile",
		"refund for the double charge",
	} {
		c.Add(e.Of(s))
	}
	got := c.Top(3, 2)
	var names []string
	for _, x := range got {
		names = append(names, x.Text)
	}
	// "signal" appears in 4 posts, more than "no signal" (3), so it stays.
	if want := []string{"signal", "no signal", "refund"}; !slices.Equal(names, want) {
		t.Errorf("Top = %q, want %q", names, want)
	}
	if got[1].Posts != 3 || c.Posts(got[0].Key()) != 4 {
		t.Errorf("counts %+v", got)
	}

	// A word as frequent as its phrase is left out.
	c2 := NewCounter()
	for _, s := range []string{"no signal", "no signal!", "NO SIGNAL"} {
		c2.Add(e.Of(s))
	}
	if top := c2.Top(5, 1); len(top) != 1 || top[0].Text != "no signal" {
		t.Errorf("Top = %+v, want only the phrase", top)
	}
}
