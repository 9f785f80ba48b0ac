// Package report computes Kizuki's KPIs from the store, for `kizuki report` and the daily
// digest: alerts per category, platform and day; time to detect (post → alert), first
// response (alert → claim) and time to resolve, with median and 90th percentile per
// category and per operator; cases by status; the share of alerts marked not relevant per
// rule and per signal (the rules that need tuning); and the recurring questions among
// actionable posts (FAQ candidates).
//
// Definitions, so that the numbers can be checked by hand:
//   - an alert is a case (one per alerted post), counted on the day it was opened;
//   - the alert time is when the case was opened; it was shown when its Slack message was
//     sent (later for an alert held by quiet hours), and responses count from then;
//   - time to detect is from the post's creation to the alert time (posts deleted by
//     retention have none);
//   - first response is the first claim or resolution by a person, and its operator is
//     who did it; time to resolve is to the last resolution, by its operator;
//   - median and p90 are nearest-rank: the smallest value with at least half (90%) of
//     the values at or below it.
package report

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/terms"
	"github.com/kizuki-dev/kizuki/japanese"
	"github.com/kizuki-dev/kizuki/store"
)

// Options select what a report covers.
type Options struct {
	// Since and Until bound the alerts counted (by alert time): [Since, Until).
	Since, Until time.Time
	// Brand limits the report to one brand; empty means all.
	Brand string
	// Location is the time zone of days; nil means UTC.
	Location *time.Location
	// Questions is how many recurring questions to list; zero means 10, less than zero
	// none (the texts are then not analysed at all).
	Questions int
	// Japanese analyses Japanese posts for recurring questions; nil means a new analyzer.
	Japanese *japanese.Analyzer
}

// Report is the KPIs of a period.
type Report struct {
	Since    time.Time `json:"since"`
	Until    time.Time `json:"until"`
	Timezone string    `json:"timezone"`
	Brand    string    `json:"brand,omitempty"`

	Alerts int `json:"alerts"`
	// ByCategory, ByPlatform: alerts per category (risky, actionable, positive first) and
	// per platform (most first).
	ByCategory []Count `json:"by_category"`
	ByPlatform []Count `json:"by_platform"`
	// ByDay: alerts per local day that had any, oldest first.
	ByDay []Day `json:"by_day"`

	// Times are the time KPIs: each metric for all alerts, then per category, then per
	// operator.
	Times []Timing `json:"times"`

	// Cases are the alerts of the period by their status now.
	Cases []Count `json:"cases"`

	// NotRelevant is the share of alerts marked not relevant per rule (brand) and per
	// signal that contributed to the decision, most dismissed first.
	NotRelevant []Share `json:"not_relevant"`

	// Questions are the most frequent terms and phrases of actionable posts.
	Questions []Question `json:"recurring_questions"`

	// PostsMissing is how many alerts' posts were deleted by retention: they have no time
	// to detect, platform from their id, and no text for questions.
	PostsMissing int `json:"posts_missing,omitempty"`
}

// Count is a number of alerts or cases under a name.
type Count struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

// Day is the alerts of one local day.
type Day struct {
	Date       string `json:"date"` // 2006-01-02
	N          int    `json:"n"`
	Risky      int    `json:"risky"`
	Actionable int    `json:"actionable"`
	Positive   int    `json:"positive"`
}

// The time metrics.
const (
	TimeToDetect  = "time_to_detect"
	FirstResponse = "first_response"
	TimeToResolve = "time_to_resolve"
	groupAll      = "all"
	groupCategory = "category"
	groupOperator = "operator"
)

// Timing is the median and 90th percentile of one time metric over a group of alerts.
type Timing struct {
	Metric string        `json:"metric"`
	Group  string        `json:"group"` // all, category, operator
	Key    string        `json:"key,omitempty"`
	N      int           `json:"n"`
	Median time.Duration `json:"median_ns"`
	P90    time.Duration `json:"p90_ns"`
}

// Share is how many of a rule's (or signal's) alerts were marked not relevant.
type Share struct {
	Kind        string  `json:"kind"` // rule or signal
	Name        string  `json:"name"`
	Alerts      int     `json:"alerts"`
	NotRelevant int     `json:"not_relevant"`
	Share       float64 `json:"share"`
}

// Question is a recurring term or phrase among actionable posts.
type Question struct {
	Term  string `json:"term"`
	Posts int    `json:"posts"`
}

