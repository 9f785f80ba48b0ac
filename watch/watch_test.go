package watch

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	_ "time/tzdata" // Asia/Tokyo on machines without a zoneinfo database

	"github.com/kizuki-dev/kizuki/alerting"
	"github.com/kizuki-dev/kizuki/internal/testclock"
	"github.com/kizuki-dev/kizuki/japanese"
	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/store"
)

// ja is shared by the tests: the dictionary loads once.
var ja = japanese.New()

type clock = testclock.Clock

const kumoRule = `brand: Kumo Mobile
keywords: ["Kumo Mobile", "クモモバイル"]
handles: [kumomobile]
routing: {risky: "#kumo-risk", actionable: "#kumo-support"}
`

const soraRule = `brand: Sora Cafe
keywords: ["Sora Cafe"]
routing: {risky: "#sora-risk"}
surge:
  min_count: 10
  cooldown: 30m
velocity: {window: 30m, factor: 5, min_count: 20, absolute: 500}
`

func loadRules(t *testing.T, files map[string]string) *rules.Set {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	set, err := rules.LoadFS(fsys, nil, rules.Options{NoBuiltin: true})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

type fixture struct {
	st    *store.Store
	clock *clock
	w     *Watch
	loc   *time.Location
	n     int
}

func newFixture(t *testing.T, loc *time.Location) *fixture {
	t.Helper()
	c := testclock.New(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	st, err := store.Open(filepath.Join(t.TempDir(), "kizuki.db"), store.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	set := loadRules(t, map[string]string{"kumo.yaml": kumoRule, "sora.yaml": soraRule})
	w := New(Options{Store: st, Rules: func() *rules.Set { return set }, Location: loc, Japanese: ja,
		Routes: alerting.Routes{Default: "#kizuki"}})
	return &fixture{st: st, clock: c, w: w, loc: loc}
}

// post records one relevant post of brand and category created at `at`.
func (f *fixture) post(t *testing.T, brand, category, text string, at time.Time) string {
	t.Helper()
	f.n++
	id := fmt.Sprintf("x:%d", f.n)
	rec := store.Recorded{
		Post: post.Post{ID: id, Platform: "x", URL: "https://x.com/u/status/" + id[2:], CreatedAt: at, Text: text,
			Author: post.Author{ID: fmt.Sprint("u", f.n%7), Handle: fmt.Sprint("user", f.n%7), Followers: 100 * f.n}},
		Decision:   store.Decision{Brand: brand, Category: category, Score: 50 + f.n%40, Alert: true, Relevant: true},
		RecordedAt: at,
	}
	if _, err := f.st.RecordPosts(context.Background(), []store.Recorded{rec}); err != nil {
		t.Fatal(err)
	}
	return id
}

// posts records n posts spread evenly over [from, from+span).
func (f *fixture) posts(t *testing.T, brand, category string, n int, from time.Time, span time.Duration, text func(i int) string) {
	t.Helper()
	var recs []store.Recorded
	for i := range n {
		f.n++
		at := from.Add(span * time.Duration(i) / time.Duration(n))
		id := fmt.Sprintf("x:%d", f.n)
		recs = append(recs, store.Recorded{
			Post: post.Post{ID: id, Platform: "x", CreatedAt: at, Text: text(i),
				Author: post.Author{ID: fmt.Sprint("u", f.n), Handle: fmt.Sprint("user", f.n), Followers: f.n}},
			Decision:   store.Decision{Brand: brand, Category: category, Score: 40 + f.n%50, Alert: true, Relevant: true},
			RecordedAt: at,
		})
	}
	if _, err := f.st.RecordPosts(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

// check runs CheckSurges at now, with the store's clock there too.
func (f *fixture) check(t *testing.T, now time.Time) {
	t.Helper()
	f.clock.Set(now)
	if err := f.w.CheckSurges(context.Background(), now); err != nil {
		t.Fatal(err)
	}
}

// outbox returns every pending outbox item by key, decoded.
func (f *fixture) outbox(t *testing.T) map[string]outboxMsg {
	t.Helper()
	items, err := f.st.Pending(context.Background(), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]outboxMsg{}
	for _, it := range items {
		var a alerting.Alert
		if err := json.Unmarshal(it.Payload, &a); err != nil {
			t.Fatalf("outbox %s: %v", it.Key, err)
		}
		out[it.Key] = outboxMsg{channel: it.Channel, alert: a}
	}
	return out
}

type outboxMsg struct {
	channel string
	alert   alerting.Alert
}

func keysWith(m map[string]outboxMsg, prefix string) []string {
	var keys []string
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	cfg := rules.DefaultSurge()
	for _, tc := range []struct {
		name      string
		count     int
		base      []int
		fire      bool
		threshold int
		learning  bool
	}{
		{"quiet brand, sudden spike", 12, []int{0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}, true, 10, false},
		{"quiet brand, 3 posts at night", 3, []int{0, 0, 0, 0, 0, 0, 0}, false, 10, false},
		{"below min_count", 9, []int{0, 0, 0, 0, 0, 0, 0}, false, 10, false},
		{"usual peak", 46, []int{38, 41, 44, 40, 36, 43, 41, 39, 42, 40, 45, 37, 41, 44}, false, 128, false},
		{"three times the peak", 130, []int{38, 41, 44, 40, 36, 43, 41, 39, 42, 40, 45, 37, 41, 44}, true, 128, false},
		{"every Saturday is busy", 30, []int{9, 11, 10, 12, 10, 9, 31, 10, 11, 9, 10, 12, 10, 29}, false, 90, false},
		{"a busy Saturday is no surge on a Tuesday", 30, []int{9, 11, 10, 12, 10, 31, 9, 10, 11, 9, 10, 12, 29, 10}, true, 30, false},
		{"learning", 50, []int{0, 0, -1, -1, -1}, false, 10, true},
		{"days before the history are left out", 12, []int{0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}, true, 10, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Evaluate(cfg, tc.count, tc.base)
			if v.Fire != tc.fire || v.Learning != tc.learning || (tc.threshold > 0 && v.Threshold != tc.threshold) {
				t.Errorf("Evaluate(%d, %v) = fire %v learning %v threshold %d (usual %.1f spread %.1f), want fire %v learning %v threshold %d",
					tc.count, tc.base, v.Fire, v.Learning, v.Threshold, v.Expected, v.Spread, tc.fire, tc.learning, tc.threshold)
			}
		})
	}
	v := Evaluate(cfg, 14, []int{2, 1, 3, 2, 2, 2, 1, 3, 2, 2, 4, 2, 1, 2})
	why := v.Why(cfg, "risky or actionable")
	for _, want := range []string{"14 risky or actionable posts in the last 1h", "threshold 10", "min_count 10", "factor 3 × usual 2 = 6", "on 14 days"} {
		if !strings.Contains(why, want) {
			t.Errorf("why %q lacks %q", why, want)
		}
	}
}

// quietHistory gives a brand 14 days of a post now and then: the usual level is about 0.
func quietHistory(t *testing.T, f *fixture, brand string, until time.Time) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	for d := 14; d >= 1; d-- {
		day := until.AddDate(0, 0, -d)
		for range 3 {
			f.post(t, brand, "actionable", "Sora Cafe wifi password?", day.Add(time.Duration(rng.IntN(24*60))*time.Minute))
		}
		f.post(t, brand, "positive", "Sora Cafe latte is great", day.Add(12*time.Hour))
	}
}

func TestQuietBrandSpikeAlertsOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.UTC)
	ctx := context.Background()
	spike := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	quietHistory(t, f, "Sora Cafe", spike)

	// Before the spike: nothing.
	for now := spike.Add(-time.Hour); now.Before(spike); now = now.Add(5 * time.Minute) {
		f.check(t, now)
	}
	if got := keysWith(f.outbox(t), "surge:"); len(got) != 0 {
		t.Fatalf("alerts before the spike: %v", got)
	}

	// 24 angry posts in 40 minutes; the watch runs every 5 minutes throughout.
	f.posts(t, "Sora Cafe", "risky", 16, spike, 40*time.Minute, func(i int) string {
		return []string{"Sora Cafe food poisoning, my whole family is sick", "food poisoning after Sora Cafe lunch #sorabad", "Sora Cafe: food poisoning, refund now"}[i%3]
	})
	f.posts(t, "Sora Cafe", "actionable", 8, spike, 40*time.Minute, func(i int) string { return "is Sora Cafe closed? food poisoning news" })
	var opened time.Time
	for now := spike; now.Before(spike.Add(3 * time.Hour)); now = now.Add(5 * time.Minute) {
		f.check(t, now)
		if sg, ok, _ := f.st.LatestSurge(ctx, "Sora Cafe"); ok && opened.IsZero() {
			opened = now
			if !sg.Active() || !sg.Alerted {
				t.Fatalf("surge at %v: %+v", now, sg)
			}
			key, ok := f.w.Inhibit(ctx, "Sora Cafe", rules.Risky)
			if !ok || key != sg.AlertKey {
				t.Errorf("Inhibit during the surge = %q %v, want %q", key, ok, sg.AlertKey)
			}
			if _, ok := f.w.Inhibit(ctx, "Sora Cafe", rules.Positive); ok {
				t.Error("a positive post was inhibited: the surge counts risky and actionable only")
			}
			if _, ok := f.w.Inhibit(ctx, "Kumo Mobile", rules.Risky); ok {
				t.Error("another brand was inhibited")
			}
		}
	}
	if opened.IsZero() || opened.Sub(spike) > 30*time.Minute {
		t.Fatalf("surge opened at %v, want within 30 minutes of the spike at %v", opened, spike)
	}
	out := f.outbox(t)
	alerts := keysWith(out, "surge:Sora Cafe:")
	var main []string
	for _, k := range alerts {
		if !strings.HasSuffix(k, ":end") {
			main = append(main, k)
		}
	}
	if len(main) != 1 {
		t.Fatalf("surge alerts %v, want exactly one over 36 checks", main)
	}
	msg := out[main[0]]
	if msg.channel != "#sora-risk" || msg.alert.Kind != alerting.KindNotice || msg.alert.Blocks == nil {
		t.Fatalf("alert to %s, kind %q", msg.channel, msg.alert.Kind)
	}
	blocks, _ := json.Marshal(msg.alert.Blocks)
	for _, want := range []string{"SURGE", "food poisoning", "Why:", "min_count 10", "sora.yaml:4", "Top posts", "Close incident"} {
		if !strings.Contains(string(blocks), want) {
			t.Errorf("surge alert lacks %q:\n%s", want, blocks)
		}
	}
	if strings.Contains(string(blocks), "*Sora Cafe* — ") || strings.Contains(string(blocks), "• *sora cafe*") {
		t.Errorf("the brand's own name is listed as a term that grew:\n%s", blocks)
	}

	// Three hours later the spike is long over: the surge ended, said so in its thread,
	// and incident mode is off.
	sg, _, _ := f.st.LatestSurge(ctx, "Sora Cafe")
	if sg.Status != store.SurgeEnded || sg.Peak < 10 {
		t.Fatalf("after the spike: %+v", sg)
	}
	end, ok := out[sg.AlertKey+":end"]
	if !ok || end.alert.Kind != alerting.KindReply || end.alert.ThreadKey != sg.AlertKey || !strings.Contains(end.alert.Text, "Back to normal") {
		t.Errorf("end reply %+v", end)
	}
	if _, ok := f.w.Inhibit(ctx, "Sora Cafe", rules.Risky); ok {
		t.Error("still inhibited after the surge ended")
	}
}

// rhythm gives a brand a strong daily rhythm in Tokyo: 2 posts an hour at night, 40 in
// the lunch hour, 10 otherwise, ±15%.
func rhythm(t *testing.T, f *fixture, brand string, days int, until time.Time) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 9))
	for d := days; d >= 1; d-- {
		day := time.Date(until.Year(), until.Month(), until.Day()-d, 0, 0, 0, 0, f.loc)
		for h := range 24 {
			n := 10
			switch {
			case h >= 1 && h < 7:
				n = 2
			case h == 12:
				n = 40
			}
			n += int(float64(n) * (rng.Float64() - 0.5) * 0.3)
			f.posts(t, brand, "actionable", n, day.Add(time.Duration(h)*time.Hour), time.Hour, func(int) string { return "Kumo Mobile plan question" })
		}
	}
}

