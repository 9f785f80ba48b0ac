package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kizuki-dev/kizuki/post"
)

// Decision is what the matcher decided about a post, as the store keeps it. It mirrors the
// decision of DESIGN.md so that the store need not import the matcher.
type Decision struct {
	Brand          string   `json:"brand"`
	Category       string   `json:"category"`
	Score          int      `json:"score"`
	Alert          bool     `json:"alert"`
	Relevant       bool     `json:"relevant"`
	Tagged         bool     `json:"tagged"`
	InConversation bool     `json:"in_conversation"`
	Reasons        []string `json:"reasons,omitempty"`
}

// Recorded is a seen post with its decision.
type Recorded struct {
	Post     post.Post `json:"post"`
	Decision Decision  `json:"decision"`
	// RecordedAt is when the post was first seen; zero means the store's clock.
	RecordedAt time.Time `json:"recorded_at"`
}

// AuthorKey is the key of a post's author in contact history and in Case.AuthorKey:
// "platform:author_id" (the handle when a platform gives no id), or "" when the post has no
// author.
func AuthorKey(p post.Post) string {
	id := p.Author.ID
	if id == "" {
		id = p.Author.Handle
	}
	if id == "" {
		return ""
	}
	platform := p.Platform
	if platform == "" {
		platform, _, _ = strings.Cut(p.ID, ":")
	}
	return platform + ":" + id
}

// StatusAlerted is the CaseRef status of a post that was alerted on but has no case yet.
const StatusAlerted = "alerted"

// RecordPosts stores, in one transaction, every record whose post id was not seen before,
// and reports which were fresh. A fresh record with Decision.Alert also counts into the hourly
// counters and its author's contact history. A second record of the same id, in this batch
// or a later one, is not fresh and changes nothing.
func (s *Store) RecordPosts(ctx context.Context, recs []Recorded) ([]bool, error) {
	var fresh []bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		fresh, err = s.recordPosts(tx, recs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("record %d posts: %w", len(recs), err)
	}
	return fresh, nil
}

// RecordPostsAndCursor is RecordPosts and SetCursor in one transaction, so that a source's
// cursor advances only together with the posts it covers.
func (s *Store) RecordPostsAndCursor(ctx context.Context, recs []Recorded, source, cursor string) ([]bool, error) {
	if source == "" {
		return nil, errors.New("record posts and cursor: empty source name")
	}
	var fresh []bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		if fresh, err = s.recordPosts(tx, recs); err != nil {
			return err
		}
		return putCursor(tx, source, cursor)
	})
	if err != nil {
		return nil, fmt.Errorf("record %d posts and cursor of %s: %w", len(recs), source, err)
	}
	return fresh, nil
}

// appendFill is how full bbolt fills a page before it splits, in the buckets
// written mostly in key order.
const appendFill = 0.95

func (s *Store) recordPosts(tx *bolt.Tx, recs []Recorded) ([]bool, error) {
	posts, err := bucket(tx, bucketPosts)
	if err != nil {
		return nil, err
	}
	byTime, err := bucket(tx, bucketPostsByTime)
	if err != nil {
		return nil, err
	}
	counts, err := bucket(tx, bucketCounts)
	if err != nil {
		return nil, err
	}
	authors, err := bucket(tx, bucketAuthors)
	if err != nil {
		return nil, err
	}
	// Post ids and times mostly grow (a snowflake id grows with time), so
	// these buckets are written at their ends: pages split full instead of
	// half full (bbolt's default), which made the store 2.4 times its data.
	posts.FillPercent, byTime.FillPercent = appendFill, appendFill
	now := s.now().UTC()
	fresh := make([]bool, len(recs))
	for i, r := range recs {
		id := r.Post.ID
		if id == "" {
			return nil, fmt.Errorf("record %d of the batch: post has no id", i)
		}
		if posts.Get([]byte(id)) != nil {
			continue
		}
		if r.RecordedAt.IsZero() {
			r.RecordedAt = now
		}
		v, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("post %s: %w", id, err)
		}
		if err := posts.Put([]byte(id), v); err != nil {
			return nil, fmt.Errorf("post %s: %w", id, err)
		}
		if err := byTime.Put(postTimeKey(r), []byte{}); err != nil {
			return nil, fmt.Errorf("post %s: index by time: %w", id, err)
		}
		if err := countMention(tx, r); err != nil {
			return nil, fmt.Errorf("post %s: count mention: %w", id, err)
		}
		if r.Decision.Alert {
			if err := addCount(counts, r.Decision.Brand, r.Decision.Category, postTime(r)); err != nil {
				return nil, fmt.Errorf("post %s: count: %w", id, err)
			}
			if key := AuthorKey(r.Post); key != "" {
				// A case opened before the post was recorded (the daemon
				// enqueues alerts first, so a crash cannot lose them) has
				// already written the better entry.
				if authors.Get(joinKey(key, id)) == nil {
					ref := CaseRef{ID: id, Status: StatusAlerted, At: r.RecordedAt.UTC()}
					if err := putJSON(authors, joinKey(key, id), ref); err != nil {
						return nil, fmt.Errorf("post %s: author history: %w", id, err)
					}
				}
			}
		}
		fresh[i] = true
	}
	return fresh, nil
}

