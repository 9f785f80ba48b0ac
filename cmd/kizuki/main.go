// Command kizuki finds posts that mention a brand without tagging it,
// decides which need a human, and alerts. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/kizuki-dev/kizuki/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// Only main turns signals into events: SIGHUP asks the daemon to reload.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default: // a reload is already pending
			}
		}
	}()
	code := runWith(ctx, os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, reload: reload})
	stop()
	os.Exit(code)
}

// errUsage marks errors that are the caller's words, not the data.
var errUsage = errors.New("usage")

// exit codes: 0 fine, 1 the input or rules have problems, 2 wrong usage.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runWith(ctx, args, &env{stdin: stdin, stdout: stdout, stderr: stderr})
}

func runWith(ctx context.Context, args []string, env *env) int {
	stdout, stderr := env.stdout, env.stderr
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(ctx, env, args[1:])
	case "check":
		err = cmdCheck(ctx, env, args[1:])
	case "replay":
		err = cmdReplay(ctx, env, args[1:])
	case "init":
		_, err = io.WriteString(env.stdout, config.Starter())
	case "search":
		err = cmdSearch(ctx, env, args[1:])
	case "export":
		err = cmdExport(ctx, env, args[1:])
	case "silence":
		err = cmdSilence(ctx, env, args[1:])
	case "report":
		err = cmdReport(ctx, env, args[1:])
	case "reindex":
		err = cmdReindex(ctx, env, args[1:])
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "kizuki: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	// The daemon holds the data directory: run the command in it instead.
	var locked *lockedError
	if errors.As(err, &locked) && env.shared == nil {
		if code, ok := viaDaemon(ctx, locked, args, env); ok {
			return code
		}
		err = fmt.Errorf("%w\n(no daemon answers for %s: stop the other process, or use the Slack buttons meanwhile — Mute author, Claim, Resolve)", err, locked.dir)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "kizuki:", err)
		return 2
	case errors.Is(err, errReported):
		return 1
	default:
		fmt.Fprintln(stderr, "kizuki:", err)
		return 1
	}
}

// errReported means the problems were already printed.
var errReported = errors.New("problems reported")

type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// reload receives an event per SIGHUP (nil: never).
	reload <-chan struct{}
	// shared is the daemon's open data directory, for commands it runs for the
	// command line (nil elsewhere).
	shared *shared
}

func usage(w io.Writer) {
	fmt.Fprint(w, `kizuki — notice the posts about your brand that need a human

Usage:
  kizuki run                                  the built-in demo (no keys, no network)
  kizuki init > kizuki.yaml                   a starter daemon configuration, every option commented
  kizuki check --rules DIR                    validate rule files: file:line: message
  kizuki check --config kizuki.yaml           validate a daemon configuration, its rules and sources' queries
  kizuki replay --rules DIR --input FILE|-    decide offline, one decision per post
         [--format jsonl|table] [--skip-bad] [--no-builtin] [--data-dir DIR]
  kizuki export [--category positive] [--since 7d] [--brand B] [--format csv|jsonl] [--bom]
  kizuki report [--since 30d] [--until DATE] [--brand B] [--format table|csv|json] [--timezone TZ]
  kizuki search QUERY [--data-dir DIR] [--since 7d] [--brand B] [--category C]
         [--platform P] [--limit N] [--sort newest|best] [--format table|jsonl]
  kizuki silence add|list|expire              mute an author, brand, term or rule for a while
  kizuki reindex [--data-dir DIR]             rebuild the search index from the store (after an upgrade)
  kizuki run --config kizuki.yaml [--once]    the daemon (SIGHUP reloads, SIGTERM stops)

Run 'kizuki COMMAND -h' for the flags of a command.
`)
}