func TestDailyRhythmDoesNotAlertAtItsPeak(t *testing.T) {
	t.Parallel()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, tokyo)
	today := time.Date(2026, 11, 20, 0, 0, 0, 0, tokyo)
	rhythm(t, f, "Kumo Mobile", 14, today)
	// Today's lunch hour as busy as ever: 46 posts, more than 4× the daytime level and 20×
	// the night, yet usual for noon.
	f.posts(t, "Kumo Mobile", "actionable", 46, today.Add(12*time.Hour), 55*time.Minute, func(int) string { return "Kumo Mobile lunch question" })
	for now := today.Add(12 * time.Hour); now.Before(today.Add(13 * time.Hour)); now = now.Add(5 * time.Minute) {
		f.check(t, now)
	}
	if got := keysWith(f.outbox(t), "surge:"); len(got) != 0 {
		t.Fatalf("the usual lunch peak alerted: %v", got)
	}
	// The same 46 posts at 3 in the morning are a surge.
	f.posts(t, "Kumo Mobile", "actionable", 46, today.Add(3*time.Hour), 55*time.Minute, func(int) string { return "Kumo Mobile no signal at night" })
	f.check(t, today.Add(3*time.Hour+55*time.Minute))
	if got := keysWith(f.outbox(t), "surge:Kumo Mobile:"); len(got) != 1 {
		t.Fatalf("46 posts at 3am: alerts %v, want one", got)
	}
}

