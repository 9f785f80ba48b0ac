package listener

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/kizuki-dev/kizuki/post"
)

// Mastodon: one instance's API (shared/platforms.md §3). Without a token
// the practical listener is the hashtag timeline; with a token (from the
// environment) keywords go through full-text /api/v2/search, which needs
// an authenticated request.

// MastodonOptions configure Mastodon.
type MastodonOptions struct {
	BaseURL string // the instance, e.g. https://mastodon.social; required
	// Token is a user access token (read:search), optional. It is sent as
	// a Bearer header to BaseURL only and never logged.
	Token string
	// Hashtags are tag timelines to poll (without "#"), in both modes; in
	// keyless mode the keywords are polled as hashtags too.
	Hashtags []string
	Client   *Client
	// Now is the clock; a first poll with a zero Query.Since starts from
	// Now (no backfill).
	Now func() time.Time
	// DailyBudget is how many requests may be made per UTC day; 0 is
	// unlimited. See Budget.
	DailyBudget int
	// Budget, if set, is used instead of one made from DailyBudget, so
	// that its count survives a rebuild of the source (a reload).
	Budget *Budget
}

// String hides the token when options are printed.
func (o MastodonOptions) String() string {
	tok := ""
	if o.Token != "" {
		tok = "(set)"
	}
	return fmt.Sprintf("{BaseURL:%s Token:%s Hashtags:%v}", o.BaseURL, tok, o.Hashtags)
}

// GoString hides the token from %#v too.
func (o MastodonOptions) GoString() string { return "listener.MastodonOptions" + o.String() }

const (
	mastoLimit     = 40 // per page, the API's maximum
	mastoMaxPages  = 5  // per tag group or keyword and poll
	mastoBatchSize = 20 // ids per /api/v1/statuses request; more is 422
	mastoTagGroup  = 5  // a tag timeline takes at most 4 more tags in any[]
)

// Mastodon is the Mastodon Source for one instance.
type Mastodon struct {
	opt  MastodonOptions
	base string // BaseURL without a trailing slash
	host string // BaseURL's host, part of post ids: ids are per instance
	log  *slog.Logger
	// noBatch is set once the instance answered 404/422 to the batch
	// statuses endpoint (before 4.3): Refresh then asks id by id, and
	// Thread uses /context only.
	noBatch atomic.Bool
	budget  *Budget
	threads *threads
}

var (
	_ Source   = (*Mastodon)(nil)
	_ Budgeted = (*Mastodon)(nil)
)

