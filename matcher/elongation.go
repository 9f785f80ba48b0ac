package matcher

import "github.com/kizuki-dev/kizuki/textnorm"

// People stretch words when they feel strongly ("soooo good", "loooove
// it", "noooo"). The stretched form matches no term, so a post with a run
// of three or more of one letter is also read with each run squeezed to
// one letter and to two ("sooo" → "so", "goood" → "good"), and the terms
// found only that way count where the stretched word stands.

// stretched reports whether s has a run of three or more of one ASCII
// letter.
func stretched(s string) bool {
	run := 1
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == s[i-1] && 'a' <= c && c <= 'z' {
			run++
			if run >= 3 {
				return true
			}
		} else {
			run = 1
		}
	}
	return false
}

// squeeze returns s with each run of three or more of one ASCII letter cut
// to keep letters, and for each byte of the result the offset in s it came
// from (one more entry for the end).
func squeeze(s string, keep int) (string, []int32) {
	out := make([]byte, 0, len(s))
	from := make([]int32, 0, len(s)+1)
	for i := 0; i < len(s); {
		j := i + 1
		c := s[i]
		if 'a' <= c && c <= 'z' {
			for j < len(s) && s[j] == c {
				j++
			}
		}
		n := j - i
		if n >= 3 {
			n = keep
		}
		for k := 0; k < n; k++ {
			out = append(out, c)
			from = append(from, int32(i+k))
		}
		if n < j-i {
			// the last kept letter stands for the whole run
			from[len(from)-1] = int32(i + n - 1)
		}
		i = j
	}
	from = append(from, int32(len(s)))
	return string(out), from
}

// addStretched appends, once per post, the signal and intensifier hits that only the squeezed readings of the text find.
func (s *scratch) addStretched() {
	if s.stretchDone {
		return
	}
	s.stretchDone = true
	text := s.text.Norm
	if !stretched(text) {
		return
	}
	m := s.m
	for _, keep := range []int{1, 2} {
		sq, from := squeeze(text, keep)
		m.trie.Walk([]byte(sq), func(end, n, pattern int64) bool {
			start, stop := int(end-n+1), int(end+1)
			// Only where the squeezing changed something.
			if int(origEnd(text, from, stop)-from[start]) == stop-start {
				return true
			}
			r := m.patRefs[pattern]
			for i := r[0]; i < r[1]; i++ {
				k := m.refs[i].kind
				// Not negators: "noooo" is a cry, not a "no" before a word.
				if k != kSignal && k != kIntensifier {
					continue
				}
				if !textnorm.Bounded(sq, start, stop, m.refs[i].prefix) {
					continue
				}
				h := hit{start: from[start], end: origEnd(text, from, stop), ref: i}
				if !hasHit(s.hits, h) {
					s.hits = append(s.hits, h)
				}
			}
			return true
		})
	}
}

// origEnd maps the end of a squeezed match back to the text, past the
// whole run its last letter stood for.
func origEnd(text string, from []int32, stop int) int32 {
	e := from[stop-1] + 1
	for int(e) < len(text) && text[e] == text[from[stop-1]] {
		e++
	}
	return e
}

func hasHit(hits []hit, h hit) bool {
	for _, o := range hits {
		if o == h {
			return true
		}
	}
	return false
}
