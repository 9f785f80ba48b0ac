package index

import (
	"fmt"
	"github.com/kizuki-dev/kizuki/internal/suggest"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/search/query"
	"golang.org/x/text/unicode/norm"
)

// contextBoost is the weight of a match in the thread before a post,
// relative to one in the post itself.
const contextBoost = 0.3

// QueryError is a query that cannot run, explained for the person who
// wrote it.
type QueryError struct {
	Query string
	Pos   int    // character (not byte) position of the problem, from 1; 0 if none
	Msg   string // what is wrong, where, and what to write instead
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("bad query %q: %s", e.Query, e.Msg)
}

// parse turns a Bleve query string into a query over this index's fields.
//
// Before Bleve parses it, the query is scanned by the same rules as Bleve's
// lexer, to explain mistakes with their position (Bleve says only "syntax
// error"), and full-width ASCII and spaces, which Japanese keyboards type,
// are folded to ASCII. After, the query is rewritten (see rewriter).
func (ix *Index) parse(raw string) (query.Query, error) {
	s := foldQueryWidth(raw)
	if strings.TrimSpace(s) == "" {
		return query.NewMatchAllQuery(), nil
	}
	sc := scanner{raw: raw, rs: []rune(s), fieldPos: map[string]int{}}
	if err := sc.scan(); err != nil {
		return nil, err
	}
	q, err := query.NewQueryStringQuery(s).Parse()
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "parse error: ")
		return nil, &QueryError{Query: raw, Msg: fmt.Sprintf(
			"Bleve could not parse it (%s); check the operators + - : ^ ~ > < = and the quotes, and write \\ before one to search for it as text", msg)}
	}
	a := ix.b.Mapping().AnalyzerNamed(AnalyzerName)
	w := rewriter{raw: raw, fieldPos: sc.fieldPos, an: a}
	return w.clause(q)
}

// foldQueryWidth maps full-width ASCII (＋, ：, ＂) to ASCII and every space
// (U+3000 included) to ' ', rune for rune, so positions do not move.
func foldQueryWidth(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFEE0
		case unicode.IsSpace(r):
			return ' '
		}
		return r
	}, s)
}

// scanner finds the mistakes Bleve's query-string lexer and grammar reject,
// or accept with a meaning nobody wants, and says where they are.
type scanner struct {
	raw      string
	rs       []rune
	i        int
	fieldPos map[string]int // field name → position of its first use
}

