// Package index holds every post Kizuki has seen, with its thread context and
// the matcher's decision, in a Bleve (scorch) index on disk, searchable with
// Bleve query strings through an analyzer that handles Japanese and English.
package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	bolt "go.etcd.io/bbolt"

	"github.com/kizuki-dev/kizuki/japanese"
)

// indexVersion is written into every index Kizuki creates. Bump it whenever
// the mapping or the analysis changes: an older index then fails to open
// with ErrNotIndex instead of silently answering queries wrongly.
const (
	indexVersion = "3"
	versionKey   = "kizuki_index_version"
	// docsKey is "store" in an index created with Options.Docs.
	docsKey         = "kizuki_docs"
	defaultBatch    = 1000
	defaultLockWait = 5 * time.Second
	// parallelBatches is how many batches Index writes at once.
	parallelBatches = 2
)

// ErrNotIndex is returned by Open for a directory that does not hold a
// usable Kizuki index: something else, a damaged index, or one written by
// another program or another version of Kizuki.
var ErrNotIndex = errors.New("not a Kizuki index")

// ContextPost is a post of the thread before the indexed one.
type ContextPost struct {
	ID           string    `json:"id"`
	AuthorHandle string    `json:"author_handle,omitempty"`
	Text         string    `json:"text"`
	CreatedAt    time.Time `json:"created_at"`
}

// Doc is one indexed post with the matcher's decision about it.
type Doc struct {
	ID           string `json:"id"`
	Platform     string `json:"platform"`
	URL          string `json:"url,omitempty"`
	Brand        string `json:"brand,omitempty"`
	Category     string `json:"category,omitempty"`
	AuthorHandle string `json:"author_handle,omitempty"`
	AuthorName   string `json:"author_name,omitempty"`
	Lang         string `json:"lang,omitempty"`
	Text         string `json:"text"`
	// Context is the thread before the post, oldest first.
	Context        []ContextPost `json:"context,omitempty"`
	Tagged         bool          `json:"tagged,omitempty"`
	InConversation bool          `json:"in_conversation,omitempty"`
	Alert          bool          `json:"alert,omitempty"`
	Score          int           `json:"score,omitempty"`
	Followers      int           `json:"followers,omitempty"`
	CreatedAt      time.Time     `json:"created_at"`

	// Analysis is the matcher's analysis of Text, if it made one (see
	// matcher.Decision.Analysis): the index then takes the Japanese tokens
	// from it instead of running kagome again. Not stored.
	Analysis *japanese.Analysis `json:"-"`
}

// Options tune an Index. The zero value is ready to use.
type Options struct {
	// BatchSize is how many docs go into one Bleve batch (default 1000):
	// each batch is one segment written and synced to disk.
	BatchSize int
	// LockTimeout is how long Open waits for an index another process
	// holds open before giving up (default 5s).
	LockTimeout time.Duration
	// Docs, when set, gives search results their docs, and the index does
	// not keep a copy of each doc: Kizuki's store already keeps every post
	// with its decision, and writing the copy cost about 4% of a replay.
	// An index is written and read with the same choice. When nil, the
	// index stores every doc itself.
	Docs DocSource
}

// DocSource gives the docs of an index that does not store them.
type DocSource interface {
	// Docs returns the docs of ids that it has, by ID.
	Docs(ctx context.Context, ids []string) (map[string]Doc, error)
}

// Index is an open index. It is safe for concurrent use.
type Index struct {
	b         bleve.Index
	prep      *preparer
	docs      DocSource // nil: docs are stored in the index
	dir       string
	batch     int
	closeOnce sync.Once
	closeErr  error
}

// Open opens the Kizuki index in dir, creating it when dir is absent or
// empty. A dir that holds something else, a damaged index, or an index of
// another program or version gives an error that wraps ErrNotIndex.
func Open(dir string, opt Options) (*Index, error) {
	if opt.BatchSize <= 0 {
		opt.BatchSize = defaultBatch
	}
	if opt.LockTimeout <= 0 {
		opt.LockTimeout = defaultLockWait
	}
	// Never "unsafe_batch": with it, a Close right after the last Batch
	// loses that batch (perf-notes §3). Safe mode returns from Batch only
	// once the data is on disk.
	cfg := map[string]any{"bolt_timeout": opt.LockTimeout.String()}

	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return create(dir, cfg, opt)
	case err != nil:
		return nil, fmt.Errorf("open index %s: %w", dir, err)
	case !fi.IsDir():
		return nil, notIndex(dir, "it is a file, not a directory; give the path of a directory (it is created when missing)")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open index %s: %w", dir, err)
	}
	if len(entries) == 0 {
		return create(dir, cfg, opt)
	}
	if _, err := os.Stat(filepath.Join(dir, "index_meta.json")); err != nil {
		return nil, notIndex(dir, "the directory is not empty and holds no Bleve index (no index_meta.json); give an empty or new directory")
	}

	if err := verify(dir, cfg, opt.LockTimeout); err != nil {
		return nil, err
	}
	b, err := safeOpen(dir, cfg)
	if err != nil {
		return nil, notIndex(dir, fmt.Sprintf("it cannot be read (%s); %s", firstLine(err), rebuild(dir)))
	}
	return newIndex(b, dir, opt)
}

