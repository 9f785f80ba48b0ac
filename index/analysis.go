package index

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/registry"
	"github.com/blevesearch/segment"
	"golang.org/x/text/unicode/norm"

	"github.com/kizuki-dev/kizuki/japanese"
)

// Names under which the analysis is registered in Bleve's registry. The
// index mapping refers to them by name, so changing what they do changes
// what an existing index means: bump indexVersion when it does.
const (
	TokenizerName = "kizuki_tokenizer"
	AnalyzerName  = "kizuki"
	// FieldsAnalyzerName analyzes the fields field: terms separated by
	// fieldsSep, taken as they are.
	FieldsAnalyzerName = "kizuki_fields"
	// RangeAnalyzerName analyzes the integer fields (score, followers,
	// created_at in seconds): a decimal integer becomes its range terms
	// (ranges.go).
	RangeAnalyzerName = "kizuki_range"
)

// ja is the process's Japanese analyzer for the index: the IPA dictionary
// costs about 90 MB and 0.7 s, so there is one, loaded on first use.
var ja = japanese.New()

func init() {
	// Bleve's registry is the one global Kizuki accepts: an index stored on
	// disk names its analyzers, and opening it looks them up here.
	must(registry.RegisterTokenizer(TokenizerName,
		func(map[string]any, *registry.Cache) (analysis.Tokenizer, error) {
			return &tokenizer{ja: ja}, nil
		}))
	must(registry.RegisterAnalyzer(AnalyzerName,
		func(_ map[string]any, cache *registry.Cache) (analysis.Analyzer, error) {
			tok, err := cache.TokenizerNamed(TokenizerName)
			if err != nil {
				return nil, err
			}
			stem, err := cache.TokenFilterNamed(en.SnowballStemmerName)
			if err != nil {
				return nil, err
			}
			return &analysis.DefaultAnalyzer{Tokenizer: tok, TokenFilters: []analysis.TokenFilter{
				latinOnly{f: stem, stems: &stemCache{m: map[string]string{}}},
			}}, nil
		}))
	must(registry.RegisterAnalyzer(RangeAnalyzerName,
		func(map[string]any, *registry.Cache) (analysis.Analyzer, error) {
			return &analysis.DefaultAnalyzer{Tokenizer: rangeTokenizer{}}, nil
		}))
	must(registry.RegisterAnalyzer(FieldsAnalyzerName,
		func(map[string]any, *registry.Cache) (analysis.Analyzer, error) {
			return &analysis.DefaultAnalyzer{Tokenizer: fieldsTokenizer{}}, nil
		}))
}

// fieldsSep separates the terms of the fields field; a value holding it
// has it replaced.
const fieldsSep = 0

// fieldTerm is the term of value in the keyword or boolean field name.
func fieldTerm(name, value string) string {
	return name + "=" + strings.ReplaceAll(value, string(rune(fieldsSep)), "\uFFFD")
}

// boolTerm is the value of a boolean, as Bleve writes it.
func boolTerm(b bool) string {
	if b {
		return "T"
	}
	return "F"
}

// lowerKeyword lower-cases a keyword as Bleve's lowercase filter does, in
// the index and in queries alike.
func lowerKeyword(s string) string {
	toks := lowercase.NewLowerCaseFilter().Filter(analysis.TokenStream{{Term: []byte(s)}})
	return string(toks[0].Term)
}

// fieldsTokenizer splits the fields field at fieldsSep.
type fieldsTokenizer struct{}

func (fieldsTokenizer) Tokenize(input []byte) analysis.TokenStream {
	var out analysis.TokenStream
	start := 0
	for i := 0; i <= len(input); i++ {
		if i < len(input) && input[i] != fieldsSep {
			continue
		}
		out = append(out, &analysis.Token{Term: input[start:i], Start: start, End: i, Position: len(out) + 1, Type: analysis.AlphaNumeric})
		start = i + 1
	}
	return out
}

func must(err error) {
	if err != nil {
		panic("index: " + err.Error())
	}
}

// latinOnly applies a stemmer to the tokens that are not Japanese (the
// English stemmer must not see katakana), through a cache of stems:
// stemming was a tenth of analyzing a post, and a few thousand words make
// most of any text.
type latinOnly struct {
	f     analysis.TokenFilter
	stems *stemCache
}