func TestTinyCountsNeverAlert(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.UTC)
	night := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	// Two weeks with not a single post at night, then 3 (and later 9) angry posts.
	for d := 14; d >= 1; d-- {
		f.post(t, "Sora Cafe", "positive", "Sora Cafe is lovely", night.AddDate(0, 0, -d).Add(12*time.Hour))
	}
	f.posts(t, "Sora Cafe", "risky", 3, night, 20*time.Minute, func(int) string { return "Sora Cafe scam" })
	for now := night; now.Before(night.Add(time.Hour)); now = now.Add(5 * time.Minute) {
		f.check(t, now)
	}
	f.posts(t, "Sora Cafe", "risky", 6, night.Add(time.Hour), 20*time.Minute, func(int) string { return "Sora Cafe scam" })
	for now := night.Add(time.Hour); now.Before(night.Add(2 * time.Hour)); now = now.Add(5 * time.Minute) {
		f.check(t, now)
	}
	if got := keysWith(f.outbox(t), "surge:"); len(got) != 0 {
		t.Fatalf("tiny counts alerted: %v", got)
	}
}

func TestNoHistoryNoAlert(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.UTC)
	now := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	// A fresh install: two days of history, less than min_days 3.
	f.post(t, "Sora Cafe", "positive", "Sora Cafe is lovely", now.AddDate(0, 0, -2).Add(-time.Hour))
	f.posts(t, "Sora Cafe", "risky", 50, now.Add(-40*time.Minute), 40*time.Minute, func(int) string { return "Sora Cafe scam" })
	f.check(t, now)
	if got := keysWith(f.outbox(t), "surge:"); len(got) != 0 {
		t.Fatalf("a brand still learning alerted: %v", got)
	}
}

