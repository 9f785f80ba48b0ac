package matcher

import (
	"fmt"
	"strings"
	"unicode/utf8"

	ahocorasick "github.com/BobuSumisu/aho-corasick"

	"github.com/kizuki-dev/kizuki/japanese"
	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/rules/query"
	"github.com/kizuki-dev/kizuki/textnorm"
)

// refKind says what a pattern of the automaton stands for.
type refKind uint8

const (
	kKeyword refKind = iota
	kExclude
	kRequire
	kQuery
	kQueryCtx
	kSignal
	kNegator
	kIntensifier
)

// ref is one use of a pattern: a keyword of a rule, a term of a signal…
type ref struct {
	kind   refKind
	prefix bool // a "term*": no word boundary needed at the end
	cjk    bool // starts with a CJK character: negation is looked for after it
	// selfNeg marks terms that carry their own negation ("not working"),
	// so a negator inside them does not negate them.
	selfNeg bool
	owner   int32 // rule index, or signal index for kSignal
	term    string
	qterm   query.Term
}

// compiledRule is a rule with what the matcher needs at hand.
type compiledRule struct {
	*rules.Rule
	query    *query.Query
	signalOn []bool // by global signal index
	// patterned lists the rule's signals that have RE2 patterns.
	patterned []int32
	anyLang   bool
	needsTerm bool // the query must hit a term to make the rule a candidate
}

// Matcher decides posts against a compiled rule set.
type Matcher struct {
	trie    *ahocorasick.Trie
	patRefs [][2]int32 // pattern id -> [lo, hi) into refs
	refs    []ref
	rules   []compiledRule
	signals []*rules.Signal
	// patterns holds each signal's RE2 patterns with their prefilters.
	patterns [][]prefilteredRE
	handles  map[string][]int32 // lower-case handle -> rules
	hashtags map[string][]int32 // normalized hashtag -> rules
	// alwaysVerify lists rules whose query can match without a text term.
	alwaysVerify []int32
	ja           *japanese.Analyzer
	cfg          Config
}

// Config tunes scoring that is not part of the rule files.
type Config struct {
	// Japanese is the morphological analyzer; nil makes one (its dictionary
	// loads on the first Japanese candidate post).
	Japanese *japanese.Analyzer
	// NoMorphology skips Japanese morphological analysis (negation after a
	// term, question forms). Only for measuring the rest on its own.
	NoMorphology bool
}

