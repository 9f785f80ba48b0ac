package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReindexRebuildsTheIndexFromTheStore(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if code, _, errs := kizuki(t, "", "replay", "--rules", "testdata/rules", "--input", "testdata/posts.jsonl", "--data-dir", data); code != 0 {
		t.Fatalf("replay: %d %s", code, errs)
	}
	search := func() (int, string, string) {
		return kizuki(t, "", "search", "--data-dir", data, "--format", "jsonl", "--limit", "100", "Kumo")
	}
	code, before, errs := search()
	if code != 0 || strings.Count(before, "\n") == 0 {
		t.Fatalf("search before: %d %q %s", code, before, errs)
	}
	// An index this Kizuki cannot read (here: not an index at all) says how to rebuild it.
	idx := filepath.Join(data, "index")
	if err := os.RemoveAll(idx); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(idx, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(idx, "index_meta.json"), []byte(`{"storage":"boltdb","index_type":"upside_down"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := search(); code == 0 || !strings.Contains(errs, "kizuki reindex --data-dir "+data) {
		t.Fatalf("search on a foreign index: code %d, %s", code, errs)
	}
	code, out, errs := kizuki(t, "", "reindex", "--data-dir", data)
	if code != 0 || !strings.Contains(out, "posts indexed from the store") {
		t.Fatalf("reindex: %d %q %s", code, out, errs)
	}
	code, after, errs := search()
	if code != 0 || after != before {
		t.Errorf("search after reindex differs (code %d, %s):\nbefore:\n%s\nafter:\n%s", code, errs, before, after)
	}
	if m, _ := filepath.Glob(filepath.Join(data, "index.old-*")); len(m) != 0 {
		t.Errorf("old index left behind: %v", m)
	}
}
