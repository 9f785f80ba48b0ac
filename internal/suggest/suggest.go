// Package suggest finds the nearest of a few known words, for "did you
// mean" hints in error messages (rule keys, config keys, query fields).
package suggest

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Distance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of adjacent runes.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// Nearest returns the candidate closest to word by edit distance, ignoring
// case and treating "-" and " " like "_", or "" if none is close enough
// (1 edit for short words, 2 from 5 runes, 3 from 9).
func Nearest(word string, cands []string) string {
	w := normKey(word)
	if w == "" || utf8.RuneCountInString(w) > 64 {
		return ""
	}
	best, bestD := "", 1<<30
	for _, c := range cands {
		if d := Distance(w, normKey(c)); d < bestD {
			best, bestD = c, d
		}
	}
	limit := 1
	switch n := utf8.RuneCountInString(w); {
	case n >= 9:
		limit = 3
	case n >= 5:
		limit = 2
	}
	if bestD <= limit {
		return best
	}
	return ""
}

// DidYouMean returns the hint `did you mean "s"?`, or "" when s is "".
func DidYouMean(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf("did you mean %q?", s)
}

func normKey(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}
