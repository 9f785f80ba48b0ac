package listener

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"
	"golang.org/x/net/html"

	"github.com/kizuki-dev/kizuki/post"
)

// feedSeenMax bounds the entry ids remembered per feed URL in the cursor.
const feedSeenMax = 500

// FeedOptions configure a Feed source.
type FeedOptions struct {
	Name   string   // default "feed"
	URLs   []string // RSS 2.0 / Atom / JSON Feed documents, e.g. Google Alerts feeds
	Client *Client  // default NewClient(ClientOptions{})
	Now    func() time.Time
	// DailyBudget is how many feed requests may be made per UTC day; 0 is
	// unlimited. A URL the budget does not allow is skipped like a failed
	// one (its state kept) until the next UTC day.
	DailyBudget int
	// Budget, if set, is used instead of one made from DailyBudget, so
	// that its count survives a rebuild of the source (a reload).
	Budget *Budget
}

// Feed is a keyless source that polls RSS/Atom feeds (Google Alerts
// included). Every entry not seen before is returned: keyword filtering is
// the matcher's job.
//
// Its cursor is JSON: {"<feed url>": {"etag", "last_modified", "seen": [ids]}},
// where seen holds the hashed ids of the most recent entries (at most 500
// per URL), used to skip entries already returned.
type Feed struct {
	opt    FeedOptions
	budget *Budget
}

var (
	_ Source   = (*Feed)(nil)
	_ Budgeted = (*Feed)(nil)
)

