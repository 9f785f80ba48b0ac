package index

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
	bleveindex "github.com/blevesearch/bleve_index_api"
)

// Ranges on score, followers and created_at.
//
// Bleve indexes a number as 16 terms, one per 4-bit prefix of its 64 bits,
// so that a range query is a few coarse terms plus a few fine ones. That
// made score, followers and created_at two thirds of the terms of a post
// and 40% of the time to index it. Kizuki's numbers are integers that sit
// close to zero (a score of 0-100, a follower count, seconds since 1970),
// and every prefix of such a number above its top digit is the prefix of
// zero. So the same scheme is kept — base-16 prefixes, one term per level —
// but the levels where a number's prefix is zero's are not indexed: a score
// of 72 is 2 terms, 12,000 followers 4, a date (in seconds) 8. A query
// that needs the block of zero at some level asks for its 16 children at
// the level below instead.
//
// Dates are indexed to the second; the ts field, which holds created_at to
// the nanosecond, answers for the part of a second at either end of a range.

const (
	rangeStep   = 4 // bits per level
	rangeLevels = 64 / rangeStep
	rangeFanout = 1 << rangeStep
)

// rangeKey maps an integer to an unsigned key of the same order.
func rangeKey(v int64) uint64 { return uint64(v) ^ 1<<63 }

var zeroKey = rangeKey(0)

// rangeTerm is the term of the keys whose prefix at level l is p.
func rangeTerm(l int, p uint64) []byte {
	b := make([]byte, 9)
	b[0] = byte(l)
	binary.BigEndian.PutUint64(b[1:], p)
	return b
}

// levelIndexed reports whether the keys with prefix p at level l carry a
// term for it: at level 0 always, above only when p is not zero's prefix.
// A key's indexed levels are therefore 0 up to its top digit.
func levelIndexed(l int, p uint64) bool {
	return l == 0 || p != zeroKey>>(rangeStep*l)
}

// rangeTerms returns the terms indexed for v.
func rangeTerms(v int64) [][]byte {
	k := rangeKey(v)
	var out [][]byte
	for l := 0; l < rangeLevels; l++ {
		p := k >> (rangeStep * l)
		if !levelIndexed(l, p) {
			break // and so are the levels above
		}
		out = append(out, rangeTerm(l, p))
	}
	return out
}

// rangeBlocks calls emit with the terms whose docs together are exactly
// those with a value in [lo, hi].
func rangeBlocks(lo, hi int64, emit func(term []byte)) {
	if lo > hi {
		return
	}
	a, b := rangeKey(lo), rangeKey(hi)
	for l := 0; ; l++ {
		// a..b are prefixes at level l. Whole blocks of the level above
		// are qa..qb; what sits outside them is emitted at this level.
		qa := a >> rangeStep
		if a%rangeFanout != 0 {
			qa++
		}
		full := true
		var qb uint64
		switch {
		case b%rangeFanout == rangeFanout-1:
			qb = b >> rangeStep
		case b>>rangeStep > 0:
			qb = b>>rangeStep - 1
		default:
			full = false
		}
		if l == rangeLevels-1 || !full || qa > qb {
			emitSpan(l, a, b, emit)
			return
		}
		if first := qa << rangeStep; a < first {
			emitSpan(l, a, first-1, emit)
		}
		if after := (qb + 1) << rangeStep; after != 0 && after <= b { // 0: past the top
			emitSpan(l, after, b, emit)
		}
		a, b = qa, qb
	}
}

// emitSpan emits the blocks a..b of level l (fewer than 2*rangeFanout).
func emitSpan(l int, a, b uint64, emit func([]byte)) {
	for p := a; ; p++ {
		emitBlock(l, p, emit)
		if p == b {
			return
		}
	}
}

// emitBlock emits block p of level l, or its children when its docs carry
// no term at this level.
func emitBlock(l int, p uint64, emit func([]byte)) {
	if levelIndexed(l, p) {
		emit(rangeTerm(l, p))
		return
	}
	for i := uint64(0); i < rangeFanout; i++ {
		emitBlock(l-1, p<<rangeStep|i, emit)
	}
}

// rangeTokenizer turns a decimal integer into its range terms. Text that
// is not an integer gives no terms (the index writes only integers here).
type rangeTokenizer struct{}

func (rangeTokenizer) Tokenize(input []byte) analysis.TokenStream {
	v, err := strconv.ParseInt(string(input), 10, 64)
	if err != nil {
		return nil
	}
	terms := rangeTerms(v)
	toks := make([]analysis.Token, len(terms))
	out := make(analysis.TokenStream, len(terms))
	for i, t := range terms {
		toks[i] = analysis.Token{Term: t, Start: 0, End: len(input), Position: 1, Type: analysis.Numeric}
		out[i] = &toks[i]
	}
	return out
}

// rangeQuery finds the docs whose integer field is in [lo, hi].
type rangeQuery struct {
	field  string
	lo, hi int64
	boost  *query.Boost
}

func (q *rangeQuery) Field() string      { return q.field }
func (q *rangeQuery) SetField(f string)  { q.field = f }
func (q *rangeQuery) Boost() float64     { return q.boost.Value() }
func (q *rangeQuery) SetBoost(b float64) { bb := query.Boost(b); q.boost = &bb }

