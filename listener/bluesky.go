package listener

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kizuki-dev/kizuki/post"
)

// Bluesky: keyword search through app.bsky.feed.searchPosts, which needs
// an authenticated session (an app password) since the public AppView
// stopped serving it to logged-out callers; threads through getPostThread,
// engagement counts through getPosts and follower counts through
// app.bsky.actor.getProfiles. All calls go to BaseURL, the account's PDS,
// which proxies app.bsky.* to the AppView. See shared/platforms.md §2.

// The environment variables that hold the Bluesky account.
const (
	BlueskyIdentifierEnv  = "KIZUKI_BLUESKY_IDENTIFIER"
	BlueskyAppPasswordEnv = "KIZUKI_BLUESKY_APP_PASSWORD"
)

// BlueskyOptions configure Bluesky. Zero values are sane defaults.
type BlueskyOptions struct {
	// BaseURL is the PDS (or AppView) used for the session and every
	// call; default https://bsky.social.
	BaseURL string
	// Identifier (handle, DID or e-mail) and AppPassword log in; empty
	// ones are read from KIZUKI_BLUESKY_IDENTIFIER and
	// KIZUKI_BLUESKY_APP_PASSWORD. Neither is ever logged.
	Identifier, AppPassword string
	Client                  *Client      // for the GETs
	HTTP                    *http.Client // for the session POSTs; default: 20 s timeout
	// Now is the clock; a first poll with a zero Query.Since starts from
	// Now (no backfill), and it ages the profile cache.
	Now func() time.Time
	// DailyBudget is how many XRPC reads (GETs) may be made per UTC day;
	// 0 is unlimited. See Budget.
	DailyBudget int
	// Budget, if set, is used instead of one made from DailyBudget, so
	// that its count survives a rebuild of the source (a reload).
	Budget *Budget
}

const (
	bskyPageLimit    = 100  // searchPosts limit
	bskyMaxPages     = 5    // per query and poll
	bskyBatch        = 25   // getPosts uris and getProfiles actors per call
	bskyMaxParent    = 1000 // getPostThread parentHeight
	bskyProfileTTL   = 6 * time.Hour
	bskyProfileCache = 10000
)

// Bluesky is the Bluesky Source.
type Bluesky struct {
	opt     BlueskyOptions
	log     *slog.Logger
	budget  *Budget
	threads *threads

	sessMu sync.Mutex // held across session calls, so they are serialized
	sess   *bskySession

	mu       sync.Mutex
	profiles map[string]bskyProfile // by DID
}

var (
	_ Source   = (*Bluesky)(nil)
	_ Budgeted = (*Bluesky)(nil)
)

type bskySession struct {
	AccessJwt  string `json:"accessJwt"`
	RefreshJwt string `json:"refreshJwt"`
	Handle     string `json:"handle"`
	DID        string `json:"did"`
}

type bskyProfile struct {
	handle    string
	followers int
	at        time.Time
}

