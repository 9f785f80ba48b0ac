package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MentionSlot is the resolution of the mention counters the flame-up watch reads: fine
// enough that "the last hour" is six slots, coarse enough that a year of a brand is a few
// hundred thousand small keys.
const MentionSlot = 10 * time.Minute

// mentionSlotLayout names a slot; it sorts like the slots it names.
const mentionSlotLayout = "2006-01-02T15:04Z"

// mentionsSinceKey holds the start of the earliest slot ever counted: the history the
// flame-up watch may learn from begins there. It starts with NUL, which no brand does.
var mentionsSinceKey = []byte("\x00since")

// countMention counts a fresh relevant post, whatever its category and whether it alerted
// or not (a tagged complaint is left to the brand's inbox but is still part of a surge),
// in the slot of its creation time.
func countMention(tx *bolt.Tx, r Recorded) error {
	d := r.Decision
	if !d.Relevant || d.Brand == "" {
		return nil
	}
	category := d.Category
	if category == "" {
		category = "none"
	}
	b, err := bucket(tx, bucketMentions)
	if err != nil {
		return err
	}
	slot := postTime(r).UTC().Truncate(MentionSlot)
	k := joinKey(d.Brand, category, slot.Format(mentionSlotLayout))
	var n uint64
	if v := b.Get(k); len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	if err := b.Put(k, binary.BigEndian.AppendUint64(nil, n+1)); err != nil {
		return err
	}
	since := slot.Format(mentionSlotLayout)
	if old := b.Get(mentionsSinceKey); old == nil || string(old) > since {
		return b.Put(mentionsSinceKey, []byte(since))
	}
	return nil
}

// migrateCountMentions (schema 1 → 2) counts the posts recorded before the mention
// counters existed, so that the flame-up watch learns from them at once instead of after
// days of new posts.
func migrateCountMentions(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists([]byte(bucketMentions)); err != nil {
		return err
	}
	posts := tx.Bucket([]byte(bucketPosts))
	if posts == nil {
		return nil
	}
	return eachRecorded(posts, func(r Recorded) error {
		return countMention(tx, r)
	})
}

// MentionsSince is the start of the earliest slot with a counted mention (of any brand):
// the history the flame-up watch can learn from. ok is false before any post was counted.
func (s *Store) MentionsSince(ctx context.Context) (since time.Time, ok bool, err error) {
	err = s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketMentions))
		if b == nil {
			return nil // a file last written by an older kizuki, opened read-only
		}
		v := b.Get(mentionsSinceKey)
		if v == nil {
			return nil
		}
		since, err = time.Parse(mentionSlotLayout, string(v))
		if err != nil {
			return fmt.Errorf("bad mention history start %q", v)
		}
		ok = true
		return nil
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("mention history start: %w", err)
	}
	return since, ok, nil
}

// Mentions returns the number of relevant posts of a brand per MentionSlot (keys are the
// start of each slot, in UTC) for the slots starting in [since, until), summed over the
// given categories ("actionable", "risky", "positive", "none"); no categories means all.
// Slots without posts are absent.
func (s *Store) Mentions(ctx context.Context, brand string, categories []string, since, until time.Time) (map[time.Time]int, error) {
	if len(categories) == 0 {
		categories = []string{"actionable", "risky", "positive", "none"}
	}
	from := since.UTC().Add(MentionSlot - 1).Truncate(MentionSlot).Format(mentionSlotLayout)
	to := until.UTC().Add(MentionSlot - 1).Truncate(MentionSlot).Format(mentionSlotLayout)
	out := make(map[time.Time]int)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketMentions))
		if b == nil {
			return nil // a file last written by an older kizuki, opened read-only
		}
		c := b.Cursor()
		for _, cat := range slices.Compact(slices.Sorted(slices.Values(categories))) {
			prefix := joinKey(brand, cat, "")
			for k, v := c.Seek(append(bytes.Clone(prefix), from...)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
				slot := string(k[len(prefix):])
				if slot >= to {
					break
				}
				t, err := time.Parse(mentionSlotLayout, slot)
				if err != nil || len(v) != 8 {
					return fmt.Errorf("bad mention counter %q", k)
				}
				out[t] += int(binary.BigEndian.Uint64(v))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mentions of %s: %w", brand, err)
	}
	return out, nil
}

// DeleteMentionsBefore forgets the mention counters of slots that start before t and
// returns how many it deleted; the history start (MentionsSince) is kept.
func (s *Store) DeleteMentionsBefore(ctx context.Context, t time.Time) (int, error) {
	limit := t.UTC().Truncate(MentionSlot).Format(mentionSlotLayout)
	var n int
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketMentions)
		if err != nil {
			return err
		}
		// Keys are brand-first: hop from one brand\x00category prefix to the next and
		// collect the old slots at the start of each. Collect first: deleting under a
		// bbolt cursor can skip the next key.
		var old [][]byte
		c := b.Cursor()
		for k, _ := c.First(); k != nil; {
			i := bytes.LastIndexByte(k, 0)
			if k[0] == 0 || i < 0 {
				k, _ = c.Next()
				continue
			}
			prefix := bytes.Clone(k[:i+1])
			for ; k != nil && bytes.HasPrefix(k, prefix) && string(k[i+1:]) < limit; k, _ = c.Next() {
				old = append(old, bytes.Clone(k))
			}
			if k != nil && bytes.HasPrefix(k, prefix) {
				// The rest of this brand and category is recent: skip to the next one.
				k, _ = c.Seek(append(prefix[:len(prefix)-1:len(prefix)-1], 1))
			}
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(old)
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("delete mention counters before %s: %w", t.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}
