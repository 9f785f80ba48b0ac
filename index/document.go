package index

import (
	"fmt"

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
	text *analysis.DefaultAnalyzer // the kizuki analyzer
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
	if _, ok := text.Tokenizer.(*tokenizer); !ok {
		return nil, fmt.Errorf("index mapping: analyzer %q has tokenizer %T", AnalyzerName, text.Tokenizer)
	}
	p.text = text
	return p, nil
}

// document returns the Bleve document of r. shared, if not nil, is the
// matcher's analysis of r.Text.
func (p *preparer) document(r *record, shared *japanese.Analysis) *document.Document {
	text := analysis.Analyzer(p.text)
	if shared != nil {
		a := *p.text
		a.Tokenizer = &tokenizer{ja: ja, shared: shared}
		text = &a
	}
	d := document.NewDocument(r.ID)
	str := func(name, v string, an analysis.Analyzer, pos []uint64) {
		d.AddField(document.NewTextFieldCustom(name, pos, []byte(v), p.opts[name], an))
	}
	// The order of the record's fields, as the mapping would add them.
	str(fFields, r.Fields, p.an[fFields], nil)
	str(fText, r.Text, text, nil)
	for i, c := range r.Context {
		str(fContext, c, p.text, []uint64{uint64(i)})
	}
	str(fScore, r.Score, p.an[fScore], nil)
	str(fFollowers, r.Followers, p.an[fFollowers], nil)
	str(fCreatedAt, r.CreatedAt, p.an[fCreatedAt], nil)
	str(fSortTime, r.SortTime, p.an[fSortTime], nil)
	if r.Doc != "" {
		str(fDoc, r.Doc, nil, nil) // stored only
	}
	d.SetIndexed()
	return d
}