func newIndex(b bleve.Index, dir string, opt Options) (*Index, error) {
	prep, err := newPreparer(b.Mapping())
	if err != nil {
		_ = b.Close()
		return nil, notIndex(dir, fmt.Sprintf("%s; %s", err, rebuild(dir)))
	}
	if v, err := b.GetInternal([]byte(docsKey)); err != nil || string(v) == "store" && opt.Docs == nil {
		_ = b.Close()
		if err != nil {
			return nil, fmt.Errorf("open index %s: %w", dir, err)
		}
		return nil, fmt.Errorf("open index %s: its posts are in the store of its data directory: open it with the store", dir)
	}
	return &Index{b: b, prep: prep, docs: opt.Docs, dir: dir, batch: opt.BatchSize}, nil
}

// firstLine keeps the first line of an error: some of Bleve's go on with
// the whole mapping.
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func notIndex(dir, why string) error {
	return fmt.Errorf("open index %s: %w: %s", dir, ErrNotIndex, why)
}

// rebuild says how to get a readable index back: the store holds every post and its
// decision, and the index lives in the data directory's "index".
func rebuild(dir string) string {
	return "rebuild it from the store with: kizuki reindex --data-dir " + filepath.Dir(filepath.Clean(dir))
}

// verify checks, before the index is opened for writing, that it is whole
// and Kizuki's. Scorch, when the latest snapshot does not load (a damaged
// segment), quietly falls back to an older one, possibly empty, and then
// deletes the segment files the older one does not use: Open would succeed
// having lost docs. So the index is first opened read-only, which deletes
// nothing, and the latest snapshot is loaded explicitly.
func verify(dir string, cfg map[string]any, lockWait time.Duration) error {
	err := checkRoot(dir, lockWait)
	var b bleve.Index
	if err == nil {
		ro := maps.Clone(cfg)
		ro["read_only"] = true
		b, err = safeOpen(dir, ro)
	}
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return fmt.Errorf("open index %s: another process has it open (waited %s); stop it or use another directory", dir, lockWait)
		}
		return notIndex(dir, fmt.Sprintf("it cannot be read (%s); it is damaged or not a Kizuki index: %s", firstLine(err), rebuild(dir)))
	}
	defer b.Close()

	v, err := b.GetInternal([]byte(versionKey))
	switch {
	case err != nil:
		return notIndex(dir, fmt.Sprintf("it cannot be read (%s); %s", firstLine(err), rebuild(dir)))
	case v == nil:
		return notIndex(dir, "it is a Bleve index that Kizuki did not write (no version marker), or one damaged beyond reading; use another directory, or "+rebuild(dir))
	case string(v) != indexVersion:
		return notIndex(dir, fmt.Sprintf("it is in index format %q and this Kizuki reads format %q; %s", v, indexVersion, rebuild(dir)))
	}

	adv, err := b.Advanced()
	if err != nil {
		return notIndex(dir, firstLine(err))
	}
	s, ok := adv.(*scorch.Scorch)
	if !ok {
		return notIndex(dir, fmt.Sprintf("it is a Bleve index of type %T, not scorch; use another directory", adv))
	}
	epochs, err := s.RootBoltSnapshotEpochs()
	if err == nil && len(epochs) > 0 {
		err = loadSnapshot(s, epochs[0]) // the latest
	}
	if err != nil {
		return notIndex(dir, fmt.Sprintf("its latest state cannot be read (%s); it is damaged: %s", firstLine(err), rebuild(dir)))
	}
	return nil
}

func loadSnapshot(s *scorch.Scorch, epoch uint64) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("snapshot %d: %v", epoch, r)
		}
	}()
	snap, err := s.LoadSnapshot(epoch)
	if err != nil {
		return err
	}
	return snap.DecRef()
}

