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
	"unicode/utf8"

	"github.com/kizuki-dev/kizuki/post"
)

// redditFake serves the token endpoint and the OAuth API, shaped as in
// shared/platforms.md §4 and §7.
type redditFake struct {
	mu       sync.Mutex
	wantUA   string
	tokenTTL int
	tokens   int             // token requests
	valid    map[string]bool // tokens the API accepts
	links    []map[string]any
	comments []map[string]any          // newest first
	items    map[string]map[string]any // by fullname, for thread and info
	pageSize int
	requests []*url.URL // API requests, in order
	infoIDs  [][]string
	fail     []func(http.ResponseWriter)
	block    bool
	body     string // if set, the raw body of every API response
}

func newRedditFake(t testing.TB) (*redditFake, *httptest.Server) {
	f := &redditFake{wantUA: "kizuki/0 by alice", tokenTTL: 3600, valid: map[string]bool{},
		items: map[string]map[string]any{}, pageSize: 100}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f, srv
}

const redditBlockedHTML = `<!doctype html><html><head><title>Blocked</title></head><body>whoa there, pardner! You've been blocked by network security.</body></html>`

func (f *redditFake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.UserAgent() != f.wantUA || f.block {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(redditBlockedHTML))
		return
	}
	if r.URL.Path == "/api/v1/access_token" {
		f.serveToken(w, r)
		return
	}
	f.requests = append(f.requests, r.URL)
	if len(f.fail) > 0 {
		fn := f.fail[0]
		f.fail = f.fail[1:]
		fn(w)
		return
	}
	tok, ok := strings.CutPrefix(strings.ToLower(r.Header.Get("Authorization")), "bearer ")
	if !ok || !f.valid[tok] {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"message": "Unauthorized", "error": 401}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Ratelimit-Used", "1")
	w.Header().Set("X-Ratelimit-Remaining", "99.0")
	w.Header().Set("X-Ratelimit-Reset", "300")
	if f.body != "" {
		w.Write([]byte(f.body))
		return
	}
	q := r.URL.Query()
	if q.Get("raw_json") != "1" {
		http.Error(w, `{"error":"want raw_json=1"}`, http.StatusBadRequest)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/search" || strings.HasPrefix(p, "/r/") && strings.HasSuffix(p, "/search"):
		var subs []string
		if s, ok := strings.CutPrefix(strings.TrimSuffix(p, "/search"), "/r/"); ok && q.Get("restrict_sr") == "1" {
			subs = strings.Split(s, "+")
		}
		fq, err := parseFakeQuery(q.Get("q"), "OR")
		if err != nil || utf8.RuneCountInString(q.Get("q")) > 512 {
			http.Error(w, `{"message":"Bad Request","error":400}`, http.StatusBadRequest)
			return
		}
		var match []map[string]any
		for _, l := range f.links {
			if redditFakeMatch(l, fq) && redditFakeIn(l, subs) {
				match = append(match, l)
			}
		}
		f.writeListing(w, match, q)
	case strings.HasPrefix(p, "/r/") && strings.HasSuffix(p, "/comments"):
		subs := strings.Split(strings.TrimSuffix(strings.TrimPrefix(p, "/r/"), "/comments"), "+")
		var match []map[string]any
		for _, c := range f.comments {
			if redditFakeIn(c, subs) {
				match = append(match, c)
			}
		}
		f.writeListing(w, match, q)
	case strings.HasPrefix(p, "/comments/"):
		f.serveThread(w, strings.TrimPrefix(p, "/comments/"), q)
	case p == "/api/info":
		ids := strings.Split(q.Get("id"), ",")
		if len(ids) > 100 {
			http.Error(w, `{"error":"too many ids"}`, http.StatusBadRequest)
			return
		}
		f.infoIDs = append(f.infoIDs, ids)
		var found []map[string]any
		for _, id := range ids {
			if it, ok := f.items[id]; ok {
				found = append(found, it)
			}
		}
		json.NewEncoder(w).Encode(redditFakeListing(found, nil))
	default:
		http.NotFound(w, r)
	}
}

