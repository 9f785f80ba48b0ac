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
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kizuki-dev/kizuki/alerting"
	"github.com/kizuki-dev/kizuki/index"
	"github.com/kizuki-dev/kizuki/listener"
	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
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
	// PerSourceTimeout bounds each page of a source's poll in PollAll; zero or less means 2 minutes.
	PerSourceTimeout time.Duration
	// GroupWindow, if positive, groups an author's posts: an alerting post written within
	// GroupWindow of the post of the author's open alert about the same brand (for the
	// same channel) joins that alert's Slack thread as a reply instead of alerting again.
	// Zero or less never groups. An hour is a good window.
	GroupWindow time.Duration
	// Incidents, if set, diverts a brand's negative alerts into its open surge's thread
	// (incident mode); *watch.Watch is one.
	Incidents Incidents
}

// Pipeline polls sources and turns their posts into recorded decisions and
// outbox items. It is safe for concurrent use by different sources.
type Pipeline struct {
	matcher   func() *matcher.Matcher
	store     *store.Store
	index     *index.Index
	routes    alerting.Routes
	loc       *time.Location
	now       func() time.Time
	log       *slog.Logger
	depth     int
	query     func() listener.Query
	timeout   time.Duration
	group     time.Duration
	incidents Incidents
	// enqueued is signalled (without blocking) when a poll put messages into the outbox,
	// so that delivery starts at once instead of at the next tick.
	enqueued chan struct{}
}

// Enqueued is signalled when a poll put messages into the outbox.
func (p *Pipeline) Enqueued() <-chan struct{} { return p.enqueued }

func (p *Pipeline) signalEnqueued() {
	select {
	case p.enqueued <- struct{}{}:
	default: // a delivery is already due
	}
}

// Incidents is incident mode, as the pipeline uses it; *watch.Watch is one.
type Incidents interface {
	// Inhibit reports whether a surge of brand is open for posts of category, and the
	// outbox key of its alert.
	Inhibit(ctx context.Context, brand string, category rules.Category) (threadKey string, ok bool)
	// Divert puts the post as a reply into that thread.
	Divert(ctx context.Context, threadKey string, p *post.Post, d *matcher.Decision) (added bool, err error)
}

// Stats is what one poll of one source did.
type Stats struct {
	Fetched int // posts the source returned
	New     int // posts not seen before, now recorded
	Alerts  int // alerts newly put in the outbox (as alerts, or as replies in a thread)
	Held    int // of those, alerts held back by quiet hours
	// Grouped counts the alerts that joined the thread of their author's earlier alert
	// about the same brand (also counted in Alerts).
	Grouped int
	// Diverted counts the alerts that went into an open surge's thread (incident mode).
	Diverted int
	// More says the source has more at hand (a page limit): poll it again at once.
	More bool
	// Silenced counts alerting posts that a silence kept from Slack (recorded all the same).
	Silenced int
	// Resolved counts cases closed because a brand account replied in their thread.
	Resolved int
}