// Compile builds a Matcher from a loaded rule set.
func Compile(set *rules.Set, cfg Config) (*Matcher, error) {
	if set == nil {
		return nil, fmt.Errorf("compile rules: no rule set")
	}
	m := &Matcher{
		handles:  map[string][]int32{},
		hashtags: map[string][]int32{},
		ja:       cfg.Japanese,
		cfg:      cfg,
	}
	if m.ja == nil {
		m.ja = japanese.New()
	}
	b := newBuilder()
	negators := map[string]bool{}
	for _, terms := range set.Pack.Negators {
		for _, t := range terms {
			negators[textnorm.String(t)] = true
			b.add(t, ref{kind: kNegator, owner: -1})
		}
	}
	for _, terms := range set.Pack.Intensifiers {
		for _, t := range terms {
			b.add(t, ref{kind: kIntensifier, owner: -1})
		}
	}
	sigIndex := map[*rules.Signal]int32{}
	addSignal := func(s *rules.Signal) int32 {
		if i, ok := sigIndex[s]; ok {
			return i
		}
		i := int32(len(m.signals))
		sigIndex[s] = i
		m.signals = append(m.signals, s)
		var pats []prefilteredRE
		for _, re := range s.Patterns {
			pats = append(pats, newPrefiltered(re))
		}
		m.patterns = append(m.patterns, pats)
		for _, terms := range s.Terms {
			for _, t := range terms {
				b.add(t, ref{kind: kSignal, owner: i, selfNeg: carriesNegation(textnorm.String(t), negators)})
			}
		}
		return i
	}
	for _, s := range set.Pack.Signals {
		addSignal(s)
	}
	for ri, r := range set.Rules {
		owner := int32(ri)
		cr := compiledRule{Rule: r, anyLang: len(r.Languages) == 0}
		for _, s := range r.Signals {
			addSignal(s)
		}
		for _, k := range r.Keywords {
			b.add(k, ref{kind: kKeyword, owner: owner})
		}
		for _, k := range r.Exclude {
			b.add(k, ref{kind: kExclude, owner: owner})
		}
		for _, k := range r.RequireAny {
			b.add(k, ref{kind: kRequire, owner: owner})
		}
		for _, h := range r.Handles {
			h = strings.ToLower(strings.TrimPrefix(h, "@"))
			m.handles[h] = appendUnique(m.handles[h], owner)
		}
		for _, h := range r.Hashtags {
			h = textnorm.String(strings.TrimPrefix(strings.TrimPrefix(h, "#"), "＃"))
			m.hashtags[h] = appendUnique(m.hashtags[h], owner)
		}
		if q, ok := r.Query.(*query.Query); ok && q != nil {
			cr.query = q
			for _, t := range q.Terms() {
				b.addTerm(t, ref{kind: kQuery, owner: owner, qterm: t})
			}
			for _, t := range q.ContextTerms() {
				b.addTerm(t, ref{kind: kQueryCtx, owner: owner, qterm: t})
			}
			// Without keywords the query finds candidates itself: through
			// its terms, or for every post when it has no positive term.
			if len(r.Keywords) == 0 {
				if q.HasPositiveTerm() {
					cr.needsTerm = true
				} else {
					m.alwaysVerify = append(m.alwaysVerify, owner)
				}
			}
		}
		m.rules = append(m.rules, cr)
	}
	for i := range m.rules {
		on := make([]bool, len(m.signals))
		for _, s := range m.rules[i].Signals {
			on[sigIndex[s]] = true
			if len(s.Patterns) > 0 {
				m.rules[i].patterned = append(m.rules[i].patterned, sigIndex[s])
			}
		}
		m.rules[i].signalOn = on
	}
	m.trie, m.patRefs, m.refs = b.build()
	return m, nil
}

func appendUnique(s []int32, v int32) []int32 {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// carriesNegation reports whether a normalized term contains one of the
// negators as a whole word ("not working", "can't log in").
func carriesNegation(term string, negators map[string]bool) bool {
	for n := range negators {
		if i := strings.Index(term, n); i >= 0 && textnorm.Bounded(term, i, i+len(n), false) {
			return true
		}
	}
	return false
}

// builder collects patterns with the refs that use them.
type builder struct {
	ids      map[string]int
	patterns []string
	refs     [][]ref
}

func newBuilder() *builder { return &builder{ids: map[string]int{}} }

// add normalizes a term as written in a rule file ("refund*" is a prefix).
func (b *builder) add(term string, r ref) {
	t := strings.TrimSpace(term)
	if strings.HasSuffix(t, "*") && len(t) > 1 {
		t = strings.TrimSuffix(t, "*")
		r.prefix = true
	}
	r.term = strings.TrimSpace(term)
	b.addNorm(textnorm.String(t), r)
}

func (b *builder) addTerm(t query.Term, r ref) {
	r.prefix = t.Prefix
	r.term = t.Text
	b.addNorm(textnorm.String(t.Text), r)
}

func (b *builder) addNorm(p string, r ref) {
	if p == "" {
		return
	}
	first, _ := utf8.DecodeRuneInString(p)
	r.cjk = textnorm.CJK(first)
	id, ok := b.ids[p]
	if !ok {
		id = len(b.patterns)
		b.ids[p] = id
		b.patterns = append(b.patterns, p)
		b.refs = append(b.refs, nil)
	}
	b.refs[id] = append(b.refs[id], r)
}

func (b *builder) build() (*ahocorasick.Trie, [][2]int32, []ref) {
	trie := ahocorasick.NewTrieBuilder().AddStrings(b.patterns).Build()
	ranges := make([][2]int32, len(b.patterns))
	var flat []ref
	for i, rs := range b.refs {
		ranges[i][0] = int32(len(flat))
		flat = append(flat, rs...)
		ranges[i][1] = int32(len(flat))
	}
	return trie, ranges, flat
}
