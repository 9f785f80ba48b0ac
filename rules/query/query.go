// Package query parses and evaluates the optional boolean query of a brand
// rule, in the vocabulary shared by commercial listening tools (Brandwatch,
// Talkwalker, Meltwater).
//
// Grammar, loosest binding first (keywords are upper case; "and", "or",
// "not" in lower case are ordinary terms):
//
//	query   = or
//	or      = and { "OR" and }
//	and     = unary { ["AND"] unary }        adjacent operands mean AND
//	unary   = ("NOT" | "-") unary | near     "-x" is written without a space
//	near    = operand [ "NEAR/" n operand ]  1 <= n <= 1000; not chained
//	operand = term | phrase | "(" or ")" | filter
//	term    = word | word"*"                 "*" at the end: prefix
//	phrase  = '"' words '"'                  may end with "*" too
//	filter  = "lang:" code                   lang:ja also matches ja-JP
//	        | "platform:" name
//	        | "author:" ["@"] handle
//	        | "followers:" (">"|">="|"<"|"<="|"=") number   10000, 10k, 1.5m
//	        | "context:" (term | phrase | "(" or ")")  in the thread before the post
//
// So NOT binds tighter than AND, and AND tighter than OR; NEAR binds tighter
// than AND and its operands are terms, phrases or parenthesized OR groups of
// them. "a NEAR/n b" holds when some occurrence of a and some occurrence of
// b, in either order, are at most n word positions apart (a phrase is at the
// position of its first word). Filters take their value right after the
// colon, without a space; field names are case-insensitive. Text with ":"
// or an operator word in it is searched for by quoting it. A query may be
// only NOT and filters ("NOT lang:en -spam"). Limits: MaxLen bytes of
// source, MaxDepth levels of parentheses and NOT.
//
// Terms are case-insensitive. The query does no text matching itself: Eval
// asks a Doc where each term occurs, so that posts and rules are normalized
// in one place (the matcher).
package query

