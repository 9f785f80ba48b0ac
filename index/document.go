package index

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/kizuki-dev/kizuki/japanese"
)

// preparer builds the Bleve document of a record directly, field by field
// as the index mapping would (a test holds the two to the same fields and
// terms), for two reasons: Bleve's mapping walks the record by reflection,
// which cost about 3% of a replay; and the text analyzer of one document
// can then take the Japanese tokens from the matcher's analysis of the post
// instead of running kagome again (about a tenth of a replay's CPU).
type preparer struct {
	opts map[string]bindex.FieldIndexingOptions
	an   map[string]analysis.Analyzer
	tok  *tokenizer // of the kizuki analyzer
	stem latinOnly  // its filter
}

// newPreparer reads the options and analyzers of every field from m, the
// mapping of an open index.
func newPreparer(m mapping.IndexMapping) (*preparer, error) {
	im, ok := m.(*mapping.IndexMappingImpl)
	if !ok || im.DefaultMapping == nil {
		return nil, fmt.Errorf("index mapping of type %T is not Kizuki's", m)
	}
	p := &preparer{opts: map[string]bindex.FieldIndexingOptions{}, an: map[string]analysis.Analyzer{}}
	for _, name := range []string{fText, fContext, fFields, fScore, fFollowers, fCreatedAt, fSortTime, fDoc} {
		dm := im.DefaultMapping.Properties[name]
		if dm == nil || len(dm.Fields) != 1 {
			return nil, fmt.Errorf("index mapping has no field %q", name)
		}
		fm := dm.Fields[0]
		p.opts[name] = fm.Options()
		if fm.Type != "text" || !fm.Index {
			continue
		}
		a := fm.Analyzer
		if a == "" {
			a = im.DefaultAnalyzer
		}
		if p.an[name] = im.AnalyzerNamed(a); p.an[name] == nil {
			return nil, fmt.Errorf("index mapping: field %q: no analyzer %q", name, a)
		}
	}
	text, ok := p.an[fText].(*analysis.DefaultAnalyzer)
	if !ok || p.an[fContext] != p.an[fText] {
		return nil, fmt.Errorf("index mapping: text and context are not analyzed by %q", AnalyzerName)
	}
	tok, ok := text.Tokenizer.(*tokenizer)
	if !ok {
		return nil, fmt.Errorf("index mapping: analyzer %q has tokenizer %T", AnalyzerName, text.Tokenizer)
	}
	if len(text.TokenFilters) != 1 {
		return nil, fmt.Errorf("index mapping: analyzer %q has %d filters", AnalyzerName, len(text.TokenFilters))
	}
	stem, ok := text.TokenFilters[0].(latinOnly)
	if !ok {
		return nil, fmt.Errorf("index mapping: analyzer %q has filter %T", AnalyzerName, text.TokenFilters[0])
	}
	p.tok, p.stem = tok, stem
	return p, nil
}

// document returns the Bleve document of r. shared, if not nil, is the
// matcher's analysis of r.Text.
func (p *preparer) document(r *record, shared *japanese.Analysis) *document.Document {
	tok := p.tok
	if shared != nil {
		tok = &tokenizer{ja: tok.ja, shared: shared}
	}
	d := document.NewDocument(r.ID)
	str := func(name, v string, an analysis.Analyzer, pos []uint64) {
		d.AddField(document.NewTextFieldCustom(name, pos, []byte(v), p.opts[name], an))
	}
	terms := func(name, v string, split func([]byte) [][]byte) {
		if p.opts[name].IncludeTermVectors() {
			str(name, v, p.an[name], nil) // positions and offsets: Bleve's way
			return
		}
		d.AddField(&termsField{name: name, opts: p.opts[name], value: []byte(v), terms: split})
	}
	// The order of the record's fields, as the mapping would add them.
	terms(fFields, r.Fields, splitFields)
	text := func(name, v string, tok *tokenizer, pos []uint64) {
		d.AddField(&textField{name: name, pos: pos, opts: p.opts[name], value: []byte(v), tok: tok, stem: p.stem})
	}
	text(fText, r.Text, tok, nil)
	for i, c := range r.Context {
		text(fContext, c, p.tok, []uint64{uint64(i)})
	}
	terms(fScore, r.Score, numberTerms)
	terms(fFollowers, r.Followers, numberTerms)
	terms(fCreatedAt, r.CreatedAt, numberTerms)
	terms(fSortTime, r.SortTime, wholeTerm)
	if r.Doc != "" {
		str(fDoc, r.Doc, nil, nil) // stored only
	}
	d.SetIndexed()
	return d
}

