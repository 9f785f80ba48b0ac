package japanese

import (
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func TestNewIsLazy(t *testing.T) {
	t.Parallel()
	a := New()
	if a.tok != nil {
		t.Fatal("New loaded the dictionary")
	}
	if got := a.Tokens(""); got != nil {
		t.Errorf("Tokens(\"\") = %v", got)
	}
	if a.tok != nil {
		t.Error("Tokens(\"\") loaded the dictionary")
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	got := testAnalyzer.Tokens("アプリが使えない")
	want := []Token{
		{Surface: "アプリ", Base: "アプリ", POS: "名詞", POS1: "一般", Start: 0, End: 9},
		{Surface: "が", Base: "が", POS: "助詞", POS1: "格助詞", Start: 9, End: 12},
		{Surface: "使え", Base: "使える", POS: "動詞", POS1: "自立", Form: "未然形", Start: 12, End: 18, conj: "一段"},
		{Surface: "ない", Base: "ない", POS: "助動詞", Form: "基本形", Start: 18, End: 24, conj: "特殊・ナイ"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d tokens: %s", len(got), dump(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("token %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// checkCover fails unless toks tile text exactly, with exact byte offsets.
func checkCover(t *testing.T, text string, toks []Token) {
	t.Helper()
	pos := 0
	for _, tok := range toks {
		if tok.Start != pos || tok.End < tok.Start || tok.End > len(text) || text[tok.Start:tok.End] != tok.Surface {
			t.Fatalf("%q: token %+v does not continue at byte %d", text, tok, pos)
		}
		if tok.Base == "" || tok.POS == "" {
			t.Fatalf("%q: token %+v without base or POS", text, tok)
		}
		pos = tok.End
	}
	if pos != len(text) {
		t.Fatalf("%q: tokens end at byte %d of %d", text, pos, len(text))
	}
}

func TestTokensOffsets(t *testing.T) {
	t.Parallel()
	for _, text := range []string{
		"アプリが使えない",
		"クモモバイルのiphoneが繋がらない😡 返金して!!\n#最悪",
		"  先頭と末尾に空白  ",
		"a\xffb使えない\xe3\x81", // invalid UTF-8
		"ｶﾀｶﾅと全角ＡＢＣ",
		"🎉",
		strings.Repeat("最高", 200),
	} {
		checkCover(t, text, testAnalyzer.Tokens(text))
	}
}

func FuzzTokens(f *testing.F) {
	for _, s := range []string{"アプリが使えない", "最高じゃない?", "a\xffb", "どうすればログインできますか", "w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		an := testAnalyzer.Analyze(text)
		checkCover(t, text, an.Tokens)
		an.IsQuestion()
		an.HasNegation()
		for i := 0; i <= len(text); i++ {
			an.NegatedAt(0, i)
			an.NegatedAt(i, len(text))
		}
		_ = LooksJapanese(text)
		_ = utf8.ValidString(text)
	})
}

func TestConcurrentFirstUse(t *testing.T) {
	t.Parallel()
	a := New()
	var wg sync.WaitGroup
	results := make([]bool, 8)
	for i := range results {
		wg.Go(func() {
			an := a.Analyze("アプリが使えない")
			results[i] = an.NegatedAt(len("アプリが"), len("アプリが使え"))
		})
	}
	wg.Wait()
	for i, ok := range results {
		if !ok {
			t.Errorf("goroutine %d: not negated", i)
		}
	}
}

// benchText is a typical post, about 100 characters.
const benchText = "クモモバイルに乗り換えてから一週間、昨日の夜から急にネットに全然つながらないんだけど、" +
	"再起動しても直らないし、サポートにも電話がつながらない。どうすれば直りますか？本当に困ってる、返金してほしい。"

func BenchmarkAnalyze(b *testing.B) {
	testAnalyzer.Preload()
	b.SetBytes(int64(len(benchText)))
	b.ReportAllocs()
	for b.Loop() {
		an := testAnalyzer.Analyze(benchText)
		an.IsQuestion()
		an.HasNegation()
	}
}
