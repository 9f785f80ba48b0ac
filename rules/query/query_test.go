package query

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// dump renders a parsed tree as an S-expression for the tests.
func dump(n *node) string {
	switch n.kind {
	case kTerm:
		s := termString(n.term)
		if n.ctx {
			s = "ctx:" + s
		}
		return s
	case kNear:
		var sides [2]string
		for i, side := range n.near {
			ts := make([]string, len(side))
			for j, t := range side {
				ts[j] = termString(t)
			}
			sides[i] = "[" + strings.Join(ts, " ") + "]"
		}
		s := fmt.Sprintf("(near/%d %s %s)", n.dist, sides[0], sides[1])
		if n.ctx {
			s = "ctx:" + s
		}
		return s
	case kAnd, kOr, kNot:
		name := map[kind]string{kAnd: "and", kOr: "or", kNot: "not"}[n.kind]
		parts := []string{name}
		for _, k := range n.kids {
			parts = append(parts, dump(k))
		}
		return "(" + strings.Join(parts, " ") + ")"
	case kLang:
		return "lang=" + n.val
	case kPlatform:
		return "platform=" + n.val
	case kAuthor:
		return "author=" + n.val
	case kFollowers:
		return "followers" + [...]string{">", ">=", "<", "<=", "="}[n.op] + strconv.FormatInt(n.num, 10)
	}
	return "?"
}

func termString(t Term) string {
	s := t.Text
	if t.Phrase {
		s = `"` + s + `"`
	}
	if t.Prefix {
		s += "*"
	}
	return s
}