// NewMastodon returns a Mastodon source with defaults filled in. A
// BaseURL without a scheme gets https.
func NewMastodon(opt MastodonOptions) *Mastodon {
	base := strings.TrimRight(strings.TrimSpace(opt.BaseURL), "/")
	if base != "" && !strings.Contains(base, "://") {
		base = "https://" + base
	}
	var host string
	if u, err := url.Parse(base); err == nil {
		host = strings.ToLower(u.Host)
	}
	if opt.Client == nil {
		opt.Client = NewClient(ClientOptions{})
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Mastodon{opt: opt, base: base, host: host,
		log:     opt.Client.opt.Logger.With("source", "mastodon", "instance", host),
		budget:  orBudget(opt.Budget, "mastodon", opt.DailyBudget, UnitRequests, opt.Now),
		threads: newThreads(opt.Now)}
}

// Name implements Source.
func (m *Mastodon) Name() string { return "mastodon" }

// Remaining implements Budgeted: the requests that may still be made today.
func (m *Mastodon) Remaining() (n int, limited bool) { return m.budget.Remaining() }

// mastoStatus is the part of a Status entity Kizuki reads.
type mastoStatus struct {
	ID              string         `json:"id"`
	URI             string         `json:"uri"`
	URL             *string        `json:"url"`
	CreatedAt       string         `json:"created_at"`
	InReplyToID     *string        `json:"in_reply_to_id"`
	SpoilerText     string         `json:"spoiler_text"`
	Language        *string        `json:"language"`
	Content         string         `json:"content"`
	Text            *string        `json:"text"`
	RepliesCount    int            `json:"replies_count"`
	ReblogsCount    int            `json:"reblogs_count"`
	FavouritesCount int            `json:"favourites_count"`
	QuotesCount     int            `json:"quotes_count"`
	Reblog          *mastoStatus   `json:"reblog"`
	Account         mastoAccount   `json:"account"`
	Mentions        []mastoMention `json:"mentions"`
	Tags            []mastoTag     `json:"tags"`
}

type mastoAccount struct {
	ID             string `json:"id"`
	Username       string `json:"username"`
	Acct           string `json:"acct"`
	DisplayName    string `json:"display_name"`
	FollowersCount int    `json:"followers_count"`
}

type mastoMention struct {
	Acct string `json:"acct"`
}

type mastoTag struct {
	Name string `json:"name"`
}

func (s *mastoStatus) metrics() post.Metrics {
	return post.Metrics{Likes: s.FavouritesCount, Reposts: s.ReblogsCount, Replies: s.RepliesCount, Quotes: s.QuotesCount}
}

// post maps a status; ok is false (and the status logged) if it lacks an
// id or a valid time.
func (m *Mastodon) post(s *mastoStatus) (post.Post, bool) {
	if s.ID == "" {
		m.log.Warn("skipping status without an id")
		return post.Post{}, false
	}
	created, err := time.Parse(time.RFC3339, s.CreatedAt)
	if err != nil {
		m.log.Warn("skipping status without a valid created_at", "id", s.ID, "created_at", s.CreatedAt)
		return post.Post{}, false
	}
	text := HTMLToText(s.Content)
	if s.Content == "" && s.Text != nil {
		text = *s.Text
	}
	if sp := strings.TrimSpace(s.SpoilerText); sp != "" {
		if text == "" {
			text = sp
		} else {
			text = sp + "\n" + text
		}
	}
	p := post.Post{
		ID:       m.id(s.ID),
		Platform: "mastodon",
		URL:      s.URI,
		Author: post.Author{ID: s.Account.ID, Handle: s.Account.Acct, Name: s.Account.DisplayName,
			Followers: s.Account.FollowersCount},
		Text:      text,
		CreatedAt: created.UTC(),
		Metrics:   s.metrics(),
		Mentions:  []string{}, // Mastodon's list is authoritative, even empty
		Hashtags:  []string{},
	}
	if s.URL != nil && *s.URL != "" {
		p.URL = *s.URL
	}
	if p.Author.Handle == "" {
		p.Author.Handle = s.Account.Username
	}
	if s.Language != nil {
		p.Lang = *s.Language
	}
	if s.InReplyToID != nil && *s.InReplyToID != "" {
		p.ReplyTo = m.id(*s.InReplyToID)
	} else {
		p.ConversationID = p.ID // a root is its own conversation
	}
	for _, mn := range s.Mentions {
		if mn.Acct != "" {
			p.Mentions = append(p.Mentions, mn.Acct)
		}
	}
	for _, t := range s.Tags {
		if t.Name != "" {
			p.Hashtags = append(p.Hashtags, t.Name)
		}
	}
	return p, true
}

func (m *Mastodon) id(local string) string { return "mastodon:" + m.host + ":" + local }

// localID returns the instance-local id of "mastodon:<host>:<id>" if the
// post is from this instance, or "".
func (m *Mastodon) localID(id string) string {
	rest, ok := strings.CutPrefix(id, "mastodon:"+m.host+":")
	if !ok || rest == "" || strings.ContainsAny(rest, "/?#:") {
		return ""
	}
	return rest
}

// mastoIDLess orders status ids: snowflake numbers as decimal strings
// (shorter is smaller), or fixed-width sortable strings (Pleroma flake ids).
func mastoIDLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func (m *Mastodon) header() http.Header {
	if m.opt.Token == "" {
		return nil
	}
	return http.Header{"Authorization": {"Bearer " + m.opt.Token}}
}

func (m *Mastodon) get(ctx context.Context, p purpose, path string, q url.Values, v any) (*http.Response, error) {
	if err := m.budget.take(p, 1); err != nil {
		return nil, err
	}
	u := m.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return m.opt.Client.GetJSON(ctx, u, m.header(), v)
}

// Search implements Source. Without a token every keyword, made a
// hashtag (spaces and punctuation removed, lower case), and every
// MastodonOptions.Hashtags is polled through tag timelines, five tags a
// request (a tag and four more in any[]); with a token keywords go through
// /api/v2/search (statuses), one query per keyword with the exclusions and
// one language (see Queries), and only the configured hashtags through tag
// timelines. The cursor, one for all of these, is JSON: the newest status
// id seen ({"t":"<id>"}), passed as since_id and min_id (ids are one
// sequence per instance); a first poll starts from Query.Since. Posts are
// deduplicated by id and returned oldest first; a boost is reported as the
// boosted status, if that is new.
func (m *Mastodon) Search(ctx context.Context, q Query, cursor string) (Page, error) {
	if m.base == "" || m.host == "" {
		return Page{}, errors.New("mastodon: BaseURL is required")
	}
	after := m.readCursor(cursor)
	since := q.Since
	if since.IsZero() {
		since = m.opt.Now()
	}
	tags, queries, err := m.plan(q)
	if err != nil {
		return Page{}, err
	}

	newest := after
	var all merged
	collect := func(statuses []mastoStatus, top string) {
		if top != "" && (newest == "" || mastoIDLess(newest, top)) {
			newest = top
		}
		for i := range statuses {
			s := &statuses[i]
			if s.Reblog != nil { // the boosted status, if new to us
				s = s.Reblog
			}
			if after != "" && !mastoIDLess(after, s.ID) {
				continue
			}
			p, ok := m.post(s)
			if !ok || (after == "" && !p.CreatedAt.After(since)) {
				continue
			}
			all.add(p)
		}
	}
	for group := range slices.Chunk(tags, mastoTagGroup) {
		statuses, top, err := m.tagGroup(ctx, group, after, since)
		if err != nil {
			return Page{}, err
		}
		collect(statuses, top)
	}
	for _, query := range queries {
		statuses, top, err := m.search(ctx, query, after)
		if err != nil {
			return Page{}, err
		}
		collect(statuses, top)
	}

	posts := all.posts
	slices.SortStableFunc(posts, func(a, b post.Post) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		la, lb := a.ID[strings.LastIndexByte(a.ID, ':')+1:], b.ID[strings.LastIndexByte(b.ID, ':')+1:]
		switch {
		case mastoIDLess(la, lb):
			return -1
		case mastoIDLess(lb, la):
			return 1
		}
		return 0
	})
	m.threads.newPoll()
	m.threads.seen(posts...)
	if newest == "" {
		return Page{Posts: posts}, nil // nothing yet: the next poll starts from Since again
	}
	c, err := mark[string]{At: newest}.encode()
	if err != nil {
		return Page{}, fmt.Errorf("mastodon: %w", err)
	}
	return Page{Posts: posts, Cursor: c}, nil
}

