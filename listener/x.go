package listener

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/post"
)

// X / Twitter through API v2 (shared/platforms.md §1.4): recent search
// for the keywords, /2/tweets?ids= for ancestors and engagement counts.
// Every request carries an app-only Bearer token.

// XOptions configure X. Zero values are sane defaults.
type XOptions struct {
	BaseURL     string // default https://api.x.com
	BearerToken string // default: the environment's KIZUKI_X_BEARER_TOKEN
	Client      *Client
	// DailyBudget is how many posts may be read per UTC day (search
	// results, their expanded parents and lookups alike); 0 is unlimited.
	// See Budget for what is skipped first when it runs low.
	DailyBudget int
	// MaxQuery is the longest search query in characters: 512 on most
	// access levels (the default), more on some.
	MaxQuery int
	// Budget, if set, is used instead of one made from DailyBudget, so
	// that its count survives a rebuild of the source (a reload).
	Budget *Budget
	// Now is the clock: the budget's day, and where a first poll with a
	// zero Query.Since starts (no backfill).
	Now func() time.Time
}

const (
	xMaxQuery    = 512 // characters of a search query, by default
	xMaxPages    = 5   // per query and poll
	xMaxResults  = 100 // per search page
	xMaxIDs      = 100 // per /2/tweets?ids= request
	xTweetFields = "created_at,lang,public_metrics,conversation_id,referenced_tweets,entities,author_id,in_reply_to_user_id"
	// The replied-to posts come with the search results, with their
	// authors: the first level of every thread at no extra request.
	xExpansions = "author_id,referenced_tweets.id,referenced_tweets.id.author_id"
	xUserFields = "username,name,public_metrics"
	// xWindow is how far back recent search reaches (7 days), less a
	// margin for clock skew.
	xWindow = 7*24*time.Hour - 5*time.Minute
	// xEpoch is the Twitter snowflake epoch in Unix milliseconds.
	xEpoch = 1288834974657
)

// X is the X API v2 Source.
type X struct {
	opt     XOptions
	log     *slog.Logger
	hdr     http.Header
	budget  *Budget
	threads *threads
}

var (
	_ Source   = (*X)(nil)
	_ Budgeted = (*X)(nil)
)

