package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/kizuki-dev/kizuki/alerting"
	"github.com/kizuki-dev/kizuki/config"
	"github.com/kizuki-dev/kizuki/daemon"
	"github.com/kizuki-dev/kizuki/listener"
	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/report"
	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/store"
	"github.com/kizuki-dev/kizuki/watch"
)

// Schedules of the daemon's own jobs.
const (
	retentionSchedule = "@every 1h"
	repollSchedule    = "@every 10m"
	surgeSchedule     = "@every 5m"
	snoozeSchedule    = "@every 1m"
	// groupWindow: an author's alerting posts about one brand within this window of their
	// open alert become replies in its thread, not alerts of their own.
	groupWindow = 30 * time.Minute
	// interactionsPath is Slack's Request URL for interactivity, on http.listen.
	interactionsPath = "/slack/interactions"
)

// runConfig runs with a configuration: once (poll every source once,
// record, deliver the alerts to Slack or this terminal, return) or as the
// scheduled daemon until ctx ends (SIGINT/SIGTERM). SIGHUP (env.reload)
// reloads the configuration and the rules: a valid change restarts the
// schedule with it; an invalid one is rejected with its reasons and the
// running configuration stays in force.
func runConfig(ctx context.Context, env *env, path string, once bool) error {
	cfg, set, err := loadDaemonConfig(path, env)
	if err != nil {
		return err
	}
	dd, err := openDataDir(cfg.DataDir, false)
	if err != nil {
		return err
	}
	defer dd.Close()
	budgets := map[string]*listener.Budget{} // by source name, kept across reloads
	inst, err := newInstance(cfg, set, env, dd, budgets)
	if err != nil {
		return err
	}
	if once {
		return inst.once(ctx, env)
	}
	var api *localAPI // search, report, export and silence run through the daemon
	if !cfg.HTTP.AllowRemote && cfg.HTTP.Listen != "" {
		if api, err = newLocalAPI(cfg.DataDir, dd); err != nil {
			return err
		}
		defer api.withdraw()
	}
	health := daemon.NewHealth() // a reload keeps what it knows of stalls
	for {
		inst.health = health
		inst.api = api
		fmt.Fprintf(env.stderr, "kizuki: daemon with %d sources, data in %s, health on %s; Ctrl-C stops, SIGHUP reloads the configuration and rules\n",
			len(inst.jobs), cfg.DataDir, cfg.HTTP.Listen)
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- daemon.Run(rctx, inst.options()) }()
		next, err := awaitReload(ctx, env, path, cfg, dd, budgets, done)
		stop()
		if next == nil {
			return err
		}
		if err := <-done; err != nil {
			return err
		}
		inst, cfg = next, next.cfg
		fmt.Fprintf(env.stderr, "kizuki: rules reloaded: %s\n", next.set.Summary())
	}
}

// awaitReload waits for the daemon to end (it returns nil and Run's error) or for a
// reload that builds (it returns the new instance); a reload that does not build is
// reported and waited past.
func awaitReload(ctx context.Context, env *env, path string, cfg *config.Config, dd *dataDir, budgets map[string]*listener.Budget, done <-chan error) (*instance, error) {
	for {
		select {
		case err := <-done:
			return nil, err
		case <-env.reload:
			ncfg, nset, err := loadDaemonConfig(path, env)
			var next *instance
			if err == nil {
				if ncfg.DataDir != cfg.DataDir {
					fmt.Fprintf(env.stderr, "kizuki: data_dir changed to %s; that takes a restart, %s stays in use\n", ncfg.DataDir, cfg.DataDir)
					ncfg.DataDir = cfg.DataDir
				}
				// Budgets of a rejected configuration must not replace the running ones.
				trial := maps.Clone(budgets)
				if next, err = newInstance(ncfg, nset, env, dd, trial); err == nil {
					maps.Copy(budgets, trial)
				}
			}
			if err != nil {
				fmt.Fprintf(env.stderr, "kizuki: reload rejected, the previous rules and configuration stay in force: %v\n", err)
				continue
			}
			return next, nil
		}
	}
}