func (f *redditFake) serveToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	id, secret, ok := r.BasicAuth()
	if r.Method != http.MethodPost || !ok || id != "cid" || secret != "csecret" {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"message": "Unauthorized", "error": 401}`))
		return
	}
	if r.FormValue("grant_type") != "password" || r.FormValue("username") != "alice" || r.FormValue("password") != "pw" {
		w.Write([]byte(`{"error": "invalid_grant"}`))
		return
	}
	f.tokens++
	tok := "tok" + strconv.Itoa(f.tokens)
	f.valid[tok] = true
	json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": f.tokenTTL, "scope": "*"})
}

// writeListing pages match (newest first) with after and the fake's page size.
func (f *redditFake) writeListing(w http.ResponseWriter, match []map[string]any, q url.Values) {
	start := 0
	if a := q.Get("after"); a != "" {
		for i, m := range match {
			if redditFakeName(m) == a {
				start = i + 1
			}
		}
	}
	per := f.pageSize
	if l, _ := strconv.Atoi(q.Get("limit")); l > 0 {
		per = min(per, l)
	}
	end := min(start+per, len(match))
	var after any
	if end < len(match) {
		after = redditFakeName(match[end-1])
	}
	json.NewEncoder(w).Encode(redditFakeListing(match[start:end], after))
}

// serveThread answers /comments/{link}?comment=&context= with the link and
// the chain from the context-th ancestor down to the comment.
func (f *redditFake) serveThread(w http.ResponseWriter, link string, q url.Values) {
	l, ok := f.items["t3_"+link]
	c, ok2 := f.items["t1_"+q.Get("comment")]
	n, err := strconv.Atoi(q.Get("context"))
	if !ok || !ok2 || err != nil || n < 0 || n > 8 {
		http.NotFound(w, nil)
		return
	}
	node := redditFakeClone(c)
	for i := 0; i < n; i++ {
		parent := node["data"].(map[string]any)["parent_id"].(string)
		p, ok := f.items[parent]
		if !ok || !strings.HasPrefix(parent, "t1_") {
			break
		}
		p = redditFakeClone(p)
		p["data"].(map[string]any)["replies"] = redditFakeListing([]map[string]any{node}, nil)
		node = p
	}
	json.NewEncoder(w).Encode([]any{redditFakeListing([]map[string]any{l}, nil), redditFakeListing([]map[string]any{node}, nil)})
}

func redditFakeListing(children []map[string]any, after any) map[string]any {
	if children == nil {
		children = []map[string]any{}
	}
	return map[string]any{"kind": "Listing", "data": map[string]any{
		"after": after, "before": nil, "dist": len(children), "modhash": "", "children": children}}
}

func redditFakeClone(m map[string]any) map[string]any {
	d := map[string]any{}
	for k, v := range m["data"].(map[string]any) {
		d[k] = v
	}
	return map[string]any{"kind": m["kind"], "data": d}
}

func redditFakeName(m map[string]any) string { return m["data"].(map[string]any)["name"].(string) }

func redditFakeIn(m map[string]any, subs []string) bool {
	return len(subs) == 0 || slices.Contains(subs, m["data"].(map[string]any)["subreddit"].(string))
}

// redditFakeMatch evaluates q (Lucene-style: OR, -"x", phrases) on
// title and selftext.
func redditFakeMatch(m map[string]any, fq *fakeQuery) bool {
	d := m["data"].(map[string]any)
	title, _ := d["title"].(string)
	self, _ := d["selftext"].(string)
	return fq.match(title + " " + self)
}

func (f *redditFake) add(things ...map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range things {
		f.items[redditFakeName(t)] = t
		if t["kind"] == "t3" {
			f.links = append(f.links, t)
		} else {
			f.comments = append(f.comments, t)
		}
	}
}

func (f *redditFake) reqs(pathSuffix string) []*url.URL {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*url.URL
	for _, u := range f.requests {
		if strings.HasSuffix(u.Path, pathSuffix) {
			out = append(out, u)
		}
	}
	return out
}

func redditLink(id string, ts int, sub, title, self string, score, comments int) map[string]any {
	return map[string]any{"kind": "t3", "data": map[string]any{
		"id": id, "name": "t3_" + id, "subreddit": sub, "subreddit_name_prefixed": "r/" + sub,
		"title": title, "selftext": self, "author": "janedoe", "author_fullname": "t2_abc12",
		"created_utc": float64(ts), "permalink": "/r/" + sub + "/comments/" + id + "/slug/",
		"url":   "https://www.reddit.com/r/" + sub + "/comments/" + id + "/slug/",
		"score": score, "ups": score, "upvote_ratio": 0.9, "num_comments": comments, "over_18": false,
	}}
}

func redditComment(id string, ts int, sub, link, parent, body string, score int) map[string]any {
	return map[string]any{"kind": "t1", "data": map[string]any{
		"id": id, "name": "t1_" + id, "subreddit": sub, "body": body, "body_html": "<p>" + body + "</p>",
		"author": "user_" + id, "author_fullname": "t2_" + id, "parent_id": parent, "link_id": "t3_" + link,
		"created_utc": float64(ts), "score": score, "replies": "",
		"permalink": "/r/" + sub + "/comments/" + link + "/slug/" + id + "/",
	}}
}

var redditTestNow = time.Unix(1755700000, 0)

func redditTestSource(srv *httptest.Server, waits *[]time.Duration, mut ...func(*RedditOptions)) *Reddit {
	c := NewClient(ClientOptions{BaseDelay: time.Millisecond, MaxRetries: 3, Sleep: func(_ context.Context, d time.Duration) error {
		if waits != nil {
			*waits = append(*waits, d)
		}
		return nil
	}})
	opt := RedditOptions{AuthURL: srv.URL, APIURL: srv.URL, ClientID: "cid", ClientSecret: "csecret",
		Username: "alice", Password: "pw", Client: c, Now: func() time.Time { return redditTestNow }}
	for _, m := range mut {
		m(&opt)
	}
	return NewReddit(opt)
}

func redditIDs(ps []post.Post) []string {
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	return ids
}

func TestRedditSearchMapping(t *testing.T) {
	f, srv := newRedditFake(t)
	f.add(
		redditLink("1mvx9qz", 1755698591, "sysadmin", "Acme API down for anyone else?", "Getting **500s** from Acme & co since 9am", 42, 17),
		redditLink("old", 1755000000, "sysadmin", "Acme old", "", 1, 0),
		redditComment("c2", 1755698600, "sysadmin", "1mvx9qz", "t1_c1", "same here > 1h", 3),
	)
	del := redditComment("c3", 1755698700, "sysadmin", "1mvx9qz", "t3_1mvx9qz", "anyone?", 1)
	del["data"].(map[string]any)["author"] = "[deleted]"
	delete(del["data"].(map[string]any), "author_fullname")
	f.add(del)
	r := redditTestSource(srv, nil, func(o *RedditOptions) { o.Subreddits = []string{"r/sysadmin", "/r/devops/"} })
	if r.Name() != "reddit" {
		t.Fatalf("Name = %q", r.Name())
	}
	page, err := r.Search(context.Background(), Query{Keywords: []string{"acme"}, Since: time.Unix(1755690000, 0)}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []post.Post{{
		ID: "reddit:t3_1mvx9qz", Platform: "reddit", URL: "https://www.reddit.com/r/sysadmin/comments/1mvx9qz/slug/",
		Author: post.Author{ID: "t2_abc12", Handle: "janedoe"}, Text: "Acme API down for anyone else?\nGetting **500s** from Acme & co since 9am",
		CreatedAt: time.Unix(1755698591, 0).UTC(), ConversationID: "reddit:t3_1mvx9qz", Metrics: post.Metrics{Likes: 42, Replies: 17},
	}, {
		ID: "reddit:t1_c2", Platform: "reddit", URL: "https://www.reddit.com/r/sysadmin/comments/1mvx9qz/slug/c2/",
		Author: post.Author{ID: "t2_c2", Handle: "user_c2"}, Text: "same here > 1h", CreatedAt: time.Unix(1755698600, 0).UTC(),
		ReplyTo: "reddit:t1_c1", ConversationID: "reddit:t3_1mvx9qz", Metrics: post.Metrics{Likes: 3},
	}, {
		ID: "reddit:t1_c3", Platform: "reddit", URL: "https://www.reddit.com/r/sysadmin/comments/1mvx9qz/slug/c3/",
		Author: post.Author{Handle: "[deleted]"}, Text: "anyone?", CreatedAt: time.Unix(1755698700, 0).UTC(),
		ReplyTo: "reddit:t3_1mvx9qz", ConversationID: "reddit:t3_1mvx9qz", Metrics: post.Metrics{Likes: 1},
	}}
	if fmt.Sprintf("%#v", page.Posts) != fmt.Sprintf("%#v", want) {
		t.Errorf("posts:\n got %#v\nwant %#v", page.Posts, want)
	}
	if page.Cursor != `{"t":1755698700,"ids":["t1_c3"]}` {
		t.Errorf("cursor = %s", page.Cursor)
	}
	s := f.reqs("/search")
	if len(s) != 1 || s[0].Path != "/r/sysadmin+devops/search" {
		t.Fatalf("search requests = %v", s)
	}
	q := s[0].Query()
	for k, v := range map[string]string{"q": "acme", "sort": "new", "t": "week", "limit": "100", "type": "link", "restrict_sr": "1", "raw_json": "1"} {
		if q.Get(k) != v {
			t.Errorf("search %s = %q, want %q", k, q.Get(k), v)
		}
	}
	if c := f.reqs("/comments"); len(c) != 1 || c[0].Path != "/r/sysadmin+devops/comments" || c[0].Query().Get("limit") != "100" {
		t.Errorf("comment requests = %v", c)
	}

	// Without subreddits: /search, not restricted, and no comments.
	r = redditTestSource(srv, nil)
	if _, err := r.Search(context.Background(), Query{Keywords: []string{"acme"}, Since: time.Unix(1755690000, 0)}, ""); err != nil {
		t.Fatal(err)
	}
	s = f.reqs("/search")
	if last := s[len(s)-1]; last.Path != "/search" || last.Query().Has("restrict_sr") {
		t.Errorf("unrestricted search = %v", last)
	}
	if n := len(f.reqs("/comments")); n != 1 {
		t.Errorf("comments polled without subreddits (%d requests)", n)
	}
}

func TestRedditToken(t *testing.T) {
	f, srv := newRedditFake(t)
	f.add(redditLink("a", 1755690000, "x", "acme", "", 1, 0))
	now := redditTestNow
	r := redditTestSource(srv, nil, func(o *RedditOptions) { o.Now = func() time.Time { return now } })
	ctx := context.Background()
	q := Query{Keywords: []string{"acme"}, Since: time.Unix(1755600000, 0)}
	for i := 0; i < 3; i++ {
		if _, err := r.Search(ctx, q, ""); err != nil {
			t.Fatal(err)
		}
	}
	if f.tokens != 1 {
		t.Errorf("%d token requests across 3 polls, want 1", f.tokens)
	}

	// The API refuses the token: one renewal, and the request succeeds.
	f.mu.Lock()
	f.valid = map[string]bool{}
	f.mu.Unlock()
	page, err := r.Search(ctx, q, "")
	if err != nil || len(page.Posts) != 1 {
		t.Fatalf("after 401: %+v %v", page, err)
	}
	if f.tokens != 2 {
		t.Errorf("%d token requests after a 401, want 2", f.tokens)
	}

	// Expiry (less the margin) renews the token.
	now = now.Add(time.Duration(f.tokenTTL-200) * time.Second)
	if _, err := r.Search(ctx, q, ""); err != nil {
		t.Fatal(err)
	}
	if f.tokens != 3 {
		t.Errorf("%d token requests after expiry, want 3", f.tokens)
	}

	// A token that keeps being refused is renewed once, then an error.
	f.mu.Lock()
	f.fail = slices.Repeat([]func(http.ResponseWriter){func(w http.ResponseWriter) { w.WriteHeader(http.StatusUnauthorized) }}, 3)
	f.mu.Unlock()
	_, err = r.Search(ctx, q, "")
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
		t.Errorf("persistent 401: err = %v", err)
	}
	if f.tokens != 4 || len(f.fail) != 1 {
		t.Errorf("persistent 401: %d tokens, %d fails left", f.tokens, len(f.fail))
	}

	// A wrong password is a 200 with "invalid_grant"; a wrong secret a 401.
	bad := redditTestSource(srv, nil, func(o *RedditOptions) { o.Password = "wrong" })
	if _, err := bad.Search(ctx, q, ""); err == nil || !strings.Contains(err.Error(), "invalid_grant") ||
		strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong password: %v", err)
	}
	bad = redditTestSource(srv, nil, func(o *RedditOptions) { o.ClientSecret = "nope" })
	if _, err := bad.Search(ctx, q, ""); !errors.As(err, &se) || se.Status != http.StatusUnauthorized ||
		strings.Contains(err.Error(), "nope") {
		t.Errorf("wrong secret: %v", err)
	}
}

func TestRedditMissingCredentials(t *testing.T) {
	f, srv := newRedditFake(t)
	r := redditTestSource(srv, nil, func(o *RedditOptions) { o.ClientID, o.Password = "", "" })
	ctx := context.Background()
	_, err := r.Search(ctx, Query{Keywords: []string{"acme"}}, "")
	if err == nil || !strings.Contains(err.Error(), "KIZUKI_REDDIT_CLIENT_ID") || !strings.Contains(err.Error(), "KIZUKI_REDDIT_PASSWORD") ||
		strings.Contains(err.Error(), "KIZUKI_REDDIT_USERNAME") {
		t.Errorf("Search: err = %v", err)
	}
	if _, err := r.Refresh(ctx, []string{"reddit:t3_a"}); err == nil || !strings.Contains(err.Error(), "KIZUKI_REDDIT_CLIENT_ID") {
		t.Errorf("Refresh: err = %v", err)
	}
	if f.tokens != 0 || len(f.requests) != 0 {
		t.Errorf("requests made without credentials")
	}

	t.Setenv("KIZUKI_REDDIT_CLIENT_ID", "cid")
	t.Setenv("KIZUKI_REDDIT_CLIENT_SECRET", "csecret")
	t.Setenv("KIZUKI_REDDIT_USERNAME", "alice")
	t.Setenv("KIZUKI_REDDIT_PASSWORD", "pw")
	opt := RedditOptions{ClientID: "mine"}
	RedditCredentialsFromEnv(&opt)
	if opt.ClientID != "mine" || opt.ClientSecret != "csecret" || opt.Username != "alice" || opt.Password != "pw" {
		t.Errorf("from env: %+v", opt)
	}
}

func TestRedditBlocked(t *testing.T) {
	f, srv := newRedditFake(t)
	f.add(redditLink("a", 1755690000, "x", "acme", "", 1, 0))
	// The fake blocks requests without the descriptive User-Agent.
	resp, err := http.Get(srv.URL + "/search?q=acme")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("fake let a request without the UA through: %d", resp.StatusCode)
	}
	// The source sends its own UA even with a shared Client that has another.
	ctx := context.Background()
	q := Query{Keywords: []string{"acme"}, Since: time.Unix(1755600000, 0)}
	r := redditTestSource(srv, nil)
	if page, err := r.Search(ctx, q, ""); err != nil || len(page.Posts) != 1 {
		t.Fatalf("with the default UA: %+v %v", page, err)
	}
	custom := redditTestSource(srv, nil, func(o *RedditOptions) { o.UserAgent = "linux:kizuki:v0 (by /u/alice)" })
	if _, err := custom.Search(ctx, q, ""); err == nil || !strings.Contains(err.Error(), "token") {
		t.Errorf("a UA the fake does not expect should be blocked at the token: %v", err)
	}
	f.mu.Lock()
	f.wantUA = "linux:kizuki:v0 (by /u/alice)"
	f.mu.Unlock()
	if _, err := custom.Search(ctx, q, ""); err != nil {
		t.Errorf("custom UA: %v", err)
	}

	// A block (403 HTML) is an error, not retried, not taken for JSON.
	f.mu.Lock()
	f.block = true
	f.mu.Unlock()
	n := len(f.requests)
	_, err = custom.Search(ctx, q, "")
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusForbidden || !strings.Contains(err.Error(), "blocked") ||
		strings.Contains(err.Error(), "malformed") {
		t.Errorf("blocked: err = %v", err)
	}
	if len(f.requests) != n {
		t.Errorf("blocked request counted as served")
	}
}

func TestRedditQueries(t *testing.T) {
	r := NewReddit(RedditOptions{})
	got, err := r.Queries(Query{Keywords: []string{"acme", "acme  corp", "ACME", `say "hi"`, "OR", "c++", "アクメ", " "}, Exclude: []string{"jobs", "hiring now", ""}})
	want := []string{`(acme OR "acme corp" OR "say hi" OR "OR" OR "c++" OR "アクメ") -"jobs" -"hiring now"`}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("queries = %q %v, want %q", got, err, want)
	}
	if got, _ := r.Queries(Query{Keywords: []string{"a", "b c"}}); !slices.Equal(got, []string{`a OR "b c"`}) {
		t.Errorf("no exclusions: %q", got)
	}
	if _, err := r.Queries(Query{Keywords: []string{`""`}}); err == nil {
		t.Error("no keywords: want an error")
	}

	// Above 512 characters: several queries, each within the limit, each
	// with the exclusions, every keyword once.
	var kws []string
	for i := range 60 {
		kws = append(kws, fmt.Sprintf("brandname product %02d", i))
	}
	qs, err := r.Queries(Query{Keywords: kws, Exclude: []string{"spam"}})
	if err != nil || len(qs) < 3 {
		t.Fatalf("%d queries for 60 long keywords (%v)", len(qs), err)
	}
	var all []string
	for _, q := range qs {
		if utf8.RuneCountInString(q) > 512 || !strings.HasSuffix(q, `) -"spam"`) {
			t.Errorf("query %q (%d chars)", q, len(q))
		}
		for _, term := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(q, "("), `) -"spam"`), " OR ") {
			all = append(all, strings.Trim(term, `"`))
		}
	}
	if !slices.Equal(all, kws) {
		t.Errorf("keywords across queries = %q", all)
	}
	// A keyword too long on its own is an error; exclusions that leave no
	// room are dropped.
	long := strings.Repeat("x", 600)
	if _, err := r.Queries(Query{Keywords: []string{long, "acme"}}); !errors.Is(err, ErrQueryTooLong) {
		t.Errorf("long keyword: %v", err)
	}
	if got, err := r.Queries(Query{Keywords: []string{"acme"}, Exclude: []string{strings.Repeat("y", 300), strings.Repeat("z", 300)}}); err != nil || len(got) != 1 ||
		got[0] != `acme -"`+strings.Repeat("y", 300)+`"` {
		t.Errorf("long exclusions: %q %v", got, err)
	}
}

