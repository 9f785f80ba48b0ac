package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Errors returned by Open. They are meant to be shown to the person running kizuki, so the
// wrapped messages say what to do; test for them with errors.Is.
var (
	// ErrLocked: another process (or another Open in this one) holds the file.
	ErrLocked = errors.New("in use by another kizuki process")
	// ErrNotStore: the file is empty in read-only mode, truncated, not bbolt, or another
	// program's bbolt file.
	ErrNotStore = errors.New("not a Kizuki store")
	// ErrSchemaTooNew: the file was written by a newer kizuki.
	ErrSchemaTooNew = errors.New("schema newer than this kizuki")
)

// Errors returned by the verbs.
var (
	// ErrNotFound: the case or outbox item does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyClaimed: someone else claimed the case; errors.As with *ClaimedError
	// tells who.
	ErrAlreadyClaimed = errors.New("already claimed")
	// ErrCaseClosed: the case is resolved or dismissed; reopen it first.
	ErrCaseClosed = errors.New("case already closed")
)

// Options tune Open. The zero value is a read-write store with a one-second lock timeout.
type Options struct {
	// LockTimeout bounds the wait for the file lock, so that a file held by a running daemon
	// is reported (ErrLocked) instead of waited on forever. Zero or less means one second.
	LockTimeout time.Duration
	// ReadOnly opens the file with a shared lock for reports and exports; every verb that
	// writes fails.
	ReadOnly bool
	// Now is the clock used for RecordedAt, case and outbox times. Nil means time.Now.
	Now func() time.Time

	// migrations replaces the schema migrations, for tests.
	migrations []migration
}

// Store is an open Kizuki state file. Its methods are safe for concurrent use: bbolt runs
// one writing transaction at a time and any number of readers.
type Store struct {
	db   *bolt.DB
	path string
	now  func() time.Time
}

// Bucket names. Keys of time-ordered buckets start with timeKey, so ranges are scans.
const (
	bucketMeta        = "meta"          // "app" = "kizuki", "schema" = decimal version
	bucketPosts       = "posts"         // post id → JSON Recorded
	bucketPostsByTime = "posts_by_time" // timeKey(created_at) \x00 post id → empty
	bucketCursors     = "cursors"       // source → cursor
	bucketCases       = "cases"         // case id → JSON Case
	bucketSnoozes     = "case_snoozes"  // timeKey(snoozed_until) \x00 case id → empty
	bucketAuthors     = "authors"       // author key \x00 case id → JSON CaseRef
	bucketOutbox      = "outbox"        // big-endian sequence → JSON OutboxItem
	bucketOutboxKeys  = "outbox_keys"   // idempotency key → big-endian sequence (pending)
	bucketOutboxSent  = "outbox_sent"   // idempotency key → JSON sentRecord
	bucketTracked     = "tracked"       // post id → JSON []Sample
	bucketCounts      = "counts"        // brand \x00 category \x00 hourKey → big-endian count
	bucketSilences    = "silences"      // silence id → JSON Silence (alerting mutes)
	bucketSurges      = "surges"        // brand \x00 timeKey(started) → JSON Surge (flame-up watch)
	bucketMentions    = "mentions"      // brand \x00 category \x00 slot → big-endian count (relevant posts)

	metaApp    = "app"
	metaSchema = "schema"
	appName    = "kizuki"
)

// allBuckets is every bucket of the current schema, created on Open.
func allBuckets() []string {
	return []string{
		bucketMeta, bucketPosts, bucketPostsByTime, bucketCursors, bucketCases,
		bucketSnoozes, bucketAuthors, bucketOutbox, bucketOutboxKeys, bucketOutboxSent,
		bucketTracked, bucketCounts, bucketSilences, bucketSurges, bucketMentions,
	}
}

// migration upgrades the file by one schema version, inside Open's transaction.
type migration struct {
	name string
	up   func(tx *bolt.Tx) error
}

// schemaMigrations returns the migrations of this binary: element i upgrades schema i to
// i+1, so the current schema is their number. Append; never edit or reorder.
func schemaMigrations() []migration {
	return []migration{
		{name: "index posts by creation time", up: migrateIndexPostsByTime},
		{name: "count the mentions of recorded posts", up: migrateCountMentions},
	}
}

// SchemaVersion is the schema this binary reads and writes.
func SchemaVersion() int { return len(schemaMigrations()) }