// Compute reads the cases opened in the period, their posts and delivery times, and
// computes the report.
func Compute(ctx context.Context, st *store.Store, opt Options) (*Report, error) {
	loc := opt.Location
	if loc == nil {
		loc = time.UTC
	}
	cases, err := st.ListCases(ctx, store.CaseFilter{Brand: opt.Brand, Since: opt.Since})
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	cases = slices.DeleteFunc(cases, func(c store.Case) bool { return !opt.Until.IsZero() && !c.CreatedAt.Before(opt.Until) })
	keys := make([]string, len(cases))
	for i, c := range cases {
		keys[i] = c.ID + ":alert"
	}
	sent, err := st.SentTimes(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	items := make([]item, 0, len(cases))
	for _, c := range cases {
		rec, ok, err := st.GetPost(ctx, c.ID)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		it := item{c: c, shown: c.CreatedAt}
		if ok {
			it.rec = &rec
		}
		if s, ok := sent[c.ID+":alert"]; ok && s.After(it.shown) {
			it.shown = s
		}
		items = append(items, it)
	}
	r := computeItems(items, opt, loc)
	return r, nil
}

// item is one alert: its case, its post if kept, and when it was shown.
type item struct {
	c     store.Case
	rec   *store.Recorded
	shown time.Time
}

func (it *item) platform() string {
	if it.rec != nil && it.rec.Post.Platform != "" {
		return it.rec.Post.Platform
	}
	if p, _, ok := strings.Cut(it.c.ID, ":"); ok {
		return p
	}
	return "unknown"
}

// categoryOrder ranks categories for display: by urgency, then the rest by name.
func categoryOrder(a, b string) int {
	rank := func(s string) int {
		switch s {
		case "risky":
			return 0
		case "actionable":
			return 1
		case "positive":
			return 2
		}
		return 3
	}
	if c := cmp.Compare(rank(a), rank(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

var statusOrder = []string{store.StatusOpen, store.StatusClaimed, store.StatusSnoozed, store.StatusResolved, store.StatusDismissed}

func computeItems(items []item, opt Options, loc *time.Location) *Report {
	r := &Report{Since: opt.Since, Until: opt.Until, Timezone: loc.String(), Brand: opt.Brand, Alerts: len(items)}

	byCat, byPlat, byStatus := map[string]int{}, map[string]int{}, map[string]int{}
	days := map[string]*Day{}
	durs := map[[3]string][]time.Duration{} // metric, group, key
	add := func(metric, group, key string, d time.Duration) {
		if d < 0 {
			d = 0
		}
		k := [3]string{metric, group, key}
		durs[k] = append(durs[k], d)
	}
	type tally struct{ alerts, dismissed int }
	rules, signals := map[string]*tally{}, map[string]*tally{}
	ja := opt.Japanese
	if ja == nil {
		ja = japanese.New()
	}
	questions := terms.NewCounter()

	for i := range items {
		it := &items[i]
		c := it.c
		cat := c.Category
		if cat == "" {
			cat = "none"
		}
		byCat[cat]++
		byPlat[it.platform()]++
		byStatus[c.Status]++
		date := c.CreatedAt.In(loc).Format("2006-01-02")
		d := days[date]
		if d == nil {
			d = &Day{Date: date}
			days[date] = d
		}
		d.N++
		switch cat {
		case "risky":
			d.Risky++
		case "actionable":
			d.Actionable++
		case "positive":
			d.Positive++
		}

		if it.rec == nil {
			r.PostsMissing++
		} else if pc := it.rec.Post.CreatedAt; !pc.IsZero() {
			ttd := c.CreatedAt.Sub(pc)
			add(TimeToDetect, groupAll, "", ttd)
			add(TimeToDetect, groupCategory, cat, ttd)
		}
		if ev, ok := firstResponse(c); ok {
			fr := ev.At.Sub(it.shown)
			add(FirstResponse, groupAll, "", fr)
			add(FirstResponse, groupCategory, cat, fr)
			add(FirstResponse, groupOperator, ev.Actor, fr)
		}
		if ev, ok := resolution(c); ok {
			tr := ev.At.Sub(it.shown)
			add(TimeToResolve, groupAll, "", tr)
			add(TimeToResolve, groupCategory, cat, tr)
			add(TimeToResolve, groupOperator, ev.Actor, tr)
		}

		dismissed := notRelevant(c)
		brand := c.Brand
		if brand == "" {
			brand = "(no brand)"
		}
		t := rules[brand]
		if t == nil {
			t = &tally{}
			rules[brand] = t
		}
		t.alerts++
		if dismissed {
			t.dismissed++
		}
		if it.rec != nil {
			for _, s := range Signals(it.rec.Decision.Reasons) {
				t := signals[s]
				if t == nil {
					t = &tally{}
					signals[s] = t
				}
				t.alerts++
				if dismissed {
					t.dismissed++
				}
			}
			if cat == "actionable" && !dismissed && opt.Questions >= 0 {
				ex := terms.New(ja, append([]string{c.Brand}, Keywords(it.rec.Decision.Reasons)...)...)
				questions.Add(ex.Of(it.rec.Post.Text))
			}
		}
	}

	r.ByCategory = counts(byCat, categoryOrder)
	r.ByPlatform = counts(byPlat, nil)
	for _, s := range statusOrder {
		r.Cases = append(r.Cases, Count{Name: s, N: byStatus[s]})
	}
	for _, d := range days {
		r.ByDay = append(r.ByDay, *d)
	}
	slices.SortFunc(r.ByDay, func(a, b Day) int { return strings.Compare(a.Date, b.Date) })

	groupRank := map[string]int{groupAll: 0, groupCategory: 1, groupOperator: 2}
	metricRank := map[string]int{TimeToDetect: 0, FirstResponse: 1, TimeToResolve: 2}
	for k, ds := range durs {
		med, p90 := Percentile(ds, 0.5), Percentile(ds, 0.9)
		r.Times = append(r.Times, Timing{Metric: k[0], Group: k[1], Key: k[2], N: len(ds), Median: med, P90: p90})
	}
	slices.SortFunc(r.Times, func(a, b Timing) int {
		if c := cmp.Compare(metricRank[a.Metric], metricRank[b.Metric]); c != 0 {
			return c
		}
		if c := cmp.Compare(groupRank[a.Group], groupRank[b.Group]); c != 0 {
			return c
		}
		if a.Group == groupCategory {
			return categoryOrder(a.Key, b.Key)
		}
		return strings.Compare(a.Key, b.Key)
	})

	for kind, m := range map[string]map[string]*tally{"rule": rules, "signal": signals} {
		for name, t := range m {
			r.NotRelevant = append(r.NotRelevant, Share{Kind: kind, Name: name, Alerts: t.alerts, NotRelevant: t.dismissed,
				Share: math.Round(float64(t.dismissed)/float64(t.alerts)*1000) / 1000})
		}
	}
	slices.SortFunc(r.NotRelevant, func(a, b Share) int {
		if a.Kind != b.Kind {
			return strings.Compare(a.Kind, b.Kind) // rule before signal
		}
		if c := cmp.Compare(b.Share, a.Share); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Alerts, a.Alerts); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})

	n := opt.Questions
	if n <= 0 {
		n = 10
	}
	for _, q := range questions.Top(n, 2) {
		r.Questions = append(r.Questions, Question{Term: q.Text, Posts: q.Posts})
	}
	return r
}

// counts turns a tally into a list, by order (nil: most first, then by name).
func counts(m map[string]int, order func(a, b string) int) []Count {
	out := make([]Count, 0, len(m))
	for k, n := range m {
		out = append(out, Count{Name: k, N: n})
	}
	slices.SortFunc(out, func(a, b Count) int {
		if order != nil {
			return order(a.Name, b.Name)
		}
		if c := cmp.Compare(b.N, a.N); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// person reports whether an event was done by a person (not kizuki itself).
func person(ev store.CaseEvent) bool { return ev.Actor != "" && ev.Actor != store.SystemActor }

// firstResponse is the first claim or resolution of a case by a person.
func firstResponse(c store.Case) (store.CaseEvent, bool) {
	for _, ev := range c.History {
		if (ev.Action == store.ActionClaimed || ev.Action == store.ActionResolved) && person(ev) {
			return ev, true
		}
	}
	return store.CaseEvent{}, false
}

// resolution is the last resolution of a case that is resolved now.
func resolution(c store.Case) (store.CaseEvent, bool) {
	if c.Status != store.StatusResolved {
		return store.CaseEvent{}, false
	}
	for i := len(c.History) - 1; i >= 0; i-- {
		if ev := c.History[i]; ev.Action == store.ActionResolved {
			return ev, true
		}
	}
	return store.CaseEvent{}, false
}

// notRelevant reports a case dismissed as not relevant (the alert's button) and not
// reopened since.
func notRelevant(c store.Case) bool {
	return c.Status == store.StatusDismissed
}

// Percentile is the nearest-rank p-quantile of ds (0 for none): the smallest value with
// at least p of the values at or below it.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p*float64(len(s)) - 1e-9))
	return s[min(max(rank, 1), len(s))-1]
}

// signalRE finds the signal of a scoring reason: `"refund" (refund-words) → risky +30`,
// `"km-401" (kumo-error-code pattern) → actionable +30`.
var signalRE = regexp.MustCompile(`^"(?:[^"\\]|\\.)*" \(([^,()]+?)(?: pattern)?(?:, [^()]*)?\) → [a-z]+ [+-]\d+$`)

// Signals returns the names of the signals that scored in a decision's reasons, each once.
func Signals(reasons []string) []string {
	var out []string
	for _, r := range reasons {
		if m := signalRE.FindStringSubmatch(r); m != nil && !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// keywordRE finds the keywords a decision matched: `about Kumo Mobile: keyword "クモモバイル", …`.
var keywordRE = regexp.MustCompile(`keyword "((?:[^"\\]|\\.)*)"`)

// Keywords returns the brand keywords a decision's reasons name; recurring questions leave
// them out, since every post of the brand has one.
func Keywords(reasons []string) []string {
	var out []string
	for _, r := range reasons {
		if !strings.HasPrefix(r, "about ") {
			continue
		}
		for _, m := range keywordRE.FindAllStringSubmatch(r, -1) {
			out = append(out, m[1])
		}
	}
	return out
}
