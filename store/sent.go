package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The outbox verbs that let one message wait on another: a thread reply is posted only once
// the message it answers is sent, and it needs that message's reference (the Slack ts).

// SentRef returns the reference recorded when the item with key was sent (see MarkSent), and
// whether it was sent at all. A sent item may have an empty reference.
func (s *Store) SentRef(ctx context.Context, key string) (ref string, ok bool, err error) {
	err = s.view(ctx, func(tx *bolt.Tx) error {
		sent, err := bucket(tx, bucketOutboxSent)
		if err != nil {
			return err
		}
		v := sent.Get([]byte(key))
		if v == nil {
			return nil
		}
		var r sentRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode sent record: %w", err)
		}
		ref, ok = r.Ref, true
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("sent reference of %s: %w", key, err)
	}
	return ref, ok, nil
}

// OutboxPending reports whether an item with key waits in the outbox (due or not).
func (s *Store) OutboxPending(ctx context.Context, key string) (bool, error) {
	var ok bool
	err := s.view(ctx, func(tx *bolt.Tx) error {
		keys, err := bucket(tx, bucketOutboxKeys)
		if err != nil {
			return err
		}
		ok = keys.Get([]byte(key)) != nil
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("outbox item %s: %w", key, err)
	}
	return ok, nil
}

// Postpone holds a pending item back until until, in its place, without counting an attempt
// or recording an error: for an item that waits on another one, not for a failed send. An
// unknown or sent key is ErrNotFound.
func (s *Store) Postpone(ctx context.Context, key string, until time.Time) error {
	if err := s.updatePending(ctx, key, func(it *OutboxItem) { it.NotBefore = until.UTC() }); err != nil {
		return fmt.Errorf("postpone %s: %w", key, err)
	}
	return nil
}

// PendingExcept is Pending without the items whose channel skip reports true, which do not
// count toward limit: a channel that is held back (rate limited, failing) then cannot fill
// the batch and starve the others. A nil skip passes over nothing.
func (s *Store) PendingExcept(ctx context.Context, now time.Time, limit int, skip func(channel string) bool) ([]OutboxItem, error) {
	var out []OutboxItem
	err := s.view(ctx, func(tx *bolt.Tx) error {
		outbox, err := bucket(tx, bucketOutbox)
		if err != nil {
			return err
		}
		c := outbox.Cursor()
		for k, v := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			var it OutboxItem
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("outbox item %x: %w", k, err)
			}
			if it.NotBefore.After(now) || (skip != nil && skip(it.Channel)) {
				continue
			}
			out = append(out, it)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list pending outbox: %w", err)
	}
	return out, nil
}
