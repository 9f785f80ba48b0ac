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

const (
	bskyTestIdentifier = "kizuki.bsky.social"
	bskyTestPassword   = "abcd-efgh-ijkl-mnop"
)

var bskyTestNow = time.Date(2026, 8, 20, 12, 0, 0, 0, time.UTC)

// bskyFake serves the XRPC endpoints of a PDS as in shared/platforms.md §2
// and §7: createSession / refreshSession (POST), searchPosts (Bearer
// required, 403 without), getPostThread, getPosts and getProfiles (≤25).
type bskyFake struct {
	mu        sync.Mutex
	posts     []map[string]any // searchable post views
	byURI     map[string]map[string]any
	blocked   map[string]bool
	profiles  map[string][2]any // did → handle, followers
	access    map[string]bool   // valid access tokens
	refresh   map[string]bool   // valid refresh tokens
	issued    int
	pageSize  int  // if > 0, the page size instead of limit
	public    bool // searchPosts 403s with HTML, as public.api.bsky.app
	dropAuth  bool // the Authorization header is lost on the way
	counts    map[string]int
	queries   map[string][]url.Values
	bearers   map[string][]string
	logins    []map[string]string
	fail      map[string][]func(http.ResponseWriter)
	serverErr []string // requests the fake rejected as malformed
	searchQs  []string // q of every searchPosts
}

func newBskyFake(t testing.TB) (*bskyFake, *httptest.Server) {
	f := &bskyFake{
		byURI: map[string]map[string]any{}, blocked: map[string]bool{}, profiles: map[string][2]any{},
		access: map[string]bool{}, refresh: map[string]bool{}, counts: map[string]int{},
		queries: map[string][]url.Values{}, bearers: map[string][]string{}, fail: map[string][]func(http.ResponseWriter){},
	}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		srv.Close()
		for _, e := range f.serverErr {
			t.Errorf("fake rejected a request: %s", e)
		}
	})
	return f, srv
}

// add registers post views: searchable ones, and all for thread/getPosts.
func (f *bskyFake) add(searchable bool, pvs ...map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, pv := range pvs {
		f.byURI[pv["uri"].(string)] = pv
		if searchable {
			f.posts = append(f.posts, pv)
		}
		a := pv["author"].(map[string]any)
		if _, ok := f.profiles[a["did"].(string)]; !ok {
			f.profiles[a["did"].(string)] = [2]any{a["handle"], 100}
		}
	}
}

func (f *bskyFake) expire() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.access)
}

func (f *bskyFake) count(nsid string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[nsid]
}

func (f *bskyFake) query(nsid string) []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.queries[nsid])
}

func bskyXRPCErr(w http.ResponseWriter, status int, name, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": name, "message": msg})
}

func (f *bskyFake) issue(w http.ResponseWriter) {
	f.issued++
	a, r := fmt.Sprintf("access-%d", f.issued), fmt.Sprintf("refresh-%d", f.issued)
	f.access[a], f.refresh[r] = true, true
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"accessJwt": a, "refreshJwt": r,
		"handle": bskyTestIdentifier, "did": "did:plc:kizuki", "active": true})
}

func (f *bskyFake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	nsid, ok := strings.CutPrefix(r.URL.Path, "/xrpc/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	f.counts[nsid]++
	f.queries[nsid] = append(f.queries[nsid], r.URL.Query())
	if !strings.HasPrefix(r.Header.Get("User-Agent"), "kizuki/") {
		f.serverErr = append(f.serverErr, nsid+": User-Agent "+r.Header.Get("User-Agent"))
	}
	if fl := f.fail[nsid]; len(fl) > 0 {
		f.fail[nsid] = fl[1:]
		fl[0](w)
		return
	}
	auth := r.Header.Get("Authorization")
	if f.dropAuth {
		auth = ""
	}
	bearer, hasBearer := strings.CutPrefix(auth, "Bearer ")
	f.bearers[nsid] = append(f.bearers[nsid], bearer)

	switch nsid {
	case "com.atproto.server.createSession":
		var in map[string]string
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
			json.NewDecoder(r.Body).Decode(&in) != nil {
			bskyXRPCErr(w, 400, "InvalidRequest", "bad createSession request")
			return
		}
		f.logins = append(f.logins, in)
		if in["identifier"] != bskyTestIdentifier || in["password"] != bskyTestPassword {
			bskyXRPCErr(w, 401, "AuthenticationRequired", "Invalid identifier or password")
			return
		}
		f.issue(w)
		return
	case "com.atproto.server.refreshSession":
		if r.Method != http.MethodPost {
			bskyXRPCErr(w, 400, "InvalidRequest", "POST only")
			return
		}
		if !hasBearer || !f.refresh[bearer] {
			bskyXRPCErr(w, 400, "ExpiredToken", "Token has been revoked")
			return
		}
		delete(f.refresh, bearer)
		f.issue(w)
		return
	}
	if r.Method != http.MethodGet {
		bskyXRPCErr(w, 400, "InvalidRequest", "GET only")
		return
	}
	if hasBearer && !f.access[bearer] {
		bskyXRPCErr(w, 400, "ExpiredToken", "Token has expired")
		return
	}
	q := r.URL.Query()
	w.Header().Set("Content-Type", "application/json")
	switch nsid {
	case "app.bsky.feed.searchPosts":
		if f.public {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte("<html><body><h1>403 Forbidden</h1>Request forbidden by administrative rules.</body></html>"))
			return
		}
		if !hasBearer {
			bskyXRPCErr(w, 403, "AuthMissing", "Authentication Required")
			return
		}
		f.serveSearch(w, q)
	case "app.bsky.feed.getPostThread":
		f.serveThread(w, q)
	case "app.bsky.feed.getPosts":
		uris := q["uris"]
		if len(uris) > 25 {
			bskyXRPCErr(w, 400, "InvalidRequest", "Error: uris must not have more than 25 elements")
			return
		}
		out := []map[string]any{}
		for _, u := range uris {
			if pv, ok := f.byURI[u]; ok {
				out = append(out, pv)
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"posts": out})
	case "app.bsky.actor.getProfiles":
		actors := q["actors"]
		if len(actors) > 25 {
			bskyXRPCErr(w, 400, "InvalidRequest", "Error: actors must not have more than 25 elements")
			return
		}
		out := []map[string]any{}
		for _, a := range actors {
			if pr, ok := f.profiles[a]; ok {
				out = append(out, map[string]any{"did": a, "handle": pr[0], "displayName": "", "followersCount": pr[1],
					"followsCount": 7, "postsCount": 70, "createdAt": "2024-01-01T00:00:00.000Z"})
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"profiles": out})
	default:
		bskyXRPCErr(w, 501, "MethodNotImplemented", "Method Not Implemented")
	}
}

