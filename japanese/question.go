package japanese

import (
	"strings"
	"unicode"
)

// IsQuestion reports whether the text asks something: a question mark at
// the end of a sentence (not inside a URL); a sentence ending in か, かな,
// かね, かしら, っけ (so also ですか, ますか, でしょうか) unless it is
// exclaimed (マジか!) or a "so that's it" (そっか); a sentence ending in の
// without a full stop (明日行くの); an interrogative (なぜ, なんで, どうして,
// どうすれば, どうやって, いつ, どこ, 誰, 何, どれ, どの, …) used as a question
// rather than as an indefinite (どこでも, 何か, 誰にも); or a request for help
// (教えて, 教えてください, 誰か助けて, わかる人いる).
func (an *Analysis) IsQuestion() bool {
	if an == nil {
		return false
	}
	if hasQuestionMark(an.Text) {
		return true
	}
	toks := an.Tokens
	start := 0
	for i := 0; i <= len(toks); i++ {
		if i < len(toks) && !isClauseEnd(toks[i]) {
			continue
		}
		term := ""
		if i < len(toks) {
			term = toks[i].Surface
		}
		if sentenceIsQuestion(toks[start:i], term) {
			return true
		}
		start = i + 1
	}
	return false
}

// hasQuestionMark reports whether text has ？, or a ? that is not part of a
// URL query (a?b=1).
func hasQuestionMark(text string) bool {
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '?':
			if i > 0 && i+1 < len(text) && urlByte(text[i-1]) && urlByte(text[i+1]) {
				continue
			}
			return true
		case 0xEF: // ？ is EF BC 9F
			if strings.HasPrefix(text[i:], "？") {
				return true
			}
		}
	}
	return false
}

func urlByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("/=&%_-.+#~", c) >= 0
}

// isSentenceBreak reports whether s is sentence-ending punctuation or a
// line break: 。 . ! ? ！ ？ (and runs of them), "\n".
func isSentenceBreak(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch r {
		case '。', '.', '．', '!', '?', '！', '？', '\n', '\r':
		default:
			return false
		}
	}
	return true
}

// sentenceIsQuestion looks at one sentence; term is the punctuation or
// space that ended it ("" at the end of the text).
func sentenceIsQuestion(seg []Token, term string) bool {
	last := len(seg) - 1
	for last >= 0 && isDecoration(seg[last]) {
		last--
	}
	if last < 0 {
		return false
	}
	if questionEnding(seg[:last+1], term) {
		return true
	}
	for k := 0; k <= last; k++ {
		if interrogativeAt(seg[:last+1], k) || helpRequestAt(seg[:last+1], k) {
			return true
		}
	}
	return false
}

// isDecoration reports whether t is trailing decoration that does not
// change how a sentence ends: emoji, brackets, …, 〜, laughter (w, 笑).
func isDecoration(t Token) bool {
	s := t.Surface
	if s == "笑" || strings.Trim(s, "w") == "" {
		return true
	}
	for _, r := range s {
		if unicode.IsLetter(r) && r != 'ー' || unicode.IsDigit(r) {
			return false
		}
		switch r {
		case '?', '？', '!', '！', '。':
			return false
		}
	}
	return true
}

func exclaimed(term string) bool {
	return strings.ContainsAny(term, "!！")
}

// questionEnding reports whether seg (without trailing decoration) ends in
// a question particle.
func questionEnding(seg []Token, term string) bool {
	n := len(seg)
	t := seg[n-1]
	f := strings.TrimRight(t.Surface, "ーぁぃぅぇぉっ〜~")
	if f == "" {
		f = t.Surface
	}
	prev := ""
	if n >= 2 {
		prev = seg[n-2].Surface
	}
	switch f {
	case "か", "かな", "かね", "かしら", "っけ":
		if exclaimed(term) {
			return false
		}
		if f == "か" {
			switch prev {
			case "そう", "そっ", "マジ", "まじ":
				return false // そっか, マジか: "I see", "no way"
			}
		}
		return true
	case "な", "ね":
		// かなー, かなぁ, かねぇ split as か + なー
		return prev == "か" && !exclaimed(term)
	case "の":
		if t.POS1 != "終助詞" && t.POS1 != "非自立" {
			return false
		}
		return !exclaimed(term) && !strings.ContainsAny(term, "。.．")
	}
	return false
}