// checkRoot checks that scorch's root.bolt, which lists the segments,
// is whole, before Bleve opens it: bbolt reads pages past the end of a
// truncated file through mmap, which panics or, worse, faults (SIGBUS) and
// kills the process. Only the header pages are read here, through a
// read-only open that also waits for another process holding the index.
func checkRoot(dir string, lockWait time.Duration) error {
	path := filepath.Join(dir, "store", "root.bolt")
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("no store/root.bolt, so not a scorch index: %w", err)
	}
	if fi.Size() < 2*int64(os.Getpagesize()) {
		return fmt.Errorf("store/root.bolt is truncated (%d bytes)", fi.Size())
	}
	var db *bolt.DB
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("store/root.bolt: %v", r)
			}
		}()
		db, err = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockWait})
	}()
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		if tx.Size() > fi.Size() {
			return fmt.Errorf("store/root.bolt is truncated (%d of %d bytes)", fi.Size(), tx.Size())
		}
		return nil
	})
}

// safeOpen opens a Bleve index, turning a panic on a damaged file into an
// error.
func safeOpen(dir string, cfg map[string]any) (b bleve.Index, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("bleve: %v", r)
		}
	}()
	return bleve.OpenUsing(dir, cfg)
}

func create(dir string, cfg map[string]any, opt Options) (*Index, error) {
	b, err := bleve.NewUsing(dir, newMapping(), scorch.Name, scorch.Name, cfg)
	if err != nil {
		return nil, fmt.Errorf("create index %s: %w", dir, err)
	}
	if err := b.SetInternal([]byte(versionKey), []byte(indexVersion)); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("create index %s: %w", dir, err)
	}
	if opt.Docs != nil {
		if err := b.SetInternal([]byte(docsKey), []byte("store")); err != nil {
			_ = b.Close()
			return nil, fmt.Errorf("create index %s: %w", dir, err)
		}
	}
	return newIndex(b, dir, opt)
}

// Field names of the index, as queries write them.
const (
	fText           = "text"
	fContext        = "context"
	fBrand          = "brand"
	fCategory       = "category"
	fPlatform       = "platform"
	fAuthor         = "author"
	fLang           = "lang"
	fID             = "id"
	fTagged         = "tagged"
	fInConversation = "in_conversation"
	fAlert          = "alert"
	fScore          = "score"
	fFollowers      = "followers"
	fCreatedAt      = "created_at"
	fDoc            = "doc" // the whole Doc as JSON: stored, not indexed
	fSortTime       = "ts"  // created_at as one sortable term, for "newest"
	// fFields holds the terms of every keyword and boolean field as
	// "name=value" (fieldTerm), and id is Bleve's own _id: Bleve's cost per
	// field and document (a term map, a dictionary per segment) was a large
	// part of indexing a post, eight fields of one term each. Queries on
	// those fields are translated (physical).
	fFields = "fields"
	fDocID  = "_id"
)

type fieldKind int

const (
	kindText    fieldKind = iota // kizuki analyzer
	kindKeyword                  // one lower-cased term
	kindExact                    // one term as written
	kindBool
	kindNumber
	kindDate
)

// fields lists the searchable fields in the order error messages give them.
var fields = []struct {
	name string
	kind fieldKind
}{
	{fText, kindText}, {fContext, kindText},
	{fBrand, kindKeyword}, {fCategory, kindKeyword}, {fPlatform, kindKeyword},
	{fAuthor, kindKeyword}, {fLang, kindKeyword}, {fID, kindExact},
	{fTagged, kindBool}, {fInConversation, kindBool}, {fAlert, kindBool},
	{fScore, kindNumber}, {fFollowers, kindNumber}, {fCreatedAt, kindDate},
}

func fieldKindOf(name string) (fieldKind, bool) {
	for _, f := range fields {
		if f.name == name {
			return f.kind, true
		}
	}
	return 0, false
}