// Searcher looks up the terms of the range, skipping those the index does
// not have, as Bleve's numeric range searcher does.
func (q *rangeQuery) Searcher(ctx context.Context, r bleveindex.IndexReader, _ mapping.IndexMapping, opt search.SearcherOptions) (search.Searcher, error) {
	has := func([]byte) bool { return true }
	if rc, ok := r.(bleveindex.IndexReaderContains); ok {
		dict, err := rc.FieldDictContains(q.field)
		if err != nil {
			return nil, err
		}
		if fd, ok := dict.(bleveindex.FieldDict); ok {
			defer fd.Close()
		}
		has = func(t []byte) bool {
			found, err := dict.Contains(t)
			return err == nil && found
		}
	}
	var terms [][]byte
	rangeBlocks(q.lo, q.hi, func(t []byte) {
		if has(t) {
			terms = append(terms, t)
		}
	})
	return searcher.NewMultiTermSearcherBytes(ctx, r, terms, q.field, q.boost.Value(), opt, true)
}

// numberRange is a number query (score:>50, followers:1000) on an integer
// field; Bleve's bounds are floats, inclusive at the start and exclusive
// at the end unless said otherwise.
func numberRange(field string, min, max *float64, minIncl, maxIncl *bool, boost float64) *rangeQuery {
	q := &rangeQuery{field: field, lo: math.MinInt64, hi: math.MaxInt64}
	q.SetBoost(boost)
	if min != nil {
		m := math.Ceil(*min)
		if minIncl != nil && !*minIncl && m == *min {
			m++
		}
		switch {
		case math.IsNaN(m) || m >= math.MaxInt64: // 2^63: above every integer
			q.lo, q.hi = 1, 0
			return q
		case m > math.MinInt64:
			q.lo = int64(m)
		}
	}
	if max != nil {
		m := math.Floor(*max)
		if (maxIncl == nil || !*maxIncl) && m == *max {
			m--
		}
		switch {
		case math.IsNaN(m) || m < math.MinInt64:
			q.lo, q.hi = 1, 0
		case m < math.MaxInt64:
			q.hi = int64(m)
		}
	}
	return q
}

// dateQuery finds the docs created in a time range: whole seconds through
// the created_at terms, the part of a second at either end through ts.
type dateQuery struct {
	from, to int64 // [from, to) in Unix nanoseconds
	boost    *query.Boost
}

// Field is created_at, the only date; it makes the query a filter (isFilter).
func (q *dateQuery) Field() string      { return fCreatedAt }
func (q *dateQuery) SetField(string)    {}
func (q *dateQuery) Boost() float64     { return q.boost.Value() }
func (q *dateQuery) SetBoost(b float64) { bb := query.Boost(b); q.boost = &bb }

// dateRange builds a dateQuery from Bleve's form: a zero time is unbounded;
// start is inclusive and end exclusive unless said otherwise.
func dateRange(start, end time.Time, startIncl, endIncl *bool, boost float64) (*dateQuery, error) {
	q := &dateQuery{from: math.MinInt64, to: math.MaxInt64}
	q.SetBoost(boost)
	for _, t := range []time.Time{start, end} {
		if !t.IsZero() && (t.Before(query.MinRFC3339CompatibleTime) || t.After(query.MaxRFC3339CompatibleTime)) {
			return nil, fmt.Errorf("the date %s is out of range: dates go from %s to %s", t.Format(time.RFC3339),
				query.MinRFC3339CompatibleTime.Format(time.DateOnly), query.MaxRFC3339CompatibleTime.Format(time.DateOnly))
		}
	}
	if !start.IsZero() {
		q.from = start.UnixNano()
		if startIncl != nil && !*startIncl {
			q.from++
		}
	}
	if !end.IsZero() {
		q.to = end.UnixNano()
		if endIncl != nil && *endIncl {
			q.to++
		}
	}
	return q, nil
}

func (q *dateQuery) Searcher(ctx context.Context, r bleveindex.IndexReader, m mapping.IndexMapping, opt search.SearcherOptions) (search.Searcher, error) {
	const sec = int64(time.Second)
	if q.from >= q.to {
		return searcher.NewMultiTermSearcherBytes(ctx, r, nil, fCreatedAt, q.boost.Value(), opt, true)
	}
	secs := &rangeQuery{field: fCreatedAt, lo: math.MinInt64, hi: math.MaxInt64, boost: q.boost}
	type span struct{ from, to int64 } // [from, to) in ns, within one second
	var parts []span
	if q.from != math.MinInt64 {
		s := floorDiv(q.from, sec)
		secs.lo = s
		if q.from != s*sec { // starts inside second s
			secs.lo = s + 1
			parts = append(parts, span{q.from, min(q.to, (s+1)*sec)})
		}
	}
	if q.to != math.MaxInt64 {
		s := floorDiv(q.to, sec)
		secs.hi = s - 1
		if q.to != s*sec && s >= secs.lo { // ends inside second s, which the start did not cover
			parts = append(parts, span{s * sec, q.to})
		}
	}
	if len(parts) == 0 {
		return secs.Searcher(ctx, r, m, opt)
	}
	var ss []search.Searcher
	closeAll := func() {
		for _, s := range ss {
			_ = s.Close()
		}
	}
	if secs.lo <= secs.hi {
		s, err := secs.Searcher(ctx, r, m, opt)
		if err != nil {
			return nil, err
		}
		ss = append(ss, s)
	}
	incl, excl := true, false
	for _, p := range parts {
		s, err := searcher.NewTermRangeSearcher(ctx, r,
			[]byte(sortTime(time.Unix(0, p.from))), []byte(sortTime(time.Unix(0, p.to))),
			&incl, &excl, fSortTime, q.boost.Value(), opt)
		if err != nil {
			closeAll()
			return nil, err
		}
		ss = append(ss, s)
	}
	if len(ss) == 1 {
		return ss[0], nil
	}
	d, err := searcher.NewDisjunctionSearcher(ctx, r, ss, 0, opt)
	if err != nil {
		closeAll()
		return nil, err
	}
	return d, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
