package main

import (
	"bytes"
	"encoding/csv"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/store"
)

func TestExportCSV(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if code, _, errs := kizuki(t, "", "replay", "--rules", "testdata/rules", "--input", "testdata/posts.jsonl", "--data-dir", data); code != 0 {
		t.Fatalf("replay: %s", errs)
	}
	code, out, errs := kizuki(t, "", "export", "--data-dir", data, "--category", "risky", "--since", "2026-11-01", "--bom")
	if code != 0 {
		t.Fatalf("export: code %d: %s", code, errs)
	}
	if !strings.HasPrefix(out, "\uFEFF") {
		t.Fatal("no BOM with --bom")
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v\n%s", err, out)
	}
	if !slices.Equal(rows[0], exportColumns) {
		t.Fatalf("header %v", rows[0])
	}
	for _, r := range rows[1:] {
		if r[3] != "risky" {
			t.Errorf("row of category %q in a risky export", r[3])
		}
	}
	// testdata/posts.jsonl has two risky posts: x:4 (English, with commas) and x:8 (Japanese).
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 2 risky posts:\n%s", len(rows)-1, out)
	}
	joined := strings.Join(rows[1][13:], "") + strings.Join(rows[2][13:], "")
	if !strings.Contains(joined, "二度と使わない") || !strings.Contains(joined, "This is a scam, I'm") {
		t.Errorf("texts not intact: %q", joined)
	}
}

func TestWriteCSVEscapes(t *testing.T) {
	t.Parallel()
	recs := []store.Recorded{{Post: post.Post{ID: "x:1", Platform: "x", Text: "=HYPERLINK(\"http://evil\")\nline \"two\", 返金",
		CreatedAt: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), Author: post.Author{Handle: "a", Name: "A, B"}},
		Decision: store.Decision{Brand: "Kumo Mobile", Category: "positive", Score: 50}}}
	var buf bytes.Buffer
	if err := writeCSV(&buf, recs, false); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	row := rows[1]
	if row[6] != "A, B" || row[0] != "2026-11-20T09:00:00Z" {
		t.Errorf("row %q", row)
	}
	if want := "'=HYPERLINK(\"http://evil\")\nline \"two\", 返金"; row[13] != want {
		t.Errorf("text cell %q, want %q (formula neutralised, the rest intact)", row[13], want)
	}
}
