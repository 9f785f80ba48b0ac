package listener

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/kizuki-dev/kizuki/post"
)

// The cursor of a source that runs several queries in one poll (one per
// keyword, or one per group of OR-joined keywords) is one mark for all of
// them, not one per query: the newest position any query reached (a time,
// or an id where ids grow with time) and the ids seen at exactly that
// position. Every query of the next poll asks from the mark, and a post is
// new if it is past the mark, or at it and not among its ids. So the
// queries may be split differently from one poll to the next (a keyword
// added, a limit changed) and every post still comes back exactly once:
// a post found by two queries is merged by id, a post sharing the newest
// second with one already returned is not lost, and the mark moves only
// when every query of the poll succeeded.

// mark is that cursor, with positions of type P ordered by a comparison
// function. Its JSON form is {"t": position, "ids": [...]}.
type mark[P any] struct {
	At  P        `json:"t"`
	IDs []string `json:"ids,omitempty"`
}

// fresh reports whether a post at position at with id is past the mark.
func (m *mark[P]) fresh(compare func(a, b P) int, at P, id string) bool {
	c := compare(at, m.At)
	return c > 0 || c == 0 && !slices.Contains(m.IDs, id)
}

// advance moves the mark over a post.
func (m *mark[P]) advance(compare func(a, b P) int, at P, id string) {
	switch c := compare(at, m.At); {
	case c > 0:
		m.At, m.IDs = at, []string{id}
	case c == 0 && !slices.Contains(m.IDs, id):
		m.IDs = append(slices.Clip(m.IDs), id)
	}
}

func (m mark[P]) encode() (string, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode cursor: %w", err)
	}
	return string(b), nil
}

// merged collects the posts of one poll's queries: each id once, in the
// order first found.
type merged struct {
	seen  map[string]bool
	posts []post.Post
}

// add keeps p unless a post with its id is there already; it reports
// whether p was kept.
func (m *merged) add(p post.Post) bool {
	if m.seen == nil {
		m.seen = map[string]bool{}
	}
	if m.seen[p.ID] {
		return false
	}
	m.seen[p.ID] = true
	m.posts = append(m.posts, p)
	return true
}

// oldestFirst returns the posts by creation time, then id.
func (m *merged) oldestFirst() []post.Post {
	slices.SortStableFunc(m.posts, func(a, b post.Post) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return m.posts
}
