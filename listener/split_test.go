package listener

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A keyword list that needs several queries gets every post exactly once,
// a post found by two queries included, and the one cursor advances so
// that the next polls return only what is new: also a post that shares
// the newest second (or instant) with one already returned, and nothing
// twice.

// splitKeywords are 60 keywords of 21 characters, too many for one query
// of 512.
func splitKeywords() []string {
	var kws []string
	for i := range 60 {
		kws = append(kws, fmt.Sprintf("kumo product no. %04d", i))
	}
	return kws
}

// splitPolls runs three polls: the first must find first, the second (after
// add) second, the third nothing; the cursor must not move on the third.
func splitPolls(t *testing.T, src Source, q Query, cursor string, first []string, add func(), second []string) {
	t.Helper()
	ctx := context.Background()
	check := func(poll string, page Page, want []string) {
		t.Helper()
		var got []string
		for _, p := range page.Posts {
			got = append(got, p.ID)
		}
		slices.Sort(got)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("%s poll: %q, want %q", poll, got, want)
		}
	}
	page, err := src.Search(ctx, q, cursor)
	if err != nil {
		t.Fatal(err)
	}
	check("first", page, first)
	add()
	page2, err := src.Search(ctx, q, page.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	check("second", page2, second)
	page3, err := src.Search(ctx, q, page2.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	check("third", page3, nil)
	if page3.Cursor != page2.Cursor {
		t.Errorf("cursor moved without new posts: %s → %s", page2.Cursor, page3.Cursor)
	}
}

func TestSplitQueriesX(t *testing.T) {
	f, srv := newXFake(t)
	kws := splitKeywords()
	x := xTestSource(t, srv, nil)
	q := Query{Keywords: kws, Since: xNow.Add(-3 * time.Hour)}
	if qs, _ := x.Queries(q); len(qs) < 2 {
		t.Fatalf("%d queries", len(qs))
	}
	tw := func(seq uint64, text string) map[string]any { return xTw(xIDAt(2*time.Hour, seq), "1", text, 0) }
	f.tweets = []map[string]any{tw(3, kws[0]+" and "+kws[59]), tw(2, kws[59]), tw(1, kws[0])}
	splitPolls(t, x, q, "", []string{"x:" + tw(1, "")["id"].(string), "x:" + tw(2, "")["id"].(string), "x:" + tw(3, "")["id"].(string)},
		func() {
			f.mu.Lock()
			f.tweets = append([]map[string]any{tw(5, kws[30]+" "+kws[1]), tw(4, kws[58])}, f.tweets...)
			f.mu.Unlock()
		}, []string{"x:" + tw(4, "")["id"].(string), "x:" + tw(5, "")["id"].(string)})
}

func TestSplitQueriesReddit(t *testing.T) {
	f, srv := newRedditFake(t)
	kws := splitKeywords()
	r := redditTestSource(srv, nil)
	q := Query{Keywords: kws, Since: time.Unix(1755690000, 0)}
	if qs, _ := r.Queries(q); len(qs) < 2 {
		t.Fatalf("%d queries", len(qs))
	}
	f.add(redditLink("c", 1755690030, "x", kws[0]+" and "+kws[59], "", 1, 0),
		redditLink("b", 1755690020, "x", kws[59], "", 1, 0),
		redditLink("a", 1755690010, "x", kws[0], "", 1, 0))
	splitPolls(t, r, q, "", []string{"reddit:t3_a", "reddit:t3_b", "reddit:t3_c"},
		func() {
			f.mu.Lock() // d shares c's second; e is later and in two queries
			f.links = append([]map[string]any{redditLink("e", 1755690040, "x", kws[1]+" "+kws[58], "", 1, 0),
				redditLink("d", 1755690030, "x", kws[30], "", 1, 0)}, f.links...)
			f.mu.Unlock()
		}, []string{"reddit:t3_d", "reddit:t3_e"})
}

func TestSplitQueriesBluesky(t *testing.T) {
	f, srv := newBskyFake(t)
	kws := append(splitKeywords(), "クモモバイル", "雲モバイル")
	b := bskyTestSource(srv, nil)
	q := Query{Keywords: kws, Since: bskyAt(-60)}
	if qs, _ := b.Queries(q); len(qs) < 3 {
		t.Fatalf("%d queries", len(qs))
	}
	pv := func(rkey, text string, at time.Time) map[string]any {
		return bskyPV("did:plc:a", "a.test", rkey, text, at)
	}
	id := func(rkey string) string { return "bsky:at://did:plc:a/app.bsky.feed.post/" + rkey }
	f.add(true, pv("r1", kws[0], bskyAt(-30)), pv("r2", kws[59]+" クモモバイル", bskyAt(-20)), pv("r3", "雲モバイル", bskyAt(-10)))
	splitPolls(t, b, q, "", []string{id("r1"), id("r2"), id("r3")},
		func() { // r4 shares r3's instant; r5 is in two queries
			f.add(true, pv("r4", kws[30], bskyAt(-10)), pv("r5", "クモモバイル "+kws[1], bskyAt(-5)))
		}, []string{id("r4"), id("r5")})
}

func TestSplitQueriesHN(t *testing.T) {
	f, srv := newHNFake(t)
	kws := []string{"kumo mobile", "クモモバイル", "kumomobile"}
	h := hnTestSource(srv, nil)
	q := Query{Keywords: kws, Since: time.Unix(1000, 0)}
	if qs, _ := h.Queries(q); len(qs) != 3 {
		t.Fatalf("%d queries", len(qs))
	}
	f.hits = []map[string]any{hnComment(3, 3000, 1, 1, "kumo mobile or kumomobile?"), hnComment(2, 2000, 1, 1, "クモモバイル"), hnComment(1, 1500, 1, 1, "kumomobile")}
	splitPolls(t, h, q, "", []string{"hn:1", "hn:2", "hn:3"},
		func() { // 4 shares 3's second; 5 is in all three queries
			f.mu.Lock()
			f.hits = append([]map[string]any{hnComment(5, 4000, 1, 1, "kumo mobile クモモバイル kumomobile"), hnComment(4, 3000, 1, 1, "kumo mobile")}, f.hits...)
			f.mu.Unlock()
		}, []string{"hn:4", "hn:5"})
}

func TestSplitQueriesMastodon(t *testing.T) {
	t.Run("tags", func(t *testing.T) {
		f, srv := newMastoFake(t)
		kws := []string{"kumo", "kumomobile", "クモモバイル", "kumo1", "kumo2", "kumo3", "kumo4"} // two groups of tags
		m := mastoTestSource(srv, "", nil)
		h := "mastodon:" + mastoHost(srv) + ":"
		both := mastoStatusJSON(3, "<p>both</p>", nil)
		f.add("kumo", mastoStatusJSON(1, "<p>a</p>", nil), both)
		f.add("kumo4", mastoStatusJSON(2, "<p>b</p>", nil), both)
		splitPolls(t, m, Query{Keywords: kws, Since: mastoT0}, "", []string{h + mastoSID(1), h + mastoSID(2), h + mastoSID(3)},
			func() {
				both2 := mastoStatusJSON(5, "<p>both again</p>", nil)
				f.add("クモモバイル", mastoStatusJSON(4, "<p>c</p>", nil), both2)
				f.add("kumo3", both2)
			}, []string{h + mastoSID(4), h + mastoSID(5)})
		// Two groups a poll; on the first, the instance did not know kumo3
		// yet (404), so the rest of its group was asked alone.
		if reqs := f.requests("/api/v1/timelines/tag/"); len(reqs) != 7 || !strings.Contains(reqs[0], "any[]=kumomobile&any[]=クモモバイル&any[]=kumo1&any[]=kumo2") ||
			reqs[2] != "/api/v1/timelines/tag/kumo4?limit=40" || !strings.HasPrefix(reqs[4], "/api/v1/timelines/tag/kumo3?any[]=kumo4&") {
			t.Errorf("requests %q", reqs)
		}
	})
	t.Run("search", func(t *testing.T) {
		f, srv := newMastoFake(t)
		m := mastoTestSource(srv, "s3cret-token", nil)
		h := "mastodon:" + mastoHost(srv) + ":"
		f.add("", mastoStatusJSON(1, "<p>kumo mobile</p>", nil), mastoStatusJSON(2, "<p>クモモバイル and kumo mobile</p>", nil))
		splitPolls(t, m, Query{Keywords: []string{"kumo mobile", "クモモバイル"}, Since: mastoT0}, "", []string{h + mastoSID(1), h + mastoSID(2)},
			func() {
				f.add("", mastoStatusJSON(3, "<p>クモモバイル</p>", nil), mastoStatusJSON(4, "<p>kumo mobile, クモモバイル</p>", nil))
			}, []string{h + mastoSID(3), h + mastoSID(4)})
	})
}

// A poll whose queries do not all succeed returns an error and no cursor:
// the caller keeps the old one, and the next poll loses nothing.
func TestSplitQueriesFailure(t *testing.T) {
	f, _ := newRedditFake(t)
	var searches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/search") && searches.Add(1) == 2 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"message": "Bad Request", "error": 400}`))
			return
		}
		f.serve(w, r)
	}))
	defer srv.Close()
	kws := splitKeywords()
	f.add(redditLink("b", 1755690020, "x", kws[59], "", 1, 0), redditLink("a", 1755690010, "x", kws[0], "", 1, 0))
	r := redditTestSource(srv, nil)
	q := Query{Keywords: kws, Since: time.Unix(1755690000, 0)}
	page, err := r.Search(context.Background(), q, "")
	if err == nil || page.Cursor != "" || page.Posts != nil {
		t.Fatalf("failed second query: %+v %v", page, err)
	}
	page, err = r.Search(context.Background(), q, "")
	if err != nil || len(page.Posts) != 2 || page.Cursor != `{"t":1755690020,"ids":["t3_b"]}` {
		t.Errorf("next poll: %+v %v", page, err)
	}
}
