package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Tokyo on machines without a zoneinfo database

	"github.com/kizuki-dev/kizuki/internal/testclock"
	"github.com/kizuki-dev/kizuki/japanese"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// ja is shared: the dictionary loads once.
var ja = japanese.New()

// step is something an operator (or kizuki) did to a case, minutes after the alert.
type step struct {
	after  time.Duration
	action string // sent, claim, resolve, dismiss, snooze, reopen
	actor  string
}

// alertCase is one alert of the constructed history.
type alertCase struct {
	id, brand, category, text string
	posted                    time.Time     // the post's creation
	detect                    time.Duration // post → alert
	reasons                   []string
	steps                     []step
	noPost                    bool // deleted by retention
	metrics                   post.Metrics
}

var jst = time.FixedZone("JST", 9*3600)

func at(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, jst) }

const (
	kumoKw  = `about Kumo Mobile: keyword "Kumo Mobile"`
	kumoJa  = `about Kumo Mobile: keyword "クモモバイル"`
	soraKw  = `about Sora Cafe: keyword "Sora Cafe"`
	outage  = `"圏外" (outage-words) → actionable +25`
	outEn   = `"no signal" (outage-words) → actionable +25`
	qJa     = "question form (Japanese) → actionable +10"
	billing = `"charged me twice" (billing-complaint) → risky +30`
	churn   = `"never again" (churn-words, after a contrast) → risky +15`
	praise  = `"love" (praise-en) → positive +30`
	errCode = `"km-401" (kumo-error-code pattern) → actionable +30`
)