// NewBluesky returns a Bluesky source with defaults filled in.
func NewBluesky(opt BlueskyOptions) *Bluesky {
	if opt.BaseURL == "" {
		opt.BaseURL = "https://bsky.social"
	}
	opt.BaseURL = strings.TrimRight(opt.BaseURL, "/")
	if opt.Identifier == "" {
		opt.Identifier = os.Getenv(BlueskyIdentifierEnv)
	}
	if opt.AppPassword == "" {
		opt.AppPassword = os.Getenv(BlueskyAppPasswordEnv)
	}
	opt.Identifier = strings.TrimSpace(opt.Identifier)
	opt.AppPassword = strings.TrimSpace(opt.AppPassword)
	if opt.Client == nil {
		opt.Client = NewClient(ClientOptions{})
	}
	if opt.HTTP == nil {
		opt.HTTP = &http.Client{Timeout: 20 * time.Second}
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Bluesky{
		opt:      opt,
		log:      opt.Client.opt.Logger.With("source", "bsky"),
		profiles: map[string]bskyProfile{},
		budget:   orBudget(opt.Budget, "bsky", opt.DailyBudget, UnitRequests, opt.Now),
		threads:  newThreads(opt.Now),
	}
}

// Name implements Source.
func (b *Bluesky) Name() string { return "bsky" }

// Remaining implements Budgeted: the reads that may still be made today.
func (b *Bluesky) Remaining() (n int, limited bool) { return b.budget.Remaining() }

func (b *Bluesky) hasCredentials() bool {
	return b.opt.Identifier != "" && b.opt.AppPassword != ""
}

// credentialsError says which environment variables to set.
func (b *Bluesky) credentialsError() error {
	var missing []string
	if b.opt.Identifier == "" {
		missing = append(missing, BlueskyIdentifierEnv)
	}
	if b.opt.AppPassword == "" {
		missing = append(missing, BlueskyAppPasswordEnv)
	}
	return fmt.Errorf("bsky: keyword search needs a Bluesky login: set %s (your handle or DID) and %s "+
		"(an app password, Settings > Privacy and security > App passwords); missing: %s",
		BlueskyIdentifierEnv, BlueskyAppPasswordEnv, strings.Join(missing, ", "))
}

// --- session ---

// bskyXRPCError is the error body of an XRPC call.
type bskyXRPCError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func bskyErrorName(body []byte) string {
	var e bskyXRPCError
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Error
}

// bskyPostError is a StatusError of a POST; errors.As finds the
// StatusError.
type bskyPostError struct{ StatusError }

func (e *bskyPostError) Error() string {
	return fmt.Sprintf("POST %s: HTTP %d: %s", e.URL, e.Status, e.Body)
}

func (e *bskyPostError) Unwrap() error { return &e.StatusError }

// post calls a procedure: POST BaseURL/xrpc/<nsid> with a JSON body (nil:
// none) and decodes the response into v. 429, 5xx and network errors are
// retried as Client does, honouring Retry-After and RateLimit-Reset.
func (b *Bluesky) post(ctx context.Context, nsid, bearer string, in, v any) error {
	c := b.opt.Client
	endpoint := b.opt.BaseURL + "/xrpc/" + nsid
	var data []byte
	if in != nil {
		var err error
		if data, err = json.Marshal(in); err != nil {
			return err
		}
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("request %s: %w", endpoint, err)
		}
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", c.opt.UserAgent)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := b.opt.HTTP.Do(req)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(resp.Body, c.opt.MaxBody+1))
			resp.Body.Close()
			if err == nil && int64(len(body)) > c.opt.MaxBody {
				return fmt.Errorf("POST %s: response larger than %d bytes", endpoint, c.opt.MaxBody)
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("POST %s: %w", endpoint, ctx.Err())
		}
		var wait time.Duration
		switch {
		case err != nil:
			wait = c.backoff(attempt)
			err = fmt.Errorf("POST %s: %w", endpoint, err)
		case resp.StatusCode == http.StatusTooManyRequests:
			wait = max(retryAfter(resp.Header, time.Now()), c.backoff(attempt))
			err = &bskyPostError{StatusError{URL: endpoint, Status: resp.StatusCode, Body: snippet(body)}}
		case resp.StatusCode >= 500:
			wait = c.backoff(attempt)
			err = &bskyPostError{StatusError{URL: endpoint, Status: resp.StatusCode, Body: snippet(body)}}
		case resp.StatusCode >= 400:
			return &bskyPostError{StatusError{URL: endpoint, Status: resp.StatusCode, Body: snippet(body)}}
		default:
			if v == nil {
				return nil
			}
			if err := json.Unmarshal(body, v); err != nil {
				return fmt.Errorf("POST %s: malformed JSON: %w", endpoint, err)
			}
			return nil
		}
		if attempt >= c.opt.MaxRetries {
			return fmt.Errorf("gave up after %d attempts: %w", attempt+1, err)
		}
		wait = min(wait, c.opt.MaxDelay)
		b.log.Warn("retrying", "url", endpoint, "attempt", attempt+1, "wait", wait, "err", err)
		if serr := c.opt.Sleep(ctx, wait); serr != nil {
			return fmt.Errorf("POST %s: %w", endpoint, serr)
		}
	}
}