func TestParse(t *testing.T) {
	// The operands of AND and OR are kept in evaluation order: filters,
	// then terms, then NEAR and groups, each in source order.
	tests := []struct{ src, want string }{
		{"a", "a"},
		{"KUMO", "kumo"},
		{"  a  ", "a"},
		{"a b", "(and a b)"},
		{"a AND b", "(and a b)"},
		{"a b c", "(and a b c)"},
		{"a AND (b AND c)", "(and a b c)"},
		{"a OR b", "(or a b)"},
		{"a OR b OR c", "(or a b c)"},
		{"a AND b OR c", "(or c (and a b))"},
		{"a OR b AND c", "(or a (and b c))"},
		{"a OR b c", "(or a (and b c))"},
		{"a b OR c d", "(or (and a b) (and c d))"},
		{"(a OR b) c", "(and c (or a b))"},
		{"(((a)))", "a"},
		{"NOT a", "(not a)"},
		{"NOT a b", "(and (not a) b)"},
		{"NOT a OR b", "(or (not a) b)"},
		{"a NOT b", "(and a (not b))"},
		{"a AND NOT b", "(and a (not b))"},
		{"NOT (a OR b)", "(not (or a b))"},
		{"NOT NOT a", "(not (not a))"},
		{"-a", "(not a)"},
		{"-a b", "(and (not a) b)"},
		{"a -b", "(and a (not b))"},
		{`a -"b c"`, `(and a (not "b c"))`},
		{"-(a OR b) c", "(and c (not (or a b)))"},
		{"--a", "(not (not a))"},
		{"E-201 kumo-mobile 12:30", "(and e-201 kumo-mobile 12:30)"},
		{"and or not near", "(and and or not near)"},
		{"a NEAR/3 b", "(near/3 [a] [b])"},
		{`(a OR "b c") NEAR/5 d*`, `(near/5 [a "b c"] [d*])`},
		{"(a OR (b OR c)) NEAR/2 (d)", "(near/2 [a b c] [d])"},
		{"a NEAR/3 b c", "(and c (near/3 [a] [b]))"},
		{"c a NEAR/3 b", "(and c (near/3 [a] [b]))"},
		{"a NEAR/3 b OR c", "(or c (near/3 [a] [b]))"},
		{"NOT a NEAR/2 b", "(not (near/2 [a] [b]))"},
		{"-a NEAR/2 b", "(not (near/2 [a] [b]))"},
		{"a NEAR/1000 b", "(near/1000 [a] [b])"},
		{`"ログインできない"`, `"ログインできない"`},
		{`"ログインできない" OR ログイン*`, `(or "ログインできない" ログイン*)`},
		{"ログイン　できない", "(and ログイン できない)"}, // ideographic space
		{`"ログイン　できない"`, `"ログイン できない"`},
		{`"  Kumo   Mobile  "`, `"kumo mobile"`},
		{`"kumo mob*"`, `"kumo mob"*`},
		{`"AND"`, `"and"`},
		{`"lang:ja"`, `"lang:ja"`},
		{`kumo"mobile"`, `(and kumo "mobile")`},
		{"refund*", "refund*"},
		{"Ｋｕｍｏ", "ｋｕｍｏ"}, // width folding is the Doc's business
		{"lang:ja", "lang=ja"},
		{"LANG:JA", "lang=ja"},
		{"lang:en-US", "lang=en-us"},
		{"platform:x", "platform=x"},
		{"platform:Bluesky", "platform=bluesky"},
		{"author:kumomobile", "author=kumomobile"},
		{"author:@Kumo_Support", "author=kumo_support"},
		{"author:kumo.bsky.social", "author=kumo.bsky.social"},
		{"followers:>10000", "followers>10000"},
		{"followers:>=10k", "followers>=10000"},
		{"followers:<1.5m", "followers<1500000"},
		{"followers:<=2K", "followers<=2000"},
		{"followers:=0", "followers=0"},
		{"followers:>1.25k", "followers>1250"},
		{"followers:>0.5k", "followers>500"},
		{"followers:>1b", "followers>1000000000"},
		{"context:outage", "ctx:outage"},
		{"context:Outage*", "ctx:outage*"},
		{`context:"down again"`, `ctx:"down again"`},
		{"context:(a OR b)", "(or ctx:a ctx:b)"},
		{"context:(a -b)", "(and ctx:a (not ctx:b))"},
		{"context:(a NEAR/2 b)", "ctx:(near/2 [a] [b])"},
		{"NOT context:outage", "(not ctx:outage)"},
		{"NOT lang:en", "(not lang=en)"},
		{"-platform:reddit", "(not platform=reddit)"},
		{"a lang:ja", "(and lang=ja a)"},
		{`("kumo mobile" OR kumomobile) AND NOT platform:reddit`, `(and (not platform=reddit) (or "kumo mobile" kumomobile))`},
		{"(a OR b) NEAR/3 c lang:ja followers:>10k", "(and lang=ja followers>10000 (near/3 [a b] [c]))"},
		{strings.Repeat("(", MaxDepth) + "a" + strings.Repeat(")", MaxDepth), "a"},
	}
	for _, tt := range tests {
		q, err := Parse(tt.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.src, err)
			continue
		}
		if got := dump(q.root); got != tt.want {
			t.Errorf("Parse(%q) = %s, want %s", tt.src, got, tt.want)
		}
		if q.String() != tt.src {
			t.Errorf("Parse(%q).String() = %q", tt.src, q.String())
		}
	}
}