// loadDaemonConfig loads the configuration and its rules, printing every problem.
func loadDaemonConfig(path string, env *env) (*config.Config, *rules.Set, error) {
	cfg, err := config.Load(path, os.Getenv)
	if err != nil {
		if probs, ok := err.(rules.Problems); ok {
			for _, p := range probs {
				fmt.Fprintln(env.stderr, p.Error())
			}
			return nil, nil, errReported
		}
		return nil, nil, err
	}
	set, err := loadRuleDirs(cfg.Rules, env)
	if err != nil {
		return nil, nil, err
	}
	return cfg, set, nil
}

// newLogger is the daemon's slog logger as the configuration says.
func newLogger(l config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: l.SlogLevel()}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// instance is everything built from one configuration and its rules; a reload builds
// a new one, so that an invalid change never touches the running one.
type instance struct {
	cfg      *config.Config
	set      *rules.Set
	log      *slog.Logger
	dd       *dataDir
	pipeline *daemon.Pipeline
	sources  []listener.Source
	jobs     []daemon.Job
	tasks    []daemon.Task
	deliver  *alerting.Deliverer
	opsChan  string
	health   *daemon.Health
	watch    *watch.Watch
	handlers map[string]http.Handler
	workers  []daemon.Worker
	api      *localAPI
}

// closeSurge is the surge alert's "Close incident" button: its value is the brand.
func (inst *instance) closeSurge(ctx context.Context, a *slack.BlockAction, actor string) (string, error) {
	_, err := inst.watch.Close(ctx, a.Value, actor)
	if errors.Is(err, store.ErrNotFound) {
		return "This incident was already closed.", nil
	}
	if err != nil {
		return "", err
	}
	return "Incident closed: new posts alert on their own again.", nil
}

