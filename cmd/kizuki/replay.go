package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/text/width"

	"github.com/kizuki-dev/kizuki/alerting"
	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
)

func cmdReplay(ctx context.Context, env *env, args []string) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	dir := fs.String("rules", "", "directory of rule files (*.yaml)")
	input := fs.String("input", "", "posts as JSON Lines: a file, or - for standard input")
	format := fs.String("format", "jsonl", "output: jsonl (decisions, one per post) or table (for people)")
	skipBad := fs.Bool("skip-bad", false, "skip bad input lines (counted on stderr) instead of stopping")
	noBuiltin := fs.Bool("no-builtin", false, "do not load the built-in signal pack")
	dataDirFlag := fs.String("data-dir", "", "also record posts and decisions into the index and store of this directory, skipping posts seen before")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q (flags go before it? see kizuki replay -h)", errUsage, fs.Arg(0))
	}
	if *dir == "" || *input == "" {
		return fmt.Errorf("%w: replay needs --rules DIR and --input FILE (or - for stdin)", errUsage)
	}
	if *format != "jsonl" && *format != "table" {
		return fmt.Errorf("%w: --format is jsonl or table, not %q", errUsage, *format)
	}
	set, err := loadRules(*dir, *noBuiltin, env)
	if err != nil {
		return err
	}
	m, err := matcher.Compile(set, matcher.Config{})
	if err != nil {
		return err
	}
	in, name := env.stdin, "-"
	if *input != "-" {
		f, err := os.Open(*input)
		if err != nil {
			return fmt.Errorf("open input: %w", err)
		}
		defer f.Close()
		in, name = f, *input
	}
	var out output
	if *format == "table" {
		out = newTable(env.stdout, isTerminal(env.stdout))
	} else {
		out = &jsonlOut{w: post.NewWriter(env.stdout)}
	}
	var dd *dataDir
	if *dataDirFlag != "" {
		if dd, err = openDataDir(*dataDirFlag, false); err != nil {
			return err
		}
		defer func() {
			if cerr := dd.Close(); cerr != nil {
				fmt.Fprintln(env.stderr, "kizuki: close data directory:", cerr)
			}
		}()
	}
	st, err := replay(ctx, m, post.NewReader(in, name), out, *skipBad, newProgress(env.stderr), dd)
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	fmt.Fprintln(env.stderr, st.summary())
	return err
}

type output interface {
	Write(p *post.Post, d *matcher.Decision) error
	Flush() error
}

type jsonlOut struct{ w *post.Writer }

func (o *jsonlOut) Write(_ *post.Post, d *matcher.Decision) error { return o.w.Write(d) }
func (o *jsonlOut) Flush() error                                  { return o.w.Flush() }

// stats counts what a replay did.
type stats struct {
	posts, relevant, alerts, skipped int
	recorded                         int
	dataDir                          bool
	byCat                            map[rules.Category]int
	start                            time.Time
}

func (s *stats) summary() string {
	el := time.Since(s.start)
	rate := float64(s.posts) / max(el.Seconds(), 1e-9)
	msg := fmt.Sprintf("replayed %d posts in %s (%.0f/s): %d relevant, %d alerts (%d risky, %d actionable, %d positive)",
		s.posts, el.Round(time.Millisecond), rate, s.relevant, s.alerts,
		s.byCat[rules.Risky], s.byCat[rules.Actionable], s.byCat[rules.Positive])
	if s.dataDir {
		msg += fmt.Sprintf("; %d recorded, %d seen before", s.recorded, s.posts-s.recorded)
	}
	if s.skipped > 0 {
		msg += fmt.Sprintf(", %d bad lines skipped", s.skipped)
	}
	return msg
}

// replay decides posts in parallel batches and writes decisions in input
// order. A bad line stops the replay unless skipBad. With a data directory,
// recording a batch (index, then store) runs while the next batch is read
// and decided.
func replay(ctx context.Context, m *matcher.Matcher, r *post.Reader, out output, skipBad bool, prog *progress, dd *dataDir) (*stats, error) {
	st := &stats{byCat: map[rules.Category]int{}, start: time.Now(), dataDir: dd != nil}
	batchSize := 512
	if dd != nil {
		batchSize = 2000 // Bleve indexes larger batches faster
	}
	type batch struct {
		posts []post.Post
		decs  []matcher.Decision
	}
	var (
		recordQ   chan batch
		recordErr = make(chan error, 1)
		recorded  = make(chan int, 1)
	)
	if dd != nil {
		// Two batches may wait: deciding goes on while the recorder waits
		// for the disk (Bleve returns from a batch once it is synced).
		recordQ = make(chan batch, 2)
		go func() {
			rec := dd.recorder()
			var err error
			for b := range recordQ {
				if err != nil {
					continue // drain after a failure
				}
				err = rec.add(ctx, b.posts, b.decs)
			}
			n, ferr := rec.finish()
			if err == nil {
				err = ferr
			}
			recorded <- n
			recordErr <- err
		}()
	}
	finish := func(err error) (*stats, error) {
		if recordQ != nil {
			close(recordQ)
			st.recorded = <-recorded
			if rerr := <-recordErr; err == nil {
				err = rerr
			}
		}
		prog.done()
		return st, err
	}
	workers := runtime.GOMAXPROCS(0)
	var readErr error
	for {
		posts := make([]post.Post, 0, batchSize)
		for len(posts) < batchSize {
			p, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			var le *post.LineError
			if errors.As(err, &le) && skipBad {
				st.skipped++
				prog.warn(le.Error())
				continue
			}
			if err != nil {
				readErr = err
				break
			}
			posts = append(posts, p)
		}
		if len(posts) == 0 {
			break
		}
		decs := make([]matcher.Decision, len(posts))
		var wg sync.WaitGroup
		chunk := (len(posts) + workers - 1) / workers
		for w := 0; w < len(posts); w += chunk {
			wg.Add(1)
			go func(lo, hi int) {
				defer wg.Done()
				for i := lo; i < hi; i++ {
					decs[i] = m.Decide(&posts[i])
				}
			}(w, min(w+chunk, len(posts)))
		}
		wg.Wait()
		if recordQ != nil {
			select {
			case recordQ <- batch{posts, decs}:
			case <-ctx.Done():
				return finish(fmt.Errorf("replay interrupted after %d posts: %w", st.posts, ctx.Err()))
			}
		}
		for i := range posts {
			d := &decs[i]
			st.posts++
			if d.Relevant {
				st.relevant++
			}
			if d.Alert {
				st.alerts++
				st.byCat[d.Category]++
			}
			if err := out.Write(&posts[i], d); err != nil {
				return finish(err)
			}
		}
		prog.update(st.posts)
		if readErr != nil || len(posts) < batchSize {
			break
		}
		if err := ctx.Err(); err != nil {
			return finish(fmt.Errorf("replay interrupted after %d posts: %w", st.posts, err))
		}
	}
	return finish(readErr)
}