import (
	"fmt"
	"github.com/kizuki-dev/kizuki/internal/suggest"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what Parse accepts.
const (
	MaxLen      = 10000 // bytes of source
	MaxDepth    = 100   // nesting of parentheses and NOT
	MaxNear     = 1000  // largest n of NEAR/n
	maxFollower = 1e15  // largest followers number
)

// Term is a text term or phrase of a query.
type Term struct {
	// Text is the term as written, lower-cased, without quotes or the
	// trailing "*"; the words of a phrase are joined by a single space.
	Text string
	// Prefix is set when the term ended with "*": it matches any word that
	// starts with Text (for a phrase: whose last word starts so).
	Prefix bool
	// Phrase is set when the term was written in double quotes.
	Phrase bool
}

// Doc is what a query is evaluated against: one post and its thread.
type Doc interface {
	// Find returns the word positions at which term t occurs in the post
	// text (context=false) or in its thread context (context=true). For a
	// phrase, the position of its first word. Nil when absent.
	Find(t Term, context bool) []int
	// Field returns "lang", "platform" or "author" (lower-case handle
	// without @) of the post.
	Field(name string) string
	// Followers returns the author's follower count.
	Followers() int
}

// SyntaxError is a problem in a query, at a byte offset of its source.
type SyntaxError struct {
	Offset int    // byte offset in the source, 0 <= Offset <= len(source)
	Msg    string // what is wrong and what to do about it
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("query: offset %d: %s", e.Offset, e.Msg)
}

// Query is a parsed boolean query. It is immutable and safe for concurrent
// use by multiple goroutines.
type Query struct {
	src      string
	root     *node
	terms    []Term
	ctxTerms []Term
	positive bool
}

// String returns the source of q.
func (q *Query) String() string {
	if q == nil {
		return ""
	}
	return q.src
}

// Terms returns every text term and phrase of q that is looked for in the
// post text, positive and negative, deduplicated, in order of appearance.
// Terms under context: are not included; see ContextTerms.
func (q *Query) Terms() []Term {
	if q == nil {
		return nil
	}
	return slices.Clone(q.terms)
}

// ContextTerms returns the terms looked for in the thread context
// (under context:), deduplicated, in order of appearance.
func (q *Query) ContextTerms() []Term {
	if q == nil {
		return nil
	}
	return slices.Clone(q.ctxTerms)
}

// HasPositiveTerm reports whether every post q matches must contain at
// least one of q's Terms in its text. It is false when q can match without
// any text term, like "NOT spam", "lang:ja" or "a OR NOT b"; such a query
// cannot be used to pick candidate posts by their text.
func (q *Query) HasPositiveTerm() bool {
	return q != nil && q.positive
}

// Eval reports whether d matches q. A nil query matches everything.
func (q *Query) Eval(d Doc) bool {
	if q == nil {
		return true
	}
	return q.root.eval(d)
}

type kind uint8

const (
	kTerm kind = iota
	kNear
	kAnd
	kOr
	kNot
	kLang
	kPlatform
	kAuthor
	kFollowers
)

type cmpOp uint8

const (
	opGT cmpOp = iota
	opGE
	opLT
	opLE
	opEQ
)

type node struct {
	kind kind
	ctx  bool    // kTerm, kNear: look in the thread context
	term Term    // kTerm
	kids []*node // kAnd, kOr: two or more; kNot: one
	// kNear: the alternatives on each side, and the distance.
	near [2][]Term
	dist int
	val  string // kLang, kPlatform, kAuthor: lower-case value
	op   cmpOp  // kFollowers
	num  int64  // kFollowers
}

func (n *node) eval(d Doc) bool {
	switch n.kind {
	case kTerm:
		return len(d.Find(n.term, n.ctx)) > 0
	case kAnd:
		for _, k := range n.kids {
			if !k.eval(d) {
				return false
			}
		}
		return true
	case kOr:
		for _, k := range n.kids {
			if k.eval(d) {
				return true
			}
		}
		return false
	case kNot:
		return !n.kids[0].eval(d)
	case kNear:
		for _, a := range n.near[0] {
			pa := d.Find(a, n.ctx)
			if len(pa) == 0 {
				continue
			}
			for _, b := range n.near[1] {
				if within(pa, d.Find(b, n.ctx), n.dist) {
					return true
				}
			}
		}
		return false
	case kLang:
		v := d.Field("lang")
		if len(v) > len(n.val) && (v[len(n.val)] == '-' || v[len(n.val)] == '_') {
			v = v[:len(n.val)]
		}
		return strings.EqualFold(v, n.val)
	case kPlatform:
		return strings.EqualFold(d.Field("platform"), n.val)
	case kAuthor:
		return strings.EqualFold(strings.TrimPrefix(d.Field("author"), "@"), n.val)
	case kFollowers:
		f := int64(d.Followers())
		switch n.op {
		case opGT:
			return f > n.num
		case opGE:
			return f >= n.num
		case opLT:
			return f < n.num
		case opLE:
			return f <= n.num
		default:
			return f == n.num
		}
	}
	return false
}

// within reports whether some pa in a and pb in b have |pa-pb| <= n.
func within(a, b []int, n int) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	if slices.IsSorted(a) && slices.IsSorted(b) {
		for i, j := 0, 0; i < len(a) && j < len(b); {
			if dist(a[i], b[j]) <= n {
				return true
			}
			if a[i] < b[j] {
				i++
			} else {
				j++
			}
		}
		return false
	}
	for _, x := range a {
		for _, y := range b {
			if dist(x, y) <= n {
				return true
			}
		}
	}
	return false
}

func dist(x, y int) int {
	if x > y {
		return x - y
	}
	return y - x
}

// cost orders the operands of AND and OR so that cheap checks run first.
func (n *node) cost() int {
	switch n.kind {
	case kLang, kPlatform, kAuthor, kFollowers:
		return 0
	case kTerm:
		return 1
	case kNot:
		return n.kids[0].cost()
	case kNear:
		return 2
	}
	return 3
}

// positive reports whether every doc satisfying n (neg=false) or NOT n
// (neg=true) contains a hit of a main-text term.
func (n *node) positive(neg bool) bool {
	switch n.kind {
	case kTerm, kNear:
		return !neg && !n.ctx
	case kNot:
		return n.kids[0].positive(!neg)
	case kAnd, kOr:
		// NOT (a AND b) is (NOT a) OR (NOT b), and so on.
		all := (n.kind == kOr) != neg
		for _, k := range n.kids {
			if k.positive(neg) != all {
				return !all
			}
		}
		return all
	}
	return false
}

