package listener

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/post"
)

// hnFake serves Algolia's /api/v1/search_by_date and Firebase's
// /v0/item/{id}.json, shaped as in shared/platforms.md §5.
type hnFake struct {
	mu      sync.Mutex
	hits    []map[string]any  // newest first, as search_by_date sorts
	items   map[string]string // Firebase bodies by id ("null" if absent)
	queries []string          // raw queries of search requests
	counts  map[string]int    // requests by path
	fail    []func(http.ResponseWriter)
	search  string // if set, the raw search body
}

func newHNFake(t testing.TB) (*hnFake, *httptest.Server) {
	f := &hnFake{items: map[string]string{}, counts: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *hnFake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts[r.URL.Path]++
	if len(f.fail) > 0 {
		fn := f.fail[0]
		f.fail = f.fail[1:]
		fn(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/api/v1/search_by_date":
		f.queries = append(f.queries, r.URL.RawQuery)
		if f.search != "" {
			w.Write([]byte(f.search))
			return
		}
		f.serveSearch(w, r)
	case strings.HasPrefix(r.URL.Path, "/v0/item/") && strings.HasSuffix(r.URL.Path, ".json"):
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v0/item/"), ".json")
		body, ok := f.items[id]
		if !ok {
			body = "null"
		}
		w.Write([]byte(body))
	default:
		http.NotFound(w, r)
	}
}

func (f *hnFake) serveSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("tags") != "(story,comment)" {
		http.Error(w, `{"message":"bad tags"}`, http.StatusBadRequest)
		return
	}
	var since int64 = -1
	if nf := q.Get("numericFilters"); nf != "" {
		v, ok := strings.CutPrefix(nf, "created_at_i>=")
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil {
			http.Error(w, `{"message":"bad numericFilters"}`, http.StatusBadRequest)
			return
		}
		since = n
	}
	// Algolia: words all required, no OR; with advancedSyntax "phrases"
	// and -word; at most 512 bytes.
	query := q.Get("query")
	if len(query) > 512 {
		http.Error(w, `{"message":"query too long","status":400}`, http.StatusBadRequest)
		return
	}
	if q.Get("advancedSyntax") != "true" {
		query = strings.NewReplacer(`"`, " ", "-", " ").Replace(query)
	}
	fq, err := parseFakeQuery(query, "")
	if err != nil {
		http.Error(w, `{"message":"bad query"}`, http.StatusBadRequest)
		return
	}
	var match []map[string]any
	for _, h := range f.hits {
		if ts, ok := h["created_at_i"].(int); ok && int64(ts) < since {
			continue
		}
		var text string
		for _, k := range []string{"title", "story_text", "comment_text"} {
			s, _ := h[k].(string)
			text += " " + s
		}
		if fq.match(text) {
			match = append(match, h)
		}
	}
	per, _ := strconv.Atoi(q.Get("hitsPerPage"))
	page, _ := strconv.Atoi(q.Get("page"))
	if per <= 0 {
		per = 20
	}
	nbPages := (len(match) + per - 1) / per
	lo, hi := min(page*per, len(match)), min((page+1)*per, len(match))
	json.NewEncoder(w).Encode(map[string]any{
		"hits": match[lo:hi], "nbHits": len(match), "page": page, "nbPages": nbPages,
		"hitsPerPage": per, "processingTimeMS": 1, "query": q.Get("query"), "params": r.URL.RawQuery,
	})
}

func (f *hnFake) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[path]
}

func (f *hnFake) searches() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.queries)
}

func hnStory(id, ts int, title, text string, points, comments int) map[string]any {
	h := map[string]any{
		"created_at": time.Unix(int64(ts), 0).UTC().Format(time.RFC3339), "created_at_i": ts,
		"author": "pg", "title": title, "url": nil, "story_text": text, "comment_text": nil,
		"points": points, "num_comments": comments, "story_id": id, "parent_id": nil,
		"objectID": strconv.Itoa(id), "_tags": []string{"story", "author_pg", "story_" + strconv.Itoa(id)},
	}
	if text == "" {
		h["story_text"] = nil
		h["url"] = "https://example.com/"
	}
	return h
}