func TestCloseIncident(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, time.UTC)
	spike := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	quietHistory(t, f, "Sora Cafe", spike)
	f.posts(t, "Sora Cafe", "risky", 30, spike, 30*time.Minute, func(int) string { return "Sora Cafe data leak" })
	f.check(t, spike.Add(30*time.Minute))
	sg, ok, _ := f.st.LatestSurge(ctx, "Sora Cafe")
	if !ok || !sg.Active() {
		t.Fatalf("no open surge: %+v", sg)
	}

	// Someone closes it while mentions are still high: incident mode ends, and the next
	// checks do not open a new surge for the same flame-up.
	if _, err := f.w.Close(ctx, "Sora Cafe", "U0RISK"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.w.Inhibit(ctx, "Sora Cafe", rules.Risky); ok {
		t.Error("inhibited after the incident was closed")
	}
	closed := f.outbox(t)[sg.AlertKey+":closed"]
	if closed.alert.ThreadKey != sg.AlertKey || !strings.Contains(closed.alert.Text, "closed by @U0RISK") {
		t.Errorf("close reply %+v", closed.alert.Message)
	}
	f.check(t, spike.Add(35*time.Minute))
	f.check(t, spike.Add(40*time.Minute))
	if got := keysWith(f.outbox(t), "surge:Sora Cafe:"); len(got) != 2 { // the alert and the close reply
		t.Fatalf("after closing: %v", got)
	}
	if _, err := f.w.Close(ctx, "Sora Cafe", "U0RISK"); err == nil {
		t.Error("closing a closed incident succeeded")
	}

	// Calm, then a new flame-up the next day: a new surge.
	f.check(t, spike.Add(3*time.Hour))
	next := spike.Add(24 * time.Hour)
	f.posts(t, "Sora Cafe", "risky", 30, next, 30*time.Minute, func(int) string { return "Sora Cafe again" })
	f.check(t, next.Add(30*time.Minute))
	if sg2, _, _ := f.st.LatestSurge(ctx, "Sora Cafe"); !sg2.Active() || sg2.AlertKey == sg.AlertKey {
		t.Errorf("no new surge after calm: %+v", sg2)
	}
}