// history is a constructed week of alerts, with every case of the KPIs: quick and slow
// responses by two operators, an alert held by quiet hours (its first response counts from
// when it was shown), a case resolved without a claim, one reopened and resolved again,
// dismissals as not relevant, open and snoozed cases, a post deleted by retention, and
// alerts just outside the period.
func history() []alertCase {
	m := time.Minute
	return []alertCase{
		{id: "x:100", brand: "Kumo Mobile", category: "actionable", text: "Kumo Mobile no signal before the period",
			posted: at(17, 23, 50), detect: 2 * m, reasons: []string{kumoKw, outEn}},
		{id: "x:101", brand: "Kumo Mobile", category: "actionable", text: "クモモバイル、朝から圏外。電波が入らないけどどうすれば直りますか？",
			posted: at(18, 9, 0), detect: 3 * m, reasons: []string{kumoJa, outage, qJa},
			steps: []step{{0, "sent", ""}, {7 * m, "claim", "U0SATO"}, {37 * m, "resolve", "U0SATO"}}},
		{id: "x:102", brand: "Kumo Mobile", category: "actionable", text: "Kumo Mobile no signal since this morning, any fix?",
			posted: at(18, 10, 0), detect: 5 * m, reasons: []string{kumoKw, outEn},
			steps: []step{{0, "sent", ""}, {30 * m, "claim", "U0KATO"}, {2 * time.Hour, "resolve", "U0KATO"}}},
		{id: "bsky:103", brand: "Kumo Mobile", category: "risky", text: "Kumo Mobile charged me twice. Never again, refund now.",
			posted: at(18, 12, 30), detect: 90 * time.Second, reasons: []string{kumoKw, billing, churn},
			steps: []step{{0, "sent", ""}, {4 * m, "claim", "U0SATO"}, {3 * time.Hour, "resolve", "U0SATO"}}},
		// Held by quiet hours: decided at 23:30, shown at 08:00, claimed at 08:12.
		{id: "x:104", brand: "Kumo Mobile", category: "actionable", text: "クモモバイル 電波が入らない、圏外のまま",
			posted: at(18, 23, 20), detect: 10 * m, reasons: []string{kumoJa, outage},
			steps: []step{{8*time.Hour + 30*m, "sent", ""}, {8*time.Hour + 42*m, "claim", "U0KATO"}, {9 * time.Hour, "resolve", "U0KATO"}}},
		// Resolved at once, without a claim: the resolution is the first response.
		{id: "x:105", brand: "Kumo Mobile", category: "actionable", text: "Kumo Mobile app says KM-401 when I log in, no signal either",
			posted: at(19, 14, 0), detect: 4 * m, reasons: []string{kumoKw, errCode, outEn},
			steps: []step{{0, "sent", ""}, {15 * m, "resolve", "U0SATO"}}},
		// Reopened and resolved again: time to resolve runs to the last resolution.
		{id: "x:106", brand: "Kumo Mobile", category: "actionable", text: "Kumo Mobile how do I change my plan?",
			posted: at(19, 15, 0), detect: 2 * m, reasons: []string{kumoKw},
			steps: []step{{0, "sent", ""}, {20 * m, "claim", "U0KATO"}, {40 * m, "resolve", "U0KATO"}, {5 * time.Hour, "reopen", "U0SATO"}, {6 * time.Hour, "resolve", "U0SATO"}}},
		// Not relevant: a game called Kumo, and a praise signal that fired on sarcasm.
		{id: "x:107", brand: "Kumo Mobile", category: "actionable", text: "kumo mobile game: no signal in level 3 lol",
			posted: at(19, 20, 0), detect: 3 * m, reasons: []string{kumoKw, outEn},
			steps: []step{{0, "sent", ""}, {25 * m, "dismiss", "U0KATO"}}},
		{id: "x:108", brand: "Sora Cafe", category: "positive", text: "I love how Sora Cafe loses my order every time",
			posted: at(19, 8, 0), detect: 6 * m, reasons: []string{soraKw, praise},
			steps: []step{{0, "sent", ""}, {50 * m, "dismiss", "U0MARK"}}},
		{id: "x:109", brand: "Sora Cafe", category: "positive", text: "Sora Cafe matcha latte, love it",
			posted: at(20, 11, 0), detect: 2 * m, reasons: []string{soraKw, praise}, metrics: post.Metrics{Likes: 40, Reposts: 3},
			steps: []step{{0, "sent", ""}, {9 * m, "claim", "U0MARK"}, {10 * m, "resolve", "U0MARK"}}},
		// Still open, and snoozed.
		{id: "x:110", brand: "Kumo Mobile", category: "actionable", text: "クモモバイルのeSIM、電波が入らないんだけど",
			posted: at(20, 16, 0), detect: 5 * m, reasons: []string{kumoJa, outage},
			steps: []step{{0, "sent", ""}}},
		{id: "x:111", brand: "Kumo Mobile", category: "risky", text: "Kumo Mobile leaked my data?",
			posted: at(20, 17, 0), detect: 3 * m, reasons: []string{kumoKw},
			steps: []step{{0, "sent", ""}, {10 * m, "snooze", "U0SATO"}}},
		// Its post was deleted by retention: counted, platform from the id.
		{id: "hn:112", brand: "Kumo Mobile", category: "actionable", posted: at(20, 18, 0), detect: 8 * m, noPost: true,
			steps: []step{{0, "sent", ""}, {12 * m, "claim", "U0SATO"}}},
		{id: "x:113", brand: "Kumo Mobile", category: "actionable", text: "Kumo Mobile no signal after the period",
			posted: at(21, 0, 5), detect: 2 * m, reasons: []string{kumoKw, outEn}},
	}
}