// Open opens the store at path, creating it if it does not exist (unless ReadOnly), and
// upgrades an older schema in one transaction.
func Open(path string, opt Options) (*Store, error) {
	if opt.LockTimeout <= 0 {
		opt.LockTimeout = time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.migrations == nil {
		opt.migrations = schemaMigrations()
	}
	db, err := openChecked(path, opt)
	if err != nil {
		return nil, err
	}
	return &Store{db: db, path: path, now: opt.Now}, nil
}

// Close releases the file and its lock.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.path, err)
	}
	return nil
}

// Path is the file the store was opened from.
func (s *Store) Path() string { return s.path }

// openChecked opens the bbolt file only after proving that bbolt can read it safely.
//
// bbolt trusts the file: on a truncated file its meta pages are valid but point past the end,
// and the first read of such a page is a SIGBUS in the mmap. So an existing file is first
// opened read-only and its size compared with the size its meta page claims, before anything
// (such as a read-write open, which loads the freelist) touches pages beyond the meta.
func openChecked(path string, opt Options) (*bolt.DB, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !opt.ReadOnly:
		// A new store: bbolt creates it.
	case err != nil:
		return nil, fmt.Errorf("open store: %w", err)
	case !fi.Mode().IsRegular():
		return nil, notStore(path, errors.New("not a regular file"))
	case fi.Size() == 0 && opt.ReadOnly:
		return nil, notStore(path, errors.New("empty file"))
	case fi.Size() > 0:
		// An empty file in read-write mode is what a crash during the very first Open leaves:
		// bbolt initialises it like a new file.
		db, err := probe(path, opt)
		if err != nil || opt.ReadOnly {
			return db, err
		}
		if err := db.Close(); err != nil {
			return nil, fmt.Errorf("open store %s: close read-only probe: %w", path, err)
		}
	}

	var db *bolt.DB
	err = guard(path, func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: opt.LockTimeout})
		if err != nil {
			return openError(path, opt, err)
		}
		return db.Update(func(tx *bolt.Tx) error { return initialise(tx, path, opt.migrations) })
	})
	if err != nil {
		if db != nil {
			_ = db.Close()
		}
		return nil, err
	}
	return db, nil
}

// probe opens an existing file read-only and checks that it is a whole Kizuki store that this
// binary can read. In read-only mode the probe is the store.
func probe(path string, opt Options) (*bolt.DB, error) {
	var db *bolt.DB
	err := guard(path, func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: opt.LockTimeout})
		if err != nil {
			return openError(path, opt, err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("open store: %w", err)
		}
		return db.View(func(tx *bolt.Tx) error {
			if tx.Size() > fi.Size() {
				return notStore(path, fmt.Errorf("truncated: %d bytes of %d", fi.Size(), tx.Size()))
			}
			fresh, version, err := inspect(tx, path, len(opt.migrations))
			switch {
			case err != nil:
				return err
			case !opt.ReadOnly:
				return nil
			case fresh:
				return notStore(path, errors.New("an empty bbolt file"))
			case version < len(opt.migrations):
				return fmt.Errorf("open store %s: schema %d is older than this kizuki's %d: open it once without read-only to upgrade it",
					path, version, len(opt.migrations))
			}
			return nil
		})
	})
	if err != nil {
		if db != nil {
			_ = db.Close()
		}
		return nil, err
	}
	return db, nil
}

// guard turns a panic or memory fault inside bbolt while opening a damaged file into
// ErrNotStore. If bbolt.Open itself panics, its descriptor (and lock) leak; the size check in
// probe is what keeps truncated files from getting that far.
func guard(path string, f func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = notStore(path, fmt.Errorf("bbolt failed reading it: %v", r))
		}
	}()
	return f()
}

// openError classifies an error of bolt.Open.
func openError(path string, opt Options, err error) error {
	var pathErr *fs.PathError
	var errno syscall.Errno
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("open store: %s is %w (no lock within %v); stop it or use another --data-dir",
			path, ErrLocked, opt.LockTimeout)
	case errors.As(err, &pathErr):
		return fmt.Errorf("open store: %w", err) // it names the file
	case errors.As(err, &errno):
		return fmt.Errorf("open store %s: %w", path, err)
	default:
		// ErrInvalid, ErrChecksum, ErrVersionMismatch, "file size too small", …
		return notStore(path, err)
	}
}

func notStore(path string, why error) error {
	return fmt.Errorf("open store: %s is %w (%w): move it away or point --data-dir elsewhere", path, ErrNotStore, why)
}

