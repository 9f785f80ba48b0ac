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

// mastoFake serves one instance's /api/v1/timelines/tag/{tag} (with Link
// headers), /api/v2/search (401 without the token), /api/v1/statuses/{id}
// /context, /api/v1/statuses?id[]= (422 above 20 ids) and
// /api/v1/statuses/{id}, shaped as in shared/platforms.md §3.
type mastoFake struct {
	mu       sync.Mutex
	statuses map[string]map[string]any // by id
	tags     map[string][]string       // tag → ids of its timeline
	token    string                    // the valid token
	noBatch  bool                      // a server before 4.3: no /api/v1/statuses
	raw      map[string]string         // path → body served as is
	fail     []func(http.ResponseWriter)
	reqs     []*http.Request // every request (clones)
	maxBatch int             // most ids seen in one batch request
}

func newMastoFake(t testing.TB) (*mastoFake, *httptest.Server) {
	f := &mastoFake{statuses: map[string]map[string]any{}, tags: map[string][]string{}, token: "s3cret-token", raw: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *mastoFake) add(tag string, ss ...map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range ss {
		id := s["id"].(string)
		f.statuses[id] = s
		if tag != "" {
			f.tags[tag] = append(f.tags[tag], id)
		}
	}
}

func mastoWriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *mastoFake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, r.Clone(context.Background()))
	if len(f.fail) > 0 {
		fn := f.fail[0]
		f.fail = f.fail[1:]
		fn(w)
		return
	}
	if body, ok := f.raw[r.URL.Path]; ok {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
		return
	}
	authed := f.token != "" && r.Header.Get("Authorization") == "Bearer "+f.token
	if a := r.Header.Get("Authorization"); a != "" && !authed {
		mastoWriteJSON(w, 401, map[string]string{"error": "The access token is invalid"})
		return
	}
	q := r.URL.Query()
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/api/v1/timelines/tag/"):
		f.serveTag(w, r, strings.TrimPrefix(path, "/api/v1/timelines/tag/"))
	case path == "/api/v2/search":
		if !authed && q.Get("type") == "statuses" {
			mastoWriteJSON(w, 401, map[string]string{"error": "Search queries pagination is not supported without authentication"})
			return
		}
		f.serveSearch(w, r)
	case path == "/api/v1/statuses":
		if f.noBatch {
			mastoWriteJSON(w, 404, map[string]string{"error": "Record not found"})
			return
		}
		ids := q["id[]"]
		f.maxBatch = max(f.maxBatch, len(ids))
		if len(ids) > 20 {
			mastoWriteJSON(w, 422, map[string]string{"error": "Validation failed: too many ids"})
			return
		}
		out := []map[string]any{}
		for _, id := range ids {
			if s, ok := f.statuses[id]; ok {
				out = append(out, s)
			}
		}
		mastoWriteJSON(w, 200, out)
	case strings.HasPrefix(path, "/api/v1/statuses/") && strings.HasSuffix(path, "/context"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/api/v1/statuses/"), "/context")
		s, ok := f.statuses[id]
		if !ok {
			mastoWriteJSON(w, 404, map[string]string{"error": "Record not found"})
			return
		}
		ancestors := []map[string]any{}
		for {
			parent, _ := s["in_reply_to_id"].(string)
			if s, ok = f.statuses[parent]; !ok {
				break
			}
			ancestors = append([]map[string]any{s}, ancestors...)
		}
		mastoWriteJSON(w, 200, map[string]any{"ancestors": ancestors, "descendants": []any{}})
	case strings.HasPrefix(path, "/api/v1/statuses/"):
		s, ok := f.statuses[strings.TrimPrefix(path, "/api/v1/statuses/")]
		if !ok {
			mastoWriteJSON(w, 404, map[string]string{"error": "Record not found"})
			return
		}
		mastoWriteJSON(w, 200, s)
	default:
		mastoWriteJSON(w, 404, map[string]string{"error": "Not found"})
	}
}

func mastoNum(id string) int64 {
	n, _ := strconv.ParseInt(id, 10, 64)
	return n
}