// readCursor returns the status id of a cursor, or "" for a first poll.
// The per-tag cursors of earlier versions ({"tag:x":"<id>",…}) are read
// as their oldest id, so that nothing is skipped.
func (m *Mastodon) readCursor(cursor string) string {
	if cursor == "" {
		return ""
	}
	var cur mark[string]
	if err := json.Unmarshal([]byte(cursor), &cur); err == nil && cur.At != "" {
		return cur.At
	}
	var old map[string]string
	if err := json.Unmarshal([]byte(cursor), &old); err == nil && len(old) > 0 {
		oldest := ""
		for _, id := range old {
			if oldest == "" || mastoIDLess(id, oldest) {
				oldest = id
			}
		}
		return oldest
	}
	m.log.Warn("bad cursor, starting from Since", "cursor", cursor)
	return ""
}

// plan returns the hashtags to poll and, with a token, the search queries.
func (m *Mastodon) plan(q Query) (tags, queries []string, err error) {
	add := func(list []string, s string) []string {
		if s != "" && !slices.Contains(list, s) {
			return append(list, s)
		}
		return list
	}
	if m.opt.Token == "" {
		for _, k := range q.Keywords {
			tags = add(tags, mastoHashtag(k))
		}
	}
	for _, h := range m.opt.Hashtags {
		tags = add(tags, mastoHashtag(h))
	}
	if m.opt.Token != "" && slices.ContainsFunc(q.Keywords, func(k string) bool { return cleanTerm(k) != "" }) {
		if queries, err = m.Queries(q); err != nil {
			return nil, nil, err
		}
	}
	if len(tags) == 0 && len(queries) == 0 {
		return nil, nil, errors.New("mastodon: query has no keywords or hashtags")
	}
	return tags, queries, nil
}