// createSession logs in. Callers hold sessMu.
func (b *Bluesky) createSession(ctx context.Context) (*bskySession, error) {
	if !b.hasCredentials() {
		return nil, b.credentialsError()
	}
	var s bskySession
	err := b.post(ctx, "com.atproto.server.createSession", "",
		map[string]string{"identifier": b.opt.Identifier, "password": b.opt.AppPassword}, &s)
	var se *StatusError
	if errors.As(err, &se) && (se.Status == http.StatusUnauthorized || se.Status == http.StatusBadRequest) {
		return nil, fmt.Errorf("bsky: login refused (check %s and %s; use an app password): %w",
			BlueskyIdentifierEnv, BlueskyAppPasswordEnv, err)
	}
	if err != nil {
		return nil, fmt.Errorf("bsky: createSession: %w", err)
	}
	if s.AccessJwt == "" {
		return nil, errors.New("bsky: createSession returned no accessJwt")
	}
	b.log.Info("bluesky session created", "did", s.DID)
	return &s, nil
}

// accessToken returns the cached access token, creating a session if
// there is none.
func (b *Bluesky) accessToken(ctx context.Context) (string, error) {
	b.sessMu.Lock()
	defer b.sessMu.Unlock()
	if b.sess == nil {
		s, err := b.createSession(ctx)
		if err != nil {
			return "", err
		}
		b.sess = s
	}
	return b.sess.AccessJwt, nil
}