// inspect tells a fresh bbolt file (no buckets at all) from a Kizuki store, and reads the
// store's schema version. Anything else is ErrNotStore.
func inspect(tx *bolt.Tx, path string, current int) (fresh bool, version int, err error) {
	meta := tx.Bucket([]byte(bucketMeta))
	if meta == nil {
		if k, _ := tx.Cursor().First(); k == nil {
			return true, 0, nil
		}
		return false, 0, notStore(path, errors.New("a bbolt file of another program: no meta bucket"))
	}
	if string(meta.Get([]byte(metaApp))) != appName {
		return false, 0, notStore(path, errors.New("a bbolt file of another program: its meta bucket is not kizuki's"))
	}
	if v := meta.Get([]byte(metaSchema)); v != nil {
		// Before schema 1 there was no schema key: its absence is version 0.
		if version, err = strconv.Atoi(string(v)); err != nil || version < 0 {
			return false, 0, notStore(path, fmt.Errorf("bad schema version %q", v))
		}
	}
	if version > current {
		return false, version, fmt.Errorf("open store: %s: %w (file has schema %d, this kizuki knows up to %d): run a newer kizuki or point --data-dir elsewhere",
			path, ErrSchemaTooNew, version, current)
	}
	return false, version, nil
}

// initialise marks a fresh file as a Kizuki store, or runs the migrations an older store
// needs, then creates any missing bucket and records the schema; all in Open's transaction,
// so a failed migration leaves the file as it was.
func initialise(tx *bolt.Tx, path string, migrations []migration) error {
	fresh, version, err := inspect(tx, path, len(migrations))
	if err != nil {
		return err
	}
	if fresh {
		meta, err := tx.CreateBucket([]byte(bucketMeta))
		if err != nil {
			return fmt.Errorf("open store %s: create meta: %w", path, err)
		}
		if err := meta.Put([]byte(metaApp), []byte(appName)); err != nil {
			return fmt.Errorf("open store %s: mark as kizuki's: %w", path, err)
		}
		version = len(migrations) // a new file starts at the current schema
	}
	for v := version; v < len(migrations); v++ {
		if err := migrations[v].up(tx); err != nil {
			return fmt.Errorf("open store %s: migrate schema %d to %d (%s): %w", path, v, v+1, migrations[v].name, err)
		}
	}
	for _, name := range allBuckets() {
		if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
			return fmt.Errorf("open store %s: create bucket %s: %w", path, name, err)
		}
	}
	schema := []byte(strconv.Itoa(len(migrations)))
	if err := tx.Bucket([]byte(bucketMeta)).Put([]byte(metaSchema), schema); err != nil {
		return fmt.Errorf("open store %s: record schema: %w", path, err)
	}
	return nil
}

// migrateIndexPostsByTime (schema 0 → 1) builds the time index that retention scans, for
// posts recorded before the index existed.
func migrateIndexPostsByTime(tx *bolt.Tx) error {
	idx, err := tx.CreateBucketIfNotExists([]byte(bucketPostsByTime))
	if err != nil {
		return err
	}
	posts := tx.Bucket([]byte(bucketPosts))
	if posts == nil {
		return nil
	}
	return eachRecorded(posts, func(r Recorded) error {
		return idx.Put(postTimeKey(r), []byte{})
	})
}

// bucket returns a bucket of the current schema, or an error instead of a nil bucket.
func bucket(tx *bolt.Tx, name string) (*bolt.Bucket, error) {
	b := tx.Bucket([]byte(name))
	if b == nil {
		return nil, fmt.Errorf("bucket %s missing", name)
	}
	return b, nil
}

func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(fn)
}

func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

// timeKeyLayout is RFC 3339 with a fixed-width fraction: time.RFC3339Nano trims trailing
// zeros, and "…05Z" would then sort after "…05.5Z".
const timeKeyLayout = "2006-01-02T15:04:05.000000000Z"

// timeKey is the sortable form of t (UTC, years 0–9999) used as a key prefix.
func timeKey(t time.Time) string {
	t = t.UTC()
	switch {
	case t.Year() < 0:
		t = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	case t.Year() > 9999:
		t = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
	}
	return t.Format(timeKeyLayout)
}

// timeKeyLen is the length of every timeKey.
const timeKeyLen = len(timeKeyLayout)

// joinKey joins key parts with NUL, which no id, name or time key contains.
func joinKey(parts ...string) []byte {
	n := len(parts) - 1
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			k = append(k, 0)
		}
		k = append(k, p...)
	}
	return k
}