// Queries returns the /api/v2/search queries Search sends for q with a
// token (see querybuild.go): one per keyword, since Mastodon has no OR,
// quoted unless a plain word, with the exclusions as -term and one
// language as language:xx. A keyword too long is an error wrapping
// ErrQueryTooLong.
func (m *Mastodon) Queries(q Query) ([]string, error) {
	return mastoDialect().queries(q, "mastodon", m.log, slog.LevelWarn)
}

// tagGroup polls the timeline of up to five tags at once (the first in
// the path, the others as any[]). If the instance does not know the first
// tag (404), the others are polled one by one.
func (m *Mastodon) tagGroup(ctx context.Context, group []string, sinceID string, since time.Time) ([]mastoStatus, string, error) {
	statuses, top, err := m.tagTimeline(ctx, group, sinceID, since)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusNotFound {
		return statuses, top, err
	}
	var all []mastoStatus
	for _, tag := range group[1:] {
		s, t, err := m.tagTimeline(ctx, []string{tag}, sinceID, since)
		if errors.As(err, &se) && se.Status == http.StatusNotFound {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		all = append(all, s...)
		if t != "" && (top == "" || mastoIDLess(top, t)) {
			top = t
		}
	}
	return all, top, nil
}

// tagTimeline polls a hashtag timeline (with any[] for the tags after the
// first): statuses newer than sinceID, or on a first poll (sinceID "")
// those created after since, following the Link rel="next" pages back
// for at most mastoMaxPages pages. top is the newest id seen, or "".
func (m *Mastodon) tagTimeline(ctx context.Context, tags []string, sinceID string, since time.Time) (all []mastoStatus, top string, err error) {
	maxID := ""
	for page := 0; page < mastoMaxPages; page++ {
		v := url.Values{"limit": {strconv.Itoa(mastoLimit)}}
		if len(tags) > 1 {
			v["any[]"] = tags[1:]
		}
		if sinceID != "" {
			v.Set("since_id", sinceID)
		}
		if maxID != "" {
			v.Set("max_id", maxID)
		}
		var statuses []mastoStatus
		resp, err := m.get(ctx, forSearch, "/api/v1/timelines/tag/"+url.PathEscape(tags[0]), v, &statuses)
		if err != nil {
			return nil, "", fmt.Errorf("mastodon tag %s: %w", strings.Join(tags, ","), err)
		}
		reached := len(statuses) == 0
		for _, s := range statuses {
			if s.ID == "" {
				continue
			}
			if sinceID != "" && !mastoIDLess(sinceID, s.ID) {
				reached = true // back at the cursor
				continue
			}
			if top == "" || mastoIDLess(top, s.ID) {
				top = s.ID
			}
			if sinceID == "" {
				if t, err := time.Parse(time.RFC3339, s.CreatedAt); err == nil && !t.After(since) {
					reached = true // back at Since
				}
			}
			all = append(all, s)
		}
		maxID = mastoNextMaxID(resp.Header)
		if reached || maxID == "" || len(statuses) < mastoLimit {
			return all, top, nil
		}
		if page+1 == mastoMaxPages {
			m.log.Warn("more statuses than pages, older ones skipped", "tags", tags, "pages", mastoMaxPages)
		}
	}
	return all, top, nil
}

// search runs a full-text status search (token mode), newer than minID,
// paging by offset while pages are full. top is the newest id seen.
func (m *Mastodon) search(ctx context.Context, query, minID string) (all []mastoStatus, top string, err error) {
	for page := 0; page < mastoMaxPages; page++ {
		v := url.Values{"q": {query}, "type": {"statuses"}, "resolve": {"false"}, "limit": {strconv.Itoa(mastoLimit)}}
		if minID != "" {
			v.Set("min_id", minID)
		}
		if page > 0 {
			v.Set("offset", strconv.Itoa(page*mastoLimit))
		}
		var res struct {
			Statuses []mastoStatus `json:"statuses"`
		}
		if _, err := m.get(ctx, forSearch, "/api/v2/search", v, &res); err != nil {
			return nil, "", fmt.Errorf("mastodon search: %w", err)
		}
		for _, s := range res.Statuses {
			if s.ID == "" || (minID != "" && !mastoIDLess(minID, s.ID)) {
				continue
			}
			if top == "" || mastoIDLess(top, s.ID) {
				top = s.ID
			}
			all = append(all, s)
		}
		if len(res.Statuses) < mastoLimit {
			return all, top, nil
		}
		if page+1 == mastoMaxPages {
			m.log.Warn("more results than pages, the rest skipped", "query", query, "pages", mastoMaxPages)
		}
	}
	return all, top, nil
}

// mastoNextMaxID returns max_id of the Link rel="next" URL, or "". The
// request is rebuilt from it rather than the URL followed, so that the
// token only ever goes to BaseURL.
func mastoNextMaxID(h http.Header) string {
	for _, link := range h.Values("Link") {
		for part := range strings.SplitSeq(link, ",") {
			segs := strings.Split(part, ";")
			target := strings.TrimSpace(segs[0])
			if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			next := false
			for _, p := range segs[1:] {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(strings.TrimSpace(k), "rel") && slices.Contains(strings.Fields(strings.Trim(v, `"`)), "next") {
					next = true
				}
			}
			if !next {
				continue
			}
			u, err := url.Parse(target[1 : len(target)-1])
			if err != nil {
				return ""
			}
			return u.Query().Get("max_id")
		}
	}
	return ""
}

// mastoHashtag makes a keyword a hashtag: "#" and everything but letters,
// digits and "_" dropped, lower case ("Acme Corp" → "acmecorp").
func mastoHashtag(k string) string {
	return strings.ToLower(strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) {
			return r
		}
		return -1
	}, k))
}