// textField is a text or context field analyzed straight into its term
// frequencies, the same ones Bleve's TextField makes with the kizuki
// analyzer (a test holds them equal): Bleve's way goes through a token
// stream of one allocation per token, a filter pass and a second walk.
type textField struct {
	name   string
	pos    []uint64
	opts   bindex.FieldIndexingOptions
	value  []byte
	tok    *tokenizer
	stem   latinOnly
	length int
	freqs  bindex.TokenFrequencies
}

func (f *textField) Name() string                                      { return f.name }
func (f *textField) ArrayPositions() []uint64                          { return f.pos }
func (f *textField) Options() bindex.FieldIndexingOptions              { return f.opts }
func (f *textField) Value() []byte                                     { return f.value }
func (f *textField) NumPlainTextBytes() uint64                         { return uint64(len(f.value)) }
func (f *textField) EncodedFieldType() byte                            { return 't' }
func (f *textField) AnalyzedLength() int                               { return f.length }
func (f *textField) AnalyzedTokenFrequencies() bindex.TokenFrequencies { return f.freqs }

func (f *textField) Size() int {
	n := len(f.name) + len(f.value) + 8*len(f.pos) + 64
	if f.freqs != nil {
		n += f.freqs.Size()
	}
	return n
}

func (f *textField) Analyze() {
	f.length = 0
	freqs := bindex.TokenFrequencies{}
	vectors, norms := f.opts.IncludeTermVectors(), !f.opts.SkipFreqNorm()
	var locs []bindex.TokenLocation // allocated in blocks: Locations point into them
	f.tok.tokenize(f.value, func(term []byte, start, end, pos int, typ analysis.TokenType) {
		if typ == analysis.AlphaNumeric {
			term = f.stem.stem(term)
		}
		f.length++
		tf, ok := freqs[string(term)]
		if !ok {
			tf = &bindex.TokenFreq{Term: term}
			freqs[string(term)] = tf
		}
		if vectors {
			if len(locs) == cap(locs) {
				locs = make([]bindex.TokenLocation, 0, max(16, len(f.value)/8))
			}
			locs = append(locs, bindex.TokenLocation{ArrayPositions: f.pos, Start: start, End: end, Position: pos})
			tf.Locations = append(tf.Locations, &locs[len(locs)-1])
		}
		if norms {
			tf.SetFrequency(tf.Frequency() + 1)
		}
	})
	f.freqs = freqs
}

// termsField is a field of whole terms, without term vectors (fields,
// score, followers, created_at, ts), counted straight from terms(value):
// the same frequencies as Bleve's TextField with the field's analyzer,
// without its token stream.
type termsField struct {
	name   string
	opts   bindex.FieldIndexingOptions
	value  []byte
	terms  func([]byte) [][]byte
	length int
	freqs  bindex.TokenFrequencies
}

func (f *termsField) Name() string                                      { return f.name }
func (f *termsField) ArrayPositions() []uint64                          { return nil }
func (f *termsField) Options() bindex.FieldIndexingOptions              { return f.opts }
func (f *termsField) Value() []byte                                     { return f.value }
func (f *termsField) NumPlainTextBytes() uint64                         { return uint64(len(f.value)) }
func (f *termsField) EncodedFieldType() byte                            { return 't' }
func (f *termsField) AnalyzedLength() int                               { return f.length }
func (f *termsField) AnalyzedTokenFrequencies() bindex.TokenFrequencies { return f.freqs }

func (f *termsField) Size() int {
	n := len(f.name) + len(f.value) + 64
	if f.freqs != nil {
		n += f.freqs.Size()
	}
	return n
}

func (f *termsField) Analyze() {
	terms := f.terms(f.value)
	f.length = len(terms)
	f.freqs = make(bindex.TokenFrequencies, len(terms))
	for _, t := range terms {
		tf, ok := f.freqs[string(t)]
		if !ok {
			tf = &bindex.TokenFreq{Term: t}
			f.freqs[string(t)] = tf
		}
		if !f.opts.SkipFreqNorm() {
			tf.SetFrequency(tf.Frequency() + 1)
		}
	}
}

// splitFields is the terms of the fields field (fieldsTokenizer).
func splitFields(v []byte) [][]byte { return bytes.Split(v, []byte{fieldsSep}) }

// numberTerms is the range terms of a decimal integer (rangeTokenizer).
func numberTerms(v []byte) [][]byte {
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return nil
	}
	return rangeTerms(n)
}

// wholeTerm is v as one term (Bleve's keyword analyzer).
func wholeTerm(v []byte) [][]byte { return [][]byte{v} }
