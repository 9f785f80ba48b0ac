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
	mastoMaxPages  = 5  // per tag or keyword and poll
	mastoBatchSize = 20 // ids per /api/v1/statuses request; more is 422
)

// Mastodon is the Mastodon Source for one instance.
type Mastodon struct {
	opt  MastodonOptions
	base string // BaseURL without a trailing slash
	host string // BaseURL's host, part of post ids: ids are per instance
	log  *slog.Logger
	// noBatch is set once the instance answered 404/422 to the batch
	// statuses endpoint (before 4.3): Refresh then asks id by id.
	noBatch bool
}

var _ Source = (*Mastodon)(nil)

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
		log: opt.Client.opt.Logger.With("source", "mastodon", "instance", host)}
}

// Name implements Source.
func (m *Mastodon) Name() string { return "mastodon" }

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

func (m *Mastodon) get(ctx context.Context, path string, q url.Values, v any) (*http.Response, error) {
	u := m.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return m.opt.Client.GetJSON(ctx, u, m.header(), v)
}

// Search implements Source. Without a token every keyword, made a
// hashtag (spaces and punctuation removed, lower case), and every
// MastodonOptions.Hashtags is polled through its tag timeline; with a
// token keywords go through /api/v2/search (statuses) and only the
// configured hashtags through tag timelines. The cursor is a JSON object
// of the newest status id per "tag:<tag>" / "q:<keyword>"; a new key
// starts from Query.Since. Posts are deduplicated by id and returned
// oldest first; a boost is reported as the boosted status. Exclude and
// Languages are left to the matcher.
func (m *Mastodon) Search(ctx context.Context, q Query, cursor string) (Page, error) {
	if m.base == "" || m.host == "" {
		return Page{}, errors.New("mastodon: BaseURL is required")
	}
	prev := map[string]string{}
	if cursor != "" {
		if err := json.Unmarshal([]byte(cursor), &prev); err != nil {
			m.log.Warn("bad cursor, starting from Since", "cursor", cursor)
			prev = map[string]string{}
		}
	}
	since := q.Since
	if since.IsZero() {
		since = m.opt.Now()
	}

	var tags, terms []string
	add := func(list []string, s string) []string {
		if s != "" && !slices.Contains(list, s) {
			return append(list, s)
		}
		return list
	}
	for _, k := range q.Keywords {
		if m.opt.Token == "" {
			tags = add(tags, mastoHashtag(k))
		} else {
			terms = add(terms, strings.Join(strings.Fields(k), " "))
		}
	}
	for _, h := range m.opt.Hashtags {
		tags = add(tags, mastoHashtag(h))
	}
	if len(tags) == 0 && len(terms) == 0 {
		return Page{}, errors.New("mastodon: query has no keywords or hashtags")
	}

	next := map[string]string{}
	seen := map[string]bool{}
	var posts []post.Post
	collect := func(key string, statuses []mastoStatus) {
		after := prev[key]
		for i := range statuses {
			s := &statuses[i]
			if s.Reblog != nil { // the boosted status, if new to us
				s = s.Reblog
			}
			if after != "" && !mastoIDLess(after, s.ID) {
				continue
			}
			p, ok := m.post(s)
			if !ok || seen[p.ID] || (after == "" && !p.CreatedAt.After(since)) {
				continue
			}
			seen[p.ID] = true
			posts = append(posts, p)
		}
	}
	for _, tag := range tags {
		key := "tag:" + tag
		statuses, newest, err := m.tagTimeline(ctx, tag, prev[key], since)
		if err != nil {
			return Page{}, err
		}
		collect(key, statuses)
		if newest != "" {
			next[key] = newest
		}
	}
	for _, term := range terms {
		key := "q:" + term
		statuses, newest, err := m.search(ctx, term, prev[key], since)
		if err != nil {
			return Page{}, err
		}
		collect(key, statuses)
		if newest != "" {
			next[key] = newest
		}
	}

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
	c, err := json.Marshal(next)
	if err != nil {
		return Page{}, fmt.Errorf("mastodon cursor: %w", err)
	}
	return Page{Posts: posts, Cursor: string(c)}, nil
}

