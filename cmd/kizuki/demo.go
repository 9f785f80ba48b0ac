package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/kizuki-dev/kizuki/alerting"
	"github.com/kizuki-dev/kizuki/daemon"
	"github.com/kizuki-dev/kizuki/demo"
	"github.com/kizuki-dev/kizuki/index"
	"github.com/kizuki-dev/kizuki/listener"
	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/store"
)

const demoBanner = `┌──────────────────────────────────────────────────────────────────────┐
│ Kizuki DEMO — fictional brands (Kumo Mobile, Sora Cafe), fictional    │
│ posts replayed fast through the real pipeline (matcher, index, store, │
│ outbox); alerts go to this terminal. Nothing is sent anywhere.        │
│ For your own brand: write a rule file (docs/rules.md), then           │
│   kizuki check --rules DIR                                            │
│   kizuki init > kizuki.yaml   (sources, Slack: edit, then)            │
│   kizuki run --config kizuki.yaml                                     │
└──────────────────────────────────────────────────────────────────────┘
`

// demoPage is how many posts one demo poll brings: a busy minute of a real source.
const demoPage = 12

// runDemo replays the embedded sample stream through the daemon's pipeline: each
// "poll" brings the next page of posts, which are decided, indexed, stored and turned
// into outbox alerts, and the outbox is delivered to the terminal. The clock is the
// stream's: quiet hours hold alerts as they would have on the day, and release them
// when the stream reaches the morning.
func runDemo(ctx context.Context, env *env, color bool, pace time.Duration, keepDir string) error {
	fmt.Fprint(env.stdout, demoBanner)
	start := time.Now()
	set, err := rules.LoadFS(demo.Rules(), nil, rules.Options{})
	if err != nil {
		return fmt.Errorf("demo rules: %w", err)
	}
	m, err := matcher.Compile(set, matcher.Config{})
	if err != nil {
		return err
	}
	posts, err := demoPosts()
	if err != nil {
		return err
	}
	dir := keepDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "kizuki-demo-"); err != nil {
			return fmt.Errorf("demo data directory: %w", err)
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("demo data directory: %w", err)
	}
	clock := &demoClock{}
	clock.set(posts[0].CreatedAt)
	st, err := store.Open(filepath.Join(dir, "kizuki.db"), store.Options{Now: clock.now})
	if err != nil {
		return err
	}
	defer st.Close()
	ix, err := index.Open(filepath.Join(dir, "index"), index.Options{Docs: daemon.StoreDocs{Store: st}})
	if err != nil {
		return err
	}
	defer ix.Close()
	fmt.Fprintf(env.stdout, "rules: %s\n\n", set.Summary())

	loc := tokyo()
	src := &demoSource{posts: posts, clock: clock}
	p := daemon.NewPipeline(daemon.PipelineOptions{
		Matcher: func() *matcher.Matcher { return m }, Store: st, Index: ix,
		Routes: alerting.Routes{Default: "terminal"}, Location: loc, Now: clock.now, GroupWindow: groupWindow,
	})
	out := &demoSender{terminalSender: terminalSender{&alerting.Terminal{W: env.stdout, Color: color, Location: loc}},
		start: start, byCat: map[rules.Category]int{}}
	interval := pace
	if interval <= 0 {
		interval = time.Nanosecond // no pause between alerts
	}
	d := alerting.NewDeliverer(alerting.DelivererOptions{Outbox: st, Sender: out, Location: loc,
		Now: clock.now, ChannelInterval: interval,
		// The stream's clock stands still while alerts are paced: sleep in real time.
		Sleep: func(ctx context.Context, d time.Duration) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
				return nil
			}
		}})
	var total daemon.Stats
	for src.more() {
		s, err := p.PollOnce(ctx, src)
		if err != nil {
			return err
		}
		total.Fetched += s.Fetched
		total.New += s.New
		total.Alerts += s.Alerts
		total.Held += s.Held
		if _, err := d.DrainOnce(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	depth, _ := st.OutboxDepth()
	docs, _ := ix.Count()
	fmt.Fprintf(env.stdout, "demo: %d posts in %s, %d indexed; %d alerts delivered (%d risky, %d actionable, %d positive)",
		total.New, time.Since(start).Round(time.Millisecond), docs, out.sent,
		out.byCat[rules.Risky], out.byCat[rules.Actionable], out.byCat[rules.Positive])
	if out.other > 0 {
		fmt.Fprintf(env.stdout, "; %d follow-ups as thread replies", out.other)
	}
	if total.Held > 0 {
		fmt.Fprintf(env.stdout, "; %d held for Sora Cafe's quiet hours (23:00–07:00), %d still waiting at the end", total.Held, depth)
	}
	fmt.Fprintf(env.stdout, "; first alert after %s\n", out.first.Round(time.Millisecond))
	if keepDir != "" {
		fmt.Fprintf(env.stdout, "the demo's data is in %s: try  kizuki search --data-dir %s '返金'\n", keepDir, keepDir)
	}
	return nil
}

func demoPosts() ([]post.Post, error) {
	posts, err := demo.Sample()
	if err != nil {
		return nil, fmt.Errorf("demo posts: %w", err)
	}
	if len(posts) == 0 {
		return nil, errors.New("demo posts: none embedded")
	}
	return posts, nil
}

// demoClock is the stream's time: the creation time of the newest post polled.
type demoClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *demoClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *demoClock) set(t time.Time) {
	c.mu.Lock()
	if t.After(c.t) {
		c.t = t
	}
	c.mu.Unlock()
}

// demoSource serves the embedded posts a page per poll; the cursor is the offset.
type demoSource struct {
	posts []post.Post
	clock *demoClock
	next  int
}

func (s *demoSource) Name() string { return "demo" }

func (s *demoSource) more() bool { return s.next < len(s.posts) }

func (s *demoSource) Search(_ context.Context, _ listener.Query, cursor string) (listener.Page, error) {
	from := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil {
			return listener.Page{}, fmt.Errorf("demo cursor %q: %w", cursor, err)
		}
		from = n
	}
	to := min(from+demoPage, len(s.posts))
	s.next = to
	page := s.posts[from:to]
	for _, p := range page {
		s.clock.set(p.CreatedAt)
	}
	return listener.Page{Posts: page, Cursor: strconv.Itoa(to)}, nil
}

// Thread returns the context the sample posts carry.
func (s *demoSource) Thread(_ context.Context, p post.Post, depth int) ([]post.Post, error) {
	return listener.CarriedThread(p, depth), nil
}

func (s *demoSource) Refresh(context.Context, []string) (map[string]post.Metrics, error) {
	return map[string]post.Metrics{}, nil
}

// demoSender prints alerts and counts them for the demo's summary.
type demoSender struct {
	terminalSender
	start time.Time
	first time.Duration
	sent  int // post alerts
	other int // thread replies and updates
	byCat map[rules.Category]int
}

func (s *demoSender) Post(ctx context.Context, channel string, a alerting.Alert) (string, error) {
	if a.Kind == alerting.KindAlert {
		if s.sent == 0 {
			s.first = time.Since(s.start)
		}
		s.sent++
		s.byCat[a.Decision.Category]++
	} else {
		s.other++
	}
	return s.terminalSender.Post(ctx, channel, a)
}

// tokyo is the demo's time zone: the sample brands are Japanese.
func tokyo() *time.Location {
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		return time.FixedZone("JST", 9*3600)
	}
	return loc
}