// interrogativeAt reports whether seg[k] starts an interrogative used as a
// question.
func interrogativeAt(seg []Token, k int) bool {
	t := seg[k]
	next := func(d int) Token {
		if k+d < len(seg) {
			return seg[k+d]
		}
		return Token{}
	}
	switch t.Surface {
	case "なぜ", "何故", "なんで", "何で", "どうして":
		// なぜか, なんでか: "for some reason"
		return next(1).Surface != "か"
	case "どう":
		n1, n2 := next(1), next(2)
		switch {
		case n1.Base == "する" && (n1.Form == "仮定形" || n1.Surface == "すりゃ"): // どうすれば
			return true
		case n1.Base == "する" && n2.Surface == "たら": // どうしたら
			return true
		case n1.Base == "やる" && (n2.Surface == "て" || n2.Surface == "たら"): // どうやって
			return true
		}
		return false
	}
	interrogative := false
	switch t.POS {
	case "名詞":
		if t.POS1 == "代名詞" || t.POS1 == "数" {
			switch t.Base {
			case "いつ", "どこ", "誰", "だれ", "何", "なに", "なん", "どれ", "どっち", "どちら", "何処":
				interrogative = true
			}
		}
	case "連体詞":
		switch t.Base {
		case "どの", "どんな":
			interrogative = true
		}
	}
	if !interrogative {
		return false
	}
	if t.Base == "何" && next(1).Surface == "気" { // 何気に
		return false
	}
	// An indefinite (どこでも, 何か, 誰にも, 何回も) or an embedded question
	// (いつ行くか決めてない) is not a question.
	for _, u := range seg[k+1:] {
		if u.POS != "助詞" {
			continue
		}
		switch u.Surface {
		case "か", "も", "でも", "だって", "やら", "なり":
			return false
		}
	}
	return true
}

// helpRequestAt reports whether seg[k] starts a request for help: 教えて
// (ください, ほしい, くれない, もらえますか) or 教えて at the end, 誰か…助けて,
// and わかる人/知ってる人/詳しい人 (いる/いない) at the end.
func helpRequestAt(seg []Token, k int) bool {
	t := seg[k]
	switch {
	case (t.Base == "教える" || t.Base == "助ける") && t.Form == "連用形" &&
		k+1 < len(seg) && seg[k+1].Surface == "て":
		if t.Base == "助ける" && !hasDareka(seg[:k]) {
			return false
		}
		if k+2 == len(seg) {
			return true // 教えて / 誰か助けて at the end
		}
		n := seg[k+2]
		switch n.Base {
		case "くださる", "下さる", "ほしい", "欲しい":
			return true
		case "くれる", "もらえる", "貰える", "いただける", "頂ける":
			// not 教えてくれた (past: someone did)
			return !(k+3 < len(seg) && seg[k+3].Base == "た")
		}
		return false
	case t.Surface == "人" && t.POS == "名詞" && k > 0:
		p := seg[k-1]
		knows := false
		switch p.Base {
		case "わかる", "分かる", "解る", "詳しい":
			knows = true
		case "てる", "いる":
			knows = p.POS1 == "非自立" && k >= 2 && (seg[k-2].Base == "知る" ||
				(seg[k-2].Surface == "て" && k >= 3 && seg[k-3].Base == "知る"))
		}
		if !knows {
			return false
		}
		if k+1 == len(seg) {
			return true
		}
		switch seg[k+1].Base {
		case "いる", "居る", "おる", "いらっしゃる":
			return true
		}
	}
	return false
}

func hasDareka(seg []Token) bool {
	for i := 0; i+1 < len(seg); i++ {
		if (seg[i].Surface == "誰" || seg[i].Surface == "だれ") && seg[i+1].Surface == "か" {
			return true
		}
	}
	return false
}