// serveTag pages a tag timeline newest first, as Mastodon does: since_id
// and max_id bound it, Link gives max_id of the oldest item as next;
// any[] adds up to 4 more tags (statuses with any of them).
func (f *mastoFake) serveTag(w http.ResponseWriter, r *http.Request, tag string) {
	ids, ok := f.tags[tag]
	if !ok {
		mastoWriteJSON(w, 404, map[string]string{"error": "Record not found"})
		return
	}
	q := r.URL.Query()
	if len(q["any[]"]) > 4 {
		mastoWriteJSON(w, 422, map[string]string{"error": "Validation failed: too many tags"})
		return
	}
	for _, other := range q["any[]"] {
		for _, id := range f.tags[other] {
			if !slices.Contains(ids, id) {
				ids = append(slices.Clip(ids), id)
			}
		}
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 40 {
		limit = 20
	}
	sorted := slices.Clone(ids)
	slices.SortFunc(sorted, func(a, b string) int { return int(mastoNum(b) - mastoNum(a)) })
	out := []map[string]any{}
	for _, id := range sorted {
		if v := q.Get("since_id"); v != "" && mastoNum(id) <= mastoNum(v) {
			continue
		}
		if v := q.Get("max_id"); v != "" && mastoNum(id) >= mastoNum(v) {
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, f.statuses[id])
	}
	if len(out) > 0 {
		self := "http://" + r.Host + r.URL.Path
		w.Header().Set("Link", fmt.Sprintf(`<%s?limit=%d&max_id=%s>; rel="next", <%s?limit=%d&min_id=%s>; rel="prev"`,
			self, limit, out[len(out)-1]["id"], self, limit, out[0]["id"]))
	}
	mastoWriteJSON(w, 200, out)
}

// serveSearch evaluates q as Mastodon 4.2+ does: every term required
// (no OR), -term excluded, "phrases", language:xx a filter.
func (f *mastoFake) serveSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fq, err := parseFakeQuery(q.Get("q"), "")
	if err != nil {
		mastoWriteJSON(w, 422, map[string]string{"error": err.Error()})
		return
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	offset, _ := strconv.Atoi(q.Get("offset"))
	var match []map[string]any
	for _, s := range f.statuses {
		if v := q.Get("min_id"); v != "" && mastoNum(s["id"].(string)) <= mastoNum(v) {
			continue
		}
		if fq.match(s["content"].(string)) && (fq.op("language") == "" || s["language"] == fq.op("language")) {
			match = append(match, s)
		}
	}
	slices.SortFunc(match, func(a, b map[string]any) int { return int(mastoNum(b["id"].(string)) - mastoNum(a["id"].(string))) })
	lo, hi := min(offset, len(match)), min(offset+limit, len(match))
	mastoWriteJSON(w, 200, map[string]any{"accounts": []any{}, "statuses": match[lo:hi], "hashtags": []any{}})
}

// requests returns "path?query" of the requests whose path has prefix.
func (f *mastoFake) requests(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.reqs {
		if strings.HasPrefix(r.URL.Path, prefix) {
			q, _ := url.QueryUnescape(r.URL.RawQuery)
			out = append(out, r.URL.Path+"?"+q)
		}
	}
	return out
}

const mastoBase = 113012345678900000

var mastoT0 = time.Date(2026, 8, 20, 14, 0, 0, 0, time.UTC)

// mastoStatusJSON is a Status entity with id mastoBase+n, created n
// seconds after mastoT0; extra fields override.
func mastoStatusJSON(n int, content string, extra map[string]any) map[string]any {
	id := strconv.Itoa(mastoBase + n)
	s := map[string]any{
		"id": id, "created_at": mastoT0.Add(time.Duration(n) * time.Second).Format("2006-01-02T15:04:05.000Z"),
		"in_reply_to_id": nil, "in_reply_to_account_id": nil, "sensitive": false, "spoiler_text": "",
		"visibility": "public", "language": "en",
		"uri":           "https://mastodon.example/users/jane/statuses/" + id,
		"url":           "https://mastodon.example/@jane/" + id,
		"replies_count": 2, "reblogs_count": 5, "favourites_count": 17, "edited_at": nil, "reblog": nil,
		"content": content,
		"account": map[string]any{"id": "110000", "username": "jane", "acct": "jane", "display_name": "Jane Doe",
			"url": "https://mastodon.example/@jane", "followers_count": 312, "following_count": 180, "statuses_count": 4200, "bot": false},
		"mentions": []any{}, "tags": []any{}, "emojis": []any{}, "media_attachments": []any{}, "card": nil, "poll": nil,
	}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

func mastoSID(n int) string { return strconv.Itoa(mastoBase + n) }

func mastoTestSource(srv *httptest.Server, token string, waits *[]time.Duration, hashtags ...string) *Mastodon {
	c := NewClient(ClientOptions{BaseDelay: time.Millisecond, MaxRetries: 3, Sleep: func(_ context.Context, d time.Duration) error {
		if waits != nil {
			*waits = append(*waits, d)
		}
		return nil
	}})
	return NewMastodon(MastodonOptions{BaseURL: srv.URL + "/", Token: token, Hashtags: hashtags, Client: c,
		Now: func() time.Time { return mastoT0.Add(-time.Hour) }})
}

func mastoHost(srv *httptest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }

func mastoIDs(ps []post.Post) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ID[strings.LastIndexByte(p.ID, ':')+1:])
	}
	return out
}

