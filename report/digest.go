package report

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/alerting"
	"github.com/kizuki-dev/kizuki/japanese"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/store"
)

// DigestOptions configure the daily digest.
type DigestOptions struct {
	// Channel is where the digest goes (required to enqueue it).
	Channel string
	// Location is the time zone of "yesterday"; nil means UTC.
	Location *time.Location
	// ResponseTarget is the first-response target: open cases older than it are listed.
	// Zero or less means one hour.
	ResponseTarget time.Duration
	// Japanese is passed to Compute; nil means a new analyzer.
	Japanese *japanese.Analyzer
}

// DefaultResponseTarget is the first-response target when none is configured: most
// customers expect an answer within the hour on social media.
const DefaultResponseTarget = time.Hour

// caseLookback is how far back the digest looks for cases with events of the day (a case
// resolved yesterday was usually opened within the month) and for open cases.
const caseLookback = 90 * 24 * time.Hour

// DigestKey is the outbox key of the digest of the day that starts at day: one digest a
// day, however often the schedule fires.
func DigestKey(day time.Time) string { return "digest:" + day.Format("2006-01-02") }

// BuildDigest gathers the digest of the local day before now: its alerts and cases,
// response times, the open cases older than the response target (now), its best positive
// posts, and any surge open during it.
func BuildDigest(ctx context.Context, st *store.Store, opt DigestOptions, now time.Time) (alerting.Digest, error) {
	loc := opt.Location
	if loc == nil {
		loc = time.UTC
	}
	target := opt.ResponseTarget
	if target <= 0 {
		target = DefaultResponseTarget
	}
	local := now.In(loc)
	end := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	start := end.AddDate(0, 0, -1)
	d := alerting.Digest{Day: start, Location: loc, Now: now, ResponseTarget: target}

	r, err := Compute(ctx, st, Options{Since: start, Until: end, Location: loc, Japanese: opt.Japanese, Questions: -1})
	if err != nil {
		return d, fmt.Errorf("digest: %w", err)
	}
	for _, c := range r.ByCategory {
		d.Alerts = append(d.Alerts, alerting.DigestCount{Name: c.Name, N: c.N})
	}
	for _, t := range r.Times {
		if t.Group != groupAll {
			continue
		}
		dt := alerting.DigestTimes{N: t.N, Median: t.Median, P90: t.P90}
		switch t.Metric {
		case FirstResponse:
			d.FirstResponse = dt
		case TimeToResolve:
			d.Resolve = dt
		}
	}

	cases, err := st.ListCases(ctx, store.CaseFilter{Since: now.Add(-caseLookback)})
	if err != nil {
		return d, fmt.Errorf("digest: %w", err)
	}
	brands := map[string]int{}
	var overdue []store.Case
	for _, c := range cases {
		if !c.CreatedAt.Before(start) && c.CreatedAt.Before(end) {
			brands[c.Brand]++
		}
		for _, ev := range c.History {
			if ev.At.Before(start) || !ev.At.Before(end) || !person(ev) {
				continue
			}
			switch ev.Action {
			case store.ActionClaimed:
				d.Claimed++
			case store.ActionResolved:
				d.Resolved++
			case store.ActionDismissed:
				d.Dismissed++
			}
		}
		if c.Status == store.StatusOpen && now.Sub(c.CreatedAt) > target {
			overdue = append(overdue, c)
		}
	}
	for _, c := range counts(brands, nil) {
		d.Brands = append(d.Brands, alerting.DigestCount{Name: c.Name, N: c.N})
	}
	d.OverdueTotal = len(overdue)
	for _, c := range overdue[:min(len(overdue), 10)] {
		dc := alerting.DigestCase{Brand: c.Brand, Status: c.Status, OpenedAt: c.CreatedAt,
			NoticePost: alerting.NoticePost{Post: post.Post{ID: c.ID}, Category: c.Category}}
		rec, ok, err := st.GetPost(ctx, c.ID)
		if err != nil {
			return d, fmt.Errorf("digest: %w", err)
		}
		if ok {
			dc.Post, dc.Score = rec.Post, rec.Decision.Score
			dc.Post.Context = nil
		}
		d.Overdue = append(d.Overdue, dc)
	}

	positive, err := st.PostsBetween(ctx, start, end, func(rec store.Recorded) bool {
		return rec.Decision.Relevant && rec.Decision.Category == "positive"
	})
	if err != nil {
		return d, fmt.Errorf("digest: %w", err)
	}
	slices.SortFunc(positive, func(a, b store.Recorded) int {
		if c := cmp.Compare(reach(b.Post), reach(a.Post)); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Decision.Score, a.Decision.Score); c != 0 {
			return c
		}
		return strings.Compare(a.Post.ID, b.Post.ID)
	})
	for _, rec := range positive[:min(len(positive), 5)] {
		p := rec.Post
		p.Context = nil
		d.Positive = append(d.Positive, alerting.NoticePost{Post: p, Category: rec.Decision.Category, Score: rec.Decision.Score})
	}

	surges, err := st.Surges(ctx, start)
	if err != nil {
		return d, fmt.Errorf("digest: %w", err)
	}
	for _, s := range surges {
		if s.StartedAt.Before(end) {
			d.Surges = append(d.Surges, alerting.DigestSurge{Brand: s.Brand, Status: s.Status, StartedAt: s.StartedAt,
				EndedAt: s.EndedAt, Peak: s.Peak, Expected: s.Expected})
		}
	}
	return d, nil
}

// reach is how much a positive post was shared and liked: what makes it worth sharing.
func reach(p post.Post) int {
	return p.Metrics.Likes + 3*(p.Metrics.Reposts+p.Metrics.Quotes) + p.Author.Followers/1000
}

// EnqueueDigest builds the digest of the day before now and puts it into the outbox for
// opt.Channel, once per day (DigestKey): the daemon's cron calls it at the configured
// time, and a second call the same day (a restart, a retry) changes nothing. It reports
// whether the digest was enqueued now.
func EnqueueDigest(ctx context.Context, st *store.Store, opt DigestOptions, now time.Time) (bool, error) {
	if opt.Channel == "" {
		return false, fmt.Errorf("digest: no channel")
	}
	d, err := BuildDigest(ctx, st, opt, now)
	if err != nil {
		return false, err
	}
	payload, err := json.Marshal(alerting.DigestMessage(d))
	if err != nil {
		return false, fmt.Errorf("digest: encode: %w", err)
	}
	added, err := st.Enqueue(ctx, store.OutboxItem{Key: DigestKey(d.Day), Channel: opt.Channel, Payload: payload})
	if err != nil {
		return false, fmt.Errorf("digest: %w", err)
	}
	return added, nil
}
