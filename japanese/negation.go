package japanese

import (
	"sort"
	"strings"
)

type negKind uint8

const (
	notNegator negKind = iota
	// negation: a negating morpheme (ない, ぬ/ず, ません's ん, 無い, なし, ねー).
	negation
	// neutralNeg: a negative form that does not negate: the rhetorical
	// 最高じゃない? / 良くない? ("isn't it great?") or an obligation like
	// 使わなきゃ / 使わなければならない ("have to use"). It ends a negation
	// scope without counting.
	neutralNeg
)

// NegatedAt reports whether the phrase at byte span [start,end) of the text,
// typically a signal term hit, is negated by what follows it in the same
// clause: 使え in 使えない, 最高 in 最高じゃない, 問題 in 問題ないです,
// ログインでき in ログインできません. The span may end inside a word (繋が in
// 繋がらない). Only what follows end counts, so a term that contains its own
// negation (繋がらない) is not negated, unless something negates it again
// (繋がらないわけではない). Negations cancel in pairs: 使え in
// 使えないわけではない is not negated.
func (an *Analysis) NegatedAt(start, end int) bool {
	if an == nil || start < 0 || end <= start || end > len(an.Text) {
		return false
	}
	toks := an.Tokens
	i := sort.Search(len(toks), func(i int) bool { return toks[i].Start >= end })
	count := 0
	for ; i < len(toks); i++ {
		switch an.neg[i] {
		case negation:
			count++
			continue
		case neutralNeg:
			return count%2 == 1
		}
		if !bridges(toks, i) {
			break
		}
	}
	return count%2 == 1
}

// HasNegation reports whether the text contains any negation (rhetorical
// じゃない? and obligations like 使わなきゃ do not count).
func (an *Analysis) HasNegation() bool {
	if an == nil {
		return false
	}
	for _, k := range an.neg {
		if k == negation {
			return true
		}
	}
	return false
}

// bridges reports whether toks[i], found between a phrase and a negation,
// keeps the negation attached to the phrase: auxiliaries (れる, たい, ます),
// dependent verbs (てる, しまう), light verbs (する, できる, ある, なる),
// formal nouns (わけ, はず, こと, の), and the particles that can sit in
// between (は, も, じゃ, が, を, に, て, ば). Content words, clause-final and
// clause-joining particles, punctuation and spaces end the scope.
func bridges(toks []Token, i int) bool {
	t := toks[i]
	switch t.POS {
	case "助動詞":
		return true
	case "動詞":
		switch t.POS1 {
		case "非自立", "接尾":
			return true
		}
		switch t.Base {
		case "する", "できる", "出来る", "ある", "有る", "なる", "成る", "なれる",
			"いる", "居る", "おる":
			return true
		}
		// 最高とは言えない: see と below
		return isSayThink(t.Base) && i >= 2 && toks[i-2].Surface == "と" &&
			(toks[i-1].Surface == "は" || toks[i-1].Surface == "も")
	case "形容詞":
		return t.POS1 == "非自立"
	case "名詞":
		return t.POS1 == "非自立" || t.POS1 == "接尾"
	case "助詞":
		switch t.POS1 {
		case "係助詞", "副詞化":
			return true
		case "副助詞":
			return t.Surface != "か"
		case "格助詞":
			switch t.Surface {
			case "が", "を", "に", "で":
				return true
			case "と":
				// 最高とは言えない, 良いとも思えない
				return i+2 < len(toks) && (toks[i+1].Surface == "は" || toks[i+1].Surface == "も") &&
					isSayThink(toks[i+2].Base)
			}
			return false
		case "接続助詞":
			switch t.Surface {
			case "て", "で", "ば", "ちゃ", "じゃ":
				return true
			}
			return false
		}
		return false
	}
	return false
}

func isSayThink(base string) bool {
	switch base {
	case "言える", "いえる", "思える", "おもえる":
		return true
	}
	return false
}

// classifyNegators marks every negating morpheme, and every negative form
// that is rhetorical or part of an obligation.
func classifyNegators(toks []Token) []negKind {
	if len(toks) == 0 {
		return nil
	}
	kinds := make([]negKind, len(toks))
	for i := range toks {
		if kinds[i] != notNegator || !isNegator(toks, i) {
			continue
		}
		switch {
		case isRhetorical(toks, i):
			kinds[i] = neutralNeg
		case markObligation(toks, i, kinds):
		default:
			kinds[i] = negation
		}
	}
	return kinds
}

// isNegator reports whether toks[i] is a negating morpheme.
func isNegator(toks []Token, i int) bool {
	t := toks[i]
	switch t.POS {
	case "助動詞":
		// ない/なく/なかっ/なけれ/なきゃ/なし/ねぇ (特殊・ナイ), ぬ/ず (特殊・ヌ),
		// ん (ません, 使えん).
		return t.Base == "ない" || t.Base == "ぬ" || t.Base == "ん"
	case "形容詞":
		// 問題ない, ではない, 無い, 使えなさすぎ
		return t.Base == "ない" || t.Base == "無い"
	case "名詞":
		return t.POS1 == "接尾" && (t.Base == "無し" || t.Base == "なし")
	case "助詞":
		// kagome reads 使えねー / 良くねー / じゃねー as a sentence-final
		// ねー; after a negatable form it is colloquial ない.
		return t.POS1 == "終助詞" && isColloquialNe(t.Surface) && i > 0 && negatable(toks[i-1])
	}
	return false
}

