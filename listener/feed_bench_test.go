package listener

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// BenchmarkFeedIngest: a feed of 100 new entries (as a Google Alerts feed
// would carry) polled once; entries have no thread.
func BenchmarkFeedIngest(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Google Alert - kumo mobile</title>`)
	for i := range benchPosts {
		fmt.Fprintf(&sb, `<entry><id>tag:google.com,2013:googlealerts/feed:%d</id><title type="html">&lt;b&gt;Kumo Mobile&lt;/b&gt; outage %d</title>`+
			`<link href="https://www.google.com/url?rct=j&amp;sa=t&amp;url=https://news.example/%d&amp;ct=ga"/>`+
			`<published>2026-08-20T10:%02d:00Z</published><updated>2026-08-20T10:%02d:00Z</updated><content type="html">Customers of &lt;b&gt;Kumo Mobile&lt;/b&gt; report dropped calls</content></entry>`,
			i, i, i, i%60, i%60)
	}
	sb.WriteString(`</feed>`)
	doc := sb.String()
	srv, n := benchServer(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/atom+xml")
		w.Write([]byte(doc))
	})
	c := NewClient(ClientOptions{})
	benchIngest(b, n, func() Source { return NewFeed(FeedOptions{URLs: []string{srv.URL + "/alerts/feeds/1/2"}, Client: c}) },
		Query{Keywords: []string{"kumo mobile"}, Since: time.Date(2026, 8, 20, 0, 0, 0, 0, time.UTC)}, 0)
}
