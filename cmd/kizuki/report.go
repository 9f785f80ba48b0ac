package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/kizuki-dev/kizuki/report"
	"github.com/kizuki-dev/kizuki/store"
)

// cmdReport prints the KPIs of the alerts of a period: `kizuki report [--since 30d]
// [--brand B] [--format table|csv|json]`. It reads the store only, read-only, so it runs
// next to a daemon that holds the index.
func cmdReport(ctx context.Context, env *env, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	dir := fs.String("data-dir", defaultDataDir, "data directory written by the daemon or replay --data-dir")
	since := fs.String("since", "30d", "alerts newer than this: a duration like 30d, 12h, or a date 2026-11-01")
	until := fs.String("until", "", "alerts older than this (same forms as --since); default now")
	brand := fs.String("brand", "", "only this brand")
	format := fs.String("format", "table", "table (for people), csv (one KPI per row) or json")
	tz := fs.String("timezone", "Local", `time zone of days, e.g. Asia/Tokyo ("Local": this machine's)`)
	questions := fs.Int("questions", 10, "how many recurring questions to list")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: report takes no arguments, only flags (got %q)", errUsage, fs.Arg(0))
	}
	if *format != "table" && *format != "csv" && *format != "json" {
		return fmt.Errorf("%w: --format is table, csv or json, not %q", errUsage, *format)
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return fmt.Errorf("%w: --timezone: unknown time zone %q (use an IANA name like Asia/Tokyo)", errUsage, *tz)
	}
	now := time.Now().In(loc)
	opt := report.Options{Brand: *brand, Location: loc, Questions: max(*questions, 0)}
	if opt.Since, err = parseWhenIn(*since, now, loc); err != nil {
		return fmt.Errorf("%w: --since: %v", errUsage, err)
	}
	opt.Until = now
	if *until != "" {
		if opt.Until, err = parseWhenIn(*until, now, loc); err != nil {
			return fmt.Errorf("%w: --until: %v", errUsage, err)
		}
	}
	if !opt.Until.After(opt.Since) {
		return fmt.Errorf("%w: --until must be after --since", errUsage)
	}
	st, closeStore, err := env.storeOf(*dir, func() (*store.Store, error) { return openStoreReadOnly(*dir) })
	if err != nil {
		return err
	}
	defer closeStore()
	r, err := report.Compute(ctx, st, opt)
	if err != nil {
		return err
	}
	switch *format {
	case "csv":
		return r.WriteCSV(env.stdout)
	case "json":
		return r.WriteJSON(env.stdout)
	}
	return r.WriteTable(env.stdout)
}

// parseWhenIn is parseWhen with dates read in loc, the report's time zone.
func parseWhenIn(s string, now time.Time, loc *time.Location) (time.Time, error) {
	t, err := parseWhen(s, now)
	if err != nil {
		return t, err
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02"} {
		if d, err := time.ParseInLocation(layout, s, loc); err == nil {
			return d, nil
		}
	}
	return t, nil
}

// openStoreReadOnly opens the store of a data directory for reading, without the index.
func openStoreReadOnly(dir string) (*store.Store, error) {
	st, err := store.Open(filepath.Join(dir, "kizuki.db"), store.Options{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("%w (record posts first: kizuki replay --data-dir %s …, or run the daemon)", err, dir)
	}
	return st, nil
}