func (sc *scanner) fail(pos int, format string, args ...any) error {
	return &QueryError{Query: sc.raw, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (sc *scanner) at(i int) rune {
	if i < len(sc.rs) {
		return sc.rs[i]
	}
	return 0
}

func (sc *scanner) scan() error {
	for sc.i < len(sc.rs) {
		r := sc.rs[sc.i]
		pos := sc.i + 1
		switch r {
		case ' ':
			sc.i++
			continue
		case '+', '-':
			if next := sc.at(sc.i + 1); next == 0 || next == ' ' {
				return sc.fail(pos, "the %q at character %d is not followed by a term: write %cword with no space (%s), or \\%c to search for the sign itself",
					string(r), pos, r, map[rune]string{'+': "the word must match", '-': "the word must not match"}[r], r)
			}
			sc.i++
			continue
		case ':':
			return sc.fail(pos, "the colon at character %d has no field name before it: write field:value (fields: %s), or \\: to search for a colon", pos, fieldList())
		case '^', '~':
			return sc.fail(pos, "the %q at character %d does not follow a term: write word^2 to weigh a word double, word~1 to allow one typo", string(r), pos)
		case '>', '<', '=':
			return sc.fail(pos, "the %q at character %d does not follow a field: write score:>50 or created_at:>=\"2026-01-01\", or \\%c to search for it", string(r), pos, r)
		}
		text, err := sc.term()
		if err != nil {
			return err
		}
		if sc.at(sc.i) == ':' {
			if err := sc.field(text, pos); err != nil {
				return err
			}
			sc.i++ // the colon
			if err := sc.value(text); err != nil {
				return err
			}
		}
		if err := sc.suffix(); err != nil {
			return err
		}
	}
	return nil
}

// term reads a word or a quoted phrase at sc.i.
func (sc *scanner) term() (string, error) {
	start := sc.i
	if sc.rs[sc.i] == '"' {
		var b strings.Builder
		for sc.i++; sc.i < len(sc.rs); sc.i++ {
			switch r := sc.rs[sc.i]; r {
			case '\\':
				sc.i++
				if sc.i < len(sc.rs) {
					b.WriteRune(sc.rs[sc.i])
				}
			case '"':
				sc.i++
				return b.String(), nil
			default:
				b.WriteRune(r)
			}
		}
		return "", sc.fail(start+1, "the quote at character %d is never closed: add a closing \" after the phrase, or write \\\" to search for a quote character", start+1)
	}
	var b strings.Builder
	for ; sc.i < len(sc.rs); sc.i++ {
		r := sc.rs[sc.i]
		switch r {
		case ' ', ':', '^', '~':
			return b.String(), nil
		case '\\':
			sc.i++
			if sc.i < len(sc.rs) {
				b.WriteRune(sc.rs[sc.i])
			}
			continue
		case '(', ')':
			return "", sc.fail(sc.i+1, "the %q at character %d: Bleve query strings have no parentheses or grouping; write the clauses side by side (+a +b: both must match; a b: either; -a: must not), or quote the text (\"(a\") or write \\%c to search for the character", string(r), sc.i+1, r)
		case '"':
			return "", sc.fail(sc.i+1, "the quote at character %d is inside a word: put a space before the phrase (word \"a phrase\"), or write \\\" to search for a quote character", sc.i+1)
		}
		b.WriteRune(r)
	}
	return b.String(), nil
}

// field checks the field name of field:value.
func (sc *scanner) field(name string, pos int) error {
	if name == "" {
		return sc.fail(pos, "the field name at character %d is empty: write field:value (fields: %s)", pos, fieldList())
	}
	lower := strings.ToLower(name)
	if _, ok := fieldKindOf(lower); !ok {
		hint := ""
		if s := suggestField(lower); s != "" {
			hint = fmt.Sprintf("did you mean %s? ", s)
		}
		return sc.fail(pos, "there is no field %q (character %d); %sthe fields are %s; to search for the text %q write it as %s\\:…",
			name, pos, hint, fieldList(), name+":", name)
	}
	if _, seen := sc.fieldPos[lower]; !seen {
		sc.fieldPos[lower] = pos
	}
	return nil
}

// value reads what follows field: (sc.i is just past the colon).
func (sc *scanner) value(field string) error {
	pos := sc.i + 1
	r := sc.at(sc.i)
	if r == 0 || r == ' ' {
		return sc.fail(pos-1, "the field %s: at character %d has no value: write %s:word or %s:\"two words\" with no space after the colon", field, pos-1, field, field)
	}
	if r == '>' || r == '<' {
		sc.i++
		if sc.at(sc.i) == '=' {
			sc.i++
		}
		vpos := sc.i + 1
		if c := sc.at(sc.i); c == 0 || c == ' ' {
			return sc.fail(vpos-1, "the comparison at character %d has no value: write %s:>50 for a number or %s:>\"2026-01-01\" for a date", vpos-1, field, field)
		}
		quoted := sc.at(sc.i) == '"'
		v, err := sc.term()
		if err != nil {
			return err
		}
		if !quoted {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return sc.fail(vpos, "the comparison at character %d needs a number (%s:>50) or a date in quotes (%s:>\"2026-01-01\"), not %q", vpos, field, field, v)
			}
		}
		return nil
	}
	if r == ':' || r == '^' || r == '~' || r == '=' {
		return sc.fail(pos, "the %q at character %d cannot start the value of %s: write \\%c to search for it", string(r), pos, field, r)
	}
	if r == '-' { // a negative number
		sc.i++
		if c := sc.at(sc.i); c < '0' || c > '9' {
			return sc.fail(pos, "the \"-\" at character %d: only numbers can be negative here (%s:-5); to exclude a value write -%s:value", pos, field, field)
		}
	}
	_, err := sc.term()
	return err
}

// suffix reads ^boost or ~fuzziness after a term.
func (sc *scanner) suffix() error {
	for {
		r := sc.at(sc.i)
		if r != '^' && r != '~' {
			return nil
		}
		pos := sc.i + 1
		sc.i++
		start := sc.i
		for sc.i < len(sc.rs) && sc.rs[sc.i] != ' ' {
			sc.i++
		}
		v := string(sc.rs[start:sc.i])
		if v == "" {
			continue // Bleve reads a bare ^ or ~ as 1
		}
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			what := map[rune]string{'^': "a weight, as in refund^2", '~': "a number of typos, as in refund~1"}[r]
			return sc.fail(pos, "the %q at character %d must be followed by %s, not %q", string(r), pos, what, v)
		}
	}
}

func fieldList() string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