func bskyFakeSortAt(pv map[string]any) time.Time {
	c, _ := time.Parse(time.RFC3339Nano, pv["record"].(map[string]any)["createdAt"].(string))
	i, _ := time.Parse(time.RFC3339Nano, pv["indexedAt"].(string))
	if i.Before(c) {
		return i
	}
	return c
}

func (f *bskyFake) serveSearch(w http.ResponseWriter, q url.Values) {
	limit, err := strconv.Atoi(q.Get("limit"))
	if q.Get("q") == "" || q.Get("sort") != "latest" || err != nil || limit < 1 || limit > 100 {
		f.serverErr = append(f.serverErr, "searchPosts "+q.Encode())
		bskyXRPCErr(w, 400, "InvalidRequest", "bad params")
		return
	}
	var since time.Time
	if s := q.Get("since"); s != "" {
		if since, err = time.Parse(time.RFC3339Nano, s); err != nil {
			bskyXRPCErr(w, 400, "BadQueryString", "bad since")
			return
		}
	}
	// A simple query string as palomar reads it: | is OR, - is NOT.
	fq, err := parseFakeQuery(q.Get("q"), "|")
	if err != nil {
		bskyXRPCErr(w, 400, "BadQueryString", err.Error())
		return
	}
	f.searchQs = append(f.searchQs, q.Get("q"))
	var match []map[string]any
	for _, pv := range f.posts {
		text := pv["record"].(map[string]any)["text"].(string)
		if fq.match(text) && !bskyFakeSortAt(pv).Before(since) {
			match = append(match, pv)
		}
	}
	slices.SortStableFunc(match, func(a, b map[string]any) int { return bskyFakeSortAt(b).Compare(bskyFakeSortAt(a)) })
	off, _ := strconv.Atoi(q.Get("cursor"))
	if f.pageSize > 0 {
		limit = min(limit, f.pageSize)
	}
	lo, hi := min(off, len(match)), min(off+limit, len(match))
	res := map[string]any{"posts": append([]map[string]any{}, match[lo:hi]...), "hitsTotal": len(match)}
	if hi < len(match) {
		res["cursor"] = strconv.Itoa(hi)
	}
	json.NewEncoder(w).Encode(res)
}

func (f *bskyFake) node(uri string, height int) map[string]any {
	pv, ok := f.byURI[uri]
	switch {
	case !ok:
		return map[string]any{"$type": "app.bsky.feed.defs#notFoundPost", "uri": uri, "notFound": true}
	case f.blocked[uri]:
		return map[string]any{"$type": "app.bsky.feed.defs#blockedPost", "uri": uri, "blocked": true,
			"author": map[string]any{"did": bskyRepo(uri)}}
	}
	n := map[string]any{"$type": "app.bsky.feed.defs#threadViewPost", "post": pv}
	if reply, ok := pv["record"].(map[string]any)["reply"].(map[string]any); ok && height > 0 {
		n["parent"] = f.node(reply["parent"].(map[string]any)["uri"].(string), height-1)
	}
	return n
}

func (f *bskyFake) serveThread(w http.ResponseWriter, q url.Values) {
	h, err := strconv.Atoi(q.Get("parentHeight"))
	if err != nil || h < 0 || h > 1000 || q.Get("depth") != "0" {
		f.serverErr = append(f.serverErr, "getPostThread "+q.Encode())
		bskyXRPCErr(w, 400, "InvalidRequest", "bad params")
		return
	}
	uri := q.Get("uri")
	if _, ok := f.byURI[uri]; !ok {
		bskyXRPCErr(w, 400, "NotFound", "Post not found: "+uri)
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"thread": f.node(uri, h)})
}

