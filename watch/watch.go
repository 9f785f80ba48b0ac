// Package watch is the flame-up watch for risk teams. Two signals, each a Slack notice
// with its evidence, why it fired and how to tune it:
//
//   - a surge: the negative mentions of a brand in the last window are far above their
//     usual level for that time of day (CheckSurges). While a surge is open the brand is
//     in incident mode: its further negative posts go as replies into the surge alert's
//     thread instead of separate alerts (Inhibit, Divert), until mentions are back to
//     normal or someone closes the incident (Close).
//   - velocity: a tracked negative post whose reposts, quotes and replies grow fast
//     between re-polls escalates: a reply in its alert's thread and a notice in the risk
//     channel (CheckVelocity).
//
// The daemon schedules CheckSurges and CheckVelocity; the state lives in the store
// (mention counters, surges, tracked samples, the outbox), so a restart loses nothing and
// every message is enqueued once.
package watch

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/kizuki-dev/kizuki/alerting"
	"github.com/kizuki-dev/kizuki/japanese"
	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/store"
)

// Options configure a Watch. Store and Rules are required.
type Options struct {
	Store *store.Store
	// Rules returns the rules in force (the daemon swaps them on reload): the brands to
	// watch and their surge and velocity settings.
	Rules func() *rules.Set
	// Routes is the config's routing: notices go where the brand's risky alerts go.
	Routes alerting.Routes
	// Location is the time zone of "the same time of day" and of times in messages; nil
	// means UTC.
	Location *time.Location
	// Logger receives what the watch did and what it could not do; nil discards.
	Logger *slog.Logger
	// Japanese analyses the posts of a surge for the terms that grew; nil means a new
	// analyzer (share the matcher's, so the dictionary is loaded once).
	Japanese *japanese.Analyzer
}

// Watch checks brands for surges and tracked posts for velocity. It is safe for
// concurrent use; its state is in the store.
type Watch struct {
	st    *store.Store
	rules func() *rules.Set
	route alerting.Routes
	loc   *time.Location
	log   *slog.Logger
	ja    *japanese.Analyzer
}

// New returns a Watch with opt's defaults filled in.
func New(opt Options) *Watch {
	w := &Watch{st: opt.Store, rules: opt.Rules, route: opt.Routes, loc: opt.Location, log: opt.Logger, ja: opt.Japanese}
	if w.loc == nil {
		w.loc = time.UTC
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.ja == nil {
		w.ja = japanese.New()
	}
	if w.rules == nil {
		w.rules = func() *rules.Set { return &rules.Set{} }
	}
	return w
}

// rule returns the rule of a brand in force, or nil.
func (w *Watch) rule(brand string) *rules.Rule {
	set := w.rules()
	if set == nil {
		return nil
	}
	for _, r := range set.Rules {
		if r.Brand == brand {
			return r
		}
	}
	return nil
}

// riskChannel is where the brand's risky alerts go, and so its flame-up notices.
func (w *Watch) riskChannel(brand string, r *rules.Rule) (string, string) {
	return alerting.Route(matcher.Decision{Brand: brand, Alert: true, Category: rules.Risky, Rule: r}, w.route)
}

// enqueue puts a message into the outbox under key; it reports whether it was new.
func (w *Watch) enqueue(ctx context.Context, key, channel string, a alerting.Alert) (bool, error) {
	payload, err := json.Marshal(a)
	if err != nil {
		return false, fmt.Errorf("encode %s: %w", key, err)
	}
	added, err := w.st.Enqueue(ctx, store.OutboxItem{Key: key, Channel: channel, Payload: payload})
	if err != nil {
		return false, err
	}
	return added, nil
}