func newInstance(cfg *config.Config, set *rules.Set, env *env, dd *dataDir, budgets map[string]*listener.Budget) (*instance, error) {
	log := newLogger(cfg.Log, env.stderr)
	m, err := matcher.Compile(set, matcher.Config{})
	if err != nil {
		return nil, err
	}
	inst := &instance{cfg: cfg, set: set, log: log, dd: dd}
	client := listener.NewClient(listener.ClientOptions{Logger: log})
	refreshers := map[string]daemon.Refresher{}
	if inst.sources, err = buildSources(cfg, client, budgets); err != nil {
		return nil, err
	}
	for i, s := range cfg.Sources {
		src := inst.sources[i]
		inst.jobs = append(inst.jobs, daemon.Job{Source: src, Schedule: s.Schedule, ExpectedGap: s.StallAfter})
		if p, ok := platformOf(s.Type); ok {
			if _, dup := refreshers[p]; !dup {
				refreshers[p] = src
			}
		}
	}
	routes := alerting.Routes{Default: "terminal"}
	inst.opsChan = "terminal"
	if cfg.Slack != nil {
		routes = alerting.Routes{Default: cfg.Slack.DefaultChannel, PerCategory: cfg.Slack.Channels}
		inst.opsChan = orDefault(cfg.Slack.OpsChannel, cfg.Slack.DefaultChannel)
	}
	q := keywordQuery(set)
	if err := checkQueries(inst.sources, q); err != nil {
		return nil, err
	}
	inst.watch = watch.New(watch.Options{Store: dd.st, Rules: func() *rules.Set { return set }, Routes: routes,
		Location: cfg.Location, Logger: log})
	inst.pipeline = daemon.NewPipeline(daemon.PipelineOptions{
		Matcher: func() *matcher.Matcher { return m }, Store: dd.st, Index: dd.ix, Routes: routes,
		Location: cfg.Location, Logger: log, Query: func() listener.Query { return q },
		GroupWindow: groupWindow, Incidents: inst.watch,
	})
	if cfg.Slack != nil {
		inter := alerting.NewInteractions(alerting.InteractionOptions{
			SigningSecret: cfg.Slack.SigningSecret.Value(), Cases: dd.st, Mutes: dd.st,
			Location: cfg.Location, Logger: log, OnChange: alerting.UpdateOnChange(dd.st, log),
			Actions: map[string]alerting.ActionFunc{alerting.ActionCloseSurge: inst.closeSurge},
		})
		if cfg.Slack.SigningSecret.IsSet() {
			inst.handlers = map[string]http.Handler{interactionsPath: inter}
		}
		if cfg.Slack.AppToken.IsSet() {
			sm, err := alerting.NewSocketMode(alerting.SocketModeOptions{AppToken: cfg.Slack.AppToken.Value(),
				Interactions: inter, APIURL: cfg.Slack.APIURL, Logger: log})
			if err != nil {
				return nil, err
			}
			inst.workers = append(inst.workers, daemon.Worker{Name: "slack socket mode", Run: sm.Run})
		}
	}
	var sender alerting.Sender = terminalSender{&alerting.Terminal{W: env.stdout, Color: isTerminal(env.stdout), Location: cfg.Location}}
	interval := time.Nanosecond // a terminal needs no pacing
	if cfg.Slack != nil {
		sender = alerting.NewSlack(alerting.SlackOptions{Token: cfg.Slack.BotToken.Value(), APIURL: cfg.Slack.APIURL, Logger: log})
		interval = 0 // Slack's own: about one message per second per channel
	}
	inst.deliver = alerting.NewDeliverer(alerting.DelivererOptions{Outbox: dd.st, Sender: sender, Location: cfg.Location, Logger: log,
		ChannelInterval: interval})
	if age := cfg.Retention.Posts; age > 0 {
		inst.tasks = append(inst.tasks, daemon.Task{Name: "retention", Schedule: retentionSchedule, Run: func(ctx context.Context) error {
			n, err := daemon.Retain(ctx, dd.st, dd.ix, age, time.Now())
			if n > 0 {
				log.Info("retention", "deleted", n, "older_than", age)
			}
			return err
		}})
	}
	inst.tasks = append(inst.tasks,
		daemon.Task{Name: "snoozes", Schedule: snoozeSchedule, Run: func(ctx context.Context) error {
			_, err := alerting.ReturnSnoozes(ctx, dd.st, time.Now(), cfg.Location)
			return err
		}},
		daemon.Task{Name: "repoll", Schedule: repollSchedule, Run: func(ctx context.Context) error {
			_, err := daemon.Repoll(ctx, daemon.RepollOptions{Store: dd.st, Sources: refreshers, Now: time.Now()})
			// The samples that did arrive still show a post taking off.
			return errors.Join(err, inst.watch.CheckVelocity(ctx, time.Now()))
		}},
		daemon.Task{Name: "surges", Schedule: surgeSchedule, Run: func(ctx context.Context) error {
			return inst.watch.CheckSurges(ctx, time.Now())
		}})
	if g := cfg.Digest; g != nil {
		channel := orDefault(g.Channel, routes.Default)
		inst.tasks = append(inst.tasks, daemon.Task{Name: "digest", Schedule: g.Schedule, Run: func(ctx context.Context) error {
			_, err := report.EnqueueDigest(ctx, dd.st, report.DigestOptions{Channel: channel, Location: cfg.Location,
				ResponseTarget: g.ResponseTarget}, time.Now())
			return err
		}})
	}
	return inst, nil
}

