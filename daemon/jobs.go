package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kizuki-dev/kizuki/index"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/store"
)

// Retain deletes what is older than maxAge from the store and the index: personal data
// should not live forever. Cases and counters stay (they hold no post text). It returns
// how many posts the store deleted.
func Retain(ctx context.Context, st *store.Store, ix *index.Index, maxAge time.Duration, now time.Time) (int, error) {
	if maxAge <= 0 {
		return 0, nil
	}
	cut := now.Add(-maxAge)
	// The index first: a post deleted from the store but not from the index would be
	// searchable with no record behind it.
	if _, err := ix.DeleteBefore(ctx, cut); err != nil {
		return 0, fmt.Errorf("retention: %w", err)
	}
	n, err := st.DeletePostsBefore(ctx, cut)
	if err != nil {
		return n, fmt.Errorf("retention: %w", err)
	}
	return n, nil
}

// Refresher re-reads engagement counts; every listener.Source is one.
type Refresher interface {
	Refresh(ctx context.Context, ids []string) (map[string]post.Metrics, error)
}

// RepollOptions configure Repoll.
type RepollOptions struct {
	Store *store.Store
	// Sources re-read posts, by the platform of the post (post.Platform: "x", "hn", ...).
	Sources map[string]Refresher
	// Window is how long after its alert a post is followed; zero or less means 48 hours.
	Window time.Duration
	Now    time.Time
}

// defaultRepollWindow: a post that has not flared up in two days rarely does later.
const defaultRepollWindow = 48 * time.Hour

// Repoll samples the engagement of every post alerted within the window (the tracked
// posts the velocity watch reads) and stops following older ones. A platform that fails
// does not stop the others; their errors are joined.
func Repoll(ctx context.Context, opt RepollOptions) (sampled int, err error) {
	window := opt.Window
	if window <= 0 {
		window = defaultRepollWindow
	}
	since := opt.Now.Add(-window)
	cases, err := opt.Store.ListCases(ctx, store.CaseFilter{Since: since})
	if err != nil {
		return 0, fmt.Errorf("re-poll: %w", err)
	}
	byPlatform := map[string][]string{}
	follow := map[string]bool{}
	for _, c := range cases {
		if c.Status == store.StatusDismissed {
			continue // marked not relevant: its engagement does not matter
		}
		rec, ok, err := opt.Store.GetPost(ctx, c.ID)
		if err != nil {
			return 0, fmt.Errorf("re-poll: %w", err)
		}
		if !ok {
			continue // deleted by retention
		}
		follow[c.ID] = true
		byPlatform[rec.Post.Platform] = append(byPlatform[rec.Post.Platform], c.ID)
	}
	var errs []error
	for platform, ids := range byPlatform {
		src, ok := opt.Sources[platform]
		if !ok {
			continue // no configured source reads this platform any more
		}
		got, err := src.Refresh(ctx, ids)
		if err != nil {
			errs = append(errs, fmt.Errorf("re-poll %s: %w", platform, err))
			continue
		}
		for _, id := range ids {
			m, ok := got[id]
			if !ok {
				continue // deleted on the platform
			}
			if err := opt.Store.Track(ctx, id, m, opt.Now); err != nil {
				return sampled, fmt.Errorf("re-poll: %w", err)
			}
			sampled++
		}
	}
	tracked, err := opt.Store.TrackedIDs(ctx)
	if err != nil {
		return sampled, fmt.Errorf("re-poll: %w", err)
	}
	for _, id := range tracked {
		if !follow[id] {
			if err := opt.Store.Untrack(ctx, id); err != nil {
				return sampled, fmt.Errorf("re-poll: %w", err)
			}
		}
	}
	return sampled, errors.Join(errs...)
}
