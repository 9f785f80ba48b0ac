package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SentTimes returns when each of the keys was delivered; keys not (yet) sent are absent.
// Reports read it as the time an alert reached Slack, which for an alert held back by
// quiet hours is later than the time it was decided.
func (s *Store) SentTimes(ctx context.Context, keys []string) (map[string]time.Time, error) {
	out := make(map[string]time.Time)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		sent, err := bucket(tx, bucketOutboxSent)
		if err != nil {
			return err
		}
		for _, k := range keys {
			v := sent.Get([]byte(k))
			if v == nil {
				continue
			}
			var r sentRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("sent record %s: %w", k, err)
			}
			out[k] = r.SentAt
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %d sent times: %w", len(keys), err)
	}
	return out, nil
}