// Thread implements Source, following in_reply_to_id through the cache
// of statuses seen (search results, ancestors fetched before). A missing
// ancestor is fetched with /api/v1/statuses?id[]= together with the other
// parents the last poll's statuses need (20 a request, 4.3+), or, when it
// is the only one (or the instance is older), with
// /api/v1/statuses/{id}/context of the post below it, which gives all its
// ancestors at once. The ancestors are returned oldest first; when the
// chain reaches the root, their ConversationID is the root's id. An
// unknown post (404) or one of another instance has no thread. When the
// budget is low Thread refuses, returning the ancestors found so far and
// an error wrapping ErrBudget.
func (m *Mastodon) Thread(ctx context.Context, p post.Post, depth int) ([]post.Post, error) {
	if depth <= 0 || m.localID(p.ID) == "" || m.localID(p.ReplyTo) == "" {
		return nil, nil
	}
	chain, err := m.threads.walk(ctx, p, depth, m.fetchParents)
	if err != nil && !errors.Is(err, ErrBudget) {
		return nil, err
	}
	if len(chain) > 0 {
		if root, ok := m.threads.root(chain[0]); ok {
			for i := range chain {
				chain[i].ConversationID = root
			}
		}
	}
	return chain, err
}

// fetchParents implements fetchFunc.
func (m *Mastodon) fetchParents(ctx context.Context, child post.Post, missing string, _ int) error {
	if m.localID(missing) == "" {
		return nil // another instance's
	}
	ids := []string{missing}
	if !m.noBatch.Load() {
		ids = m.threads.batch(missing, mastoBatchSize, func(id string) bool { return m.localID(id) != "" })
	}
	if len(ids) > 1 {
		local := make([]string, len(ids))
		for i, id := range ids {
			local[i] = m.localID(id)
		}
		var statuses []mastoStatus
		_, err := m.get(ctx, forThread, "/api/v1/statuses", url.Values{"id[]": local}, &statuses)
		var se *StatusError
		switch {
		case errors.As(err, &se) && (se.Status == http.StatusNotFound || se.Status == http.StatusUnprocessableEntity):
			m.log.Info("batch statuses endpoint unavailable, using /context", "status", se.Status)
			m.noBatch.Store(true)
		case err != nil:
			return fmt.Errorf("mastodon statuses: %w", err)
		default:
			for i := range statuses {
				if a, ok := m.post(&statuses[i]); ok && slices.Contains(ids, a.ID) {
					m.threads.seen(a)
				}
			}
			for _, id := range ids {
				if !m.threads.cached(id) {
					m.threads.gone(id)
				}
			}
			return nil
		}
	}
	id := m.localID(child.ID)
	if id == "" {
		return nil
	}
	var res struct {
		Ancestors []mastoStatus `json:"ancestors"`
	}
	_, err := m.get(ctx, forThread, "/api/v1/statuses/"+url.PathEscape(id)+"/context", nil, &res)
	var se *StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		m.threads.gone(missing)
		return nil
	}
	if err != nil {
		return fmt.Errorf("mastodon context %s: %w", id, err)
	}
	for i := range res.Ancestors {
		if a, ok := m.post(&res.Ancestors[i]); ok {
			m.threads.seen(a)
		}
	}
	if !m.threads.cached(missing) {
		m.threads.gone(missing)
	}
	return nil
}

