package listener

import (
	"fmt"
	"regexp"
	"strings"
)

// fakeQuery is a search query as the fakes evaluate it, parsed the way
// the platforms read theirs: terms (words or "quoted phrases") side by
// side are all required, the platform's OR word ("OR" on X and Reddit, "|"
// on Bluesky; none on Mastodon and Algolia, where "OR" is just a word)
// joins alternatives, a leading - excludes, parentheses group, and
// key:value words are operators, collected in ops and otherwise true.
// A term matches text that contains it, ignoring case.
type fakeQuery struct {
	root fakeNode
	ops  []string // operators as written, e.g. "lang:ja", "-is:retweet"
}

type fakeNode interface{ eval(text string) bool }

type (
	fakeTerm struct{ s string }
	fakeNot  struct{ n fakeNode }
	fakeAnd  []fakeNode
	fakeOr   []fakeNode
	fakeTrue struct{}
)

func (t fakeTerm) eval(text string) bool { return strings.Contains(text, t.s) }
func (n fakeNot) eval(text string) bool  { return !n.n.eval(text) }
func (fakeTrue) eval(string) bool        { return true }

func (a fakeAnd) eval(text string) bool {
	for _, n := range a {
		if !n.eval(text) {
			return false
		}
	}
	return true
}

func (o fakeOr) eval(text string) bool {
	for _, n := range o {
		if n.eval(text) {
			return true
		}
	}
	return false
}

var fakeOpRE = regexp.MustCompile(`^-?[a-z_]+:\S+$`)

// parseFakeQuery parses q with orWord as the OR operator ("" for none).
func parseFakeQuery(q, orWord string) (*fakeQuery, error) {
	var toks []string
	for i := 0; i < len(q); {
		switch c := q[i]; {
		case c == ' ':
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case c == '"' || c == '-' && i+1 < len(q) && q[i+1] == '"':
			start := i
			if c == '-' {
				i++
			}
			end := strings.IndexByte(q[i+1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("unclosed quote in %q", q)
			}
			i += end + 2
			toks = append(toks, q[start:i])
		default:
			end := strings.IndexAny(q[i:], " ()")
			if end < 0 {
				end = len(q) - i
			}
			toks = append(toks, q[i:i+end])
			i += end
		}
	}
	fq := &fakeQuery{}
	pos := 0
	var expr func() (fakeNode, error)
	unary := func() (fakeNode, error) {
		t := toks[pos]
		pos++
		neg := false
		if strings.HasPrefix(t, "-") && len(t) > 1 && !fakeOpRE.MatchString(t) {
			neg, t = true, t[1:]
		}
		var n fakeNode
		switch {
		case t == "(":
			inner, err := expr()
			if err != nil {
				return nil, err
			}
			if pos >= len(toks) || toks[pos] != ")" {
				return nil, fmt.Errorf("unbalanced ( in %q", q)
			}
			pos++
			n = inner
		case strings.HasPrefix(t, `"`):
			n = fakeTerm{strings.ToLower(strings.Trim(t, `"`))}
		case fakeOpRE.MatchString(t):
			fq.ops = append(fq.ops, t)
			n = fakeTrue{}
		default:
			n = fakeTerm{strings.ToLower(t)}
		}
		if neg {
			n = fakeNot{n}
		}
		return n, nil
	}
	expr = func() (fakeNode, error) {
		var or fakeOr
		var and fakeAnd
		for pos < len(toks) && toks[pos] != ")" {
			if orWord != "" && toks[pos] == orWord {
				if len(and) == 0 {
					return nil, fmt.Errorf("%s without a left side in %q", orWord, q)
				}
				or = append(or, and)
				and = nil
				pos++
				continue
			}
			n, err := unary()
			if err != nil {
				return nil, err
			}
			and = append(and, n)
		}
		if len(and) == 0 {
			return nil, fmt.Errorf("empty expression in %q", q)
		}
		if or == nil {
			return and, nil
		}
		return append(or, and), nil
	}
	root, err := expr()
	if err != nil {
		return nil, err
	}
	if pos != len(toks) {
		return nil, fmt.Errorf("unbalanced ) in %q", q)
	}
	fq.root = root
	return fq, nil
}

// match reports whether text matches the query (operators aside).
func (fq *fakeQuery) match(text string) bool { return fq.root.eval(strings.ToLower(text)) }

// op returns the value of operator key ("lang" → "ja"), or "".
func (fq *fakeQuery) op(key string) string {
	for _, o := range fq.ops {
		if v, ok := strings.CutPrefix(o, key+":"); ok {
			return v
		}
	}
	return ""
}
