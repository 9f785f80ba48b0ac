package store

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// PostsBetween returns the recorded posts created in [since, until) (recorded then, for
// posts without a date) that keep accepts, oldest first; a nil keep accepts all. It reads
// the time index, so a short span is cheap however large the store.
func (s *Store) PostsBetween(ctx context.Context, since, until time.Time, keep func(Recorded) bool) ([]Recorded, error) {
	from, to := []byte(timeKey(since)), []byte(timeKey(until))
	var out []Recorded
	err := s.view(ctx, func(tx *bolt.Tx) error {
		posts, err := bucket(tx, bucketPosts)
		if err != nil {
			return err
		}
		byTime, err := bucket(tx, bucketPostsByTime)
		if err != nil {
			return err
		}
		c := byTime.Cursor()
		for k, _ := c.Seek(from); k != nil && bytes.Compare(k, to) < 0; k, _ = c.Next() {
			if len(k) <= timeKeyLen {
				continue
			}
			v := posts.Get(k[timeKeyLen+1:])
			if v == nil {
				continue // the index outlived its post: retention was interrupted
			}
			r, err := decodeRecorded(v)
			if err != nil {
				return fmt.Errorf("post %s: %w", k[timeKeyLen+1:], err)
			}
			if keep == nil || keep(r) {
				out = append(out, r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("posts between %s and %s: %w", since.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339), err)
	}
	return out, nil
}