// NewPipeline returns a Pipeline with opt's defaults filled in.
func NewPipeline(opt PipelineOptions) *Pipeline {
	p := &Pipeline{
		matcher:   opt.Matcher,
		store:     opt.Store,
		index:     opt.Index,
		routes:    opt.Routes,
		loc:       opt.Location,
		now:       opt.Now,
		log:       opt.Logger,
		depth:     opt.ThreadDepth,
		query:     opt.Query,
		timeout:   opt.PerSourceTimeout,
		group:     opt.GroupWindow,
		incidents: opt.Incidents,
		enqueued:  make(chan struct{}, 1),
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
//  4. decide each post with the current rules, and mute the alerts that an
//     active silence matches (their reasons say which);
//  5. index the new posts (idempotent by id, so a crash after it only
//     re-indexes the same documents);
//  6. for each alert that is not silenced: route it, then either join the
//     thread of the author's alert about the same brand written within
//     GroupWindow (a reply), or open its case and enqueue the alert (both
//     idempotent by post id: a post is one Slack message), held until the end
//     of quiet hours;
//  7. for each post that replies in a thread holding an open case, by a brand
//     account or after one: resolve the case, say who answered in its thread
//     and update the alert;
//  8. record the posts and the page's cursor in one store transaction, so the
//     cursor advances only with the posts it covers.
//
// Alerts are enqueued before the posts are recorded, so a crash between the
// two loses no alert. An error in steps 6 or 7 records nothing: the next poll
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
	// A source out of its daily budget returns what it read before it stopped: that is
	// recorded (read again, it would be billed again), and the error is returned after.
	var budgetErr error
	if err != nil {
		if !errors.Is(err, listener.ErrBudget) || len(page.Posts) == 0 {
			return st, fmt.Errorf("poll %s: search since %q: %w", name, cursor, err)
		}
		budgetErr = fmt.Errorf("poll %s: search since %q: %w (the %d posts read are recorded)", name, cursor, err, len(page.Posts))
	}
	st.Fetched = len(page.Posts)
	st.More = page.More && budgetErr == nil

	posts, err := p.unseen(ctx, page.Posts)
	if err != nil {
		return st, fmt.Errorf("poll %s: %w", name, err)
	}
	for _, i := range threadOrder(m, src, posts) {
		p.addThread(ctx, src, &posts[i])
	}
	if err := ctx.Err(); err != nil {
		return st, fmt.Errorf("poll %s: %w", name, err)
	}
	decs := make([]matcher.Decision, len(posts))
	docs := make([]index.Doc, len(posts))
	recs := make([]store.Recorded, len(posts))
	silenced := make([]bool, len(posts))
	var (
		silences []store.Silence
		loaded   bool
	)
	now := p.now()
	decideAll(m, posts, decs)
	for i := range posts {
		if decs[i].Alert {
			if !loaded {
				if silences, err = p.store.ActiveSilences(ctx, now); err != nil {
					return st, fmt.Errorf("poll %s: %w", name, err)
				}
				loaded = true
			}
			if sil, ok := alerting.Silenced(silences, &posts[i], &decs[i], now); ok {
				silenced[i] = true
				decs[i].Reasons = append(slices.Clip(decs[i].Reasons), fmt.Sprintf("silenced by silence %s (%s, by %s) until %s: recorded, not sent",
					sil.ID, sil.Matchers(), sil.CreatedBy, sil.EndsAt.In(p.loc).Format("2006-01-02 15:04 MST")))
			}
		}
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
	alerted := map[string]time.Time{} // case id → its post's time, for this page's grouping
	for i := range posts {
		if !decs[i].Alert {
			continue
		}
		if silenced[i] {
			st.Silenced++
			p.log.InfoContext(ctx, "alert silenced", "post", posts[i].ID, "brand", decs[i].Brand)
			continue
		}
		res, err := p.alert(ctx, &posts[i], &decs[i], alerted)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if res.added {
			st.Alerts++
			if res.held {
				st.Held++
			}
			if res.diverted {
				st.Diverted++
			}
			if res.grouped {
				st.Grouped++
			}
		}
	}
	// After the alerts, so that a brand's reply in the same page as the post it
	// answers resolves that post's case.
	brands := brandAccounts{m: m}
	for i := range posts {
		n, err := p.answered(ctx, &brands, &posts[i])
		if err != nil {
			errs = append(errs, err)
		}
		st.Resolved += n
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
	if st.Alerts > 0 {
		p.signalEnqueued()
	}
	return st, budgetErr
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

// decideAll decides a page on every core: Japanese morphology makes deciding the
// costly part of a large page (a backfill file).
func decideAll(m *matcher.Matcher, posts []post.Post, decs []matcher.Decision) {
	workers := min(runtime.GOMAXPROCS(0), len(posts)/64+1)
	if workers <= 1 {
		for i := range posts {
			decs[i] = m.Decide(&posts[i])
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (len(posts) + workers - 1) / workers
	for lo := 0; lo < len(posts); lo += chunk {
		hi := min(lo+chunk, len(posts))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				decs[i] = m.Decide(&posts[i])
			}
		})
	}
	wg.Wait()
}

// threadOrder is the order in which the posts' threads are fetched. A source on a
// daily budget stops fetching threads when it runs low, so the posts that matter most
// go first: decided without their context, risky before actionable before positive
// before the rest. Without a budget, the page's order.
func threadOrder(m *matcher.Matcher, src listener.Source, posts []post.Post) []int {
	order := make([]int, len(posts))
	for i := range order {
		order[i] = i
	}
	if b, ok := src.(listener.Budgeted); !ok {
		return order
	} else if _, limited := b.Remaining(); !limited {
		return order
	}
	rank := make([]int, len(posts))
	for i := range posts {
		if posts[i].ReplyTo == "" || len(posts[i].Context) > 0 {
			continue // nothing to fetch
		}
		d := m.Decide(&posts[i])
		switch {
		case d.Category == rules.Risky:
			rank[i] = 0
		case d.Category == rules.Actionable:
			rank[i] = 1
		case d.Category == rules.Positive:
			rank[i] = 2
		case d.Relevant:
			rank[i] = 3
		default:
			rank[i] = 4 // its thread may still make it relevant (require_any)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return rank[a] - rank[b] })
	return order
}

// alertResult is what alert did: added is false when the outbox already had
// the post's key (or has sent it).
type alertResult struct {
	added, held, grouped, diverted bool
}

// alert routes one alerting decision, then either puts it as a reply into the
// thread of the author's recent alert about the same brand, or opens its case
// and enqueues it. Either way the outbox key is the post's alert key, so a post
// is one Slack message however often it is decided.
func (p *Pipeline) alert(ctx context.Context, pt *post.Post, d *matcher.Decision, alerted map[string]time.Time) (alertResult, error) {
	var res alertResult
	channel, why := alerting.Route(*d, p.routes)
	if channel == "" {
		p.log.WarnContext(ctx, "alert not routed", "post", pt.ID, "brand", d.Brand, "why", why)
		return res, nil
	}
	// A poll retried after a failure decides the same post again: its message,
	// alert or reply, is already in the outbox.
	if _, sent, err := p.store.SentRef(ctx, alerting.AlertKey(pt.ID)); err != nil || sent {
		return res, err
	}
	if waiting, err := p.store.OutboxPending(ctx, alerting.AlertKey(pt.ID)); err != nil || waiting {
		return res, err
	}
	now := p.now()
	notBefore := now
	if until, ok := alerting.HoldUntil(*d, now); ok {
		notBefore, res.held = until, true
	}
	authorKey := store.AuthorKey(*pt)
	var history []store.CaseRef
	if authorKey != "" {
		refs, err := p.store.AuthorHistory(ctx, authorKey)
		if err != nil {
			return res, fmt.Errorf("alert %s: %w", pt.ID, err)
		}
		for _, r := range refs {
			if r.ID != pt.ID {
				history = append(history, r)
			}
		}
	}
	// Incident mode: while a surge of the brand is open, its negative posts go into the
	// surge alert's thread. If that fails, the post alerts as usual: never lost.
	if p.incidents != nil {
		if key, ok := p.incidents.Inhibit(ctx, d.Brand, d.Category); ok {
			added, err := p.incidents.Divert(ctx, key, pt, d)
			if err == nil {
				res.added, res.diverted = added, true
				return res, nil
			}
			p.log.WarnContext(ctx, "incident mode: alerting separately", "post", pt.ID, "surge", key, "err", err)
		}
	}
	first, grouped, err := p.groupWith(ctx, pt, d, channel, history, alerted)
	if err != nil {
		return res, fmt.Errorf("alert %s: %w", pt.ID, err)
	}
	var msg alerting.Alert
	if grouped {
		res.grouped = true
		msg = alerting.ReplyMessage(alerting.AlertKey(first.ID), alerting.FollowUpText(pt, d, p.loc))
	} else {
		c, _, err := p.store.OpenCase(ctx, store.Case{
			ID:        pt.ID,
			Brand:     d.Brand,
			Category:  string(d.Category),
			Channel:   channel,
			AuthorKey: authorKey,
		})
		if err != nil {
			return res, err
		}
		msg = alerting.Alert{Post: *pt, Decision: *d, History: history, Case: c, Location: p.loc}
		alerted[c.ID] = pt.CreatedAt
	}
	payload, err := json.Marshal(msg)
	if err != nil {
		return res, fmt.Errorf("alert %s: encode: %w", pt.ID, err)
	}
	res.added, err = p.store.Enqueue(ctx, store.OutboxItem{
		Key:       alerting.AlertKey(pt.ID),
		Channel:   channel,
		Payload:   payload,
		NotBefore: notBefore,
	})
	if err != nil {
		return res, err
	}
	switch {
	case res.added && grouped:
		p.log.InfoContext(ctx, "alert joins the author's earlier alert", "post", pt.ID, "thread_of", first.ID, "channel", channel)
	case res.added && res.held:
		p.log.InfoContext(ctx, "alert held for quiet hours", "post", pt.ID, "channel", channel, "until", notBefore)
	}
	return res, nil
}

// groupWith finds the alert a new alert of the same author joins as a thread
// reply: the newest case of theirs about the same brand, in the same channel,
// still open, claimed or snoozed, whose post was written within the group
// window of this one (the posts' times, so that a backfill of old posts groups
// as the posts were written; the cases' times when a platform gives none). A
// risky post never joins a case of another category: the risk team must see it.
// alerted holds the posts alerted earlier in this poll, not recorded yet.
func (p *Pipeline) groupWith(ctx context.Context, pt *post.Post, d *matcher.Decision, channel string,
	history []store.CaseRef, alerted map[string]time.Time) (store.Case, bool, error) {
	if p.group <= 0 {
		return store.Case{}, false, nil
	}
	for i := len(history) - 1; i >= 0; i-- {
		c, ok, err := p.store.GetCase(ctx, history[i].ID)
		if err != nil {
			return store.Case{}, false, err
		}
		if !ok || c.Brand != d.Brand || c.Channel != channel {
			continue
		}
		if c.Status != store.StatusOpen && c.Status != store.StatusClaimed && c.Status != store.StatusSnoozed {
			continue
		}
		if d.Category == rules.Risky && c.Category != string(rules.Risky) {
			continue
		}
		firstAt, ok := alerted[c.ID]
		if !ok {
			rec, found, err := p.store.GetPost(ctx, c.ID)
			if err != nil {
				return store.Case{}, false, err
			}
			if found {
				firstAt = rec.Post.CreatedAt
			}
		}
		from, to := firstAt, pt.CreatedAt
		if from.IsZero() || to.IsZero() {
			from, to = c.CreatedAt, p.now()
		}
		if gap := to.Sub(from); gap < -p.group || gap > p.group {
			continue
		}
		return c, true, nil
	}
	return store.Case{}, false, nil
}

// answered resolves the open cases of the thread pt replies in that a brand
// account answered: a case of a post in pt's thread (its context, or the
// post it replies to) is resolved when a later post of the thread, pt
// included, is by one of the rules' own accounts. The case's thread gets
// "Answered by @brand on x at …" and the alert is updated. It returns how many
// cases it resolved.
func (p *Pipeline) answered(ctx context.Context, brands *brandAccounts, pt *post.Post) (int, error) {
	if pt.ReplyTo == "" && len(pt.Context) == 0 {
		return 0, nil
	}
	chain := make([]post.Post, 0, len(pt.Context)+2)
	if pt.ReplyTo != "" && !slices.ContainsFunc(pt.Context, func(c post.Post) bool { return c.ID == pt.ReplyTo }) {
		chain = append(chain, post.Post{ID: pt.ReplyTo}) // its parent, known only by id
	}
	chain = append(chain, pt.Context...)
	chain = append(chain, *pt)
	n := 0
	for i := 0; i < len(chain)-1; i++ {
		if chain[i].ID == "" {
			continue
		}
		c, ok, err := p.store.GetCase(ctx, chain[i].ID)
		if err != nil {
			return n, fmt.Errorf("brand replies to %s: %w", chain[i].ID, err)
		}
		if !ok || c.Status == store.StatusResolved || c.Status == store.StatusDismissed {
			continue
		}
		for j := i + 1; j < len(chain); j++ {
			if !brands.is(chain[j].Author.Handle) {
				continue
			}
			if err := p.resolveAnswered(ctx, c, &chain[j]); err != nil {
				return n, err
			}
			n++
			break
		}
	}
	return n, nil
}

// resolveAnswered closes case c because the brand's post by answered in its
// thread. The reply goes into the outbox first, under a key of the case, so a
// crash before the case changes posts it once when the page is polled again.
func (p *Pipeline) resolveAnswered(ctx context.Context, c store.Case, by *post.Post) error {
	handle := strings.TrimPrefix(by.Author.Handle, "@")
	platform := by.Platform
	if platform == "" {
		platform, _, _ = strings.Cut(by.ID, ":")
	}
	if c.Channel != "" {
		payload, err := json.Marshal(alerting.ReplyMessage(alerting.AlertKey(c.ID),
			alerting.AnsweredText(handle, platform, by.CreatedAt, p.loc)))
		if err != nil {
			return fmt.Errorf("resolve %s: encode: %w", c.ID, err)
		}
		if _, err := p.store.Enqueue(ctx, store.OutboxItem{Key: c.ID + ":answered", Channel: c.Channel, Payload: payload}); err != nil {
			return fmt.Errorf("resolve %s: %w", c.ID, err)
		}
	}
	done, err := p.store.UpdateCase(ctx, c.ID, handle, func(cur *store.Case) error {
		if cur.Status == store.StatusResolved || cur.Status == store.StatusDismissed {
			return errClosed
		}
		cur.Status = store.StatusResolved
		if cur.Assignee == "" {
			cur.Assignee = handle
		}
		cur.History = append(cur.History, store.CaseEvent{Action: store.ActionResolved, Note: alerting.AnsweredNote(handle, by.CreatedAt)})
		return nil
	})
	switch {
	case errors.Is(err, errClosed):
		return nil // closed in the meantime, by a click
	case err != nil:
		return fmt.Errorf("resolve %s: %w", c.ID, err)
	}
	p.log.InfoContext(ctx, "case resolved by a brand reply", "case", c.ID, "by", handle, "reply", by.ID)
	if _, err := alerting.EnqueueUpdate(ctx, p.store, done); err != nil {
		return fmt.Errorf("resolve %s: %w", c.ID, err)
	}
	return nil
}

// errClosed aborts the resolution of a case that was closed meanwhile.
var errClosed = errors.New("case closed")

// brandAccounts tells whether a handle is one of the rules' own accounts
// (handles:), remembering the answers of one poll. The matcher keeps its
// handle table to itself; a post by a handle that mentions it is a candidate
// of exactly the rules that list the handle, and the matcher reports the rule
// it decided with: a brand account's own post is never relevant, so that rule
// lists the handle.
type brandAccounts struct {
	m    *matcher.Matcher
	seen map[string]bool
}

func (b *brandAccounts) is(handle string) bool {
	h := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(handle), "@"))
	if h == "" || b.m == nil {
		return false
	}
	if v, ok := b.seen[h]; ok {
		return v
	}
	d := b.m.Decide(&post.Post{ID: "kizuki:brand-probe", Author: post.Author{Handle: h}, Mentions: []string{h}})
	v := d.Rule != nil && slices.Contains(d.Rule.Handles, h)
	if b.seen == nil {
		b.seen = map[string]bool{}
	}
	b.seen[h] = v
	return v
}

// maxPagesPerPoll bounds the pages one poll takes from a source that keeps saying More,
// so that a runaway source cannot hold its poll forever.
const maxPagesPerPoll = 10000

// pollWhileMore polls src until it has nothing more at hand, and sums the stats. Each
// page, not the whole, gets perPage (zero: no bound of its own).
func (p *Pipeline) pollWhileMore(ctx context.Context, src listener.Source, perPage time.Duration) (Stats, error) {
	var sum Stats
	for range maxPagesPerPoll {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if perPage > 0 {
			pctx, cancel = context.WithTimeout(ctx, perPage)
		}
		st, err := p.PollOnce(pctx, src)
		cancel()
		sum.add(st)
		if err != nil || !st.More || ctx.Err() != nil {
			return sum, err
		}
	}
	return sum, nil
}

// add counts another page's stats into s.
func (s *Stats) add(o Stats) {
	s.Fetched += o.Fetched
	s.New += o.New
	s.Alerts += o.Alerts
	s.Held += o.Held
	s.Grouped += o.Grouped
	s.Diverted += o.Diverted
	s.Silenced += o.Silenced
	s.Resolved += o.Resolved
	s.More = o.More
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
			st, err := p.pollWhileMore(ctx, src, p.timeout)
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