func TestDivert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, time.UTC)
	spike := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	quietHistory(t, f, "Sora Cafe", spike)
	f.posts(t, "Sora Cafe", "risky", 30, spike, 30*time.Minute, func(int) string { return "Sora Cafe data leak" })
	f.check(t, spike.Add(30*time.Minute))
	key, ok := f.w.Inhibit(ctx, "Sora Cafe", rules.Risky)
	if !ok {
		t.Fatal("not inhibited")
	}
	p := &post.Post{ID: "x:999", Platform: "x", URL: "https://x.com/a/status/999", Text: "Sora Cafe leaked my card <!channel>",
		Author: post.Author{Handle: "victim", Followers: 1200}, CreatedAt: spike.Add(31 * time.Minute)}
	d := &matcher.Decision{Brand: "Sora Cafe", Category: rules.Risky, Score: 81}
	for range 2 {
		if _, err := f.w.Divert(ctx, key, p, d); err != nil {
			t.Fatal(err)
		}
	}
	out := f.outbox(t)
	r, ok := out[alerting.AlertKey("x:999")]
	if !ok || r.channel != "#sora-risk" || r.alert.Kind != alerting.KindReply || r.alert.ThreadKey != key {
		t.Fatalf("diverted reply %+v", r)
	}
	for _, want := range []string{"RISKY 81", "@victim", "leaked my card", "https://x.com/a/status/999"} {
		if !strings.Contains(r.alert.Text, want) {
			t.Errorf("reply %q lacks %q", r.alert.Text, want)
		}
	}
	if _, err := f.w.Divert(ctx, "surge:Sora Cafe:19990101T0000Z", p, d); err == nil {
		t.Error("diverted into a surge that is not open")
	}
}
