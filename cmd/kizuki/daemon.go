package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/kizuki-dev/kizuki/alerting"
	"github.com/kizuki-dev/kizuki/config"
	"github.com/kizuki-dev/kizuki/daemon"
	"github.com/kizuki-dev/kizuki/listener"
	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/rules"
)

// runConfig runs with a configuration: once (poll every source once,
// record, deliver the alerts to Slack or this terminal, return) or as the
// scheduled daemon until ctx ends (SIGINT/SIGTERM).
func runConfig(ctx context.Context, env *env, path string, once bool) error {
	cfg, err := config.Load(path, os.Getenv)
	if err != nil {
		if probs, ok := err.(rules.Problems); ok {
			for _, p := range probs {
				fmt.Fprintln(env.stderr, p.Error())
			}
			return errReported
		}
		return err
	}
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	set, err := loadRuleDirs(cfg.Rules, env)
	if err != nil {
		return err
	}
	m, err := matcher.Compile(set, matcher.Config{})
	if err != nil {
		return err
	}
	// The current rules: a reload swaps them; each poll uses the rules
	// current when it starts.
	var current atomic.Pointer[matcher.Matcher]
	current.Store(m)
	dd, err := openDataDir(cfg.DataDir, false)
	if err != nil {
		return err
	}
	defer dd.Close()
	client := listener.NewClient(listener.ClientOptions{Logger: log})
	var sources []listener.Source
	for _, s := range cfg.Sources {
		src, err := buildSource(s, client)
		if err != nil {
			return fmt.Errorf("%s:%d: source %q: %w", s.Pos.File, s.Pos.Line, s.Name, err)
		}
		sources = append(sources, named{src, s.Name})
	}
	routes := alerting.Routes{}
	if cfg.Slack != nil {
		routes = alerting.Routes{Default: cfg.Slack.DefaultChannel, PerCategory: cfg.Slack.Channels}
	} else {
		routes.Default = "terminal"
	}
	var query atomic.Pointer[listener.Query]
	q := keywordQuery(set)
	query.Store(&q)
	p := daemon.NewPipeline(daemon.PipelineOptions{
		Matcher: current.Load, Store: dd.st, Index: dd.ix, Routes: routes,
		Location: cfg.Location, Logger: log, Query: func() listener.Query { return *query.Load() },
	})
	var sender alerting.Sender = terminalSender{&alerting.Terminal{W: env.stdout, Color: isTerminal(env.stdout), Location: cfg.Location}}
	if cfg.Slack != nil {
		sender = alerting.NewSlack(alerting.SlackOptions{Token: cfg.Slack.BotToken.Value(), APIURL: cfg.Slack.APIURL, Logger: log})
	}
	d := alerting.NewDeliverer(alerting.DelivererOptions{Outbox: dd.st, Sender: sender, Location: cfg.Location, Logger: log})
	if !once {
		jobs := make([]daemon.Job, len(sources))
		for i, src := range sources {
			jobs[i] = daemon.Job{Source: src, Schedule: cfg.Sources[i].Schedule}
		}
		fmt.Fprintf(env.stderr, "kizuki: daemon with %d sources, data in %s, health on %s; Ctrl-C stops, SIGHUP reloads the rules\n", len(jobs), cfg.DataDir, cfg.HTTP.Listen)
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-env.reload:
					// An invalid change is rejected with its reasons; the
					// old rules stay in force.
					set, err := loadRuleDirs(cfg.Rules, env)
					if err == nil {
						var nm *matcher.Matcher
						if nm, err = matcher.Compile(set, matcher.Config{}); err == nil {
							current.Store(nm)
							q := keywordQuery(set)
							query.Store(&q)
							fmt.Fprintf(env.stderr, "kizuki: rules reloaded: %s\n", set.Summary())
							continue
						}
					}
					fmt.Fprintf(env.stderr, "kizuki: reload rejected, the previous rules stay in force: %v\n", err)
				}
			}
		}()
		return daemon.Run(ctx, daemon.Options{Pipeline: p, Jobs: jobs, Deliver: d, Location: cfg.Location,
			Logger: slog.New(slog.NewTextHandler(env.stderr, nil)), Listen: cfg.HTTP.Listen, OutboxDepth: dd.st.OutboxDepth})
	}
	errs := p.PollAll(ctx, sources)
	names := make([]string, 0, len(errs))
	for name := range errs {
		names = append(names, name)
	}
	sort.Strings(names)
	failed := 0
	for _, name := range names {
		if errs[name] != nil {
			failed++
			fmt.Fprintf(env.stderr, "source %s: %v\n", name, errs[name])
		}
	}
	sent, err := d.DrainOnce(ctx)
	if err != nil {
		return fmt.Errorf("deliver alerts: %w", err)
	}
	depth, _ := dd.st.OutboxDepth()
	fmt.Fprintf(env.stderr, "once: %d sources (%d failed), %d alerts delivered, %d waiting in the outbox\n", len(sources), failed, sent, depth)
	if failed == len(sources) && failed > 0 {
		return errReported
	}
	return nil
}

