package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/store"
)

// reportData writes a data directory with three alerts of 2026-11-20 (Tokyo): one claimed
// after 8 minutes and resolved, one dismissed as not relevant, one still open.
func reportData(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st, err := store.Open(filepath.Join(dir, "kizuki.db"), store.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i, c := range []struct{ id, category, text string }{
		{"x:1", "actionable", "Kumo Mobile no signal, how do I fix it?"},
		{"x:2", "risky", "Kumo Mobile charged me twice"},
		{"bsky:3", "actionable", "Kumo Mobile no signal again"},
	} {
		now = time.Date(2026, 11, 20, 1, i, 0, 0, time.UTC)
		rec := store.Recorded{Post: post.Post{ID: c.id, Platform: strings.Split(c.id, ":")[0], Text: c.text, CreatedAt: now.Add(-2 * time.Minute)},
			Decision: store.Decision{Brand: "Kumo Mobile", Category: c.category, Alert: true, Relevant: true,
				Reasons: []string{`about Kumo Mobile: keyword "Kumo Mobile"`, `"no signal" (outage-words) → actionable +25`}}}
		if _, err := st.RecordPosts(ctx, []store.Recorded{rec}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.OpenCase(ctx, store.Case{ID: c.id, Brand: "Kumo Mobile", Category: c.category}); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(6 * time.Minute)
	if _, err := st.Claim(ctx, "x:1", "U0SATO"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Resolve(ctx, "x:1", "U0SATO"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Dismiss(ctx, "x:2", "U0KATO", "not relevant"); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReportCommand(t *testing.T) {
	dir := reportData(t)
	base := []string{"report", "--data-dir", dir, "--since", "2026-11-20", "--until", "2026-11-21", "--timezone", "Asia/Tokyo"}

	code, out, errs := kizuki(t, "", base...)
	if code != 0 {
		t.Fatalf("table: code %d: %s", code, errs)
	}
	for _, want := range []string{
		"Kizuki report  2026-11-20 00:00 → 2026-11-21 00:00 (Asia/Tokyo)  all brands",
		"ALERTS  3", "risky 1 · actionable 2", "x 2 · bsky 1",
		"first response (alert → claim)", "U0SATO", "8m",
		"CASES  open 1 · claimed 0 · snoozed 0 · resolved 1 · dismissed 1",
		"rule    Kumo Mobile", "33%",
		"2  no signal",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	code, out, errs = kizuki(t, "", append(base, "--format", "csv")...)
	if code != 0 {
		t.Fatalf("csv: code %d: %s", code, errs)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || strings.Join(rows[0], ",") != "section,group,key,n,of,median_seconds,p90_seconds,share" {
		t.Fatalf("csv %v: %v", rows, err)
	}

	code, out, errs = kizuki(t, "", append(base, "--format", "json", "--brand", "Sora Cafe")...)
	if code != 0 {
		t.Fatalf("json: code %d: %s", code, errs)
	}
	var r struct {
		Alerts int    `json:"alerts"`
		Brand  string `json:"brand"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Alerts != 0 || r.Brand != "Sora Cafe" {
		t.Errorf("json for another brand: %+v %v\n%s", r, err, out)
	}
}

func TestReportUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad format", []string{"report", "--format", "xml"}, 2, "--format is table, csv or json"},
		{"bad since", []string{"report", "--since", "last week"}, 2, "--since"},
		{"bad zone", []string{"report", "--timezone", "Mars/Olympus"}, 2, "unknown time zone"},
		{"until before since", []string{"report", "--since", "2026-11-20", "--until", "2026-11-19"}, 2, "--until must be after --since"},
		{"no data", []string{"report", "--data-dir", filepath.Join(t.TempDir(), "none")}, 1, "record posts first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := kizuki(t, "", tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("code %d, stderr %q; want %d and %q", code, errs, tc.code, tc.want)
			}
		})
	}
}