// buildStore writes the history into a new store, as the daemon and Slack clicks would.
func buildStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	c := testclock.New(at(17, 0, 0))
	st, err := store.Open(filepath.Join(t.TempDir(), "kizuki.db"), store.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, h := range history() {
		alertAt := h.posted.Add(h.detect)
		c.Set(alertAt)
		if _, _, err := st.OpenCase(ctx, store.Case{ID: h.id, Brand: h.brand, Category: h.category, Channel: "#c"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Enqueue(ctx, store.OutboxItem{Key: h.id + ":alert", Channel: "#c", Payload: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
		if !h.noPost {
			platform, _, _ := strings.Cut(h.id, ":")
			rec := store.Recorded{
				Post: post.Post{ID: h.id, Platform: platform, CreatedAt: h.posted, Text: h.text, Metrics: h.metrics,
					Author: post.Author{ID: "a" + h.id, Handle: "author_" + strings.ReplaceAll(h.id, ":", "_")}},
				Decision: store.Decision{Brand: h.brand, Category: h.category, Score: 60, Alert: true, Relevant: true, Reasons: h.reasons},
			}
			if _, err := st.RecordPosts(ctx, []store.Recorded{rec}); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range h.steps {
			c.Set(alertAt.Add(s.after))
			var err error
			switch s.action {
			case "sent":
				err = st.MarkSent(ctx, h.id+":alert", "1.0")
			case "claim":
				_, err = st.Claim(ctx, h.id, s.actor)
			case "resolve":
				_, err = st.Resolve(ctx, h.id, s.actor)
			case "dismiss":
				_, err = st.Dismiss(ctx, h.id, s.actor, "not relevant")
			case "snooze":
				_, err = st.Snooze(ctx, h.id, s.actor, c.Now().Add(48*time.Hour))
			case "reopen":
				_, err = st.Reopen(ctx, h.id, s.actor, "customer wrote again")
			}
			if err != nil {
				t.Fatalf("%s %s: %v", h.id, s.action, err)
			}
		}
	}
	return st
}

func tokyo(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func compute(t *testing.T, st *store.Store, brand string) *Report {
	t.Helper()
	r, err := Compute(context.Background(), st, Options{Since: at(18, 0, 0), Until: at(21, 0, 0), Brand: brand, Location: tokyo(t), Japanese: ja})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test ./report -update to accept):\n%s", path, got)
	}
}

func TestReportGolden(t *testing.T) {
	st := buildStore(t)
	r := compute(t, st, "")
	for _, tc := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"report.txt", func(b *bytes.Buffer) error { return r.WriteTable(b) }},
		{"report.csv", func(b *bytes.Buffer) error { return r.WriteCSV(b) }},
		{"report.json", func(b *bytes.Buffer) error { return r.WriteJSON(b) }},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, b.Bytes())
		})
	}
}

// timing finds a time KPI.
func timing(r *Report, metric, group, key string) (Timing, bool) {
	for _, x := range r.Times {
		if x.Metric == metric && x.Group == group && x.Key == key {
			return x, true
		}
	}
	return Timing{}, false
}

