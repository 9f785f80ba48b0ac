package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSearchCommand(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if code, _, errs := kizuki(t, "", "replay", "--rules", "testdata/rules", "--input", "testdata/posts.jsonl", "--data-dir", data); code != 0 {
		t.Fatalf("replay: %s", errs)
	}
	// Japanese morphology: 満足 finds 満足できない; the table shows the hit marked.
	code, out, errs := kizuki(t, "", "search", "満足", "--data-dir", data)
	if code != 0 || !strings.Contains(out, "x:9") || !strings.Contains(out, "[満足]") || !strings.Contains(out, "1 of 1 matching posts") {
		t.Fatalf("search 満足: code %d\n%s%s", code, out, errs)
	}
	// English stemming and a category filter; jsonl gives the posts back.
	code, out, errs = kizuki(t, "", "search", "--data-dir", data, "--category", "risky", "--format", "jsonl", "leaks")
	if code != 0 {
		t.Fatalf("search leaks: %s", errs)
	}
	var p struct{ ID string }
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &p); err != nil || p.ID != "x:4" {
		t.Fatalf("jsonl %q (%v), want the post x:4", out, err)
	}
	// A bad query is explained, exit 1, no stack trace.
	code, _, errs = kizuki(t, "", "search", "--data-dir", data, `brand:"unclosed`)
	if code != 1 || !strings.Contains(errs, "never closed") || strings.Contains(errs, "goroutine") {
		t.Errorf("bad query: code %d, %q", code, errs)
	}
	// A directory with no data says what to do.
	if code, _, errs := kizuki(t, "", "search", "--data-dir", filepath.Join(t.TempDir(), "none"), "x"); code != 1 || !strings.Contains(errs, "replay --data-dir") {
		t.Errorf("missing data dir: code %d, %q", code, errs)
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{"", time.Time{}, false},
		{"7d", now.AddDate(0, 0, -7), false},
		{"12h", now.Add(-12 * time.Hour), false},
		{"2026-11-20T09:00:00Z", time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), false},
		{"-3h", time.Time{}, true},
		{"soon", time.Time{}, true},
		{"1.5d", time.Time{}, true},
	}
	for _, tc := range tests {
		got, err := parseWhen(tc.in, now)
		if (err != nil) != tc.bad || (!tc.bad && !got.Equal(tc.want)) {
			t.Errorf("parseWhen(%q) = %v, %v", tc.in, got, err)
		}
	}
}