// tagTimeline polls a hashtag timeline: statuses newer than sinceID, or
// on a first poll (sinceID "") those created after since, following the
// Link rel="next" pages back for at most mastoMaxPages pages. newest is
// the newest id seen, or sinceID. A tag the instance never saw (404) is
// empty.
func (m *Mastodon) tagTimeline(ctx context.Context, tag, sinceID string, since time.Time) (all []mastoStatus, newest string, err error) {
	newest = sinceID
	maxID := ""
	for page := 0; page < mastoMaxPages; page++ {
		v := url.Values{"limit": {strconv.Itoa(mastoLimit)}}
		if sinceID != "" {
			v.Set("since_id", sinceID)
		}
		if maxID != "" {
			v.Set("max_id", maxID)
		}
		var statuses []mastoStatus
		resp, err := m.get(ctx, "/api/v1/timelines/tag/"+url.PathEscape(tag), v, &statuses)
		var se *StatusError
		if errors.As(err, &se) && se.Status == http.StatusNotFound {
			return all, newest, nil
		}
		if err != nil {
			return nil, "", fmt.Errorf("mastodon tag %s: %w", tag, err)
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
			if newest == "" || mastoIDLess(newest, s.ID) {
				newest = s.ID
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
			return all, newest, nil
		}
		if page+1 == mastoMaxPages {
			m.log.Warn("more statuses than pages, older ones skipped", "tag", tag, "pages", mastoMaxPages)
		}
	}
	return all, newest, nil
}

// search runs a full-text status search (token mode), newer than minID,
// paging by offset while pages are full.
func (m *Mastodon) search(ctx context.Context, term, minID string, since time.Time) (all []mastoStatus, newest string, err error) {
	newest = minID
	for page := 0; page < mastoMaxPages; page++ {
		v := url.Values{"q": {term}, "type": {"statuses"}, "resolve": {"false"}, "limit": {strconv.Itoa(mastoLimit)}}
		if minID != "" {
			v.Set("min_id", minID)
		}
		if page > 0 {
			v.Set("offset", strconv.Itoa(page*mastoLimit))
		}
		var res struct {
			Statuses []mastoStatus `json:"statuses"`
		}
		if _, err := m.get(ctx, "/api/v2/search", v, &res); err != nil {
			return nil, "", fmt.Errorf("mastodon search: %w", err)
		}
		for _, s := range res.Statuses {
			if s.ID == "" || (minID != "" && !mastoIDLess(minID, s.ID)) {
				continue
			}
			if newest == "" || mastoIDLess(newest, s.ID) {
				newest = s.ID
			}
			all = append(all, s)
		}
		if len(res.Statuses) < mastoLimit {
			return all, newest, nil
		}
		if page+1 == mastoMaxPages {
			m.log.Warn("more results than pages, the rest skipped", "query", term, "pages", mastoMaxPages)
		}
	}
	return all, newest, nil
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

// Thread implements Source with /api/v1/statuses/{id}/context: the last
// depth ancestors, oldest first. When the context reaches the root, the
// ancestors' ConversationID is the root's id. An unknown post (404) or
// one of another instance has no thread.
func (m *Mastodon) Thread(ctx context.Context, p post.Post, depth int) ([]post.Post, error) {
	id := m.localID(p.ID)
	if depth <= 0 || id == "" || (p.ReplyTo == "" && p.ConversationID == p.ID) {
		return nil, nil
	}
	var res struct {
		Ancestors []mastoStatus `json:"ancestors"`
	}
	_, err := m.get(ctx, "/api/v1/statuses/"+url.PathEscape(id)+"/context", nil, &res)
	var se *StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mastodon context %s: %w", id, err)
	}
	var chain []post.Post
	for i := range res.Ancestors {
		if a, ok := m.post(&res.Ancestors[i]); ok {
			chain = append(chain, a)
		}
	}
	if len(chain) > 0 && chain[0].ReplyTo == "" {
		root := chain[0].ID
		for i := range chain {
			chain[i].ConversationID = root
		}
	}
	if len(chain) > depth {
		chain = chain[len(chain)-depth:]
	}
	return chain, nil
}

// Refresh implements Source with /api/v1/statuses?id[]=… in batches of
// 20 (4.3+), falling back to /api/v1/statuses/{id} one by one when the
// instance answers 404 or 422. Ids of other instances and statuses the
// instance no longer shows are left out.
func (m *Mastodon) Refresh(ctx context.Context, ids []string) (map[string]post.Metrics, error) {
	out := make(map[string]post.Metrics, len(ids))
	var local []string
	for _, id := range ids {
		if l := m.localID(id); l != "" && !slices.Contains(local, l) {
			local = append(local, l)
		}
	}
	for chunk := range slices.Chunk(local, mastoBatchSize) {
		if !m.noBatch {
			v := url.Values{"id[]": chunk}
			var statuses []mastoStatus
			_, err := m.get(ctx, "/api/v1/statuses", v, &statuses)
			var se *StatusError
			if errors.As(err, &se) && (se.Status == http.StatusNotFound || se.Status == http.StatusUnprocessableEntity) {
				m.log.Info("batch statuses endpoint unavailable, fetching one by one", "status", se.Status)
				m.noBatch = true
			} else if err != nil {
				return nil, fmt.Errorf("mastodon statuses: %w", err)
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
			_, err := m.get(ctx, "/api/v1/statuses/"+url.PathEscape(id), nil, &s)
			var se *StatusError
			if errors.As(err, &se) && se.Status == http.StatusNotFound {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("mastodon status %s: %w", id, err)
			}
			out[m.id(id)] = s.metrics()
		}
	}
	return out, nil
}