// newMapping builds the index mapping. Only the doc field is stored: it
// holds the whole Doc (text and context included), which results and
// highlights are made from; storing each field again would double the
// stored bytes. Unfielded query terms are rewritten to text OR context (see
// rewrite), so there is no _all field.
//
// The keyword and boolean fields are one field, fFields, and id is Bleve's
// _id.
func newMapping() *mapping.IndexMappingImpl {
	text := func() *mapping.FieldMapping {
		f := mapping.NewTextFieldMapping()
		f.Analyzer = AnalyzerName
		f.Store = false
		f.IncludeTermVectors = true // phrase queries and highlighting need them
		f.IncludeInAll = false
		f.DocValues = false
		return f
	}
	keyword := func(analyzer string) *mapping.FieldMapping {
		f := mapping.NewKeywordFieldMapping()
		f.Analyzer = analyzer
		f.Store = false
		f.IncludeTermVectors = false
		f.IncludeInAll = false
		f.DocValues = false
		return f
	}
	// Numbers and dates are integers whose terms rangeQuery and dateQuery
	// search (ranges.go); created_at is in seconds, and sorting by date
	// uses ts, one term to the nanosecond.
	integer := func() *mapping.FieldMapping { return keyword(RangeAnalyzerName) }
	sortTime := keyword("keyword")
	sortTime.DocValues = true
	stored := mapping.NewTextFieldMapping()
	stored.Index, stored.IncludeTermVectors, stored.IncludeInAll, stored.DocValues = false, false, false, false

	dm := mapping.NewDocumentStaticMapping()
	dm.AddFieldMappingsAt(fText, text())
	dm.AddFieldMappingsAt(fContext, text())
	dm.AddFieldMappingsAt(fFields, keyword(FieldsAnalyzerName))
	dm.AddFieldMappingsAt(fScore, integer())
	dm.AddFieldMappingsAt(fFollowers, integer())
	dm.AddFieldMappingsAt(fCreatedAt, integer())
	dm.AddFieldMappingsAt(fDoc, stored)
	dm.AddFieldMappingsAt(fSortTime, sortTime)
	dm.AddSubDocumentMapping("_all", mapping.NewDocumentDisabledMapping())

	m := mapping.NewIndexMapping()
	m.DefaultMapping = dm
	m.DefaultAnalyzer = AnalyzerName
	m.DefaultField = fText
	m.IndexDynamic, m.StoreDynamic, m.DocValuesDynamic = false, false, false
	return m
}

// record is what Bleve indexes for a Doc: preparer.document makes its
// fields; the json tags name them as the mapping does.
type record struct {
	ID        string   `json:"-"`      // Bleve's _id
	Fields    string   `json:"fields"` // fieldTerms
	Text      string   `json:"text"`
	Context   []string `json:"context"`
	Score     string   `json:"score"`      // decimal
	Followers string   `json:"followers"`  // decimal
	CreatedAt string   `json:"created_at"` // Unix seconds, decimal
	SortTime  string   `json:"ts"`
	Doc       string   `json:"doc"`

	shared *japanese.Analysis // Doc.Analysis
}

// fieldTerms returns the terms of d's keyword and boolean fields, separated
// by fieldsSep, for the fields analyzer to split.
func fieldTerms(d *Doc) string {
	var b strings.Builder
	for _, f := range []struct{ name, v string }{
		{fPlatform, d.Platform}, {fBrand, d.Brand}, {fCategory, d.Category},
		{fAuthor, d.AuthorHandle}, {fLang, d.Lang},
	} {
		b.WriteString(fieldTerm(f.name, lowerKeyword(f.v)))
		b.WriteByte(fieldsSep)
	}
	for _, f := range []struct {
		name string
		v    bool
	}{{fTagged, d.Tagged}, {fInConversation, d.InConversation}, {fAlert, d.Alert}} {
		b.WriteString(fieldTerm(f.name, boolTerm(f.v)))
		b.WriteByte(fieldsSep)
	}
	return strings.TrimSuffix(b.String(), string(rune(fieldsSep)))
}

// sortTime encodes t as a fixed-width string whose order is the order of
// time: nanoseconds since 1970 with the sign bit flipped, in hex.
func sortTime(t time.Time) string {
	return fmt.Sprintf("%016x", uint64(t.UnixNano())^(1<<63))
}

// sanitize makes d's texts valid UTF-8. Offsets in highlights are byte
// offsets into the text indexed, so the text shown must be the same bytes:
// JSON would otherwise rewrite invalid UTF-8 on its own terms. The caller's
// Context stays as it was.
func sanitize(d *Doc) {
	d.Text = strings.ToValidUTF8(d.Text, "\uFFFD")
	d.Context = append([]ContextPost(nil), d.Context...)
	for i := range d.Context {
		d.Context[i].Text = strings.ToValidUTF8(d.Context[i].Text, "\uFFFD")
	}
}

