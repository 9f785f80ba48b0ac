package matcher

import (
	"regexp"
	"slices"
	"testing"
)

func TestPrefilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern string
		lits    []string
		match   []string // texts the regexp matches: the prefilter must let them through
	}{
		{`\bstill\s+(not|no)\b`, []string{"still"}, []string{"still not working"}},
		{`(?i)CHARGED twice`, []string{"charged twice"}, []string{"charged twice"}},
		{`\b(no{4,}|u+gh{2,})\b`, []string{"oooo", "hh"}, []string{"nooooo", "uughhh"}},
		{`(^|[^?])\?($|[^?a-z])`, []string{"?"}, []string{"why?", "what? ok"}},
		{`\d+\s*(days|hours)`, []string{"days", "hours"}, []string{"3 days"}},
		{`a*b?`, nil, []string{""}},
	}
	for _, tc := range tests {
		p := newPrefiltered(regexp.MustCompile(tc.pattern))
		if !slices.Equal(p.lits, tc.lits) {
			t.Errorf("%s: literals %q, want %q", tc.pattern, p.lits, tc.lits)
		}
		for _, m := range tc.match {
			if p.re.MatchString(m) && p.find(m) == nil {
				t.Errorf("%s: prefilter rejected %q, which the regexp matches", tc.pattern, m)
			}
		}
	}
}
