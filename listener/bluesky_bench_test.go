package listener

import (
	"fmt"
	"testing"
)

// BenchmarkBlueskyIngest: the ingest scenario (ingest_bench_test.go)
// against the fake PDS: a session, one searchPosts, then the ten parents
// and the ten roots in one getPosts each, follower counts in one
// getProfiles per batch of new authors.
func BenchmarkBlueskyIngest(b *testing.B) {
	f, _ := newBskyFake(b)
	uri := func(did, rkey string) string { return "at://" + did + "/app.bsky.feed.post/" + rkey }
	for c := range benchConvs {
		root, parent := fmt.Sprintf("root%d", c), fmt.Sprintf("parent%d", c)
		f.add(false, bskyPV("did:plc:a", "a.test", root, "Ask: mobile carriers?", bskyAt(-50)),
			bskyReply(bskyPV("did:plc:a", "a.test", parent, "which carrier do you use?", bskyAt(-40)), uri("did:plc:a", root), uri("did:plc:a", root)))
	}
	for i := range benchPosts {
		c := i % benchConvs
		f.add(true, bskyReply(bskyPV("did:plc:u", "u.test", fmt.Sprintf("r%03d", i), "Kumo Mobile dropped my call again", bskyAt(-30).Add(0)),
			uri("did:plc:a", fmt.Sprintf("root%d", c)), uri("did:plc:a", fmt.Sprintf("parent%d", c))))
	}
	srv, n := benchServer(b, f.serve)
	benchIngest(b, n, func() Source { return bskyTestSource(srv, nil) },
		Query{Keywords: []string{"kumo mobile"}, Since: bskyAt(-60)}, 2)
}
