package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/kizuki-dev/kizuki/rules"
)

func cmdCheck(_ context.Context, env *env, args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	dir := fs.String("rules", "", "directory of rule files (*.yaml)")
	noBuiltin := fs.Bool("no-builtin", false, "do not load the built-in signal pack")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *dir == "" {
		return fmt.Errorf("%w: check needs --rules DIR", errUsage)
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