// named gives a source the name of its configuration entry, which is also
// the key of its cursor.
type named struct {
	listener.Source
	name string
}

func (n named) Name() string { return n.name }

// terminalSender delivers outbox alerts to the terminal.
type terminalSender struct{ t *alerting.Terminal }

func (s terminalSender) Post(_ context.Context, _ string, a alerting.Alert) (string, error) {
	return "", s.t.Notify(&a.Post, &a.Decision)
}

func buildSource(s config.Source, client *listener.Client) (listener.Source, error) {
	switch s.Type {
	case "hackernews":
		return listener.NewHN(listener.HNOptions{AlgoliaURL: s.BaseURL, FirebaseURL: s.FirebaseURL, Client: client}), nil
	case "feed":
		return listener.NewFeed(listener.FeedOptions{Name: s.Name, URLs: s.URLs, Client: client}), nil
	case "file":
		return listener.NewFile(listener.FileOptions{Name: s.Name, Path: s.Path, SkipBad: s.SkipBad}), nil
	case "mastodon":
		return listener.NewMastodon(listener.MastodonOptions{BaseURL: s.BaseURL, Token: s.Secrets["token"].Value(), Hashtags: s.Hashtags, Client: client}), nil
	case "reddit":
		return listener.NewReddit(listener.RedditOptions{AuthURL: s.AuthURL, APIURL: s.BaseURL, ClientID: s.ClientID,
			ClientSecret: s.Secrets["client_secret"].Value(), Username: s.Username, Password: s.Secrets["password"].Value(),
			UserAgent: s.UserAgent, Subreddits: s.Subreddits, Client: client}), nil
	case "x":
		return listener.NewX(listener.XOptions{BaseURL: s.BaseURL, BearerToken: s.Secrets["bearer_token"].Value(), Client: client, DailyBudget: s.DailyBudget})
	case "bluesky":
		return listener.NewBluesky(listener.BlueskyOptions{BaseURL: s.BaseURL, Identifier: s.Identifier, AppPassword: s.Secrets["app_password"].Value(), Client: client}), nil
	}
	return nil, fmt.Errorf("unknown source type %q", s.Type)
}

// loadRuleDirs loads the rule files of several directories as one set.
func loadRuleDirs(dirs []string, env *env) (*rules.Set, error) {
	if len(dirs) == 1 {
		return loadRules(dirs[0], false, env)
	}
	var files []string
	for _, dir := range dirs {
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, err := filepath.Glob(filepath.Join(dir, pat))
			if err != nil {
				return nil, err
			}
			files = append(files, m...)
		}
	}
	slices.Sort(files)
	set, err := rules.LoadFiles(files, rules.Options{})
	if probs, ok := err.(rules.Problems); ok {
		for _, p := range probs {
			fmt.Fprintln(env.stderr, p.Error())
		}
		return nil, errReported
	}
	return set, err
}

// keywordQuery is what sources search for: every brand keyword.
func keywordQuery(set *rules.Set) listener.Query {
	var q listener.Query
	for _, r := range set.Rules {
		q.Keywords = append(q.Keywords, r.Keywords...)
		q.Exclude = append(q.Exclude, r.Exclude...)
	}
	for i, k := range q.Keywords {
		q.Keywords[i] = strings.TrimSpace(k)
	}
	return q
}