// Parse parses a query. Errors are *SyntaxError.
func Parse(src string) (*Query, error) {
	if len(src) > MaxLen {
		return nil, &SyntaxError{MaxLen, fmt.Sprintf("query is %d bytes, more than the limit of %d: shorten it, e.g. move plain keywords to keywords:", len(src), MaxLen)}
	}
	if !utf8.ValidString(src) {
		i := 0
		for i < len(src) {
			r, size := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		return nil, &SyntaxError{i, "invalid UTF-8: save the rule file as UTF-8"}
	}
	p := &parser{src: src}
	if err := p.next(); err != nil {
		return nil, err
	}
	if p.tok.kind == tEOF {
		return nil, &SyntaxError{0, `empty query: write a term, a "phrase" or a filter such as lang:ja`}
	}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.unexpected()
	}
	q := &Query{src: src, root: root, positive: root.positive(false), terms: p.terms, ctxTerms: p.ctxTerms}
	return q, nil
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tWord
	tPhrase
	tLParen
	tRParen
	tMinus
	tAnd
	tOr
	tNot
	tNear
	tField
)

type token struct {
	kind  tokKind
	start int    // offset of the first byte
	end   int    // offset after the token; for tField, after the colon
	text  string // tWord, tPhrase: the raw text (phrase without quotes); tField: the name
	n     int    // tNear: the distance
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "the end of the query"
	case tLParen:
		return `"("`
	case tRParen:
		return `")"`
	case tMinus:
		return `"-"`
	case tAnd:
		return "AND"
	case tOr:
		return "OR"
	case tNot:
		return "NOT"
	case tNear:
		return "NEAR/" + strconv.Itoa(t.n)
	case tField:
		return t.text + ":"
	}
	return strconv.Quote(clip(t.text))
}

// clip shortens s for an error message.
func clip(s string) string {
	const limit = 40
	if len(s) <= limit {
		return s
	}
	i := limit
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

type parser struct {
	src   string
	pos   int // offset after tok
	tok   token
	depth int
	inCtx bool // inside context:( ... )
	// terms and ctxTerms in order of appearance, deduplicated by seen.
	terms, ctxTerms []Term
	seen            map[Term]uint8 // bit 1: in terms, bit 2: in ctxTerms
}

func (p *parser) addTerm(t Term) {
	if p.seen == nil {
		p.seen = map[Term]uint8{}
	}
	bit, list := uint8(1), &p.terms
	if p.inCtx {
		bit, list = 2, &p.ctxTerms
	}
	if p.seen[t]&bit == 0 {
		p.seen[t] |= bit
		*list = append(*list, t)
	}
}

func errAt(off int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// badRunes are look-alikes of the query's punctuation that would otherwise
// silently become part of a term.
func badRune(r rune) string {
	switch r {
	case '“', '”', '＂', '「', '」', '『', '』':
		return `use straight double quotes "..." for phrases, not ` + string(r)
	case '（', '）':
		return `use ASCII "(" and ")" for grouping, not ` + string(r) + ` (quote text that contains it)`
	}
	return ""
}

func isSpaceAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsSpace(r)
}

// wordEnd returns the end of the bare word starting at i.
func wordEnd(s string, i int) int {
	for i < len(s) {
		c := s[i]
		if c == '(' || c == ')' || c == '"' {
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			break
		}
		i += size
	}
	return i
}

// next reads the token at p.pos into p.tok.
func (p *parser) next() error {
	s := p.src
	i := p.pos
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += size
	}
	if i >= len(s) {
		p.tok = token{kind: tEOF, start: len(s), end: len(s)}
		p.pos = len(s)
		return nil
	}
	t := token{start: i, end: i + 1}
	switch c := s[i]; c {
	case '(':
		t.kind = tLParen
	case ')':
		t.kind = tRParen
	case '"':
		j := strings.IndexByte(s[i+1:], '"')
		if j < 0 {
			return errAt(i, `unterminated phrase: add a closing "`)
		}
		t.kind, t.text, t.end = tPhrase, s[i+1:i+1+j], i+2+j
	case '-':
		if i+1 >= len(s) || isSpaceAt(s, i+1) {
			return errAt(i, `"-" needs what to exclude right after it, without a space, e.g. -refund`)
		}
		t.kind = tMinus
	default:
		j := i
		for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || j > i && s[j] == '_') {
			j++
		}
		if j > i && j < len(s) && s[j] == ':' {
			t.kind, t.text, t.end = tField, s[i:j], j+1
			break
		}
		end := wordEnd(s, i)
		for k, r := range s[i:end] {
			if msg := badRune(r); msg != "" {
				return errAt(i+k, "%s", msg)
			}
		}
		w := s[i:end]
		t.kind, t.text, t.end = tWord, w, end
		switch {
		case w == "AND":
			t.kind = tAnd
		case w == "OR":
			t.kind = tOr
		case w == "NOT":
			t.kind = tNot
		case w == "NEAR" || strings.HasPrefix(w, "NEAR/"):
			num, ok := strings.CutPrefix(w, "NEAR/")
			if !ok || num == "" {
				return errAt(i, "NEAR needs a number, e.g. NEAR/3")
			}
			n, err := strconv.Atoi(num)
			if err != nil || strings.ContainsAny(num, "+-") {
				if allDigits(num) {
					return errAt(i+5, "NEAR distance %s is too large: the limit is %d", num, MaxNear)
				}
				return errAt(i+5, "NEAR needs a number, e.g. NEAR/3, not NEAR/%s", num)
			}
			if n < 1 {
				return errAt(i+5, "NEAR distance must be at least 1, e.g. NEAR/3")
			}
			if n > MaxNear {
				return errAt(i+5, "NEAR distance %d is too large: the limit is %d", n, MaxNear)
			}
			t.kind, t.n = tNear, n
		case isLowerNear(w):
			return errAt(i, "%q looks like an operator: write NEAR in upper case (or quote it to search for the text)", clip(w))
		}
	}
	p.tok = t
	p.pos = t.end
	return nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isLowerNear(w string) bool {
	if len(w) < 6 || !strings.EqualFold(w[:5], "near/") {
		return false
	}
	return allDigits(w[5:])
}