// renew replaces an expired access token: refreshSession with the refresh
// token, and only if that fails a new session.
func (b *Bluesky) renew(ctx context.Context, stale string) (string, error) {
	b.sessMu.Lock()
	defer b.sessMu.Unlock()
	if b.sess != nil && b.sess.AccessJwt != stale {
		return b.sess.AccessJwt, nil // already renewed
	}
	if b.sess != nil && b.sess.RefreshJwt != "" {
		var s bskySession
		err := b.post(ctx, "com.atproto.server.refreshSession", b.sess.RefreshJwt, nil, &s)
		if err == nil && s.AccessJwt != "" {
			if s.RefreshJwt == "" {
				s.RefreshJwt = b.sess.RefreshJwt
			}
			b.sess = &s
			return s.AccessJwt, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		b.log.Warn("bluesky refreshSession failed, logging in again", "err", err)
	}
	b.sess = nil
	s, err := b.createSession(ctx)
	if err != nil {
		return "", err
	}
	b.sess = s
	return s.AccessJwt, nil
}

// bskyExpired reports whether a failed call was refused for its token.
func bskyExpired(err error, body []byte) bool {
	var se *StatusError
	if !errors.As(err, &se) || (se.Status != http.StatusBadRequest && se.Status != http.StatusUnauthorized) {
		return false
	}
	switch bskyErrorName(body) {
	case "ExpiredToken", "InvalidToken":
		return true
	}
	return false
}

// get queries BaseURL/xrpc/<nsid> for purpose p and decodes the response
// into v. With auth, the session is used (and created if need be); without
// auth, it is used only if there are credentials. An expired token is
// renewed once. body is the response body, also of an error. Each GET is
// charged to the budget.
func (b *Bluesky) get(ctx context.Context, p purpose, nsid string, params url.Values, auth bool, v any) ([]byte, error) {
	u := b.opt.BaseURL + "/xrpc/" + nsid
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	var tok string
	if auth || b.hasCredentials() {
		var err error
		if tok, err = b.accessToken(ctx); err != nil {
			return nil, err
		}
	}
	for try := 0; ; try++ {
		if err := b.budget.take(p, 1); err != nil {
			return nil, err
		}
		hdr := http.Header{"Accept": {"application/json"}}
		if tok != "" {
			hdr.Set("Authorization", "Bearer "+tok)
		}
		_, body, err := b.opt.Client.Get(ctx, u, hdr)
		if err == nil {
			if err := json.Unmarshal(body, v); err != nil {
				return body, fmt.Errorf("bsky %s: malformed JSON: %w", nsid, err)
			}
			return body, nil
		}
		if tok != "" && try == 0 && bskyExpired(err, body) {
			if tok, err = b.renew(ctx, tok); err != nil {
				return nil, err
			}
			continue
		}
		return body, fmt.Errorf("bsky %s: %w", nsid, err)
	}
}

// --- post views ---

type bskyRef struct {
	URI string `json:"uri"`
	CID string `json:"cid"`
}

type bskyFeature struct {
	Type string `json:"$type"`
	DID  string `json:"did"`
	Tag  string `json:"tag"`
}

type bskyFacet struct {
	Index struct {
		ByteStart int `json:"byteStart"`
		ByteEnd   int `json:"byteEnd"`
	} `json:"index"`
	Features []bskyFeature `json:"features"`
}

type bskyRecord struct {
	Text      string   `json:"text"`
	CreatedAt string   `json:"createdAt"`
	Langs     []string `json:"langs"`
	Reply     *struct {
		Root   bskyRef `json:"root"`
		Parent bskyRef `json:"parent"`
	} `json:"reply"`
	Facets []bskyFacet `json:"facets"` // nil if the record has none
	Tags   []string    `json:"tags"`
}

type bskyPostView struct {
	URI    string `json:"uri"`
	Author struct {
		DID         string `json:"did"`
		Handle      string `json:"handle"`
		DisplayName string `json:"displayName"`
	} `json:"author"`
	Record      bskyRecord `json:"record"`
	ReplyCount  int        `json:"replyCount"`
	RepostCount int        `json:"repostCount"`
	LikeCount   int        `json:"likeCount"`
	QuoteCount  int        `json:"quoteCount"`
	IndexedAt   string     `json:"indexedAt"`
}

func (pv *bskyPostView) metrics() post.Metrics {
	return post.Metrics{Likes: pv.LikeCount, Reposts: pv.RepostCount, Replies: pv.ReplyCount, Quotes: pv.QuoteCount}
}

// sortAt is what searchPosts' since compares with: the earlier of
// createdAt and indexedAt (a post cannot be dated into the future).
func (pv *bskyPostView) sortAt() time.Time {
	c, ci := bskyTime(pv.Record.CreatedAt)
	x, xi := bskyTime(pv.IndexedAt)
	switch {
	case ci && xi:
		if x.Before(c) {
			return x
		}
		return c
	case ci:
		return c
	default:
		return x
	}
}

func bskyTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// toPost maps a post view; ok is false (and the view logged) if it lacks
// a URI or a time. Followers are filled in later.
func (b *Bluesky) toPost(pv *bskyPostView) (post.Post, bool) {
	if !strings.HasPrefix(pv.URI, "at://") {
		b.log.Warn("skipping post without an at:// uri", "uri", pv.URI)
		return post.Post{}, false
	}
	created, ok := bskyTime(pv.Record.CreatedAt)
	if !ok {
		if created, ok = bskyTime(pv.IndexedAt); !ok {
			b.log.Warn("skipping post without a time", "uri", pv.URI)
			return post.Post{}, false
		}
	}
	r := &pv.Record
	p := post.Post{
		ID:        "bsky:" + pv.URI,
		Platform:  "bsky",
		URL:       bskyWebURL(pv.URI, pv.Author.Handle),
		Author:    post.Author{ID: pv.Author.DID, Handle: pv.Author.Handle, Name: pv.Author.DisplayName},
		Text:      r.Text,
		CreatedAt: created,
		Metrics:   pv.metrics(),
	}
	if p.Author.ID == "" {
		p.Author.ID = bskyRepo(pv.URI)
	}
	if len(r.Langs) > 0 {
		p.Lang = r.Langs[0]
	}
	p.ConversationID = p.ID
	if r.Reply != nil {
		if r.Reply.Parent.URI != "" {
			p.ReplyTo = "bsky:" + r.Reply.Parent.URI
		}
		if r.Reply.Root.URI != "" {
			p.ConversationID = "bsky:" + r.Reply.Root.URI
		}
	}
	p.Mentions, p.Hashtags = b.facets(r)
	return p, true
}

// facets returns the mentions and hashtags of a record. Facet offsets are
// UTF-8 byte offsets into the text. A mention is the handle as written
// ("@jane.bsky.social" → "jane.bsky.social"), else the handle known for
// its DID, else the DID. Both are nil if the record has no facets and no
// tags, so that they may be extracted from the text.
func (b *Bluesky) facets(r *bskyRecord) (mentions, hashtags []string) {
	if r.Facets == nil && r.Tags == nil {
		return nil, nil
	}
	mentions, hashtags = []string{}, []string{}
	for _, f := range r.Facets {
		span := ""
		if s, e := f.Index.ByteStart, f.Index.ByteEnd; 0 <= s && s < e && e <= len(r.Text) {
			span = r.Text[s:e]
			if !utf8.ValidString(span) { // offsets not on rune boundaries
				span = ""
			}
		}
		for _, ft := range f.Features {
			switch ft.Type {
			case "app.bsky.richtext.facet#mention":
				h := ""
				if rest, ok := bskyCutSigil(span, "@", "＠"); ok && rest != "" {
					h = rest
				} else if ft.DID != "" {
					h = b.knownHandle(ft.DID)
				}
				if h != "" && !slices.Contains(mentions, h) {
					mentions = append(mentions, h)
				}
			case "app.bsky.richtext.facet#tag":
				t := ft.Tag
				if t == "" {
					t, _ = bskyCutSigil(span, "#", "＃")
				}
				if t != "" && !slices.Contains(hashtags, t) {
					hashtags = append(hashtags, t)
				}
			}
		}
	}
	for _, t := range r.Tags {
		t = strings.TrimPrefix(t, "#")
		if t != "" && !slices.Contains(hashtags, t) {
			hashtags = append(hashtags, t)
		}
	}
	return mentions, hashtags
}

func bskyCutSigil(s string, sigils ...string) (string, bool) {
	s = strings.TrimSpace(s)
	for _, g := range sigils {
		if rest, ok := strings.CutPrefix(s, g); ok {
			return rest, true
		}
	}
	return "", false
}

// knownHandle returns the cached handle of did, or did itself.
func (b *Bluesky) knownHandle(did string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if pr, ok := b.profiles[did]; ok && pr.handle != "" {
		return pr.handle
	}
	return did
}

// bskyWebURL turns at://<did>/app.bsky.feed.post/<rkey> into the bsky.app
// address, by handle if there is a valid one.
func bskyWebURL(uri, handle string) string {
	parts := strings.Split(strings.TrimPrefix(uri, "at://"), "/")
	if len(parts) != 3 || parts[1] != "app.bsky.feed.post" || parts[2] == "" {
		return ""
	}
	who := handle
	if who == "" || who == "handle.invalid" {
		who = parts[0]
	}
	return "https://bsky.app/profile/" + who + "/post/" + parts[2]
}

// bskyRepo returns the DID (authority) of an at:// URI.
func bskyRepo(uri string) string {
	s := strings.TrimPrefix(uri, "at://")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i]
	}
	return s
}

