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
		d.AddField(&termsField{counted: counted{name: name, opts: p.opts[name], value: []byte(v)}, terms: split})
	}
	// The order of the record's fields, as the mapping would add them.
	terms(fFields, r.Fields, splitFields)
	text := func(name, v string, tok *tokenizer, pos []uint64) {
		d.AddField(&textField{counted: counted{name: name, pos: pos, opts: p.opts[name], value: []byte(v)}, tok: tok, stem: p.stem})
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

// counted is what the fields below share: a field of ours whose Analyze
// counts its terms straight into frequencies, the same ones Bleve's
// TextField makes with the field's analyzer (a test holds them equal), but
// without its token stream of one allocation per token.
type counted struct {
	name   string
	pos    []uint64
	opts   bindex.FieldIndexingOptions
	value  []byte
	length int
	freqs  bindex.TokenFrequencies
}

func (f *counted) Name() string                                      { return f.name }
func (f *counted) ArrayPositions() []uint64                          { return f.pos }
func (f *counted) Options() bindex.FieldIndexingOptions              { return f.opts }
func (f *counted) Value() []byte                                     { return f.value }
func (f *counted) NumPlainTextBytes() uint64                         { return uint64(len(f.value)) }
func (f *counted) EncodedFieldType() byte                            { return 't' }
func (f *counted) AnalyzedLength() int                               { return f.length }
func (f *counted) AnalyzedTokenFrequencies() bindex.TokenFrequencies { return f.freqs }

func (f *counted) Size() int {
	n := len(f.name) + len(f.value) + 8*len(f.pos) + 64
	if f.freqs != nil {
		n += f.freqs.Size()
	}
	return n
}

// count adds one occurrence of term and returns its frequency entry.
func (f *counted) count(term []byte) *bindex.TokenFreq {
	f.length++
	tf, ok := f.freqs[string(term)]
	if !ok {
		tf = &bindex.TokenFreq{Term: term}
		f.freqs[string(term)] = tf
	}
	if !f.opts.SkipFreqNorm() {
		tf.SetFrequency(tf.Frequency() + 1)
	}
	return tf
}

// textField is a text or context field: the kizuki analyzer's terms with
// their locations.
type textField struct {
	counted
	tok  *tokenizer
	stem latinOnly
}

func (f *textField) Analyze() {
	f.length, f.freqs = 0, bindex.TokenFrequencies{}
	vectors := f.opts.IncludeTermVectors()
	var locs []bindex.TokenLocation // allocated in blocks: Locations point into them
	f.tok.tokenize(f.value, func(term []byte, start, end, pos int, typ analysis.TokenType) {
		if typ == analysis.AlphaNumeric {
			term = f.stem.stem(term)
		}
		tf := f.count(term)
		if vectors {
			if len(locs) == cap(locs) {
				locs = make([]bindex.TokenLocation, 0, max(16, len(f.value)/8))
			}
			locs = append(locs, bindex.TokenLocation{ArrayPositions: f.pos, Start: start, End: end, Position: pos})
			tf.Locations = append(tf.Locations, &locs[len(locs)-1])
		}
	})
}

// termsField is a field of whole terms without term vectors (fields,
// score, followers, created_at, ts): terms(value).
type termsField struct {
	counted
	terms func([]byte) [][]byte
}

func (f *termsField) Analyze() {
	terms := f.terms(f.value)
	f.length, f.freqs = 0, make(bindex.TokenFrequencies, len(terms))
	for _, t := range terms {
		f.count(t)
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
