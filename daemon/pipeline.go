// Package daemon wires the stages together: sources poll platforms, the
// matcher decides, the index and the store record, and alerts go to the
// store's outbox for delivery.
package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kizuki-dev/kizuki/alerting"
	"github.com/kizuki-dev/kizuki/index"
	"github.com/kizuki-dev/kizuki/listener"
	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/store"
)

// Defaults of PipelineOptions.
const (
	defaultThreadDepth      = 5
	defaultPerSourceTimeout = 2 * time.Minute
)

// PipelineOptions configure a Pipeline. Matcher, Store and Index are required.
type PipelineOptions struct {
	// Matcher returns the current rules; the daemon swaps them on reload,
	// and each poll decides with the rules current when it starts.
	Matcher func() *matcher.Matcher
	Store   *store.Store
	Index   *index.Index
	// Routes is the config's routing of alerts to Slack channels.
	Routes alerting.Routes
	// Location is the time zone of times shown in alerts; nil means UTC.
	Location *time.Location
	// Now is the clock; nil means time.Now. It should be the store's clock.
	Now func() time.Time
	// Logger receives skipped alerts and thread errors; nil discards them.
	Logger *slog.Logger
	// ThreadDepth is how many ancestors of a reply are fetched; zero or less means 5.
	ThreadDepth int
	// Query returns what sources search for, from the current rules; nil means
	// an empty query.
	Query func() listener.Query
	// PerSourceTimeout bounds one source's poll in PollAll; zero or less means 2 minutes.
	PerSourceTimeout time.Duration
}

// Pipeline polls sources and turns their posts into recorded decisions and
// outbox items. It is safe for concurrent use by different sources.
type Pipeline struct {
	matcher func() *matcher.Matcher
	store   *store.Store
	index   *index.Index
	routes  alerting.Routes
	loc     *time.Location
	now     func() time.Time
	log     *slog.Logger
	depth   int
	query   func() listener.Query
	timeout time.Duration
}

// Stats is what one poll of one source did.
type Stats struct {
	Fetched int // posts the source returned
	New     int // posts not seen before, now recorded
	Alerts  int // alerts newly put in the outbox
	Held    int // of those, alerts held back by quiet hours
}

