package matcher

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// prefilteredRE is a signal pattern with literals of which at least one
// must occur in any text it matches: a strings.Contains test on them skips
// most regexp runs, which otherwise cost more than the whole automaton pass.
type prefilteredRE struct {
	re   *regexp.Regexp
	lits []string // nil: no usable literal, always run the regexp
}

func (p prefilteredRE) find(text string) []int {
	if p.lits != nil {
		found := false
		for _, l := range p.lits {
			if strings.Contains(text, l) {
				found = true
				break
			}
		}
		if !found {
			return nil
		}
	}
	return p.re.FindStringIndex(text)
}

func newPrefiltered(re *regexp.Regexp) prefilteredRE {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return prefilteredRE{re: re}
	}
	lits := required(tree.Simplify(), 0)
	for _, l := range lits {
		if l == "" {
			return prefilteredRE{re: re} // an empty literal filters nothing
		}
	}
	return prefilteredRE{re: re, lits: lits}
}

// required returns literals of which a match must contain at least one, or
// nil when it cannot tell. Texts are lower-cased before matching, so
// case-folded literals are lower-cased too.
func required(re *syntax.Regexp, depth int) []string {
	if depth > 20 {
		return nil
	}
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		if re.Flags&syntax.FoldCase != 0 {
			s = strings.ToLower(s)
		}
		return []string{s}
	case syntax.OpCapture:
		return required(re.Sub[0], depth+1)
	case syntax.OpPlus:
		return required(re.Sub[0], depth+1)
	case syntax.OpRepeat:
		if re.Min < 1 {
			return nil
		}
		sub := required(re.Sub[0], depth+1)
		// "o{4,}" needs "oooo": repeat a single literal as often as required.
		if len(sub) == 1 && re.Sub[0].Op == syntax.OpLiteral && re.Min <= 8 {
			return []string{strings.Repeat(sub[0], re.Min)}
		}
		return sub
	case syntax.OpConcat:
		var best []string
		consider := func(lits []string) {
			if lits != nil && (best == nil || weaker(best, lits)) {
				best = lits
			}
		}
		// Adjacent literals form one longer literal ("no{4,}" simplifies
		// to "n", "ooo", "o+": together "noooo").
		var run strings.Builder
		flush := func() {
			if run.Len() > 0 {
				consider([]string{run.String()})
				run.Reset()
			}
		}
		for _, s := range re.Sub {
			switch {
			case s.Op == syntax.OpLiteral:
				run.WriteString(required(s, depth+1)[0])
			case s.Op == syntax.OpPlus && s.Sub[0].Op == syntax.OpLiteral:
				run.WriteString(required(s.Sub[0], depth+1)[0])
				flush()
			default:
				flush()
				consider(required(s, depth+1))
			}
		}
		flush()
		return best
	case syntax.OpAlternate:
		var all []string
		for _, s := range re.Sub {
			lits := required(s, depth+1)
			if lits == nil {
				return nil
			}
			all = append(all, lits...)
		}
		return all
	}
	return nil
}

// weaker reports whether a filters less than b: its shortest literal is
// shorter (fewer, longer literals reject more texts).
func weaker(a, b []string) bool {
	return minLen(a) < minLen(b) || minLen(a) == minLen(b) && len(a) > len(b)
}

func minLen(lits []string) int {
	n := -1
	for _, l := range lits {
		if n < 0 || len(l) < n {
			n = len(l)
		}
	}
	return n
}
