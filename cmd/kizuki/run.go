package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/kizuki-dev/kizuki/alerting"
	"github.com/kizuki-dev/kizuki/demo"
	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
)

func cmdRun(ctx context.Context, env *env, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	config := fs.String("config", "", "daemon configuration (kizuki.yaml); without it, the built-in demo runs")
	pace := fs.Duration("pace", -1, "pause between demo alerts (default 40ms on a terminal, none otherwise)")
	once := fs.Bool("once", false, "with --config: poll every source once, record, deliver the alerts, and exit")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *config != "" {
		return runConfig(ctx, env, *config, *once)
	}
	if *once {
		return fmt.Errorf("%w: --once needs --config FILE", errUsage)
	}
	tty := isTerminal(env.stdout)
	if *pace < 0 {
		*pace = 0
		if tty {
			*pace = 40 * time.Millisecond
		}
	}
	return runDemo(ctx, env, tty, *pace)
}

const demoBanner = `┌──────────────────────────────────────────────────────────────────────┐
│ Kizuki DEMO — fictional brands (Kumo Mobile, Sora Cafe), fictional    │
│ posts, built-in rules; alerts go to this terminal. Nothing is sent.   │
│ For your own brand: write a rule file (docs/rules.md), then           │
│   kizuki check --rules DIR                                            │
│   kizuki replay --rules DIR --input posts.jsonl --format table        │
└──────────────────────────────────────────────────────────────────────┘
`

func runDemo(ctx context.Context, env *env, color bool, pace time.Duration) error {
	fmt.Fprint(env.stdout, demoBanner)
	start := time.Now()
	set, err := rules.LoadFS(demo.Rules(), nil, rules.Options{})
	if err != nil {
		return fmt.Errorf("demo rules: %w", err)
	}
	m, err := matcher.Compile(set, matcher.Config{})
	if err != nil {
		return err
	}
	data, err := demo.Posts()
	if err != nil {
		return fmt.Errorf("demo posts: %w", err)
	}
	fmt.Fprintf(env.stdout, "rules: %s\n\n", set.Summary())
	term := &alerting.Terminal{W: env.stdout, Color: color, Location: tokyo()}
	r := post.NewReader(bytes.NewReader(data), "demo/posts.jsonl")
	st := &stats{byCat: map[rules.Category]int{}, start: start}
	var first time.Duration
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		d := m.Decide(&p)
		st.posts++
		if d.Relevant {
			st.relevant++
		}
		if !d.Alert {
			continue
		}
		st.alerts++
		st.byCat[d.Category]++
		if first == 0 {
			first = time.Since(start)
		}
		if err := term.Notify(&p, &d); err != nil {
			return err
		}
		if pace > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(pace):
			}
		}
	}
	fmt.Fprintf(env.stdout, "demo: %s; first alert after %s\n", st.summary(), first.Round(time.Millisecond))
	return nil
}

// tokyo is the demo's time zone: the sample brands are Japanese.
func tokyo() *time.Location {
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		return time.FixedZone("JST", 9*3600)
	}
	return loc
}
