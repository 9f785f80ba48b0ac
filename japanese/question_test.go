package japanese

import "testing"

func TestIsQuestion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want bool
	}{
		// question marks
		{"明日行くの？", true},
		{"明日行くの?", true},
		{"これ使える?w", true},
		{"最高じゃない？", true},
		{"これで合ってますよね?", true},
		{"え?!マジで", true},
		{"最高でしょ?", true},
		{"詳細はこちら https://example.com/faq?id=12 最高", false},

		// sentence-final particles
		{"解約の方法ありますか？", true},
		{"解約の方法ありますか", true},
		{"どうすればログインできますか", true},
		{"返金してもらえるでしょうか。", true},
		{"このプランでテザリングできますか。", true},
		{"明日行くの", true},
		{"明日も使えるかな", true},
		{"明日も使えるかなー", true},
		{"いいかな(笑)", true},
		{"前も同じエラー出たっけ", true},
		{"繋がるかしら", true},
		{"マジか！", false},
		{"そっか", false},
		{"そうか、仕様なのか!", false},
		{"行くの。", false},

		// interrogatives
		{"なんで繋がらないの", true},
		{"なぜログインできないんだろう", true},
		{"どうして毎回落ちるんだよ", true},
		{"どうやって解約するの", true},
		{"どうしたら直る", true},
		{"いつ直るんだよ", true},
		{"どこで買える", true},
		{"何これ", true},
		{"どのプランがおすすめ", true},
		{"なぜか繋がらない", false},
		{"どこでも使える", false},
		{"どこにも繋がらない", false},
		{"何回も試した", false},
		{"何度やっても繋がらない", false},
		{"誰にも言えない", false},
		{"いつ行くか決めてない", false},
		{"いつの間にか直ってた", false},
		{"何とかなった", false},
		{"何気に便利", false},
		{"いつも使ってる", false},

		// requests for help
		{"誰か教えて", true},
		{"誰か教えて🙏", true},
		{"設定の方法を教えてください", true},
		{"やり方教えて下さい！", true},
		{"詳しい人教えてほしい", true},
		{"わかる人いる", true},
		{"分かる人いませんか", true},
		{"知ってる人いたら教えて", true},
		{"誰か助けて", true},
		{"友達が教えてくれた", false},
		{"わかる人にはわかる", false},
		{"助けてくれてありがとう", false},

		// statements
		{"今日も最高！", false},
		{"今日も最高", false},
		{"アプリが使えない", false},
		{"全然つながらないんだけど", false},
		{"返金してほしい", false},
		{"", false},
		{"great app", false},
	}
	for _, tc := range tests {
		an := testAnalyzer.Analyze(tc.text)
		if got := an.IsQuestion(); got != tc.want {
			t.Errorf("IsQuestion(%q) = %v, want %v\ntokens: %s", tc.text, got, tc.want, dump(an.Tokens))
		}
	}
}
