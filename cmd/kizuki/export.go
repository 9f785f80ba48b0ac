package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/kizuki-dev/kizuki/index"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/store"
)

// exportColumns are the CSV columns, in order: what a marketer needs to
// thank or share a post.
var exportColumns = []string{"created_at", "platform", "brand", "category", "score", "author_handle", "author_name",
	"followers", "likes", "reposts", "replies", "quotes", "url", "text"}

func cmdExport(ctx context.Context, env *env, args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	dir := fs.String("data-dir", defaultDataDir, "data directory written by replay --data-dir or the daemon")
	category := fs.String("category", "positive", "actionable, risky, positive or none")
	brand := fs.String("brand", "", "only this brand")
	since := fs.String("since", "7d", "only posts newer than this: 7d, 12h, or a date")
	format := fs.String("format", "csv", "csv or jsonl (posts as replay reads them)")
	bom := fs.Bool("bom", false, "start the CSV with a UTF-8 byte order mark, so that Excel reads Japanese correctly")
	limit := fs.Int("limit", 1000, "at most this many posts (1 to 1000), newest first")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *format != "csv" && *format != "jsonl" {
		return fmt.Errorf("%w: --format is csv or jsonl, not %q", errUsage, *format)
	}
	if *limit < 1 || *limit > 1000 {
		return fmt.Errorf("%w: --limit is 1 to 1000", errUsage)
	}
	from, err := parseWhen(*since, time.Now())
	if err != nil {
		return fmt.Errorf("%w: --since: %v", errUsage, err)
	}
	dd, closeData, err := env.data(*dir, true)
	if err != nil {
		return err
	}
	defer closeData()
	res, err := dd.ix.Search(ctx, index.Request{Category: *category, Brand: *brand, Since: from, Limit: *limit})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	var recs []store.Recorded
	for _, h := range res.Hits {
		rec, ok, err := dd.st.GetPost(ctx, h.Doc.ID)
		if err != nil {
			return fmt.Errorf("read post %s: %w", h.Doc.ID, err)
		}
		if ok {
			recs = append(recs, rec)
		}
	}
	if *format == "jsonl" {
		w := post.NewWriter(env.stdout)
		for _, r := range recs {
			if err := w.Write(r.Post); err != nil {
				return err
			}
		}
		return w.Flush()
	}
	if err := writeCSV(env.stdout, recs, *bom); err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "exported %d posts\n", len(recs))
	return nil
}

// writeCSV writes RFC 4180 CSV; encoding/csv quotes commas, quotes and line
// breaks in post text.
func writeCSV(w io.Writer, recs []store.Recorded, bom bool) error {
	if bom {
		if _, err := io.WriteString(w, "\uFEFF"); err != nil {
			return err
		}
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(exportColumns); err != nil {
		return err
	}
	for _, r := range recs {
		p, d := r.Post, r.Decision
		row := []string{p.CreatedAt.UTC().Format(time.RFC3339), p.Platform, d.Brand, d.Category, strconv.Itoa(d.Score),
			p.Author.Handle, p.Author.Name, strconv.Itoa(p.Author.Followers), strconv.Itoa(p.Metrics.Likes),
			strconv.Itoa(p.Metrics.Reposts), strconv.Itoa(p.Metrics.Replies), strconv.Itoa(p.Metrics.Quotes), p.URL, csvSafe(p.Text)}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from running post text as a formula
// (CSV injection): a cell that starts with = + - @ gets a leading quote.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}
