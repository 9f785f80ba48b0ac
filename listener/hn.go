package listener

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/post"
)

// Hacker News: keyword search through Algolia's HN Search API, threads and
// engagement counts through the official Firebase API. Neither needs a key.

// HNOptions configure HN. Zero values are sane defaults.
type HNOptions struct {
	AlgoliaURL  string // default https://hn.algolia.com/api/v1
	FirebaseURL string // default https://hacker-news.firebaseio.com/v0
	Client      *Client
	HitsPerPage int // default 100
	MaxPages    int // default 5, per keyword and poll
	// Now is the clock; a first poll with a zero Query.Since starts from
	// Now (no backfill).
	Now func() time.Time
	// DailyBudget is how many requests (Algolia and Firebase) may be made
	// per UTC day; 0 is unlimited. See Budget.
	DailyBudget int
	// Budget, if set, is used instead of one made from DailyBudget, so
	// that its count survives a rebuild of the source (a reload).
	Budget *Budget
}

// hnCacheSize bounds the Firebase item cache of Thread.
const hnCacheSize = 10000

// HN is the Hacker News Source.
type HN struct {
	opt    HNOptions
	log    *slog.Logger
	budget *Budget
	items  *lru[int64, *hnItem] // Firebase items, for Thread
}

var (
	_ Source   = (*HN)(nil)
	_ Budgeted = (*HN)(nil)
)

// NewHN returns an HN source with defaults filled in.
func NewHN(opt HNOptions) *HN {
	if opt.AlgoliaURL == "" {
		opt.AlgoliaURL = "https://hn.algolia.com/api/v1"
	}
	if opt.FirebaseURL == "" {
		opt.FirebaseURL = "https://hacker-news.firebaseio.com/v0"
	}
	opt.AlgoliaURL = strings.TrimRight(opt.AlgoliaURL, "/")
	opt.FirebaseURL = strings.TrimRight(opt.FirebaseURL, "/")
	if opt.Client == nil {
		opt.Client = NewClient(ClientOptions{})
	}
	if opt.HitsPerPage <= 0 {
		opt.HitsPerPage = 100
	}
	if opt.MaxPages <= 0 {
		opt.MaxPages = 5
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &HN{opt: opt, log: opt.Client.opt.Logger.With("source", "hn"),
		budget: orBudget(opt.Budget, "hn", opt.DailyBudget, UnitRequests, opt.Now),
		items:  newLRU[int64, *hnItem](hnCacheSize, ancestorTTL, opt.Now)}
}

// Name implements Source.
func (h *HN) Name() string { return "hn" }

// Remaining implements Budgeted: the requests that may still be made today.
func (h *HN) Remaining() (n int, limited bool) { return h.budget.Remaining() }

// hnHit is one Algolia search hit. Numbers that are null on comments
// decode as zero.
type hnHit struct {
	ObjectID    string   `json:"objectID"`
	CreatedAt   string   `json:"created_at"`
	CreatedAtI  int64    `json:"created_at_i"`
	Author      string   `json:"author"`
	Title       *string  `json:"title"`
	StoryText   *string  `json:"story_text"`
	CommentText *string  `json:"comment_text"`
	Points      *int     `json:"points"`
	NumComments *int     `json:"num_comments"`
	StoryID     int64    `json:"story_id"`
	ParentID    int64    `json:"parent_id"`
	Tags        []string `json:"_tags"`
}

type hnSearchResult struct {
	Hits    []hnHit `json:"hits"`
	NbHits  int     `json:"nbHits"`
	Page    int     `json:"page"`
	NbPages int     `json:"nbPages"`
}

// Search implements Source. Algolia has no OR, so each keyword is one
// query (see Queries); the results are merged and deduplicated. The
// cursor, shared by the queries, is JSON: the newest created_at_i seen
// and the ids seen at that second; the next Search asks every query for
// hits from that second on and drops the ones already returned. (A plain
// number, the cursor of earlier versions, is read as "after that second".)
// Query.Languages is left to the matcher (HN has no language field).
func (h *HN) Search(ctx context.Context, q Query, cursor string) (Page, error) {
	var cur mark[int64]
	if cursor != "" {
		if n, err := strconv.ParseInt(cursor, 10, 64); err == nil && n >= 0 {
			cur = mark[int64]{At: n + 1}
		} else if err := json.Unmarshal([]byte(cursor), &cur); err != nil || cur.At <= 0 {
			h.log.Warn("bad cursor, starting from Since", "cursor", cursor)
			cursor = ""
		}
	}
	if cursor == "" {
		t := q.Since
		if t.IsZero() {
			t = h.opt.Now()
		}
		cur = mark[int64]{At: max(t.Unix(), 0)}
	}
	queries, err := h.Queries(q)
	if err != nil {
		return Page{}, err
	}

	var m merged
	for _, query := range queries {
		for page := 0; page < h.opt.MaxPages; page++ {
			res, err := h.searchPage(ctx, query, cur.At, page)
			if err != nil {
				return Page{}, err
			}
			for _, hit := range res.Hits {
				if p, ok := h.hitPost(hit); ok && cur.fresh(cmp.Compare[int64], p.CreatedAt.Unix(), p.ID) {
					m.add(p)
				}
			}
			if page+1 >= res.NbPages || len(res.Hits) == 0 {
				break
			}
			if page+1 == h.opt.MaxPages {
				h.log.Warn("more hits than MaxPages, older ones skipped",
					"query", query, "nbHits", res.NbHits, "nbPages", res.NbPages)
			}
		}
	}
	posts := m.posts
	slices.SortStableFunc(posts, func(a, b post.Post) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(hnNum(a.ID), hnNum(b.ID))
	})
	next := cur
	for _, p := range posts {
		next.advance(cmp.Compare[int64], p.CreatedAt.Unix(), p.ID)
	}
	c, err := next.encode()
	if err != nil {
		return Page{}, fmt.Errorf("hn: %w", err)
	}
	return Page{Posts: posts, Cursor: c}, nil
}

