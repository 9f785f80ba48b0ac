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
	ix, err := index.Open(filepath.Join(dir, "index"), index.Options{})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &dataDir{st: st, ix: ix}, nil
}

func (d *dataDir) Close() error {
	return errors.Join(d.ix.Close(), d.st.Close())
}

// record indexes and stores the posts not seen before. The index comes
// first and is idempotent by post id; the store marks the posts seen last.
// A crash between the two re-indexes the same documents on the next run,
// which replaces them: every post ends up exactly once in both.
func (d *dataDir) record(ctx context.Context, posts []post.Post, decs []matcher.Decision) (fresh int, err error) {
	ids := make([]string, len(posts))
	for i := range posts {
		ids[i] = posts[i].ID
	}
	seen, err := d.st.Seen(ctx, ids)
	if err != nil {
		return 0, fmt.Errorf("check seen posts: %w", err)
	}
	var docs []index.Doc
	var recs []store.Recorded
	inBatch := map[string]bool{}
	for i := range posts {
		if seen[i] || inBatch[posts[i].ID] {
			continue
		}
		inBatch[posts[i].ID] = true
		docs = append(docs, daemon.IndexDoc(&posts[i], &decs[i]))
		recs = append(recs, store.Recorded{Post: posts[i], Decision: daemon.StoreDecision(&decs[i])})
	}
	if len(docs) == 0 {
		return 0, nil
	}
	if err := d.ix.Index(ctx, docs); err != nil {
		return 0, fmt.Errorf("index posts: %w", err)
	}
	freshFlags, err := d.st.RecordPosts(ctx, recs)
	if err != nil {
		return 0, fmt.Errorf("record posts: %w", err)
	}
	for _, f := range freshFlags {
		if f {
			fresh++
		}
	}
	return fresh, nil
}
