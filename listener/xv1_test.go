package listener

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/post"
)

type xv1Rewrite struct{ target *url.URL }

func (r xv1Rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.target.Scheme, r.target.Host
	return http.DefaultTransport.RoundTrip(req)
}

const xv1SearchBody = `{"statuses":[{"created_at":"Thu Aug 20 14:03:11 +0000 2026","id":1958000000000000001,"id_str":"1958000000000000001",
 "full_text":"@AcmeSupport your app ate my order again #fail","truncated":false,"display_text_range":[0,46],"lang":"en",
 "entities":{"hashtags":[{"text":"fail","indices":[41,46]}],"symbols":[],"urls":[],
   "user_mentions":[{"screen_name":"AcmeSupport","name":"Acme Support","id":123,"id_str":"123","indices":[0,12]}]},
 "in_reply_to_status_id":1957999999999999999,"in_reply_to_status_id_str":"1957999999999999999",
 "in_reply_to_user_id":123,"in_reply_to_user_id_str":"123","in_reply_to_screen_name":"AcmeSupport",
 "user":{"id":456,"id_str":"456","name":"Jane Doe","screen_name":"janedoe","followers_count":1520,"verified":false},
 "retweet_count":4,"favorite_count":19,"retweeted":false,"favorited":false,"is_quote_status":false}],
 "search_metadata":{"completed_in":0.031,"max_id":1958000000000000001,"max_id_str":"1958000000000000001",
  "query":"acme","count":100,"since_id":0,"since_id_str":"0"}}`

