package rules

import (
	"slices"
	"strconv"
	"strings"
)

// Problem is one thing wrong in a rule file.
type Problem struct {
	Pos Pos
	// Col is the 1-based column (in characters) when known, else 0.
	Col int
	Msg string
	// Hint says what to do, e.g. `did you mean "handles"?` or
	// `write it as a list: [a, b]`; may be empty.
	Hint string
}

// Error formats p as "file:line: msg (hint)". The line is left out when
// the problem is about a whole directory.
func (p Problem) Error() string {
	var b strings.Builder
	if p.Pos.File != "" {
		b.WriteString(p.Pos.File)
		if p.Pos.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Pos.Line))
		}
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	if p.Hint != "" {
		b.WriteString(" (")
		b.WriteString(p.Hint)
		b.WriteByte(')')
	}
	return b.String()
}

// Problems is every problem found while loading rules. Load returns them
// sorted by file, then line.
type Problems []Problem

// Error lists the problems one per line, sorted by file then line.
func (ps Problems) Error() string {
	sorted := slices.Clone(ps)
	sortProblems(sorted)
	lines := make([]string, len(sorted))
	for i, p := range sorted {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if a.Pos.File != b.Pos.File {
			return strings.Compare(a.Pos.File, b.Pos.File)
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		return a.Col - b.Col
	})
}

// tidyProblems sorts ps and drops exact repeats (an alias used many times
// repeats the problems of what it points to).
func tidyProblems(ps []Problem) Problems {
	sortProblems(ps)
	out := ps[:0]
	for i, p := range ps {
		if i > 0 && p == ps[i-1] {
			continue
		}
		out = append(out, p)
	}
	return Problems(out)
}