// toRecord makes the record of d, with d as JSON in it when store.
func toRecord(d Doc, store bool) (record, error) {
	if d.ID == "" {
		return record{}, errors.New("doc without an id")
	}
	if d.CreatedAt.Before(document.MinTimeRepresentable) || d.CreatedAt.After(document.MaxTimeRepresentable) {
		return record{}, fmt.Errorf("doc %s: created_at %s is not a date between 1678 and 2262", d.ID, d.CreatedAt.Format(time.RFC3339))
	}
	sanitize(&d)
	ctx := make([]string, len(d.Context))
	for i := range d.Context {
		ctx[i] = d.Context[i].Text
	}
	var js []byte
	if store {
		var err error
		if js, err = json.Marshal(d); err != nil {
			return record{}, fmt.Errorf("doc %s: %w", d.ID, err)
		}
	}
	return record{
		ID:        d.ID,
		Fields:    fieldTerms(&d),
		Text:      d.Text,
		Context:   ctx,
		Score:     strconv.Itoa(d.Score),
		Followers: strconv.Itoa(d.Followers),
		CreatedAt: strconv.FormatInt(d.CreatedAt.Unix(), 10),
		SortTime:  sortTime(d.CreatedAt),
		Doc:       string(js),
		shared:    d.Analysis,
	}, nil
}

// Index adds docs, replacing any doc of the same ID, in batches of
// Options.BatchSize, of which two are written at once: while Bleve builds
// one batch's segment, which it does on the calling goroutine, it analyzes
// the other's docs, so both cores work. When Index returns nil, every doc
// is on disk. On error, the batches written before it are kept, and
// indexing the same docs again is safe. A doc without an ID or with an
// unrepresentable date fails the call before anything is written. When
// docs holds an ID more than once, the last one is indexed.
func (ix *Index) Index(ctx context.Context, docs []Doc) error {
	recs := make([]record, 0, len(docs))
	at := make(map[string]int, len(docs))
	for _, d := range docs {
		r, err := toRecord(d, ix.docs == nil)
		if err != nil {
			return fmt.Errorf("index: %w", err)
		}
		// Two batches in flight must not share an ID: Bleve would keep both.
		if i, dup := at[r.ID]; dup {
			recs[i] = r
			continue
		}
		at[r.ID] = len(recs)
		recs = append(recs, r)
	}
	batches := slices.Collect(slices.Chunk(recs, ix.batch))
	var (
		mu       sync.Mutex
		next     int
		firstErr error
	)
	// take returns the next batch to write; nil when none is left or one
	// failed.
	take := func() []record {
		mu.Lock()
		defer mu.Unlock()
		if firstErr != nil || next == len(batches) {
			return nil
		}
		next++
		return batches[next-1]
	}
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	var wg sync.WaitGroup
	for range min(parallelBatches, len(batches)) {
		wg.Go(func() {
			for b := take(); b != nil; b = take() {
				err := ctx.Err()
				if err == nil {
					err = ix.write(b)
				}
				if err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// write indexes one batch; it is on disk when write returns.
func (ix *Index) write(recs []record) error {
	b := ix.b.NewBatch()
	for i := range recs {
		if err := b.IndexAdvanced(ix.prep.document(&recs[i], recs[i].shared)); err != nil {
			return fmt.Errorf("index %s: %w", recs[i].ID, err)
		}
	}
	if err := ix.b.Batch(b); err != nil {
		return fmt.Errorf("index batch of %d: %w", len(recs), err)
	}
	return nil
}

// DeleteBefore deletes the docs created before t and returns how many it
// deleted. It works in batches; on error the batches before it stay deleted.
func (ix *Index) DeleteBefore(ctx context.Context, t time.Time) (int, error) {
	q, err := dateRange(time.Time{}, t, nil, nil, 1)
	if err != nil {
		return 0, fmt.Errorf("delete before %s: %w", t.Format(time.RFC3339), err)
	}
	deleted := 0
	for {
		req := bleve.NewSearchRequestOptions(q, ix.batch, 0, false)
		req.Score = "none"
		res, err := ix.b.SearchInContext(ctx, req)
		if err != nil {
			return deleted, fmt.Errorf("delete before %s: %w", t.Format(time.RFC3339), err)
		}
		if len(res.Hits) == 0 {
			return deleted, nil
		}
		b := ix.b.NewBatch()
		for _, h := range res.Hits {
			b.Delete(h.ID)
		}
		if err := ix.b.Batch(b); err != nil {
			return deleted, fmt.Errorf("delete before %s: %w", t.Format(time.RFC3339), err)
		}
		deleted += len(res.Hits)
	}
}

// Count returns the number of docs in the index.
func (ix *Index) Count() (uint64, error) {
	n, err := ix.b.DocCount()
	if err != nil {
		return 0, fmt.Errorf("count index %s: %w", ix.dir, err)
	}
	return n, nil
}

// Close closes the index; everything indexed before is on disk. Closing
// twice is harmless (Bleve itself panics on it).
func (ix *Index) Close() error {
	ix.closeOnce.Do(func() {
		if err := ix.b.Close(); err != nil {
			ix.closeErr = fmt.Errorf("close index %s: %w", ix.dir, err)
		}
	})
	return ix.closeErr
}