func hnComment(id, ts, story, parent int, text string) map[string]any {
	return map[string]any{
		"created_at": time.Unix(int64(ts), 0).UTC().Format(time.RFC3339), "created_at_i": ts,
		"author": "janedoe", "comment_text": text, "story_id": story, "story_title": "Acme raises prices 40%",
		"story_url": "https://example.com/acme", "parent_id": parent, "points": nil, "num_comments": nil,
		"title": nil, "url": nil, "objectID": strconv.Itoa(id),
		"_tags": []string{"comment", "author_janedoe", "story_" + strconv.Itoa(story)},
	}
}

func hnTestSource(srv *httptest.Server, waits *[]time.Duration, mut ...func(*HNOptions)) *HN {
	c := NewClient(ClientOptions{BaseDelay: time.Millisecond, MaxRetries: 3, Sleep: func(_ context.Context, d time.Duration) error {
		if waits != nil {
			*waits = append(*waits, d)
		}
		return nil
	}})
	opt := HNOptions{AlgoliaURL: srv.URL + "/api/v1", FirebaseURL: srv.URL + "/v0", Client: c,
		Now: func() time.Time { return time.Unix(1755600000, 0) }}
	for _, m := range mut {
		m(&opt)
	}
	return NewHN(opt)
}

func TestHNSearchMapping(t *testing.T) {
	f, srv := newHNFake(t)
	f.hits = []map[string]any{
		hnComment(45012345, 1755698591, 45012000, 45012010,
			`Acme&#x27;s new pricing is a <i>bait</i> and switch.<p>See <a href="https:&#x2F;&#x2F;example.com&#x2F;a?b=1&amp;c=2" rel="nofollow">https:&#x2F;&#x2F;example.com&#x2F;a?b=1...</a> for &quot;details&quot;<br>2 &lt; 3`),
		hnStory(45012000, 1755690000, "Acme raises prices 40%", "Ask: thoughts on <b>Acme</b>?<p>Second para", 120, 87),
	}
	h := hnTestSource(srv, nil)
	if h.Name() != "hn" {
		t.Fatalf("Name = %q", h.Name())
	}
	page, err := h.Search(context.Background(), Query{Keywords: []string{"acme"}, Since: time.Unix(1755680000, 0)}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []post.Post{{
		ID: "hn:45012000", Platform: "hn", URL: "https://news.ycombinator.com/item?id=45012000",
		Author: post.Author{ID: "pg", Handle: "pg"}, Text: "Acme raises prices 40%\nAsk: thoughts on Acme?\n\nSecond para",
		CreatedAt: time.Unix(1755690000, 0).UTC(), ConversationID: "hn:45012000",
		Metrics: post.Metrics{Likes: 120, Replies: 87},
	}, {
		ID: "hn:45012345", Platform: "hn", URL: "https://news.ycombinator.com/item?id=45012345",
		Author:    post.Author{ID: "janedoe", Handle: "janedoe"},
		Text:      "Acme's new pricing is a bait and switch.\n\nSee https://example.com/a?b=1&c=2 for \"details\"\n2 < 3",
		CreatedAt: time.Unix(1755698591, 0).UTC(), ReplyTo: "hn:45012010", ConversationID: "hn:45012000",
	}}
	if len(page.Posts) != len(want) {
		t.Fatalf("got %d posts: %+v", len(page.Posts), page.Posts)
	}
	for i := range want {
		got := page.Posts[i]
		if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want[i]) {
			t.Errorf("post %d:\n got %#v\nwant %#v", i, got, want[i])
		}
	}
	if page.Cursor != `{"t":1755698591,"ids":["hn:45012345"]}` {
		t.Errorf("cursor = %q", page.Cursor)
	}
}