// NewPipeline returns a Pipeline with opt's defaults filled in.
func NewPipeline(opt PipelineOptions) *Pipeline {
	p := &Pipeline{
		matcher: opt.Matcher,
		store:   opt.Store,
		index:   opt.Index,
		routes:  opt.Routes,
		loc:     opt.Location,
		now:     opt.Now,
		log:     opt.Logger,
		depth:   opt.ThreadDepth,
		query:   opt.Query,
		timeout: opt.PerSourceTimeout,
	}
	if p.loc == nil {
		p.loc = time.UTC
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.depth <= 0 {
		p.depth = defaultThreadDepth
	}
	if p.query == nil {
		p.query = func() listener.Query { return listener.Query{} }
	}
	if p.timeout <= 0 {
		p.timeout = defaultPerSourceTimeout
	}
	return p
}

// PollOnce reads one page of src since its cursor and records it:
//
//  1. search since the stored cursor (an error here changes nothing);
//  2. drop posts already seen, and repeats within the page;
//  3. fetch the thread before each reply that came without one (a failed
//     thread is logged and the post goes on without context);
//  4. decide each post with the current rules;
//  5. index the new posts (idempotent by id, so a crash after it only
//     re-indexes the same documents);
//  6. for each alert: route it, open its case and enqueue it in the outbox
//     (both idempotent by post id), held until the end of quiet hours;
//  7. record the posts and the page's cursor in one store transaction, so the
//     cursor advances only with the posts it covers.
//
// Alerts are enqueued before the posts are recorded, so a crash between the
// two loses no alert. An error in step 6 records nothing: the next poll
// retries the same page.
func (p *Pipeline) PollOnce(ctx context.Context, src listener.Source) (Stats, error) {
	var st Stats
	name := src.Name()
	m := p.matcher()
	if m == nil {
		return st, fmt.Errorf("poll %s: no rules loaded", name)
	}
	cursor, err := p.store.Cursor(ctx, name)
	if err != nil {
		return st, fmt.Errorf("poll %s: %w", name, err)
	}
	page, err := src.Search(ctx, p.query(), cursor)
	if err != nil {
		return st, fmt.Errorf("poll %s: search since %q: %w", name, cursor, err)
	}
	st.Fetched = len(page.Posts)

	posts, err := p.unseen(ctx, page.Posts)
	if err != nil {
		return st, fmt.Errorf("poll %s: %w", name, err)
	}
	for i := range posts {
		p.addThread(ctx, src, &posts[i])
	}
	if err := ctx.Err(); err != nil {
		return st, fmt.Errorf("poll %s: %w", name, err)
	}
	decs := make([]matcher.Decision, len(posts))
	docs := make([]index.Doc, len(posts))
	recs := make([]store.Recorded, len(posts))
	for i := range posts {
		decs[i] = m.Decide(&posts[i])
		docs[i] = IndexDoc(&posts[i], &decs[i])
		recs[i] = store.Recorded{Post: posts[i], Decision: StoreDecision(&decs[i])}
	}
	if len(docs) > 0 {
		if err := p.index.Index(ctx, docs); err != nil {
			return st, fmt.Errorf("poll %s: index %d posts: %w", name, len(docs), err)
		}
	}
	// Alerts go into the outbox before the posts are recorded: a crash in
	// between re-fetches the same page (the cursor has not moved), and the
	// case and the outbox item are idempotent by post id, so nothing is
	// lost and nothing is sent twice.
	var errs []error
	for i := range posts {
		if !decs[i].Alert {
			continue
		}
		added, held, err := p.alert(ctx, &posts[i], &decs[i])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if added {
			st.Alerts++
			if held {
				st.Held++
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		// Not recorded: the next poll sees the same posts and tries again.
		return st, fmt.Errorf("poll %s: %w", name, err)
	}
	next := page.Cursor
	if next == "" {
		// A source with nothing new may give no cursor; an empty one would
		// forget where it stopped.
		next = cursor
	}
	fresh, err := p.store.RecordPostsAndCursor(ctx, recs, name, next)
	if err != nil {
		return st, fmt.Errorf("poll %s: %w", name, err)
	}
	for i := range posts {
		if fresh[i] {
			st.New++
		}
	}
	return st, nil
}

// unseen returns the posts the store has not recorded, each id once, in order.
func (p *Pipeline) unseen(ctx context.Context, posts []post.Post) ([]post.Post, error) {
	if len(posts) == 0 {
		return nil, nil
	}
	ids := make([]string, len(posts))
	for i := range posts {
		ids[i] = posts[i].ID
	}
	seen, err := p.store.Seen(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []post.Post
	inPage := map[string]bool{}
	for i := range posts {
		id := posts[i].ID
		if id == "" {
			p.log.WarnContext(ctx, "post without id dropped", "platform", posts[i].Platform, "url", posts[i].URL)
			continue
		}
		if seen[i] || inPage[id] {
			continue
		}
		inPage[id] = true
		out = append(out, posts[i])
	}
	return out, nil
}

// addThread fills the context of a reply that came without it.
func (p *Pipeline) addThread(ctx context.Context, src listener.Source, pt *post.Post) {
	if pt.ReplyTo == "" || len(pt.Context) > 0 || ctx.Err() != nil {
		return
	}
	thread, err := src.Thread(ctx, *pt, p.depth)
	if err != nil {
		p.log.WarnContext(ctx, "thread not fetched; deciding without context",
			"source", src.Name(), "post", pt.ID, "err", err)
		return
	}
	for i := range thread {
		thread[i].Context = nil // context posts carry no context of their own
	}
	pt.Context = thread
}

// alert routes one alerting decision, opens its case and enqueues it. added
// is false when the outbox already had the key (or has sent it).
func (p *Pipeline) alert(ctx context.Context, pt *post.Post, d *matcher.Decision) (added, held bool, err error) {
	channel, why := alerting.Route(*d, p.routes)
	if channel == "" {
		p.log.WarnContext(ctx, "alert not routed", "post", pt.ID, "brand", d.Brand, "why", why)
		return false, false, nil
	}
	now := p.now()
	notBefore := now
	if until, ok := alerting.HoldUntil(*d, now); ok {
		notBefore, held = until, true
	}
	c, _, err := p.store.OpenCase(ctx, store.Case{
		ID:        pt.ID,
		Brand:     d.Brand,
		Category:  string(d.Category),
		Channel:   channel,
		AuthorKey: store.AuthorKey(*pt),
	})
	if err != nil {
		return false, false, err
	}
	var history []store.CaseRef
	if key := store.AuthorKey(*pt); key != "" {
		refs, err := p.store.AuthorHistory(ctx, key)
		if err != nil {
			return false, false, fmt.Errorf("alert %s: %w", pt.ID, err)
		}
		for _, r := range refs {
			if r.ID != pt.ID {
				history = append(history, r)
			}
		}
	}
	payload, err := json.Marshal(alerting.Alert{Post: *pt, Decision: *d, History: history, Case: c, Location: p.loc})
	if err != nil {
		return false, false, fmt.Errorf("alert %s: encode: %w", pt.ID, err)
	}
	added, err = p.store.Enqueue(ctx, store.OutboxItem{
		Key:       pt.ID + ":alert",
		Channel:   channel,
		Payload:   payload,
		NotBefore: notBefore,
	})
	if err != nil {
		return false, false, err
	}
	if added && held {
		p.log.InfoContext(ctx, "alert held for quiet hours", "post", pt.ID, "channel", channel, "until", notBefore)
	}
	return added, held, nil
}

// PollAll polls every source at once, each within PerSourceTimeout, and
// returns each source's error by name (nil for a source that succeeded). One
// failing or slow source does not stop the others; PollAll returns when every
// poll has returned, so sources must respect their context.
func (p *Pipeline) PollAll(ctx context.Context, sources []listener.Source) map[string]error {
	results := make(map[string]error, len(sources))
	var run []listener.Source
	for _, src := range sources {
		name := src.Name()
		if _, dup := results[name]; dup {
			// Cursors are per name: two sources with one name would overwrite each other's.
			results[name] = errors.Join(results[name], fmt.Errorf("poll %s: another source has the same name; skipped", name))
			continue
		}
		results[name] = nil
		run = append(run, src)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, src := range run {
		name := src.Name()
		wg.Go(func() {
			sctx, cancel := context.WithTimeout(ctx, p.timeout)
			defer cancel()
			st, err := p.PollOnce(sctx, src)
			if err != nil {
				p.log.ErrorContext(ctx, "poll failed", "source", name, "err", err)
			} else {
				p.log.DebugContext(ctx, "polled", "source", name, "fetched", st.Fetched, "new", st.New, "alerts", st.Alerts, "held", st.Held)
			}
			mu.Lock()
			results[name] = errors.Join(results[name], err)
			mu.Unlock()
		})
	}
	wg.Wait()
	return results
}