func (l latinOnly) Filter(in analysis.TokenStream) analysis.TokenStream {
	var miss analysis.TokenStream
	var words []string
	for _, t := range in {
		if t.Type != analysis.AlphaNumeric {
			continue
		}
		if s, ok := l.stems.get(t.Term); ok {
			t.Term = append([]byte(nil), s...)
			continue
		}
		miss = append(miss, t)
		words = append(words, string(t.Term))
	}
	if len(miss) > 0 {
		// Stemmers rewrite Term in place; the stream keeps its order.
		l.f.Filter(miss)
		for i, t := range miss {
			l.stems.put(words[i], t.Term)
		}
	}
	return in
}

// stem returns the stem of one Latin word.
func (l latinOnly) stem(w []byte) []byte {
	if s, ok := l.stems.get(w); ok {
		return append([]byte(nil), s...)
	}
	word := string(w)
	t := &analysis.Token{Term: w, Type: analysis.AlphaNumeric}
	l.f.Filter(analysis.TokenStream{t})
	l.stems.put(word, t.Term)
	return t.Term
}

// stemCache maps words to their stems, up to stemCacheMax words; it is
// safe for concurrent use.
type stemCache struct {
	mu sync.RWMutex
	m  map[string]string
}

const (
	stemCacheMax  = 1 << 16 // words, a few MB at most
	stemCacheWord = 32      // bytes; longer words are rare and not kept
)

func (c *stemCache) get(w []byte) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.m[string(w)]
	return s, ok
}

func (c *stemCache) put(w string, stem []byte) {
	if len(w) > stemCacheWord {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) < stemCacheMax {
		c.m[w] = string(stem)
	}
}

// tokenizer is the Bleve tokenizer behind the "kizuki" analyzer. It
// normalizes the text (NFKC, lower case, invisible characters dropped),
// splits it into script runs (japanese.Runs), and
//   - sends Japanese runs (katakana, or kanji and hiragana) through kagome,
//     keeping content words in their dictionary form (できません → できる)
//     and dropping particles, auxiliaries and symbols, with hiragana folded
//     to katakana;
//   - splits other runs into Unicode words.
//
// Offsets point into the original text, so highlights land on what was
// written. Positions count kept tokens only, so a phrase matches whatever
// particles sit between its words (返金をしてほしい ~ 返金してほしい).
type tokenizer struct {
	ja *japanese.Analyzer
	// shared is the matcher's analysis of the text being indexed, if it
	// made one: a run it analyzed is not analyzed again. Its tokens for a
	// run are kagome's for that run alone, the same as analyzing it here.
	shared *japanese.Analysis
}

func (t *tokenizer) Tokenize(input []byte) analysis.TokenStream {
	var out analysis.TokenStream
	t.tokenize(input, func(term []byte, start, end, pos int, typ analysis.TokenType) {
		out = append(out, &analysis.Token{Term: term, Start: start, End: end, Position: pos, Type: typ})
	})
	return out
}

// tokenize calls emit with each token of input: its term, its offsets in
// input, its position from 1, and its type.
func (t *tokenizer) tokenize(input []byte, emit func(term []byte, start, end, pos int, typ analysis.TokenType)) {
	n := normalize(input)
	pos := 1
	put := func(term []byte, s, e int, typ analysis.TokenType) {
		start, end := n.orig(s, e)
		emit(term, start, end, pos, typ)
		pos++
	}
	text := string(n.text)
	from := 0 // where the next run is looked for in t.shared
	for _, r := range japanese.Runs(text) {
		run := text[r.Start:r.End]
		if r.Script == japanese.ScriptOther {
			latin(n.text[r.Start:r.End], r.Start, put)
			continue
		}
		toks, ok := t.shared.RunTokens(run, &from)
		if !ok {
			toks = t.ja.Tokens(run)
		}
		for _, tok := range toks {
			if !keepJapanese(tok) {
				continue
			}
			term := tok.Base
			if term == "" {
				term = tok.Surface
			}
			put(foldKana(term), r.Start+tok.Start, r.Start+tok.End, analysis.Ideographic)
		}
	}
}

// keepJapanese reports whether a morpheme is worth indexing: content words
// are, grammar and punctuation are not.
func keepJapanese(tok japanese.Token) bool {
	switch tok.POS {
	case "助詞", "助動詞", "記号", "フィラー":
		return false
	}
	for _, r := range tok.Surface {
		if !unicode.IsSpace(r) && !unicode.IsPunct(r) && !unicode.IsSymbol(r) {
			return true
		}
	}
	return false
}

