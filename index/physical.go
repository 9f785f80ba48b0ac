package index

import (
	"regexp"

	"github.com/blevesearch/bleve/v2/search/query"
)

// physical rewrites a query over the fields people write (brand:,
// tagged:, id: …) into one over the fields the index has: the keyword and
// boolean fields are terms of fFields (see fieldTerms), id is Bleve's _id.
// It changes q in place and returns it, or the query that replaces it.
func physical(q query.Query) query.Query {
	switch q := q.(type) {
	case *query.BooleanQuery:
		for _, c := range []*query.Query{&q.Must, &q.Should, &q.MustNot, &q.Filter} {
			if *c != nil {
				*c = physical(*c)
			}
		}
	case *query.ConjunctionQuery:
		for i := range q.Conjuncts {
			q.Conjuncts[i] = physical(q.Conjuncts[i])
		}
	case *query.DisjunctionQuery:
		for i := range q.Disjuncts {
			q.Disjuncts[i] = physical(q.Disjuncts[i])
		}
	case *query.MatchQuery:
		switch kind, _ := fieldKindOf(q.FieldVal); kind {
		case kindKeyword:
			return term(fFields, fieldTerm(q.FieldVal, lowerKeyword(q.Match)), len(q.FieldVal)+1+q.Prefix, q.Fuzziness, q.Boost())
		case kindExact:
			return term(fDocID, q.Match, q.Prefix, q.Fuzziness, q.Boost())
		}
	case *query.BoolFieldQuery:
		if kind, _ := fieldKindOf(q.FieldVal); kind == kindBool {
			return term(fFields, fieldTerm(q.FieldVal, boolTerm(q.Bool)), 0, 0, q.Boost())
		}
	case *query.WildcardQuery:
		switch kind, _ := fieldKindOf(q.FieldVal); kind {
		case kindKeyword:
			// The field name and "=" hold no wildcard.
			q.Wildcard, q.FieldVal = fieldTerm(q.FieldVal, q.Wildcard), fFields
		case kindExact:
			q.FieldVal = fDocID
		}
	case *query.RegexpQuery:
		switch kind, _ := fieldKindOf(q.FieldVal); kind {
		case kindKeyword:
			// Bleve matches a regexp against whole terms.
			q.Regexp, q.FieldVal = regexp.QuoteMeta(fieldTerm(q.FieldVal, ""))+"(?:"+q.Regexp+")", fFields
		case kindExact:
			q.FieldVal = fDocID
		}
	}
	return q
}

// term is a term query on field, fuzzy when fuzziness is not 0, with the
// first prefix bytes exact.
func term(field, t string, prefix, fuzziness int, boost float64) query.Query {
	if fuzziness == 0 {
		q := query.NewTermQuery(t)
		q.SetField(field)
		q.SetBoost(boost)
		return q
	}
	q := query.NewFuzzyQuery(t)
	q.SetField(field)
	q.SetFuzziness(fuzziness)
	q.SetPrefix(prefix)
	q.SetBoost(boost)
	return q
}
