package main

import (
	"context"
	"flag"
	"fmt"
	"time"
)

func cmdRun(ctx context.Context, env *env, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	config := fs.String("config", "", "daemon configuration (kizuki.yaml); without it, the built-in demo runs")
	pace := fs.Duration("pace", -1, "pause between demo alerts (default 40ms on a terminal, none otherwise)")
	once := fs.Bool("once", false, "with --config: poll every source once, record, deliver the alerts, and exit")
	keep := fs.String("data-dir", "", "demo only: keep the demo's index and store in this directory (default: a temporary one, removed at the end)")
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
	return runDemo(ctx, env, tty, *pace, *keep)
}
