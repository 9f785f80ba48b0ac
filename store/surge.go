package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Surge statuses.
const (
	// SurgeOpen: the brand is in a flame-up; its negative posts go into the surge's thread.
	SurgeOpen = "open"
	// SurgeEnded: mentions went back to normal.
	SurgeEnded = "ended"
	// SurgeClosed: someone closed it. A new surge of the brand waits until mentions have
	// been back to normal (Calm), so that closing does not make it fire again at once.
	SurgeClosed = "closed"
)

// Surge is a flame-up of one brand as the watch saw it: when it started, what it measured
// when it fired, and the outbox key of its Slack alert, in whose thread later posts go.
type Surge struct {
	Brand     string    `json:"brand"`
	Status    string    `json:"status"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	// ClosedBy is who closed it (SurgeClosed), or SystemActor when it ended by itself.
	ClosedBy string `json:"closed_by,omitempty"`
	// AlertKey is the outbox key of the surge alert; Channel where it goes.
	AlertKey string `json:"alert_key"`
	Channel  string `json:"channel,omitempty"`
	// Alerted is set once the alert is in the outbox; until then the watch enqueues it
	// again (idempotent by AlertKey), so a crash in between loses no alert.
	Alerted bool `json:"alerted,omitempty"`
	// Categories are the categories counted, e.g. risky and actionable.
	Categories []string `json:"categories,omitempty"`
	// What the watch measured when it fired: posts in the window, the usual number for
	// that time of day, and the threshold they crossed.
	Count     int           `json:"count"`
	Expected  float64       `json:"expected"`
	Threshold int           `json:"threshold"`
	Window    time.Duration `json:"window"`
	// Peak is the highest window count seen while open, at PeakAt.
	Peak   int       `json:"peak"`
	PeakAt time.Time `json:"peak_at,omitzero"`
	// Last is the window count of the latest check, LastAt its time.
	Last   int       `json:"last"`
	LastAt time.Time `json:"last_at,omitzero"`
	// CalmSince is when the count first fell below the end level in the current calm
	// stretch; zero while it is above.
	CalmSince time.Time `json:"calm_since,omitzero"`
	// Calm is set on a closed surge once mentions were back to normal.
	Calm      bool      `json:"calm,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Active reports whether the surge holds a brand in incident mode.
func (s Surge) Active() bool { return s.Status == SurgeOpen }

// LatestSurge returns the most recent surge of a brand, open or not.
func (s *Store) LatestSurge(ctx context.Context, brand string) (Surge, bool, error) {
	var out Surge
	var ok bool
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketSurges))
		if b == nil {
			return nil
		}
		var err error
		out, ok, err = latestSurge(b, brand)
		return err
	})
	if err != nil {
		return Surge{}, false, fmt.Errorf("latest surge of %s: %w", brand, err)
	}
	return out, ok, nil
}

func latestSurge(b *bolt.Bucket, brand string) (Surge, bool, error) {
	prefix := joinKey(brand, "")
	c := b.Cursor()
	// The last key with the prefix: seek past it, then step back.
	k, v := c.Seek(joinKey(brand + "\x01"))
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return Surge{}, false, nil
	}
	var sg Surge
	if err := json.Unmarshal(v, &sg); err != nil {
		return Surge{}, false, fmt.Errorf("decode surge %q: %w", k, err)
	}
	return sg, true, nil
}

// Surges returns the surges that were open at some time at or after since (open ones,
// and those that ended after since), oldest first.
func (s *Store) Surges(ctx context.Context, since time.Time) ([]Surge, error) {
	var out []Surge
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketSurges))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var sg Surge
			if err := json.Unmarshal(v, &sg); err != nil {
				return fmt.Errorf("decode surge %q: %w", k, err)
			}
			if sg.EndedAt.IsZero() || !sg.EndedAt.Before(since) {
				out = append(out, sg)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list surges: %w", err)
	}
	slices.SortFunc(out, func(a, b Surge) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Brand, b.Brand)
	})
	return out, nil
}

// UpdateSurge applies fn, in one transaction, to the latest surge of a brand (nil if it
// has none). fn returns the surge to write, or nil to change nothing: the latest one
// changed, or a new one (another StartedAt), which then becomes the latest. UpdatedAt is
// set from the store's clock. An error from fn aborts and is returned.
func (s *Store) UpdateSurge(ctx context.Context, brand string, fn func(last *Surge) (*Surge, error)) (Surge, error) {
	if brand == "" {
		return Surge{}, errors.New("update surge: empty brand")
	}
	var out Surge
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketSurges)
		if err != nil {
			return err
		}
		last, ok, err := latestSurge(b, brand)
		if err != nil {
			return err
		}
		var arg *Surge
		if ok {
			cp := last
			cp.Categories = slices.Clone(last.Categories)
			arg = &cp
			out = last
		}
		next, err := fn(arg)
		if err != nil || next == nil {
			return err
		}
		if next.Brand != brand {
			return fmt.Errorf("the brand cannot change (to %q)", next.Brand)
		}
		if next.StartedAt.IsZero() {
			return errors.New("a surge needs a start time")
		}
		if ok && next.StartedAt.Before(last.StartedAt) {
			return fmt.Errorf("a new surge cannot start (%s) before the latest (%s)",
				next.StartedAt.UTC().Format(time.RFC3339), last.StartedAt.UTC().Format(time.RFC3339))
		}
		switch next.Status {
		case SurgeOpen, SurgeEnded, SurgeClosed:
		default:
			return fmt.Errorf("unknown surge status %q", next.Status)
		}
		next.UpdatedAt = s.now().UTC()
		if err := putJSON(b, joinKey(brand, timeKey(next.StartedAt)), next); err != nil {
			return err
		}
		out = *next
		return nil
	})
	if err != nil {
		return Surge{}, fmt.Errorf("update surge of %s: %w", brand, err)
	}
	return out, nil
}

// CloseSurge closes the open surge of a brand on someone's word: incident mode ends, and
// a new surge waits until mentions are back to normal. Without an open surge it fails
// with ErrNotFound.
func (s *Store) CloseSurge(ctx context.Context, brand, actor string) (Surge, error) {
	if actor == "" {
		actor = SystemActor
	}
	sg, err := s.UpdateSurge(ctx, brand, func(last *Surge) (*Surge, error) {
		if last == nil || last.Status != SurgeOpen {
			return nil, ErrNotFound
		}
		last.Status = SurgeClosed
		last.ClosedBy = actor
		last.EndedAt = s.now().UTC()
		return last, nil
	})
	if err != nil {
		return Surge{}, fmt.Errorf("close surge: %w", err)
	}
	return sg, nil
}