// startsOperand reports whether tok can begin an operand (for implicit AND).
func (p *parser) startsOperand() bool {
	switch p.tok.kind {
	case tWord, tPhrase, tLParen, tMinus, tNot, tField:
		return true
	}
	return false
}

// unexpected is the error for a token that cannot appear where it is.
func (p *parser) unexpected() error {
	t := p.tok
	switch t.kind {
	case tRParen:
		return errAt(t.start, `unbalanced ")": remove it or add a "(" before it`)
	case tAnd, tOr:
		return errAt(t.start, "%s needs a term before it, e.g. a %s b", t, t)
	case tNear:
		return errAt(t.start, "%s needs a term before it, e.g. a %s b", t, t)
	}
	return errAt(t.start, "unexpected %s", t)
}

// missing is the error for an operand missing after the operator op (a
// token already consumed).
func (p *parser) missing(op token, example string) error {
	t := p.tok
	if t.kind == tEOF || t.kind == tRParen {
		return errAt(op.start, "%s needs a term after it, e.g. %s", op, example)
	}
	return errAt(t.start, "expected a term after %s, found %s", op, t)
}

func (p *parser) parseOr() (*node, error) {
	first, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tOr {
		return first, nil
	}
	n := &node{kind: kOr}
	n.add(first)
	for p.tok.kind == tOr {
		op := p.tok
		if err := p.next(); err != nil {
			return nil, err
		}
		if !p.startsOperand() {
			return nil, p.missing(op, "a OR b")
		}
		k, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		n.add(k)
	}
	n.sort()
	return n, nil
}

func (p *parser) parseAnd() (*node, error) {
	if !p.startsOperand() {
		return nil, p.unexpected()
	}
	first, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	var n *node
	for {
		if p.tok.kind == tAnd {
			op := p.tok
			if err := p.next(); err != nil {
				return nil, err
			}
			if !p.startsOperand() {
				return nil, p.missing(op, "a AND b")
			}
		} else if !p.startsOperand() {
			break
		}
		k, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if n == nil {
			n = &node{kind: kAnd}
			n.add(first)
		}
		n.add(k)
	}
	if n == nil {
		return first, nil
	}
	n.sort()
	return n, nil
}

