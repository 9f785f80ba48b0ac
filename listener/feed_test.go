package listener

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/post"
)

const testRSS = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
<channel>
<title>Acme blog</title>
<link>https://blog.example.com/</link>
<language>ja-JP</language>
<item>
  <title>Acme 新製品の発表</title>
  <link>https://blog.example.com/2</link>
  <guid>https://blog.example.com/2</guid>
  <author>tanaka@example.com (田中)</author>
  <pubDate>Thu, 20 Aug 2026 10:00:00 +0000</pubDate>
  <description><![CDATA[<p>アクメの<b>新製品</b>です。</p><p>詳しくは<a href="https://acme.example.com/new">こちら</a>。<br>以上</p><script>alert(1)</script>]]></description>
</item>
<item>
  <title>First post</title>
  <link>https://blog.example.com/1</link>
  <guid isPermaLink="false">1</guid>
  <pubDate>Wed, 19 Aug 2026 09:00:00 +0000</pubDate>
  <description>Plain &amp; simple
second line</description>
</item>
</channel>
</rss>`

const testAtom = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:idx="urn:atom-extension:indexing">
<id>tag:google.com,2005:reader/user/0123/state/com.google/alerts/456</id>
<title>Google Alert - acme</title>
<link href="https://www.google.com/alerts/feeds/0123/456" rel="self"></link>
<updated>2026-08-20T12:00:00Z</updated>
<entry>
  <id>tag:google.com,2013:googlealerts/feed:111</id>
  <title type="html">&lt;b&gt;Acme&lt;/b&gt; outage hits users</title>
  <link href="https://www.google.com/url?rct=j&amp;sa=t&amp;url=https://news.example.org/acme-outage%3Fref%3D1&amp;ct=ga&amp;cd=CAIyGg&amp;usg=AOvVaw"></link>
  <published>2026-08-20T11:00:00Z</published>
  <updated>2026-08-20T11:00:00Z</updated>
  <content type="html">Users of &lt;b&gt;Acme&lt;/b&gt; report &amp;quot;500&amp;quot; errors ...</content>
  <author><name></name></author>
</entry>
</feed>`

type fakeFeeds struct {
	mu      sync.Mutex
	docs    map[string]string // path → body
	etags   map[string]string
	status  map[string]int
	gotINM  map[string]string
	gotIMS  map[string]string
	hits    map[string]int
	srv     *httptest.Server
	ctype   string
	lastMod string
}