func TestRedditSearchSplit(t *testing.T) {
	f, srv := newRedditFake(t)
	var kws []string
	for i := range 60 {
		kws = append(kws, fmt.Sprintf("brandname product %02d", i))
	}
	f.add(redditLink("b", 1755690010, "x", "new brandname product 59!", "", 1, 0),
		redditLink("a", 1755690000, "x", "about brandname product 01", "", 1, 0),
		redditLink("s", 1755690005, "x", "brandname product 02 spam", "", 1, 0))
	r := redditTestSource(srv, nil)
	page, err := r.Search(context.Background(), Query{Keywords: kws, Exclude: []string{"spam"}, Since: time.Unix(1755600000, 0)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if ids := redditIDs(page.Posts); !slices.Equal(ids, []string{"reddit:t3_a", "reddit:t3_b"}) {
		t.Errorf("ids = %v", ids)
	}
	s := f.reqs("/search")
	if len(s) < 3 {
		t.Fatalf("fake got %d queries, want several", len(s))
	}
	for _, u := range s {
		if q := u.Query().Get("q"); utf8.RuneCountInString(q) > 512 || !strings.Contains(q, " OR ") {
			t.Errorf("q = %q", q)
		}
	}
}

func TestRedditSearchPaging(t *testing.T) {
	f, srv := newRedditFake(t)
	for i := range 12 { // newest first
		id := fmt.Sprintf("p%02d", 12-i)
		f.add(redditLink(id, 1755690000+(12-i)*10, "x", "acme "+id, "", 1, 0))
	}
	f.pageSize = 5
	r := redditTestSource(srv, nil)
	ctx := context.Background()
	page, err := r.Search(ctx, Query{Keywords: []string{"acme"}, Since: time.Unix(1755690000, 0)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Posts) != 12 || page.Posts[0].ID != "reddit:t3_p01" || page.Posts[11].ID != "reddit:t3_p12" {
		t.Errorf("posts = %v", redditIDs(page.Posts))
	}
	s := f.reqs("/search")
	if len(s) != 3 || s[0].Query().Has("after") || s[1].Query().Get("after") != "t3_p08" || s[2].Query().Get("after") != "t3_p03" {
		t.Errorf("requests = %v", s)
	}

	// Paging stops at a page reaching older than the cursor.
	f.requests = nil
	page, err = r.Search(ctx, Query{Keywords: []string{"acme"}}, `{"t":1755690085}`)
	if err != nil {
		t.Fatal(err)
	}
	if ids := redditIDs(page.Posts); !slices.Equal(ids, []string{"reddit:t3_p09", "reddit:t3_p10", "reddit:t3_p11", "reddit:t3_p12"}) {
		t.Errorf("ids = %v", ids)
	}
	if n := len(f.reqs("/search")); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}

	// At most 5 pages.
	f.requests = nil
	f.pageSize = 2
	page, err = r.Search(ctx, Query{Keywords: []string{"acme"}, Since: time.Unix(1755690000, 0)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Posts) != 10 || len(f.reqs("/search")) != 5 || page.Posts[0].ID != "reddit:t3_p03" {
		t.Errorf("5 pages: %v, %d requests", redditIDs(page.Posts), len(f.reqs("/search")))
	}
}

func TestRedditSearchCursor(t *testing.T) {
	f, srv := newRedditFake(t)
	f.add(redditLink("b", 2000, "x", "acme b", "", 1, 0), redditLink("a", 1000, "x", "acme a", "", 1, 0))
	r := redditTestSource(srv, nil)
	ctx := context.Background()
	q := Query{Keywords: []string{"acme"}, Since: time.Unix(1500, 0)}
	page, err := r.Search(ctx, q, "")
	if err != nil {
		t.Fatal(err)
	}
	if ids := redditIDs(page.Posts); !slices.Equal(ids, []string{"reddit:t3_b"}) || page.Cursor != `{"t":2000,"ids":["t3_b"]}` {
		t.Fatalf("first poll: %v %s", ids, page.Cursor)
	}
	if got := f.reqs("/search")[0].Query().Get("t"); got != "all" {
		t.Errorf("t = %q for a cursor years old, want all", got)
	}

	// Nothing new: the cursor stays.
	page, err = r.Search(ctx, q, page.Cursor)
	if err != nil || len(page.Posts) != 0 || page.Cursor != `{"t":2000,"ids":["t3_b"]}` {
		t.Fatalf("second poll: %+v %v", page, err)
	}

	// A post in the same second as the cursor is new; then a newer one.
	f.mu.Lock()
	f.links = append([]map[string]any{redditLink("d", 3000, "x", "acme d", "", 1, 0), redditLink("c", 2000, "x", "acme c", "", 1, 0)}, f.links...)
	f.mu.Unlock()
	cur := page.Cursor
	f.mu.Lock()
	f.links = f.links[1:] // d not yet
	f.mu.Unlock()
	page, err = r.Search(ctx, q, cur)
	if err != nil || !slices.Equal(redditIDs(page.Posts), []string{"reddit:t3_c"}) || page.Cursor != `{"t":2000,"ids":["t3_b","t3_c"]}` {
		t.Fatalf("same second: %+v %v", page, err)
	}
	f.add(redditLink("d", 3000, "x", "acme d", "", 1, 0))
	f.mu.Lock()
	slices.SortFunc(f.links, func(a, b map[string]any) int {
		return int(b["data"].(map[string]any)["created_utc"].(float64) - a["data"].(map[string]any)["created_utc"].(float64))
	})
	f.mu.Unlock()
	page, err = r.Search(ctx, q, page.Cursor)
	if err != nil || !slices.Equal(redditIDs(page.Posts), []string{"reddit:t3_d"}) || page.Cursor != `{"t":3000,"ids":["t3_d"]}` {
		t.Fatalf("newer: %+v %v", page, err)
	}

	// A bad cursor is replaced by Since; a zero Since means Now; a recent
	// cursor searches the last week.
	page, err = r.Search(ctx, Query{Keywords: []string{"acme"}, Since: time.Unix(2500, 0)}, "bogus")
	if err != nil || !slices.Equal(redditIDs(page.Posts), []string{"reddit:t3_d"}) {
		t.Errorf("bad cursor: %+v %v", page, err)
	}
	page, err = r.Search(ctx, Query{Keywords: []string{"acme"}}, "")
	if err != nil || len(page.Posts) != 0 || page.Cursor != `{"t":1755700000}` {
		t.Errorf("zero Since: %+v %v", page, err)
	}
	s := f.reqs("/search")
	if got := s[len(s)-1].Query().Get("t"); got != "week" {
		t.Errorf("t = %q, want week", got)
	}
	if _, err := r.Search(ctx, Query{Keywords: []string{" "}}, ""); err == nil {
		t.Error("no keywords: want an error")
	}
}

func TestRedditThread(t *testing.T) {
	f, srv := newRedditFake(t)
	f.add(redditLink("L", 1000, "x", "Acme launch", "body", 10, 4),
		redditComment("c1", 1001, "x", "L", "t3_L", "one", 1),
		redditComment("c2", 1002, "x", "L", "t1_c1", "two", 2),
		redditComment("c3", 1003, "x", "L", "t1_c2", "three", 3),
		redditComment("c4", 1004, "x", "L", "t1_c3", "acme four", 4))
	r := redditTestSource(srv, nil)
	ctx := context.Background()
	leaf := post.Post{ID: "reddit:t1_c4", ReplyTo: "reddit:t1_c3", ConversationID: "reddit:t3_L"}

	chain, err := r.Thread(ctx, leaf, 3)
	if err != nil {
		t.Fatal(err)
	}
	if ids := redditIDs(chain); !slices.Equal(ids, []string{"reddit:t1_c1", "reddit:t1_c2", "reddit:t1_c3"}) {
		t.Errorf("depth 3: %v", ids)
	}
	want := post.Post{ID: "reddit:t1_c2", Platform: "reddit", URL: "https://www.reddit.com/r/x/comments/L/slug/c2/",
		Author: post.Author{ID: "t2_c2", Handle: "user_c2"}, Text: "two", CreatedAt: time.Unix(1002, 0).UTC(),
		ReplyTo: "reddit:t1_c1", ConversationID: "reddit:t3_L", Metrics: post.Metrics{Likes: 2}}
	if len(chain) == 3 && fmt.Sprintf("%#v", chain[1]) != fmt.Sprintf("%#v", want) {
		t.Errorf("c2:\n got %#v\nwant %#v", chain[1], want)
	}
	th := f.reqs("/comments/L")
	if len(th) != 1 || th[0].Query().Get("comment") != "c4" || th[0].Query().Get("context") != "3" {
		t.Errorf("thread requests = %v", th)
	}

	// Deeper: all cached, the link included (it came with the comments).
	chain, err = r.Thread(ctx, leaf, 10)
	if err != nil || !slices.Equal(redditIDs(chain), []string{"reddit:t3_L", "reddit:t1_c1", "reddit:t1_c2", "reddit:t1_c3"}) {
		t.Errorf("depth 10: %v %v", redditIDs(chain), err)
	}
	if len(chain) == 4 && chain[0].Text != "Acme launch\nbody" {
		t.Errorf("link text = %q", chain[0].Text)
	}
	if len(f.reqs("/comments/L")) != 1 || len(f.infoIDs) != 0 {
		t.Errorf("requests: %d /comments, /api/info %v", len(f.reqs("/comments/L")), f.infoIDs)
	}

	// Without a cache: context is at most 8 (the API's maximum), and the
	// link comes with the comments in one request.
	r = redditTestSource(srv, nil)
	chain, err = r.Thread(ctx, leaf, 10)
	if err != nil || !slices.Equal(redditIDs(chain), []string{"reddit:t3_L", "reddit:t1_c1", "reddit:t1_c2", "reddit:t1_c3"}) {
		t.Errorf("depth 10: %v %v", redditIDs(chain), err)
	}
	if th := f.reqs("/comments/L"); len(th) != 2 || th[1].Query().Get("context") != "8" || len(f.infoIDs) != 0 {
		t.Errorf("context = %q, want 8; %d /comments", th[len(th)-1].Query().Get("context"), len(th))
	}

	// A deleted parent ends the chain.
	d := f.items["t1_c2"]["data"].(map[string]any)
	d["body"], d["author"] = "[deleted]", "[deleted]"
	r = redditTestSource(srv, nil)
	chain, err = r.Thread(ctx, leaf, 10)
	if err != nil || !slices.Equal(redditIDs(chain), []string{"reddit:t1_c3"}) {
		t.Errorf("deleted parent: %v %v", redditIDs(chain), err)
	}

	// A link has no ancestors; a comment not in its thread (404) ends
	// without an error.
	if chain, err := r.Thread(ctx, post.Post{ID: "reddit:t3_L", ConversationID: "reddit:t3_L"}, 5); err != nil || len(chain) != 0 {
		t.Errorf("link: %v %v", chain, err)
	}
	r = redditTestSource(srv, nil)
	if chain, err := r.Thread(ctx, post.Post{ID: "reddit:t1_zz", ReplyTo: "reddit:t1_c3", ConversationID: "reddit:t3_L"}, 5); err != nil || len(chain) != 0 {
		t.Errorf("unknown: %v %v", chain, err)
	}
}

func TestRedditThreadDeep(t *testing.T) {
	f, srv := newRedditFake(t)
	f.add(redditLink("L", 1000, "x", "Acme", "", 1, 1))
	parent := "t3_L"
	for i := 1; i <= 11; i++ {
		id := "d" + strconv.Itoa(i)
		f.add(redditComment(id, 1000+i, "x", "L", parent, "level "+strconv.Itoa(i), 1))
		parent = "t1_" + id
	}
	r := redditTestSource(srv, nil)
	chain, err := r.Thread(context.Background(), post.Post{ID: "reddit:t1_d11", ReplyTo: "reddit:t1_d10", ConversationID: "reddit:t3_L"}, 20)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"reddit:t3_L"}
	for i := 1; i <= 10; i++ {
		want = append(want, "reddit:t1_d"+strconv.Itoa(i))
	}
	if ids := redditIDs(chain); !slices.Equal(ids, want) {
		t.Errorf("chain = %v", ids)
	}
	if th := f.reqs("/comments/L"); len(th) != 2 || th[1].Query().Get("comment") != "d3" {
		t.Errorf("requests = %v", th)
	}
}

func TestRedditRefresh(t *testing.T) {
	f, srv := newRedditFake(t)
	var ids []string
	for i := range 150 {
		id := "r" + strconv.Itoa(i)
		f.add(redditLink(id, 1000+i, "x", "t", "", i, i*2))
		ids = append(ids, "reddit:t3_"+id)
	}
	f.add(redditComment("cm", 1000, "x", "r0", "t3_r0", "c", 7))
	gone := redditComment("gone", 1000, "x", "r0", "t3_r0", "[removed]", 1)
	f.add(gone)
	ids = append(ids, "reddit:t1_cm", "reddit:t1_gone", "reddit:t3_unknown", "reddit:t3_r0", "x:1", "reddit:t5_x", "reddit:t3_a,b")
	r := redditTestSource(srv, nil)
	got, err := r.Refresh(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 151 || got["reddit:t3_r7"] != (post.Metrics{Likes: 7, Replies: 14}) || got["reddit:t1_cm"] != (post.Metrics{Likes: 7}) {
		t.Errorf("got %d: r7 %v cm %v", len(got), got["reddit:t3_r7"], got["reddit:t1_cm"])
	}
	if _, ok := got["reddit:t1_gone"]; ok {
		t.Error("removed comment refreshed")
	}
	if len(f.infoIDs) != 2 || len(f.infoIDs[0]) != 100 || len(f.infoIDs[1]) != 53 {
		t.Errorf("chunks = %d", len(f.infoIDs))
	}
}

func TestRedditRateLimit(t *testing.T) {
	f, srv := newRedditFake(t)
	f.add(redditLink("a", 1755690000, "x", "acme", "", 1, 0))
	f.fail = []func(http.ResponseWriter){func(w http.ResponseWriter) {
		w.Header().Set("X-Ratelimit-Used", "100")
		w.Header().Set("X-Ratelimit-Remaining", "0.0")
		w.Header().Set("X-Ratelimit-Reset", "42")
		w.WriteHeader(http.StatusTooManyRequests)
	}}
	var waits []time.Duration
	r := redditTestSource(srv, &waits)
	page, err := r.Search(context.Background(), Query{Keywords: []string{"acme"}, Since: time.Unix(1755600000, 0)}, "")
	if err != nil || len(page.Posts) != 1 {
		t.Fatalf("after 429: %+v %v", page, err)
	}
	if !slices.Equal(waits, []time.Duration{42 * time.Second}) {
		t.Errorf("waits = %v, want [42s] (X-Ratelimit-Reset)", waits)
	}
}

func TestRedditMalformed(t *testing.T) {
	f, srv := newRedditFake(t)
	r := redditTestSource(srv, nil)
	ctx := context.Background()
	f.body = `{"kind":"Listing","data":{"children":[{"kind":"t3",`
	page, err := r.Search(ctx, Query{Keywords: []string{"acme"}}, "")
	if err == nil || !strings.Contains(err.Error(), "malformed JSON") || page.Cursor != "" || page.Posts != nil {
		t.Errorf("search: %+v %v", page, err)
	}
	if _, err := r.Refresh(ctx, []string{"reddit:t3_a"}); err == nil {
		t.Error("refresh: want an error")
	}
	f.body = `[{"kind":"Listing","data":{"children":[]}}]`
	if _, err := r.Thread(ctx, post.Post{ID: "reddit:t1_b", ReplyTo: "reddit:t1_a1", ConversationID: "reddit:t3_a"}, 3); err == nil {
		t.Error("thread with one listing: want an error")
	}
	f.body = `{"kind":"Listing","data":{"after":null,"children":[{"kind":"t3","data":{"title":"acme no name"}},` +
		`{"kind":"t3","data":{"id":"ok","name":"t3_ok","title":"acme","created_utc":1755690000.5}}]}}`
	page, err = r.Search(ctx, Query{Keywords: []string{"acme"}, Since: time.Unix(1755600000, 0)}, "")
	if err != nil || !slices.Equal(redditIDs(page.Posts), []string{"reddit:t3_ok"}) ||
		!page.Posts[0].CreatedAt.Equal(time.Unix(1755690000, 5e8)) {
		t.Errorf("skipping bad things: %+v %v", page, err)
	}
}