func TestSyntaxErrors(t *testing.T) {
	deep := func(s string, n int) string { return strings.Repeat(s, n) }
	tests := []struct {
		src    string
		offset int
		msg    string // a substring of the message
	}{
		{"", 0, "empty query"},
		{"   ", 0, "empty query"},
		{"(a", 0, `unbalanced "(": add ")"`},
		{"a (b OR c", 2, `unbalanced "("`},
		{"((a)", 0, `unbalanced "("`},
		{"(a (b)", 0, `unbalanced "("`},
		{"(", 0, `unbalanced "("`},
		{"a)", 1, `unbalanced ")": remove it`},
		{"(a))", 3, `unbalanced ")"`},
		{")", 0, `unbalanced ")"`},
		{"()", 0, "empty parentheses"},
		{"a ( ) b", 2, "empty parentheses"},
		{`"abc`, 0, `unterminated phrase: add a closing "`},
		{`a "b`, 2, "unterminated phrase"},
		{`""`, 0, "empty phrase"},
		{`a "  "`, 2, "empty phrase"},
		{"a AND", 2, "AND needs a term after it"},
		{"a AND )", 2, "AND needs a term after it"},
		{"AND a", 0, "AND needs a term before it"},
		{"a OR", 2, "OR needs a term after it"},
		{"OR a", 0, "OR needs a term before it"},
		{"a OR OR b", 5, "expected a term after OR, found OR"},
		{"a AND OR b", 6, "expected a term after AND, found OR"},
		{"a OR AND b", 5, "expected a term after OR, found AND"},
		{"(a OR)", 3, "OR needs a term after it"},
		{"(OR a)", 1, "OR needs a term before it"},
		{"NOT", 0, "NOT needs what to exclude"},
		{"a NOT", 2, "NOT needs what to exclude"},
		{"(NOT)", 1, "NOT needs what to exclude"},
		{"NOT AND a", 4, "expected what to exclude after NOT, found AND"},
		{"-", 0, `"-" needs what to exclude`},
		{"a - b", 2, `"-" needs what to exclude`},
		{"a -", 2, `"-" needs what to exclude`},
		{"(a -)", 3, `"-" needs what to exclude`},
		{"a NEAR b", 2, "NEAR needs a number, e.g. NEAR/3"},
		{"a NEAR/ b", 2, "NEAR needs a number, e.g. NEAR/3"},
		{"a NEAR/x b", 7, "NEAR needs a number"},
		{"a NEAR/-1 b", 7, "NEAR needs a number"},
		{"a NEAR/+1 b", 7, "NEAR needs a number"},
		{"a NEAR/0 b", 7, "at least 1"},
		{"a NEAR/5000 b", 7, "too large"},
		{"a NEAR/99999999999999999999999 b", 7, "too large"},
		{"a near/3 b", 2, "write NEAR in upper case"},
		{"NEAR/3 a", 0, "NEAR/3 needs a term before it"},
		{"a NEAR/3", 2, "NEAR/3 needs a term after it"},
		{"a NEAR/3 OR b", 9, "expected a term after NEAR/3, found OR"},
		{"a NEAR/3 b NEAR/3 c", 11, "NEAR cannot be chained"},
		{"(a AND b) NEAR/3 c", 0, "NEAR works on terms"},
		{"(a OR b c) NEAR/3 d", 0, "NEAR works on terms"},
		{"a NEAR/3 (b c)", 9, "NEAR works on terms"},
		{"a NEAR/3 NOT b", 9, "write NOT outside"},
		{"a NEAR/3 -b", 9, "write NOT outside"},
		{"lang:ja NEAR/3 b", 0, "NEAR cannot take a filter"},
		{"a NEAR/3 context:b", 9, "NEAR cannot take a filter"},
		{"(context:a OR b) NEAR/3 c", 0, "NEAR works on terms"},
		{"lnag:ja", 0, `unknown field "lnag" (did you mean "lang"?)`},
		{"a platfrom:x", 2, `unknown field "platfrom" (did you mean "platform"?)`},
		{"folowers:>1", 0, `(did you mean "followers"?)`},
		{"language:ja", 0, `unknown field "language" (did you mean "lang"?)`},
		{"from:kumo", 0, `(did you mean "author"?)`},
		{"https://kumo.jp", 0, `unknown field "https": the fields are`},
		{"lang:", 5, "lang: needs a value right after the colon, e.g. lang:ja"},
		{"lang: ja", 5, "lang: needs a value"},
		{`lang:"ja"`, 5, "lang: needs a value"},
		{"lang:(ja)", 5, "lang: needs a value"},
		{"lang:ja*", 5, "language code"},
		{"lang:-ja", 5, "language code"},
		{"platform:", 9, "platform: needs a value"},
		{"platform:x!", 9, "platform name"},
		{"author:", 7, "author: needs a value"},
		{"author:@", 7, "author: takes a handle"},
		{"author:kumo*", 7, "author: takes a handle"},
		{"followers:10000", 10, "needs a comparison"},
		{"followers:", 10, "followers: needs a value"},
		{"followers:>", 11, "followers: needs a number"},
		{"followers:>abc", 11, "followers: needs a number"},
		{"a followers:>=many", 14, "followers: needs a number"},
		{"followers:>=10kk", 12, "not a number"},
		{"followers:>1.", 11, "not a number"},
		{"followers:>.5k", 11, "not a number"},
		{"followers:>-5", 11, "not a number"},
		{"followers:>1.5", 11, "not a whole number"},
		{"followers:>1.0005k", 11, "not a whole number"},
		{"followers:>1.0000000001b", 11, "not a whole number"},
		{"followers:>99999999999999999999", 11, "too large"},
		{"followers:>9999999b", 11, "too large"},
		{"context:", 8, "context: needs a term"},
		{"context: a", 8, "context: needs a term"},
		{"context:)", 8, "context: needs a term"},
		{"context:AND", 8, "context: needs a term"},
		{"context:-a", 8, "write NOT context:outage"},
		{"context:NOT a", 8, "write NOT context:outage"},
		{"context:lang:ja", 8, "not a filter"},
		{"context:(a lang:ja)", 11, "filters cannot be used inside context:"},
		{"context:(context:a)", 9, "filters cannot be used inside context:"},
		{"context:(a", 8, `unbalanced "("`},
		{"a*b", 1, `"*" works only at the end of a word`},
		{"a**", 1, `"*" works only at the end of a word`},
		{"*", 0, `"*" needs the start of a word`},
		{"*a", 0, `"*" needs the start of a word`},
		{"a *", 2, `"*" needs the start of a word`},
		{`"a* b"`, 2, `"*" works only at the end of a word`},
		{`x "a *"`, 5, `"*" needs the start of a word`},
		{"“kumo”", 0, "straight double quotes"},
		{"a 「ログイン」", 2, "straight double quotes"},
		{"（a）", 0, `ASCII "(" and ")"`},
		{"a\xffb", 1, "invalid UTF-8"},
		{deep("(", MaxDepth+1) + "a" + deep(")", MaxDepth+1), MaxDepth, "nests too deeply"},
		{deep("NOT ", MaxDepth+1) + "a", 4 * MaxDepth, "nests too deeply"},
		{deep("-", MaxDepth+1) + "a", MaxDepth, "nests too deeply"},
		{deep("(", 5000), MaxDepth, "nests too deeply"},
		{deep("-(", 3000) + "a", MaxDepth, "nests too deeply"},
		{deep("a ", MaxLen/2+1), MaxLen, "more than the limit"},
	}
	for _, tt := range tests {
		q, err := Parse(tt.src)
		name := tt.src
		if len(name) > 40 {
			name = name[:40] + "..."
		}
		if err == nil {
			t.Errorf("Parse(%q) = %s, want an error", name, dump(q.root))
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q): error %T is not a *SyntaxError", name, err)
			continue
		}
		if se.Offset != tt.offset || !strings.Contains(se.Msg, tt.msg) {
			t.Errorf("Parse(%q) = offset %d %q, want offset %d %q", name, se.Offset, se.Msg, tt.offset, tt.msg)
		}
	}
}