// bskyPV builds a post view; indexedAt is half a second after createdAt.
func bskyPV(did, handle, rkey, text string, created time.Time) map[string]any {
	return map[string]any{
		"uri": "at://" + did + "/app.bsky.feed.post/" + rkey, "cid": "bafy" + rkey,
		"author": map[string]any{"did": did, "handle": handle, "displayName": "Name of " + handle, "labels": []any{},
			"createdAt": "2024-02-01T10:00:00.000Z"},
		"record": map[string]any{"$type": "app.bsky.feed.post", "text": text,
			"createdAt": created.UTC().Format("2006-01-02T15:04:05.000Z"), "langs": []string{"en"}},
		"replyCount": 1, "repostCount": 2, "likeCount": 3, "quoteCount": 4, "bookmarkCount": 0,
		"indexedAt": created.Add(500 * time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z"), "labels": []any{},
	}
}

func bskyReply(pv map[string]any, root, parent string) map[string]any {
	pv["record"].(map[string]any)["reply"] = map[string]any{
		"root":   map[string]any{"uri": root, "cid": "bafyroot"},
		"parent": map[string]any{"uri": parent, "cid": "bafyparent"},
	}
	return pv
}

func bskyTestSource(srv *httptest.Server, waits *[]time.Duration, mut ...func(*BlueskyOptions)) *Bluesky {
	c := NewClient(ClientOptions{BaseDelay: time.Millisecond, MaxRetries: 3, Sleep: func(_ context.Context, d time.Duration) error {
		if waits != nil {
			*waits = append(*waits, d)
		}
		return nil
	}})
	opt := BlueskyOptions{BaseURL: srv.URL + "/", Identifier: bskyTestIdentifier, AppPassword: bskyTestPassword,
		Client: c, HTTP: srv.Client(), Now: func() time.Time { return bskyTestNow }}
	for _, m := range mut {
		m(&opt)
	}
	return NewBluesky(opt)
}

func bskyAt(min int) time.Time { return bskyTestNow.Add(time.Duration(min) * time.Minute) }

func TestBlueskySearchMapping(t *testing.T) {
	f, srv := newBskyFake(t)
	// Japanese before the mention: byte offsets differ from rune offsets.
	text := "アクメの新料金、@jane.bsky.social さんも困ってる #値上げ #acme"
	ms := strings.Index(text, "@jane")
	ts := strings.Index(text, "#値上げ")
	as := strings.Index(text, "#acme")
	if ms == len([]rune(text[:ms])) {
		t.Fatal("test text has no multi-byte characters before the mention")
	}
	reply := bskyReply(bskyPV("did:plc:abc123", "taro.bsky.social", "3lxyzq2abc22k", text, bskyAt(-30)),
		"at://did:plc:acme/app.bsky.feed.post/3lroot000000a", "at://did:plc:acme/app.bsky.feed.post/3lparent0000b")
	rec := reply["record"].(map[string]any)
	rec["langs"] = []string{"ja", "en"}
	rec["facets"] = []map[string]any{
		{"index": map[string]int{"byteStart": ms, "byteEnd": ms + len("@jane.bsky.social")},
			"features": []map[string]any{{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:jane"}}},
		{"index": map[string]int{"byteStart": ts, "byteEnd": ts + len("#値上げ")},
			"features": []map[string]any{{"$type": "app.bsky.richtext.facet#tag", "tag": "値上げ"}}},
		{"index": map[string]int{"byteStart": as, "byteEnd": as + len("#acme")},
			"features": []map[string]any{{"$type": "app.bsky.richtext.facet#tag", "tag": "acme"}}},
		// Offsets inside a rune: the handle is not taken from the text.
		{"index": map[string]int{"byteStart": 1, "byteEnd": 5},
			"features": []map[string]any{{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:unknown"}}},
		{"index": map[string]int{"byteStart": 0, "byteEnd": 3},
			"features": []map[string]any{{"$type": "app.bsky.richtext.facet#link", "uri": "https://acme.example"}}},
	}
	rec["tags"] = []string{"kizuki", "acme"}
	root := bskyPV("did:plc:root", "handle.invalid", "3lrootpost01", "ACME down again?", bskyAt(-40))
	root["likeCount"], root["repostCount"], root["replyCount"], root["quoteCount"] = 17, 5, 2, 1
	f.add(true, reply, root)
	f.profiles["did:plc:abc123"] = [2]any{"taro.bsky.social", 1234}
	f.profiles["did:plc:root"] = [2]any{"handle.invalid", 0}

	b := bskyTestSource(srv, nil)
	if b.Name() != "bsky" {
		t.Fatalf("Name = %q", b.Name())
	}
	page, err := b.Search(context.Background(), Query{Keywords: []string{"acme"}, Since: bskyAt(-60)}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []post.Post{{
		ID: "bsky:at://did:plc:root/app.bsky.feed.post/3lrootpost01", Platform: "bsky",
		URL:    "https://bsky.app/profile/did:plc:root/post/3lrootpost01",
		Author: post.Author{ID: "did:plc:root", Handle: "handle.invalid", Name: "Name of handle.invalid"},
		Text:   "ACME down again?", Lang: "en", CreatedAt: bskyAt(-40),
		ConversationID: "bsky:at://did:plc:root/app.bsky.feed.post/3lrootpost01",
		Metrics:        post.Metrics{Likes: 17, Reposts: 5, Replies: 2, Quotes: 1},
	}, {
		ID: "bsky:at://did:plc:abc123/app.bsky.feed.post/3lxyzq2abc22k", Platform: "bsky",
		URL:    "https://bsky.app/profile/taro.bsky.social/post/3lxyzq2abc22k",
		Author: post.Author{ID: "did:plc:abc123", Handle: "taro.bsky.social", Name: "Name of taro.bsky.social", Followers: 1234},
		Text:   text, Lang: "ja", CreatedAt: bskyAt(-30),
		ReplyTo:        "bsky:at://did:plc:acme/app.bsky.feed.post/3lparent0000b",
		ConversationID: "bsky:at://did:plc:acme/app.bsky.feed.post/3lroot000000a",
		Metrics:        post.Metrics{Likes: 3, Reposts: 2, Replies: 1, Quotes: 4},
		Mentions:       []string{"jane.bsky.social", "did:plc:unknown"},
		Hashtags:       []string{"値上げ", "acme", "kizuki"},
	}}
	if fmt.Sprintf("%#v", page.Posts) != fmt.Sprintf("%#v", want) {
		t.Errorf("posts:\n got %#v\nwant %#v", page.Posts, want)
	}
	if page.Cursor != `{"t":"2026-08-20T11:30:00Z","ids":["bsky:at://did:plc:abc123/app.bsky.feed.post/3lxyzq2abc22k"]}` {
		t.Errorf("cursor = %s", page.Cursor)
	}
}

func TestBlueskyFacetHandles(t *testing.T) {
	b := NewBluesky(BlueskyOptions{Identifier: "x", AppPassword: "y"})
	b.profiles["did:plc:known"] = bskyProfile{handle: "known.example"}
	text := "日本語テキスト＠full.example と @half.example"
	fs := strings.Index(text, "＠full")
	hs := strings.Index(text, "@half")
	r := &bskyRecord{Text: text, Facets: []bskyFacet{
		bskyTestFacet(fs, fs+len("＠full.example"), "app.bsky.richtext.facet#mention", "did:plc:a"),
		bskyTestFacet(hs, hs+len("@half.example"), "app.bsky.richtext.facet#mention", "did:plc:b"),
		bskyTestFacet(hs, len(text)+10, "app.bsky.richtext.facet#mention", "did:plc:known"),                             // out of range
		bskyTestFacet(len([]rune(text[:hs])), len([]rune(text[:hs]))+5, "app.bsky.richtext.facet#mention", "did:plc:c"), // rune offsets: wrong
	}}
	m, h := b.facets(r)
	if want := []string{"full.example", "half.example", "known.example", "did:plc:c"}; !slices.Equal(m, want) {
		t.Errorf("mentions = %q", m)
	}
	if h == nil || len(h) != 0 {
		t.Errorf("hashtags = %#v, want empty non-nil (the platform reported facets)", h)
	}
	if m, h := b.facets(&bskyRecord{Text: "@a.b #c"}); m != nil || h != nil {
		t.Errorf("no facets: %#v %#v, want nil (extract from text)", m, h)
	}
}

func bskyTestFacet(start, end int, typ, did string) bskyFacet {
	var f bskyFacet
	f.Index.ByteStart, f.Index.ByteEnd = start, end
	f.Features = []bskyFeature{{Type: typ, DID: did}}
	return f
}

func TestBlueskySession(t *testing.T) {
	f, srv := newBskyFake(t)
	f.add(true, bskyPV("did:plc:a", "a.test", "r1", "acme one", bskyAt(-10)))
	b := bskyTestSource(srv, nil)
	ctx := context.Background()
	q := Query{Keywords: []string{"acme", "widgets"}, Since: bskyAt(-60)}

	page, err := b.Search(ctx, q, "")
	if err != nil || len(page.Posts) != 1 {
		t.Fatalf("first poll: %+v %v", page, err)
	}
	if _, err := b.Search(ctx, q, page.Cursor); err != nil {
		t.Fatal(err)
	}
	if n := f.count("com.atproto.server.createSession"); n != 1 {
		t.Errorf("createSession called %d times over two polls, want 1", n)
	}
	if len(f.logins) != 1 || f.logins[0]["identifier"] != bskyTestIdentifier || f.logins[0]["password"] != bskyTestPassword {
		t.Errorf("logins = %v", f.logins)
	}
	if bs := f.bearers["app.bsky.feed.searchPosts"]; len(bs) != 2 || bs[0] != "access-1" || bs[1] != "access-1" {
		t.Errorf("searchPosts bearers = %q", bs)
	}

	// An expired access token is refreshed with the refresh token, not by
	// logging in again.
	f.expire()
	if _, err := b.Search(ctx, q, page.Cursor); err != nil {
		t.Fatal(err)
	}
	if n := f.count("com.atproto.server.refreshSession"); n != 1 {
		t.Errorf("refreshSession called %d times, want 1", n)
	}
	if bs := f.bearers["com.atproto.server.refreshSession"]; len(bs) != 1 || bs[0] != "refresh-1" {
		t.Errorf("refreshSession bearer = %q, want the refresh token", bs)
	}
	if n := f.count("com.atproto.server.createSession"); n != 1 {
		t.Errorf("createSession called %d times after a refresh, want 1", n)
	}
	if bs := f.bearers["app.bsky.feed.searchPosts"]; bs[len(bs)-1] != "access-2" {
		t.Errorf("last bearer %q, want the refreshed access-2", bs[len(bs)-1])
	}

	// Refresh fails too (revoked): one new login.
	f.mu.Lock()
	clear(f.access)
	clear(f.refresh)
	f.mu.Unlock()
	if _, err := b.Search(ctx, q, page.Cursor); err != nil {
		t.Fatal(err)
	}
	if n := f.count("com.atproto.server.createSession"); n != 2 {
		t.Errorf("createSession called %d times after a failed refresh, want 2", n)
	}

	// Thread and Refresh use the session too, without logging in again.
	if _, err := b.Refresh(ctx, []string{"bsky:at://did:plc:a/app.bsky.feed.post/r1"}); err != nil {
		t.Fatal(err)
	}
	if bs := f.bearers["app.bsky.feed.getPosts"]; len(bs) != 1 || bs[0] != "access-3" {
		t.Errorf("getPosts bearers = %q", bs)
	}

	// A wrong password: a clear error that names the variables and does
	// not show the password.
	bad := bskyTestSource(srv, nil, func(o *BlueskyOptions) { o.AppPassword = "wrong-pass-word" })
	_, err = bad.Search(ctx, q, "")
	if err == nil || !strings.Contains(err.Error(), BlueskyAppPasswordEnv) || strings.Contains(err.Error(), "wrong-pass-word") {
		t.Errorf("wrong password: err = %v", err)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 401 || !strings.HasPrefix(se.URL, srv.URL) {
		t.Errorf("wrong password: %v is not a 401 *StatusError", err)
	}
	if n := f.count("com.atproto.server.createSession"); n != 3 {
		t.Errorf("a failed login was retried: %d createSession calls", n)
	}
}

func TestBlueskyMissingCredentials(t *testing.T) {
	f, srv := newBskyFake(t)
	f.add(true, bskyPV("did:plc:a", "a.test", "r1", "acme one", bskyAt(-10)))
	t.Setenv(BlueskyIdentifierEnv, "")
	t.Setenv(BlueskyAppPasswordEnv, "")
	ctx := context.Background()
	q := Query{Keywords: []string{"acme"}, Since: bskyAt(-60)}

	b := bskyTestSource(srv, nil, func(o *BlueskyOptions) { o.Identifier, o.AppPassword = "", "" })
	_, err := b.Search(ctx, q, "")
	if err == nil || !strings.Contains(err.Error(), BlueskyIdentifierEnv) || !strings.Contains(err.Error(), BlueskyAppPasswordEnv) {
		t.Errorf("missing credentials: err = %v", err)
	}
	b = bskyTestSource(srv, nil, func(o *BlueskyOptions) { o.AppPassword = "" })
	_, err = b.Search(ctx, q, "")
	if err == nil || !strings.Contains(err.Error(), "missing: "+BlueskyAppPasswordEnv) {
		t.Errorf("missing password: err = %v", err)
	}
	if n := f.count("com.atproto.server.createSession") + f.count("app.bsky.feed.searchPosts"); n != 0 {
		t.Errorf("%d requests without credentials", n)
	}
	// Thread and Refresh need no login.
	got, err := b.Refresh(ctx, []string{"bsky:at://did:plc:a/app.bsky.feed.post/r1"})
	if err != nil || len(got) != 1 {
		t.Errorf("Refresh without credentials: %v %v", got, err)
	}
	if bs := f.bearers["app.bsky.feed.getPosts"]; len(bs) != 1 || bs[0] != "" {
		t.Errorf("getPosts bearers = %q, want none", bs)
	}

	// The environment fills in empty options.
	t.Setenv(BlueskyIdentifierEnv, bskyTestIdentifier)
	t.Setenv(BlueskyAppPasswordEnv, bskyTestPassword)
	b = bskyTestSource(srv, nil, func(o *BlueskyOptions) { o.Identifier, o.AppPassword = "", "" })
	if page, err := b.Search(ctx, q, ""); err != nil || len(page.Posts) != 1 {
		t.Errorf("credentials from the environment: %+v %v", page, err)
	}
}

func TestBlueskySearchForbidden(t *testing.T) {
	f, srv := newBskyFake(t)
	f.add(true, bskyPV("did:plc:a", "a.test", "r1", "acme one", bskyAt(-10)))
	ctx := context.Background()
	q := Query{Keywords: []string{"acme"}, Since: bskyAt(-60)}
	for _, tc := range []struct {
		name string
		set  func()
	}{
		{"AuthMissing without a token", func() { f.dropAuth = true }},
		{"HTML 403 of the public AppView", func() { f.dropAuth, f.public = false, true }},
	} {
		f.mu.Lock()
		tc.set()
		f.mu.Unlock()
		page, err := bskyTestSource(srv, nil).Search(ctx, q, "")
		if err == nil || !strings.Contains(err.Error(), "authenticated session") ||
			!strings.Contains(err.Error(), BlueskyIdentifierEnv) || !strings.Contains(err.Error(), BlueskyAppPasswordEnv) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
		var se *StatusError
		if !errors.As(err, &se) || se.Status != 403 {
			t.Errorf("%s: %v is not a 403 *StatusError", tc.name, err)
		}
		if page.Cursor != "" || page.Posts != nil {
			t.Errorf("%s: returned %+v", tc.name, page)
		}
	}
}

func TestBlueskySearchPaging(t *testing.T) {
	f, srv := newBskyFake(t)
	for i := range 12 {
		f.add(true, bskyPV("did:plc:a", "a.test", fmt.Sprintf("r%02d", i), "acme "+strconv.Itoa(i), bskyAt(-50+i)))
	}
	f.pageSize = 5
	b := bskyTestSource(srv, nil)
	page, err := b.Search(context.Background(), Query{Keywords: []string{"acme"}, Since: bskyAt(-60)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Posts) != 12 || page.Posts[0].Text != "acme 0" || page.Posts[11].Text != "acme 11" {
		t.Errorf("got %d posts, want 12 oldest first", len(page.Posts))
	}
	qs := f.query("app.bsky.feed.searchPosts")
	var cursors []string
	for _, v := range qs {
		cursors = append(cursors, v.Get("cursor"))
		if v.Get("limit") != "100" || v.Get("sort") != "latest" || v.Get("q") != `"acme"` {
			t.Errorf("params %v", v)
		}
	}
	if !slices.Equal(cursors, []string{"", "5", "10"}) {
		t.Errorf("cursors = %q", cursors)
	}

	// At most 5 pages a keyword and poll.
	f.pageSize = 2
	page, err = b.Search(context.Background(), Query{Keywords: []string{"acme"}, Since: bskyAt(-60)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.query("app.bsky.feed.searchPosts")) - 3; n != 5 || len(page.Posts) != 10 {
		t.Errorf("page cap: %d requests, %d posts", n, len(page.Posts))
	}
	if page.Cursor != `{"t":"2026-08-20T11:21:00Z","ids":["bsky:at://did:plc:a/app.bsky.feed.post/r11"]}` {
		t.Errorf("cursor = %s", page.Cursor)
	}
}

func TestBlueskySearchCursor(t *testing.T) {
	f, srv := newBskyFake(t)
	f.add(true,
		bskyPV("did:plc:a", "a.test", "r1", "acme one", bskyAt(-30)),
		bskyPV("did:plc:a", "a.test", "r2", "acme corp two", bskyAt(-20)),
		bskyPV("did:plc:b", "b.test", "r3", "acme corp three", bskyAt(-10)),
		bskyPV("did:plc:b", "b.test", "r4", "widgets four", bskyAt(-5)),
	)
	b := bskyTestSource(srv, nil)
	ctx := context.Background()
	q := Query{Keywords: []string{`"acme corp"`, "widgets", "widgets", "  "}, Since: bskyAt(-25), Languages: []string{"ja"}}

	page, err := b.Search(ctx, q, "")
	if err != nil {
		t.Fatal(err)
	}
	ids := func(ps []post.Post) []string {
		var out []string
		for _, p := range ps {
			out = append(out, strings.TrimPrefix(p.ID, "bsky:at://did:plc:"))
		}
		return out
	}
	if want := []string{"a/app.bsky.feed.post/r2", "b/app.bsky.feed.post/r3", "b/app.bsky.feed.post/r4"}; !slices.Equal(ids(page.Posts), want) {
		t.Errorf("ids = %q, want %q", ids(page.Posts), want)
	}
	if page.Cursor != `{"t":"2026-08-20T11:55:00Z","ids":["bsky:at://did:plc:b/app.bsky.feed.post/r4"]}` {
		t.Errorf("cursor = %s", page.Cursor)
	}
	qs := f.query("app.bsky.feed.searchPosts")
	if len(qs) != 1 || qs[0].Get("q") != `"acme corp" | "widgets"` ||
		qs[0].Get("since") != "2026-08-20T11:35:00.000Z" || qs[0].Get("lang") != "ja" {
		t.Errorf("requests = %v", qs)
	}

	// The next poll asks since the cursor (inclusive) and drops the post
	// at exactly that time: nothing new, the cursor stays.
	q.Languages = nil
	page2, err := b.Search(ctx, q, page.Cursor)
	if err != nil || len(page2.Posts) != 0 || page2.Cursor != page.Cursor {
		t.Fatalf("second poll: %+v %v", page2, err)
	}
	qs = f.query("app.bsky.feed.searchPosts")
	if qs[1].Get("since") != "2026-08-20T11:55:00.000Z" || qs[1].Has("lang") {
		t.Errorf("second poll asked %v", qs[1:])
	}

	// Another post at the cursor's very instant is new; then a later one.
	f.add(true, bskyPV("did:plc:c", "c.test", "r4b", "widgets again", bskyAt(-5)))
	page3, err := b.Search(ctx, q, page2.Cursor)
	if err != nil || !slices.Equal(ids(page3.Posts), []string{"c/app.bsky.feed.post/r4b"}) ||
		page3.Cursor != `{"t":"2026-08-20T11:55:00Z","ids":["bsky:at://did:plc:b/app.bsky.feed.post/r4","bsky:at://did:plc:c/app.bsky.feed.post/r4b"]}` {
		t.Fatalf("same instant: %+v %v", page3, err)
	}
	f.add(true, bskyPV("did:plc:c", "c.test", "r5", "Acme Corp five", bskyAt(-1)))
	page4, err := b.Search(ctx, q, page3.Cursor)
	if err != nil || !slices.Equal(ids(page4.Posts), []string{"c/app.bsky.feed.post/r5"}) ||
		page4.Cursor != `{"t":"2026-08-20T11:59:00Z","ids":["bsky:at://did:plc:c/app.bsky.feed.post/r5"]}` {
		t.Fatalf("fourth poll: %+v %v", page4, err)
	}

	// A cursor of the earlier per-keyword form is read as its oldest time;
	// a bad cursor is replaced by Since.
	page5, err := b.Search(ctx, q, `{"acme corp":"2026-08-20T11:50:00Z","widgets":"2026-08-20T11:56:00Z"}`)
	if err != nil || !slices.Equal(ids(page5.Posts), []string{"b/app.bsky.feed.post/r3", "b/app.bsky.feed.post/r4", "c/app.bsky.feed.post/r4b", "c/app.bsky.feed.post/r5"}) {
		t.Errorf("old cursor: %q %v", ids(page5.Posts), err)
	}
	page6, err := b.Search(ctx, Query{Keywords: []string{"acme"}, Since: bskyAt(-15)}, "not json")
	if err != nil || len(page6.Posts) != 2 {
		t.Errorf("bad cursor: %+v %v", page6, err)
	}
	if _, err := b.Search(ctx, Query{Keywords: []string{` "" `}}, ""); err == nil {
		t.Error("no keywords: want an error")
	}
}

func TestBlueskyFollowersBatched(t *testing.T) {
	f, srv := newBskyFake(t)
	for i := range 30 {
		did := fmt.Sprintf("did:plc:u%02d", i)
		f.add(true, bskyPV(did, fmt.Sprintf("u%02d.test", i), "r1", "acme by "+did, bskyAt(-40+i)))
		f.profiles[did] = [2]any{fmt.Sprintf("u%02d.test", i), 1000 + i}
	}
	// A second post by the first author and an author without a profile.
	f.add(true, bskyPV("did:plc:u00", "u00.test", "r2", "acme again", bskyAt(-5)))
	f.add(true, bskyPV("did:plc:gone", "gone.test", "r1", "acme gone", bskyAt(-4)))
	delete(f.profiles, "did:plc:gone")

	b := bskyTestSource(srv, nil)
	ctx := context.Background()
	page, err := b.Search(ctx, Query{Keywords: []string{"acme"}, Since: bskyAt(-60)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Posts) != 32 {
		t.Fatalf("%d posts", len(page.Posts))
	}
	for _, p := range page.Posts {
		want := 0
		if n, err := strconv.Atoi(strings.TrimPrefix(p.Author.ID, "did:plc:u")); err == nil {
			want = 1000 + n
		}
		if p.Author.Followers != want {
			t.Errorf("%s: followers %d, want %d", p.Author.ID, p.Author.Followers, want)
		}
	}
	qs := f.query("app.bsky.actor.getProfiles")
	if len(qs) != 2 || len(qs[0]["actors"]) != 25 || len(qs[1]["actors"]) != 6 {
		t.Errorf("getProfiles calls: %d, sizes %v", len(qs), qs)
	}

	// The counts are cached...
	if _, err := b.Search(ctx, Query{Keywords: []string{"acme"}, Since: bskyAt(-60)}, ""); err != nil {
		t.Fatal(err)
	}
	if n := f.count("app.bsky.actor.getProfiles"); n != 2 {
		t.Errorf("getProfiles called %d times, want the cache used", n)
	}
	// ...for a while.
	b.opt.Now = func() time.Time { return bskyTestNow.Add(bskyProfileTTL + time.Minute) }
	if _, err := b.Search(ctx, Query{Keywords: []string{"acme"}, Since: bskyAt(-60)}, ""); err != nil {
		t.Fatal(err)
	}
	if n := f.count("app.bsky.actor.getProfiles"); n != 4 {
		t.Errorf("getProfiles called %d times after the TTL, want 4", n)
	}
}

func TestBlueskyThread(t *testing.T) {
	f, srv := newBskyFake(t)
	uri := func(rkey string) string { return "at://did:plc:a/app.bsky.feed.post/" + rkey }
	root := bskyPV("did:plc:a", "a.test", "root", "acme launch", bskyAt(-50))
	p1 := bskyReply(bskyPV("did:plc:a", "a.test", "p1", "first", bskyAt(-40)), uri("root"), uri("root"))
	p2 := bskyReply(bskyPV("did:plc:a", "a.test", "p2", "second", bskyAt(-30)), uri("root"), uri("p1"))
	leaf := bskyReply(bskyPV("did:plc:a", "a.test", "leaf", "leaf", bskyAt(-20)), uri("root"), uri("p2"))
	// Under a deleted parent, and under a blocked one.
	orphan := bskyReply(bskyPV("did:plc:a", "a.test", "orphan", "orphan", bskyAt(-10)), uri("root"), uri("deleted"))
	o2 := bskyReply(bskyPV("did:plc:a", "a.test", "o2", "under orphan", bskyAt(-9)), uri("root"), uri("orphan"))
	blk := bskyReply(bskyPV("did:plc:a", "a.test", "blk", "blocked one", bskyAt(-8)), uri("root"), uri("root"))
	b2 := bskyReply(bskyPV("did:plc:a", "a.test", "b2", "under blocked", bskyAt(-7)), uri("root"), uri("blk"))
	f.add(false, root, p1, p2, leaf, orphan, o2, blk, b2)
	f.blocked[uri("blk")] = true
	f.profiles["did:plc:a"] = [2]any{"a.test", 42}
	b := bskyTestSource(srv, nil)
	ctx := context.Background()
	leafPost := post.Post{ID: "bsky:" + uri("leaf"), ReplyTo: "bsky:" + uri("p2"), ConversationID: "bsky:" + uri("root")}

	chain, err := b.Thread(ctx, leafPost, 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range chain {
		ids = append(ids, p.ID)
		if p.ConversationID != "bsky:"+uri("root") || p.Author.Followers != 42 {
			t.Errorf("%s: conversation %s, followers %d", p.ID, p.ConversationID, p.Author.Followers)
		}
	}
	if want := []string{"bsky:" + uri("root"), "bsky:" + uri("p1"), "bsky:" + uri("p2")}; !slices.Equal(ids, want) {
		t.Errorf("chain = %q, want %q", ids, want)
	}
	if chain[2].ReplyTo != "bsky:"+uri("p1") || chain[0].ReplyTo != "" || chain[2].Text != "second" {
		t.Errorf("chain posts: %+v", chain)
	}
	// No search came before: the parent and its ancestors in one
	// getPostThread.
	if qs := f.query("app.bsky.feed.getPostThread"); len(qs) != 1 || qs[0].Get("parentHeight") != "9" || qs[0].Get("uri") != uri("p2") {
		t.Errorf("requests %v", qs)
	}

	chain, err = b.Thread(ctx, leafPost, 2)
	if err != nil || len(chain) != 2 || chain[0].ID != "bsky:"+uri("p1") {
		t.Errorf("depth 2: %+v %v", chain, err)
	}
	// notFoundPost and blockedPost end the chain without an error.
	chain, err = b.Thread(ctx, post.Post{ID: "bsky:" + uri("o2"), ReplyTo: "bsky:" + uri("orphan")}, 10)
	if err != nil || len(chain) != 1 || chain[0].Text != "orphan" {
		t.Errorf("notFoundPost parent: %+v %v", chain, err)
	}
	chain, err = b.Thread(ctx, post.Post{ID: "bsky:" + uri("b2"), ReplyTo: "bsky:" + uri("blk")}, 10)
	if err != nil || len(chain) != 0 {
		t.Errorf("blockedPost parent: %+v %v", chain, err)
	}
	// Ancestors are cached, deleted and blocked ones too: asking again,
	// or for a sibling, costs nothing; a parent Bluesky does not have
	// (NotFound) ends the chain; a post that is no reply asks nothing.
	n := f.count("app.bsky.feed.getPostThread")
	for _, p := range []post.Post{leafPost, {ID: "bsky:" + uri("o3"), ReplyTo: "bsky:" + uri("orphan")}, {ID: "bsky:" + uri("b3"), ReplyTo: "bsky:" + uri("blk")}} {
		if _, err := b.Thread(ctx, p, 10); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.count("app.bsky.feed.getPostThread"); got != n {
		t.Errorf("%d more getPostThread for cached ancestors", got-n)
	}
	chain, err = b.Thread(ctx, post.Post{ID: "bsky:" + uri("x"), ReplyTo: "bsky:" + uri("gone")}, 10)
	if err != nil || len(chain) != 0 {
		t.Errorf("unknown parent: %+v %v", chain, err)
	}
	chain, err = b.Thread(ctx, post.Post{ID: "bsky:" + uri("root")}, 10)
	if err != nil || len(chain) != 0 || f.count("app.bsky.feed.getPostThread") != n+1 {
		t.Errorf("root post: %+v %v", chain, err)
	}
}

func TestBlueskyRefresh(t *testing.T) {
	f, srv := newBskyFake(t)
	var ids []string
	for i := range 60 {
		pv := bskyPV("did:plc:a", "a.test", fmt.Sprintf("r%02d", i), "x", bskyAt(-i))
		pv["likeCount"] = i
		if i%10 != 9 { // every tenth is deleted
			f.add(false, pv)
		}
		ids = append(ids, "bsky:"+pv["uri"].(string))
	}
	ids = append(ids, ids[0], "hn:1", "bsky:nonsense")
	b := bskyTestSource(srv, nil)
	got, err := b.Refresh(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 54 {
		t.Errorf("%d metrics, want 54", len(got))
	}
	if m := got["bsky:at://did:plc:a/app.bsky.feed.post/r33"]; m != (post.Metrics{Likes: 33, Reposts: 2, Replies: 1, Quotes: 4}) {
		t.Errorf("r33 = %+v", m)
	}
	if _, ok := got["bsky:at://did:plc:a/app.bsky.feed.post/r19"]; ok {
		t.Error("deleted post reported")
	}
	qs := f.query("app.bsky.feed.getPosts")
	if len(qs) != 3 || len(qs[0]["uris"]) != 25 || len(qs[1]["uris"]) != 25 || len(qs[2]["uris"]) != 10 {
		t.Errorf("getPosts calls %d: %v", len(qs), qs)
	}
}

func TestBlueskyRateLimit(t *testing.T) {
	f, srv := newBskyFake(t)
	f.add(true, bskyPV("did:plc:a", "a.test", "r1", "acme one", bskyAt(-10)))
	var waits []time.Duration
	b := bskyTestSource(srv, &waits)
	ctx := context.Background()
	q := Query{Keywords: []string{"acme"}, Since: bskyAt(-60)}
	limited := func(retry string, reset time.Duration) func(http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			w.Header().Set("RateLimit-Limit", "3000")
			w.Header().Set("RateLimit-Remaining", "0")
			w.Header().Set("RateLimit-Policy", "3000;w=300")
			w.Header().Set("RateLimit-Reset", strconv.FormatInt(time.Now().Add(reset).Unix(), 10))
			if retry != "" {
				w.Header().Set("Retry-After", retry)
			}
			bskyXRPCErr(w, http.StatusTooManyRequests, "RateLimitExceeded", "Rate Limit Exceeded")
		}
	}

	// createSession (POST) and searchPosts both wait as told.
	f.fail["com.atproto.server.createSession"] = []func(http.ResponseWriter){limited("9", time.Hour)}
	f.fail["app.bsky.feed.searchPosts"] = []func(http.ResponseWriter){limited("7", time.Hour)}
	page, err := b.Search(ctx, q, "")
	if err != nil || len(page.Posts) != 1 {
		t.Fatalf("after 429s: %+v %v", page, err)
	}
	if !slices.Equal(waits, []time.Duration{9 * time.Second, 7 * time.Second}) {
		t.Errorf("waits = %v, want [9s 7s] (Retry-After)", waits)
	}
	if n := f.count("com.atproto.server.createSession"); n != 2 {
		t.Errorf("createSession called %d times, want 2 (one 429)", n)
	}

	// Without Retry-After, RateLimit-Reset (Unix seconds) gives the wait.
	waits = nil
	f.fail["app.bsky.feed.getPosts"] = []func(http.ResponseWriter){limited("", 2*time.Minute)}
	if _, err := b.Refresh(ctx, []string{"bsky:at://did:plc:a/app.bsky.feed.post/r1"}); err != nil {
		t.Fatal(err)
	}
	if len(waits) != 1 || waits[0] < 115*time.Second || waits[0] > 2*time.Minute {
		t.Errorf("waits = %v, want about 2m (RateLimit-Reset)", waits)
	}

	// Too many 429s: an error, and the caller keeps its cursor.
	f.fail["app.bsky.feed.searchPosts"] = slices.Repeat([]func(http.ResponseWriter){limited("1", time.Second)}, 4)
	if _, err := b.Search(ctx, q, page.Cursor); err == nil {
		t.Error("persistent 429: want an error")
	}
}
