package listener

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kizuki-dev/kizuki/post"
)

// Reddit: keyword search of links through the OAuth API
// (https://oauth.reddit.com), with a script app's password grant. Reddit
// shut down its unauthenticated .json endpoints in 2026, so OAuth is the
// only path; see shared/platforms.md §4.
//
// Reddit's search does not search comments (its API has no comment search
// type). Comments are covered only in the configured Subreddits, by polling
// /r/{subs}/comments (the newest comments there) and keeping those newer
// than the cursor; they are not filtered by keyword here: the matcher
// decides, as for every source. With no Subreddits, comments are not seen.

// The environment variables holding a script app's credentials.
const (
	RedditEnvClientID     = "KIZUKI_REDDIT_CLIENT_ID"
	RedditEnvClientSecret = "KIZUKI_REDDIT_CLIENT_SECRET"
	RedditEnvUsername     = "KIZUKI_REDDIT_USERNAME"
	RedditEnvPassword     = "KIZUKI_REDDIT_PASSWORD"
)

const (
	redditMaxQuery   = 512 // characters of q
	redditMaxPages   = 5   // per listing and poll
	redditPageSize   = 100
	redditInfoChunk  = 100 // fullnames per /api/info
	redditMaxContext = 8   // parents per /comments?context=
	// redditTokenMargin is how long before expires_in a token is renewed.
	redditTokenMargin = 5 * time.Minute
)

// RedditOptions configure Reddit. Zero values are sane defaults, except
// the credentials, which a script app needs (see RedditCredentialsFromEnv).
type RedditOptions struct {
	AuthURL string // default https://www.reddit.com
	APIURL  string // default https://oauth.reddit.com
	// A script app's credentials, from the environment; never logged.
	ClientID, ClientSecret, Username, Password string
	// UserAgent is sent on every request, as Reddit requires a unique,
	// descriptive one. Default "kizuki/0 by <Username>".
	UserAgent string
	// Subreddits, if any, restrict the search to them ("golang" or
	// "r/golang"); their newest comments are polled too.
	Subreddits []string
	// Client is the shared GET layer; Reddit uses a copy of its options
	// with UserAgent replaced.
	Client *Client
	// HTTP posts the token request; default: 20 s timeout.
	HTTP *http.Client
	// Now is the clock; a first poll with a zero Query.Since starts from
	// Now (no backfill).
	Now func() time.Time
	// DailyBudget is how many API requests may be made per UTC day; 0 is
	// unlimited. See Budget.
	DailyBudget int
	// Budget, if set, is used instead of one made from DailyBudget, so
	// that its count survives a rebuild of the source (a reload).
	Budget *Budget
}

// RedditCredentialsFromEnv fills the credentials of opt from the
// KIZUKI_REDDIT_* environment variables, where opt has none.
func RedditCredentialsFromEnv(opt *RedditOptions) {
	for _, f := range []struct {
		v   *string
		env string
	}{
		{&opt.ClientID, RedditEnvClientID}, {&opt.ClientSecret, RedditEnvClientSecret},
		{&opt.Username, RedditEnvUsername}, {&opt.Password, RedditEnvPassword},
	} {
		if *f.v == "" {
			*f.v = os.Getenv(f.env)
		}
	}
}

// Reddit is the Reddit Source.
type Reddit struct {
	opt     RedditOptions
	client  *Client
	log     *slog.Logger
	subs    []string
	budget  *Budget
	threads *threads

	mu      sync.Mutex
	token   string
	expires time.Time
}

var (
	_ Source   = (*Reddit)(nil)
	_ Budgeted = (*Reddit)(nil)
)

