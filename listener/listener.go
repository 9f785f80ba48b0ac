// Package listener holds the sources that bring posts in from platforms:
// search for brand keywords since a cursor, fetch the thread before a post,
// refresh engagement counts. Each platform is one file (or sub-package)
// with a fake server for its tests; Client is their shared HTTP layer.
package listener

import (
	"context"
	"time"

	"github.com/kizuki-dev/kizuki/post"
)

// Query is what a source searches for, built from the rule files. The
// matcher still decides; the query only narrows what is fetched.
//
// Sources turn it into each platform's query syntax (querybuild.go).
// Exclude is pushed down into every query, so it must hold for every
// keyword: an exclusion of one brand's rule would hide another brand's
// posts that happen to contain it.
type Query struct {
	Keywords  []string // any of them
	Exclude   []string // none of them; pushed down where the platform supports it
	Languages []string // empty: any; one is pushed down where supported
	// Since is the oldest creation time of interest when there is no
	// cursor yet (a first poll).
	Since time.Time
}

// Page is one poll's result: new posts, oldest first, and the cursor to
// pass to the next Search once they are recorded.
type Page struct {
	Posts  []post.Post
	Cursor string
	// More says the source stopped at a page limit with more at hand: the poller may
	// ask again at once instead of waiting for the next tick (a backfill file).
	More bool
}

// Source is one platform. Implementations are safe for use by one poller
// at a time. A source with a daily read budget (Budgeted) refuses reads
// the budget does not allow: its methods then return what they read with
// an error wrapping ErrBudget.
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
