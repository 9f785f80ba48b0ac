package listener

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kizuki-dev/kizuki/post"
)

// xFake serves X API v2 /2/tweets/search/recent and /2/tweets?ids=,
// shaped as in shared/platforms.md §1.4.
type xFake struct {
	t      testing.TB
	mu     sync.Mutex
	tweets []map[string]any // newest first, searchable
	extra  map[string]map[string]any
	users  map[string]map[string]any
	reqs   []url.Values // queries of every request
	paths  []string
	fail   []func(http.ResponseWriter)
}

func newXFake(t testing.TB) (*xFake, *httptest.Server) {
	f := &xFake{t: t, extra: map[string]map[string]any{}, users: map[string]map[string]any{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *xFake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	f.reqs = append(f.reqs, q)
	f.paths = append(f.paths, r.URL.Path)
	if r.Header.Get("Authorization") != "Bearer sekrit" {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`))
		return
	}
	if len(f.fail) > 0 {
		fn := f.fail[0]
		f.fail = f.fail[1:]
		fn(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/2/tweets/search/recent":
		f.serveSearch(w, q)
	case "/2/tweets":
		ids := strings.Split(q.Get("ids"), ",")
		if len(ids) > 100 {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"errors":[{"message":"ids: size must be between 1 and 100"}],"title":"Invalid Request"}`))
			return
		}
		var data, errs []map[string]any
		for _, id := range ids {
			if tw := f.find(id); tw != nil {
				data = append(data, tw)
			} else {
				errs = append(errs, map[string]any{"value": id, "detail": "Could not find tweet with ids: [" + id + "].",
					"title": "Not Found Error", "resource_type": "tweet", "parameter": "ids", "resource_id": id,
					"type": "https://api.twitter.com/2/problems/resource-not-found"})
			}
		}
		body := map[string]any{}
		if data != nil {
			body["data"] = data
			if strings.Contains(q.Get("expansions"), "author_id") {
				body["includes"] = map[string]any{"users": f.usersOf(data)}
			}
		}
		if errs != nil {
			body["errors"] = errs
		}
		json.NewEncoder(w).Encode(body)
	default:
		http.NotFound(w, nil)
	}
}

func (f *xFake) find(id string) map[string]any {
	for _, tw := range f.tweets {
		if tw["id"] == id {
			return tw
		}
	}
	return f.extra[id]
}

func (f *xFake) usersOf(data []map[string]any) []map[string]any {
	var out []map[string]any
	for _, tw := range data {
		if u := f.users[tw["author_id"].(string)]; u != nil && !slices.ContainsFunc(out, func(m map[string]any) bool { return m["id"] == u["id"] }) {
			out = append(out, u)
		}
	}
	return out
}