// Refresh implements Source with /api/v1/statuses?id[]=… in batches of
// 20 (4.3+), falling back to /api/v1/statuses/{id} one by one when the
// instance answers 404 or 422. Ids of other instances and statuses the
// instance no longer shows are left out. When the budget is low Refresh
// refuses, returning the counts read so far and an error wrapping
// ErrBudget.
func (m *Mastodon) Refresh(ctx context.Context, ids []string) (map[string]post.Metrics, error) {
	out := make(map[string]post.Metrics, len(ids))
	var local []string
	for _, id := range ids {
		if l := m.localID(id); l != "" && !slices.Contains(local, l) {
			local = append(local, l)
		}
	}
	fail := func(err error) (map[string]post.Metrics, error) {
		if errors.Is(err, ErrBudget) {
			return out, err
		}
		return nil, err
	}
	for chunk := range slices.Chunk(local, mastoBatchSize) {
		if !m.noBatch.Load() {
			v := url.Values{"id[]": chunk}
			var statuses []mastoStatus
			_, err := m.get(ctx, forRefresh, "/api/v1/statuses", v, &statuses)
			var se *StatusError
			if errors.As(err, &se) && (se.Status == http.StatusNotFound || se.Status == http.StatusUnprocessableEntity) {
				m.log.Info("batch statuses endpoint unavailable, fetching one by one", "status", se.Status)
				m.noBatch.Store(true)
			} else if err != nil {
				return fail(fmt.Errorf("mastodon statuses: %w", err))
			} else {
				for _, s := range statuses {
					if slices.Contains(chunk, s.ID) {
						out[m.id(s.ID)] = s.metrics()
					}
				}
				continue
			}
		}
		for _, id := range chunk {
			var s mastoStatus
			_, err := m.get(ctx, forRefresh, "/api/v1/statuses/"+url.PathEscape(id), nil, &s)
			var se *StatusError
			if errors.As(err, &se) && se.Status == http.StatusNotFound {
				continue
			}
			if err != nil {
				return fail(fmt.Errorf("mastodon status %s: %w", id, err))
			}
			out[m.id(id)] = s.metrics()
		}
	}
	return out, nil
}
