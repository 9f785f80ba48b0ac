package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/highlight"
	fragsimple "github.com/blevesearch/bleve/v2/search/highlight/fragmenter/simple"
	hlsimple "github.com/blevesearch/bleve/v2/search/highlight/highlighter/simple"
	"github.com/blevesearch/bleve/v2/search/query"
)

const (
	defaultLimit  = 20
	maxLimit      = 1000
	fragmentRunes = 240 // about a whole post; longer texts are cut around the matches
	maxFragments  = 3
)

// Request is a search.
type Request struct {
	// Query is in Bleve query-string syntax; "" matches every doc.
	// Unfielded terms search text, and context with a third of the weight.
	// Clauses on keyword, boolean, number and date fields (brand:,
	// category:, tagged:, score:>50 …) are filters: required even without
	// "+", so `brand:"Kumo Mobile" +返金 category:risky` finds only Kumo
	// Mobile's risky posts with 返金. Text words keep Bleve's meaning: with
	// a "+" elsewhere, a word without one only ranks higher.
	Query string
	// Since (inclusive) and Until (exclusive) bound created_at when set.
	Since, Until time.Time
	// Brand, Category, Platform and Lang, when set, keep only the docs with
	// that value (case does not matter).
	Brand, Category, Platform, Lang string
	// Limit is the number of hits to return: default 20, at most 1000.
	Limit int
	// Offset skips that many hits, for paging.
	Offset int
	// Sort is "newest" (the default: created_at descending) or "best"
	// (relevance, then newest).
	Sort string
	// Highlight fills Hit.Fragments, with matched terms between
	// HighlightStart and HighlightEnd (default "[" and "]").
	Highlight                    bool
	HighlightStart, HighlightEnd string
}

// Hit is one doc found.
type Hit struct {
	Doc   Doc
	Score float64
	// Fragments maps a field ("text", "context") to the best pieces of it,
	// with the matched terms marked; only with Request.Highlight.
	Fragments map[string][]string
}

// Result is the answer to a search.
type Result struct {
	Total uint64 // docs that match, of which Hits is one page
	Hits  []Hit
	Took  time.Duration
}

// Search runs a search. A query that cannot be parsed, or names a field
// the index does not have, gives a *QueryError.
func (ix *Index) Search(ctx context.Context, r Request) (*Result, error) {
	start := time.Now()
	q, err := ix.parse(r.Query)
	if err != nil {
		return nil, err
	}
	var filters []query.Query
	if !r.Since.IsZero() || !r.Until.IsZero() {
		dr, err := dateRange(r.Since, r.Until, nil, nil, 1)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		filters = append(filters, dr)
	}
	for _, f := range []struct{ field, val string }{
		{fBrand, r.Brand}, {fCategory, r.Category}, {fPlatform, r.Platform}, {fLang, r.Lang},
	} {
		if f.val != "" {
			mq := query.NewMatchQuery(f.val)
			mq.SetField(f.field)
			filters = append(filters, mq)
		}
	}
	if len(filters) > 0 {
		// A filter narrows the hits without touching their scores.
		bq := query.NewBooleanQuery([]query.Query{q}, nil, nil)
		bq.AddFilter(query.NewConjunctionQuery(filters))
		q = bq
	}
	q = physical(q)

	limit := r.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	req := bleve.NewSearchRequestOptions(q, limit, max(r.Offset, 0), false)
	if ix.docs == nil {
		req.Fields = []string{fDoc}
	}
	req.IncludeLocations = r.Highlight
	switch r.Sort {
	case "", "newest":
		req.SortBy([]string{"-" + fSortTime})
	case "best":
		req.SortBy([]string{"-_score", "-" + fSortTime})
	default:
		return nil, fmt.Errorf("search: unknown sort %q: use \"newest\" or \"best\"", r.Sort)
	}

	res, err := ix.b.SearchInContext(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var qe *QueryError
		if errors.As(err, &qe) {
			return nil, qe
		}
		return nil, fmt.Errorf("search %q: %w", r.Query, err)
	}

	var hl *hlsimple.Highlighter
	if r.Highlight {
		before, after := r.HighlightStart, r.HighlightEnd
		if before == "" && after == "" {
			before, after = "[", "]"
		}
		hl = hlsimple.NewHighlighter(fragsimple.NewFragmenter(fragmentRunes), marker{before, after}, hlsimple.DefaultSeparator)
	}
	docs, err := ix.hitDocs(ctx, res.Hits)
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", r.Query, err)
	}
	out := &Result{Total: res.Total, Hits: make([]Hit, 0, len(res.Hits))}
	for _, h := range res.Hits {
		d, ok := docs[h.ID]
		if !ok {
			// Deleted from the store by retention and not yet from the
			// index, or indexed just before a crash and not yet stored.
			out.Total--
			continue
		}
		hit := Hit{Doc: d, Score: h.Score}
		if hl != nil {
			hit.Fragments = fragments(hl, h, &d)
		}
		out.Hits = append(out.Hits, hit)
	}
	out.Took = time.Since(start)
	return out, nil
}