// Queries returns the Algolia queries Search sends for q (see
// querybuild.go): one per keyword, quoted as an exact phrase, with the
// one-word exclusions as -word (advancedSyntax); a keyword too long for
// Algolia's 512 bytes is an error wrapping ErrQueryTooLong.
func (h *HN) Queries(q Query) ([]string, error) {
	return hnDialect().queries(q, "hn", h.log, slog.LevelDebug)
}

func (h *HN) searchPage(ctx context.Context, query string, since int64, page int) (*hnSearchResult, error) {
	if err := h.budget.take(forSearch, 1); err != nil {
		return nil, err
	}
	v := url.Values{}
	v.Set("query", query)
	v.Set("advancedSyntax", "true") // phrases and -word
	v.Set("tags", "(story,comment)")
	v.Set("numericFilters", "created_at_i>="+strconv.FormatInt(since, 10))
	v.Set("hitsPerPage", strconv.Itoa(h.opt.HitsPerPage))
	v.Set("page", strconv.Itoa(page))
	var res hnSearchResult
	if _, err := h.opt.Client.GetJSON(ctx, h.opt.AlgoliaURL+"/search_by_date?"+v.Encode(), nil, &res); err != nil {
		return nil, fmt.Errorf("hn search: %w", err)
	}
	return &res, nil
}

// hitPost maps an Algolia hit; ok is false (and the hit logged) if it
// lacks an id or a time.
func (h *HN) hitPost(hit hnHit) (post.Post, bool) {
	id, err := strconv.ParseInt(hit.ObjectID, 10, 64)
	if err != nil || id <= 0 {
		h.log.Warn("skipping hit without a valid objectID", "objectID", hit.ObjectID)
		return post.Post{}, false
	}
	var created time.Time
	switch {
	case hit.CreatedAtI > 0:
		created = time.Unix(hit.CreatedAtI, 0).UTC()
	case hit.CreatedAt != "":
		if t, err := time.Parse(time.RFC3339, hit.CreatedAt); err == nil {
			created = t.UTC()
		}
	}
	if created.IsZero() {
		h.log.Warn("skipping hit without a time", "objectID", hit.ObjectID)
		return post.Post{}, false
	}
	comment := slices.Contains(hit.Tags, "comment") ||
		(!slices.Contains(hit.Tags, "story") && (hit.CommentText != nil || hit.ParentID != 0))
	p := post.Post{
		ID:        hnID(id),
		Platform:  "hn",
		URL:       hnURL(id),
		Author:    post.Author{ID: hit.Author, Handle: hit.Author},
		CreatedAt: created,
	}
	if hit.Points != nil {
		p.Metrics.Likes = *hit.Points
	}
	if hit.NumComments != nil {
		p.Metrics.Replies = *hit.NumComments
	}
	story := hit.StoryID
	if comment {
		p.Text = hnHTMLText(hnDeref(hit.CommentText))
		if hit.ParentID != 0 {
			p.ReplyTo = hnID(hit.ParentID)
		}
	} else {
		p.Text = hnStoryText(hnDeref(hit.Title), hnDeref(hit.StoryText))
		if story == 0 {
			story = id
		}
	}
	if story != 0 {
		p.ConversationID = hnID(story)
	}
	return p, true
}