func TestMastodonSearchTagMapping(t *testing.T) {
	f, srv := newMastoFake(t)
	ja := "ja"
	f.add("acmecorp",
		mastoStatusJSON(1, `<p><span class="h-card"><a href="https://acme.social/@acme" class="u-url mention">@<span>acme</span></a></span> outage again <a href="https://mastodon.example/tags/acmefail" class="mention hashtag" rel="tag">#<span>acmefail</span></a></p><p>line one<br>line two &amp; more: <a href="https://status.acme.example/x" rel="nofollow noopener" target="_blank"><span class="invisible">https://</span><span class="">status.acme.example/x</span></a></p>`,
			map[string]any{
				"in_reply_to_id": mastoSID(0), "in_reply_to_account_id": "109876", "quotes_count": 3,
				"mentions": []any{map[string]any{"id": "109876", "username": "acme", "url": "https://acme.social/@acme", "acct": "acme@acme.social"}},
				"tags":     []any{map[string]any{"name": "acmefail", "url": "https://mastodon.example/tags/acmefail"}},
			}),
		mastoStatusJSON(2, `<p>アクメの新製品、最高！<br>また買います <a href="https://mastodon.example/tags/%E3%82%A2%E3%82%AF%E3%83%A1" class="mention hashtag" rel="tag">#<span>アクメ</span></a></p>`,
			map[string]any{"language": ja, "url": nil, "spoiler_text": "ネタバレ",
				"account": map[string]any{"id": "120", "username": "taro", "acct": "taro@example.jp", "display_name": "太郎", "followers_count": 5},
				"tags":    []any{map[string]any{"name": "アクメ"}}}),
	)
	f.add("アクメ", f.statuses[mastoSID(2)])
	m := mastoTestSource(srv, "", nil, "#アクメ")
	if m.Name() != "mastodon" {
		t.Fatalf("Name = %q", m.Name())
	}
	page, err := m.Search(context.Background(), Query{Keywords: []string{"Acme Corp"}, Since: mastoT0}, "")
	if err != nil {
		t.Fatal(err)
	}
	host := mastoHost(srv)
	want := []post.Post{{
		ID: "mastodon:" + host + ":" + mastoSID(1), Platform: "mastodon", URL: "https://mastodon.example/@jane/" + mastoSID(1),
		Author: post.Author{ID: "110000", Handle: "jane", Name: "Jane Doe", Followers: 312},
		Text:   "@acme (https://acme.social/@acme) outage again #acmefail (https://mastodon.example/tags/acmefail)\nline one\nline two & more: https://status.acme.example/x",
		Lang:   "en", CreatedAt: mastoT0.Add(time.Second), ReplyTo: "mastodon:" + host + ":" + mastoSID(0),
		Metrics:  post.Metrics{Likes: 17, Reposts: 5, Replies: 2, Quotes: 3},
		Mentions: []string{"acme@acme.social"}, Hashtags: []string{"acmefail"},
	}, {
		ID: "mastodon:" + host + ":" + mastoSID(2), Platform: "mastodon", URL: "https://mastodon.example/users/jane/statuses/" + mastoSID(2),
		Author: post.Author{ID: "120", Handle: "taro@example.jp", Name: "太郎", Followers: 5},
		Text:   "ネタバレ\nアクメの新製品、最高！\nまた買います #アクメ (https://mastodon.example/tags/%E3%82%A2%E3%82%AF%E3%83%A1)",
		Lang:   "ja", CreatedAt: mastoT0.Add(2 * time.Second), ConversationID: "mastodon:" + host + ":" + mastoSID(2),
		Metrics:  post.Metrics{Likes: 17, Reposts: 5, Replies: 2},
		Mentions: []string{}, Hashtags: []string{"アクメ"},
	}}
	if fmt.Sprintf("%#v", page.Posts) != fmt.Sprintf("%#v", want) {
		t.Errorf("posts:\n got %#v\nwant %#v", page.Posts, want)
	}
	var cur map[string]string
	if err := json.Unmarshal([]byte(page.Cursor), &cur); err != nil || cur["t"] != mastoSID(2) || len(cur) != 1 {
		t.Errorf("cursor = %s (%v)", page.Cursor, err)
	}
	// Both tags in one request: the second in any[].
	reqs := f.requests("/api/v1/timelines/tag/")
	if len(reqs) != 1 || reqs[0] != "/api/v1/timelines/tag/acmecorp?any[]=アクメ&limit=40" {
		t.Errorf("requests = %q", reqs)
	}
	for _, r := range f.reqs {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("keyless mode sent Authorization to %s", r.URL)
		}
	}
}

