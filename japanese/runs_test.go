package japanese

import (
	"slices"
	"testing"
)

func TestRuns(t *testing.T) {
	t.Parallel()
	text := "今日もスマホーが繋がらない!! Kumoのｱﾌﾟﾘ、ーー最悪々"
	type run struct {
		text   string
		script Script
	}
	var got []run
	for _, r := range Runs(text) {
		got = append(got, run{text[r.Start:r.End], r.Script})
	}
	want := []run{
		{"今日も", ScriptKanjiKana}, {"スマホー", ScriptKatakana}, {"が繋がらない", ScriptKanjiKana},
		{"!! Kumo", ScriptOther}, {"の", ScriptKanjiKana}, {"ｱﾌﾟﾘ、", ScriptOther}, // half-width: NFKC comes first
		{"ーー", ScriptKatakana}, {"最悪々", ScriptKanjiKana},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Runs(%q)\n got  %v\n want %v", text, got, want)
	}
	if Runs("") != nil {
		t.Error("Runs of empty text is not empty")
	}
}

// TestAnalyzeByRuns checks that Analyze analyzes each script run alone and
// that RunTokens hands each run's tokens back, in order, relative to the run.
func TestAnalyzeByRuns(t *testing.T) {
	t.Parallel()
	text := "クモモバイルのアプリが使えない。ログインできません? アプリ"
	an := testAnalyzer.Analyze(text)
	checkCover(t, text, an.Tokens)
	from := 0
	for _, r := range Runs(text) {
		run := text[r.Start:r.End]
		want := testAnalyzer.Tokens(run)
		for _, tok := range want {
			if tok.Start < 0 || tok.End > len(run) {
				t.Fatalf("run %q: token %+v outside it", run, tok)
			}
		}
		got, ok := an.RunTokens(run, &from)
		if r.Script == ScriptOther {
			if ok {
				t.Errorf("RunTokens(%q) found a run of other script", run)
			}
			continue
		}
		if !ok || !slices.Equal(got, want) {
			t.Errorf("RunTokens(%q) = %v, %v; want %v", run, got, ok, want)
		}
	}
	if _, ok := an.RunTokens("アプリ", &from); ok {
		t.Error("RunTokens found a run after the last one")
	}
	if _, ok := an.RunTokens("見当たらない", new(int)); ok {
		t.Error("RunTokens found a run the text does not have")
	}
	var none *Analysis
	if _, ok := none.RunTokens("アプリ", new(int)); ok {
		t.Error("a nil analysis has tokens")
	}
}

// TestOtherRunsCache checks that short runs of other scripts analyzed from
// the cache give what kagome gives, and that an analysis owns its tokens.
func TestOtherRunsCache(t *testing.T) {
	t.Parallel()
	a := New()
	text := "返金して！！ 最悪。。。w https://example.com/a?b=1 ほんとに?"
	first := a.Analyze(text)
	first.Tokens[len(first.Tokens)-1].Surface = "changed"
	second := a.Analyze(text)
	checkCover(t, text, second.Tokens)
	var want []Token
	for _, r := range Runs(text) {
		for _, tok := range a.Tokens(text[r.Start:r.End]) {
			tok.Start += r.Start
			tok.End += r.Start
			want = append(want, tok)
		}
	}
	if !slices.Equal(second.Tokens, want) {
		t.Errorf("from the cache:\n got  %v\n want %v", second.Tokens, want)
	}
	if len(a.others) == 0 {
		t.Error("no short run was cached")
	}
	for run := range a.others {
		if len(run) > othersRun {
			t.Errorf("cached a run of %d bytes", len(run))
		}
	}
}