// hnItem is a Firebase item.
type hnItem struct {
	ID          int64   `json:"id"`
	Type        string  `json:"type"`
	By          string  `json:"by"`
	Time        int64   `json:"time"`
	Text        string  `json:"text"`
	Parent      int64   `json:"parent"`
	Kids        []int64 `json:"kids"`
	Title       string  `json:"title"`
	Score       int     `json:"score"`
	Descendants *int    `json:"descendants"`
	Deleted     bool    `json:"deleted"`
	Dead        bool    `json:"dead"`
}

// metrics: score and, on stories, descendants (all comments); a comment
// has no descendants field, so its direct replies are counted instead.
func (it *hnItem) metrics() post.Metrics {
	m := post.Metrics{Likes: it.Score}
	if it.Descendants != nil {
		m.Replies = *it.Descendants
	} else {
		m.Replies = len(it.Kids)
	}
	return m
}

func (it *hnItem) post(conversation string) post.Post {
	p := post.Post{
		ID:             hnID(it.ID),
		Platform:       "hn",
		URL:            hnURL(it.ID),
		Author:         post.Author{ID: it.By, Handle: it.By},
		CreatedAt:      time.Unix(it.Time, 0).UTC(),
		Metrics:        it.metrics(),
		ConversationID: conversation,
	}
	if it.Type == "comment" || (it.Parent != 0 && it.Type != "story") {
		p.Text = hnHTMLText(it.Text)
		p.ReplyTo = hnID(it.Parent)
	} else {
		p.Text = hnStoryText(it.Title, it.Text)
		p.ConversationID = hnID(it.ID)
	}
	return p
}

// item fetches a Firebase item for purpose p; nil (and no error) if HN
// does not know the id. With cached, a cached copy is used and a fetched
// one kept.
func (h *HN) item(ctx context.Context, p purpose, id int64, cached bool) (*hnItem, error) {
	if cached {
		if it, ok := h.items.get(id); ok {
			return it, nil
		}
	}
	if err := h.budget.take(p, 1); err != nil {
		return nil, err
	}
	var it *hnItem
	_, err := h.opt.Client.GetJSON(ctx, h.opt.FirebaseURL+"/item/"+strconv.FormatInt(id, 10)+".json", nil, &it)
	var se *StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hn item %d: %w", id, err)
	}
	if it == nil { // JSON null: unknown (not cached: it may appear later)
		return nil, nil
	}
	if it.ID == 0 {
		it.ID = id
	}
	h.items.put(id, it)
	return it, nil
}

// Thread implements Source: it follows parent links through Firebase,
// using cached items, so that ancestors shared by several posts are
// fetched once (Firebase has no batch lookup). An unknown, deleted or
// dead ancestor ends the chain. When the budget is low Thread refuses,
// returning the ancestors found so far and an error wrapping ErrBudget.
func (h *HN) Thread(ctx context.Context, p post.Post, depth int) ([]post.Post, error) {
	parent := hnNum(p.ReplyTo)
	var chain []post.Post
	var err error
	for len(chain) < depth && parent > 0 {
		var it *hnItem
		if it, err = h.item(ctx, forThread, parent, true); err != nil {
			break
		}
		if it == nil || it.Deleted || it.Dead {
			break
		}
		a := it.post(p.ConversationID)
		chain = append(chain, a)
		if a.ReplyTo == "" {
			break // the story
		}
		parent = it.Parent
	}
	slices.Reverse(chain)
	if err != nil && !errors.Is(err, ErrBudget) {
		return nil, err
	}
	return chain, err
}

// Refresh implements Source with one Firebase item request per id (there
// is no batch endpoint). Unknown, deleted and dead items, and ids that are
// not "hn:<number>", are left out. When the budget is low Refresh
// refuses, returning the counts read so far and an error wrapping
// ErrBudget.
func (h *HN) Refresh(ctx context.Context, ids []string) (map[string]post.Metrics, error) {
	out := make(map[string]post.Metrics, len(ids))
	for _, id := range ids {
		n := hnNum(id)
		if n <= 0 || !strings.HasPrefix(id, "hn:") {
			continue
		}
		if _, done := out[id]; done {
			continue
		}
		it, err := h.item(ctx, forRefresh, n, false)
		if errors.Is(err, ErrBudget) {
			return out, err
		}
		if err != nil {
			return nil, err
		}
		if it == nil || it.Deleted || it.Dead {
			continue
		}
		out[id] = it.metrics()
	}
	return out, nil
}

