package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kizuki-dev/kizuki/alerting"
	"github.com/kizuki-dev/kizuki/config"
	"github.com/kizuki-dev/kizuki/store"
)

const silenceUsage = `kizuki silence add --author A | --brand B | --term T | --rule R ... --for 7d --reason WHY [--by NAME]
kizuki silence list [--all]
kizuki silence expire ID... [--by NAME]
(each with --data-dir DIR)`

// cmdSilence adds, lists and expires silences: alerts muted for a while, whose posts are
// still recorded and searchable.
func cmdSilence(ctx context.Context, env *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: silence needs add, list or expire:\n%s", errUsage, silenceUsage)
	}
	switch args[0] {
	case "add":
		return silenceAdd(ctx, env, args[1:])
	case "list", "ls":
		return silenceList(ctx, env, args[1:])
	case "expire", "rm":
		return silenceExpire(ctx, env, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(env.stdout, silenceUsage)
		return nil
	}
	return fmt.Errorf("%w: silence %q: use add, list or expire:\n%s", errUsage, args[0], silenceUsage)
}

func silenceAdd(ctx context.Context, env *env, args []string) error {
	fs := flag.NewFlagSet("silence add", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	dir := fs.String("data-dir", defaultDataDir, "data directory of the daemon")
	var sil store.Silence
	fs.StringVar(&sil.Author, "author", "", "an author: @handle on any platform, or platform:handle / platform:id (x:yuki_t)")
	fs.StringVar(&sil.Brand, "brand", "", "a brand, as the rule files name it")
	fs.StringVar(&sil.Term, "term", "", "a word or phrase of the post's text")
	fs.StringVar(&sil.Rule, "rule", "", "a rule file (kumo.yaml, or kumo)")
	dur := fs.String("for", "7d", "how long: 7d, 12h, 1d12h")
	by := fs.String("by", os.Getenv("USER"), "who sets it (default: $USER)")
	fs.StringVar(&sil.Comment, "reason", "", "why (required: whoever finds it later needs to know)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: silence add takes flags only, not %q", errUsage, fs.Arg(0))
	}
	if sil.Author == "" && sil.Brand == "" && sil.Term == "" && sil.Rule == "" {
		return fmt.Errorf("%w: silence add needs --author, --brand, --term or --rule", errUsage)
	}
	if strings.TrimSpace(sil.Comment) == "" {
		return fmt.Errorf("%w: silence add needs --reason", errUsage)
	}
	if strings.TrimSpace(*by) == "" {
		return fmt.Errorf("%w: silence add needs --by (who sets it)", errUsage)
	}
	d, err := config.ParseDuration(*dur)
	if err != nil || d <= 0 {
		return fmt.Errorf("%w: --for %q: write a positive duration such as 7d, 12h or 1d12h", errUsage, *dur)
	}
	st, closeStore, err := env.storeOf(*dir, func() (*store.Store, error) { return openSilenceStore(*dir, false) })
	if err != nil {
		return err
	}
	defer closeStore()
	now := time.Now()
	sil.CreatedBy, sil.StartsAt, sil.EndsAt = *by, now, now.Add(d)
	got, created, err := st.AddSilence(ctx, sil)
	if err != nil {
		return err
	}
	if !created {
		fmt.Fprintf(env.stdout, "silence %s already mutes this, now until %s\n", got.ID, silenceTime(got.EndsAt))
		return nil
	}
	fmt.Fprintf(env.stdout, "silence %s: %s until %s\n", got.ID, alerting.Clean(got.Matchers()), silenceTime(got.EndsAt))
	return nil
}

func silenceList(ctx context.Context, env *env, args []string) error {
	fs := flag.NewFlagSet("silence list", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	dir := fs.String("data-dir", defaultDataDir, "data directory of the daemon")
	all := fs.Bool("all", false, "also silences that ended or have not started")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	st, closeStore, err := env.storeOf(*dir, func() (*store.Store, error) { return openSilenceStore(*dir, true) })
	if err != nil {
		return err
	}
	defer closeStore()
	sils, err := st.Silences(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tMATCHES\tUNTIL\tBY\tWHY")
	shown := 0
	for _, s := range sils {
		state := silenceTime(s.EndsAt)
		switch {
		case s.Active(now):
		case !now.Before(s.EndsAt):
			if !*all {
				continue
			}
			state = "ended " + state
			if s.ExpiredBy != "" {
				state = "expired " + silenceTime(s.EndsAt) + " by " + s.ExpiredBy
			}
		default:
			if !*all {
				continue
			}
			state = "from " + silenceTime(s.StartsAt) + " until " + state
		}
		shown++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, silenceCell(s.Matchers()), state, silenceCell(s.CreatedBy), silenceCell(s.Comment))
	}
	if shown == 0 {
		if *all {
			fmt.Fprintln(env.stderr, "no silences")
		} else {
			fmt.Fprintln(env.stderr, "no active silences (--all lists the ended ones)")
		}
		return nil
	}
	return tw.Flush()
}

func silenceExpire(ctx context.Context, env *env, args []string) error {
	fs := flag.NewFlagSet("silence expire", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	dir := fs.String("data-dir", defaultDataDir, "data directory of the daemon")
	by := fs.String("by", os.Getenv("USER"), "who expires it (default: $USER)")
	// Flags may follow the ids.
	ids, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return fmt.Errorf("%w: silence expire needs the id of a silence (kizuki silence list shows them)", errUsage)
	}
	if strings.TrimSpace(*by) == "" {
		return fmt.Errorf("%w: silence expire needs --by (who expires it)", errUsage)
	}
	st, closeStore, err := env.storeOf(*dir, func() (*store.Store, error) { return openSilenceStore(*dir, false) })
	if err != nil {
		return err
	}
	defer closeStore()
	var errs []error
	for _, id := range ids {
		s, err := st.ExpireSilence(ctx, id, *by)
		if errors.Is(err, store.ErrNotFound) {
			errs = append(errs, fmt.Errorf("no silence %q (kizuki silence list --all shows them)", id))
			continue
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "silence %s ended %s: %s\n", s.ID, silenceTime(s.EndsAt), alerting.Clean(s.Matchers()))
	}
	return errors.Join(errs...)
}

// openSilenceStore opens the store of a data directory. A running daemon holds it: the
// command then runs in the daemon (see localapi.go).
func openSilenceStore(dir string, readOnly bool) (*store.Store, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("data directory %s: %w (silences live in the daemon's --data-dir)", dir, err)
	}
	return store.Open(filepath.Join(dir, "kizuki.db"), store.Options{ReadOnly: readOnly})
}

// silenceTime shows a time in the local zone, to the minute.
func silenceTime(t time.Time) string { return t.Local().Format("2006-01-02 15:04 MST") }

// silenceCell is text for one table cell: no control characters, tabs or line breaks.
func silenceCell(s string) string {
	s = strings.Join(strings.Fields(alerting.Clean(s)), " ")
	if s == "" {
		return "-"
	}
	return alerting.Truncate(s, 80)
}