func TestSyntaxErrorString(t *testing.T) {
	_, err := Parse("lnag:ja")
	want := `query: offset 0: unknown field "lnag" (did you mean "lang"?)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

// fakeDoc finds terms by their exact Term value; keys are written like
// `kumo`, `"kumo mobile"`, `refund*`.
type fakeDoc struct {
	text, ctx map[Term][]int
	fields    map[string]string
	followers int
}

func parseTermKey(k string) Term {
	t := Term{}
	if strings.HasSuffix(k, "*") {
		t.Prefix, k = true, k[:len(k)-1]
	}
	if strings.HasPrefix(k, `"`) {
		t.Phrase, k = true, strings.Trim(k, `"`)
	}
	t.Text = k
	return t
}

func newDoc(text, ctx map[string][]int, fields map[string]string, followers int) *fakeDoc {
	d := &fakeDoc{text: map[Term][]int{}, ctx: map[Term][]int{}, fields: fields, followers: followers}
	for k, v := range text {
		d.text[parseTermKey(k)] = v
	}
	for k, v := range ctx {
		d.ctx[parseTermKey(k)] = v
	}
	return d
}

func (d *fakeDoc) Find(t Term, context bool) []int {
	if context {
		return d.ctx[t]
	}
	return d.text[t]
}
func (d *fakeDoc) Field(name string) string { return d.fields[name] }
func (d *fakeDoc) Followers() int           { return d.followers }