// hnHTMLText turns HN's comment HTML into plain text: <p> starts a new
// paragraph (a blank line), <br> a new line, a link becomes its href,
// other tags are dropped and entities unescaped.
func hnHTMLText(s string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	para := func() {
		out := b.String()
		if out == "" || strings.HasSuffix(out, "\n\n") {
			return
		}
		if strings.HasSuffix(out, "\n") {
			b.WriteString("\n")
		} else {
			b.WriteString("\n\n")
		}
	}
	inLink := false
	for i := 0; i < len(s); {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			if !inLink {
				b.WriteString(html.UnescapeString(s[i:]))
			}
			break
		}
		if !inLink {
			b.WriteString(html.UnescapeString(s[i : i+lt]))
		}
		i += lt
		end := hnTagEnd(s, i)
		if end < 0 || !hnIsTagStart(s, i) { // a stray "<": text
			if !inLink {
				b.WriteByte('<')
			}
			i++
			continue
		}
		name, closing, attrs := hnParseTag(s[i+1 : end])
		i = end + 1
		switch name {
		case "p", "div", "pre", "blockquote", "ul", "ol", "li":
			para()
		case "br":
			b.WriteString("\n")
		case "a":
			if closing {
				inLink = false
			} else if href := hnAttrValue(attrs, "href"); href != "" {
				b.WriteString(html.UnescapeString(href))
				inLink = true
			}
		}
	}
	return strings.TrimSpace(b.String())
}

// hnIsTagStart: "<" followed by a letter, "/" or "!".
func hnIsTagStart(s string, i int) bool {
	if i+1 >= len(s) {
		return false
	}
	c := s[i+1]
	return c == '/' || c == '!' || (c|0x20) >= 'a' && (c|0x20) <= 'z'
}

// hnTagEnd returns the index of the ">" closing the tag at s[i], skipping
// quoted attribute values, or -1.
func hnTagEnd(s string, i int) int {
	var quote byte
	for j := i + 1; j < len(s); j++ {
		c := s[j]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return j
		}
	}
	return -1
}

// hnParseTag splits the inside of a tag ("a href=x", "/p", "br/").
func hnParseTag(t string) (name string, closing bool, attrs string) {
	t = strings.TrimSpace(t)
	if strings.HasPrefix(t, "/") {
		closing = true
		t = t[1:]
	}
	t = strings.TrimSuffix(t, "/")
	n := strings.IndexFunc(t, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '/' })
	if n < 0 {
		n = len(t)
	}
	return strings.ToLower(t[:n]), closing, t[n:]
}

// hnAttrValue returns the value of attribute key in attrs, or "".
func hnAttrValue(attrs, key string) string {
	for len(attrs) > 0 {
		attrs = strings.TrimLeft(attrs, " \t\n/")
		eq := strings.IndexByte(attrs, '=')
		if eq < 0 {
			return ""
		}
		k := strings.ToLower(strings.TrimSpace(attrs[:eq]))
		rest := strings.TrimLeft(attrs[eq+1:], " \t\n")
		var v string
		if rest != "" && (rest[0] == '"' || rest[0] == '\'') {
			end := strings.IndexByte(rest[1:], rest[0])
			if end < 0 {
				v, rest = rest[1:], ""
			} else {
				v, rest = rest[1:1+end], rest[end+2:]
			}
		} else {
			end := strings.IndexAny(rest, " \t\n")
			if end < 0 {
				end = len(rest)
			}
			v, rest = rest[:end], rest[end:]
		}
		if k == key {
			return v
		}
		attrs = rest
	}
	return ""
}

func hnStoryText(title, body string) string {
	body = hnHTMLText(body)
	if body == "" {
		return title
	}
	return title + "\n" + body
}

func hnDeref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func hnID(id int64) string { return "hn:" + strconv.FormatInt(id, 10) }

func hnURL(id int64) string {
	return "https://news.ycombinator.com/item?id=" + strconv.FormatInt(id, 10)
}

// hnNum returns the number of "hn:<n>", or 0.
func hnNum(id string) int64 {
	n, err := strconv.ParseInt(strings.TrimPrefix(id, "hn:"), 10, 64)
	if err != nil {
		return 0
	}
	return n
}