// postTime is when a post was created, or when it was recorded for posts without a date; it
// orders retention and picks the counters' hour.
func postTime(r Recorded) time.Time {
	if r.Post.CreatedAt.IsZero() {
		return r.RecordedAt
	}
	return r.Post.CreatedAt
}

func postTimeKey(r Recorded) []byte {
	return joinKey(timeKey(postTime(r)), r.Post.ID)
}

// eachRecorded calls fn with every post of the posts bucket, in id order.
func eachRecorded(posts *bolt.Bucket, fn func(Recorded) error) error {
	return posts.ForEach(func(k, v []byte) error {
		r, err := decodeRecorded(v)
		if err != nil {
			return fmt.Errorf("post %s: %w", k, err)
		}
		return fn(r)
	})
}

func decodeRecorded(v []byte) (Recorded, error) {
	var r Recorded
	if err := json.Unmarshal(v, &r); err != nil {
		return Recorded{}, fmt.Errorf("decode recorded post: %w", err)
	}
	return r, nil
}

// Seen reports, in one read transaction, which of ids were recorded.
func (s *Store) Seen(ctx context.Context, ids []string) ([]bool, error) {
	seen := make([]bool, len(ids))
	err := s.view(ctx, func(tx *bolt.Tx) error {
		posts, err := bucket(tx, bucketPosts)
		if err != nil {
			return err
		}
		for i, id := range ids {
			seen[i] = id != "" && posts.Get([]byte(id)) != nil
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check %d seen posts: %w", len(ids), err)
	}
	return seen, nil
}

// GetPost returns a recorded post and its decision.
func (s *Store) GetPost(ctx context.Context, id string) (Recorded, bool, error) {
	var r Recorded
	var ok bool
	err := s.view(ctx, func(tx *bolt.Tx) error {
		posts, err := bucket(tx, bucketPosts)
		if err != nil {
			return err
		}
		v := posts.Get([]byte(id))
		if v == nil {
			return nil
		}
		ok = true
		r, err = decodeRecorded(v)
		return err
	})
	if err != nil {
		return Recorded{}, false, fmt.Errorf("get post %s: %w", id, err)
	}
	return r, ok, nil
}

// GetPosts returns, in one read transaction, the recorded posts of ids
// that the store holds, by id.
func (s *Store) GetPosts(ctx context.Context, ids []string) (map[string]Recorded, error) {
	out := make(map[string]Recorded, len(ids))
	err := s.view(ctx, func(tx *bolt.Tx) error {
		posts, err := bucket(tx, bucketPosts)
		if err != nil {
			return err
		}
		for _, id := range ids {
			v := posts.Get([]byte(id))
			if v == nil {
				continue
			}
			r, err := decodeRecorded(v)
			if err != nil {
				return fmt.Errorf("post %s: %w", id, err)
			}
			out[id] = r
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get %d posts: %w", len(ids), err)
	}
	return out, nil
}

// CountPosts is the number of recorded posts.
func (s *Store) CountPosts() (int, error) {
	n, err := s.keyCount(bucketPosts)
	if err != nil {
		return 0, fmt.Errorf("count posts: %w", err)
	}
	return n, nil
}

func (s *Store) keyCount(name string) (int, error) {
	var n int
	err := s.db.View(func(tx *bolt.Tx) error {
		b, err := bucket(tx, name)
		if err != nil {
			return err
		}
		n = b.Stats().KeyN
		return nil
	})
	return n, err
}

// retentionChunk bounds the posts deleted per transaction, so that retention of a large
// backlog neither builds one huge transaction nor holds the writer for long.
const retentionChunk = 5000

// DeletePostsBefore deletes the posts created before t (recorded before t, for posts without
// a date) and returns how many. It scans the time index, in transactions of a few thousand
// posts; each is whole, so an interrupted run is simply resumed by the next. Counters, cases
// and contact history are kept. A deleted post is no longer "seen".
func (s *Store) DeletePostsBefore(ctx context.Context, t time.Time) (int, error) {
	limit := []byte(timeKey(t))
	total := 0
	for {
		var n int
		err := s.update(ctx, func(tx *bolt.Tx) error {
			posts, err := bucket(tx, bucketPosts)
			if err != nil {
				return err
			}
			byTime, err := bucket(tx, bucketPostsByTime)
			if err != nil {
				return err
			}
			// Collect first: deleting under a bbolt cursor can skip the next key.
			var keys [][]byte
			c := byTime.Cursor()
			for k, _ := c.First(); k != nil && bytes.Compare(k, limit) < 0 && len(keys) < retentionChunk; k, _ = c.Next() {
				keys = append(keys, bytes.Clone(k))
			}
			for _, k := range keys {
				if err := byTime.Delete(k); err != nil {
					return err
				}
				if len(k) > timeKeyLen {
					if err := posts.Delete(k[timeKeyLen+1:]); err != nil {
						return err
					}
				}
			}
			n = len(keys)
			return nil
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("delete posts before %s: %w", t.UTC().Format(time.RFC3339), err)
		}
		if n < retentionChunk {
			return total, nil
		}
	}
}

// Cursor returns where a source stopped reading, or "" if it never did.
func (s *Store) Cursor(ctx context.Context, source string) (string, error) {
	var cur string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketCursors)
		if err != nil {
			return err
		}
		cur = string(b.Get([]byte(source)))
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("get cursor of %s: %w", source, err)
	}
	return cur, nil
}

// SetCursor records where a source stopped reading. An empty cursor forgets it.
func (s *Store) SetCursor(ctx context.Context, source, cursor string) error {
	if source == "" {
		return errors.New("set cursor: empty source name")
	}
	if err := s.update(ctx, func(tx *bolt.Tx) error { return putCursor(tx, source, cursor) }); err != nil {
		return fmt.Errorf("set cursor of %s: %w", source, err)
	}
	return nil
}

func putCursor(tx *bolt.Tx, source, cursor string) error {
	b, err := bucket(tx, bucketCursors)
	if err != nil {
		return err
	}
	if cursor == "" {
		return b.Delete([]byte(source))
	}
	return b.Put([]byte(source), []byte(cursor))
}

// hourKeyLayout names an hour counter; it sorts like the hours it names.
const hourKeyLayout = "2006-01-02T15Z"

func addCount(b *bolt.Bucket, brand, category string, at time.Time) error {
	k := joinKey(brand, category, at.UTC().Truncate(time.Hour).Format(hourKeyLayout))
	var n uint64
	if v := b.Get(k); len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	return b.Put(k, binary.BigEndian.AppendUint64(nil, n+1))
}

// Counts returns the number of alerted posts of a brand and category per hour (keys are the
// start of each hour, in UTC), for the hours starting in [since truncated to the hour, until).
// An empty category sums every category of the brand. Hours without posts are absent.
func (s *Store) Counts(ctx context.Context, brand, category string, since, until time.Time) (map[time.Time]int, error) {
	from := since.UTC().Truncate(time.Hour).Format(hourKeyLayout)
	to := until.UTC()
	counts := make(map[time.Time]int)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketCounts)
		if err != nil {
			return err
		}
		prefix := joinKey(brand, "")
		seek := prefix
		if category != "" {
			prefix = joinKey(brand, category, "")
			seek = append(bytes.Clone(prefix), from...)
		}
		c := b.Cursor()
		for k, v := c.Seek(seek); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			i := bytes.LastIndexByte(k, 0)
			if category == "" && i < len(prefix) {
				continue // "brand\x00category" without an hour: not a counter key
			}
			h, err := time.Parse(hourKeyLayout, string(k[i+1:]))
			if err != nil || len(v) != 8 {
				return fmt.Errorf("bad counter %q", k)
			}
			if string(k[i+1:]) < from {
				continue
			}
			if !h.Before(to) {
				if category != "" {
					break
				}
				continue
			}
			counts[h] += int(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count %s/%s: %w", brand, category, err)
	}
	return counts, nil
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, data)
}

// EachPost calls fn with every recorded post, in id order, in one read transaction (a
// snapshot: posts recorded meanwhile are not seen); fn's error stops the walk.
func (s *Store) EachPost(ctx context.Context, fn func(Recorded) error) error {
	err := s.view(ctx, func(tx *bolt.Tx) error {
		posts, err := bucket(tx, bucketPosts)
		if err != nil {
			return err
		}
		return eachRecorded(posts, func(r Recorded) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return fn(r)
		})
	})
	if err != nil {
		return fmt.Errorf("walk posts: %w", err)
	}
	return nil
}