// add appends k to an AND or OR node, flattening a child of the same kind.
func (n *node) add(k *node) {
	if k.kind == n.kind {
		n.kids = append(n.kids, k.kids...)
	} else {
		n.kids = append(n.kids, k)
	}
}

func (n *node) sort() {
	slices.SortStableFunc(n.kids, func(a, b *node) int { return a.cost() - b.cost() })
}

func (p *parser) enter(off int) error {
	p.depth++
	if p.depth > MaxDepth {
		return errAt(off, "query nests too deeply (more than %d levels of parentheses and NOT): simplify it", MaxDepth)
	}
	return nil
}

func (p *parser) parseUnary() (*node, error) {
	if p.tok.kind != tNot && p.tok.kind != tMinus {
		return p.parseNear()
	}
	op := p.tok
	if err := p.enter(op.start); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if err := p.next(); err != nil {
		return nil, err
	}
	if !p.startsOperand() {
		if op.kind == tMinus {
			return nil, errAt(op.start, `"-" needs what to exclude right after it, e.g. -refund`)
		}
		if p.tok.kind == tEOF || p.tok.kind == tRParen {
			return nil, errAt(op.start, "NOT needs what to exclude after it, e.g. NOT refund")
		}
		return nil, errAt(p.tok.start, "expected what to exclude after NOT, found %s", p.tok)
	}
	k, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	return &node{kind: kNot, kids: []*node{k}}, nil
}

func (p *parser) parseNear() (*node, error) {
	lstart, lfield := p.tok.start, p.tok.kind == tField
	left, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tNear {
		return left, nil
	}
	op := p.tok
	if lfield {
		return nil, errAt(lstart, `NEAR cannot take a filter: write it outside, e.g. (a NEAR/3 b) AND lang:ja, or context:(a NEAR/3 b)`)
	}
	leftTerms, ok := nearTerms(left, p.inCtx, nil)
	if !ok {
		return nil, errAt(lstart, `NEAR works on terms, "phrases" or (a OR b) groups of them; write the rest outside, e.g. (a NEAR/3 b) AND lang:ja`)
	}
	if err := p.next(); err != nil {
		return nil, err
	}
	if !p.startsOperand() || p.tok.kind == tNot || p.tok.kind == tMinus {
		if p.tok.kind == tNot || p.tok.kind == tMinus {
			return nil, errAt(p.tok.start, `NEAR works on terms, "phrases" or (a OR b) groups of them; write NOT outside, e.g. (a NEAR/3 b) NOT c`)
		}
		return nil, p.missing(op, "refund NEAR/3 slow")
	}
	rstart := p.tok.start
	if p.tok.kind == tField {
		return nil, errAt(rstart, `NEAR cannot take a filter: write it outside, e.g. (a NEAR/3 b) AND lang:ja, or context:(a NEAR/3 b)`)
	}
	right, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	rightTerms, ok := nearTerms(right, p.inCtx, nil)
	if !ok {
		return nil, errAt(rstart, `NEAR works on terms, "phrases" or (a OR b) groups of them; write the rest outside, e.g. (a NEAR/3 b) AND lang:ja`)
	}
	if p.tok.kind == tNear {
		return nil, errAt(p.tok.start, "NEAR cannot be chained: write (a NEAR/3 b) AND (b NEAR/3 c)")
	}
	return &node{kind: kNear, ctx: p.inCtx, near: [2][]Term{leftTerms, rightTerms}, dist: op.n}, nil
}

// nearTerms collects the terms of a NEAR operand: a term or an OR of terms.
func nearTerms(n *node, ctx bool, acc []Term) ([]Term, bool) {
	switch n.kind {
	case kTerm:
		return append(acc, n.term), n.ctx == ctx
	case kOr:
		for _, k := range n.kids {
			var ok bool
			if acc, ok = nearTerms(k, ctx, acc); !ok {
				return nil, false
			}
		}
		return acc, true
	}
	return nil, false
}