func TestMastodonSearchPagingCursor(t *testing.T) {
	f, srv := newMastoFake(t)
	for i := 1; i <= 95; i++ {
		f.add("acme", mastoStatusJSON(i*10, fmt.Sprintf("<p>acme %d</p>", i), nil))
	}
	m := mastoTestSource(srv, "", nil)
	ctx := context.Background()
	q := Query{Keywords: []string{"acme"}, Since: mastoT0.Add(5 * time.Second)}

	// First poll: three pages back (40+40+15), all newer than Since.
	page, err := m.Search(ctx, q, "")
	if err != nil {
		t.Fatal(err)
	}
	ids := mastoIDs(page.Posts)
	if len(ids) != 95 || ids[0] != mastoSID(10) || ids[94] != mastoSID(950) {
		t.Fatalf("first poll: %d posts %v…", len(ids), ids[:min(3, len(ids))])
	}
	if reqs := f.requests("/api/v1/timelines/tag/acme"); len(reqs) != 3 || !strings.Contains(reqs[1], "max_id="+mastoSID(560)) ||
		!strings.Contains(reqs[2], "max_id="+mastoSID(160)) {
		t.Errorf("paging requests = %q", reqs)
	}
	if page.Cursor != `{"t":"`+mastoSID(950)+`"}` {
		t.Errorf("cursor = %s", page.Cursor)
	}

	// Nothing new: one request with since_id; the cursor stays.
	f.reqs = nil
	page, err = m.Search(ctx, q, page.Cursor)
	if err != nil || len(page.Posts) != 0 || page.Cursor != `{"t":"`+mastoSID(950)+`"}` {
		t.Fatalf("second poll: %+v %v", page, err)
	}
	if reqs := f.requests("/"); len(reqs) != 1 || reqs[0] != "/api/v1/timelines/tag/acme?limit=40&since_id="+mastoSID(950) {
		t.Errorf("second poll requests = %q", reqs)
	}

	// 250 new statuses: five pages back (the cap), since_id kept on each.
	for i := 96; i <= 345; i++ {
		f.add("acme", mastoStatusJSON(i*10, fmt.Sprintf("<p>acme %d</p>", i), nil))
	}
	f.reqs = nil
	page, err = m.Search(ctx, q, page.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests("/")
	if len(reqs) != 5 || len(page.Posts) != 200 || page.Cursor != `{"t":"`+mastoSID(3450)+`"}` {
		t.Fatalf("capped poll: %d requests, %d posts, cursor %s", len(reqs), len(page.Posts), page.Cursor)
	}
	for _, r := range reqs {
		if !strings.Contains(r, "since_id="+mastoSID(950)) {
			t.Errorf("page without since_id: %s", r)
		}
	}
	if ids := mastoIDs(page.Posts); ids[0] != mastoSID(1460) || ids[199] != mastoSID(3450) {
		t.Errorf("capped poll kept %s…%s, want the newest 200", ids[0], ids[199])
	}

	// Three new ones after the cap: one page, short, so no further request.
	for i := 346; i <= 348; i++ {
		f.add("acme", mastoStatusJSON(i*10, "<p>acme</p>", nil))
	}
	f.reqs = nil
	page, err = m.Search(ctx, q, page.Cursor)
	if err != nil || !slices.Equal(mastoIDs(page.Posts), []string{mastoSID(3460), mastoSID(3470), mastoSID(3480)}) ||
		len(f.requests("/")) != 1 {
		t.Errorf("short page: %v %v, %d requests", mastoIDs(page.Posts), err, len(f.requests("/")))
	}
}

func TestMastodonSearchFirstPollSince(t *testing.T) {
	f, srv := newMastoFake(t)
	for i := 1; i <= 100; i++ {
		f.add("acme", mastoStatusJSON(i, "<p>acme</p>", nil))
	}
	m := mastoTestSource(srv, "", nil)
	// Since falls inside the second page: paging stops there.
	page, err := m.Search(context.Background(), Query{Keywords: []string{"acme"}, Since: mastoT0.Add(50 * time.Second)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if ids := mastoIDs(page.Posts); len(ids) != 50 || ids[0] != mastoSID(51) || len(f.requests("/")) != 2 {
		t.Errorf("first poll: %d posts, %d requests", len(ids), len(f.requests("/")))
	}
	// A zero Since is Now (an hour before all statuses here): everything
	// on the first pages is newer. A bad cursor is a first poll; an
	// unknown tag (404) is empty.
	f.reqs = nil
	page, err = m.Search(context.Background(), Query{Keywords: []string{"acme", "nosuchtag"}}, "not json")
	if err != nil || len(page.Posts) != 100 || page.Cursor != `{"t":"`+mastoSID(100)+`"}` {
		t.Errorf("zero Since / bad cursor / 404 tag: %d posts, cursor %s, %v", len(page.Posts), page.Cursor, err)
	}
	if _, err := m.Search(context.Background(), Query{Keywords: []string{" #!! "}}, ""); err == nil {
		t.Error("no usable keywords: want an error")
	}
	if _, err := NewMastodon(MastodonOptions{}).Search(context.Background(), Query{Keywords: []string{"acme"}}, ""); err == nil {
		t.Error("no BaseURL: want an error")
	}
}

func TestMastodonSearchReblogsAndDedupe(t *testing.T) {
	f, srv := newMastoFake(t)
	orig := mastoStatusJSON(10, "<p>acme rocks</p>", map[string]any{"tags": []any{map[string]any{"name": "acme"}, map[string]any{"name": "widgets"}}})
	boost := mastoStatusJSON(20, "", map[string]any{"reblog": orig,
		"account": map[string]any{"id": "777", "acct": "booster", "display_name": "B"}})
	f.add("acme", orig, boost)
	f.add("widgets", orig)
	m := mastoTestSource(srv, "", nil, "widgets")
	page, err := m.Search(context.Background(), Query{Keywords: []string{"acme"}, Since: mastoT0}, "")
	if err != nil {
		t.Fatal(err)
	}
	// The boost maps to the boosted status, reported once across boost and
	// both tags; the cursor is the timeline's id (the boost's).
	if len(page.Posts) != 1 || page.Posts[0].ID != "mastodon:"+mastoHost(srv)+":"+mastoSID(10) || page.Posts[0].Author.Handle != "jane" {
		t.Fatalf("posts = %+v", page.Posts)
	}
	if page.Cursor != `{"t":"`+mastoSID(20)+`"}` {
		t.Errorf("cursor = %s", page.Cursor)
	}
	// A later boost of the already reported status is not reported again.
	f.add("acme", mastoStatusJSON(30, "", map[string]any{"reblog": orig}))
	page, err = m.Search(context.Background(), Query{Keywords: []string{"acme"}}, page.Cursor)
	if err != nil || len(page.Posts) != 0 || page.Cursor != `{"t":"`+mastoSID(30)+`"}` {
		t.Errorf("second boost: %+v %v", page, err)
	}
}

func TestMastodonSearchToken(t *testing.T) {
	f, srv := newMastoFake(t)
	f.add("", mastoStatusJSON(1, "<p>Acme Corp is down</p>", nil), mastoStatusJSON(2, "<p>unrelated</p>", nil))
	f.add("acmefail", mastoStatusJSON(3, "<p>tagged</p>", nil))
	ctx := context.Background()

	// The fake, like Mastodon, refuses a status search without a token.
	resp, err := http.Get(srv.URL + "/api/v2/search?q=acme&type=statuses")
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("unauthenticated search: %v %v", resp, err)
	}
	resp.Body.Close()
	f.reqs = nil

	m := mastoTestSource(srv, "s3cret-token", nil, "acmefail")
	page, err := m.Search(ctx, Query{Keywords: []string{"acme  corp"}, Since: mastoT0}, "")
	if err != nil {
		t.Fatal(err)
	}
	if ids := mastoIDs(page.Posts); !slices.Equal(ids, []string{mastoSID(1), mastoSID(3)}) {
		t.Errorf("ids = %v", ids)
	}
	if page.Cursor != `{"t":"`+mastoSID(3)+`"}` {
		t.Errorf("cursor = %s", page.Cursor)
	}
	if reqs := f.requests("/api/v2/search"); len(reqs) != 1 || reqs[0] != `/api/v2/search?limit=40&q="acme corp"&resolve=false&type=statuses` {
		t.Errorf("search requests = %q", reqs)
	}
	for _, r := range f.reqs {
		if r.Header.Get("Authorization") != "Bearer s3cret-token" {
			t.Errorf("%s without the Bearer token", r.URL)
		}
	}

	// The next poll passes min_id.
	f.add("", mastoStatusJSON(4, "<p>acme corp again</p>", nil))
	f.reqs = nil
	page, err = m.Search(ctx, Query{Keywords: []string{"acme corp"}}, page.Cursor)
	if err != nil || !slices.Equal(mastoIDs(page.Posts), []string{mastoSID(4)}) {
		t.Fatalf("second poll: %+v %v", page, err)
	}
	if reqs := f.requests("/api/v2/search"); len(reqs) != 1 || !strings.Contains(reqs[0], "min_id="+mastoSID(3)) {
		t.Errorf("second poll requests = %q", reqs)
	}

	// A bad token is a 401 error that does not reveal the token.
	bad := mastoTestSource(srv, "wrong-token", nil)
	_, err = bad.Search(ctx, Query{Keywords: []string{"acme"}}, "")
	if se := (*StatusError)(nil); err == nil || !errors.As(err, &se) || se.Status != 401 || strings.Contains(err.Error(), "wrong-token") {
		t.Errorf("bad token: %v", err)
	}
	opt := MastodonOptions{BaseURL: "x", Token: "wrong-token"}
	if s := fmt.Sprintf("%v %+v %#v", opt, opt, opt); strings.Contains(s, "wrong-token") {
		t.Errorf("options print the token: %s", s)
	}
}

func TestMastodonThread(t *testing.T) {
	f, srv := newMastoFake(t)
	f.add("",
		mastoStatusJSON(1, "<p>root about acme</p>", nil),
		mastoStatusJSON(2, "<p>reply 1</p>", map[string]any{"in_reply_to_id": mastoSID(1)}),
		mastoStatusJSON(3, "<p>reply 2</p>", map[string]any{"in_reply_to_id": mastoSID(2)}),
		mastoStatusJSON(4, "<p>leaf</p>", map[string]any{"in_reply_to_id": mastoSID(3)}),
	)
	m := mastoTestSource(srv, "", nil)
	ctx := context.Background()
	host := mastoHost(srv)
	leaf := post.Post{ID: "mastodon:" + host + ":" + mastoSID(4), ReplyTo: "mastodon:" + host + ":" + mastoSID(3)}
	chain, err := m.Thread(ctx, leaf, 10)
	if err != nil {
		t.Fatal(err)
	}
	root := "mastodon:" + host + ":" + mastoSID(1)
	if ids := mastoIDs(chain); !slices.Equal(ids, []string{mastoSID(1), mastoSID(2), mastoSID(3)}) {
		t.Fatalf("chain = %v", ids)
	}
	for i, p := range chain {
		if p.ConversationID != root {
			t.Errorf("chain[%d].ConversationID = %q, want %q", i, p.ConversationID, root)
		}
	}
	if chain[0].Text != "root about acme" || chain[1].ReplyTo != root || chain[2].Author.Handle != "jane" {
		t.Errorf("chain = %+v", chain)
	}
	if reqs := f.requests("/"); len(reqs) != 1 || !strings.HasPrefix(reqs[0], "/api/v1/statuses/"+mastoSID(4)+"/context") {
		t.Errorf("requests = %q", reqs)
	}

	// depth keeps the nearest ancestors; the conversation is still the root.
	chain, err = m.Thread(ctx, leaf, 2)
	if err != nil || !slices.Equal(mastoIDs(chain), []string{mastoSID(2), mastoSID(3)}) || chain[0].ConversationID != root {
		t.Errorf("depth 2: %+v %v", chain, err)
	}
	// Unknown (404), another instance, depth 0, and a root ask nothing or
	// return nothing.
	f.reqs = nil
	for _, p := range []post.Post{
		{ID: "mastodon:" + host + ":999", ReplyTo: "mastodon:" + host + ":998"},
		{ID: "mastodon:other.example:" + mastoSID(4), ReplyTo: "mastodon:other.example:1"},
		{ID: root, ConversationID: root},
	} {
		if chain, err := m.Thread(ctx, p, 5); err != nil || chain != nil {
			t.Errorf("Thread(%s) = %v %v", p.ID, chain, err)
		}
	}
	if chain, err := m.Thread(ctx, leaf, 0); err != nil || chain != nil {
		t.Errorf("depth 0: %v %v", chain, err)
	}
	if n := len(f.requests("/")); n != 1 {
		t.Errorf("%d requests, want only the unknown id's", n)
	}
}

func TestMastodonRefresh(t *testing.T) {
	f, srv := newMastoFake(t)
	host := mastoHost(srv)
	var ids []string
	for i := 1; i <= 45; i++ {
		f.add("", mastoStatusJSON(i, "<p>x</p>", map[string]any{"favourites_count": i, "reblogs_count": 1, "replies_count": 2}))
		ids = append(ids, "mastodon:"+host+":"+mastoSID(i))
	}
	ids = append(ids, ids[0], "mastodon:"+host+":999", "mastodon:other.example:"+mastoSID(1), "hn:1")
	m := mastoTestSource(srv, "", nil)
	got, err := m.Refresh(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 45 || got[ids[44]] != (post.Metrics{Likes: 45, Reposts: 1, Replies: 2}) {
		t.Errorf("Refresh: %d metrics, %v", len(got), got[ids[44]])
	}
	if reqs := f.requests("/api/v1/statuses"); len(reqs) != 3 || f.maxBatch > 20 {
		t.Errorf("%d requests, largest batch %d (want 3, ≤20)", len(reqs), f.maxBatch)
	}

	// A server before 4.3 answers 404: one request per id, unknown skipped.
	f.noBatch, f.reqs, f.maxBatch = true, nil, 0
	old := mastoTestSource(srv, "", nil)
	got, err = old.Refresh(context.Background(), []string{ids[0], ids[1], "mastodon:" + host + ":999"})
	if err != nil || len(got) != 2 || got[ids[1]].Likes != 2 {
		t.Fatalf("fallback: %v %v", got, err)
	}
	if reqs := f.requests("/api/v1/statuses"); len(reqs) != 4 || reqs[1] != "/api/v1/statuses/"+mastoSID(1)+"?" {
		t.Errorf("fallback requests = %q", reqs)
	}
	// The fallback is remembered.
	f.reqs = nil
	if _, err := old.Refresh(context.Background(), []string{ids[2]}); err != nil || len(f.requests("/")) != 1 {
		t.Errorf("remembered fallback: %q %v", f.requests("/"), err)
	}
}

func TestMastodonRateLimit(t *testing.T) {
	f, srv := newMastoFake(t)
	f.add("acme", mastoStatusJSON(1, "<p>acme</p>", nil))
	var waits []time.Duration
	m := mastoTestSource(srv, "", &waits)
	reset := time.Now().Add(30 * time.Second).UTC().Format("2006-01-02T15:04:05.000000Z")
	f.fail = []func(http.ResponseWriter){func(w http.ResponseWriter) {
		w.Header().Set("X-RateLimit-Limit", "300")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", reset)
		mastoWriteJSON(w, http.StatusTooManyRequests, map[string]string{"error": "Too many requests"})
	}}
	page, err := m.Search(context.Background(), Query{Keywords: []string{"acme"}, Since: mastoT0}, "")
	if err != nil || len(page.Posts) != 1 {
		t.Fatalf("after 429: %+v %v", page, err)
	}
	if len(waits) != 1 || waits[0] < 28*time.Second || waits[0] > 31*time.Second {
		t.Errorf("waits = %v, want ~30s from X-RateLimit-Reset", waits)
	}
}

func TestMastodonMalformed(t *testing.T) {
	f, srv := newMastoFake(t)
	f.add("", mastoStatusJSON(1, "<p>x</p>", nil), mastoStatusJSON(2, "<p>y</p>", map[string]any{"in_reply_to_id": mastoSID(1)}))
	f.raw["/api/v1/timelines/tag/acme"] = `[{"id":"1",`
	f.raw["/api/v1/statuses/"+mastoSID(2)+"/context"] = `{"ancestors":"no"}`
	f.raw["/api/v1/statuses"] = `<html>oops</html>`
	f.raw["/api/v2/search"] = `{"statuses":[1]}`
	ctx := context.Background()
	m := mastoTestSource(srv, "", nil)
	host := mastoHost(srv)
	page, err := m.Search(ctx, Query{Keywords: []string{"acme"}}, `{"tag:acme":"5"}`)
	if err == nil || !strings.Contains(err.Error(), "malformed JSON") || page.Cursor != "" || page.Posts != nil {
		t.Errorf("tag timeline: %+v %v", page, err)
	}
	if _, err := mastoTestSource(srv, "s3cret-token", nil).Search(ctx, Query{Keywords: []string{"acme"}}, ""); err == nil || !strings.Contains(err.Error(), "malformed JSON") {
		t.Errorf("search: %v", err)
	}
	if _, err := m.Thread(ctx, post.Post{ID: "mastodon:" + host + ":" + mastoSID(2), ReplyTo: "mastodon:" + host + ":" + mastoSID(1)}, 3); err == nil || !strings.Contains(err.Error(), "malformed JSON") {
		t.Errorf("context: %v", err)
	}
	if _, err := m.Refresh(ctx, []string{"mastodon:" + host + ":" + mastoSID(1)}); err == nil || !strings.Contains(err.Error(), "malformed JSON") {
		t.Errorf("refresh: %v", err)
	}

	// Statuses without an id or a valid time are skipped, not fatal.
	delete(f.raw, "/api/v1/timelines/tag/acme")
	noTime := mastoStatusJSON(3, "<p>acme</p>", map[string]any{"created_at": "yesterday"})
	f.add("acme", noTime, mastoStatusJSON(4, "<p>acme ok</p>", nil))
	page, err = m.Search(ctx, Query{Keywords: []string{"acme"}, Since: mastoT0}, "")
	if err != nil || !slices.Equal(mastoIDs(page.Posts), []string{mastoSID(4)}) {
		t.Errorf("bad status: %+v %v", page, err)
	}
}

func TestMastodonIDOrderAndHashtag(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{{"99", "100", true}, {"100", "99", false}, {"113012345678901234", "113012345678901235", true}, {"5", "5", false}} {
		if got := mastoIDLess(c.a, c.b); got != c.less {
			t.Errorf("mastoIDLess(%s, %s) = %v", c.a, c.b, got)
		}
	}
	for in, want := range map[string]string{"Acme Corp": "acmecorp", "#Acme": "acme", "acme-corp.io": "acmecorpio", "アクメ 社": "アクメ社", "snake_case": "snake_case"} {
		if got := mastoHashtag(in); got != want {
			t.Errorf("mastoHashtag(%q) = %q, want %q", in, got, want)
		}
	}
	h := http.Header{"Link": {`<https://m.example/api/v1/timelines/tag/a?limit=40&min_id=9>; rel="prev", <https://m.example/api/v1/timelines/tag/a?limit=40&max_id=7>; rel="next"`}}
	if got := mastoNextMaxID(h); got != "7" {
		t.Errorf("next max_id = %q", got)
	}
}