func TestHNHTMLText(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "",
		"plain &amp; simple":      "plain & simple",
		"a<p>b<p>c":               "a\n\nb\n\nc",
		"<p>lead</p><p>next</p>":  "lead\n\nnext",
		"line<br>break<br/>again": "line\nbreak\nagain",
		`<a href='x.com/q?a=1&amp;b=2'>x.com/q</a> ok`: "x.com/q?a=1&b=2 ok",
		`<pre><code>  x := 1</code></pre>after`:        "x := 1\n\nafter",
		"a <b and c":                                   "a <b and c",
		"1 < 2 > 0":                                    "1 < 2 > 0",
		"<a>no href</a>":                               "no href",
		"&#x2F;&#62;&nbsp;":                            "/>",
	} {
		if got := hnHTMLText(in); got != want {
			t.Errorf("hnHTMLText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHNSearchPaging(t *testing.T) {
	f, srv := newHNFake(t)
	for i := 0; i < 5; i++ { // newest first
		f.hits = append(f.hits, hnComment(100+5-i, 2000-i*10, 1, 1, "acme "+strconv.Itoa(i)))
	}
	h := hnTestSource(srv, nil, func(o *HNOptions) { o.HitsPerPage = 3 })
	page, err := h.Search(context.Background(), Query{Keywords: []string{"acme"}, Since: time.Unix(1000, 0)}, "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range page.Posts {
		ids = append(ids, p.ID)
	}
	if want := []string{"hn:101", "hn:102", "hn:103", "hn:104", "hn:105"}; !slices.Equal(ids, want) {
		t.Errorf("ids = %v, want %v (oldest first)", ids, want)
	}
	qs := f.searches()
	if len(qs) != 2 || !strings.Contains(qs[0], "page=0") || !strings.Contains(qs[1], "page=1") ||
		!strings.Contains(qs[0], "hitsPerPage=3") {
		t.Errorf("requests = %q", qs)
	}
	if page.Cursor != `{"t":2000,"ids":["hn:105"]}` {
		t.Errorf("cursor = %q", page.Cursor)
	}

	// MaxPages caps the paging.
	h = hnTestSource(srv, nil, func(o *HNOptions) { o.HitsPerPage = 2; o.MaxPages = 2 })
	page, err = h.Search(context.Background(), Query{Keywords: []string{"acme"}, Since: time.Unix(1000, 0)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Posts) != 4 || len(f.searches()) != 4 {
		t.Errorf("MaxPages 2: %d posts, %d requests", len(page.Posts), len(f.searches()))
	}
}

func TestHNSearchCursor(t *testing.T) {
	f, srv := newHNFake(t)
	f.hits = []map[string]any{
		hnComment(3, 3000, 1, 1, "acme three"),
		hnComment(2, 2000, 1, 1, "acme two"),
		hnComment(1, 1000, 1, 1, "acme one"),
	}
	h := hnTestSource(srv, nil)
	ctx := context.Background()
	q := Query{Keywords: []string{"acme"}, Since: time.Unix(1500, 0)}

	page, err := h.Search(ctx, q, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Posts) != 2 || page.Posts[0].ID != "hn:2" || page.Cursor != `{"t":3000,"ids":["hn:3"]}` {
		t.Fatalf("first poll: %+v", page)
	}
	if qs := f.searches(); !strings.Contains(qs[0], "numericFilters=created_at_i%3E%3D1500") {
		t.Errorf("first poll asked %q, want the since filter created_at_i>=1500", qs[0])
	}

	// Nothing new: the cursor's second is asked again (a hit of the same
	// second may come later) and hn:3 is not returned twice.
	page, err = h.Search(ctx, q, page.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Posts) != 0 || page.Cursor != `{"t":3000,"ids":["hn:3"]}` {
		t.Fatalf("second poll: %+v", page)
	}
	if qs := f.searches(); !strings.Contains(qs[1], "numericFilters=created_at_i%3E%3D3000") {
		t.Errorf("second poll asked %q", qs[1])
	}

	// A hit of the cursor's second indexed late is new; so is a later one.
	f.mu.Lock()
	f.hits = append([]map[string]any{hnComment(4, 4000, 1, 1, "acme four"), hnComment(5, 3000, 1, 1, "acme late")}, f.hits...)
	f.mu.Unlock()
	page, err = h.Search(ctx, q, page.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Posts) != 2 || page.Posts[0].ID != "hn:5" || page.Posts[1].ID != "hn:4" || page.Cursor != `{"t":4000,"ids":["hn:4"]}` {
		t.Fatalf("third poll: %+v", page)
	}

	// A first poll with nothing found returns Since as the cursor; a zero
	// Since means Now.
	page, err = h.Search(ctx, Query{Keywords: []string{"nomatch"}, Since: time.Unix(5000, 0)}, "")
	if err != nil || page.Cursor != `{"t":5000}` || len(page.Posts) != 0 {
		t.Errorf("empty first poll: %+v %v", page, err)
	}
	page, err = h.Search(ctx, Query{Keywords: []string{"nomatch"}}, "")
	if err != nil || page.Cursor != `{"t":1755600000}` {
		t.Errorf("zero Since: %+v %v", page, err)
	}
	// A cursor that is not JSON is logged and replaced by Since; a plain
	// number (the cursor of earlier versions) means after that second.
	page, err = h.Search(ctx, Query{Keywords: []string{"acme"}, Since: time.Unix(2500, 0)}, "bogus")
	if err != nil || page.Cursor != `{"t":4000,"ids":["hn:4"]}` || len(page.Posts) != 3 {
		t.Errorf("bad cursor: %+v %v", page, err)
	}
	page, err = h.Search(ctx, q, "3000")
	if err != nil || len(page.Posts) != 1 || page.Posts[0].ID != "hn:4" {
		t.Errorf("old cursor: %+v %v", page, err)
	}
}

func TestHNSearchKeywords(t *testing.T) {
	f, srv := newHNFake(t)
	f.hits = []map[string]any{
		hnComment(3, 3000, 1, 1, "Acme Corp and widgets"),
		hnComment(2, 2000, 1, 1, "only widgets here"),
		hnComment(1, 1000, 1, 1, "acme corporation? no: acme alone"),
	}
	h := hnTestSource(srv, nil)
	page, err := h.Search(context.Background(), Query{Keywords: []string{"acme corp", "widgets", "widgets", " "}, Since: time.Unix(1, 0)}, "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range page.Posts {
		ids = append(ids, p.ID)
	}
	// "acme corp" matches 3 and 1 (substring in the fake), "widgets" 3 and 2;
	// 3 is reported once.
	if want := []string{"hn:1", "hn:2", "hn:3"}; !slices.Equal(ids, want) {
		t.Errorf("ids = %v, want %v", ids, want)
	}
	qs := f.searches()
	if len(qs) != 2 || !strings.Contains(qs[0], "query=%22acme+corp%22") || !strings.Contains(qs[0], "advancedSyntax=true") ||
		!strings.Contains(qs[1], "query=%22widgets%22") {
		t.Errorf("requests = %q", qs)
	}
	if _, err := h.Search(context.Background(), Query{Keywords: []string{` "" `}}, ""); err == nil {
		t.Error("no keywords: want an error")
	}
}

func TestHNSearchMalformed(t *testing.T) {
	f, srv := newHNFake(t)
	good := hnComment(5, 5000, 1, 1, "acme ok")
	noID := hnComment(6, 6000, 1, 1, "acme no id")
	delete(noID, "objectID")
	noTime := hnComment(7, 7000, 1, 1, "acme no time")
	delete(noTime, "created_at_i")
	delete(noTime, "created_at")
	isoOnly := hnComment(8, 8000, 1, 1, "acme iso time")
	delete(isoOnly, "created_at_i")
	f.hits = []map[string]any{noTime, noID, isoOnly, good}
	h := hnTestSource(srv, nil)
	page, err := h.Search(context.Background(), Query{Keywords: []string{"acme"}, Since: time.Unix(1, 0)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Posts) != 2 || page.Posts[0].ID != "hn:5" || page.Posts[1].ID != "hn:8" || page.Cursor != `{"t":8000,"ids":["hn:8"]}` {
		t.Errorf("malformed hits not skipped: %+v", page)
	}

	f.search = `{"hits":[{"objectID":"1",`
	page, err = h.Search(context.Background(), Query{Keywords: []string{"acme"}}, "8000")
	if err == nil || !strings.Contains(err.Error(), "malformed JSON") {
		t.Errorf("malformed body: err = %v", err)
	}
	if page.Cursor != "" || page.Posts != nil {
		t.Errorf("malformed body returned %+v", page)
	}
}

func hnItemJSON(id int, typ string, parent int, extra string) string {
	s := fmt.Sprintf(`{"id":%d,"type":%q,"by":"user%d","time":%d`, id, typ, id, 1755000000+id)
	if parent != 0 {
		s += fmt.Sprintf(`,"parent":%d`, parent)
	}
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

func TestHNThread(t *testing.T) {
	f, srv := newHNFake(t)
	f.items["1"] = hnItemJSON(1, "story", 0, `"title":"Acme","text":"Body <i>x</i>","score":50,"descendants":4,"kids":[2]`)
	f.items["2"] = hnItemJSON(2, "comment", 1, `"text":"level&#x27;1","kids":[3]`)
	f.items["3"] = hnItemJSON(3, "comment", 2, `"text":"level 2<p>two","kids":[4]`)
	ctx := context.Background()
	h := hnTestSource(srv, nil)
	leaf := post.Post{ID: "hn:4", ReplyTo: "hn:3", ConversationID: "hn:1"}

	chain, err := h.Thread(ctx, leaf, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []post.Post{{
		ID: "hn:1", Platform: "hn", URL: "https://news.ycombinator.com/item?id=1", Author: post.Author{ID: "user1", Handle: "user1"},
		Text: "Acme\nBody x", CreatedAt: time.Unix(1755000001, 0).UTC(), ConversationID: "hn:1", Metrics: post.Metrics{Likes: 50, Replies: 4},
	}, {
		ID: "hn:2", Platform: "hn", URL: "https://news.ycombinator.com/item?id=2", Author: post.Author{ID: "user2", Handle: "user2"},
		Text: "level'1", CreatedAt: time.Unix(1755000002, 0).UTC(), ReplyTo: "hn:1", ConversationID: "hn:1", Metrics: post.Metrics{Replies: 1},
	}, {
		ID: "hn:3", Platform: "hn", URL: "https://news.ycombinator.com/item?id=3", Author: post.Author{ID: "user3", Handle: "user3"},
		Text: "level 2\n\ntwo", CreatedAt: time.Unix(1755000003, 0).UTC(), ReplyTo: "hn:2", ConversationID: "hn:1", Metrics: post.Metrics{Replies: 1},
	}}
	if fmt.Sprintf("%#v", chain) != fmt.Sprintf("%#v", want) {
		t.Errorf("chain:\n got %#v\nwant %#v", chain, want)
	}

	// depth limits the walk to the nearest ancestors.
	chain, err = h.Thread(ctx, leaf, 2)
	if err != nil || len(chain) != 2 || chain[0].ID != "hn:2" || chain[1].ID != "hn:3" {
		t.Errorf("depth 2: %v %v", chain, err)
	}
	// A story has no ancestors.
	if chain, err := h.Thread(ctx, post.Post{ID: "hn:1"}, 5); err != nil || len(chain) != 0 {
		t.Errorf("story: %v %v", chain, err)
	}

	// A deleted parent ends the chain without an error, and so does an
	// unknown one (null).
	f.items["12"] = `{"id":12,"deleted":true,"type":"comment","parent":1,"time":1755000012}`
	f.items["13"] = hnItemJSON(13, "comment", 12, `"text":"under deleted"`)
	chain, err = h.Thread(ctx, post.Post{ID: "hn:14", ReplyTo: "hn:13", ConversationID: "hn:1"}, 10)
	if err != nil || len(chain) != 1 || chain[0].ID != "hn:13" || chain[0].Text != "under deleted" {
		t.Errorf("deleted parent: %+v %v", chain, err)
	}
	chain, err = h.Thread(ctx, post.Post{ID: "hn:21", ReplyTo: "hn:20"}, 10)
	if err != nil || len(chain) != 0 {
		t.Errorf("unknown parent: %+v %v", chain, err)
	}
}

func TestHNThreadCache(t *testing.T) {
	f, srv := newHNFake(t)
	f.items["1"] = hnItemJSON(1, "story", 0, `"title":"Acme"`)
	f.items["2"] = hnItemJSON(2, "comment", 1, `"text":"parent"`)
	h := hnTestSource(srv, nil)
	ctx := context.Background()
	for _, id := range []string{"hn:3", "hn:4"} {
		chain, err := h.Thread(ctx, post.Post{ID: id, ReplyTo: "hn:2", ConversationID: "hn:1"}, 5)
		if err != nil || len(chain) != 2 {
			t.Fatalf("%s: %v %v", id, chain, err)
		}
	}
	if n := f.count("/v0/item/2.json"); n != 1 {
		t.Errorf("parent fetched %d times, want 1", n)
	}
	if n := f.count("/v0/item/1.json"); n != 1 {
		t.Errorf("story fetched %d times, want 1", n)
	}

	// The cache is bounded.
	for i := int64(1000); h.items.len() < hnCacheSize; i++ {
		h.items.put(i, &hnItem{ID: i})
	}
	f.items["5"] = hnItemJSON(5, "comment", 1, `"text":"x"`)
	if _, err := h.Thread(ctx, post.Post{ID: "hn:6", ReplyTo: "hn:5"}, 1); err != nil {
		t.Fatal(err)
	}
	if n := h.items.len(); n > hnCacheSize {
		t.Errorf("cache holds %d items, bound %d", n, hnCacheSize)
	}
}

func TestHNRefresh(t *testing.T) {
	f, srv := newHNFake(t)
	f.items["1"] = hnItemJSON(1, "story", 0, `"title":"Acme","score":77,"descendants":12`)
	f.items["2"] = hnItemJSON(2, "comment", 1, `"text":"c","kids":[5,6,7]`)
	f.items["3"] = `{"id":3,"deleted":true}`
	f.items["4"] = hnItemJSON(4, "comment", 1, `"dead":true`)
	h := hnTestSource(srv, nil)
	got, err := h.Refresh(context.Background(), []string{"hn:1", "hn:2", "hn:3", "hn:4", "hn:99", "x:1", "hn:abc", "hn:1"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]post.Metrics{"hn:1": {Likes: 77, Replies: 12}, "hn:2": {Replies: 3}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Refresh = %v, want %v", got, want)
	}
	if n := f.count("/v0/item/1.json"); n != 1 {
		t.Errorf("duplicate id fetched %d times", n)
	}

	// Refresh fetches afresh, not from Thread's cache.
	f.mu.Lock()
	f.items["1"] = hnItemJSON(1, "story", 0, `"title":"Acme","score":78,"descendants":13`)
	f.mu.Unlock()
	got, err = h.Refresh(context.Background(), []string{"hn:1"})
	if err != nil || got["hn:1"] != (post.Metrics{Likes: 78, Replies: 13}) {
		t.Errorf("second Refresh = %v %v", got, err)
	}
}

func TestHNRetries(t *testing.T) {
	f, srv := newHNFake(t)
	f.hits = []map[string]any{hnComment(1, 1000, 1, 1, "acme")}
	var waits []time.Duration
	h := hnTestSource(srv, &waits)
	ctx := context.Background()
	q := Query{Keywords: []string{"acme"}, Since: time.Unix(1, 0)}

	f.fail = []func(http.ResponseWriter){func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
	}}
	page, err := h.Search(ctx, q, "")
	if err != nil || len(page.Posts) != 1 {
		t.Fatalf("after 429: %+v %v", page, err)
	}
	if !slices.Equal(waits, []time.Duration{7 * time.Second}) {
		t.Errorf("waits = %v, want [7s] (Retry-After)", waits)
	}

	waits = nil
	f.fail = []func(http.ResponseWriter){
		func(w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) },
		func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) },
	}
	f.items["1"] = hnItemJSON(1, "story", 0, `"score":3`)
	got, err := h.Refresh(ctx, []string{"hn:1"})
	if err != nil || got["hn:1"].Likes != 3 {
		t.Fatalf("after two 5xx: %v %v", got, err)
	}
	if len(waits) != 2 {
		t.Errorf("waits = %v, want two back-offs", waits)
	}
	if n := f.count("/v0/item/1.json"); n != 3 {
		t.Errorf("item requested %d times, want 3", n)
	}

	// 5xx beyond the retries is an error; the caller keeps its cursor.
	f.fail = slices.Repeat([]func(http.ResponseWriter){func(w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) }}, 4)
	if _, err := h.Search(ctx, q, "5"); err == nil {
		t.Error("persistent 503: want an error")
	}
	// A 404 item is unknown: the chain ends without an error.
	f.fail = []func(http.ResponseWriter){func(w http.ResponseWriter) { w.WriteHeader(http.StatusNotFound) }}
	if chain, err := h.Thread(ctx, post.Post{ID: "hn:61", ReplyTo: "hn:60"}, 3); err != nil || len(chain) != 0 {
		t.Errorf("404 on Thread: %v %v", chain, err)
	}
	// A 4xx is not retried and is an error too.
	f.fail = []func(http.ResponseWriter){func(w http.ResponseWriter) { w.WriteHeader(http.StatusForbidden) }}
	if _, err := h.Thread(ctx, post.Post{ID: "hn:51", ReplyTo: "hn:50"}, 3); err == nil {
		t.Error("403 on Thread: want an error")
	}
}