// TestReportArithmetic checks by hand the numbers the golden files hold.
func TestReportArithmetic(t *testing.T) {
	st := buildStore(t)
	r := compute(t, st, "")
	m := time.Minute
	if r.Alerts != 12 || r.PostsMissing != 1 {
		t.Errorf("alerts %d, missing posts %d; want 12 (x:100 and x:113 are outside the period) and 1", r.Alerts, r.PostsMissing)
	}
	for _, tc := range []struct {
		metric, group, key string
		n                  int
		median, p90        time.Duration
	}{
		// time to detect of the 11 posts kept: 1.5, 2, 2, 3, 3, 3, 4, 5, 5, 6, 10 minutes.
		{TimeToDetect, groupAll, "", 11, 3 * m, 6 * m},
		// first responses: x:104 counts from 08:00, when it was shown (12m), not from 23:30.
		// U0SATO: 101 7m, 103 4m, 105 15m (a resolve), 112 12m → median 7m, p90 15m.
		{FirstResponse, groupOperator, "U0SATO", 4, 7 * m, 15 * m},
		{FirstResponse, groupOperator, "U0KATO", 3, 20 * m, 30 * m},
		{FirstResponse, groupAll, "", 8, 12 * m, 30 * m},
		// x:106 resolved again by U0SATO 6h after the alert: the last resolution counts.
		{TimeToResolve, groupOperator, "U0SATO", 4, 37 * m, 6 * time.Hour},
		{TimeToResolve, groupCategory, "risky", 1, 3 * time.Hour, 3 * time.Hour},
	} {
		x, ok := timing(r, tc.metric, tc.group, tc.key)
		if !ok || x.N != tc.n || x.Median != tc.median || x.P90 != tc.p90 {
			t.Errorf("%s %s %s = %+v, want n %d median %v p90 %v", tc.metric, tc.group, tc.key, x, tc.n, tc.median, tc.p90)
		}
	}
	wantCases := map[string]int{"open": 1, "claimed": 1, "snoozed": 1, "resolved": 7, "dismissed": 2}
	for _, c := range r.Cases {
		if wantCases[c.Name] != c.N {
			t.Errorf("cases %s = %d, want %d", c.Name, c.N, wantCases[c.Name])
		}
	}
	shares := map[string]Share{}
	for _, s := range r.NotRelevant {
		shares[s.Kind+":"+s.Name] = s
	}
	if s := shares["rule:Sora Cafe"]; s.Alerts != 2 || s.NotRelevant != 1 || s.Share != 0.5 {
		t.Errorf("Sora Cafe %+v", s)
	}
	if s := shares["signal:praise-en"]; s.Alerts != 2 || s.NotRelevant != 1 {
		t.Errorf("praise-en %+v", s)
	}
	if s := shares["signal:outage-words"]; s.Alerts != 6 || s.NotRelevant != 1 {
		t.Errorf("outage-words %+v", s)
	}
	if len(r.Questions) == 0 || r.Questions[0].Term != "電波が入らない" || r.Questions[0].Posts != 3 {
		t.Errorf("recurring questions %+v, want 電波が入らない in 3 posts first", r.Questions)
	}
	for _, q := range r.Questions {
		if strings.Contains(q.Term, "game") {
			t.Errorf("a post dismissed as not relevant counts toward questions: %+v", q)
		}
	}
}

func TestReportBrand(t *testing.T) {
	st := buildStore(t)
	r := compute(t, st, "Sora Cafe")
	if r.Alerts != 2 || len(r.ByCategory) != 1 || r.ByCategory[0] != (Count{"positive", 2}) {
		t.Errorf("Sora Cafe report: %d alerts, %+v", r.Alerts, r.ByCategory)
	}
}

func TestReportFormatsParse(t *testing.T) {
	st := buildStore(t)
	r := compute(t, st, "")
	var b bytes.Buffer
	if err := r.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(csvColumns, ",") {
		t.Errorf("header %v", rows[0])
	}
	for _, row := range rows {
		if len(row) != len(csvColumns) {
			t.Fatalf("row %v", row)
		}
	}
	b.Reset()
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back["alerts"].(float64) != 12 {
		t.Errorf("json alerts %v", back["alerts"])
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	ds := func(ms ...int) []time.Duration {
		var out []time.Duration
		for _, m := range ms {
			out = append(out, time.Duration(m)*time.Minute)
		}
		return out
	}
	for _, tc := range []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 0.5, 0},
		{ds(5), 0.9, 5 * time.Minute},
		{ds(4, 1, 3, 2), 0.5, 2 * time.Minute}, // nearest rank: the 2nd of 4
		{ds(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.9, 9 * time.Minute},
		{ds(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 0.9, 10 * time.Minute},
	} {
		if got := Percentile(tc.in, tc.p); got != tc.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tc.in, tc.p, got, tc.want)
		}
	}
}

func TestSignalsAndKeywords(t *testing.T) {
	t.Parallel()
	reasons := []string{kumoKw + `, keyword "kumomobile" inside a hashtag`, billing, churn, errCode, qJa, `"返金" (refund-ja) → risky +20`, `"refund" (refund-ja) → risky +10`, "risky 65 ≥ threshold 45"}
	if got := strings.Join(Signals(reasons), ","); got != "billing-complaint,churn-words,kumo-error-code,refund-ja" {
		t.Errorf("Signals = %s", got)
	}
	if got := strings.Join(Keywords(reasons), ","); got != "Kumo Mobile,kumomobile" {
		t.Errorf("Keywords = %s", got)
	}
}
