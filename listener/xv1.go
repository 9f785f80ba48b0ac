package listener

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dghubble/go-twitter/twitter"
	"github.com/kizuki-dev/kizuki/post"
)

// X / Twitter through API v1.1 with github.com/dghubble/go-twitter, for
// accounts that still have v1.1 access (shared/platforms.md §1.2–1.3).
// go-twitter ignores rate-limit headers and returns no error for an
// empty-bodied 429, so every response goes through xv1Transport first.

// XV1Options configure XV1.
type XV1Options struct {
	// HTTP is the OAuth-signed client (required); its Transport is
	// wrapped, never changed.
	HTTP *http.Client
	// MaxWait is the longest wait for a rate-limit reset before retrying
	// once; a later reset is an error at once. Default 16 min.
	MaxWait time.Duration
	// Sleep waits d or until ctx ends; tests replace it.
	Sleep  func(ctx context.Context, d time.Duration) error
	Now    func() time.Time
	Logger *slog.Logger
	// MaxPages bounds search pages (of 100) per query and poll; default 5.
	MaxPages int
	// DailyBudget is how many posts may be read per UTC day; 0 is
	// unlimited. See Budget.
	DailyBudget int
	// Budget, if set, is used instead of one made from DailyBudget, so
	// that its count survives a rebuild of the source (a reload).
	Budget *Budget
}

// XV1 is the X API v1.1 Source.
type XV1 struct {
	opt     XV1Options
	log     *slog.Logger
	budget  *Budget
	threads *threads

	mu    sync.Mutex
	reset time.Time // last x-rate-limit-reset seen on a 429
}

var (
	_ Source   = (*XV1)(nil)
	_ Budgeted = (*XV1)(nil)
)

