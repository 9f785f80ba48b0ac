package japanese

import (
	"strings"
	"testing"
)

var testAnalyzer = New()

func TestNegatedAt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		hit  string // the signal term; its first occurrence in text
		want bool
	}{
		// the term is a stem, a word, or ends inside a word
		{"verb stem negated", "アプリが使えない", "使え", true},
		{"term contains its own negation", "アプリが使えない", "使えない", false},
		{"hit ends inside a token", "アプリが使えない", "使", true},
		{"plain verb", "このアプリ普通に使える", "使え", false},
		{"hiragana stem with explanatory ん", "全然つながらないんだけど", "つなが", true},
		{"negated term followed by んだけど", "全然つながらないんだけど", "つながらない", false},
		{"kanji stem", "朝から繋がらない…", "繋が", true},
		{"double negation of a negated term", "繋がらないわけではない", "繋がらない", true},
		{"double negation cancels", "繋がらないわけではない", "繋が", false},
		{"わけじゃない on a negated term", "荷物が届かないわけじゃない", "届かない", true},
		{"わけじゃない cancels", "荷物が届かないわけじゃない", "届か", false},
		{"二度と", "二度と使わない", "使わ", true},
		{"past negation", "サポートに電話したけど助からなかった", "助から", true},
		{"request is not negation", "早く返金してほしい", "返金", false},
		{"request with negation", "全然返金してくれない", "返金", true},
		{"polite negation", "昨日からログインできません", "ログインでき", true},
		{"polite negation on noun", "昨日からログインできません", "ログイン", true},
		{"polite past negation", "結局使えませんでした。", "使え", true},
		{"ない adjective after noun", "問題ないです", "問題", true},
		{"existence negation with が", "返金がない", "返金", true},
		{"なし", "問題なし👍", "問題", true},
		{"無し suffix", "返金無しとか最悪", "返金", true},
		{"無い", "やる気が無い", "やる気", true},
		{"adjective negation", "思ったより悪くない", "悪", true},
		{"adjective negation whole stem", "思ったより悪くない", "悪く", true},
		{"passive", "全然返金されない", "返金", true},
		{"want-to", "もう使いたくない", "使い", true},
		{"progressive てない", "まだ届いてない", "届い", true},
		{"progressive ていない", "荷物がまだ届いていない", "届い", true},
		{"became unusable", "アプデで使えなくなった", "使え", true},
		{"ず", "何も知らず契約した", "知ら", true},
		{"ずに", "説明を読まずに解約した", "読ま", true},
		{"ぬ", "使えぬ", "使え", true},
		{"ん", "こんなの使えん", "使え", true},
		{"colloquial ねぇ", "マジで使えねぇ", "使え", true},
		{"colloquial ねー", "マジで使えねー", "使え", true},
		{"colloquial ねーよ", "こんなん使えねーよ", "使え", true},
		{"colloquial adjective", "これ良くねー", "良", true},
		{"friendly ねー is not negation", "今日も最高だねー", "最高", false},
		{"いいねぇ is not negation", "このアプリいいねぇ", "いい", false},
		{"しか…ない", "一回しか使えない", "使え", true},
		{"なさすぎ", "使えなさすぎて草", "使え", true},
		{"はず", "そんなの使えるはずがない", "使える", true},

		// copula negation and the rhetorical じゃない?
		{"じゃない", "これは最高じゃない", "最高", true},
		{"rhetorical じゃない?", "最高じゃない？", "最高", false},
		{"rhetorical じゃない? half width", "最高じゃない?", "最高", false},
		{"rhetorical じゃないですか", "これ最高じゃないですか", "最高", false},
		{"rhetorical じゃないっすか", "これ最高じゃないっすか", "最高", false},
		{"rhetorical じゃないか", "最高じゃないか", "最高", false},
		{"rhetorical じゃないの?", "え、最高じゃないの?", "最高", false},
		{"rhetorical じゃねー?", "これ最高じゃねー?", "最高", false},
		{"ではない", "最高ではない", "最高", true},
		{"ではなかった", "最高ではなかった", "最高", true},
		{"じゃなかった", "期待したほど最高じゃなかった", "最高", true},
		{"じゃありません", "最高じゃありません", "最高", true},
		{"ではありません", "最高ではありません", "最高", true},
		{"じゃねー", "全然最高じゃねーよ", "最高", true},
		{"rhetorical くない?", "このアプリ良くない?", "良", false},
		{"なくない? asserts the negation", "最近繋がらなくない?", "繋が", true},
		{"real question about negation", "まだ使えないの?", "使え", true},

		// scope: clause boundaries and content words
		{"subject is not negated", "アプリが使えない", "アプリ", false},
		{"negation in the next sentence", "最高。でも使えない", "最高", false},
		{"negation after comma", "最高だけど、使えない", "最高", false},
		{"けど joins clauses", "使えないけど最高", "最高", false},
		{"けど after the negation", "使えないけど最高", "使え", true},
		{"ので", "届かないので返金してほしい", "返金", false},
		{"space separates", "神アプリ 使えない日もある", "神アプリ", false},
		{"content noun stops", "最高のアプリがない", "最高", false},
		{"と思わない stops", "最高と思わない人もいる", "最高", false},
		{"とは言えない", "最高とは言えない", "最高", true},
		{"そうにない", "すぐには使えそうにない", "使え", true},
		{"obligation なきゃ", "今日中に使わなきゃ", "使わ", false},
		{"obligation なければならない", "毎月使わなければならない", "使わ", false},
		{"obligation なくてはいけない", "毎日ログインしなくてはいけない", "ログイン", false},
		{"obligation ないといけない", "使わないといけない", "使わ", false},
		{"conditional regret", "契約しなければよかった", "契約", true},
		{"ことはない", "使えないことはない", "使え", false},
		{"なくもない", "使えなくもない", "使え", false},
		{"なくはない", "使えなくはない", "使え", false},
		{"つまらない is one word", "この映画つまらない", "映画", false},
		{"少ない is one word", "ギガが少ない", "ギガ", false},
		{"English inside Japanese", "iphoneで使えない", "iphone", false},
		{"hit at the end", "やっぱり最高", "最高", false},
		{"ありません on noun", "今のところ特に問題はありません", "問題", true},
		{"じゃん is not negation", "これ最高じゃん", "最高", false},
		{"negation inside a later relative clause", "返金の連絡が来ない", "返金", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := strings.Index(tc.text, tc.hit)
			if start < 0 {
				t.Fatalf("hit %q not in %q", tc.hit, tc.text)
			}
			an := testAnalyzer.Analyze(tc.text)
			if got := an.NegatedAt(start, start+len(tc.hit)); got != tc.want {
				t.Errorf("NegatedAt(%q in %q) = %v, want %v\ntokens: %s", tc.hit, tc.text, got, tc.want, dump(an.Tokens))
			}
		})
	}
}