func TestEval(t *testing.T) {
	// "Kumo Mobile: sim not activating, please help" after a thread that
	// said "outage again? kumo is down".
	doc := newDoc(
		map[string][]int{
			"kumo": {0}, "mobile": {1}, `"kumo mobile"`: {0}, "sim": {2}, "not": {3},
			"activating": {4}, "please": {5}, "help": {6}, "activat*": {4},
			`"ログインできない"`: {7},
			"x":          {9, 2, 30}, "y": {14, 40}, // unsorted on purpose
		},
		map[string][]int{"outage": {0}, "again": {1}, "kumo": {2}, "down": {4}, `"is down"`: {3}},
		map[string]string{"lang": "ja-JP", "platform": "x", "author": "kumo_fan"},
		10000,
	)
	tests := []struct {
		src  string
		want bool
	}{
		{"kumo", true},
		{"KUMO", true},
		{"refund", false},
		{"kumo mobile", true},
		{"kumo refund", false},
		{"kumo OR refund", true},
		{"refund OR kumo", true},
		{"refund OR cancel", false},
		{"NOT refund", true},
		{"-kumo", false},
		{"kumo -refund", true},
		{"kumo -mobile", false},
		{`"kumo mobile"`, true},
		{`"ログインできない"`, true},
		{"activat*", true},
		{"activating*", false},
		{"kumo NEAR/4 activating", true},
		{"kumo NEAR/3 activating", false},
		{"activating NEAR/4 kumo", true},
		{`("kumo mobile" OR refund) NEAR/2 sim`, true},
		{`(refund OR cancel) NEAR/100 sim`, false},
		{"sim NEAR/1 (refund OR cancel OR not)", true},
		{"kumo NEAR/5 refund", false},
		{"x NEAR/5 y", true},  // 9 and 14
		{"x NEAR/4 y", false}, // closest pair is 5 apart
		{"y NEAR/5 x", true},
		{"lang:ja", true},
		{"lang:JA", true},
		{"lang:ja-jp", true},
		{"lang:j", false},
		{"lang:en", false},
		{"platform:x", true},
		{"platform:X", true},
		{"platform:reddit", false},
		{"author:kumo_fan", true},
		{"author:@Kumo_Fan", true},
		{"author:kumo", false},
		{"followers:>10k", false},
		{"followers:>=10k", true},
		{"followers:<10001", true},
		{"followers:<=9999", false},
		{"followers:=10000", true},
		{"followers:>1.5k", true},
		{"context:outage", true},
		{"context:activating", false},
		{`context:"is down"`, true},
		{"context:(refund OR outage)", true},
		{"context:(outage NEAR/2 kumo)", true},
		{"context:(outage NEAR/1 kumo)", false},
		{"context:(outage -kumo)", false},
		{"NOT context:refund", true},
		{"context:help", false},
		{"help context:kumo", true},
		{"NOT lang:en AND NOT platform:reddit", true},
		{`("kumo mobile" OR kumomobile) AND NOT platform:reddit`, true},
		{`("kumo mobile" OR kumomobile) AND NOT platform:x`, false},
		{"(refund OR activat*) lang:ja followers:>=1k -spam", true},
	}
	for _, tt := range tests {
		q, err := Parse(tt.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.src, err)
			continue
		}
		if got := q.Eval(doc); got != tt.want {
			t.Errorf("Parse(%q).Eval = %v, want %v", tt.src, got, tt.want)
		}
	}
	// An author value the platform reported with its "@".
	at := newDoc(nil, nil, map[string]string{"author": "@Kumo_Fan", "lang": "ja"}, 0)
	for _, src := range []string{"author:kumo_fan", "author:@kumo_fan", "lang:ja"} {
		if q, _ := Parse(src); !q.Eval(at) {
			t.Errorf("Parse(%q).Eval(@Kumo_Fan, ja) = false", src)
		}
	}
	var nilq *Query
	if !nilq.Eval(doc) || nilq.String() != "" || nilq.Terms() != nil || nilq.HasPositiveTerm() {
		t.Error("a nil *Query should match everything and have no terms")
	}
}