// NewXV1 returns an XV1 source with defaults filled in.
func NewXV1(opt XV1Options) (*XV1, error) {
	if opt.HTTP == nil {
		return nil, errors.New("xv1: an OAuth-signed *http.Client is required")
	}
	if opt.MaxWait <= 0 {
		opt.MaxWait = 16 * time.Minute
	}
	if opt.Sleep == nil {
		opt.Sleep = sleep
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.MaxPages <= 0 {
		opt.MaxPages = 5
	}
	return &XV1{opt: opt, log: opt.Logger.With("source", "x"),
		budget: orBudget(opt.Budget, "x", opt.DailyBudget, UnitPosts, opt.Now), threads: newThreads(opt.Now)}, nil
}

// Name implements Source.
func (x *XV1) Name() string { return "x" }

// Remaining implements Budgeted: the posts that may still be read today.
func (x *XV1) Remaining() (n int, limited bool) { return x.budget.Remaining() }

// RateLimitReset is when the last rate limit hit ends (zero if none).
func (x *XV1) RateLimitReset() time.Time {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.reset
}

// api returns a go-twitter client whose requests carry ctx and pass
// through xv1Transport.
func (x *XV1) api(ctx context.Context) *twitter.Client {
	base := x.opt.HTTP.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc := *x.opt.HTTP
	hc.Transport = &xv1Transport{x: x, base: base, ctx: ctx}
	return twitter.NewClient(&hc)
}

// xv1Transport makes every non-2xx response an error (*StatusError), so
// that go-twitter cannot return a nil error for it. A 429 (empty body,
// {"errors":[{"code":88}]} or anything else) records x-rate-limit-reset
// and, if the reset is within MaxWait, sleeps until then and retries once.
type xv1Transport struct {
	x    *XV1
	base http.RoundTripper
	ctx  context.Context
}

func (t *xv1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.WithContext(t.ctx)
	for attempt := 0; ; attempt++ {
		resp, err := t.base.RoundTrip(req)
		if err != nil || resp.StatusCode < 400 {
			return resp, err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		serr := &StatusError{URL: redact(req.URL.String()), Status: resp.StatusCode, Body: snippet(body)}
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != 420 {
			return nil, serr
		}
		now := t.x.opt.Now()
		wait := retryAfter(resp.Header, now)
		if wait <= 0 {
			wait = time.Minute // no reset header: X's windows are 15 min
		}
		t.x.mu.Lock()
		t.x.reset = now.Add(wait)
		t.x.mu.Unlock()
		if attempt > 0 || wait > t.x.opt.MaxWait {
			return nil, fmt.Errorf("rate limited until %s: %w", now.Add(wait).UTC().Format(time.RFC3339), serr)
		}
		t.x.log.Warn("rate limited, waiting for the reset", "url", serr.URL, "wait", wait)
		if err := t.x.opt.Sleep(t.ctx, wait); err != nil {
			return nil, err
		}
	}
}

// Search implements Source with search/tweets (tweet_mode=extended,
// result_type=recent, 100 a page), paged with max_id while next_results
// is given, for each query of Queries. The cursor is the newest id seen by
// any query, passed as since_id to all; a first poll starts at Query.Since
// (or now) as a snowflake id. With the budget spent, Search returns what
// it read and an error wrapping ErrBudget.
func (x *XV1) Search(ctx context.Context, q Query, cursor string) (Page, error) {
	queries, err := x.Queries(q)
	if err != nil {
		return Page{Cursor: cursor}, err
	}
	since := xNum(cursor)
	if since == 0 {
		if cursor != "" {
			x.log.Warn("bad cursor, starting from Since", "cursor", cursor)
		}
		t := q.Since
		if t.IsZero() {
			t = x.opt.Now()
		}
		since = xTimeID(t)
	}
	lang := ""
	if len(q.Languages) == 1 {
		lang = strings.TrimSpace(q.Languages[0])
	}
	api := x.api(ctx)
	newest := since
	x.threads.newPoll()
	var m merged
	var budgetErr error
queries:
	for _, query := range queries {
		var maxID int64
		for page := 0; page < x.opt.MaxPages; page++ {
			left := x.budget.allowance(forSearch)
			if left == 0 {
				budgetErr = x.budget.refuse(forSearch)
				break queries
			}
			res, _, err := api.Search.Tweets(&twitter.SearchTweetParams{
				Query: query, Lang: lang, ResultType: "recent", Count: min(left, 100),
				SinceID: int64(since), MaxID: maxID, TweetMode: "extended",
				IncludeEntities: twitter.Bool(true),
			})
			if err != nil {
				return Page{Cursor: cursor}, fmt.Errorf("xv1 search: %w", err)
			}
			x.budget.charge(len(res.Statuses))
			for i := range res.Statuses {
				t := &res.Statuses[i]
				if maxID == 0 || t.ID <= maxID {
					maxID = t.ID - 1
				}
				if t.RetweetedStatus != nil {
					continue
				}
				p, ok := x.post(t)
				if !ok {
					continue
				}
				newest = max(newest, uint64(t.ID))
				m.add(p)
			}
			if len(res.Statuses) == 0 || res.Metadata == nil || res.Metadata.NextResults == "" {
				break
			}
			if page+1 == x.opt.MaxPages {
				x.log.Warn("more results than MaxPages, older ones skipped", "query", query)
			}
		}
	}
	posts := m.posts
	slices.SortStableFunc(posts, func(a, b post.Post) int { return xCompareIDs(xNum(a.ID), xNum(b.ID)) })
	x.threads.seen(posts...)
	return Page{Posts: posts, Cursor: strconv.FormatUint(newest, 10)}, budgetErr
}

// Queries returns the search/tweets queries Search sends for q: as for
// v2 (see X.Queries) but within 500 characters and with
// -filter:retweets; one language goes in the lang parameter.
func (x *XV1) Queries(q Query) ([]string, error) {
	return xv1Dialect().queries(q, "xv1", x.log, slog.LevelWarn)
}

// post maps a v1.1 tweet; ok is false without an id or a valid time. v1.1
// has no conversation id.
func (x *XV1) post(t *twitter.Tweet) (post.Post, bool) {
	id := t.IDStr
	if id == "" && t.ID > 0 {
		id = strconv.FormatInt(t.ID, 10)
	}
	created, err := t.CreatedAtTime()
	if xNum(id) == 0 || err != nil {
		x.log.Warn("skipping tweet without an id or time", "id", id, "created_at", t.CreatedAt)
		return post.Post{}, false
	}
	text := t.FullText
	if text == "" {
		text = t.Text
	}
	p := post.Post{
		ID:        "x:" + id,
		Platform:  "x",
		URL:       "https://x.com/i/web/status/" + id,
		Text:      xUnescape(text),
		Lang:      t.Lang,
		CreatedAt: created.UTC(),
		Metrics:   post.Metrics{Likes: t.FavoriteCount, Reposts: t.RetweetCount, Replies: t.ReplyCount, Quotes: t.QuoteCount},
	}
	if u := t.User; u != nil {
		p.Author = post.Author{ID: u.IDStr, Handle: u.ScreenName, Name: u.Name, Followers: u.FollowersCount}
		if u.ScreenName != "" {
			p.URL = "https://x.com/" + u.ScreenName + "/status/" + id
		}
	}
	if r := xv1ReplyTo(t); r != "" {
		p.ReplyTo = "x:" + r
	}
	if e := t.Entities; e != nil {
		for _, m := range e.UserMentions {
			p.Mentions = append(p.Mentions, m.ScreenName)
		}
		for _, h := range e.Hashtags {
			p.Hashtags = append(p.Hashtags, h.Text)
		}
	}
	return p, true
}

func xv1ReplyTo(t *twitter.Tweet) string {
	if t.InReplyToStatusIDStr != "" {
		return t.InReplyToStatusIDStr
	}
	if t.InReplyToStatusID > 0 {
		return strconv.FormatInt(t.InReplyToStatusID, 10)
	}
	return ""
}

// xv1Gone tells whether an error of statuses/show means the tweet is not
// there to see: 404 (code 144), or 403 for a protected tweet (179) or a
// suspended user (63). 403 code 453 (no v1.1 access) is a real error.
func xv1Gone(err error) bool {
	var se *StatusError
	if !errors.As(err, &se) {
		return false
	}
	return se.Status == http.StatusNotFound ||
		se.Status == http.StatusForbidden && (strings.Contains(se.Body, `"code":179`) || strings.Contains(se.Body, `"code":63`))
}

// Thread implements Source, following in_reply_to_status_id_str through
// the cache of tweets seen. A missing ancestor is fetched with
// statuses/lookup together with the other parents the last poll's tweets
// need (up to 100), or with statuses/show when it is the only one. A
// deleted or hidden ancestor ends the chain. When the budget is low
// Thread refuses, returning the ancestors found so far and an error
// wrapping ErrBudget.
func (x *XV1) Thread(ctx context.Context, p post.Post, depth int) ([]post.Post, error) {
	if depth <= 0 || !xPostID(p.ReplyTo) {
		return nil, nil
	}
	chain, err := x.threads.walk(ctx, p, depth, x.fetchParents)
	if err != nil && !errors.Is(err, ErrBudget) {
		return nil, fmt.Errorf("xv1 thread: %w", err)
	}
	return chain, err
}

// fetchParents implements fetchFunc.
func (x *XV1) fetchParents(ctx context.Context, _ post.Post, missing string, _ int) error {
	if !xPostID(missing) {
		return nil
	}
	n := min(xMaxIDs, x.budget.allowance(forThread))
	if n == 0 {
		return x.budget.refuse(forThread)
	}
	ids := x.threads.batch(missing, n, xPostID)
	api := x.api(ctx)
	if len(ids) == 1 {
		t, _, err := api.Statuses.Show(int64(xNum(missing)), &twitter.StatusShowParams{TweetMode: "extended", IncludeEntities: twitter.Bool(true)})
		if xv1Gone(err) {
			x.threads.gone(missing)
			return nil
		}
		if err != nil {
			return err
		}
		x.budget.charge(1)
		if a, ok := x.post(t); ok {
			x.threads.seen(a)
		} else {
			x.threads.gone(missing)
		}
		return nil
	}
	nums := make([]int64, len(ids))
	for i, id := range ids {
		nums[i] = int64(xNum(id))
	}
	tweets, _, err := api.Statuses.Lookup(nums, &twitter.StatusLookupParams{TweetMode: "extended", IncludeEntities: twitter.Bool(true)})
	if err != nil {
		return err
	}
	x.budget.charge(len(tweets))
	found := map[string]bool{}
	for i := range tweets {
		if a, ok := x.post(&tweets[i]); ok {
			x.threads.seen(a)
			found[a.ID] = true
		}
	}
	for _, id := range ids {
		if !found[id] {
			x.threads.gone(id) // lookup leaves out what X no longer shows
		}
	}
	return nil
}

// Refresh implements Source with statuses/lookup in chunks of 100; tweets
// X no longer has are left out of its answer and of the map. When the
// budget is low Refresh refuses, returning the counts read so far and an
// error wrapping ErrBudget.
func (x *XV1) Refresh(ctx context.Context, ids []string) (map[string]post.Metrics, error) {
	api := x.api(ctx)
	out := make(map[string]post.Metrics, len(ids))
	var nums []int64
	for _, id := range ids {
		n := int64(xNum(id))
		if n <= 0 || !strings.HasPrefix(id, "x:") || slices.Contains(nums, n) {
			continue
		}
		nums = append(nums, n)
	}
	for len(nums) > 0 {
		left := x.budget.allowance(forRefresh)
		if left == 0 {
			return out, x.budget.refuse(forRefresh)
		}
		chunk := nums[:min(len(nums), xMaxIDs, left)]
		nums = nums[len(chunk):]
		tweets, _, err := api.Statuses.Lookup(chunk, &twitter.StatusLookupParams{TweetMode: "extended", IncludeEntities: twitter.Bool(false)})
		if err != nil {
			return nil, fmt.Errorf("xv1 refresh: %w", err)
		}
		x.budget.charge(len(tweets))
		for _, t := range tweets {
			id := t.IDStr
			if id == "" {
				id = strconv.FormatInt(t.ID, 10)
			}
			out["x:"+id] = post.Metrics{Likes: t.FavoriteCount, Reposts: t.RetweetCount, Replies: t.ReplyCount, Quotes: t.QuoteCount}
		}
	}
	return out, nil
}
