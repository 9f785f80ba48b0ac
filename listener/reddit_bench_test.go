package listener

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkRedditIngest: the ingest scenario (ingest_bench_test.go)
// against the fake OAuth API: the token, the search and the newest
// comments of the subreddit, then the ten parent comments and the ten
// links in one /api/info request each.
func BenchmarkRedditIngest(b *testing.B) {
	f, _ := newRedditFake(b)
	for c := range benchConvs {
		link, parent := fmt.Sprintf("L%d", c), fmt.Sprintf("p%d", c)
		f.add(redditLink(link, 1755690000, "phones", "Ask: mobile carriers?", "", 1, 1))
		f.mu.Lock()
		f.items["t1_"+parent] = redditComment(parent, 1755690001, "phones", link, "t3_"+link, "which carrier do you use?", 1)
		f.mu.Unlock()
	}
	for i := range benchPosts { // newest first
		c := i % benchConvs
		f.add(redditComment(fmt.Sprintf("c%03d", i), 1755690500-i, "phones", fmt.Sprintf("L%d", c), fmt.Sprintf("t1_p%d", c),
			"Kumo Mobile dropped my call again", 1))
	}
	srv, n := benchServer(b, f.serve)
	benchIngest(b, n, func() Source {
		return redditTestSource(srv, nil, func(o *RedditOptions) { o.Subreddits = []string{"phones"}; o.Client = NewClient(ClientOptions{}) })
	}, Query{Keywords: []string{"kumo mobile"}, Since: time.Unix(1755690100, 0)}, 2)
}