// NewReddit returns a Reddit source with defaults filled in. Missing
// credentials are reported by the first request, not here.
func NewReddit(opt RedditOptions) *Reddit {
	if opt.AuthURL == "" {
		opt.AuthURL = "https://www.reddit.com"
	}
	if opt.APIURL == "" {
		opt.APIURL = "https://oauth.reddit.com"
	}
	opt.AuthURL = strings.TrimRight(opt.AuthURL, "/")
	opt.APIURL = strings.TrimRight(opt.APIURL, "/")
	if opt.UserAgent == "" {
		opt.UserAgent = "kizuki/0 by " + opt.Username
	}
	if opt.HTTP == nil {
		opt.HTTP = &http.Client{Timeout: 20 * time.Second}
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	var copt ClientOptions
	if opt.Client != nil {
		copt = opt.Client.opt
	}
	copt.UserAgent = opt.UserAgent // Client.Get sets its own User-Agent
	client := NewClient(copt)
	r := &Reddit{opt: opt, client: client, log: client.opt.Logger.With("source", "reddit"),
		budget: orBudget(opt.Budget, "reddit", opt.DailyBudget, UnitRequests, opt.Now), threads: newThreads(opt.Now)}
	for _, s := range opt.Subreddits {
		s = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "/"), "r/")
		s = strings.Trim(s, "/")
		if s != "" && !slices.Contains(r.subs, s) {
			r.subs = append(r.subs, s)
		}
	}
	return r
}

// Name implements Source.
func (r *Reddit) Name() string { return "reddit" }

// Remaining implements Budgeted: the requests that may still be made today.
func (r *Reddit) Remaining() (n int, limited bool) { return r.budget.Remaining() }

// redditErrMissing names the environment variables of missing credentials.
func (r *Reddit) redditErrMissing() error {
	var miss []string
	for _, f := range []struct{ v, env string }{
		{r.opt.ClientID, RedditEnvClientID}, {r.opt.ClientSecret, RedditEnvClientSecret},
		{r.opt.Username, RedditEnvUsername}, {r.opt.Password, RedditEnvPassword},
	} {
		if f.v == "" {
			miss = append(miss, f.env)
		}
	}
	if len(miss) == 0 {
		return nil
	}
	return fmt.Errorf("reddit: missing credentials: set %s (a script app's client id and secret, "+
		"and the account's username and password)", strings.Join(miss, ", "))
}