// NewFeed returns a Feed with defaults filled in.
func NewFeed(opt FeedOptions) *Feed {
	if opt.Name == "" {
		opt.Name = "feed"
	}
	if opt.Client == nil {
		opt.Client = NewClient(ClientOptions{})
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Feed{opt: opt, budget: orBudget(opt.Budget, opt.Name, opt.DailyBudget, UnitRequests, opt.Now)}
}

// Name implements Source.
func (f *Feed) Name() string { return f.opt.Name }

// Remaining implements Budgeted: the requests that may still be made today.
func (f *Feed) Remaining() (n int, limited bool) { return f.budget.Remaining() }

type feedState struct {
	ETag         string   `json:"etag,omitempty"`
	LastModified string   `json:"last_modified,omitempty"`
	Seen         []string `json:"seen,omitempty"`
}

// Search fetches every feed URL with a conditional GET and returns the
// entries not seen before, oldest first. A 304 Not Modified means nothing
// new for that URL.
//
// On the first poll of a URL (no state for it in the cursor), entries with
// a date before q.Since are remembered as seen but not returned.
//
// A URL that fails (HTTP error, malformed feed) does not stop the others:
// Search returns the posts of the good URLs together with an error joining
// one error per failed URL, each naming it. The returned cursor is still
// valid and should be kept: it advances only for the good URLs, and keeps
// the previous state of the failed ones, so their entries are returned by
// a later poll once they work again.
func (f *Feed) Search(ctx context.Context, q Query, cursor string) (Page, error) {
	prev := map[string]*feedState{}
	if cursor != "" {
		if err := json.Unmarshal([]byte(cursor), &prev); err != nil {
			return Page{Cursor: cursor}, fmt.Errorf("%s: bad cursor: %w", f.opt.Name, err)
		}
	}
	next := make(map[string]*feedState, len(f.opt.URLs))
	var posts []post.Post
	var errs []error
	for _, u := range f.opt.URLs {
		if _, dup := next[u]; dup {
			continue
		}
		st := prev[u]
		ps, nst, err := f.poll(ctx, u, st, q.Since)
		if err != nil {
			errs = append(errs, fmt.Errorf("feed %s: %w", redact(u), err))
			if st != nil {
				next[u] = st
			}
			if ctx.Err() != nil {
				break
			}
			continue
		}
		next[u] = nst
		posts = append(posts, ps...)
	}
	// Keep the state of URLs skipped because the context ended.
	for _, u := range f.opt.URLs {
		if _, ok := next[u]; !ok && prev[u] != nil {
			next[u] = prev[u]
		}
	}
	slices.SortStableFunc(posts, func(a, b post.Post) int { return a.CreatedAt.Compare(b.CreatedAt) })
	b, err := json.Marshal(next)
	if err != nil { // cannot happen: strings only
		return Page{}, err
	}
	return Page{Posts: posts, Cursor: string(b)}, errors.Join(errs...)
}

// poll fetches one feed URL; st is its previous state (nil on the first
// poll). It returns the new entries and the new state.
func (f *Feed) poll(ctx context.Context, feedURL string, st *feedState, since time.Time) ([]post.Post, *feedState, error) {
	first := st == nil
	if st == nil {
		st = &feedState{}
	}
	hdr := http.Header{"Accept": {"application/atom+xml, application/rss+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"}}
	if st.ETag != "" {
		hdr.Set("If-None-Match", st.ETag)
	}
	if st.LastModified != "" {
		hdr.Set("If-Modified-Since", st.LastModified)
	}
	if err := f.budget.take(forSearch, 1); err != nil {
		return nil, nil, err
	}
	resp, body, err := f.opt.Client.Get(ctx, feedURL, hdr)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode == http.StatusNotModified {
		nst := *st
		if v := resp.Header.Get("ETag"); v != "" {
			nst.ETag = v
		}
		if v := resp.Header.Get("Last-Modified"); v != "" {
			nst.LastModified = v
		}
		return nil, &nst, nil
	}
	fd, err := gofeed.NewParser().Parse(bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("malformed feed: %w", err)
	}
	seen := make(map[string]bool, len(st.Seen))
	for _, id := range st.Seen {
		seen[id] = true
	}
	lang := primaryLang(fd.Language)
	feedHost := hostOf(feedURL)
	var posts []post.Post
	var current []string // hashed ids of the entries in this document
	inDoc := map[string]bool{}
	for _, it := range fd.Items {
		if it == nil {
			continue
		}
		key := entryHash(feedURL, it)
		if inDoc[key] {
			continue
		}
		inDoc[key] = true
		current = append(current, key)
		if seen[key] {
			continue
		}
		p := f.toPost(it, key, feedHost, lang)
		if first && !since.IsZero() && entryDated(it) && p.CreatedAt.Before(since) {
			continue
		}
		posts = append(posts, p)
	}
	// Seen is ordered oldest first: earlier ids not in this document, then
	// this document's ids; the oldest are dropped past feedSeenMax.
	nseen := make([]string, 0, len(st.Seen)+len(current))
	for _, id := range st.Seen {
		if !inDoc[id] {
			nseen = append(nseen, id)
		}
	}
	for i := len(current) - 1; i >= 0; i-- { // feeds list newest first
		nseen = append(nseen, current[i])
	}
	if len(nseen) > feedSeenMax {
		nseen = nseen[len(nseen)-feedSeenMax:]
	}
	return posts, &feedState{
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
		Seen:         nseen,
	}, nil
}

func (f *Feed) toPost(it *gofeed.Item, key, feedHost, lang string) post.Post {
	link := it.Link
	if link == "" && len(it.Links) > 0 {
		link = it.Links[0]
	}
	link = unwrapGoogleURL(link)
	var name string
	for _, a := range it.Authors {
		if a != nil && strings.TrimSpace(a.Name) != "" {
			name = strings.TrimSpace(a.Name)
			break
		}
	}
	if name == "" && it.Author != nil {
		name = strings.TrimSpace(it.Author.Name)
	}
	handle := name
	if handle == "" {
		// The site the entry links to (for Google Alerts, the target
		// site rather than google.com), else the feed's host.
		handle = hostOf(link)
	}
	if handle == "" {
		handle = feedHost
	}
	body := it.Content
	if strings.TrimSpace(body) == "" {
		body = it.Description
	}
	title := HTMLToText(it.Title)
	text := HTMLToText(body)
	switch {
	case title == "":
	case text == "":
		text = title
	default:
		text = title + "\n" + text
	}
	var created time.Time
	switch {
	case it.PublishedParsed != nil:
		created = *it.PublishedParsed
	case it.UpdatedParsed != nil:
		created = *it.UpdatedParsed
	default:
		created = f.opt.Now()
	}
	return post.Post{
		ID:        "feed:" + key,
		Platform:  "feed",
		URL:       link,
		Author:    post.Author{Handle: handle, Name: name},
		Text:      text,
		Lang:      lang,
		CreatedAt: created.UTC(),
	}
}

func entryDated(it *gofeed.Item) bool {
	return it.PublishedParsed != nil || it.UpdatedParsed != nil
}

// entryHash is the stable id of an entry: a hash of its id/guid, else its
// link, else its title and date. An id that is not globally unique (no
// scheme, such as a bare number) is qualified by the feed URL.
func entryHash(feedURL string, it *gofeed.Item) string {
	id := strings.TrimSpace(it.GUID)
	if id == "" {
		id = strings.TrimSpace(it.Link)
	}
	if id == "" {
		id = feedURL + "\x00" + it.Title + "\x00" + it.Published + "\x00" + it.Updated
	} else if !strings.Contains(id, ":") {
		id = feedURL + "\x00" + id
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:12])
}

