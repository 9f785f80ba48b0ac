package watch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kizuki-dev/kizuki/alerting"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/store"
)

// Growth is the engagement of a post between two samples.
type Growth struct {
	From, To      int // reposts+quotes+replies
	FromAt, ToAt  time.Time
	ByRate, ByBar bool // why it escalates, if it does
	Escalate      bool
	Factor        float64 // To / max(From, 1)
	Span          time.Duration
	Settings      rules.Velocity
}

// engagement is what spreads a post: reposts, quotes and replies (likes do not).
func engagement(m post.Metrics) int { return m.Reposts + m.Quotes + m.Replies }

// Measure applies the velocity settings to a post's engagement samples (oldest first;
// the first may be the post as first recorded). It compares the latest sample with the
// earliest one at most Window before it (or, when re-polls are sparser than the window,
// the one just before it): the post escalates when its reposts+quotes+replies grew by
// Factor to at least MinCount, or reached Absolute.
func Measure(cfg rules.Velocity, samples []store.Sample) Growth {
	g := Growth{Settings: cfg}
	if len(samples) < 2 {
		return g
	}
	last := samples[len(samples)-1]
	from := -1
	for i := 0; i < len(samples)-1; i++ {
		if last.At.Sub(samples[i].At) <= cfg.Window {
			from = i
			break
		}
	}
	if from < 0 {
		from = len(samples) - 2
	}
	first := samples[from]
	g.From, g.To = engagement(first.Metrics), engagement(last.Metrics)
	g.FromAt, g.ToAt, g.Span = first.At, last.At, last.At.Sub(first.At)
	g.Factor = float64(g.To) / float64(max(g.From, 1))
	g.ByRate = g.To >= cfg.MinCount && g.Factor >= cfg.Factor && g.To > g.From
	g.ByBar = cfg.Absolute > 0 && g.To >= cfg.Absolute
	g.Escalate = g.ByRate || g.ByBar
	return g
}

// Why explains an escalation in one sentence.
func (g Growth) Why() string {
	cfg := g.Settings
	s := fmt.Sprintf("reposts+quotes+replies grew from %d to %d (×%s) in %s", g.From, g.To, num(g.Factor), shortDuration(g.Span))
	switch {
	case g.ByRate:
		s += fmt.Sprintf(": at least ×%s within %s, reaching at least %d", num(cfg.Factor), rules.FormatDuration(cfg.Window), cfg.MinCount)
		if g.ByBar {
			s += fmt.Sprintf(", and past the bar of %d", cfg.Absolute)
		}
	case g.ByBar:
		s += fmt.Sprintf(": past the bar of %d", cfg.Absolute)
	}
	return s
}

// Keys of the velocity messages of a post.
func velocityKey(id string) string      { return id + ":velocity" }
func velocityReplyKey(id string) string { return id + ":velocity:reply" }

// CheckVelocity looks at every tracked post (the daemon re-polls the engagement of alerted
// posts) and escalates each negative one that grows fast, once: a reply in the thread of
// its alert and a notice in the brand's risk channel. Call it after each re-poll. One post's failure does not stop the others.
func (w *Watch) CheckVelocity(ctx context.Context, now time.Time) error {
	ids, err := w.st.TrackedIDs(ctx)
	if err != nil {
		return fmt.Errorf("velocity watch: %w", err)
	}
	var errs []error
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := w.checkPost(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("velocity watch of %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

func (w *Watch) checkPost(ctx context.Context, id string) error {
	if done, err := w.outboxHas(ctx, velocityKey(id)); err != nil || done {
		return err
	}
	rec, ok, err := w.st.GetPost(ctx, id)
	if err != nil || !ok {
		return err // a post deleted by retention has nothing to show
	}
	brand := rec.Decision.Brand
	r := w.rule(brand)
	cfg := rules.DefaultVelocity()
	if r != nil {
		cfg = r.Velocity
	}
	if cfg.Disabled || !cfg.Counts(rules.Category(rec.Decision.Category)) {
		return nil
	}
	samples, err := w.st.Tracked(ctx, id)
	if err != nil {
		return err
	}
	// The post as first recorded is the first sample.
	if at := rec.RecordedAt; !at.IsZero() && (len(samples) == 0 || at.Before(samples[0].At)) {
		samples = append([]store.Sample{{At: at, Metrics: rec.Post.Metrics}}, samples...)
	}
	g := Measure(cfg, samples)
	if !g.Escalate {
		return nil
	}
	channel, why := w.riskChannel(brand, r)
	if channel == "" {
		w.log.WarnContext(ctx, "velocity escalation not sent: no channel", "post", id, "brand", brand, "why", why)
		return nil
	}
	// The latest metrics are what the notice shows.
	p := rec.Post
	p.Metrics = samples[len(samples)-1].Metrics

	// The reply first: the notice's key marks the post as escalated, so a crash between
	// the two enqueues both again (each idempotent by key).
	if thread, threadChannel, ok, err := w.thread(ctx, id); err != nil {
		return err
	} else if ok {
		text := fmt.Sprintf("Growing fast: %s. Escalated to %s.", g.Why(), channel)
		if _, err := w.enqueue(ctx, velocityReplyKey(id), threadChannel, alerting.ReplyMessage(thread, text)); err != nil {
			return err
		}
	}
	n := alerting.VelocityNotice{
		Brand: brand, NoticePost: alerting.NoticePost{Post: p, Category: rec.Decision.Category, Score: rec.Decision.Score},
		From: g.From, To: g.To, Span: g.Span, Why: g.Why(), Tune: tuneVelocity(cfg), Location: w.loc,
	}
	added, err := w.enqueue(ctx, velocityKey(id), channel, alerting.NoticeMessage(alerting.VelocityText(n), alerting.VelocityBlocks(n)))
	if err != nil {
		return err
	}
	if added {
		w.log.InfoContext(ctx, "fast-growing post escalated", "post", id, "brand", brand, "from", g.From, "to", g.To, "span", g.Span, "channel", channel)
	}
	return nil
}

// thread finds where a reply about a post goes: the thread of its alert, in the channel
// of its case. ok is false when the post has no case or no alert (a post diverted into an
// incident or joined to an earlier alert has no case, and is not re-polled).
func (w *Watch) thread(ctx context.Context, id string) (key, channel string, ok bool, err error) {
	c, found, err := w.st.GetCase(ctx, id)
	if err != nil || !found || c.Channel == "" {
		return "", "", false, err
	}
	known, err := w.outboxHas(ctx, alerting.AlertKey(id))
	if err != nil || !known {
		return "", "", false, err
	}
	return alerting.AlertKey(id), c.Channel, true, nil
}

// outboxHas reports whether a message with key is in the outbox or was sent.
func (w *Watch) outboxHas(ctx context.Context, key string) (bool, error) {
	if _, sent, err := w.st.SentRef(ctx, key); err != nil || sent {
		return sent, err
	}
	return w.st.OutboxPending(ctx, key)
}
