package japanese

import (
	"strings"
	"sync"

	"github.com/ikawaha/kagome-dict/ipa"
	"github.com/ikawaha/kagome/v2/tokenizer"
)

// Analyzer is a Japanese morphological analyzer. The zero value is ready to
// use, as is New(); the dictionary is loaded on first use. An Analyzer is
// safe for concurrent use.
type Analyzer struct {
	once sync.Once
	tok  *tokenizer.Tokenizer

	// others holds the tokens of short runs of other scripts (。, 、, ！,
	// "?? ", emoji): analyzed one by one, they had made Analyze half again
	// as slow as analyzing the whole text, and a few hundred of them make
	// most of any text. Up to othersMax runs of up to othersRun bytes.
	mu     sync.RWMutex
	others map[string][]Token
}

const (
	othersMax = 4096
	othersRun = 16
)

// New returns an Analyzer. It is cheap: the dictionary is loaded on first use.
func New() *Analyzer { return &Analyzer{} }

// Preload loads the dictionary now (about 0.7 s the first time in a
// process), so that the first post analyzed does not pay for it.
func (a *Analyzer) Preload() { a.tokenizer() }

func (a *Analyzer) tokenizer() *tokenizer.Tokenizer {
	a.once.Do(func() {
		t, err := tokenizer.New(ipa.Dict(), tokenizer.OmitBosEos())
		if err != nil {
			// Only possible with a nil dictionary, which the embedded
			// IPA dictionary never is.
			panic("japanese: " + err.Error())
		}
		a.tok = t
	})
	return a.tok
}

// Token is one morpheme of an analyzed text.
type Token struct {
	Surface string // the text as written
	Base    string // dictionary form (使える for 使え); Surface for unknown words
	POS     string // part of speech: 名詞, 動詞, 形容詞, 助動詞, 助詞, 記号, …
	POS1    string // subcategory: 自立, 非自立, 接尾, 格助詞, 終助詞, …; "" if none
	Form    string // conjugated form: 未然形, 連用形, 基本形, …; "" if none
	Start   int    // byte offset of Surface in the analyzed text
	End     int    // byte offset just after Surface

	conj string // conjugation type (活用型): 一段, 五段・ラ行, …; "" if none
}

// Tokens splits text into morphemes (kagome Normal mode). Start and End are
// byte offsets into text, and the tokens cover text from start to end.
func (a *Analyzer) Tokens(text string) []Token {
	if text == "" {
		return nil
	}
	return a.appendTokens(nil, text, 0)
}

// appendTokens appends the tokens of text to out, with off added to their
// offsets.
func (a *Analyzer) appendTokens(out []Token, text string, off int) []Token {
	kt := a.tokenizer().Analyze(text, tokenizer.Normal)
	if out == nil {
		out = make([]Token, 0, len(kt))
	}
	cursor := 0
	for i := range kt {
		t := &kt[i]
		if t.Class == tokenizer.DUMMY || t.Surface == "" {
			continue
		}
		start := t.Position
		end := start + len(t.Surface)
		if start < cursor || end > len(text) || text[start:end] != t.Surface {
			// Position is kagome's byte offset and always matches; stay
			// exact even if a future version changes that.
			j := strings.Index(text[cursor:], t.Surface)
			if j < 0 {
				continue
			}
			start = cursor + j
			end = start + len(t.Surface)
		}
		cursor = end
		out = append(out, Token{
			Surface: t.Surface,
			Base:    feature(t, 6, t.Surface),
			POS:     feature(t, 0, ""),
			POS1:    feature(t, 1, ""),
			Form:    feature(t, 5, ""),
			Start:   off + start,
			End:     off + end,
			conj:    feature(t, 4, ""),
		})
	}
	return out
}

// feature returns the i-th IPA feature of t, or def if it is missing or "*".
func feature(t *tokenizer.Token, i int, def string) string {
	f, ok := t.FeatureAt(i)
	if !ok || f == "" || f == "*" {
		return def
	}
	return f
}

// Analysis is the result of analyzing one text.
type Analysis struct {
	Text   string
	Tokens []Token // of every run, in order; offsets into Text

	runs []analyzedRun
	neg  []negKind // per token
}

// analyzedRun is a script run with its tokens, Tokens[first:last].
type analyzedRun struct {
	Run
	first, last int
}

// Analyze analyzes text script run by script run (see [Runs]), each run
// alone, which is how the search index analyzes text too: the index can then
// take a post's tokens from the matcher's analysis ([Analysis.RunTokens])
// instead of running kagome a second time. The result is read-only and safe
// to share.
func (a *Analyzer) Analyze(text string) *Analysis {
	runs := Runs(text)
	an := &Analysis{Text: text, runs: make([]analyzedRun, len(runs)), Tokens: make([]Token, 0, len(text)/4+1)}
	for i, r := range runs {
		first := len(an.Tokens)
		run := text[r.Start:r.End]
		if r.Script == ScriptOther && len(run) <= othersRun {
			for _, t := range a.otherTokens(run) {
				t.Start += r.Start
				t.End += r.Start
				an.Tokens = append(an.Tokens, t)
			}
		} else {
			an.Tokens = a.appendTokens(an.Tokens, run, r.Start)
		}
		an.runs[i] = analyzedRun{Run: r, first: first, last: len(an.Tokens)}
	}
	an.neg = classifyNegators(an.Tokens)
	return an
}

// otherTokens returns the tokens of a short run of other scripts, from the
// cache. The caller must not change them.
func (a *Analyzer) otherTokens(run string) []Token {
	a.mu.RLock()
	toks, ok := a.others[run]
	a.mu.RUnlock()
	if ok {
		return toks
	}
	toks = a.Tokens(run)
	a.mu.Lock()
	if a.others == nil {
		a.others = map[string][]Token{}
	}
	if len(a.others) < othersMax {
		a.others[run] = toks
	}
	a.mu.Unlock()
	return toks
}

// RunTokens returns the tokens of a kana or kanji run whose text is run,
// found at or after the analysis's run *from, which it advances past the
// run found: a caller walking the same text's runs in order finds each one
// in a single pass. Token offsets are relative to the start of run. ok is
// false when no such run was analyzed.
func (an *Analysis) RunTokens(run string, from *int) (toks []Token, ok bool) {
	if an == nil {
		return nil, false
	}
	for i := *from; i < len(an.runs); i++ {
		r := an.runs[i]
		if r.Script == ScriptOther || an.Text[r.Start:r.End] != run {
			continue
		}
		*from = i + 1
		toks = make([]Token, r.last-r.first)
		for j, t := range an.Tokens[r.first:r.last] {
			t.Start -= r.Start
			t.End -= r.Start
			toks[j] = t
		}
		return toks, true
	}
	return nil, false
}