// unwrapGoogleURL returns the target of a Google redirect link
// (https://www.google.com/url?...&url=TARGET...), as Google Alerts uses,
// or raw unchanged.
func unwrapGoogleURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Path != "/url" {
		return raw
	}
	h := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	if !strings.HasPrefix(h, "google.") {
		return raw
	}
	qv := u.Query()
	for _, k := range []string{"url", "q"} {
		t := qv.Get(k)
		if tu, err := url.Parse(t); err == nil && (tu.Scheme == "http" || tu.Scheme == "https") && tu.Host != "" {
			return t
		}
	}
	return raw
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// primaryLang returns the primary subtag of a language tag ("ja-JP" → "ja").
func primaryLang(tag string) string {
	tag = strings.TrimSpace(tag)
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return strings.ToLower(tag)
}

// Thread implements Source: feed entries have no thread.
func (f *Feed) Thread(ctx context.Context, p post.Post, depth int) ([]post.Post, error) {
	return nil, nil
}

// Refresh implements Source: feeds carry no engagement counts.
func (f *Feed) Refresh(ctx context.Context, ids []string) (map[string]post.Metrics, error) {
	return map[string]post.Metrics{}, nil
}

// HTMLToText turns an HTML fragment into plain text: tags are dropped,
// entities decoded, <br> and block elements become line breaks, scripts and
// styles are dropped, and a link whose target differs from its text keeps
// the target in parentheses after it (Google redirects unwrapped). Runs of
// blank space collapse as in a browser; empty lines are removed. Text
// without any tag is only entity-decoded, keeping its own line breaks.
func HTMLToText(s string) string {
	if !looksLikeHTML(s) {
		return cleanLines(html.UnescapeString(s), false)
	}
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0 // inside script/style
	pre := 0  // inside pre
	type anchor struct {
		href  string
		start int
	}
	var links []anchor
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return cleanLines(b.String(), true)
		case html.TextToken:
			if skip > 0 {
				continue
			}
			t := string(z.Text())
			if pre == 0 {
				t = collapseSpace(t)
			} else {
				t = strings.ReplaceAll(t, "\n", "\x00")
			}
			b.WriteString(t)
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			end := tt == html.EndTagToken
			switch tag {
			case "script", "style", "noscript", "template":
				if tt == html.StartTagToken {
					skip++
				} else if end && skip > 0 {
					skip--
				}
				continue
			case "pre":
				if tt == html.StartTagToken {
					pre++
				} else if end && pre > 0 {
					pre--
				}
			case "a":
				if tt == html.StartTagToken {
					var href string
					for hasAttr {
						var k, v []byte
						k, v, hasAttr = z.TagAttr()
						if string(k) == "href" {
							href = string(v)
						}
					}
					links = append(links, anchor{href: href, start: b.Len()})
				} else if end && len(links) > 0 {
					a := links[len(links)-1]
					links = links[:len(links)-1]
					target := unwrapGoogleURL(strings.TrimSpace(a.href))
					label := strings.TrimSpace(b.String()[a.start:])
					if u, err := url.Parse(target); err == nil && (u.Scheme == "http" || u.Scheme == "https") && label != target {
						if label == "" {
							b.WriteString(target)
						} else {
							b.WriteString(" (" + target + ")")
						}
					}
				}
				continue
			}
			if tag == "br" || (blockTags[tag] && skip == 0) {
				b.WriteByte('\n')
			}
		}
	}
}

var blockTags = map[string]bool{
	"p": true, "div": true, "li": true, "ul": true, "ol": true, "dl": true, "dt": true, "dd": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"blockquote": true, "pre": true, "table": true, "tr": true, "hr": true,
	"section": true, "article": true, "header": true, "footer": true, "aside": true,
	"nav": true, "figure": true, "figcaption": true, "main": true, "address": true,
}

// looksLikeHTML reports whether s has something like a tag or an entity
// reference ending in ';' that would need the HTML tokenizer.
func looksLikeHTML(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '<' {
			c := s[i+1]
			if c == '/' || c == '!' || (c|0x20 >= 'a' && c|0x20 <= 'z') {
				return true
			}
		}
	}
	return false
}

// collapseSpace turns each run of HTML white space into one space.
func collapseSpace(s string) string {
	var b strings.Builder
	sp := false
	for _, r := range s {
		switch r {
		case ' ', '\t', '\n', '\r', '\f':
			if !sp {
				b.WriteByte(' ')
			}
			sp = true
		default:
			b.WriteRune(r)
			sp = false
		}
	}
	return b.String()
}

// cleanLines trims each line, drops empty ones, and (for tokenized HTML)
// restores the line breaks of <pre> blocks, which were kept as NUL bytes.
func cleanLines(s string, fromHTML bool) string {
	if fromHTML {
		s = strings.ReplaceAll(s, "\x00", "\n")
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\u00a0", " ")
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if !fromHTML {
			l = strings.Join(strings.Fields(l), " ")
		}
		if l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