// accessToken returns the cached token, or fetches one. stale, if not
// empty, is a token the API refused: it is not returned again.
func (r *Reddit) accessToken(ctx context.Context, stale string) (string, error) {
	if err := r.redditErrMissing(); err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.token != "" && r.token != stale && r.opt.Now().Before(r.expires) {
		return r.token, nil
	}
	r.token = ""
	form := url.Values{"grant_type": {"password"}, "username": {r.opt.Username}, "password": {r.opt.Password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.opt.AuthURL+"/api/v1/access_token",
		strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("reddit token: %w", err)
	}
	req.SetBasicAuth(r.opt.ClientID, r.opt.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", r.opt.UserAgent)
	resp, err := r.opt.HTTP.Do(req)
	if err != nil {
		return "", fmt.Errorf("reddit token: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return "", fmt.Errorf("reddit token: %w", err)
	}
	safe := redact(req.URL.String())
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("reddit token: %w", &StatusError{URL: safe, Status: resp.StatusCode, Body: snippet(body)})
	}
	var tok struct {
		AccessToken string  `json:"access_token"`
		TokenType   string  `json:"token_type"`
		ExpiresIn   float64 `json:"expires_in"`
		Error       string  `json:"error"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		return "", fmt.Errorf("reddit token: POST %s: malformed JSON: %w", safe, err)
	}
	if tok.AccessToken == "" {
		// A wrong password is a 200 with {"error": "invalid_grant"}.
		return "", fmt.Errorf("reddit token: POST %s: no access token (error %q): check %s and %s",
			safe, tok.Error, RedditEnvUsername, RedditEnvPassword)
	}
	ttl := time.Duration(tok.ExpiresIn * float64(time.Second))
	if ttl <= 0 {
		ttl = time.Hour
	}
	margin := min(redditTokenMargin, ttl/10)
	r.token, r.expires = tok.AccessToken, r.opt.Now().Add(ttl-margin)
	return r.token, nil
}

// get GETs path (with query v) on the API host with the bearer token and
// decodes the JSON body into out. A 401 renews the token once. Each
// request is charged to the budget for purpose p.
func (r *Reddit) get(ctx context.Context, p purpose, what, path string, v url.Values, out any) error {
	v.Set("raw_json", "1") // text not &amp;-escaped
	u := r.opt.APIURL + path + "?" + v.Encode()
	stale := ""
	for try := 0; ; try++ {
		tok, err := r.accessToken(ctx, stale)
		if err != nil {
			return err
		}
		if err := r.budget.take(p, 1); err != nil {
			return err
		}
		_, err = r.client.GetJSON(ctx, u, http.Header{"Authorization": {"bearer " + tok}}, out)
		var se *StatusError
		if errors.As(err, &se) && se.Status == http.StatusUnauthorized && try == 0 {
			r.log.Info("token refused, renewing it")
			stale = tok
			continue
		}
		if errors.As(err, &se) && se.Status == http.StatusForbidden && strings.Contains(strings.ToLower(se.Body), "blocked") {
			return fmt.Errorf("reddit %s: blocked by Reddit (check the User-Agent and OAuth access): %w", what, err)
		}
		if err != nil {
			return fmt.Errorf("reddit %s: %w", what, err)
		}
		return nil
	}
}

// redditThing is a Listing child: a link (t3) or a comment (t1).
type redditThing struct {
	Kind string     `json:"kind"`
	Data redditData `json:"data"`
}

type redditData struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	Title          string          `json:"title"`
	Selftext       string          `json:"selftext"`
	Body           string          `json:"body"`
	Author         string          `json:"author"`
	AuthorFullname string          `json:"author_fullname"`
	CreatedUTC     float64         `json:"created_utc"`
	Permalink      string          `json:"permalink"`
	Score          int             `json:"score"`
	NumComments    int             `json:"num_comments"`
	ParentID       string          `json:"parent_id"`
	LinkID         string          `json:"link_id"`
	Replies        json.RawMessage `json:"replies"` // "" or a Listing
}

type redditListing struct {
	Kind string `json:"kind"`
	Data struct {
		After    string        `json:"after"`
		Children []redditThing `json:"children"`
	} `json:"data"`
}

// fullname returns "t3_xxx" / "t1_xxx".
func (t *redditThing) fullname() string {
	if t.Data.Name != "" {
		return t.Data.Name
	}
	if t.Kind != "" && t.Data.ID != "" {
		return t.Kind + "_" + t.Data.ID
	}
	return ""
}

func (t *redditThing) isComment() bool {
	return t.Kind == "t1" || strings.HasPrefix(t.fullname(), "t1_")
}

// deleted: a deleted or removed comment or self post.
func (t *redditThing) deleted() bool {
	s := t.Data.Selftext
	if t.isComment() {
		s = t.Data.Body
	}
	return s == "[deleted]" || s == "[removed]"
}

func (t *redditThing) created() time.Time {
	sec, frac := math.Modf(t.Data.CreatedUTC)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// post maps a link or a comment; ok is false for other kinds or things
// without a name or a time.
func (t *redditThing) post() (post.Post, bool) {
	name := t.fullname()
	if name == "" || t.Data.CreatedUTC <= 0 || !(t.Kind == "t1" || t.Kind == "t3") {
		return post.Post{}, false
	}
	d := &t.Data
	p := post.Post{
		ID:        "reddit:" + name,
		Platform:  "reddit",
		Author:    post.Author{ID: d.AuthorFullname, Handle: d.Author},
		CreatedAt: t.created(),
		Metrics:   post.Metrics{Likes: d.Score, Replies: d.NumComments},
	}
	if d.Permalink != "" {
		p.URL = "https://www.reddit.com" + d.Permalink
	}
	if t.isComment() {
		p.Text = d.Body
		if d.ParentID != "" {
			p.ReplyTo = "reddit:" + d.ParentID
		}
		if d.LinkID != "" {
			p.ConversationID = "reddit:" + d.LinkID
		}
	} else {
		p.Text = d.Title
		if d.Selftext != "" {
			p.Text += "\n" + d.Selftext
		}
		p.ConversationID = p.ID
	}
	return p, true
}

// Search implements Source. Keywords are OR-joined into Reddit queries of
// at most 512 characters (several queries when longer; see Queries),
// phrases quoted and exclusions pushed down as -"term". Results are
// sorted by new and paged with after (at most 5 pages per query) until
// older than the cursor; Reddit has no "since" parameter. The cursor is
// JSON, shared by all the queries: the newest created_utc seen and the
// fullnames seen at that second. Comments come only from the configured
// subreddits (see the package comment above). Query.Languages is left to
// the matcher (Reddit has no language field).
func (r *Reddit) Search(ctx context.Context, q Query, cursor string) (Page, error) {
	var cur mark[int64]
	if cursor != "" {
		if err := json.Unmarshal([]byte(cursor), &cur); err != nil || cur.At <= 0 {
			r.log.Warn("bad cursor, starting from Since", "cursor", cursor)
			cursor = ""
		}
	}
	if cursor == "" {
		t := q.Since
		if t.IsZero() {
			t = r.opt.Now()
		}
		cur = mark[int64]{At: max(t.Unix(), 0)}
	}
	queries, err := r.Queries(q)
	if err != nil {
		return Page{}, err
	}
	// sort=new within a time window: a week, or longer after a long pause.
	window := "week"
	switch age := r.opt.Now().Sub(time.Unix(cur.At, 0)); {
	case age > 365*24*time.Hour:
		window = "all"
	case age > 30*24*time.Hour:
		window = "year"
	case age > 6*24*time.Hour:
		window = "month"
	}

	var m merged
	path := "/search"
	if len(r.subs) > 0 {
		path = "/r/" + r.subPath() + "/search"
	}
	for _, qs := range queries {
		v := url.Values{
			"q": {qs}, "sort": {"new"}, "t": {window}, "limit": {strconv.Itoa(redditPageSize)},
			"type": {"link"},
		}
		if len(r.subs) > 0 {
			v.Set("restrict_sr", "1") // absent: false ("0" would read as true)
		}
		if err := r.listing(ctx, "search", path, v, cur, &m); err != nil {
			return Page{}, err
		}
	}
	if len(r.subs) > 0 {
		v := url.Values{"limit": {strconv.Itoa(redditPageSize)}}
		if err := r.listing(ctx, "comments", "/r/"+r.subPath()+"/comments", v, cur, &m); err != nil {
			return Page{}, err
		}
	}

	posts := m.oldestFirst()
	next := cur
	for _, p := range posts {
		next.advance(cmp.Compare[int64], p.CreatedAt.Unix(), strings.TrimPrefix(p.ID, "reddit:"))
	}
	r.threads.newPoll()
	r.threads.seen(posts...)
	c, err := next.encode()
	if err != nil {
		return Page{}, fmt.Errorf("reddit: %w", err)
	}
	return Page{Posts: posts, Cursor: c}, nil
}

// Queries returns the q values Search sends for q (see querybuild.go):
// keywords OR-joined (quoted unless a plain word), then the exclusions,
// each query at most 512 characters. A keyword too long for a query is an
// error wrapping ErrQueryTooLong.
func (r *Reddit) Queries(q Query) ([]string, error) {
	return redditDialect().queries(q, "reddit", r.log, slog.LevelWarn)
}

func (r *Reddit) subPath() string {
	subs := make([]string, len(r.subs))
	for i, s := range r.subs {
		subs[i] = url.PathEscape(s)
	}
	return strings.Join(subs, "+")
}

// listing pages through a newest-first listing, adding the things past
// cur, until one older than cur, the last page or redditMaxPages.
func (r *Reddit) listing(ctx context.Context, what, path string, v url.Values, cur mark[int64], m *merged) error {
	after := ""
	for page := 0; page < redditMaxPages; page++ {
		if after != "" {
			v.Set("after", after)
		}
		var l redditListing
		if err := r.get(ctx, forSearch, what, path, v, &l); err != nil {
			return err
		}
		older := false
		for _, t := range l.Data.Children {
			p, ok := t.post()
			if !ok {
				r.log.Warn("skipping a thing without a name or a time", "kind", t.Kind, "id", t.Data.ID)
				continue
			}
			sec, name := p.CreatedAt.Unix(), t.fullname()
			if sec < cur.At {
				older = true
				continue
			}
			if cur.fresh(cmp.Compare[int64], sec, name) {
				m.add(p)
			}
		}
		after = l.Data.After
		if older || after == "" || len(l.Data.Children) == 0 {
			return nil
		}
		if page+1 == redditMaxPages {
			r.log.Warn("more results than pages, older ones skipped", "what", what, "pages", redditMaxPages)
		}
	}
	return nil
}

// Thread implements Source for a comment (its ReplyTo is its parent_id,
// its ConversationID its link), walking parent_id up through the cache of
// things seen (search results, ancestors fetched before). A missing
// ancestor is fetched with /api/info together with the other parents the
// last poll's posts need (up to 100 fullnames a request), or, when it is
// the only one, with /comments/{link}?comment=&context=, which returns up
// to 8 parents and the link at once; chains deeper than that take more
// requests. The ancestors are returned oldest first (the link post first);
// a deleted or removed ancestor ends the chain, and so does an unknown
// comment or link. When the budget is low Thread refuses, returning the
// ancestors found so far and an error wrapping ErrBudget.
func (r *Reddit) Thread(ctx context.Context, p post.Post, depth int) ([]post.Post, error) {
	name := strings.TrimPrefix(p.ID, "reddit:")
	link := strings.TrimPrefix(p.ConversationID, "reddit:")
	if depth <= 0 || !strings.HasPrefix(name, "t1_") || !strings.HasPrefix(link, "t3_") {
		return nil, nil // a link has no ancestors
	}
	chain, err := r.threads.walk(ctx, p, depth, r.fetchParents)
	if err != nil && !errors.Is(err, ErrBudget) {
		return nil, err
	}
	return chain, err
}

// redditThingID reports whether id is "reddit:t1_…" or "reddit:t3_…".
func redditThingID(id string) bool {
	n, ok := strings.CutPrefix(id, "reddit:")
	return ok && len(n) > 3 && (strings.HasPrefix(n, "t1_") || strings.HasPrefix(n, "t3_")) && !strings.ContainsAny(n, ",/?&# ")
}

// fetchParents implements fetchFunc.
func (r *Reddit) fetchParents(ctx context.Context, child post.Post, missing string, need int) error {
	if !redditThingID(missing) {
		return nil
	}
	ids := r.threads.batch(missing, redditInfoChunk, redditThingID)
	childName := strings.TrimPrefix(child.ID, "reddit:")
	link := strings.TrimPrefix(child.ConversationID, "reddit:")
	if len(ids) == 1 && strings.HasPrefix(missing, "reddit:t1_") && strings.HasPrefix(childName, "t1_") && strings.HasPrefix(link, "t3_") {
		return r.fetchContext(ctx, childName, link, missing, min(need, redditMaxContext))
	}
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = strings.TrimPrefix(id, "reddit:")
	}
	var l redditListing
	if err := r.get(ctx, forThread, "thread", "/api/info", url.Values{"id": {strings.Join(names, ",")}}, &l); err != nil {
		return err
	}
	r.cacheThings(l.Data.Children)
	for _, id := range ids {
		if !r.threads.cached(id) {
			r.threads.gone(id)
		}
	}
	return nil
}

// fetchContext asks /comments/{link}?comment={child}&context=n: the link
// and the chain of up to n parents down to child.
func (r *Reddit) fetchContext(ctx context.Context, child, link, missing string, n int) error {
	v := url.Values{"comment": {strings.TrimPrefix(child, "t1_")}, "context": {strconv.Itoa(n)}}
	var res []json.RawMessage
	err := r.get(ctx, forThread, "thread", "/comments/"+url.PathEscape(strings.TrimPrefix(link, "t3_")), v, &res)
	var se *StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		r.threads.gone(missing)
		return nil
	}
	if err != nil {
		return err
	}
	if len(res) != 2 {
		return fmt.Errorf("reddit thread %s: want 2 listings, got %d", child, len(res))
	}
	var linkL, tree redditListing
	if err := json.Unmarshal(res[0], &linkL); err != nil {
		return fmt.Errorf("reddit thread %s: malformed link listing: %w", child, err)
	}
	if err := json.Unmarshal(res[1], &tree); err != nil {
		return fmt.Errorf("reddit thread %s: malformed comment listing: %w", child, err)
	}
	path, err := redditPath(tree.Data.Children, child)
	if err != nil {
		return fmt.Errorf("reddit thread %s: %w", child, err)
	}
	if len(path) > 0 {
		r.cacheThings(path[:len(path)-1])
		if top := path[0]; strings.HasPrefix(top.Data.ParentID, "t3_") {
			r.cacheThings(linkL.Data.Children)
		}
	}
	if !r.threads.cached(missing) {
		r.threads.gone(missing) // the comment is not in its thread any more
	}
	return nil
}

// cacheThings caches links and comments for Thread; deleted and removed
// ones as gone.
func (r *Reddit) cacheThings(things []redditThing) {
	for i := range things {
		t := &things[i]
		name := t.fullname()
		if name == "" {
			continue
		}
		p, ok := t.post()
		if !ok || t.deleted() {
			r.threads.gone("reddit:" + name)
			continue
		}
		r.threads.seen(p)
	}
}

// redditPath finds the chain of comments from a root of the tree down to
// the comment named name (inclusive), or nil.
func redditPath(things []redditThing, name string) ([]redditThing, error) {
	for _, t := range things {
		if t.Kind != "t1" {
			continue // "more" stubs
		}
		if t.fullname() == name {
			return []redditThing{t}, nil
		}
		if len(t.Data.Replies) == 0 || t.Data.Replies[0] != '{' {
			continue // "" when there are none
		}
		var sub redditListing
		if err := json.Unmarshal(t.Data.Replies, &sub); err != nil {
			return nil, fmt.Errorf("malformed replies of %s: %w", t.fullname(), err)
		}
		p, err := redditPath(sub.Data.Children, name)
		if err != nil {
			return nil, err
		}
		if p != nil {
			return append([]redditThing{t}, p...), nil
		}
	}
	return nil, nil
}

// Refresh implements Source with /api/info, 100 fullnames a request.
// Unknown, deleted and removed things, and ids that are not
// "reddit:t1_…" or "reddit:t3_…", are left out.
func (r *Reddit) Refresh(ctx context.Context, ids []string) (map[string]post.Metrics, error) {
	var names []string
	for _, id := range ids {
		n, ok := strings.CutPrefix(id, "reddit:")
		if !ok || !(strings.HasPrefix(n, "t1_") || strings.HasPrefix(n, "t3_")) || len(n) < 4 ||
			strings.ContainsAny(n, ",/?&# ") || slices.Contains(names, n) {
			continue
		}
		names = append(names, n)
	}
	out := make(map[string]post.Metrics, len(names))
	for chunk := range slices.Chunk(names, redditInfoChunk) {
		var l redditListing
		if err := r.get(ctx, forRefresh, "refresh", "/api/info", url.Values{"id": {strings.Join(chunk, ",")}}, &l); err != nil {
			if errors.Is(err, ErrBudget) {
				return out, err
			}
			return nil, err
		}
		for _, t := range l.Data.Children {
			p, ok := t.post()
			if !ok || t.deleted() || !slices.Contains(chunk, t.fullname()) {
				continue
			}
			out[p.ID] = p.Metrics
		}
	}
	return out, nil
}
