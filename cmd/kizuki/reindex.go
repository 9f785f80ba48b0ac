package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kizuki-dev/kizuki/daemon"
	"github.com/kizuki-dev/kizuki/index"
	"github.com/kizuki-dev/kizuki/store"
)

// reindexBatch is how many posts go to the index at once.
const reindexBatch = 2000

// cmdReindex rebuilds a data directory's index from its store: after an upgrade that
// changed the index format, or when the index was damaged or deleted. The store holds
// every post with its decision, so nothing is decided again. The old index is moved
// aside first and deleted only when the new one is whole.
func cmdReindex(ctx context.Context, env *env, args []string) error {
	fs := flag.NewFlagSet("reindex", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	dir := fs.String("data-dir", defaultDataDir, "data directory whose index to rebuild from its store")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: reindex takes flags only, not %q", errUsage, fs.Arg(0))
	}
	st, err := store.Open(filepath.Join(*dir, "kizuki.db"), store.Options{})
	if err != nil {
		return fmt.Errorf("%w (a running daemon holds it: stop it for the rebuild)", err)
	}
	defer st.Close()
	total, err := st.CountPosts()
	if err != nil {
		return err
	}
	path := filepath.Join(*dir, "index")
	old := ""
	if _, err := os.Stat(path); err == nil {
		old = fmt.Sprintf("%s.old-%d", path, time.Now().Unix())
		if err := os.Rename(path, old); err != nil {
			return fmt.Errorf("move the old index aside: %w", err)
		}
	}
	ix, err := index.Open(path, index.Options{Docs: daemon.StoreDocs{Store: st}})
	if err != nil {
		return err
	}
	start, last := time.Now(), time.Now()
	done := 0
	batch := make([]index.Doc, 0, reindexBatch)
	flush := func() error {
		if err := ix.Index(ctx, batch); err != nil {
			return err
		}
		done += len(batch)
		batch = batch[:0]
		if time.Since(last) > 2*time.Second {
			last = time.Now()
			fmt.Fprintf(env.stderr, "reindex: %d of %d posts\n", done, total)
		}
		return nil
	}
	err = st.EachPost(ctx, func(r store.Recorded) error {
		batch = append(batch, daemon.IndexRecorded(&r))
		if len(batch) == reindexBatch {
			return flush()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	if cerr := ix.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if old != "" {
			return fmt.Errorf("reindex: %w (the old index is kept in %s)", err, old)
		}
		return fmt.Errorf("reindex: %w", err)
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("remove the old index %s: %w", old, err)
		}
	}
	fmt.Fprintf(env.stdout, "reindex: %d posts indexed from the store in %s\n", done, time.Since(start).Round(time.Millisecond))
	return nil
}
