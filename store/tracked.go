package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kizuki-dev/kizuki/post"
)

// MaxSamples is how many engagement samples a tracked post keeps; older ones are dropped.
const MaxSamples = 50

// Sample is a tracked post's engagement at one time.
type Sample struct {
	At      time.Time    `json:"at"`
	Metrics post.Metrics `json:"metrics"`
}

// Track appends an engagement sample to a post, starting to track it if needed. A zero at
// means the store's clock.
func (s *Store) Track(ctx context.Context, id string, m post.Metrics, at time.Time) error {
	if id == "" {
		return errors.New("track: empty post id")
	}
	if at.IsZero() {
		at = s.now()
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketTracked)
		if err != nil {
			return err
		}
		samples, err := decodeSamples(b.Get([]byte(id)))
		if err != nil {
			return err
		}
		samples = append(samples, Sample{At: at.UTC(), Metrics: m})
		if len(samples) > MaxSamples {
			samples = samples[len(samples)-MaxSamples:]
		}
		return putJSON(b, []byte(id), samples)
	})
	if err != nil {
		return fmt.Errorf("track %s: %w", id, err)
	}
	return nil
}

// Tracked returns a post's samples, oldest first; none if it is not tracked.
func (s *Store) Tracked(ctx context.Context, id string) ([]Sample, error) {
	var samples []Sample
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketTracked)
		if err != nil {
			return err
		}
		samples, err = decodeSamples(b.Get([]byte(id)))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tracked samples of %s: %w", id, err)
	}
	return samples, nil
}

// TrackedIDs returns the ids of the tracked posts, in id order.
func (s *Store) TrackedIDs(ctx context.Context) ([]string, error) {
	var ids []string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketTracked)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, _ []byte) error {
			ids = append(ids, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list tracked posts: %w", err)
	}
	return ids, nil
}

// Untrack stops tracking a post and forgets its samples.
func (s *Store) Untrack(ctx context.Context, id string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketTracked)
		if err != nil {
			return err
		}
		return b.Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("untrack %s: %w", id, err)
	}
	return nil
}

func decodeSamples(v []byte) ([]Sample, error) {
	if v == nil {
		return nil, nil
	}
	var samples []Sample
	if err := json.Unmarshal(v, &samples); err != nil {
		return nil, fmt.Errorf("decode samples: %w", err)
	}
	return samples, nil
}
