// Command searchbench measures query latency (p50/p99) on an existing data
// directory, for BENCHMARKS.md:
//
//	go run ./internal/searchbench -data-dir /tmp/d100k -n 200
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/kizuki-dev/kizuki/daemon"
	"github.com/kizuki-dev/kizuki/index"
	"github.com/kizuki-dev/kizuki/store"
)

func main() {
	dir := flag.String("data-dir", "", "data directory written by replay --data-dir")
	n := flag.Int("n", 200, "runs of each query kind")
	flag.Parse()
	if err := run(*dir, *n); err != nil {
		fmt.Fprintln(os.Stderr, "searchbench:", err)
		os.Exit(1)
	}
}

func run(dir string, n int) error {
	st, err := store.Open(filepath.Join(dir, "kizuki.db"), store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer st.Close()
	ix, err := index.Open(filepath.Join(dir, "index"), index.Options{Docs: daemon.StoreDocs{Store: st}})
	if err != nil {
		return err
	}
	defer ix.Close()
	count, err := ix.Count()
	if err != nil {
		return err
	}
	fmt.Printf("index: %d docs\n", count)
	ctx := context.Background()
	// Terms rotate so that caches do not answer every run.
	terms := []string{"返金", "圏外", "refund", "signal", "ログイン", "charged", "サポート", "app", "解約", "staff"}
	phrases := []string{`"no signal"`, `"ログインできない"`, `"customer service"`, `"返金して"`, `"data leak"`}
	kinds := []struct {
		name string
		req  func(i int) index.Request
	}{
		{"term", func(i int) index.Request { return index.Request{Query: terms[i%len(terms)]} }},
		{"phrase", func(i int) index.Request { return index.Request{Query: phrases[i%len(phrases)]} }},
		{"filtered (brand + category + since mid-range)", func(i int) index.Request {
			return index.Request{Query: terms[i%len(terms)], Brand: "Kumo Mobile", Category: "actionable",
				Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(count) * time.Second)}
		}},
		{"term, best first, highlighted", func(i int) index.Request {
			return index.Request{Query: terms[i%len(terms)], Sort: "best", Highlight: true}
		}},
	}
	ix.Search(ctx, index.Request{Query: "warmup"}) // loads the analyzer's dictionary
	for _, k := range kinds {
		lat := make([]time.Duration, 0, n)
		var hits uint64
		for i := range n {
			start := time.Now()
			res, err := ix.Search(ctx, k.req(i))
			if err != nil {
				return fmt.Errorf("%s: %w", k.name, err)
			}
			lat = append(lat, time.Since(start))
			hits += res.Total
		}
		slices.Sort(lat)
		fmt.Printf("%-48s p50 %8s  p99 %8s  mean hits %d\n", k.name, lat[len(lat)/2].Round(10*time.Microsecond),
			lat[len(lat)*99/100].Round(10*time.Microsecond), hits/uint64(n))
	}
	return nil
}
