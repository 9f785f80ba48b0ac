package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// OutboxItem is an alert waiting to be delivered.
type OutboxItem struct {
	// Key makes delivery idempotent, e.g. the case id and the kind of message: an item is
	// enqueued at most once per key, even after it was sent.
	Key     string `json:"key"`
	Channel string `json:"channel"`
	Payload []byte `json:"payload"`
	// NotBefore holds the item back until then; zero means at once.
	NotBefore time.Time `json:"not_before,omitzero"`

	// Set by the store.
	EnqueuedAt time.Time `json:"enqueued_at"`
	Attempts   int       `json:"attempts,omitempty"`
	LastError  string    `json:"last_error,omitempty"`
}

// sentRecord remembers a delivered key.
type sentRecord struct {
	Ref    string    `json:"ref,omitempty"`
	SentAt time.Time `json:"sent_at"`
}

// Enqueue adds an item to the outbox, unless an item with its key is pending or was sent;
// it reports whether the item was added.
func (s *Store) Enqueue(ctx context.Context, it OutboxItem) (bool, error) {
	if it.Key == "" {
		return false, errors.New("enqueue: empty key")
	}
	var added bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		outbox, keys, sent, err := outboxBuckets(tx)
		if err != nil {
			return err
		}
		if keys.Get([]byte(it.Key)) != nil || sent.Get([]byte(it.Key)) != nil {
			return nil
		}
		seq, err := outbox.NextSequence()
		if err != nil {
			return err
		}
		k := binary.BigEndian.AppendUint64(nil, seq)
		it.EnqueuedAt = s.now().UTC()
		it.Attempts, it.LastError = 0, ""
		if err := putJSON(outbox, k, it); err != nil {
			return err
		}
		added = true
		return keys.Put([]byte(it.Key), k)
	})
	if err != nil {
		return false, fmt.Errorf("enqueue %s: %w", it.Key, err)
	}
	return added, nil
}

// Pending returns up to limit items (all if limit <= 0) that are due at now, in the order
// they were enqueued; a failed item keeps its place.
func (s *Store) Pending(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error) {
	return s.PendingExcept(ctx, now, limit, nil)
}

// MarkSent removes a delivered item from the outbox and remembers its key, with ref (the
// Slack message ts), so that it is never enqueued again. Marking a sent key again is a no-op;
// an unknown key is ErrNotFound.
func (s *Store) MarkSent(ctx context.Context, key, ref string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		outbox, keys, sent, err := outboxBuckets(tx)
		if err != nil {
			return err
		}
		seq := bytes.Clone(keys.Get([]byte(key)))
		if seq == nil {
			if sent.Get([]byte(key)) != nil {
				return nil
			}
			return ErrNotFound
		}
		if err := outbox.Delete(seq); err != nil {
			return err
		}
		if err := keys.Delete([]byte(key)); err != nil {
			return err
		}
		return putJSON(sent, []byte(key), sentRecord{Ref: ref, SentAt: s.now().UTC()})
	})
	if err != nil {
		return fmt.Errorf("mark %s sent: %w", key, err)
	}
	return nil
}

// MarkFailed records a failed delivery: one more attempt, the error, and when to retry.
func (s *Store) MarkFailed(ctx context.Context, key, errText string, retryAt time.Time) error {
	err := s.updatePending(ctx, key, func(it *OutboxItem) {
		it.Attempts++
		it.LastError = errText
		it.NotBefore = retryAt.UTC()
	})
	if err != nil {
		return fmt.Errorf("mark %s failed: %w", key, err)
	}
	return nil
}

// updatePending changes the pending item of key in place, in one transaction; an unknown
// or sent key is ErrNotFound.
func (s *Store) updatePending(ctx context.Context, key string, change func(*OutboxItem)) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		outbox, keys, _, err := outboxBuckets(tx)
		if err != nil {
			return err
		}
		seq := bytes.Clone(keys.Get([]byte(key)))
		if seq == nil {
			return ErrNotFound
		}
		v := outbox.Get(seq)
		if v == nil {
			return fmt.Errorf("index points at missing item %x", seq)
		}
		var it OutboxItem
		if err := json.Unmarshal(v, &it); err != nil {
			return fmt.Errorf("outbox item %x: %w", seq, err)
		}
		change(&it)
		return putJSON(outbox, seq, it)
	})
}

// OutboxDepth is the number of items not yet sent, due or not.
func (s *Store) OutboxDepth() (int, error) {
	n, err := s.keyCount(bucketOutboxKeys)
	if err != nil {
		return 0, fmt.Errorf("outbox depth: %w", err)
	}
	return n, nil
}

func outboxBuckets(tx *bolt.Tx) (outbox, keys, sent *bolt.Bucket, err error) {
	if outbox, err = bucket(tx, bucketOutbox); err != nil {
		return nil, nil, nil, err
	}
	if keys, err = bucket(tx, bucketOutboxKeys); err != nil {
		return nil, nil, nil, err
	}
	if sent, err = bucket(tx, bucketOutboxSent); err != nil {
		return nil, nil, nil, err
	}
	return outbox, keys, sent, nil
}
