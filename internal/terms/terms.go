// Package terms finds the words and short phrases of post texts, for counting them: the
// terms that grew in a surge, the questions that recur among actionable posts. English is
// split into words with stop words dropped, and adjacent words make phrases ("no signal");
// Japanese is analysed with kagome: runs of nouns make one term (通信障害), and a noun with
// the verb it governs makes a phrase (電波が入らない, ログインできない).
//
// Text is normalized as the matcher normalizes it (textnorm), so that full- and half-width
// forms, case, and hiragana and katakana count as one term; each term is shown in the form
// people wrote most often.
package terms

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kizuki-dev/kizuki/japanese"
	"github.com/kizuki-dev/kizuki/textnorm"
)

// Term is one word or phrase of a text.
type Term struct {
	// Key is the normalized form that counts: two texts share a term when their keys are
	// equal.
	Key string
	// Text is the term as written in this text (lower case, kana as written).
	Text string
	// Parts are the keys of the words of a phrase; nil for a single term.
	Parts []string
}

// Extractor finds terms. It is safe for concurrent use.
type Extractor struct {
	ja      *japanese.Analyzer
	exclude []string // normalized
}

// New returns an Extractor that analyses Japanese with ja and leaves out the exclude
// terms (the brand's own name and keywords, which every post contains) and the words
// they are made of. A nil ja means a new Analyzer.
func New(ja *japanese.Analyzer, exclude ...string) *Extractor {
	if ja == nil {
		ja = japanese.New()
	}
	e := &Extractor{ja: ja}
	for _, x := range exclude {
		e.exclude = append(e.exclude, textnorm.String(x))
		for _, w := range strings.Fields(textnorm.String(x)) {
			e.exclude = append(e.exclude, w)
		}
	}
	slices.Sort(e.exclude)
	e.exclude = slices.Compact(e.exclude)
	return e
}

// Exclude returns an Extractor that also leaves out the given terms.
func (e *Extractor) Exclude(more ...string) *Extractor {
	return New(e.ja, append(slices.Clone(e.exclude), more...)...)
}

var (
	urlRE     = regexp.MustCompile(`(?i)\b(?:https?://|www\.)\S+`)
	mentionRE = regexp.MustCompile(`@[\p{L}\p{N}_.]+`)
)

// Of returns the distinct terms of a text, in the order they first appear.
func (e *Extractor) Of(text string) []Term {
	text = urlRE.ReplaceAllString(text, " ")
	text = mentionRE.ReplaceAllString(text, " ")
	lower := textnorm.Normalize(text).Lower
	var out []Term
	if japanese.LooksJapanese(lower) {
		out = e.japaneseTerms(lower)
	} else {
		out = e.englishTerms(lower)
	}
	seen := map[string]bool{}
	kept := out[:0]
	for _, t := range out {
		if t.Key == "" || seen[t.Key] || e.excluded(t.Key) {
			continue
		}
		seen[t.Key] = true
		kept = append(kept, t)
	}
	return kept
}

// excluded reports a term that is an excluded term or a piece of one (kagome splits
// クモモバイル into クモ and モバイル).
func (e *Extractor) excluded(key string) bool {
	for _, x := range e.exclude {
		if x == key || (utf8.RuneCountInString(key) >= 2 && strings.Contains(x, key)) {
			return true
		}
	}
	return false
}

// stripExcluded removes excluded terms from inside a Japanese compound: クモモバイル解約
// counts as 解約.
func (e *Extractor) stripExcluded(s string) string {
	for _, x := range e.exclude {
		if utf8.RuneCountInString(x) >= 2 && japanese.LooksJapanese(x) {
			s = strings.ReplaceAll(s, x, "")
		}
	}
	return s
}

// englishStop are the English words too common to tell posts apart.
var englishStop = set(`a about above after again against all am an and any are aren't as at be because been
before being below between both but by can could couldn't did didn't do does doesn't doing down during each
few for from further get got had hadn't has hasn't have haven't having he her here hers herself him himself his
how i i'm i've if in into is isn't it it's its itself just let's me more most my myself nor now of off on once
only or other ought our ours ourselves out over own really same she should shouldn't so some such than that
that's the their theirs them themselves then there there's these they they're this those through to too under
until up us very was wasn't we we're were weren't what what's when where which while who whom why will with would
wouldn't you you're your yours yourself yourselves also still even ever lol omg im ive dont cant wont didnt
doesnt isnt thats anyone anybody someone something everyone thing things one like since again please
already yet today`)

