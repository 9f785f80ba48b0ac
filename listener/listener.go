// Package listener holds the sources that bring posts in from platforms:
// search for brand keywords since a cursor, fetch the thread before a post,
// refresh engagement counts. Each platform is one file (or sub-package)
// with a fake server for its tests; Client is their shared HTTP layer.
package listener

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/post"
)

// Query is what a source searches for, built from the rule files. The
// matcher still decides; the query only narrows what is fetched.
type Query struct {
	Keywords  []string // any of them
	Exclude   []string // pushed down where the platform supports it
	Languages []string // empty: any
	// Since is the oldest creation time of interest when there is no
	// cursor yet (a first poll).
	Since time.Time
}

// Terms returns the keywords cleaned for a platform query: quotes dropped,
// white space folded, empties and repeats removed, in order.
func (q Query) Terms() []string {
	var terms []string
	for _, k := range q.Keywords {
		k = strings.Join(strings.Fields(strings.ReplaceAll(k, `"`, " ")), " ")
		if k != "" && !slices.Contains(terms, k) {
			terms = append(terms, k)
		}
	}
	return terms
}

// Page is one poll's result: new posts, oldest first, and the cursor to
// pass to the next Search once they are recorded.
type Page struct {
	Posts  []post.Post
	Cursor string
}

// Source is one platform. Implementations are safe for use by one poller
// at a time.
type Source interface {
	// Name is the source's name in logs, metrics and cursors ("hn").
	Name() string
	// Search returns posts newer than cursor ("" on the first poll).
	Search(ctx context.Context, q Query, cursor string) (Page, error)
	// Thread returns up to depth ancestors of p, oldest first; a deleted
	// ancestor ends the chain without an error.
	Thread(ctx context.Context, p post.Post, depth int) ([]post.Post, error)
	// Refresh returns current engagement counts of the given post ids;
	// ids the platform no longer has are left out.
	Refresh(ctx context.Context, ids []string) (map[string]post.Metrics, error)
}