func latin(run []byte, off int, emit func([]byte, int, int, analysis.TokenType)) {
	if asciiWords(run, off, emit) {
		return
	}
	seg := segment.NewWordSegmenterDirect(run)
	start := 0
	for seg.Segment() {
		b := seg.Bytes()
		end := start + len(b)
		switch seg.Type() {
		case segment.None:
		case segment.Number:
			emit(b, off+start, off+end, analysis.Numeric)
		default:
			emit(b, off+start, off+end, analysis.AlphaNumeric)
		}
		start = end
	}
}

// asciiWords splits an ASCII run into words by the rules of Unicode word
// segmentation (UAX #29) that apply to ASCII, as the segment package
// does, about ten times faster: letters and digits join; "." and "'" join
// two letters or two digits, ":" two letters, "," and ";" two digits;
// everything else breaks. A word of digits only is a number. It reports
// false, emitting nothing, for a run it leaves to the segment package:
// non-ASCII, or with "_", which joins by rules of its own.
func asciiWords(run []byte, off int, emit func([]byte, int, int, analysis.TokenType)) bool {
	for _, c := range run {
		if c >= utf8.RuneSelf || c == '_' {
			return false
		}
	}
	letter := func(i int) bool {
		c := run[i]
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	digit := func(i int) bool { return '0' <= run[i] && run[i] <= '9' }
	// joins reports whether run[i], a punctuation mark, is inside a word.
	joins := func(i int) bool {
		if i == 0 || i+1 == len(run) {
			return false
		}
		switch run[i] {
		case '.', '\'':
			return letter(i-1) && letter(i+1) || digit(i-1) && digit(i+1)
		case ':':
			return letter(i-1) && letter(i+1)
		case ',', ';':
			return digit(i-1) && digit(i+1)
		}
		return false
	}
	for i := 0; i < len(run); {
		if !letter(i) && !digit(i) {
			i++
			continue
		}
		start, number := i, true
		for i < len(run) && (letter(i) || digit(i) || joins(i)) {
			if letter(i) {
				number = false
			}
			i++
		}
		typ := analysis.AlphaNumeric
		if number {
			typ = analysis.Numeric
		}
		emit(run[start:i], off+start, off+i, typ)
	}
	return true
}

// foldKana folds hiragana to katakana, so that a word written either way
// is one term. It returns a new slice.
func foldKana(s string) []byte {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r >= 'ぁ' && r <= 'ゖ' || r == 'ゝ' || r == 'ゞ' {
			r += 'ァ' - 'ぁ'
		}
		b = utf8.AppendRune(b, r)
	}
	return b
}

// normalized is a text in its analyzed form with a map back to the
// original bytes. NFKC works on segments (a base character and what
// combines with it), so the map is per segment.
type normalized struct {
	text     []byte
	identity bool    // text is a lower-cased copy of the original, byte for byte
	start    []int32 // per byte of text: where its segment starts in the original
	end      []int32 // per byte of text: where its segment ends in the original
}

func (n *normalized) orig(s, e int) (int, int) {
	if n.identity {
		return s, e
	}
	return int(n.start[s]), int(n.end[e-1])
}

// normalize applies NFKC, lower case, and drops invisible characters;
// invalid UTF-8 becomes a space (a word break).
func normalize(in []byte) *normalized {
	ascii := true
	for _, c := range in {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		b := make([]byte, len(in))
		for i, c := range in {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b[i] = c
		}
		return &normalized{text: b, identity: true}
	}
	n := &normalized{
		text:  make([]byte, 0, len(in)+len(in)/4),
		start: make([]int32, 0, len(in)+len(in)/4),
		end:   make([]int32, 0, len(in)+len(in)/4),
	}
	var it norm.Iter
	it.Init(norm.NFKC, in)
	for !it.Done() {
		s := it.Pos()
		seg := it.Next()
		e := it.Pos()
		for len(seg) > 0 {
			r, size := utf8.DecodeRune(seg)
			seg = seg[size:]
			switch {
			case r == utf8.RuneError && size <= 1:
				r = ' '
			case invisible(r):
				continue
			default:
				r = unicode.ToLower(r)
			}
			before := len(n.text)
			n.text = utf8.AppendRune(n.text, r)
			for range len(n.text) - before {
				n.start = append(n.start, int32(s))
				n.end = append(n.end, int32(e))
			}
		}
	}
	return n
}

// invisible reports format characters (zero-width space and joiners, BOM)
// and variation selectors, which people never mean as part of a word.
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) ||
		r >= 0xFE00 && r <= 0xFE0F || r >= 0xE0100 && r <= 0xE01EF
}