// englishNegators make a phrase with the next word ("no signal") but are no term alone.
var englishNegators = set(`no not never cannot can't won't don't didn't doesn't isn't cant wont dont didnt doesnt isnt`)

func set(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// englishWords splits lower-case text into words: letters, digits and inner ' and -.
func englishWords(s string) []string {
	var words []string
	start := -1
	flush := func(end int) {
		if start >= 0 {
			w := strings.Trim(s[start:end], "'-")
			w = strings.TrimSuffix(w, "'s")
			if w != "" {
				words = append(words, w)
			}
			start = -1
		}
	}
	for i, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || ((r == '\'' || r == '-') && start >= 0) {
			if start < 0 {
				start = i
			}
			continue
		}
		flush(i)
		// Punctuation and hashtags break phrases: an empty word marks it.
		if r != ' ' && (len(words) == 0 || words[len(words)-1] != "") {
			words = append(words, "")
		}
	}
	flush(len(s))
	return words
}

// englishKey folds a plural onto its singular: charges and charge count together.
func englishKey(w string) string {
	if len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is") {
		w = strings.TrimSuffix(w, "s")
	}
	return textnorm.String(w)
}

func englishContent(w string) bool {
	if w == "" || englishStop[w] || englishNegators[w] {
		return false
	}
	if strings.IndexFunc(w, unicode.IsLetter) < 0 {
		return false // a number alone
	}
	return utf8.RuneCountInString(w) >= 3 || strings.IndexFunc(w, unicode.IsDigit) >= 0 // "5g"
}

func (e *Extractor) englishTerms(lower string) []Term {
	words := englishWords(lower)
	var out []Term
	for i, w := range words {
		if englishContent(w) {
			out = append(out, Term{Key: englishKey(w), Text: w})
		}
		if i+1 < len(words) {
			n := words[i+1]
			if englishContent(n) && (englishContent(w) || englishNegators[w]) {
				k1, k2 := englishKey(w), englishKey(n)
				if e.excluded(k1) || e.excluded(k2) {
					continue
				}
				out = append(out, Term{Key: k1 + " " + k2, Text: w + " " + n, Parts: []string{k1, k2}})
			}
		}
	}
	return out
}

