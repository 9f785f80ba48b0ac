package watch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/alerting"
	"github.com/kizuki-dev/kizuki/internal/terms"
	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/store"
)

// What a surge alert shows.
const (
	topPosts     = 5
	topTerms     = 8
	minTermPosts = 2 // a term in one post only did not "grow"
)

// keepMentions is the least history of mention counters kept; longer baselines keep more.
const keepMentions = 35 * 24 * time.Hour

// CheckSurges checks every brand of the rules in force at now, as the daemon's schedule
// calls it (every few minutes): it opens a surge and enqueues its alert when a brand's
// negative mentions cross the threshold, follows open surges and ends those whose
// mentions stayed back to normal, and forgets mention counters older than any baseline
// needs. One brand's failure does not stop the others; the errors are joined.
func (w *Watch) CheckSurges(ctx context.Context, now time.Time) error {
	var errs []error
	watched := map[string]bool{}
	keep := keepMentions
	if set := w.rules(); set != nil {
		for _, r := range set.Rules {
			watched[r.Brand] = true
			keep = max(keep, time.Duration(r.Surge.BaselineDays+2)*24*time.Hour)
			if err := w.checkBrand(ctx, r, now); err != nil {
				errs = append(errs, fmt.Errorf("surge watch of %s: %w", r.Brand, err))
			}
		}
	}
	// A brand whose rule was removed cannot calm down by itself: end its surge.
	open, err := w.st.Surges(ctx, now)
	if err != nil {
		errs = append(errs, err)
	}
	for _, sg := range open {
		if sg.Active() && !watched[sg.Brand] {
			if err := w.end(ctx, sg, now, "the brand's rule was removed"); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if _, err := w.st.DeleteMentionsBefore(ctx, now.Add(-keep)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// window is the counting window ending with the slot that holds now: its last slot is
// still filling, so a surge is seen as it grows.
func window(cfg rules.Surge, now time.Time) (start, end time.Time) {
	end = now.UTC().Truncate(store.MentionSlot).Add(store.MentionSlot)
	return end.Add(-cfg.Window), end
}

// baselineWindows are the same window on each of the last BaselineDays days (the same
// wall-clock time in loc); ok is false for a day before the history began.
func baselineWindows(cfg rules.Surge, start, end time.Time, since time.Time, loc *time.Location) []dayWindow {
	var ws []dayWindow
	for d := 1; d <= cfg.BaselineDays; d++ {
		e := end.In(loc).AddDate(0, 0, -d)
		s := e.Add(-end.Sub(start))
		ws = append(ws, dayWindow{start: s, end: e, ok: !s.Before(since)})
	}
	return ws
}

// dayWindow is the counting window on one past day.
type dayWindow struct {
	start, end time.Time
	ok         bool
}

// measure counts the window and its baseline and evaluates them.
func (w *Watch) measure(ctx context.Context, brand string, cfg rules.Surge, now time.Time) (Verdict, []dayWindow, error) {
	start, end := window(cfg, now)
	since, ok, err := w.st.MentionsSince(ctx)
	if err != nil {
		return Verdict{}, nil, err
	}
	if !ok {
		since = end // nothing was ever counted: no history
	}
	bws := baselineWindows(cfg, start, end, since, w.loc)
	from := start
	if len(bws) > 0 {
		from = bws[len(bws)-1].start
	}
	counts, err := w.st.Mentions(ctx, brand, categoryNames(cfg.Categories), from, end)
	if err != nil {
		return Verdict{}, nil, err
	}
	sum := func(s, e time.Time) int {
		n := 0
		for t, c := range counts {
			if !t.Before(s) && t.Before(e) {
				n += c
			}
		}
		return n
	}
	base := make([]int, len(bws))
	for i, bw := range bws {
		base[i] = -1
		if bw.ok {
			base[i] = sum(bw.start, bw.end)
		}
	}
	return Evaluate(cfg, sum(start, end), base), bws, nil
}

func (w *Watch) checkBrand(ctx context.Context, r *rules.Rule, now time.Time) error {
	cfg := r.Surge
	last, ok, err := w.st.LatestSurge(ctx, r.Brand)
	if err != nil {
		return err
	}
	if cfg.Disabled {
		if ok && last.Active() {
			return w.end(ctx, last, now, "the surge watch was switched off for the brand")
		}
		return nil
	}
	v, bws, err := w.measure(ctx, r.Brand, cfg, now)
	if err != nil {
		return err
	}
	switch {
	case ok && last.Active():
		return w.follow(ctx, r, last, v, bws, now)
	case ok && last.Status == store.SurgeClosed && !last.Calm:
		// Closed by hand while still high: wait for calm before a new surge may open.
		if v.Count >= v.EndLevel {
			return nil
		}
		_, err := w.st.UpdateSurge(ctx, r.Brand, func(cur *store.Surge) (*store.Surge, error) {
			if cur == nil || cur.AlertKey != last.AlertKey {
				return nil, nil
			}
			cur.Calm = true
			return cur, nil
		})
		return err
	case v.Fire:
		return w.open(ctx, r, v, bws, now)
	}
	return nil
}

// surgeKey is the outbox key of a surge alert.
func surgeKey(brand string, started time.Time) string {
	return "surge:" + brand + ":" + started.UTC().Format("20060102T1504Z")
}

// open records a new surge, then enqueues its alert and marks it alerted. A crash in
// between leaves an open surge not yet alerted, which the next check alerts (the key is
// the surge's, so never twice).
func (w *Watch) open(ctx context.Context, r *rules.Rule, v Verdict, bws []dayWindow, now time.Time) error {
	channel, why := w.riskChannel(r.Brand, r)
	if channel == "" {
		w.log.WarnContext(ctx, "surge not alerted: no channel", "brand", r.Brand, "count", v.Count, "threshold", v.Threshold, "why", why)
		return nil
	}
	cfg := r.Surge
	sg := store.Surge{
		Brand: r.Brand, Status: store.SurgeOpen, StartedAt: now.UTC(), AlertKey: surgeKey(r.Brand, now),
		Channel: channel, Categories: categoryNames(cfg.Categories), Count: v.Count, Expected: v.Expected,
		Threshold: v.Threshold, Window: cfg.Window, Peak: v.Count, PeakAt: now.UTC(), Last: v.Count, LastAt: now.UTC(),
	}
	got, err := w.st.UpdateSurge(ctx, r.Brand, func(cur *store.Surge) (*store.Surge, error) {
		if cur != nil && cur.Active() {
			return nil, nil // opened meanwhile
		}
		return &sg, nil
	})
	if err != nil {
		return err
	}
	if got.AlertKey != sg.AlertKey {
		return nil
	}
	w.log.InfoContext(ctx, "surge opened", "brand", r.Brand, "count", v.Count, "usual", v.Expected, "threshold", v.Threshold, "channel", channel)
	return w.alert(ctx, r, sg, v, bws, now)
}

// alert enqueues the alert of an open surge and marks it alerted.
func (w *Watch) alert(ctx context.Context, r *rules.Rule, sg store.Surge, v Verdict, bws []dayWindow, now time.Time) error {
	n, err := w.surgeNotice(ctx, r, sg, v, bws, now)
	if err != nil {
		return err
	}
	if _, err := w.enqueue(ctx, sg.AlertKey, sg.Channel, alerting.NoticeMessage(alerting.SurgeText(n), alerting.SurgeBlocks(n))); err != nil {
		return err
	}
	_, err = w.st.UpdateSurge(ctx, sg.Brand, func(cur *store.Surge) (*store.Surge, error) {
		if cur == nil || cur.AlertKey != sg.AlertKey || cur.Alerted {
			return nil, nil
		}
		cur.Alerted = true
		return cur, nil
	})
	return err
}

// follow updates an open surge with the latest count and ends it once the count stayed
// below the end level for the cooldown.
func (w *Watch) follow(ctx context.Context, r *rules.Rule, last store.Surge, v Verdict, bws []dayWindow, now time.Time) error {
	if !last.Alerted {
		if err := w.alert(ctx, r, last, v, bws, now); err != nil {
			return err
		}
	}
	var ended *store.Surge
	_, err := w.st.UpdateSurge(ctx, r.Brand, func(cur *store.Surge) (*store.Surge, error) {
		if cur == nil || cur.AlertKey != last.AlertKey || !cur.Active() {
			return nil, nil // closed meanwhile
		}
		cur.Last, cur.LastAt = v.Count, now.UTC()
		if v.Count > cur.Peak {
			cur.Peak, cur.PeakAt = v.Count, now.UTC()
		}
		if v.Count >= v.EndLevel {
			cur.CalmSince = time.Time{}
			return cur, nil
		}
		if cur.CalmSince.IsZero() {
			cur.CalmSince = now.UTC()
		}
		if now.Sub(cur.CalmSince) >= r.Surge.Cooldown {
			cur.Status, cur.EndedAt, cur.ClosedBy = store.SurgeEnded, now.UTC(), store.SystemActor
			cp := *cur
			ended = &cp
		}
		return cur, nil
	})
	if err != nil || ended == nil {
		return err
	}
	w.log.InfoContext(ctx, "surge ended", "brand", r.Brand, "peak", ended.Peak, "lasted", now.Sub(ended.StartedAt))
	text := fmt.Sprintf("Back to normal: %d posts in the last %s, below %d since %s. The surge lasted %s with a peak of %d. Incident mode is off: new posts of %s alert on their own again.",
		v.Count, rules.FormatDuration(r.Surge.Window), v.EndLevel, ended.CalmSince.In(w.loc).Format("15:04"),
		shortDuration(now.Sub(ended.StartedAt)), ended.Peak, r.Brand)
	_, err = w.enqueue(ctx, ended.AlertKey+":end", ended.Channel, alerting.ReplyMessage(ended.AlertKey, text))
	return err
}

// end ends an open surge for a reason other than calm (the watch was switched off, the
// rule removed), with a reply in its thread.
func (w *Watch) end(ctx context.Context, sg store.Surge, now time.Time, reason string) error {
	var ended bool
	_, err := w.st.UpdateSurge(ctx, sg.Brand, func(cur *store.Surge) (*store.Surge, error) {
		if cur == nil || cur.AlertKey != sg.AlertKey || !cur.Active() {
			return nil, nil
		}
		cur.Status, cur.EndedAt, cur.ClosedBy = store.SurgeEnded, now.UTC(), store.SystemActor
		ended = true
		return cur, nil
	})
	if err != nil || !ended {
		return err
	}
	text := fmt.Sprintf("Surge ended: %s. Incident mode is off: new posts of %s alert on their own again.", reason, sg.Brand)
	_, err = w.enqueue(ctx, sg.AlertKey+":end", sg.Channel, alerting.ReplyMessage(sg.AlertKey, text))
	return err
}

// Close closes the open surge of a brand on someone's word (the alert's "Close incident"
// button, alerting.ActionCloseSurge, whose value is the brand): incident mode ends at
// once, a reply in the thread says who closed it, and a new surge of the brand waits
// until its mentions have been back to normal. Without an open surge it fails with
// store.ErrNotFound.
func (w *Watch) Close(ctx context.Context, brand, actor string) (store.Surge, error) {
	sg, err := w.st.CloseSurge(ctx, brand, actor)
	if err != nil {
		return store.Surge{}, err
	}
	text := fmt.Sprintf("Incident closed by @%s. New posts of %s alert on their own again; a new surge can fire once mentions have been back to normal.", actor, brand)
	if _, err := w.enqueue(ctx, sg.AlertKey+":closed", sg.Channel, alerting.ReplyMessage(sg.AlertKey, text)); err != nil {
		return sg, err
	}
	return sg, nil
}

// Inhibit reports whether a post of brand and category falls into an open incident: the
// brand has an open, alerted surge that counts the category. threadKey is then the
// outbox key of the surge alert; the pipeline calls Divert instead of alerting. A store
// error is logged and reported as no incident: a separate alert is better than none.
func (w *Watch) Inhibit(ctx context.Context, brand string, category rules.Category) (threadKey string, ok bool) {
	if brand == "" {
		return "", false
	}
	sg, found, err := w.st.LatestSurge(ctx, brand)
	if err != nil {
		w.log.ErrorContext(ctx, "incident check failed; alerting as usual", "brand", brand, "err", err)
		return "", false
	}
	if !found || !sg.Active() || !sg.Alerted || !slices.Contains(sg.Categories, string(category)) {
		return "", false
	}
	return sg.AlertKey, true
}

// Divert enqueues a post that Inhibit caught as a reply in the thread of the surge alert
// threadKey, instead of an alert of its own: the risk channel stays readable during a
// flame-up. Like a post that joins its author's earlier alert, it is one Slack message
// under the post's alert key (alerting.AlertKey), so it is enqueued once however often the
// post is decided, and it opens no case. added is false when the key was already in the
// outbox; an error when the brand has no open surge under threadKey any more (alert the
// post as usual then).
func (w *Watch) Divert(ctx context.Context, threadKey string, p *post.Post, d *matcher.Decision) (added bool, err error) {
	sg, found, err := w.st.LatestSurge(ctx, d.Brand)
	if err != nil {
		return false, fmt.Errorf("divert %s: %w", p.ID, err)
	}
	if !found || sg.AlertKey != threadKey || !sg.Active() {
		return false, fmt.Errorf("divert %s: no open incident %s for %s", p.ID, threadKey, d.Brand)
	}
	added, err = w.enqueue(ctx, alerting.AlertKey(p.ID), sg.Channel, alerting.ReplyMessage(threadKey, DivertText(p, d, w.loc)))
	if err != nil {
		return false, fmt.Errorf("divert %s: %w", p.ID, err)
	}
	return added, nil
}

// DivertText is the reply of a diverted post: category and score, author and reach, time,
// the text and the link, in a few lines. It is plain text; the sender escapes it.
func DivertText(p *post.Post, d *matcher.Decision, loc *time.Location) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d · @%s (%d followers)", strings.ToUpper(string(d.Category)), d.Score, p.Author.Handle, p.Author.Followers)
	if p.Platform != "" {
		b.WriteString(" · " + p.Platform)
	}
	if !p.CreatedAt.IsZero() {
		b.WriteString(" · " + p.CreatedAt.In(loc).Format("15:04"))
	}
	text := []rune(strings.Join(strings.Fields(p.Text), " "))
	if len(text) > 500 {
		text = append(text[:499], '…')
	}
	b.WriteString("\n" + string(text))
	if p.URL != "" {
		b.WriteString("\n" + p.URL)
	}
	return b.String()
}

// surgeNotice gathers what the alert shows: the top posts of the window and the terms
// that grew most against the baseline windows.
func (w *Watch) surgeNotice(ctx context.Context, r *rules.Rule, sg store.Surge, v Verdict, bws []dayWindow, now time.Time) (alerting.SurgeNotice, error) {
	cfg := r.Surge
	cats := categoryNames(cfg.Categories)
	keep := func(rec store.Recorded) bool {
		return rec.Decision.Relevant && rec.Decision.Brand == r.Brand && slices.Contains(cats, rec.Decision.Category)
	}
	start, end := window(cfg, now)
	posts, err := w.st.PostsBetween(ctx, start, end, keep)
	if err != nil {
		return alerting.SurgeNotice{}, err
	}
	ex := terms.New(w.ja, brandTerms(r)...)
	cur := terms.NewCounter()
	for _, rec := range posts {
		cur.Add(ex.Of(rec.Post.Text))
	}
	base := terms.NewCounter()
	days := 0
	for _, bw := range bws {
		if !bw.ok {
			continue
		}
		days++
		old, err := w.st.PostsBetween(ctx, bw.start, bw.end, keep)
		if err != nil {
			return alerting.SurgeNotice{}, err
		}
		for _, rec := range old {
			base.Add(ex.Of(rec.Post.Text))
		}
	}
	days = max(days, 1)
	usual := func(c terms.Count) float64 { return float64(base.Posts(c.Key())) / float64(days) }
	var grew []terms.Count
	for _, c := range cur.Top(1<<30, minTermPosts) {
		if float64(c.Posts) > 2*usual(c) {
			grew = append(grew, c)
		}
	}
	grew = terms.Rank(grew, topTerms, func(c terms.Count) float64 { return float64(c.Posts) - usual(c) })

	slices.SortFunc(posts, func(a, b store.Recorded) int {
		if c := cmp.Compare(b.Decision.Score, a.Decision.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Post.Author.Followers, a.Post.Author.Followers); c != 0 {
			return c
		}
		return strings.Compare(a.Post.ID, b.Post.ID)
	})
	n := alerting.SurgeNotice{
		Brand: r.Brand, Categories: cats, StartedAt: sg.StartedAt, Window: cfg.Window, Count: v.Count,
		Expected: v.Expected, Threshold: v.Threshold, EndLevel: v.EndLevel, Cooldown: cfg.Cooldown,
		Why: v.Why(cfg, strings.Join(cats, " or ")), Tune: tuneSurge(cfg), Location: w.loc,
	}
	for _, c := range grew {
		n.Terms = append(n.Terms, alerting.TermGrowth{Term: c.Text, Now: c.Posts, Usual: usual(c)})
	}
	for i, rec := range posts {
		if i == topPosts {
			break
		}
		n.Top = append(n.Top, alerting.NoticePost{Post: rec.Post, Category: rec.Decision.Category, Score: rec.Decision.Score})
	}
	return n, nil
}

// brandTerms are the words every post of the brand contains, left out of the terms.
func brandTerms(r *rules.Rule) []string {
	out := append([]string{r.Brand}, r.Keywords...)
	out = append(out, r.Handles...)
	return append(out, r.Hashtags...)
}

func categoryNames(cs []rules.Category) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

// shortDuration writes 45m, 2h10m, 1d3h.
func shortDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	if d >= 24*time.Hour {
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), (d%(24*time.Hour))/time.Hour)
	}
	if d >= time.Hour {
		return fmt.Sprintf("%dh%02dm", d/time.Hour, (d%time.Hour)/time.Minute)
	}
	return fmt.Sprintf("%dm", d/time.Minute)
}