// --- profiles ---

// fillFollowers sets Author.Followers from app.bsky.actor.getProfiles, at
// most 25 actors a call, through a cache. When the budget does not allow
// the calls, the counts are left at 0.
func (b *Bluesky) fillFollowers(ctx context.Context, p purpose, posts []post.Post) error {
	now := b.opt.Now()
	var want []string
	b.mu.Lock()
	for _, p := range posts {
		did := p.Author.ID
		if did == "" || slices.Contains(want, did) {
			continue
		}
		if pr, ok := b.profiles[did]; ok && now.Sub(pr.at) < bskyProfileTTL {
			continue
		}
		want = append(want, did)
	}
	b.mu.Unlock()
	for chunk := range slices.Chunk(want, bskyBatch) {
		var res struct {
			Profiles []struct {
				DID            string `json:"did"`
				Handle         string `json:"handle"`
				FollowersCount int    `json:"followersCount"`
			} `json:"profiles"`
		}
		if _, err := b.get(ctx, p, "app.bsky.actor.getProfiles", url.Values{"actors": chunk}, false, &res); err != nil {
			if errors.Is(err, ErrBudget) { // the posts matter more than their authors' counts
				b.log.Debug("follower counts skipped", "err", err)
				break
			}
			return err
		}
		b.mu.Lock()
		for _, did := range chunk { // unknown actors are cached too, as 0
			b.storeProfile(did, bskyProfile{at: now})
		}
		for _, pr := range res.Profiles {
			b.storeProfile(pr.DID, bskyProfile{handle: pr.Handle, followers: pr.FollowersCount, at: now})
		}
		b.mu.Unlock()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range posts {
		if pr, ok := b.profiles[posts[i].Author.ID]; ok {
			posts[i].Author.Followers = pr.followers
		}
	}
	return nil
}

// storeProfile caches pr; callers hold mu.
func (b *Bluesky) storeProfile(did string, pr bskyProfile) {
	if did == "" {
		return
	}
	if _, ok := b.profiles[did]; !ok && len(b.profiles) >= bskyProfileCache {
		for k := range b.profiles { // drop an arbitrary entry
			delete(b.profiles, k)
			break
		}
	}
	b.profiles[did] = pr
}

// --- Search ---

// bskyCompare orders mark positions (sortAt times).
func bskyCompare(a, b time.Time) int { return a.Compare(b) }

// Search implements Source. The keywords become searchPosts queries (see
// Queries): quoted, OR-joined with |, exclusions as -"term", Japanese
// keywords apart; each is run sort=latest since the cursor, up to 5 pages
// of 100. The cursor, one for all the queries, is JSON: the newest sortAt
// seen (RFC 3339) and the URIs seen at that instant; since is inclusive,
// so posts at the cursor's instant are dropped if already returned. A
// single Query.Languages entry is passed as lang; several languages are
// left to the matcher.
func (b *Bluesky) Search(ctx context.Context, q Query, cursor string) (Page, error) {
	if !b.hasCredentials() {
		return Page{}, b.credentialsError()
	}
	queries, err := b.Queries(q)
	if err != nil {
		return Page{}, err
	}
	cur, ok := b.readCursor(cursor)
	if !ok {
		start := q.Since
		if start.IsZero() {
			start = b.opt.Now()
		}
		cur = mark[time.Time]{At: start.UTC()}
	}

	var m merged
	next := cur
	for _, query := range queries {
		pageCursor := ""
		for page := 0; page < bskyMaxPages; page++ {
			res, err := b.searchPage(ctx, query, cur.At, q.Languages, pageCursor)
			if err != nil {
				return Page{}, err
			}
			for i := range res.Posts {
				pv := &res.Posts[i]
				at := pv.sortAt()
				if !cur.fresh(bskyCompare, at, "bsky:"+pv.URI) {
					continue
				}
				p, ok := b.toPost(pv)
				if !ok {
					continue
				}
				if m.add(p) {
					next.advance(bskyCompare, at, p.ID)
				}
			}
			if res.Cursor == "" || len(res.Posts) == 0 {
				break
			}
			pageCursor = res.Cursor
			if page+1 == bskyMaxPages {
				b.log.Warn("more posts than the page limit, older ones skipped", "query", query, "hitsTotal", res.HitsTotal)
			}
		}
	}
	posts := m.oldestFirst()
	if err := b.fillFollowers(ctx, forSearch, posts); err != nil {
		return Page{}, err
	}
	b.threads.newPoll()
	b.threads.seen(posts...)
	c, err := next.encode()
	if err != nil {
		return Page{}, fmt.Errorf("bsky: %w", err)
	}
	return Page{Posts: posts, Cursor: c}, nil
}

// readCursor reads a cursor; ok is false for a first poll. The per-keyword
// cursors of earlier versions ({"keyword":"<time>",…}) are read as their
// oldest time, so that nothing is skipped.
func (b *Bluesky) readCursor(cursor string) (mark[time.Time], bool) {
	if cursor == "" {
		return mark[time.Time]{}, false
	}
	var cur mark[time.Time]
	if err := json.Unmarshal([]byte(cursor), &cur); err == nil && !cur.At.IsZero() {
		return cur, true
	}
	var old map[string]string
	if err := json.Unmarshal([]byte(cursor), &old); err == nil && len(old) > 0 {
		var oldest time.Time
		for _, v := range old {
			if t, ok := bskyTime(v); ok && (oldest.IsZero() || t.Before(oldest)) {
				oldest = t
			}
		}
		if !oldest.IsZero() {
			return mark[time.Time]{At: oldest}, true
		}
	}
	b.log.Warn("bad cursor, starting from Since", "cursor", cursor)
	return mark[time.Time]{}, false
}

// Queries returns the searchPosts queries Search sends for q (see
// querybuild.go). A keyword too long is an error wrapping ErrQueryTooLong.
func (b *Bluesky) Queries(q Query) ([]string, error) {
	return bskyDialect().queries(q, "bsky", b.log, slog.LevelWarn)
}

type bskySearchResult struct {
	Posts     []bskyPostView `json:"posts"`
	Cursor    string         `json:"cursor"`
	HitsTotal int            `json:"hitsTotal"`
}

func (b *Bluesky) searchPage(ctx context.Context, query string, since time.Time, langs []string, cursor string) (*bskySearchResult, error) {
	v := url.Values{}
	v.Set("q", query)
	v.Set("sort", "latest")
	v.Set("limit", strconv.Itoa(bskyPageLimit))
	v.Set("since", since.UTC().Format("2006-01-02T15:04:05.000Z"))
	if len(langs) == 1 && langs[0] != "" {
		v.Set("lang", langs[0])
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	var res bskySearchResult
	body, err := b.get(ctx, forSearch, "app.bsky.feed.searchPosts", v, true, &res)
	var se *StatusError
	if errors.As(err, &se) {
		name := bskyErrorName(body)
		if se.Status == http.StatusForbidden || name == "AuthMissing" || name == "AuthRequired" || name == "AuthenticationRequired" {
			return nil, fmt.Errorf("bsky: %s refused searchPosts (HTTP %d): keyword search needs an authenticated session "+
				"through a PDS such as https://bsky.social (public.api.bsky.app forbids it); set %s and %s: %w",
				b.opt.BaseURL, se.Status, BlueskyIdentifierEnv, BlueskyAppPasswordEnv, err)
		}
	}
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// --- Thread and Refresh ---

type bskyThreadNode struct {
	Type   string          `json:"$type"`
	URI    string          `json:"uri"` // of a notFoundPost or blockedPost
	Post   *bskyPostView   `json:"post"`
	Parent *bskyThreadNode `json:"parent"`
}

// bskyPostID reports whether id is "bsky:at://…".
func bskyPostID(id string) bool { return strings.HasPrefix(id, "bsky:at://") }

// Thread implements Source, following record.reply.parent through the
// cache of posts seen (search results, ancestors fetched before). A
// missing ancestor is fetched with getPosts together with the other
// parents the last poll's posts need (25 a call), or, when it is the only
// one, with getPostThread?parentHeight=, which returns it and its
// ancestors at once. A deleted or blocked ancestor (left out by getPosts,
// notFoundPost or blockedPost in a thread) ends the chain. Follower counts
// come from getProfiles, batched and cached. When the budget is low Thread
// refuses, returning the ancestors found so far and an error wrapping
// ErrBudget.
func (b *Bluesky) Thread(ctx context.Context, p post.Post, depth int) ([]post.Post, error) {
	if depth <= 0 || !bskyPostID(p.ID) || !bskyPostID(p.ReplyTo) {
		return nil, nil
	}
	chain, err := b.threads.walk(ctx, p, depth, b.fetchParents)
	if err != nil && !errors.Is(err, ErrBudget) {
		return nil, err
	}
	return chain, err
}

// fetchParents implements fetchFunc.
func (b *Bluesky) fetchParents(ctx context.Context, _ post.Post, missing string, need int) error {
	if !bskyPostID(missing) {
		return nil
	}
	ids := b.threads.batch(missing, bskyBatch, bskyPostID)
	var found []post.Post
	if len(ids) == 1 {
		v := url.Values{}
		v.Set("uri", strings.TrimPrefix(missing, "bsky:"))
		v.Set("parentHeight", strconv.Itoa(min(max(need-1, 0), bskyMaxParent)))
		v.Set("depth", "0")
		var res struct {
			Thread *bskyThreadNode `json:"thread"`
		}
		body, err := b.get(ctx, forThread, "app.bsky.feed.getPostThread", v, false, &res)
		var se *StatusError
		if errors.As(err, &se) && (se.Status == http.StatusNotFound || bskyErrorName(body) == "NotFound") {
			b.threads.gone(missing)
			return nil
		}
		if err != nil {
			return err
		}
		for n := res.Thread; n != nil; n = n.Parent {
			if n.Post == nil || strings.HasSuffix(n.Type, "#notFoundPost") || strings.HasSuffix(n.Type, "#blockedPost") {
				if n.URI != "" {
					b.threads.gone("bsky:" + n.URI)
				}
				break
			}
			a, ok := b.toPost(n.Post)
			if !ok {
				break
			}
			found = append(found, a)
		}
	} else {
		uris := make([]string, len(ids))
		for i, id := range ids {
			uris[i] = strings.TrimPrefix(id, "bsky:")
		}
		var res struct {
			Posts []bskyPostView `json:"posts"`
		}
		if _, err := b.get(ctx, forThread, "app.bsky.feed.getPosts", url.Values{"uris": uris}, false, &res); err != nil {
			return err
		}
		for i := range res.Posts {
			if a, ok := b.toPost(&res.Posts[i]); ok && slices.Contains(ids, a.ID) {
				found = append(found, a)
			}
		}
	}
	if err := b.fillFollowers(ctx, forThread, found); err != nil {
		return err
	}
	b.threads.seen(found...)
	for _, id := range ids {
		if !b.threads.cached(id) {
			b.threads.gone(id) // deleted, or not shown
		}
	}
	return nil
}

// Refresh implements Source with getPosts, 25 URIs a call. Posts Bluesky
// no longer has, and ids that are not "bsky:at://…", are left out. When
// the budget is low Refresh refuses, returning the counts read so far and
// an error wrapping ErrBudget.
func (b *Bluesky) Refresh(ctx context.Context, ids []string) (map[string]post.Metrics, error) {
	var uris []string
	dup := map[string]bool{}
	for _, id := range ids {
		uri, ok := strings.CutPrefix(id, "bsky:")
		if ok && strings.HasPrefix(uri, "at://") && !dup[uri] {
			dup[uri] = true
			uris = append(uris, uri)
		}
	}
	out := make(map[string]post.Metrics, len(uris))
	for chunk := range slices.Chunk(uris, bskyBatch) {
		var res struct {
			Posts []bskyPostView `json:"posts"`
		}
		if _, err := b.get(ctx, forRefresh, "app.bsky.feed.getPosts", url.Values{"uris": chunk}, false, &res); err != nil {
			if errors.Is(err, ErrBudget) {
				return out, err
			}
			return nil, err
		}
		for i := range res.Posts {
			if pv := &res.Posts[i]; pv.URI != "" {
				out["bsky:"+pv.URI] = pv.metrics()
			}
		}
	}
	return out, nil
}