// jaNoun reports a token that can be part of a noun term.
func jaNoun(t japanese.Token) bool {
	switch {
	case t.POS == "接頭詞" && t.POS1 == "名詞接続": // 再設定
		return true
	case t.POS != "名詞":
		return false
	}
	switch t.POS1 {
	case "非自立", "代名詞", "数", "接尾", "副詞可能":
		return false
	}
	return strings.IndexFunc(t.Surface, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0
}

// jaGeneric are verbs too common to make a phrase.
var jaGeneric = set(`する ある いる なる れる られる せる させる くる いう 思う`)

// jaParticles may stand between a noun and its verb in a phrase.
var jaParticles = set(`が を に は も で と へ`)

func (e *Extractor) japaneseTerms(lower string) []Term {
	toks := e.ja.Tokens(lower)
	var out []Term
	for i := 0; i < len(toks); {
		if !jaNoun(toks[i]) {
			i++
			continue
		}
		j := i
		for j < len(toks) && jaNoun(toks[j]) {
			j++
		}
		noun := e.stripExcluded(lower[toks[i].Start:toks[j-1].End])
		if strings.HasPrefix(toks[i].POS, "接頭詞") && j-i == 1 {
			noun = ""
		}
		if utf8.RuneCountInString(noun) >= 2 {
			key := textnorm.String(noun)
			out = append(out, Term{Key: key, Text: noun})
			if p, ok := e.jaPhrase(lower, toks, j, noun, key); ok {
				out = append(out, p)
			}
		}
		i = j
	}
	return out
}

// jaPhrase makes a phrase of a noun and the verb or adjective after it (after at most one
// particle): 電波が入らない, ログインできない, 方法を教える.
func (e *Extractor) jaPhrase(lower string, toks []japanese.Token, at int, noun, nounKey string) (Term, bool) {
	k := at
	particle := ""
	if k < len(toks) && toks[k].POS == "助詞" && jaParticles[toks[k].Surface] {
		particle = toks[k].Surface
		k++
	}
	if k >= len(toks) || toks[k].POS1 != "自立" || (toks[k].POS != "動詞" && toks[k].POS != "形容詞") || jaGeneric[toks[k].Base] {
		return Term{}, false
	}
	verb := toks[k]
	// A negation right after the verb (入らない, 入りません, 使えん) is part of the phrase.
	negEnd := -1
	for m := k + 1; m < len(toks) && m <= k+3 && toks[m].POS == "助動詞"; m++ {
		switch toks[m].Base {
		case "ない", "ぬ", "ん":
			negEnd = toks[m].End
		}
	}
	text := noun + particle + verb.Base
	key := nounKey + "|" + textnorm.String(verb.Base)
	if negEnd > 0 {
		text = noun + particle + lower[verb.Start:negEnd]
		key += "|ない"
	}
	return Term{Key: key, Text: text, Parts: []string{nounKey}}, true
}

// Count is a term with the number of texts it appears in.
type Count struct {
	Text  string `json:"term"`
	Posts int    `json:"posts"`
	key   string
	parts []string
}

// Counter counts in how many texts each term appears.
type Counter struct {
	docs  map[string]int
	forms map[string]map[string]int
	parts map[string][]string
}

// NewCounter returns an empty Counter.
func NewCounter() *Counter {
	return &Counter{docs: map[string]int{}, forms: map[string]map[string]int{}, parts: map[string][]string{}}
}

// Add counts the terms of one text (distinct, as Of returns them).
func (c *Counter) Add(ts []Term) {
	for _, t := range ts {
		c.docs[t.Key]++
		if c.forms[t.Key] == nil {
			c.forms[t.Key] = map[string]int{}
			c.parts[t.Key] = t.Parts
		}
		c.forms[t.Key][t.Text]++
	}
}

// Posts is the number of texts a term key appeared in.
func (c *Counter) Posts(key string) int { return c.docs[key] }

// Keys returns every counted key.
func (c *Counter) Keys() []string {
	keys := make([]string, 0, len(c.docs))
	for k := range c.docs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Text is the form of a term people wrote most often (the first in sort order on a tie).
func (c *Counter) Text(key string) string {
	best, n := "", -1
	for f, k := range c.forms[key] {
		if k > n || (k == n && f < best) {
			best, n = f, k
		}
	}
	return best
}

// Top returns up to n terms that appear in at least minPosts texts, most frequent first;
// a phrase goes before a word on a tie, and a word is left out when a phrase it is part
// of is shown and appears as often ("no signal" makes "signal" alone redundant).
func (c *Counter) Top(n, minPosts int) []Count {
	all := make([]Count, 0, len(c.docs))
	for k, d := range c.docs {
		if d >= minPosts {
			all = append(all, Count{Text: c.Text(k), Posts: d, key: k, parts: c.parts[k]})
		}
	}
	return Rank(all, n, func(x Count) float64 { return float64(x.Posts) })
}

// Rank orders terms by score (highest first; a phrase before a word, then by text) and
// keeps up to n, leaving out words covered by a kept phrase with at least their score.
func Rank(cs []Count, n int, score func(Count) float64) []Count {
	slices.SortFunc(cs, func(a, b Count) int {
		if c := cmp.Compare(score(b), score(a)); c != 0 {
			return c
		}
		if c := cmp.Compare(len(b.parts), len(a.parts)); c != 0 {
			return c
		}
		return strings.Compare(a.Text, b.Text)
	})
	covered := map[string]float64{}
	var out []Count
	for _, x := range cs {
		if len(out) >= n {
			break
		}
		if s, ok := covered[x.key]; ok && len(x.parts) == 0 && score(x) <= s {
			continue
		}
		for _, p := range x.parts {
			covered[p] = max(covered[p], score(x))
		}
		out = append(out, x)
	}
	return out
}

// Key is the counting key of a Count (for looking it up in another Counter).
func (x Count) Key() string { return x.key }
