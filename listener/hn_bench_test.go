package listener

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkHNIngest polls a fake Hacker News with 100 new comments spread
// over 10 stories, each comment two levels below its story, and fetches
// every comment's thread: posts/s and requests per new post, which shows
// what the ancestor cache saves.
func BenchmarkHNIngest(b *testing.B) {
	const comments, stories = 100, 10
	var requests atomic.Int64
	base := int64(1_700_000_000)
	mux := http.NewServeMux()
	mux.HandleFunc("/algolia/search_by_date", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		var hits []map[string]any
		for i := range comments {
			story := int64(1000 + i%stories)
			hits = append(hits, map[string]any{
				"objectID": strconv.Itoa(5000 + i), "created_at_i": base + int64(i), "created_at": time.Unix(base+int64(i), 0).UTC().Format(time.RFC3339),
				"author": fmt.Sprintf("user%d", i), "comment_text": "<p>Kumo Mobile dropped my call again</p>",
				"story_id": story, "parent_id": story + 100, "_tags": []string{"comment"},
			})
		}
		json.NewEncoder(w).Encode(map[string]any{"hits": hits, "nbHits": comments, "page": 0, "nbPages": 1, "hitsPerPage": comments})
	})
	mux.HandleFunc("/firebase/item/", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		id, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/firebase/item/"), ".json"), 10, 64)
		item := map[string]any{"id": id, "by": "someone", "time": base - 100}
		if id >= 1100 { // a first-level comment under story id-100
			item["type"], item["parent"], item["text"] = "comment", id-100, "which carrier do you use?"
		} else {
			item["type"], item["title"], item["score"], item["descendants"] = "story", "Ask HN: mobile carriers", 120, 40
		}
		json.NewEncoder(w).Encode(item)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()
	var posts int
	b.ResetTimer()
	for b.Loop() {
		h := NewHN(HNOptions{AlgoliaURL: srv.URL + "/algolia", FirebaseURL: srv.URL + "/firebase", Client: NewClient(ClientOptions{})})
		page, err := h.Search(ctx, Query{Keywords: []string{"kumo mobile"}, Since: time.Unix(base-1, 0)}, "")
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range page.Posts {
			if _, err := h.Thread(ctx, p, 5); err != nil {
				b.Fatal(err)
			}
		}
		posts += len(page.Posts)
	}
	if posts == 0 {
		b.Fatal("no posts")
	}
	b.ReportMetric(float64(posts)/b.Elapsed().Seconds(), "posts/s")
	b.ReportMetric(float64(requests.Load())/float64(posts), "requests/post")
}
