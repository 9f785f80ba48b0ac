package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/kizuki-dev/kizuki/listener"
	"github.com/kizuki-dev/kizuki/rules"
)

func cmdCheck(_ context.Context, env *env, args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	dir := fs.String("rules", "", "directory of rule files (*.yaml)")
	cfgPath := fs.String("config", "", "check a daemon configuration (kizuki.yaml) with its rules and sources' queries")
	noBuiltin := fs.Bool("no-builtin", false, "do not load the built-in signal pack")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *cfgPath != "" {
		return checkConfig(env, *cfgPath)
	}
	if *dir == "" {
		return fmt.Errorf("%w: check needs --rules DIR or --config FILE", errUsage)
	}
	set, err := loadRules(*dir, *noBuiltin, env)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "%s: ok: %s\n", *dir, set.Summary())
	return nil
}

// loadRules loads a rules directory; problems are printed one per line.
func loadRules(dir string, noBuiltin bool, env *env) (*rules.Set, error) {
	set, err := rules.Load(dir, rules.Options{NoBuiltin: noBuiltin})
	var probs rules.Problems
	if errors.As(err, &probs) {
		for _, p := range probs {
			fmt.Fprintln(env.stderr, p.Error())
		}
		fmt.Fprintf(env.stderr, "%d problem(s) in %s\n", len(probs), dir)
		return nil, errReported
	}
	if err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	return set, nil
}

// checkConfig loads a configuration, its rules and its sources as the daemon would,
// without opening the data directory (the daemon may be running) or calling any
// platform, and checks that every source can turn the keywords into its queries.
func checkConfig(env *env, path string) error {
	cfg, set, err := loadDaemonConfig(path, env)
	if err != nil {
		return err
	}
	sources, err := buildSources(cfg, listener.NewClient(listener.ClientOptions{}), map[string]*listener.Budget{})
	if err != nil {
		return err
	}
	if err := checkQueries(sources, keywordQuery(set)); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "%s: ok: %d sources; rules: %s\n", path, len(sources), set.Summary())
	return nil
}

// queryBuilder is a source that searches by keyword and can show its queries.
type queryBuilder interface {
	Queries(q listener.Query) ([]string, error)
}

// checkQueries builds every source's queries, so that a keyword too long for a
// platform stops the start (or the reload) instead of failing each poll.
func checkQueries(sources []listener.Source, q listener.Query) error {
	var errs []error
	for _, src := range sources {
		inner := src
		if n, ok := src.(named); ok {
			inner = n.Source
		}
		qb, ok := inner.(queryBuilder)
		if !ok {
			continue
		}
		if _, err := qb.Queries(q); err != nil {
			errs = append(errs, fmt.Errorf("source %s: %w (shorten the keyword in the rule file, or search for it on another platform)", src.Name(), err))
		}
	}
	return errors.Join(errs...)
}