// progress prints a line on stderr when a replay takes more than a couple
// of seconds, at most once a second.
type progress struct {
	w        io.Writer
	tty      bool
	start    time.Time
	last     time.Time
	shown    bool
	warnings int
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, tty: isTerminal(w), start: time.Now()}
}

func (p *progress) update(n int) {
	now := time.Now()
	if now.Sub(p.start) < 2*time.Second || now.Sub(p.last) < time.Second {
		return
	}
	p.last = now
	rate := float64(n) / now.Sub(p.start).Seconds()
	if p.tty {
		fmt.Fprintf(p.w, "\rreplay: %d posts, %.0f/s ", n, rate)
	} else {
		fmt.Fprintf(p.w, "replay: %d posts, %.0f/s\n", n, rate)
	}
	p.shown = true
}

func (p *progress) warn(msg string) {
	p.warnings++
	if p.warnings <= 20 {
		if p.shown && p.tty {
			fmt.Fprintln(p.w)
		}
		fmt.Fprintln(p.w, "skipped:", msg)
	} else if p.warnings == 21 {
		fmt.Fprintln(p.w, "skipped: … (further bad lines are only counted)")
	}
}

func (p *progress) done() {
	if p.shown && p.tty {
		fmt.Fprintln(p.w)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// table writes decisions aligned for people; East Asian wide characters
// count as two columns.
type table struct {
	w      io.Writer
	color  bool
	header bool
}

func newTable(w io.Writer, color bool) *table { return &table{w: w, color: color} }

var tableCols = []struct {
	name  string
	width int
}{{"ID", 14}, {"BRAND", 12}, {"CATEGORY", 10}, {"SCORE", 5}, {"ALERT", 5}, {"TAG", 3}, {"CONV", 4}, {"TEXT", 60}}

func (t *table) Write(p *post.Post, d *matcher.Decision) error {
	if !t.header {
		t.header = true
		var cells []string
		for _, c := range tableCols {
			cells = append(cells, pad(c.name, c.width))
		}
		if _, err := fmt.Fprintln(t.w, strings.TrimRight(strings.Join(cells, " "), " ")); err != nil {
			return err
		}
	}
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "-"
	}
	text := strings.ReplaceAll(alerting.Clean(p.Text), "\n", " ")
	vals := []string{d.ID, d.Brand, string(d.Category), fmt.Sprint(d.Score), yes(d.Alert), yes(d.Tagged), yes(d.InConversation), text}
	var cells []string
	for i, c := range tableCols {
		cell := pad(fit(alerting.Clean(vals[i]), c.width), c.width)
		if i == 2 && t.color && d.Alert {
			cell = catColor(d.Category) + cell + "\x1b[0m"
		}
		cells = append(cells, cell)
	}
	_, err := fmt.Fprintln(t.w, strings.TrimRight(strings.Join(cells, " "), " "))
	return err
}

func (t *table) Flush() error { return nil }

func catColor(c rules.Category) string {
	switch c {
	case rules.Risky:
		return "\x1b[31m"
	case rules.Actionable:
		return "\x1b[33m"
	case rules.Positive:
		return "\x1b[32m"
	}
	return ""
}

func cellWidth(r rune) int {
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// fit cuts s to at most w columns, marking the cut with "…".
func fit(s string, w int) string {
	cols := 0
	for i, r := range s {
		cw := cellWidth(r)
		if cols+cw > w-1 && cols+cw+restWidth(s[i+utf8.RuneLen(r):]) > w {
			return s[:i] + "…"
		}
		cols += cw
	}
	return s
}

func restWidth(s string) int {
	n := 0
	for _, r := range s {
		n += cellWidth(r)
	}
	return n
}

func pad(s string, w int) string {
	n := restWidth(s)
	if n >= w {
		return s
	}
	return s + strings.Repeat(" ", w-n)
}