func (f *xFake) serveSearch(w http.ResponseWriter, q url.Values) {
	query := q.Get("query")
	if utf8.RuneCountInString(query) > 512 {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"title":"Invalid Request","detail":"query too long"}`))
		return
	}
	per, _ := strconv.Atoi(q.Get("max_results"))
	if per < 10 || per > 100 {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"title":"Invalid Request","detail":"max_results"}`))
		return
	}
	since, _ := strconv.ParseUint(q.Get("since_id"), 10, 64)
	fq, err := parseFakeQuery(query, "OR")
	if err != nil || !slices.Contains(fq.ops, "-is:retweet") {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"title":"Invalid Request","detail":%q}`, fmt.Sprint("bad query: ", err))
		return
	}
	var match []map[string]any
	for _, tw := range f.tweets {
		id, _ := strconv.ParseUint(tw["id"].(string), 10, 64)
		if id <= since || !fq.match(tw["text"].(string)) || fq.op("lang") != "" && tw["lang"] != fq.op("lang") {
			continue
		}
		match = append(match, tw)
	}
	off := 0
	if tok := q.Get("next_token"); tok != "" {
		off, _ = strconv.Atoi(strings.TrimPrefix(tok, "tok"))
	}
	lo, hi := min(off, len(match)), min(off+per, len(match))
	page := match[lo:hi]
	meta := map[string]any{"result_count": len(page)}
	body := map[string]any{"meta": meta}
	if len(page) > 0 {
		meta["newest_id"], meta["oldest_id"] = page[0]["id"], page[len(page)-1]["id"]
		body["data"] = page
		includes := map[string]any{"users": f.usersOf(page)}
		// expansions=referenced_tweets.id: the posts replied to (and
		// quoted) that X still has, with their authors if asked.
		if exp := strings.Split(q.Get("expansions"), ","); slices.Contains(exp, "referenced_tweets.id") {
			var refs []map[string]any
			for _, tw := range page {
				rs, _ := tw["referenced_tweets"].([]map[string]any)
				for _, r := range rs {
					if ref := f.find(r["id"].(string)); ref != nil && !slices.ContainsFunc(refs, func(m map[string]any) bool { return m["id"] == ref["id"] }) {
						refs = append(refs, ref)
					}
				}
			}
			if refs != nil {
				includes["tweets"] = refs
				if slices.Contains(exp, "referenced_tweets.id.author_id") {
					includes["users"] = f.usersOf(append(slices.Clone(page), refs...))
				}
			}
		}
		body["includes"] = includes
	}
	if hi < len(match) {
		meta["next_token"] = "tok" + strconv.Itoa(hi)
	}
	json.NewEncoder(w).Encode(body)
}

func (f *xFake) requests(path string) []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []url.Values
	for i, p := range f.paths {
		if p == path {
			out = append(out, f.reqs[i])
		}
	}
	return out
}

// xTw is a v2 tweet as search/recent returns it with the fields asked.
func xTw(id uint64, author, text string, replyTo uint64) map[string]any {
	s := strconv.FormatUint(id, 10)
	tw := map[string]any{
		"id": s, "text": text, "author_id": author, "lang": "en",
		"created_at":             xIDTime(id).UTC().Format("2006-01-02T15:04:05.000Z"),
		"conversation_id":        s,
		"public_metrics":         map[string]any{"retweet_count": 1, "reply_count": 2, "like_count": 3, "quote_count": 4, "bookmark_count": 5, "impression_count": 600},
		"edit_history_tweet_ids": []string{s},
	}
	if replyTo != 0 {
		tw["referenced_tweets"] = []map[string]any{{"type": "replied_to", "id": strconv.FormatUint(replyTo, 10)}}
	}
	return tw
}

func xUsr(id, username string, followers int) map[string]any {
	return map[string]any{"id": id, "name": "User " + username, "username": username,
		"public_metrics": map[string]any{"followers_count": followers, "following_count": 1, "tweet_count": 2, "listed_count": 0}}
}

// xNow is the test clock: 2026-08-20 15:00 UTC.
var xNow = time.Date(2026, 8, 20, 15, 0, 0, 0, time.UTC)

// xIDAt is a snowflake id of xNow less ago, plus seq.
func xIDAt(ago time.Duration, seq uint64) uint64 { return xTimeID(xNow.Add(-ago)) + seq }

func xTestSource(t *testing.T, srv *httptest.Server, waits *[]time.Duration, mut ...func(*XOptions)) *X {
	t.Helper()
	c := NewClient(ClientOptions{BaseDelay: time.Millisecond, MaxRetries: 3, Sleep: func(_ context.Context, d time.Duration) error {
		if waits != nil {
			*waits = append(*waits, d)
		}
		return nil
	}})
	opt := XOptions{BaseURL: srv.URL, BearerToken: "sekrit", Client: c, Now: func() time.Time { return xNow }}
	for _, m := range mut {
		m(&opt)
	}
	x, err := NewX(opt)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

const xPlatformsExample = `{"data":[{"id":"1958000000000000001","text":"@AcmeSupport your app ate my order again #fail &amp; more","author_id":"456",
  "created_at":"2026-08-20T14:03:11.000Z","conversation_id":"1957999999999999000","in_reply_to_user_id":"123","lang":"en",
  "referenced_tweets":[{"type":"quoted","id":"1957999999999999111"},{"type":"replied_to","id":"1957999999999999999"}],
  "public_metrics":{"retweet_count":4,"reply_count":1,"like_count":19,"quote_count":0,"bookmark_count":2,"impression_count":3400},
  "entities":{"mentions":[{"start":0,"end":12,"username":"AcmeSupport","id":"123"}],"hashtags":[{"start":41,"end":46,"tag":"fail"}]},
  "edit_history_tweet_ids":["1958000000000000001"]}],
 "includes":{"users":[{"id":"456","name":"Jane Doe","username":"janedoe",
  "public_metrics":{"followers_count":1520,"following_count":300,"tweet_count":8800,"listed_count":12}}]},
 "meta":{"newest_id":"1958000000000000001","oldest_id":"1958000000000000001","result_count":1}}`

func TestXSearchMapping(t *testing.T) {
	var got []url.Values
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.Query())
		auth = r.Header.Get("Authorization")
		w.Write([]byte(xPlatformsExample))
	}))
	defer srv.Close()
	t.Setenv("KIZUKI_X_BEARER_TOKEN", "from-env")
	// The ids of platforms.md are of 2025; the clock is an hour later.
	now := xIDTime(1958000000000000001).Add(time.Hour)
	x, err := NewX(XOptions{BaseURL: srv.URL + "/", Client: NewClient(ClientOptions{}), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if x.Name() != "x" {
		t.Fatalf("Name = %q", x.Name())
	}
	page, err := x.Search(context.Background(), Query{Keywords: []string{"acme"}}, "1957000000000000000")
	if err != nil {
		t.Fatal(err)
	}
	if auth != "Bearer from-env" {
		t.Errorf("Authorization = %q", auth)
	}
	q := got[0]
	for k, v := range map[string]string{
		"query": `"acme" -is:retweet`, "since_id": "1957000000000000000", "max_results": "100",
		"tweet.fields": "created_at,lang,public_metrics,conversation_id,referenced_tweets,entities,author_id,in_reply_to_user_id",
		"expansions":   "author_id,referenced_tweets.id,referenced_tweets.id.author_id", "user.fields": "username,name,public_metrics",
	} {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if q.Has("start_time") {
		t.Errorf("start_time sent with a cursor")
	}
	want := post.Post{
		ID: "x:1958000000000000001", Platform: "x", URL: "https://x.com/janedoe/status/1958000000000000001",
		Author:    post.Author{ID: "456", Handle: "janedoe", Name: "Jane Doe", Followers: 1520},
		Text:      "@AcmeSupport your app ate my order again #fail & more",
		Lang:      "en",
		CreatedAt: time.Date(2026, 8, 20, 14, 3, 11, 0, time.UTC),
		ReplyTo:   "x:1957999999999999999", ConversationID: "x:1957999999999999000",
		Metrics:  post.Metrics{Likes: 19, Reposts: 4, Replies: 1, Quotes: 0},
		Mentions: []string{"AcmeSupport"}, Hashtags: []string{"fail"},
	}
	if len(page.Posts) != 1 || fmt.Sprintf("%#v", page.Posts[0]) != fmt.Sprintf("%#v", want) {
		t.Fatalf("got %#v\nwant %#v", page.Posts, want)
	}
	if page.Cursor != "1958000000000000001" {
		t.Errorf("cursor = %q", page.Cursor)
	}
}

func TestXNoToken(t *testing.T) {
	t.Setenv("KIZUKI_X_BEARER_TOKEN", "")
	if _, err := NewX(XOptions{}); err == nil {
		t.Fatal("NewX without a token succeeded")
	}
}

func TestXQueries(t *testing.T) {
	x := &X{opt: XOptions{MaxQuery: 512}, log: slog.New(slog.DiscardHandler)}
	for _, c := range []struct {
		q    Query
		want []string
	}{
		{Query{Keywords: []string{"acme"}}, []string{`"acme" -is:retweet`}},
		{Query{Keywords: []string{"Acme Corp", ` acme  "app" `, "ACME CORP", ""}, Exclude: []string{"acme bank"}, Languages: []string{"ja"}},
			[]string{`("Acme Corp" OR "acme app") -is:retweet -"acme bank" lang:ja`}},
		{Query{Keywords: []string{"acme"}, Languages: []string{"en", "fr"}}, []string{`"acme" -is:retweet`}},
	} {
		got, err := x.Queries(c.q)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("Queries(%+v) =\n %q %v\nwant %q", c.q, got, err, c.want)
		}
	}
	if _, err := x.Queries(Query{Keywords: []string{`""`}}); err == nil {
		t.Error("no keywords: want an error")
	}

	// Long keyword lists are split; every query fits and carries the
	// suffix; every keyword is in exactly one query.
	var kws []string
	for i := range 60 {
		kws = append(kws, fmt.Sprintf("acme product number %02d", i))
	}
	qs, err := x.Queries(Query{Keywords: kws, Exclude: []string{"job"}, Languages: []string{"en"}})
	if err != nil || len(qs) < 2 {
		t.Fatalf("got %d queries (%v)", len(qs), err)
	}
	all := strings.Join(qs, "\n")
	for _, k := range kws {
		if strings.Count(all, `"`+k+`"`) != 1 {
			t.Errorf("keyword %q in %d queries", k, strings.Count(all, `"`+k+`"`))
		}
	}
	for _, q := range qs {
		if n := utf8.RuneCountInString(q); n > 512 {
			t.Errorf("query of %d characters", n)
		}
		if !strings.HasPrefix(q, `("`) || !strings.HasSuffix(q, `) -is:retweet -"job" lang:en`) {
			t.Errorf("query %q", q)
		}
	}

	// Exclusions that leave no room are dropped; a larger MaxQuery keeps
	// them; a keyword longer than the limit is an error, not skipped.
	long := strings.Repeat("x", 300)
	q := Query{Keywords: []string{long}, Exclude: []string{"a", strings.Repeat("y", 250)}}
	if qs, err := x.Queries(q); err != nil || len(qs) != 1 || qs[0] != `"`+long+`" -is:retweet -"a"` {
		t.Errorf("got %q %v", qs, err)
	}
	big := &X{opt: XOptions{MaxQuery: 1024}, log: x.log}
	if qs, err := big.Queries(q); err != nil || len(qs) != 1 || !strings.HasSuffix(qs[0], strings.Repeat("y", 250)+`"`) {
		t.Errorf("MaxQuery 1024: %q %v", qs, err)
	}
	if _, err := x.Queries(Query{Keywords: []string{"acme", strings.Repeat("z", 600)}}); !errors.Is(err, ErrQueryTooLong) {
		t.Errorf("long keyword: %v", err)
	}
}