func TestNegatedAtBadSpan(t *testing.T) {
	t.Parallel()
	an := testAnalyzer.Analyze("使えない")
	for _, span := range [][2]int{{-1, 3}, {3, 3}, {6, 3}, {0, 100}} {
		if an.NegatedAt(span[0], span[1]) {
			t.Errorf("NegatedAt(%d, %d) = true", span[0], span[1])
		}
	}
	var nilAn *Analysis
	if nilAn.NegatedAt(0, 1) || nilAn.HasNegation() || nilAn.IsQuestion() {
		t.Error("nil Analysis reports something")
	}
}

func TestHasNegation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want bool
	}{
		{"アプリが使えない", true},
		{"ログインできません", true},
		{"問題ないです", true},
		{"問題なし", true},
		{"今日も最高！", false},
		{"最高じゃない？", false},
		{"最高じゃない", true},
		{"このアプリ良くない?", false},
		{"使わなきゃ", false},
		{"使わなければならない", false},
		{"ギガが少ない", false},
		{"危ないところだった", false},
		{"この映画つまらない", false},
		{"使えないんだけど", true},
		{"使えねー", true},
		{"最高だねー", false},
		{"行くんだ", false},
		{"", false},
		{"great app, no complaints", false},
	}
	for _, tc := range tests {
		if got := testAnalyzer.Analyze(tc.text).HasNegation(); got != tc.want {
			t.Errorf("HasNegation(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func dump(toks []Token) string {
	var b strings.Builder
	for _, t := range toks {
		b.WriteString(t.Surface + "/" + t.POS + "," + t.POS1 + "," + t.Form + "," + t.Base + " ")
	}
	return b.String()
}