func xv1TestSource(t *testing.T, h http.HandlerFunc, waits *[]time.Duration) *XV1 {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	x, err := NewXV1(XV1Options{HTTP: &http.Client{Transport: xv1Rewrite{u}}, Sleep: func(_ context.Context, d time.Duration) error {
		*waits = append(*waits, d)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestXV1SearchEmpty429(t *testing.T) {
	var waits []time.Duration
	var reqs []string
	n := 0
	x := xv1TestSource(t, func(w http.ResponseWriter, r *http.Request) {
		reqs = append(reqs, r.URL.Path+"?"+r.URL.RawQuery)
		n++
		if n == 1 { // empty-bodied 429: go-twitter alone would return no error
			w.Header().Set("x-rate-limit-reset", strconv.FormatInt(time.Now().Unix()+20, 10))
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Write([]byte(xv1SearchBody))
	}, &waits)
	page, err := x.Search(context.Background(), Query{Keywords: []string{"acme"}, Languages: []string{"en"}}, "1957000000000000000")
	if err != nil {
		t.Fatal(err)
	}
	if len(waits) != 1 || waits[0] < 15*time.Second || waits[0] > 21*time.Second || x.RateLimitReset().IsZero() {
		t.Errorf("waits %v reset %v", waits, x.RateLimitReset())
	}
	q, _ := url.ParseQuery(strings.SplitN(reqs[1], "?", 2)[1])
	if !strings.HasPrefix(reqs[1], "/1.1/search/tweets.json?") || q.Get("since_id") != "1957000000000000000" ||
		q.Get("tweet_mode") != "extended" || q.Get("q") != `"acme" -filter:retweets` || q.Get("lang") != "en" {
		t.Errorf("request %s", reqs[1])
	}
	if len(page.Posts) != 1 || page.Cursor != "1958000000000000001" {
		t.Fatalf("page %+v", page)
	}
	p := page.Posts[0]
	if p.ID != "x:1958000000000000001" || p.URL != "https://x.com/janedoe/status/1958000000000000001" || p.Author.Followers != 1520 ||
		p.ReplyTo != "x:1957999999999999999" || p.Metrics.Likes != 19 || p.Mentions[0] != "AcmeSupport" || p.Hashtags[0] != "fail" {
		t.Errorf("post %+v", p)
	}

	// Two 429s in a row (empty, then code 88): an error, not an empty page.
	n = -10
	x2 := xv1TestSource(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-rate-limit-reset", strconv.FormatInt(time.Now().Unix()+20, 10))
		w.WriteHeader(http.StatusTooManyRequests)
		if r.URL.Query().Get("max_id") == "" && len(waits) > 1 {
			w.Write([]byte(`{"errors":[{"code":88,"message":"Rate limit exceeded"}]}`))
		}
	}, &waits)
	_, err = x2.Search(context.Background(), Query{Keywords: []string{"acme"}}, "1957000000000000000")
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 429 {
		t.Fatalf("err = %v", err)
	}
}

// xv1Fake serves the v1.1 endpoints go-twitter calls, shaped as in
// shared/platforms.md §1.2–1.3 and §7: search/tweets, statuses/show
// (404 code 144 for a deleted tweet, 403 code 179 for a protected one),
// statuses/lookup (missing tweets left out, at most 100 ids), with
// x-rate-limit-* headers; fail holds responses served first.
type xv1Fake struct {
	mu        sync.Mutex
	tweets    map[int64]map[string]any
	searched  []int64 // ids search/tweets returns, newest first
	protected map[int64]bool
	fail      []func(http.ResponseWriter)
	reqs      []*url.URL
}

func newXV1Fake() *xv1Fake {
	return &xv1Fake{tweets: map[int64]map[string]any{}, protected: map[int64]bool{}}
}

func xv1Tweet(id, replyTo int64, text string, likes int) map[string]any {
	tw := map[string]any{
		"created_at": xIDTime(uint64(id)).UTC().Format(time.RubyDate), "id": id, "id_str": strconv.FormatInt(id, 10),
		"full_text": text, "truncated": false, "lang": "en",
		"entities":      map[string]any{"hashtags": []any{}, "symbols": []any{}, "urls": []any{}, "user_mentions": []any{}},
		"user":          map[string]any{"id": 456, "id_str": "456", "name": "Jane Doe", "screen_name": "janedoe", "followers_count": 1520},
		"retweet_count": 4, "favorite_count": likes, "retweeted": false, "favorited": false, "is_quote_status": false,
	}
	if replyTo != 0 {
		tw["in_reply_to_status_id"], tw["in_reply_to_status_id_str"] = replyTo, strconv.FormatInt(replyTo, 10)
	}
	return tw
}

func (f *xv1Fake) add(tws ...map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, tw := range tws {
		f.tweets[tw["id"].(int64)] = tw
	}
}

func (f *xv1Fake) requests(path string) []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []url.Values
	for _, u := range f.reqs {
		if u.Path == path {
			out = append(out, u.Query())
		}
	}
	return out
}

func xv1Error(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[{"code":%d,"message":%q}]}`, code, msg)
}

func (f *xv1Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, r.URL)
	w.Header().Set("x-rate-limit-limit", "900")
	w.Header().Set("x-rate-limit-remaining", "899")
	w.Header().Set("x-rate-limit-reset", strconv.FormatInt(time.Now().Unix()+900, 10))
	if len(f.fail) > 0 {
		fn := f.fail[0]
		f.fail = f.fail[1:]
		fn(w)
		return
	}
	q := r.URL.Query()
	write := func(v any) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(v)
	}
	switch r.URL.Path {
	case "/1.1/search/tweets.json":
		var out []map[string]any
		for _, id := range f.searched {
			out = append(out, f.tweets[id])
		}
		write(map[string]any{"statuses": out, "search_metadata": map[string]any{"count": 100, "query": q.Get("q")}})
	case "/1.1/statuses/show.json":
		id, _ := strconv.ParseInt(q.Get("id"), 10, 64)
		switch tw, ok := f.tweets[id]; {
		case f.protected[id]:
			xv1Error(w, http.StatusForbidden, 179, "Sorry, you are not authorized to see this status.")
		case !ok:
			xv1Error(w, http.StatusNotFound, 144, "No status found with that ID.")
		default:
			write(tw)
		}
	case "/1.1/statuses/lookup.json":
		ids := strings.Split(q.Get("id"), ",")
		if len(ids) > 100 {
			xv1Error(w, http.StatusBadRequest, 195, "Missing or invalid url parameter.")
			return
		}
		out := []map[string]any{}
		for _, s := range ids {
			id, _ := strconv.ParseInt(s, 10, 64)
			if tw, ok := f.tweets[id]; ok && !f.protected[id] {
				out = append(out, tw)
			}
		}
		write(out)
	default:
		xv1Error(w, http.StatusNotFound, 34, "Sorry, that page does not exist.")
	}
}

// xv1Empty429 is go-twitter's silent case: 429 with no body.
func xv1Empty429(w http.ResponseWriter) {
	w.Header().Set("x-rate-limit-remaining", "0")
	w.Header().Set("x-rate-limit-reset", strconv.FormatInt(time.Now().Unix()+30, 10))
	w.WriteHeader(http.StatusTooManyRequests)
}

func xv1FakeSource(t *testing.T, f *xv1Fake, waits *[]time.Duration, mut ...func(*XV1Options)) *XV1 {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	opt := XV1Options{HTTP: &http.Client{Transport: xv1Rewrite{u}},
		Sleep: func(_ context.Context, d time.Duration) error {
			if waits != nil {
				*waits = append(*waits, d)
			}
			return nil
		}}
	for _, m := range mut {
		m(&opt)
	}
	x, err := NewXV1(opt)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestXV1Thread(t *testing.T) {
	f := newXV1Fake()
	root, mid, leaf := int64(xIDAt(3*time.Hour, 0)), int64(xIDAt(2*time.Hour, 0)), int64(xIDAt(time.Hour, 0))
	f.add(xv1Tweet(root, 0, "root &amp; all", 9), xv1Tweet(mid, root, "mid", 5))
	var waits []time.Duration
	x := xv1FakeSource(t, f, &waits)
	ctx := context.Background()
	p := post.Post{ID: fmt.Sprint("x:", leaf), ReplyTo: fmt.Sprint("x:", mid)}

	// An empty-bodied 429 first: waited for and retried, not taken for
	// "no parent".
	f.fail = []func(http.ResponseWriter){xv1Empty429}
	chain, err := x.Thread(ctx, p, 5)
	if err != nil || len(chain) != 2 {
		t.Fatalf("chain %+v %v", chain, err)
	}
	want := post.Post{ID: fmt.Sprint("x:", root), Platform: "x", URL: fmt.Sprint("https://x.com/janedoe/status/", root),
		Author: post.Author{ID: "456", Handle: "janedoe", Name: "Jane Doe", Followers: 1520}, Text: "root & all", Lang: "en",
		CreatedAt: xIDTime(uint64(root)).UTC().Truncate(time.Second), Metrics: post.Metrics{Likes: 9, Reposts: 4}}
	if fmt.Sprintf("%#v", chain[0]) != fmt.Sprintf("%#v", want) || chain[1].ReplyTo != want.ID || chain[1].Text != "mid" {
		t.Errorf("chain:\n got %#v\nwant %#v", chain, want)
	}
	if len(waits) != 1 || waits[0] < 25*time.Second || waits[0] > 31*time.Second || x.RateLimitReset().IsZero() {
		t.Errorf("waits %v, reset %v", waits, x.RateLimitReset())
	}
	// Nothing to batch with: one statuses/show per ancestor (and the
	// retried one).
	if shows := f.requests("/1.1/statuses/show.json"); len(shows) != 3 || shows[2].Get("id") != fmt.Sprint(root) ||
		shows[2].Get("tweet_mode") != "extended" {
		t.Errorf("show requests %v", shows)
	}
	// Cached: no request; depth keeps the nearest.
	n := len(f.reqs)
	if chain, err := x.Thread(ctx, p, 1); err != nil || len(chain) != 1 || chain[0].Text != "mid" || len(f.reqs) != n {
		t.Errorf("cached: %+v %v, %d requests", chain, err, len(f.reqs)-n)
	}

	// A deleted parent (404, code 144) or a protected one (403, code 179)
	// ends the chain; a deleted grandparent keeps the parent.
	gone, prot, under := int64(xIDAt(50*time.Minute, 0)), int64(xIDAt(40*time.Minute, 0)), int64(xIDAt(30*time.Minute, 0))
	f.add(xv1Tweet(prot, root, "protected", 1), xv1Tweet(under, gone, "under a deleted one", 1))
	f.protected[prot] = true
	for _, c := range []struct {
		parent int64
		want   []string
	}{{gone, nil}, {prot, nil}, {under, []string{"under a deleted one"}}} {
		chain, err := x.Thread(ctx, post.Post{ID: "x:1", ReplyTo: fmt.Sprint("x:", c.parent)}, 5)
		var texts []string
		for _, a := range chain {
			texts = append(texts, a.Text)
		}
		if err != nil || !slices.Equal(texts, c.want) {
			t.Errorf("parent %d: %q %v", c.parent, texts, err)
		}
	}

	// Two empty-bodied 429s: an error, not an empty chain.
	f.fail = []func(http.ResponseWriter){xv1Empty429, xv1Empty429}
	if chain, err := x.Thread(ctx, post.Post{ID: "x:2", ReplyTo: "x:12345"}, 5); err == nil || chain != nil {
		t.Errorf("two 429s: %+v %v", chain, err)
	} else if se := (*StatusError)(nil); !errors.As(err, &se) || se.Status != http.StatusTooManyRequests {
		t.Errorf("two 429s: %v", err)
	}
	// No v1.1 access (403, code 453): an error.
	f.fail = []func(http.ResponseWriter){func(w http.ResponseWriter) {
		xv1Error(w, http.StatusForbidden, 453, "You currently have access to a subset of X API V2 endpoints and limited v1.1 endpoints only.")
	}}
	if _, err := x.Thread(ctx, post.Post{ID: "x:3", ReplyTo: "x:12346"}, 5); err == nil || !strings.Contains(err.Error(), "453") {
		t.Errorf("code 453: %v", err)
	}
}

func TestXV1ThreadBatched(t *testing.T) {
	f := newXV1Fake()
	root := int64(xIDAt(3*time.Hour, 0))
	f.add(xv1Tweet(root, 0, "root", 1))
	for i := range int64(12) {
		parent, reply := int64(xIDAt(2*time.Hour, uint64(i))), int64(xIDAt(time.Hour, uint64(i)))
		if i != 5 { // the sixth parent was deleted
			f.add(xv1Tweet(parent, root, "parent", 1))
		}
		f.add(xv1Tweet(reply, parent, "acme reply", 1))
		f.searched = append([]int64{reply}, f.searched...)
	}
	x := xv1FakeSource(t, f, nil)
	ctx := context.Background()
	page, err := x.Search(ctx, Query{Keywords: []string{"acme"}}, fmt.Sprint(xIDAt(4*time.Hour, 0)))
	if err != nil || len(page.Posts) != 12 {
		t.Fatalf("search: %d posts %v", len(page.Posts), err)
	}
	for i, p := range page.Posts {
		chain, err := x.Thread(ctx, p, 5)
		if i == 5 && (err != nil || len(chain) != 0) || i != 5 && (err != nil || len(chain) != 2 || chain[0].Text != "root") {
			t.Errorf("post %d: %q %v", i, thChainIDs(chain), err)
		}
	}
	// The 12 parents in one statuses/lookup, the root in one show.
	lookups := f.requests("/1.1/statuses/lookup.json")
	if len(lookups) != 1 || len(strings.Split(lookups[0].Get("id"), ",")) != 12 || len(f.requests("/1.1/statuses/show.json")) != 1 {
		t.Errorf("lookups %v, %d shows", lookups, len(f.requests("/1.1/statuses/show.json")))
	}
}

func TestXV1Refresh(t *testing.T) {
	f := newXV1Fake()
	var ids []string
	for i := range int64(150) {
		id := int64(xIDAt(time.Hour, uint64(i)))
		if i%50 != 7 { // every 50th (from 7) was deleted
			f.add(xv1Tweet(id, 0, "t", int(i)))
		}
		ids = append(ids, fmt.Sprint("x:", id))
	}
	ids = append(ids, ids[0], "hn:5", "x:nope")
	var waits []time.Duration
	x := xv1FakeSource(t, f, &waits)
	ctx := context.Background()

	// An empty-bodied 429 on the second chunk: waited for and retried.
	f.fail = nil
	m, err := x.Refresh(ctx, ids[:100])
	if err != nil || len(m) != 98 {
		t.Fatalf("first chunk: %d %v", len(m), err)
	}
	f.fail = []func(http.ResponseWriter){xv1Empty429}
	m, err = x.Refresh(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 147 || m[ids[9]] != (post.Metrics{Likes: 9, Reposts: 4}) {
		t.Errorf("%d metrics, %+v", len(m), m[ids[9]])
	}
	if _, ok := m[ids[57]]; ok {
		t.Error("deleted tweet refreshed")
	}
	var sizes []int
	for _, q := range f.requests("/1.1/statuses/lookup.json")[1:] {
		sizes = append(sizes, len(strings.Split(q.Get("id"), ",")))
		if q.Get("include_entities") != "false" {
			t.Errorf("lookup %v", q)
		}
	}
	if !slices.Equal(sizes, []int{100, 100, 50}) || len(waits) != 1 {
		t.Errorf("chunks %v (the first retried), waits %v", sizes, waits)
	}

	// Two 429s in a row: an error, not an empty map.
	f.fail = []func(http.ResponseWriter){xv1Empty429, func(w http.ResponseWriter) {
		w.Header().Set("x-rate-limit-reset", strconv.FormatInt(time.Now().Unix()+30, 10))
		xv1Error(w, http.StatusTooManyRequests, 88, "Rate limit exceeded")
	}}
	if m, err := x.Refresh(ctx, ids[:3]); err == nil || m != nil {
		t.Errorf("two 429s: %v %v", m, err)
	}

	// A daily budget of posts: refreshes stop with a fifth left.
	x = xv1FakeSource(t, f, nil, func(o *XV1Options) { o.DailyBudget = 100 })
	m, err = x.Refresh(ctx, ids)
	if n, _ := x.Remaining(); !errors.Is(err, ErrBudget) || len(m) != 80 || n != 20 {
		t.Errorf("budget: %d metrics, %d left, %v", len(m), n, err)
	}
}