// isColloquialNe matches ねー, ねぇ, ねえ, ねェ, ねーー, … (not plain ね).
func isColloquialNe(s string) bool {
	rest, ok := strings.CutPrefix(s, "ね")
	if !ok || rest == "" {
		return false
	}
	for _, r := range rest {
		switch r {
		case 'ー', 'ぇ', 'え', 'ェ', 'エ', '〜', '~':
		default:
			return false
		}
	}
	return true
}

// negatable reports whether a colloquial ねー after p is a negation: p is a
// verb stem that ない attaches to (使え, 知ら, でき), an adjective in く (良く),
// or the copula じゃ.
func negatable(p Token) bool {
	switch p.POS {
	case "動詞", "助動詞":
		switch p.Form {
		case "未然形", "仮定形", "命令ｅ":
			return true
		case "連用形":
			// 一段 and カ変 verbs share their 未然形 and 連用形 (できねー);
			// for 五段 verbs 連用形 + ねー is not a negation (いいねー
			// misread as 言い).
			return strings.HasPrefix(p.conj, "一段") || strings.HasPrefix(p.conj, "カ変")
		}
		return false
	case "形容詞":
		return p.Form == "連用テ接続"
	}
	return p.Surface == "じゃ"
}

// isRhetorical reports whether the negator toks[i] is the rhetorical "isn't
// it X?": a copula negation (最高じゃない, 最高ではない) or an adjective in く
// (良くない, 使えなくない) followed, after optional です/でしょう/っす, by a
// question mark or か: 最高じゃない?, 最高じゃないですか, 良くない?.
func isRhetorical(toks []Token, i int) bool {
	if i == 0 {
		return false
	}
	p := toks[i-1]
	copula := p.Surface == "じゃ" || p.Surface == "で" ||
		(p.Surface == "は" && i >= 2 && toks[i-2].Surface == "で")
	adjective := p.POS == "形容詞" || (p.POS == "助動詞" && p.Base == "ない")
	adjective = adjective && p.Form == "連用テ接続"
	if !copula && !adjective {
		return false
	}
	j := i + 1
	for j < len(toks) {
		switch toks[j].Base {
		case "です", "だ", "う", "っす":
			j++
			continue
		}
		break
	}
	if j >= len(toks) {
		return false
	}
	n := toks[j]
	if isQuestionMark(n.Surface) {
		return true
	}
	if !copula {
		return false // 良くないか is a real question or invitation
	}
	switch n.Surface {
	case "か", "かな", "かね":
		return true
	case "の":
		return j+1 < len(toks) && isQuestionMark(toks[j+1].Surface)
	}
	return false
}

// markObligation recognizes "must" constructions built on a negative
// conditional (使わなければならない, 使わなくてはいけない, 使わないといけない,
// and the clipped 使わなきゃ, 使わないと, 使わなくちゃ at the end of a
// sentence) and marks their negators neutral. It reports whether toks[i]
// starts one.
func markObligation(toks []Token, i int, kinds []negKind) bool {
	t := toks[i]
	if t.POS != "助動詞" || t.Base != "ない" {
		return false
	}
	j := i + 1
	switch {
	case strings.HasPrefix(t.Form, "仮定"): // なけれ(ば), なきゃ, なけりゃ
		if j < len(toks) && toks[j].Surface == "ば" {
			j++
		}
	case j < len(toks) && toks[j].POS1 == "接続助詞" &&
		(toks[j].Surface == "と" || toks[j].Surface == "ちゃ" || toks[j].Surface == "じゃ"):
		j++
	case j+1 < len(toks) && toks[j].Surface == "て" && toks[j+1].Surface == "は":
		j += 2
	default:
		return false
	}
	if j >= len(toks) || isClauseEnd(toks[j]) {
		kinds[i] = neutralNeg
		return true
	}
	switch toks[j].Base {
	case "いける", "なる", "だめ", "ダメ", "駄目", "いく":
	default:
		return false
	}
	kinds[i] = neutralNeg
	// The second negation (ならない, いけません) belongs to the obligation.
	for k := j + 1; k < len(toks) && k <= j+2; k++ {
		if isNegator(toks, k) {
			kinds[k] = neutralNeg
			break
		}
	}
	return true
}

// isClauseEnd reports whether t ends a sentence or phrase: punctuation,
// spaces, newlines.
func isClauseEnd(t Token) bool {
	if t.POS == "記号" && (t.POS1 == "句点" || t.POS1 == "読点" || t.POS1 == "空白") {
		return true
	}
	return isSentenceBreak(t.Surface)
}

// isQuestionMark reports whether s is punctuation containing ? or ？ (?, ?!, ？？).
func isQuestionMark(s string) bool {
	q := false
	for _, r := range s {
		switch r {
		case '?', '？':
			q = true
		case '!', '！':
		default:
			return false
		}
	}
	return q
}
