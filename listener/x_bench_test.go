package listener

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// BenchmarkXIngest: the ingest scenario (ingest_bench_test.go) against the
// fake X API v2. The parents come expanded with the search results; the
// roots take one /2/tweets?ids= lookup for all ten conversations.
func BenchmarkXIngest(b *testing.B) {
	f, _ := newXFake(b)
	f.users["1"] = xUsr("1", "alice", 10)
	parents := make([]uint64, benchConvs)
	for c := range benchConvs {
		root, parent := xIDAt(3*time.Hour, uint64(c)), xIDAt(2*time.Hour, uint64(c))
		f.extra[strconv.FormatUint(root, 10)] = xTw(root, "1", "Ask: mobile carriers?", 0)
		f.extra[strconv.FormatUint(parent, 10)] = xTw(parent, "1", "which carrier do you use?", root)
		parents[c] = parent
	}
	for i := range benchPosts { // newest first
		f.tweets = append(f.tweets, xTw(xIDAt(time.Hour, uint64(1000-i)), "1", "Kumo Mobile dropped my call again", parents[i%benchConvs]))
	}
	srv, n := benchServer(b, f.serve)
	c := NewClient(ClientOptions{})
	benchIngest(b, n, func() Source {
		x, err := NewX(XOptions{BaseURL: srv.URL, BearerToken: "sekrit", Client: c, Now: func() time.Time { return xNow }})
		if err != nil {
			b.Fatal(err)
		}
		return x
	}, Query{Keywords: []string{"kumo mobile"}, Since: xNow.Add(-2 * time.Hour)}, 2)
}

// BenchmarkXV1Ingest: the same against fake v1.1 endpoints through
// go-twitter: the parents and then the roots in one statuses/lookup each.
func BenchmarkXV1Ingest(b *testing.B) {
	f := newXV1Fake()
	parents := make([]int64, benchConvs)
	for c := range benchConvs {
		root, parent := int64(xIDAt(3*time.Hour, uint64(c))), int64(xIDAt(2*time.Hour, uint64(c)))
		f.add(xv1Tweet(root, 0, "Ask: mobile carriers?", 1), xv1Tweet(parent, root, "which carrier do you use?", 1))
		parents[c] = parent
	}
	for i := range benchPosts {
		id := int64(xIDAt(time.Hour, uint64(1000-i)))
		f.add(xv1Tweet(id, parents[i%benchConvs], "Kumo Mobile dropped my call again", 0))
		f.searched = append(f.searched, id)
	}
	srv, n := benchServer(b, f.serve)
	u, _ := url.Parse(srv.URL)
	hc := &http.Client{Transport: xv1Rewrite{u}}
	benchIngest(b, n, func() Source {
		x, err := NewXV1(XV1Options{HTTP: hc})
		if err != nil {
			b.Fatal(err)
		}
		return x
	}, Query{Keywords: []string{"kumo mobile"}, Since: xNow.Add(-2 * time.Hour)}, 2)
}