func TestXSearchSplitPagingCursor(t *testing.T) {
	f, srv := newXFake(t)
	f.users["1"] = xUsr("1", "alice", 10)
	// 250 posts about "widget", 3 about "gadget" (one also a widget), one excluded.
	var kws []string
	for i := range 40 {
		kws = append(kws, fmt.Sprintf("some long product name %02d", i))
	}
	kws = append(kws, "widget", "gadget")
	for i := range 250 {
		f.tweets = append(f.tweets, xTw(xIDAt(time.Hour, uint64(1000-i)), "1", fmt.Sprintf("widget %d", i), 0))
	}
	f.tweets = append([]map[string]any{
		xTw(xIDAt(time.Minute, 3), "1", "gadget and widget", 0),
		xTw(xIDAt(time.Minute, 2), "1", "gadget jobs", 0),
		xTw(xIDAt(time.Minute, 1), "1", "gadget", 0),
	}, f.tweets...)
	x := xTestSource(t, srv, nil)
	q := Query{Keywords: kws, Exclude: []string{"jobs"}, Since: xNow.Add(-2 * time.Hour)}
	page, err := x.Search(context.Background(), q, "")
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests("/2/tweets/search/recent")
	var queries []string
	for _, r := range reqs {
		if !slices.Contains(queries, r.Get("query")) {
			queries = append(queries, r.Get("query"))
		}
		if r.Get("start_time") != "2026-08-20T13:00:00Z" || r.Has("since_id") {
			t.Errorf("first poll: start_time %q since_id %q", r.Get("start_time"), r.Get("since_id"))
		}
	}
	last := queries[len(queries)-1]
	if len(queries) < 2 || !strings.Contains(last, `"widget" OR "gadget") -is:retweet -"jobs"`) {
		t.Fatalf("queries: %q", queries)
	}
	// widget+gadget: 252 matches, 3 pages with next_token.
	var toks []string
	for _, r := range reqs {
		if r.Get("query") == last {
			toks = append(toks, r.Get("next_token"))
		}
	}
	if !slices.Equal(toks, []string{"", "tok100", "tok200"}) {
		t.Errorf("next_tokens %q", toks)
	}
	if len(page.Posts) != 252 {
		t.Fatalf("got %d posts", len(page.Posts))
	}
	for i := 1; i < len(page.Posts); i++ {
		if xNum(page.Posts[i-1].ID) >= xNum(page.Posts[i].ID) {
			t.Fatalf("not oldest first at %d", i)
		}
	}
	newest := strconv.FormatUint(xIDAt(time.Minute, 3), 10)
	if page.Cursor != newest || page.Posts[251].ID != "x:"+newest {
		t.Errorf("cursor %q, last %q", page.Cursor, page.Posts[251].ID)
	}

	// Next poll: since_id is the cursor; nothing new, the cursor stays.
	n := len(f.requests("/2/tweets/search/recent"))
	page, err = x.Search(context.Background(), q, page.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.requests("/2/tweets/search/recent")[n:] {
		if r.Get("since_id") != newest || r.Has("start_time") {
			t.Errorf("since_id %q start_time %q", r.Get("since_id"), r.Get("start_time"))
		}
	}
	if len(page.Posts) != 0 || page.Cursor != newest {
		t.Errorf("second poll: %d posts, cursor %q", len(page.Posts), page.Cursor)
	}
}

func TestXSearchPageLimit(t *testing.T) {
	f, srv := newXFake(t)
	for i := range 700 {
		f.tweets = append(f.tweets, xTw(xIDAt(time.Hour, uint64(1000-i)), "1", "acme", 0))
	}
	x := xTestSource(t, srv, nil)
	page, err := x.Search(context.Background(), Query{Keywords: []string{"acme"}}, strconv.FormatUint(xIDAt(2*time.Hour, 0), 10))
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Posts) != 500 || len(f.requests("/2/tweets/search/recent")) != 5 {
		t.Errorf("%d posts in %d requests", len(page.Posts), len(f.requests("/2/tweets/search/recent")))
	}
	if page.Cursor != f.tweets[0]["id"] {
		t.Errorf("cursor %q", page.Cursor)
	}
	if page.Posts[0].URL != "https://x.com/i/web/status/"+page.Posts[0].ID[2:] {
		t.Errorf("URL without an author: %q", page.Posts[0].URL)
	}
}