func TestWithin(t *testing.T) {
	tests := []struct {
		a, b []int
		n    int
		want bool
	}{
		{nil, []int{1}, 5, false},
		{[]int{1}, nil, 5, false},
		{[]int{1}, []int{1}, 1, true},
		{[]int{1, 10, 20}, []int{14, 26}, 4, true},
		{[]int{1, 10, 20}, []int{15, 26}, 4, false},
		{[]int{20, 1, 10}, []int{26, 14}, 4, true},
		{[]int{20, 1, 10}, []int{26, 15}, 4, false},
		{[]int{100}, []int{0, 1, 2, 97}, 3, true},
	}
	for _, tt := range tests {
		if got := within(tt.a, tt.b, tt.n); got != tt.want {
			t.Errorf("within(%v, %v, %d) = %v", tt.a, tt.b, tt.n, got)
		}
	}
}

func TestTerms(t *testing.T) {
	q, err := Parse(`kumo "Kumo  Mobile" -Refund* KUMO context:outage c (a OR b) NEAR/2 c lang:ja context:"Down again" context:(outage OR kumo) "kumo mob*"`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Term{
		{Text: "kumo"},
		{Text: "kumo mobile", Phrase: true},
		{Text: "refund", Prefix: true},
		{Text: "c"},
		{Text: "a"},
		{Text: "b"},
		{Text: "kumo mob", Prefix: true, Phrase: true},
	}
	if got := q.Terms(); !slices.Equal(got, want) {
		t.Errorf("Terms() = %+v\nwant %+v", got, want)
	}
	wantCtx := []Term{
		{Text: "outage"},
		{Text: "down again", Phrase: true},
		{Text: "kumo"},
	}
	if got := q.ContextTerms(); !slices.Equal(got, wantCtx) {
		t.Errorf("ContextTerms() = %+v\nwant %+v", got, wantCtx)
	}
	// The results are copies.
	q.Terms()[0].Text = "changed"
	if q.Terms()[0].Text != "kumo" {
		t.Error("Terms() returned the query's own slice")
	}

	q, _ = Parse("lang:ja -spam")
	if got := q.Terms(); !slices.Equal(got, []Term{{Text: "spam"}}) {
		t.Errorf("Terms() = %+v", got)
	}
	if got := q.ContextTerms(); len(got) != 0 {
		t.Errorf("ContextTerms() = %+v, want none", got)
	}
}

func TestHasPositiveTerm(t *testing.T) {
	tests := []struct {
		src  string
		want bool
	}{
		{"a", true},
		{`"a b"`, true},
		{"a*", true},
		{"a b", true},
		{"a OR b", true},
		{"a NOT b", true},
		{"a NEAR/2 b", true},
		{"(a OR b) lang:ja", true},
		{"NOT NOT a", true},
		{"NOT (NOT a OR lang:ja)", true}, // a AND NOT lang:ja
		{"context:a b", true},
		{"(a OR b) (c OR NOT d)", true},
		{"NOT a", false},
		{"-a", false},
		{"lang:ja", false},
		{"NOT lang:en followers:>10k", false},
		{"a OR NOT b", false},
		{"a OR lang:ja", false},
		{"NOT (a AND b)", false},
		{"NOT (a OR b)", false},
		{"context:a", false},
		{"context:(a NEAR/2 b)", false},
		{"a OR context:b", false},
	}
	for _, tt := range tests {
		q, err := Parse(tt.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.src, err)
			continue
		}
		if got := q.HasPositiveTerm(); got != tt.want {
			t.Errorf("Parse(%q).HasPositiveTerm() = %v, want %v", tt.src, got, tt.want)
		}
	}
}