// suggestField names the field someone probably meant.
func suggestField(name string) string {
	switch name {
	case "handle", "user", "username", "from", "screen_name":
		return fAuthor
	case "date", "time", "created", "since", "until":
		return fCreatedAt
	case "body", "content", "post", "message":
		return fText
	case "thread", "replies", "parent":
		return fContext
	case "source", "network", "site":
		return fPlatform
	case "language":
		return fLang
	case "tag", "tags":
		return fTagged
	}
	// A typo: at most two edits, and fewer than a third of the name.
	best, bestD := "", min(3, len(name)/3+1)
	for _, f := range fields {
		if d := suggest.Distance(name, f.name); d < bestD {
			best, bestD = f.name, d
		}
	}
	return best
}

// rewriter adapts a parsed query to the index:
//   - an unfielded term searches text OR context (context at contextBoost),
//     which is cheaper than an _all field and keeps highlighting per field;
//   - a term that the analyzer splits into several words (ログインできない,
//     e-mail) becomes a phrase of them, as the writer meant one word;
//   - a term in only hiragana or only katakana also searches the other
//     script, since kagome splits unknown words differently in each;
//   - wildcards and regexps are folded as the index terms are;
//   - field names are lower-cased, a number searched in a text field is
//     text, true/false on a boolean field is a boolean, and a value of the
//     wrong type for its field is a QueryError.
type rewriter struct {
	raw      string
	fieldPos map[string]int
	an       analysis.Analyzer
}

func (w *rewriter) fail(field, format string, args ...any) error {
	pos := w.fieldPos[field]
	msg := fmt.Sprintf(format, args...)
	if pos > 0 {
		msg = fmt.Sprintf("at character %d, %s", pos, msg)
	}
	return &QueryError{Query: w.raw, Pos: pos, Msg: msg}
}

func (w *rewriter) clause(q query.Query) (query.Query, error) {
	b, ok := q.(*query.BooleanQuery)
	if !ok {
		return w.leaf(q)
	}
	for _, part := range []query.Query{b.Must, b.Should, b.MustNot} {
		var children []query.Query
		switch p := part.(type) {
		case *query.ConjunctionQuery:
			children = p.Conjuncts
		case *query.DisjunctionQuery:
			children = p.Disjuncts
		}
		for i, c := range children {
			n, err := w.leaf(c)
			if err != nil {
				return nil, err
			}
			children[i] = n // in place: the parser's clause types carry unexported flags
		}
	}
	w.filtersRequired(b)
	return b, nil
}

// filtersRequired makes optional clauses on keyword, boolean, number and
// date fields required. Bleve treats a clause without + as optional, so
// `brand:"Kumo Mobile" +返金 category:risky` would return every 返金 post;
// a person who names a brand or a category means it as a filter. Text
// clauses keep Bleve's meaning (optional words rank higher).
func (w *rewriter) filtersRequired(b *query.BooleanQuery) {
	should, ok := b.Should.(*query.DisjunctionQuery)
	if !ok {
		return
	}
	var keep, moved []query.Query
	for _, c := range should.Disjuncts {
		if isFilter(c) {
			moved = append(moved, c)
		} else {
			keep = append(keep, c)
		}
	}
	if len(moved) == 0 {
		return
	}
	hadMust := false
	switch must := b.Must.(type) {
	case *query.ConjunctionQuery:
		hadMust = len(must.Conjuncts) > 0
		must.Conjuncts = append(must.Conjuncts, moved...)
	default:
		b.Must = query.NewConjunctionQuery(moved)
	}
	if len(keep) == 0 {
		b.Should = nil
		return
	}
	should.Disjuncts = keep
	if !hadMust {
		// Without a required clause Bleve needs one optional clause to
		// match; keep that now that the filters became required.
		should.SetMin(1)
	}
}

func isFilter(q query.Query) bool {
	f, ok := q.(query.FieldableQuery)
	if !ok {
		return false
	}
	kind, known := fieldKindOf(strings.ToLower(f.Field()))
	return known && kind != kindText
}

// kindOf returns the kind of a field named in a query, lower-casing the
// name in place. An empty name is the default: text and context.
func (w *rewriter) kindOf(field *string) (fieldKind, bool) {
	*field = strings.ToLower(*field)
	if *field == "" {
		return kindText, true
	}
	return fieldKindOf(*field)
}