func (p *parser) parseOperand() (*node, error) {
	t := p.tok
	switch t.kind {
	case tWord, tPhrase:
		term, err := makeTerm(t)
		if err != nil {
			return nil, err
		}
		p.addTerm(term)
		if err := p.next(); err != nil {
			return nil, err
		}
		return &node{kind: kTerm, ctx: p.inCtx, term: term}, nil
	case tLParen:
		if err := p.enter(t.start); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		if err := p.next(); err != nil {
			return nil, err
		}
		switch p.tok.kind {
		case tRParen:
			return nil, errAt(t.start, "empty parentheses: put a term inside or remove them")
		case tEOF:
			return nil, errAt(t.start, `unbalanced "(": add ")"`)
		}
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		switch p.tok.kind {
		case tRParen:
		case tEOF:
			return nil, errAt(t.start, `unbalanced "(": add ")"`)
		default:
			return nil, p.unexpected()
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		return n, nil
	case tField:
		if p.inCtx {
			return nil, errAt(t.start, "filters cannot be used inside context:(...): write %s outside it", t)
		}
		return p.parseField()
	}
	return nil, p.unexpected()
}

// makeTerm builds the Term of a word or phrase token.
func makeTerm(t token) (Term, error) {
	raw, off := t.text, t.start
	if t.kind == tPhrase {
		off++ // after the quote
		if strings.TrimSpace(raw) == "" {
			return Term{}, errAt(t.start, `empty phrase: put words between the quotes or remove them`)
		}
	}
	last := len(strings.TrimRightFunc(raw, unicode.IsSpace)) - 1
	prefix := false
	for i := 0; i < len(raw); i++ {
		if raw[i] != '*' {
			continue
		}
		if i == last && i > 0 && raw[i-1] != '*' && !isSpaceBefore(raw, i) {
			prefix = true
			continue
		}
		if i == 0 || raw[i-1] == '*' || isSpaceBefore(raw, i) {
			return Term{}, errAt(off+i, `"*" needs the start of a word before it, e.g. refund*`)
		}
		return Term{}, errAt(off+i, `"*" works only at the end of a word, e.g. refund*`)
	}
	text := strings.ToLower(raw[:last+1])
	if prefix {
		text = text[:len(text)-1]
	}
	if t.kind == tPhrase {
		text = strings.Join(strings.Fields(text), " ")
	}
	return Term{Text: text, Prefix: prefix, Phrase: t.kind == tPhrase}, nil
}

func isSpaceBefore(s string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsSpace(r)
}

var fieldExamples = map[string]string{
	"lang":      "lang:ja",
	"platform":  "platform:x",
	"author":    "author:kumomobile",
	"followers": "followers:>10000",
	"context":   "context:outage",
}

var fieldNames = []string{"lang", "platform", "author", "followers", "context"}

var fieldAliases = map[string]string{
	"language": "lang", "locale": "lang",
	"source": "platform", "network": "platform", "site": "platform", "channel": "platform",
	"user": "author", "from": "author", "handle": "author", "account": "author", "username": "author",
	"follower_count": "followers", "followers_count": "followers", "reach": "followers",
	"thread": "context", "parent": "context", "conversation": "context",
}

func (p *parser) parseField() (*node, error) {
	f := p.tok
	name := strings.ToLower(f.text)
	vstart := f.end
	if _, ok := fieldExamples[name]; !ok {
		if s := suggestField(name); s != "" {
			return nil, errAt(f.start, "unknown field %q (did you mean %q?)", clip(f.text), s)
		}
		return nil, errAt(f.start, `unknown field %q: the fields are lang, platform, author, followers and context; put text containing ":" in quotes`, clip(f.text))
	}
	if name == "context" {
		return p.parseContext(f)
	}
	vend := wordEnd(p.src, vstart)
	val := p.src[vstart:vend]
	if val == "" {
		return nil, errAt(vstart, "%s: needs a value right after the colon, e.g. %s", name, fieldExamples[name])
	}
	var n *node
	switch name {
	case "lang":
		if !validName(val, "-_") {
			return nil, errAt(vstart, "lang: takes a language code such as ja or en-US, not %q", clip(val))
		}
		n = &node{kind: kLang, val: strings.ToLower(val)}
	case "platform":
		if !validName(val, "-_.") {
			return nil, errAt(vstart, "platform: takes a platform name such as x or reddit, not %q", clip(val))
		}
		n = &node{kind: kPlatform, val: strings.ToLower(val)}
	case "author":
		h := strings.TrimPrefix(val, "@")
		if h == "" || strings.ContainsAny(h, "*@") || strings.IndexFunc(h, func(r rune) bool { return badRune(r) != "" }) >= 0 {
			return nil, errAt(vstart, "author: takes a handle such as kumomobile or @kumomobile, not %q", clip(val))
		}
		n = &node{kind: kAuthor, val: strings.ToLower(h)}
	case "followers":
		var err error
		if n, err = parseFollowers(val, vstart); err != nil {
			return nil, err
		}
	}
	p.pos = vend
	if err := p.next(); err != nil {
		return nil, err
	}
	return n, nil
}

// validName reports whether s is ASCII letters and digits and the bytes in
// extra, starting with a letter or digit.
func validName(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if i == 0 || strings.IndexByte(extra, c) < 0 {
			return false
		}
	}
	return s != ""
}