func TestEvalAllocs(t *testing.T) {
	q, err := Parse(`("kumo mobile" OR kumomobile) NEAR/5 (refund* OR cancel) lang:ja -platform:reddit author:@kumo followers:>=1k context:(outage OR down) -spam`)
	if err != nil {
		t.Fatal(err)
	}
	doc := newDoc(
		map[string][]int{`"kumo mobile"`: {0, 12}, "refund*": {3}},
		map[string][]int{"down": {1}},
		map[string]string{"lang": "ja", "platform": "x", "author": "kumo"},
		5000,
	)
	if !q.Eval(doc) {
		t.Fatal("Eval = false, want true")
	}
	if n := testing.AllocsPerRun(100, func() { q.Eval(doc) }); n != 0 {
		t.Errorf("Eval allocates %v times per run", n)
	}
}

func BenchmarkEval(b *testing.B) {
	q, _ := Parse(`("kumo mobile" OR kumomobile) NEAR/5 (refund* OR cancel) lang:ja -platform:reddit followers:>=1k -spam`)
	doc := newDoc(map[string][]int{`"kumo mobile"`: {0, 12}, "refund*": {3}}, nil, map[string]string{"lang": "ja", "platform": "x"}, 5000)
	for b.Loop() {
		q.Eval(doc)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"a", "a b OR c", "NOT a", "-a", `"ログインできない" OR ログイン*`, "a NEAR/3 b",
		"(a OR b) NEAR/2 c", "lang:ja", "author:@kumo", "followers:>=1.5k", "context:(a OR b)",
		`context:"a b"`, "(a", "a)", `"a`, "a NEAR b", "lnag:ja", "followers:>x", "a*b",
		"“a”", "NOT", "a AND", "-(a -(b))", "a\xffb", "context:(a NEAR/1 b)",
	} {
		f.Add(s)
	}
	doc := newDoc(map[string][]int{"a": {1}, "b": {3}}, map[string][]int{"a": {0}}, map[string]string{"lang": "ja"}, 10)
	f.Fuzz(func(t *testing.T, src string) {
		q, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q): error %T is not a *SyntaxError", src, err)
			}
			if se.Offset < 0 || se.Offset > len(src) {
				t.Fatalf("Parse(%q): offset %d out of range", src, se.Offset)
			}
			if se.Msg == "" {
				t.Fatalf("Parse(%q): empty message", src)
			}
			return
		}
		if q.String() != src {
			t.Fatalf("String() = %q, want %q", q.String(), src)
		}
		for _, terms := range [][]Term{q.Terms(), q.ContextTerms()} {
			seen := map[Term]bool{}
			for _, term := range terms {
				if seen[term] {
					t.Fatalf("Parse(%q): duplicate term %+v", src, term)
				}
				seen[term] = true
				if term.Text == "" || term.Text != strings.ToLower(term.Text) {
					t.Fatalf("Parse(%q): bad term %+v", src, term)
				}
			}
		}
		q.Eval(doc)
		q.HasPositiveTerm()
	})
}
