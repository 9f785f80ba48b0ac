package listener

import (
	"testing"
	"time"
)

// BenchmarkMastodonIngest: the ingest scenario (ingest_bench_test.go)
// against the fake instance, keyless: the hashtag timeline in three pages
// of 40, then the ten parents and the ten roots in one statuses?id[]=
// request each.
func BenchmarkMastodonIngest(b *testing.B) {
	f, _ := newMastoFake(b)
	for c := range benchConvs {
		f.add("", mastoStatusJSON(1+c, "<p>Ask: mobile carriers?</p>", nil),
			mastoStatusJSON(100+c, "<p>which carrier do you use?</p>", map[string]any{"in_reply_to_id": mastoSID(1 + c)}))
	}
	for i := range benchPosts {
		f.add("kumomobile", mastoStatusJSON(1000+i, "<p>Kumo Mobile dropped my call again</p>",
			map[string]any{"in_reply_to_id": mastoSID(100 + i%benchConvs)}))
	}
	srv, n := benchServer(b, f.serve)
	c := NewClient(ClientOptions{})
	benchIngest(b, n, func() Source {
		return NewMastodon(MastodonOptions{BaseURL: srv.URL, Client: c, Now: func() time.Time { return mastoT0 }})
	}, Query{Keywords: []string{"Kumo Mobile"}, Since: mastoT0.Add(500 * time.Second)}, 2)
}