func (p *parser) parseContext(f token) (*node, error) {
	vstart := f.end
	if err := p.next(); err != nil {
		return nil, err
	}
	if p.tok.start != vstart {
		return nil, errAt(vstart, `context: needs a term, a "phrase" or a (group) right after the colon, e.g. context:outage`)
	}
	switch p.tok.kind {
	case tWord, tPhrase, tLParen:
	case tMinus, tNot:
		return nil, errAt(vstart, "context: cannot start with %s: to exclude, write NOT context:outage", p.tok)
	case tField:
		return nil, errAt(vstart, "context: takes text, not a filter such as %s", p.tok)
	default:
		return nil, errAt(vstart, `context: needs a term, a "phrase" or a (group) right after the colon, e.g. context:outage, not %s`, p.tok)
	}
	p.inCtx = true
	n, err := p.parseOperand()
	p.inCtx = false
	return n, err
}

func parseFollowers(v string, off int) (*node, error) {
	n := &node{kind: kFollowers}
	for _, c := range []struct {
		s  string
		op cmpOp
	}{{">=", opGE}, {"<=", opLE}, {">", opGT}, {"<", opLT}, {"=", opEQ}} {
		if rest, ok := strings.CutPrefix(v, c.s); ok {
			n.op, v, off = c.op, rest, off+len(c.s)
			goto number
		}
	}
	return nil, errAt(off, "followers: needs a comparison before the number, e.g. followers:>10000 (or >=, <, <=, =)")
number:
	const msg = "followers: needs a number, e.g. followers:>10000, followers:>=10k or followers:<1.5m"
	num := v
	mult := int64(1)
	if num != "" {
		switch num[len(num)-1] {
		case 'k', 'K':
			mult = 1e3
		case 'm', 'M':
			mult = 1e6
		case 'b', 'B':
			mult = 1e9
		}
		if mult > 1 {
			num = num[:len(num)-1]
		}
	}
	ip, fp, dot := strings.Cut(num, ".")
	if !allDigits(ip) || dot && !allDigits(fp) {
		if v == "" {
			return nil, errAt(off, "%s", msg)
		}
		return nil, errAt(off, "%s; %q is not a number", msg, clip(v))
	}
	tooLarge := errAt(off, "followers: number %s is too large", clip(v))
	if len(ip) > 16 {
		return nil, tooLarge
	}
	iv, _ := strconv.ParseInt(ip, 10, 64)
	if iv > maxFollower/mult {
		return nil, tooLarge
	}
	total := iv * mult
	if fp != "" {
		if len(fp) > 9 {
			return nil, errAt(off, "followers: %s is not a whole number of followers", clip(v))
		}
		fv, _ := strconv.ParseInt(fp, 10, 64)
		scale := int64(1)
		for range len(fp) {
			scale *= 10
		}
		if fv*mult%scale != 0 {
			return nil, errAt(off, "followers: %s is not a whole number of followers", clip(v))
		}
		total += fv * mult / scale
	}
	if total > maxFollower {
		return nil, tooLarge
	}
	n.num = total
	return n, nil
}

// suggestField returns the known field name closest to name, or "".
func suggestField(name string) string {
	if a, ok := fieldAliases[name]; ok {
		return a
	}
	best, bestD := "", 3
	for _, f := range fieldNames {
		if d := suggest.Distance(name, f); d < bestD && d < len(name) {
			best, bestD = f, d
		}
	}
	return best
}