func TestXSearchFirstPollNothing(t *testing.T) {
	_, srv := newXFake(t)
	x := xTestSource(t, srv, nil)
	page, err := x.Search(context.Background(), Query{Keywords: []string{"acme"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	// No posts: the cursor is an id of the start time (no backfill: now).
	if page.Cursor != strconv.FormatUint(xTimeID(xNow), 10) || !xIDTime(xNum(page.Cursor)).Equal(xNow) {
		t.Errorf("cursor %q", page.Cursor)
	}
	// A bad or too old cursor starts over.
	for _, c := range []string{"garbage", strconv.FormatUint(xIDAt(8*24*time.Hour, 0), 10)} {
		if _, err := x.Search(context.Background(), Query{Keywords: []string{"acme"}}, c); err != nil {
			t.Fatal(err)
		}
	}
}

func TestXThreadDeletedParent(t *testing.T) {
	f, srv := newXFake(t)
	f.users["1"] = xUsr("1", "alice", 10)
	f.users["2"] = xUsr("2", "bob", 20)
	root, mid, gone, leaf := xIDAt(4*time.Hour, 0), xIDAt(3*time.Hour, 0), xIDAt(2*time.Hour, 0), xIDAt(time.Hour, 0)
	f.extra[strconv.FormatUint(root, 10)] = xTw(root, "1", "root", 0)
	f.extra[strconv.FormatUint(mid, 10)] = xTw(mid, "2", "mid", root)
	f.extra[strconv.FormatUint(leaf, 10)] = xTw(leaf, "1", "leaf", mid)
	x := xTestSource(t, srv, nil)
	p := post.Post{ID: "x:" + strconv.FormatUint(leaf, 10), ReplyTo: "x:" + strconv.FormatUint(mid, 10)}
	chain, err := x.Thread(context.Background(), p, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 2 || chain[0].Text != "root" || chain[1].Text != "mid" || chain[1].Author.Handle != "bob" ||
		chain[1].ReplyTo != "x:"+strconv.FormatUint(root, 10) {
		t.Fatalf("chain %+v", chain)
	}
	for _, r := range f.requests("/2/tweets") {
		if r.Get("expansions") != "author_id" || r.Get("user.fields") != "username,name,public_metrics" {
			t.Errorf("lookup query %v", r)
		}
	}
	// depth limits the chain.
	chain, err = x.Thread(context.Background(), p, 1)
	if err != nil || len(chain) != 1 || chain[0].Text != "mid" {
		t.Fatalf("depth 1: %+v %v", chain, err)
	}
	// A deleted parent (under "errors", HTTP 200) ends the chain.
	p2 := post.Post{ID: "x:9", ReplyTo: "x:" + strconv.FormatUint(gone, 10)}
	chain, err = x.Thread(context.Background(), p2, 5)
	if err != nil || len(chain) != 0 {
		t.Fatalf("deleted parent: %+v %v", chain, err)
	}
	// Ancestors are cached: asking again costs nothing.
	n := len(f.requests("/2/tweets"))
	if chain, err := x.Thread(context.Background(), p, 5); err != nil || len(chain) != 2 || len(f.requests("/2/tweets")) != n {
		t.Fatalf("cached: %+v %v, %d more requests", chain, err, len(f.requests("/2/tweets"))-n)
	}
	// A deleted ancestor further up keeps the part below.
	f.extra[strconv.FormatUint(mid, 10)] = xTw(mid, "2", "mid", gone)
	x = xTestSource(t, srv, nil)
	chain, err = x.Thread(context.Background(), p, 5)
	if err != nil || len(chain) != 1 || chain[0].Text != "mid" {
		t.Fatalf("deleted grandparent: %+v %v", chain, err)
	}
	// Not a reply: nothing fetched.
	n = len(f.requests("/2/tweets"))
	if chain, err := x.Thread(context.Background(), post.Post{ID: "x:1"}, 5); err != nil || chain != nil {
		t.Fatalf("no parent: %+v %v", chain, err)
	}
	if len(f.requests("/2/tweets")) != n {
		t.Error("a post that is no reply caused a request")
	}
}

func TestXRefreshBatches(t *testing.T) {
	f, srv := newXFake(t)
	var ids []string
	for i := range 250 {
		id := xIDAt(time.Hour, uint64(i))
		if i%50 != 7 { // every 50th (from 7) is deleted
			f.extra[strconv.FormatUint(id, 10)] = xTw(id, "1", "t", 0)
		}
		ids = append(ids, "x:"+strconv.FormatUint(id, 10))
	}
	ids = append(ids, ids[0], "hn:5", "x:nope")
	x := xTestSource(t, srv, nil)
	m, err := x.Refresh(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 245 {
		t.Errorf("got %d metrics", len(m))
	}
	if got := m[ids[0]]; got != (post.Metrics{Likes: 3, Reposts: 1, Replies: 2, Quotes: 4}) {
		t.Errorf("metrics %+v", got)
	}
	if _, ok := m[ids[7]]; ok {
		t.Error("deleted post refreshed")
	}
	reqs := f.requests("/2/tweets")
	var sizes []int
	for _, r := range reqs {
		sizes = append(sizes, len(strings.Split(r.Get("ids"), ",")))
		if r.Get("tweet.fields") != "public_metrics" {
			t.Errorf("tweet.fields %q", r.Get("tweet.fields"))
		}
	}
	if !slices.Equal(sizes, []int{100, 100, 50}) {
		t.Errorf("batch sizes %v", sizes)
	}
}

func TestXBudget(t *testing.T) {
	f, srv := newXFake(t)
	for i := range 300 {
		f.tweets = append(f.tweets, xTw(xIDAt(time.Hour, uint64(1000-i)), "1", "acme", 0))
	}
	now := xNow
	x := xTestSource(t, srv, nil, func(o *XOptions) {
		o.DailyBudget = 150
		o.Now = func() time.Time { return now }
	})
	if n, ok := x.Remaining(); n != 150 || !ok {
		t.Fatalf("Remaining = %d %v", n, ok)
	}
	cursor := strconv.FormatUint(xIDAt(2*time.Hour, 0), 10)
	page, err := x.Search(context.Background(), Query{Keywords: []string{"acme"}}, cursor)
	if !errors.Is(err, ErrBudget) {
		t.Fatalf("err = %v", err)
	}
	if n, _ := x.Remaining(); len(page.Posts) != 150 || n != 0 {
		t.Errorf("%d posts, %d remaining", len(page.Posts), n)
	}
	var max []string
	for _, r := range f.requests("/2/tweets/search/recent") {
		max = append(max, r.Get("max_results"))
	}
	if !slices.Equal(max, []string{"100", "50"}) {
		t.Errorf("max_results %q", max)
	}
	if page.Cursor != f.tweets[0]["id"] {
		t.Errorf("cursor %q: should move forward", page.Cursor)
	}
	n := len(f.paths)
	if _, err := x.Search(context.Background(), Query{Keywords: []string{"acme"}}, page.Cursor); !errors.Is(err, ErrBudget) {
		t.Errorf("Search: %v", err)
	}
	if _, err := x.Thread(context.Background(), post.Post{ReplyTo: "x:5"}, 3); !errors.Is(err, ErrBudget) {
		t.Errorf("Thread: %v", err)
	}
	if _, err := x.Refresh(context.Background(), []string{"x:5"}); !errors.Is(err, ErrBudget) {
		t.Errorf("Refresh: %v", err)
	}
	if len(f.paths) != n {
		t.Errorf("requests made with the budget spent")
	}
	// A new UTC day resets the budget; lookups count too.
	now = time.Date(2026, 8, 21, 0, 0, 1, 0, time.UTC)
	if n, _ := x.Remaining(); n != 150 {
		t.Fatalf("Remaining after midnight = %d", n)
	}
	if _, err := x.Refresh(context.Background(), []string{"x:" + f.tweets[0]["id"].(string), "x:" + f.tweets[1]["id"].(string), "x:1"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := x.Remaining(); n != 148 {
		t.Errorf("Remaining after refresh = %d", n)
	}
}

func TestXRateLimitReset(t *testing.T) {
	f, srv := newXFake(t)
	f.tweets = []map[string]any{xTw(xIDAt(time.Hour, 1), "1", "acme", 0)}
	f.fail = []func(http.ResponseWriter){func(w http.ResponseWriter) {
		w.Header().Set("x-rate-limit-limit", "450")
		w.Header().Set("x-rate-limit-remaining", "0")
		w.Header().Set("x-rate-limit-reset", strconv.FormatInt(time.Now().Unix()+30, 10))
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}`))
	}}
	var waits []time.Duration
	x := xTestSource(t, srv, &waits)
	page, err := x.Search(context.Background(), Query{Keywords: []string{"acme"}}, strconv.FormatUint(xIDAt(2*time.Hour, 0), 10))
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Posts) != 1 {
		t.Errorf("%d posts", len(page.Posts))
	}
	if len(waits) != 1 || waits[0] < 25*time.Second || waits[0] > 31*time.Second {
		t.Errorf("waits %v, want ~30s from x-rate-limit-reset", waits)
	}
}

func TestXUnauthorized(t *testing.T) {
	_, srv := newXFake(t)
	x := xTestSource(t, srv, nil, func(o *XOptions) { o.BearerToken = "wrong" })
	_, err := x.Search(context.Background(), Query{Keywords: []string{"acme"}}, "")
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error leaks the token: %v", err)
	}
}
