package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kizuki-dev/kizuki/daemon"
	"github.com/kizuki-dev/kizuki/index"
	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/store"
)

// defaultDataDir is where the store and index live unless --data-dir says.
const defaultDataDir = "kizuki-data"

// dataDir is the store and the index of one data directory.
type dataDir struct {
	st *store.Store
	ix *index.Index
}

func openDataDir(dir string, readOnly bool) (*dataDir, error) {
	if readOnly {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("data directory %s: %w (record posts first: kizuki replay --data-dir %s …)", dir, err, dir)
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil { // personal data: owner only
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	st, err := store.Open(filepath.Join(dir, "kizuki.db"), store.Options{ReadOnly: readOnly})
	if err != nil {
		return nil, err
	}
	ix, err := index.Open(filepath.Join(dir, "index"), index.Options{Docs: daemon.StoreDocs{Store: st}})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &dataDir{st: st, ix: ix}, nil
}

func (d *dataDir) Close() error {
	return errors.Join(d.ix.Close(), d.st.Close())
}

// recorder records batches of posts with their decisions into a data
// directory, each post not seen before exactly once. The index comes first
// and is idempotent by post id; the store marks the posts seen after. A
// crash between the two re-indexes the same documents on the next run,
// which replaces them: every post ends up exactly once in both.
//
// A batch is stored while the next one is indexed, so that the store's
// transaction and fsync do not hold up indexing. The posts of the batch
// being stored are not yet seen by the store; they are skipped by id, as
// they would be once stored.
type recorder struct {
	d        *dataDir
	storing  chan storeResult // the batch being stored; nil if none
	inFlight map[string]bool  // its post ids
	fresh    int              // posts recorded by the batches stored so far
}

type storeResult struct {
	fresh int
	err   error
}

func (d *dataDir) recorder() *recorder { return &recorder{d: d} }

// add indexes the posts of a batch not seen before and starts storing
// them, after the batch before is stored. An error of either batch stops
// the recording; call finish all the same.
func (r *recorder) add(ctx context.Context, posts []post.Post, decs []matcher.Decision) error {
	ids := make([]string, len(posts))
	for i := range posts {
		ids[i] = posts[i].ID
	}
	seen, err := r.d.st.Seen(ctx, ids)
	if err != nil {
		return errors.Join(fmt.Errorf("check seen posts: %w", err), r.wait())
	}
	var docs []index.Doc
	var recs []store.Recorded
	inBatch := map[string]bool{}
	for i := range posts {
		id := posts[i].ID
		if seen[i] || inBatch[id] || r.inFlight[id] {
			continue
		}
		inBatch[id] = true
		docs = append(docs, daemon.IndexDoc(&posts[i], &decs[i]))
		recs = append(recs, store.Recorded{Post: posts[i], Decision: daemon.StoreDecision(&decs[i])})
	}
	if len(docs) > 0 {
		if err := r.d.ix.Index(ctx, docs); err != nil {
			return errors.Join(fmt.Errorf("index posts: %w", err), r.wait())
		}
	}
	if err := r.wait(); err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	done := make(chan storeResult, 1)
	go func() {
		flags, err := r.d.st.RecordPosts(ctx, recs)
		if err != nil {
			done <- storeResult{err: fmt.Errorf("record posts: %w", err)}
			return
		}
		n := 0
		for _, f := range flags {
			if f {
				n++
			}
		}
		done <- storeResult{fresh: n}
	}()
	r.storing, r.inFlight = done, inBatch
	return nil
}

// wait waits for the batch being stored.
func (r *recorder) wait() error {
	if r.storing == nil {
		return nil
	}
	res := <-r.storing
	r.storing, r.inFlight = nil, nil
	r.fresh += res.fresh
	return res.err
}

// finish waits for the last batch to be stored and returns how many posts
// were recorded that had not been seen before.
func (r *recorder) finish() (int, error) {
	err := r.wait()
	return r.fresh, err
}