// NewX returns an X source with defaults filled in. It is an error if
// there is no bearer token in opt or the environment.
func NewX(opt XOptions) (*X, error) {
	if opt.BaseURL == "" {
		opt.BaseURL = "https://api.x.com"
	}
	opt.BaseURL = strings.TrimRight(opt.BaseURL, "/")
	if opt.BearerToken == "" {
		opt.BearerToken = os.Getenv("KIZUKI_X_BEARER_TOKEN")
	}
	if opt.BearerToken == "" {
		return nil, errors.New("x: no bearer token (set KIZUKI_X_BEARER_TOKEN)")
	}
	if opt.Client == nil {
		opt.Client = NewClient(ClientOptions{})
	}
	if opt.DailyBudget < 0 {
		opt.DailyBudget = 0
	}
	if opt.MaxQuery <= 0 {
		opt.MaxQuery = xMaxQuery
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &X{
		opt:     opt,
		log:     opt.Client.opt.Logger.With("source", "x"),
		hdr:     http.Header{"Authorization": {"Bearer " + opt.BearerToken}},
		budget:  orBudget(opt.Budget, "x", opt.DailyBudget, UnitPosts, opt.Now),
		threads: newThreads(opt.Now),
	}, nil
}

// Name implements Source.
func (x *X) Name() string { return "x" }

// Remaining implements Budgeted: the posts that may still be read today.
func (x *X) Remaining() (n int, limited bool) { return x.budget.Remaining() }

// v2 response shapes.

type xTweet struct {
	ID               string `json:"id"`
	Text             string `json:"text"`
	AuthorID         string `json:"author_id"`
	CreatedAt        string `json:"created_at"`
	ConversationID   string `json:"conversation_id"`
	InReplyToUserID  string `json:"in_reply_to_user_id"`
	Lang             string `json:"lang"`
	ReferencedTweets []struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"referenced_tweets"`
	PublicMetrics *xMetrics `json:"public_metrics"`
	Entities      *struct {
		Mentions []struct {
			Username string `json:"username"`
		} `json:"mentions"`
		Hashtags []struct {
			Tag string `json:"tag"`
		} `json:"hashtags"`
	} `json:"entities"`
}

type xMetrics struct {
	RetweetCount int `json:"retweet_count"`
	ReplyCount   int `json:"reply_count"`
	LikeCount    int `json:"like_count"`
	QuoteCount   int `json:"quote_count"`
}

func (m *xMetrics) metrics() post.Metrics {
	if m == nil {
		return post.Metrics{}
	}
	return post.Metrics{Likes: m.LikeCount, Reposts: m.RetweetCount, Replies: m.ReplyCount, Quotes: m.QuoteCount}
}

type xUser struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Username      string `json:"username"`
	PublicMetrics struct {
		FollowersCount int `json:"followers_count"`
	} `json:"public_metrics"`
}

// xProblem is one entry of "errors": v2 reports deleted or unknown posts
// of a lookup there, with HTTP 200.
type xProblem struct {
	ResourceID string `json:"resource_id"`
	Title      string `json:"title"`
	Detail     string `json:"detail"`
	Type       string `json:"type"`
}

type xResponse struct {
	Data     []xTweet `json:"data"`
	Includes struct {
		Users  []xUser  `json:"users"`
		Tweets []xTweet `json:"tweets"`
	} `json:"includes"`
	Errors []xProblem `json:"errors"`
	Meta   struct {
		NewestID    string `json:"newest_id"`
		OldestID    string `json:"oldest_id"`
		ResultCount int    `json:"result_count"`
		NextToken   string `json:"next_token"`
	} `json:"meta"`
}

func (r *xResponse) users() map[string]*xUser {
	m := make(map[string]*xUser, len(r.Includes.Users))
	for i := range r.Includes.Users {
		m[r.Includes.Users[i].ID] = &r.Includes.Users[i]
	}
	return m
}

func (x *X) get(ctx context.Context, path string, v url.Values) (*xResponse, error) {
	var res xResponse
	if _, err := x.opt.Client.GetJSON(ctx, x.opt.BaseURL+path+"?"+v.Encode(), x.hdr, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Search implements Source. The keywords become one or more v2 queries
// (see Queries); each is paged with next_token up to 5 pages. The cursor
// is the newest post id seen by any query (ids grow with time, so one
// since_id serves every query however the keywords are split). Posts left
// behind by the page limit or the budget are skipped, not fetched later:
// the cursor always moves forward. With the budget spent, Search returns
// what it could read and an error wrapping ErrBudget. The replied-to posts
// that come expanded with the results are kept for Thread.
func (x *X) Search(ctx context.Context, q Query, cursor string) (Page, error) {
	queries, err := x.Queries(q)
	if err != nil {
		return Page{Cursor: cursor}, err
	}
	now := x.opt.Now()
	var sinceID uint64
	var startTime time.Time
	if cursor != "" {
		id, err := strconv.ParseUint(cursor, 10, 64)
		switch {
		case err != nil || id == 0:
			x.log.Warn("bad cursor, starting from Since", "cursor", cursor)
			cursor = ""
		case xIDTime(id).Before(now.Add(-xWindow)):
			x.log.Warn("cursor older than recent search reaches, starting 7 days back", "cursor", cursor)
			cursor = ""
			startTime = now.Add(-xWindow)
		default:
			sinceID = id
		}
	}
	if cursor == "" && startTime.IsZero() {
		startTime = q.Since
		if startTime.IsZero() {
			startTime = now
		}
		if oldest := now.Add(-xWindow); startTime.Before(oldest) {
			startTime = oldest
		}
	}
	newest := sinceID
	if sinceID == 0 {
		// Nothing found still moves the cursor to the start time, as an
		// id of that time (ids are snowflakes).
		newest = xTimeID(startTime)
	}

	x.threads.newPoll()
	var m merged
	var budgetErr error
queries:
	for _, query := range queries {
		token := ""
		for page := 0; page < xMaxPages; page++ {
			left := x.budget.allowance(forSearch)
			if left == 0 {
				budgetErr = x.budget.refuse(forSearch)
				break queries
			}
			v := url.Values{}
			v.Set("query", query)
			if sinceID != 0 {
				v.Set("since_id", strconv.FormatUint(sinceID, 10))
			} else {
				v.Set("start_time", startTime.UTC().Format(time.RFC3339))
			}
			v.Set("max_results", strconv.Itoa(min(max(left, 10), xMaxResults)))
			v.Set("tweet.fields", xTweetFields)
			v.Set("expansions", xExpansions)
			v.Set("user.fields", xUserFields)
			if token != "" {
				v.Set("next_token", token)
			}
			res, err := x.get(ctx, "/2/tweets/search/recent", v)
			if err != nil {
				return Page{Cursor: cursor}, fmt.Errorf("x search: %w", err)
			}
			x.budget.charge(len(res.Data) + len(res.Includes.Tweets))
			data := res.Data
			if len(data) > left {
				data = data[:left] // newest first: keep the newest
				budgetErr = x.budget.refuse(forSearch)
			}
			users := res.users()
			for _, t := range res.Includes.Tweets {
				if p, ok := x.post(t, users); ok {
					x.threads.seen(p)
				}
			}
			for _, t := range data {
				p, ok := x.post(t, users)
				if !ok {
					continue
				}
				if id, _ := strconv.ParseUint(t.ID, 10, 64); id > newest {
					newest = id
				}
				m.add(p)
			}
			if budgetErr != nil {
				break queries
			}
			if id, err := strconv.ParseUint(res.Meta.NewestID, 10, 64); err == nil && id > newest && len(data) == len(res.Data) {
				newest = id
			}
			token = res.Meta.NextToken
			if token == "" || len(res.Data) == 0 {
				break
			}
			if page+1 == xMaxPages {
				x.log.Warn("more results than 5 pages, older ones skipped", "query", query)
			}
		}
	}
	posts := m.posts
	slices.SortStableFunc(posts, func(a, b post.Post) int {
		return xCompareIDs(xNum(a.ID), xNum(b.ID))
	})
	x.threads.seen(posts...)
	if budgetErr != nil {
		x.log.Warn("daily read budget spent, posts skipped", "budget", x.opt.DailyBudget)
	}
	return Page{Posts: posts, Cursor: strconv.FormatUint(newest, 10)}, budgetErr
}

// Queries returns the v2 search queries Search sends for q (see
// querybuild.go): the keywords quoted and OR-joined within MaxQuery
// characters, then -is:retweet, each exclusion as -"term", and lang:xx
// when q names exactly one language. A keyword too long for a query is an
// error wrapping ErrQueryTooLong.
func (x *X) Queries(q Query) ([]string, error) {
	return xDialect(x.opt.MaxQuery).queries(q, "x", x.log, slog.LevelWarn)
}

// post maps a v2 tweet; ok is false (and the tweet logged) without an id
// or a valid time.
func (x *X) post(t xTweet, users map[string]*xUser) (post.Post, bool) {
	if _, err := strconv.ParseUint(t.ID, 10, 64); err != nil {
		x.log.Warn("skipping post without a valid id", "id", t.ID)
		return post.Post{}, false
	}
	created, err := time.Parse(time.RFC3339, t.CreatedAt)
	if err != nil {
		x.log.Warn("skipping post without a valid created_at", "id", t.ID, "created_at", t.CreatedAt)
		return post.Post{}, false
	}
	p := post.Post{
		ID:        "x:" + t.ID,
		Platform:  "x",
		URL:       "https://x.com/i/web/status/" + t.ID,
		Author:    post.Author{ID: t.AuthorID},
		Text:      xUnescape(t.Text),
		Lang:      t.Lang,
		CreatedAt: created.UTC(),
		Metrics:   t.PublicMetrics.metrics(),
	}
	if u := users[t.AuthorID]; u != nil {
		p.Author.Handle, p.Author.Name, p.Author.Followers = u.Username, u.Name, u.PublicMetrics.FollowersCount
		if u.Username != "" {
			p.URL = "https://x.com/" + u.Username + "/status/" + t.ID
		}
	}
	if id := t.repliedTo(); id != "" {
		p.ReplyTo = "x:" + id
	}
	if t.ConversationID != "" {
		p.ConversationID = "x:" + t.ConversationID
	}
	if t.Entities != nil {
		for _, m := range t.Entities.Mentions {
			p.Mentions = append(p.Mentions, m.Username)
		}
		for _, h := range t.Entities.Hashtags {
			p.Hashtags = append(p.Hashtags, h.Tag)
		}
	}
	return p, true
}

func (t *xTweet) repliedTo() string {
	for _, r := range t.ReferencedTweets {
		if r.Type == "replied_to" {
			return r.ID
		}
	}
	return ""
}

// xUnescape undoes the escaping of &, < and > in the text of X posts.
var xUnescape = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace

// lookup fetches posts by id (at most 100) with /2/tweets?ids=. Posts X
// no longer has come back under "errors" and are simply missing.
func (x *X) lookup(ctx context.Context, ids []string, fields string, full bool) (*xResponse, error) {
	v := url.Values{}
	v.Set("ids", strings.Join(ids, ","))
	v.Set("tweet.fields", fields)
	if full {
		v.Set("expansions", "author_id")
		v.Set("user.fields", xUserFields)
	}
	res, err := x.get(ctx, "/2/tweets", v)
	if err != nil {
		return nil, fmt.Errorf("x lookup: %w", err)
	}
	x.budget.charge(len(res.Data))
	for _, e := range res.Errors {
		x.log.Debug("post not available", "id", e.ResourceID, "title", e.Title)
	}
	return res, nil
}

// xPostID reports whether id is "x:<number>".
func xPostID(id string) bool { return strings.HasPrefix(id, "x:") && xNum(id) > 0 }

// Thread implements Source: it follows replied_to up the chain through
// the cache of posts seen (search results and their expanded parents,
// ancestors fetched before). A missing ancestor is looked up with
// /2/tweets?ids= together with the other parents the last poll's posts
// need, up to 100 a request, so that the threads of a whole page take one
// lookup per level. A deleted, suspended or protected ancestor (an entry
// of "errors") ends the chain. When the budget is low Thread refuses,
// returning the ancestors found so far and an error wrapping ErrBudget.
func (x *X) Thread(ctx context.Context, p post.Post, depth int) ([]post.Post, error) {
	if depth <= 0 || !xPostID(p.ReplyTo) {
		return nil, nil
	}
	chain, err := x.threads.walk(ctx, p, depth, x.fetchParents)
	if err != nil && !errors.Is(err, ErrBudget) {
		return nil, err
	}
	return chain, err
}

// fetchParents implements fetchFunc with one lookup.
func (x *X) fetchParents(ctx context.Context, _ post.Post, missing string, _ int) error {
	if !xPostID(missing) {
		return nil // not an X post: the chain ends
	}
	n := min(xMaxIDs, x.budget.allowance(forThread))
	if n == 0 {
		return x.budget.refuse(forThread)
	}
	ids := x.threads.batch(missing, n, xPostID)
	nums := make([]string, len(ids))
	for i, id := range ids {
		nums[i] = strconv.FormatUint(xNum(id), 10)
	}
	res, err := x.lookup(ctx, nums, xTweetFields, true)
	if err != nil {
		return err
	}
	users := res.users()
	found := map[string]bool{}
	for _, t := range res.Data {
		if a, ok := x.post(t, users); ok {
			x.threads.seen(a)
			found[a.ID] = true
		}
	}
	for _, id := range ids {
		if !found[id] {
			x.threads.gone(id) // deleted or not visible
		}
	}
	return nil
}

// Refresh implements Source with /2/tweets?ids= in chunks of 100. Ids
// that are not "x:<number>", and posts X no longer has, are left out.
// When the budget is low Refresh refuses: it returns the counts read so
// far and an error wrapping ErrBudget.
func (x *X) Refresh(ctx context.Context, ids []string) (map[string]post.Metrics, error) {
	out := make(map[string]post.Metrics, len(ids))
	var nums []string
	seen := map[uint64]bool{}
	for _, id := range ids {
		n := xNum(id)
		if n == 0 || !strings.HasPrefix(id, "x:") || seen[n] {
			continue
		}
		seen[n] = true
		nums = append(nums, strconv.FormatUint(n, 10))
	}
	for len(nums) > 0 {
		left := x.budget.allowance(forRefresh)
		if left == 0 {
			return out, x.budget.refuse(forRefresh)
		}
		chunk := nums[:min(len(nums), xMaxIDs, left)]
		nums = nums[len(chunk):]
		res, err := x.lookup(ctx, chunk, "public_metrics", false)
		if err != nil {
			return nil, err
		}
		for _, t := range res.Data {
			out["x:"+t.ID] = t.PublicMetrics.metrics()
		}
	}
	return out, nil
}

// xNum returns the number of "x:<n>" (or of a bare "<n>"), or 0.
func xNum(id string) uint64 {
	n, err := strconv.ParseUint(strings.TrimPrefix(id, "x:"), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func xCompareIDs(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// xIDTime is the creation time encoded in a snowflake id.
func xIDTime(id uint64) time.Time {
	return time.UnixMilli(int64(id>>22) + xEpoch)
}

// xTimeID is the smallest snowflake id of time t.
func xTimeID(t time.Time) uint64 {
	ms := t.UnixMilli() - xEpoch
	if ms < 0 {
		return 0
	}
	return uint64(ms) << 22
}
