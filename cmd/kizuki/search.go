package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/alerting"
	"github.com/kizuki-dev/kizuki/index"
	"github.com/kizuki-dev/kizuki/post"
)

func cmdSearch(ctx context.Context, env *env, args []string) error {
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	dir := fs.String("data-dir", defaultDataDir, "data directory written by replay --data-dir or the daemon")
	since := fs.String("since", "", "only posts newer than this: a duration like 7d, 12h, 30m, or a date 2026-11-20")
	until := fs.String("until", "", "only posts older than this (same forms as --since)")
	brand := fs.String("brand", "", "only this brand")
	category := fs.String("category", "", "only this category: actionable, risky, positive or none")
	platform := fs.String("platform", "", "only this platform")
	limit := fs.Int("limit", 20, "how many results (at most 1000)")
	sortBy := fs.String("sort", "newest", "newest or best")
	format := fs.String("format", "table", "table (for people) or jsonl (posts, as replay reads them)")
	// Flags may follow the query.
	queryParts, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *format != "table" && *format != "jsonl" {
		return fmt.Errorf("%w: --format is table or jsonl, not %q", errUsage, *format)
	}
	if *sortBy != "newest" && *sortBy != "best" {
		return fmt.Errorf("%w: --sort is newest or best, not %q", errUsage, *sortBy)
	}
	if *limit < 1 || *limit > 1000 {
		return fmt.Errorf("%w: --limit is 1 to 1000", errUsage)
	}
	now := time.Now()
	req := index.Request{Query: strings.Join(queryParts, " "), Brand: *brand, Category: *category, Platform: *platform,
		Limit: *limit, Sort: *sortBy, Highlight: *format == "table"}
	if req.Since, err = parseWhen(*since, now); err != nil {
		return fmt.Errorf("%w: --since: %v", errUsage, err)
	}
	if req.Until, err = parseWhen(*until, now); err != nil {
		return fmt.Errorf("%w: --until: %v", errUsage, err)
	}
	color := isTerminal(env.stdout)
	if color {
		req.HighlightStart, req.HighlightEnd = "\x1b[1;33m", "\x1b[0m"
	}
	dd, closeData, err := env.data(*dir, true)
	if err != nil {
		return err
	}
	defer closeData()
	res, err := dd.ix.Search(ctx, req)
	var qe *index.QueryError
	if errors.As(err, &qe) {
		return qe // its message says what is wrong and how to write it
	}
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	if *format == "jsonl" {
		w := post.NewWriter(env.stdout)
		for _, h := range res.Hits {
			rec, ok, err := dd.st.GetPost(ctx, h.Doc.ID)
			if err != nil {
				return fmt.Errorf("read post %s: %w", h.Doc.ID, err)
			}
			if !ok {
				continue // indexed but not yet recorded: a crash in between; the next replay records it
			}
			if err := w.Write(rec.Post); err != nil {
				return err
			}
		}
		return w.Flush()
	}
	return printHits(env.stdout, res, color)
}

func printHits(w io.Writer, res *index.Result, color bool) error {
	var b strings.Builder
	dim := func(s string) string {
		if color {
			return "\x1b[2m" + s + "\x1b[0m"
		}
		return s
	}
	for _, h := range res.Hits {
		d := h.Doc
		fmt.Fprintf(&b, "%s  %s  %s %d  @%s  %s\n", d.CreatedAt.Format("2006-01-02 15:04"), d.Brand, d.Category, d.Score,
			alerting.Clean(d.AuthorHandle), dim(d.ID))
		ctx := d.Context
		if len(ctx) > 3 {
			fmt.Fprintf(&b, "  %s\n", dim(fmt.Sprintf("┆ … %d earlier posts", len(ctx)-3)))
			ctx = ctx[len(ctx)-3:]
		}
		for _, c := range ctx {
			fmt.Fprintf(&b, "  %s\n", dim("┆ @"+alerting.Clean(c.AuthorHandle)+": "+alerting.Truncate(oneLine(c.Text), 100)))
		}
		text := alerting.Truncate(oneLine(d.Text), 300)
		if fr := h.Fragments["text"]; len(fr) > 0 {
			text = oneLine(strings.Join(fr, " … "))
		}
		fmt.Fprintf(&b, "  │ %s\n", text)
		if fr := h.Fragments["context"]; len(fr) > 0 && len(h.Fragments["text"]) == 0 {
			fmt.Fprintf(&b, "  %s %s\n", dim("matched in the thread:"), oneLine(fr[0]))
		}
		if d.URL != "" {
			fmt.Fprintf(&b, "  → %s\n", alerting.Clean(d.URL))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%d of %d matching posts (%s)\n", len(res.Hits), res.Total, res.Took.Round(time.Millisecond))
	_, err := io.WriteString(w, b.String())
	return err
}

func oneLine(s string) string {
	// Clean keeps line breaks; a result line must not, and highlight
	// markers (escape codes we added) must survive, so clean first.
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// parseWhen reads "7d", "12h", "90m" (ago) or a date/time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return time.Time{}, fmt.Errorf("%q: write days as a whole number, e.g. 7d", s)
		}
		return now.AddDate(0, 0, -days), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q: a duration ago cannot be negative", s)
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: use a duration (7d, 12h, 30m) or a date (2026-11-20, 2026-11-20T09:00)", s)
}

// parseInterspersed parses flags that may come before, between or after the
// positional arguments, which it returns in order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