func (w *rewriter) leaf(q query.Query) (query.Query, error) {
	switch q := q.(type) {
	case *query.DisjunctionQuery:
		return w.number(q)
	case *query.MatchQuery:
		kind, ok := w.kindOf(&q.FieldVal)
		if !ok {
			return nil, w.fail(q.FieldVal, "there is no field %q; the fields are %s", q.FieldVal, fieldList())
		}
		switch kind {
		case kindText:
			return w.textMatch(q.FieldVal, q.Match, q, false, q.Boost()), nil
		case kindBool:
			return w.boolean(q.FieldVal, q.Match, q.Boost())
		}
		return q, w.typed(kind, q.FieldVal, q.Match)
	case *query.MatchPhraseQuery:
		kind, ok := w.kindOf(&q.FieldVal)
		if !ok {
			return nil, w.fail(q.FieldVal, "there is no field %q; the fields are %s", q.FieldVal, fieldList())
		}
		switch kind {
		case kindText:
			return w.textMatch(q.FieldVal, q.MatchPhrase, nil, true, q.Boost()), nil
		case kindBool:
			return w.boolean(q.FieldVal, q.MatchPhrase, q.Boost())
		case kindKeyword, kindExact:
			// One term: a phrase query would need term vectors, which
			// keyword fields do without.
			m := query.NewMatchQuery(q.MatchPhrase)
			m.SetField(q.FieldVal)
			m.SetBoost(q.Boost())
			return m, nil
		}
		return q, w.typed(kind, q.FieldVal, q.MatchPhrase)
	case *query.WildcardQuery:
		return w.pattern(q, &q.FieldVal, &q.Wildcard, q.Boost(), false)
	case *query.RegexpQuery:
		if _, err := syntax.Parse(q.Regexp, syntax.Perl); err != nil {
			return nil, &QueryError{Query: w.raw, Msg: fmt.Sprintf("the regular expression /%s/ is not valid (%v); write \\/ to search for a slash", q.Regexp, err)}
		}
		return w.pattern(q, &q.FieldVal, &q.Regexp, q.Boost(), true)
	case *query.NumericRangeQuery:
		kind, ok := w.kindOf(&q.FieldVal)
		switch {
		case !ok:
			return nil, w.fail(q.FieldVal, "there is no field %q; the fields are %s", q.FieldVal, fieldList())
		case kind == kindDate:
			return nil, w.fail(q.FieldVal, "%s is a date: compare it with a date in quotes, as in %s:>\"2026-01-01\" or %s:<\"2026-01-02T09:00:00Z\"", q.FieldVal, q.FieldVal, q.FieldVal)
		case kind != kindNumber:
			return nil, w.fail(q.FieldVal, "%s is not a number: only %s and %s compare with > and <", q.FieldVal, fScore, fFollowers)
		}
		return numberRange(q.FieldVal, q.Min, q.Max, q.InclusiveMin, q.InclusiveMax, q.Boost()), nil
	case *query.DateRangeQuery:
		kind, ok := w.kindOf(&q.FieldVal)
		switch {
		case !ok:
			return nil, w.fail(q.FieldVal, "there is no field %q; the fields are %s", q.FieldVal, fieldList())
		case kind != kindDate:
			return nil, w.fail(q.FieldVal, "%s is not a date: only %s compares with a date", q.FieldVal, fCreatedAt)
		}
		dq, err := dateRange(q.Start.Time, q.End.Time, q.InclusiveStart, q.InclusiveEnd, q.Boost())
		if err != nil {
			return nil, w.fail(q.FieldVal, "%v", err)
		}
		return dq, nil
	}
	return q, nil
}

// number handles a bare number, which Bleve's parser turns into "the text
// OR the number" on one field: keep the half that fits the field.
func (w *rewriter) number(q *query.DisjunctionQuery) (query.Query, error) {
	if len(q.Disjuncts) != 2 {
		return q, nil
	}
	m, ok1 := q.Disjuncts[0].(*query.MatchQuery)
	nr, ok2 := q.Disjuncts[1].(*query.NumericRangeQuery)
	if !ok1 || !ok2 {
		return q, nil
	}
	if q.BoostVal != nil {
		m.SetBoost(q.Boost())
		nr.SetBoost(q.Boost())
	}
	kind, ok := w.kindOf(&m.FieldVal)
	nr.FieldVal = m.FieldVal
	switch {
	case !ok:
		return nil, w.fail(m.FieldVal, "there is no field %q; the fields are %s", m.FieldVal, fieldList())
	case kind == kindNumber:
		return numberRange(nr.FieldVal, nr.Min, nr.Max, nr.InclusiveMin, nr.InclusiveMax, nr.Boost()), nil
	}
	return w.leaf(m)
}

