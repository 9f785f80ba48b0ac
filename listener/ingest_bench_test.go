package listener

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// The source benchmarks share one scenario: a poll finds 100 new replies
// spread over 10 conversations, each reply two levels below its root (a
// parent shared by the 10 replies of its conversation, then the root),
// and the thread of every reply is fetched, one post at a time, as the
// daemon does. They report posts/s and requests per new post, counted at
// the fake; each iteration is a fresh source (no cache from the last).
const (
	benchPosts = 100
	benchConvs = 10
)

// countRequests counts the requests h serves.
func countRequests(n *atomic.Int64, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	})
}

// benchServer serves h on loopback, counting requests.
func benchServer(b *testing.B, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(countRequests(&n, h))
	b.Cleanup(srv.Close)
	return srv, &n
}

// benchIngest polls a fresh source per iteration and fetches every
// post's thread with depth 5; each reply must have wantDepth ancestors.
func benchIngest(b *testing.B, requests *atomic.Int64, newSource func() Source, q Query, wantDepth int) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	var posts int
	requests.Store(0)
	for b.Loop() {
		src := newSource()
		page, err := src.Search(ctx, q, "")
		if err != nil {
			b.Fatal(err)
		}
		if len(page.Posts) != benchPosts {
			b.Fatalf("%d posts, want %d", len(page.Posts), benchPosts)
		}
		for _, p := range page.Posts {
			chain, err := src.Thread(ctx, p, 5)
			if err != nil {
				b.Fatal(err)
			}
			if len(chain) != wantDepth {
				b.Fatalf("%s: %d ancestors, want %d", p.ID, len(chain), wantDepth)
			}
		}
		posts += len(page.Posts)
	}
	b.ReportMetric(float64(posts)/b.Elapsed().Seconds(), "posts/s")
	b.ReportMetric(float64(requests.Load())/float64(posts), "requests/post")
}