// hitDocs returns the docs of hits, from the index or from its DocSource.
func (ix *Index) hitDocs(ctx context.Context, hits search.DocumentMatchCollection) (map[string]Doc, error) {
	if ix.docs == nil {
		out := make(map[string]Doc, len(hits))
		for _, h := range hits {
			js, _ := h.Fields[fDoc].(string)
			var d Doc
			if err := json.Unmarshal([]byte(js), &d); err != nil {
				return nil, fmt.Errorf("doc %s is stored damaged: %v", h.ID, err)
			}
			out[h.ID] = d
		}
		return out, nil
	}
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	docs, err := ix.docs.Docs(ctx, ids)
	if err != nil {
		return nil, err
	}
	for id, d := range docs {
		sanitize(&d) // as it was indexed
		docs[id] = d
	}
	return docs, nil
}

// fragments highlights the text and context of d where h matched. The
// fields are not stored on their own, so the highlighter reads them from
// a document rebuilt from d.
func fragments(hl *hlsimple.Highlighter, h *search.DocumentMatch, d *Doc) map[string][]string {
	if len(h.Locations) == 0 {
		return nil
	}
	bd := document.NewDocument(d.ID)
	bd.AddField(document.NewTextField(fText, nil, []byte(d.Text)))
	for i, c := range d.Context {
		bd.AddField(document.NewTextField(fContext, []uint64{uint64(i)}, []byte(c.Text)))
	}
	var out map[string][]string
	for _, f := range []string{fText, fContext} {
		if len(h.Locations[f]) == 0 {
			continue
		}
		if fr := hl.BestFragmentsInField(h, bd, f, maxFragments); len(fr) > 0 {
			if out == nil {
				out = map[string][]string{}
			}
			out[f] = fr
		}
	}
	return out
}

// marker formats a fragment as plain text with the matched terms between
// two marks (Bleve's html formatter would escape the text).
type marker struct{ before, after string }

func (m marker) Format(f *highlight.Fragment, locs highlight.TermLocations) string {
	var b strings.Builder
	curr, open := f.Start, false
	for _, l := range locs {
		if l == nil || !l.ArrayPositions.Equals(f.ArrayPositions) || l.Start < curr {
			continue
		}
		if l.End > f.End {
			break
		}
		if open && l.Start == curr {
			// Adjacent terms share one mark: [ログインでき]ません, not
			// [ログイン][でき]ません.
			b.Write(f.Orig[l.Start:l.End])
			curr = l.End
			continue
		}
		if open {
			b.WriteString(m.after)
		}
		b.Write(f.Orig[curr:l.Start])
		b.WriteString(m.before)
		b.Write(f.Orig[l.Start:l.End])
		curr, open = l.End, true
	}
	if open {
		b.WriteString(m.after)
	}
	b.Write(f.Orig[curr:f.End])
	return b.String()
}