// orDefault returns a, or b when a is empty.
func orDefault(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// platformOf is the post.Platform of a source type's posts, for re-polls. A file
// source holds posts of any platform and re-reads nothing.
func platformOf(sourceType string) (string, bool) {
	switch sourceType {
	case config.HackerNews:
		return "hn", true
	case config.Bluesky:
		return "bsky", true
	case config.Feed, config.Mastodon, config.Reddit, config.X:
		return sourceType, true
	}
	return "", false
}

func (inst *instance) options() daemon.Options {
	handlers := maps.Clone(inst.handlers)
	if inst.api != nil {
		if handlers == nil {
			handlers = map[string]http.Handler{}
		}
		handlers[localAPIPath] = inst.api
	}
	onReady := func(addr string) {
		if inst.api != nil && addr != "" {
			if err := inst.api.publish(addr); err != nil {
				inst.log.Warn("search, report, export and silence cannot reach this daemon", "err", err)
			}
		}
	}
	return daemon.Options{
		Pipeline: inst.pipeline, Jobs: inst.jobs, Tasks: inst.tasks, Deliver: inst.deliver,
		Location: inst.cfg.Location, Logger: inst.log, Listen: inst.cfg.HTTP.Listen,
		OutboxDepth: inst.dd.st.OutboxDepth, OnHealth: inst.healthNotice, Health: inst.health,
		Handlers: handlers, Workers: inst.workers, OnReady: onReady,
	}
}

// healthNotice puts an operator notice about a stalled or recovered source into the
// outbox, once per stall: the key carries the stall's start.
func (inst *instance) healthNotice(ctx context.Context, ev daemon.HealthEvent) {
	var text, key string
	since := ev.Since.In(inst.cfg.Location).Format("2006-01-02 15:04 MST")
	if ev.Stalled {
		key = fmt.Sprintf("health:%s:%d:stalled", ev.Source, ev.Since.Unix())
		text = fmt.Sprintf(":warning: Source %s has brought no posts since %s.", ev.Source, since)
		if ev.LastErr != nil {
			text += fmt.Sprintf(" Its last poll failed: %v.", ev.LastErr)
		} else {
			text += " Its polls succeed but find nothing: check its query, token and rate limits."
		}
		text += " You will hear once more when posts flow again."
	} else {
		key = fmt.Sprintf("health:%s:%d:recovered", ev.Source, ev.Since.Unix())
		text = fmt.Sprintf(":white_check_mark: Source %s brings posts again (since %s).", ev.Source, since)
	}
	payload, err := json.Marshal(alerting.NoticeMessage(text, nil))
	if err == nil {
		_, err = inst.dd.st.Enqueue(ctx, store.OutboxItem{Key: key, Channel: inst.opsChan, Payload: payload})
	}
	if err != nil {
		inst.log.Error("operator notice not queued", "source", ev.Source, "err", err)
	}
}

// once polls every source once, delivers, and reports.
func (inst *instance) once(ctx context.Context, env *env) error {
	errs := inst.pipeline.PollAll(ctx, inst.sources)
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
	// Drain until nothing more goes out: one drain takes a batch, and what failed
	// stays for the next run.
	sent := 0
	for {
		n, err := inst.deliver.DrainOnce(ctx)
		sent += n
		if err != nil {
			return fmt.Errorf("deliver alerts: %w", err)
		}
		if n == 0 {
			break
		}
	}
	depth, _ := inst.dd.st.OutboxDepth()
	fmt.Fprintf(env.stderr, "once: %d sources (%d failed), %d alerts delivered, %d waiting in the outbox\n", len(inst.sources), failed, sent, depth)
	if failed == len(inst.sources) && failed > 0 {
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

// Remaining passes on the source's daily budget (listener.Budgeted), which the
// wrapper would otherwise hide.
func (n named) Remaining() (int, bool) {
	if b, ok := n.Source.(listener.Budgeted); ok {
		return b.Remaining()
	}
	return 0, false
}

func buildSource(s config.Source, client *listener.Client, b *listener.Budget) (listener.Source, error) {
	switch s.Type {
	case "hackernews":
		return listener.NewHN(listener.HNOptions{AlgoliaURL: s.BaseURL, FirebaseURL: s.FirebaseURL, Client: client, Budget: b}), nil
	case "feed":
		return listener.NewFeed(listener.FeedOptions{Name: s.Name, URLs: s.URLs, Client: client, Budget: b}), nil
	case "file":
		return listener.NewFile(listener.FileOptions{Name: s.Name, Path: s.Path, SkipBad: s.SkipBad}), nil
	case "mastodon":
		return listener.NewMastodon(listener.MastodonOptions{BaseURL: s.BaseURL, Token: s.Secrets["token"].Value(), Hashtags: s.Hashtags,
			Client: client, Budget: b}), nil
	case "reddit":
		return listener.NewReddit(listener.RedditOptions{AuthURL: s.AuthURL, APIURL: s.BaseURL, ClientID: s.ClientID,
			ClientSecret: s.Secrets["client_secret"].Value(), Username: s.Username, Password: s.Secrets["password"].Value(),
			UserAgent: s.UserAgent, Subreddits: s.Subreddits, Client: client, Budget: b}), nil
	case "x":
		return listener.NewX(listener.XOptions{BaseURL: s.BaseURL, BearerToken: s.Secrets["bearer_token"].Value(), Client: client, Budget: b})
	case "bluesky":
		return listener.NewBluesky(listener.BlueskyOptions{BaseURL: s.BaseURL, Identifier: s.Identifier, AppPassword: s.Secrets["app_password"].Value(),
			Client: client, Budget: b}), nil
	}
	return nil, fmt.Errorf("unknown source type %q", s.Type)
}

// buildSources builds the configuration's sources, in order, each named after its entry
// and with its daily budget.
func buildSources(cfg *config.Config, client *listener.Client, budgets map[string]*listener.Budget) ([]listener.Source, error) {
	sources := make([]listener.Source, 0, len(cfg.Sources))
	for _, s := range cfg.Sources {
		src, err := buildSource(s, client, budgetFor(s, budgets))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: source %q: %w", s.Pos.File, s.Pos.Line, s.Name, err)
		}
		sources = append(sources, named{src, s.Name})
	}
	return sources, nil
}

// budgetFor returns the source's daily budget, the one it had before a reload if its
// limit is unchanged, so that a reload does not hand out the day's reads again.
func budgetFor(s config.Source, budgets map[string]*listener.Budget) *listener.Budget {
	unit := listener.UnitRequests
	if s.Type == config.X {
		unit = listener.UnitPosts // X bills every post read
	}
	if b, ok := budgets[s.Name]; ok && b.Limit() == s.DailyBudget && b.Unit() == unit {
		return b
	}
	b := listener.NewBudget(s.Name, s.DailyBudget, unit, time.Now)
	budgets[s.Name] = b
	return b
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

// keywordQuery is what sources search for: every brand keyword. Sources push the
// exclusions down into their queries, so only those common to every rule go there:
// one brand's exclusion must not hide another brand's posts. The matcher applies
// every rule's own exclusions anyway.
func keywordQuery(set *rules.Set) listener.Query {
	var q listener.Query
	common := map[string]int{}
	for _, r := range set.Rules {
		q.Keywords = append(q.Keywords, r.Keywords...)
		seen := map[string]bool{}
		for _, x := range r.Exclude {
			x = strings.TrimSpace(x)
			if !seen[strings.ToLower(x)] {
				seen[strings.ToLower(x)] = true
				common[strings.ToLower(x)]++
			}
		}
	}
	for i, k := range q.Keywords {
		q.Keywords[i] = strings.TrimSpace(k)
	}
	if len(set.Rules) > 0 {
		for _, x := range set.Rules[0].Exclude {
			x = strings.TrimSpace(x)
			if common[strings.ToLower(x)] == len(set.Rules) {
				q.Exclude = append(q.Exclude, x)
				common[strings.ToLower(x)] = 0 // once
			}
		}
	}
	return q
}