func newFakeFeeds(t testing.TB) *fakeFeeds {
	f := &fakeFeeds{
		docs: map[string]string{}, etags: map[string]string{}, status: map[string]int{},
		gotINM: map[string]string{}, gotIMS: map[string]string{}, hits: map[string]int{},
		lastMod: "Thu, 20 Aug 2026 12:00:00 GMT",
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		p := r.URL.Path
		f.hits[p]++
		f.gotINM[p] = r.Header.Get("If-None-Match")
		f.gotIMS[p] = r.Header.Get("If-Modified-Since")
		if s := f.status[p]; s != 0 {
			http.Error(w, "boom", s)
			return
		}
		doc, ok := f.docs[p]
		if !ok {
			http.NotFound(w, r)
			return
		}
		etag := f.etags[p]
		if etag != "" && r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if etag != "" {
			w.Header().Set("ETag", etag)
		}
		w.Header().Set("Last-Modified", f.lastMod)
		w.Header().Set("Content-Type", "application/xml")
		w.Write([]byte(doc))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeFeeds) set(path, doc, etag string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.docs[path], f.etags[path] = doc, etag
}

func feedTestClient() *Client {
	return NewClient(ClientOptions{MaxRetries: 1, Sleep: func(context.Context, time.Duration) error { return nil }})
}

func TestFeedSearch(t *testing.T) {
	ff := newFakeFeeds(t)
	ff.set("/rss", testRSS, `"r1"`)
	ff.set("/alerts", testAtom, `"a1"`)
	now := time.Date(2026, 8, 21, 0, 0, 0, 0, time.UTC)
	src := NewFeed(FeedOptions{
		URLs:   []string{ff.srv.URL + "/rss", ff.srv.URL + "/alerts"},
		Client: feedTestClient(),
		Now:    func() time.Time { return now },
	})
	if src.Name() != "feed" {
		t.Errorf("Name = %q", src.Name())
	}
	ctx := context.Background()
	page, err := src.Search(ctx, Query{Keywords: []string{"acme"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Posts) != 3 {
		t.Fatalf("got %d posts, want 3: %+v", len(page.Posts), page.Posts)
	}
	// Oldest first.
	p0, p1, p2 := page.Posts[0], page.Posts[1], page.Posts[2]
	if p0.URL != "https://blog.example.com/1" || p1.URL != "https://blog.example.com/2" {
		t.Errorf("order/URLs: %q %q", p0.URL, p1.URL)
	}
	if p0.Text != "First post\nPlain & simple\nsecond line" {
		t.Errorf("plain text = %q", p0.Text)
	}
	if p0.Author.Handle != "blog.example.com" {
		t.Errorf("author fallback = %q", p0.Author.Handle)
	}
	wantJA := "Acme 新製品の発表\nアクメの新製品です。\n詳しくはこちら (https://acme.example.com/new)。\n以上"
	if p1.Text != wantJA {
		t.Errorf("HTML text =\n%q\nwant\n%q", p1.Text, wantJA)
	}
	if p1.Author.Handle != "田中" || p1.Lang != "ja" || p1.Platform != "feed" {
		t.Errorf("p1 = %+v", p1)
	}
	if !p1.CreatedAt.Equal(time.Date(2026, 8, 20, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("CreatedAt = %v", p1.CreatedAt)
	}
	if p2.URL != "https://news.example.org/acme-outage?ref=1" {
		t.Errorf("google link not unwrapped: %q", p2.URL)
	}
	if p2.Text != `Acme outage hits users`+"\n"+`Users of Acme report "500" errors ...` {
		t.Errorf("atom text = %q", p2.Text)
	}
	if p2.Author.Handle != "news.example.org" {
		t.Errorf("atom author = %q", p2.Author.Handle)
	}
	for _, p := range page.Posts {
		if !strings.HasPrefix(p.ID, "feed:") || len(p.ID) < 20 {
			t.Errorf("ID %q", p.ID)
		}
		if err := p.Validate(); err != nil {
			t.Error(err)
		}
	}
	if p0.ID == p1.ID || p1.ID == p2.ID {
		t.Error("ids collide")
	}
	var cur map[string]feedState
	if err := json.Unmarshal([]byte(page.Cursor), &cur); err != nil {
		t.Fatalf("cursor %q: %v", page.Cursor, err)
	}
	if st := cur[ff.srv.URL+"/rss"]; st.ETag != `"r1"` || len(st.Seen) != 2 || st.LastModified == "" {
		t.Errorf("rss state = %+v", st)
	}

	// Second poll: conditional GET → 304 → nothing.
	page2, err := src.Search(ctx, Query{}, page.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(page2.Posts) != 0 {
		t.Errorf("second poll: %d posts", len(page2.Posts))
	}
	if ff.gotINM["/rss"] != `"r1"` || ff.gotINM["/alerts"] != `"a1"` || ff.gotIMS["/rss"] != ff.lastMod {
		t.Errorf("conditional headers: %v %v", ff.gotINM, ff.gotIMS)
	}
	if page2.Cursor != page.Cursor {
		t.Errorf("cursor changed on 304:\n%s\n%s", page.Cursor, page2.Cursor)
	}

	// The feed changes: one new entry on top of the old ones.
	newItem := `<item><title>Third</title><link>https://blog.example.com/3</link><guid>https://blog.example.com/3</guid><pubDate>Fri, 21 Aug 2026 08:00:00 +0000</pubDate><description>new</description></item>`
	ff.set("/rss", strings.Replace(testRSS, "<item>", newItem+"<item>", 1), `"r2"`)
	page3, err := src.Search(ctx, Query{}, page2.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(page3.Posts) != 1 || page3.Posts[0].URL != "https://blog.example.com/3" || page3.Posts[0].Text != "Third\nnew" {
		t.Fatalf("changed feed: %+v", page3.Posts)
	}

	// The same document again without ETag support: dedupe by seen ids.
	ff.set("/rss", strings.Replace(testRSS, "<item>", newItem+"<item>", 1), "")
	page4, err := src.Search(ctx, Query{}, page3.Cursor)
	if err != nil || len(page4.Posts) != 0 {
		t.Fatalf("refetch without etag: %v %+v", err, page4.Posts)
	}
}

func TestFeedPartialFailure(t *testing.T) {
	ff := newFakeFeeds(t)
	ff.set("/good", testAtom, "")
	ff.status["/bad"] = http.StatusInternalServerError
	good, bad := ff.srv.URL+"/good", ff.srv.URL+"/bad"
	src := NewFeed(FeedOptions{URLs: []string{bad, good}, Client: feedTestClient()})
	page, err := src.Search(context.Background(), Query{}, "")
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("err = %v, want one naming %s", err, bad)
	}
	if strings.Contains(err.Error(), good) {
		t.Errorf("err names the good URL: %v", err)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 500 {
		t.Errorf("err does not wrap the StatusError: %v", err)
	}
	if len(page.Posts) != 1 {
		t.Fatalf("posts of the good feed: %+v", page.Posts)
	}
	var cur map[string]feedState
	if err := json.Unmarshal([]byte(page.Cursor), &cur); err != nil {
		t.Fatal(err)
	}
	if _, ok := cur[bad]; ok {
		t.Errorf("cursor advanced for the bad URL: %s", page.Cursor)
	}
	if len(cur[good].Seen) != 1 {
		t.Errorf("cursor did not advance for the good URL: %s", page.Cursor)
	}
	// The bad URL recovers: its entries come on the next poll, the good
	// one's are not repeated.
	ff.mu.Lock()
	delete(ff.status, "/bad")
	ff.docs["/bad"] = testRSS
	ff.mu.Unlock()
	page2, err := src.Search(context.Background(), Query{}, page.Cursor)
	if err != nil || len(page2.Posts) != 2 {
		t.Fatalf("after recovery: %v %d posts", err, len(page2.Posts))
	}
}

func TestFeedMalformed(t *testing.T) {
	ff := newFakeFeeds(t)
	ff.set("/broken", `<?xml version="1.0"?><rss version="2.0"><channel><item><title>x</ti`, "")
	ff.set("/html", `<html><body>not a feed</body></html>`, "")
	for _, p := range []string{"/broken", "/html"} {
		src := NewFeed(FeedOptions{URLs: []string{ff.srv.URL + p}, Client: feedTestClient()})
		page, err := src.Search(context.Background(), Query{}, "")
		if err == nil || !strings.Contains(err.Error(), ff.srv.URL+p) {
			t.Errorf("%s: err = %v", p, err)
		}
		if len(page.Posts) != 0 {
			t.Errorf("%s: posts %+v", p, page.Posts)
		}
	}
	src := NewFeed(FeedOptions{URLs: []string{ff.srv.URL + "/html"}, Client: feedTestClient()})
	if _, err := src.Search(context.Background(), Query{}, "{not json"); err == nil {
		t.Error("bad cursor accepted")
	}
}

func TestFeedSinceOnFirstPoll(t *testing.T) {
	ff := newFakeFeeds(t)
	ff.set("/rss", testRSS, "")
	src := NewFeed(FeedOptions{URLs: []string{ff.srv.URL + "/rss"}, Client: feedTestClient()})
	since := time.Date(2026, 8, 20, 0, 0, 0, 0, time.UTC)
	page, err := src.Search(context.Background(), Query{Since: since}, "")
	if err != nil || len(page.Posts) != 1 || page.Posts[0].URL != "https://blog.example.com/2" {
		t.Fatalf("since: %v %+v", err, page.Posts)
	}
	page2, err := src.Search(context.Background(), Query{Since: since}, page.Cursor)
	if err != nil || len(page2.Posts) != 0 {
		t.Fatalf("old entry came back: %v %+v", err, page2.Posts)
	}
}

func TestFeedThreadRefresh(t *testing.T) {
	src := NewFeed(FeedOptions{})
	if th, err := src.Thread(context.Background(), post.Post{ID: "feed:x"}, 5); th != nil || err != nil {
		t.Errorf("Thread = %v, %v", th, err)
	}
	if m, err := src.Refresh(context.Background(), []string{"feed:x"}); err != nil || m == nil || len(m) != 0 {
		t.Errorf("Refresh = %v, %v", m, err)
	}
}

func TestHTMLToText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"a &lt; b", "a < b"},
		{"line1\nline2", "line1\nline2"},
		{"<div>one</div><div>two</div>", "one\ntwo"},
		{"a<br/>b<br><br>c", "a\nb\nc"},
		{`<a href="https://x.example/">https://x.example/</a>`, "https://x.example/"},
		{`<a href="https://www.google.com/url?q=https://t.example/p&amp;sa=U">記事</a>`, "記事 (https://t.example/p)"},
		{`<a href="mailto:a@b">mail</a>`, "mail"},
		{"<style>p{}</style><p>  spaced \n  out  </p>", "spaced out"},
		{"<pre>x\n  y</pre>", "x\ny"},
		{"<ul><li>一</li><li>二</li></ul>", "一\n二"},
		{"5 < 6 and 7 > 3", "5 < 6 and 7 > 3"},
	}
	for _, c := range cases {
		if got := HTMLToText(c.in); got != c.want {
			t.Errorf("HTMLToText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestUnwrapGoogleURL(t *testing.T) {
	cases := map[string]string{
		"https://www.google.com/url?rct=j&sa=t&url=https://a.example/x&ct=ga": "https://a.example/x",
		"https://www.google.co.jp/url?url=https://a.example/x":                "https://a.example/x",
		"https://evil.example/url?url=https://a.example/x":                    "https://evil.example/url?url=https://a.example/x",
		"https://www.google.com/url?url=javascript:alert(1)":                  "https://www.google.com/url?url=javascript:alert(1)",
		"https://a.example/plain":                                             "https://a.example/plain",
	}
	for in, want := range cases {
		if got := unwrapGoogleURL(in); got != want {
			t.Errorf("unwrap(%q) = %q, want %q", in, got, want)
		}
	}
}