// typed checks a match on a field that is not text.
func (w *rewriter) typed(kind fieldKind, field, val string) error {
	switch kind {
	case kindNumber:
		return w.fail(field, "%s is a number, not %q: write %s:50, %s:>50 or %s:<=50", field, val, field, field, field)
	case kindDate:
		return w.fail(field, "%s is a date, not a word: write %s:>=\"2026-01-01\" and %s:<\"2026-01-02\" for a day", field, field, field)
	}
	return nil
}

func (w *rewriter) boolean(field, val string, boost float64) (query.Query, error) {
	var b bool
	switch strings.ToLower(val) {
	case "true", "yes", "t", "y":
		b = true
	case "false", "no", "f", "n":
	default:
		return nil, w.fail(field, "%s is true or false, not %q", field, val)
	}
	q := query.NewBoolFieldQuery(b)
	q.SetField(field)
	q.SetBoost(boost)
	return q, nil
}

// textMatch builds the query for words on the text fields: field, or text
// and context when field is "".
func (w *rewriter) textMatch(field, val string, m *query.MatchQuery, phrase bool, boost float64) query.Query {
	if field == "" {
		return query.NewDisjunctionQuery([]query.Query{
			w.textMatch(fText, val, m, phrase, boost),
			w.textMatch(fContext, val, m, phrase, boost*contextBoost),
		})
	}
	build := func(v string) query.Query {
		if phrase || m.Fuzziness == 0 && len(w.an.Analyze([]byte(v))) > 1 {
			p := query.NewMatchPhraseQuery(v)
			p.SetField(field)
			p.SetBoost(boost)
			return p
		}
		c := *m
		c.Match = v
		c.FieldVal = field
		c.SetBoost(boost)
		return &c
	}
	q := build(val)
	if alt, ok := otherKana(val); ok && !sameTerms(w.an, val, alt) {
		return query.NewDisjunctionQuery([]query.Query{q, build(alt)})
	}
	return q
}

// pattern folds a wildcard or regexp as the field's terms are folded.
func (w *rewriter) pattern(q query.Query, field, pat *string, boost float64, isRegexp bool) (query.Query, error) {
	kind, ok := w.kindOf(field)
	if !ok {
		return nil, w.fail(*field, "there is no field %q; the fields are %s", *field, fieldList())
	}
	switch kind {
	case kindText:
		p := *pat
		if !isRegexp {
			p = string(foldKana(strings.ToLower(norm.NFKC.String(p))))
		} else {
			p = string(foldKana(p))
		}
		if *field == "" {
			mk := func(f string, b float64) query.Query {
				if isRegexp {
					r := query.NewRegexpQuery(p)
					r.SetField(f)
					r.SetBoost(b)
					return r
				}
				r := query.NewWildcardQuery(p)
				r.SetField(f)
				r.SetBoost(b)
				return r
			}
			return query.NewDisjunctionQuery([]query.Query{mk(fText, boost), mk(fContext, boost*contextBoost)}), nil
		}
		*pat = p
	case kindKeyword:
		if !isRegexp {
			*pat = strings.ToLower(*pat)
		}
	case kindExact:
	default:
		return nil, w.fail(*field, "%s is not text: wildcards and regular expressions work on text fields only", *field)
	}
	return q, nil
}

// otherKana returns s in the other kana script when s is written in only
// hiragana or only katakana (the prolonged sound mark ー goes with both).
func otherKana(s string) (string, bool) {
	hira, kata := 0, 0
	for _, r := range s {
		switch {
		case r == 'ー':
		case r >= 'ぁ' && r <= 'ゖ':
			hira++
		case r >= 'ァ' && r <= 'ヶ':
			kata++
		default:
			return "", false
		}
	}
	if hira > 0 && kata > 0 || hira+kata == 0 {
		return "", false
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case hira > 0 && r >= 'ぁ' && r <= 'ゖ':
			r += 'ァ' - 'ぁ'
		case kata > 0 && r >= 'ァ' && r <= 'ヶ':
			r -= 'ァ' - 'ぁ'
		}
		b = utf8.AppendRune(b, r)
	}
	return string(b), true
}

func sameTerms(a analysis.Analyzer, x, y string) bool {
	tx, ty := a.Analyze([]byte(x)), a.Analyze([]byte(y))
	if len(tx) != len(ty) {
		return false
	}
	for i := range tx {
		if string(tx[i].Term) != string(ty[i].Term) {
			return false
		}
	}
	return true
}
