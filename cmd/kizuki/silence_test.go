package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuki-dev/kizuki/store"
)

func TestSilenceCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		t.Helper()
		return kizuki(t, "", append([]string{"silence"}, append(args, "--data-dir", dir)...)...)
	}

	code, out, errs := run("add", "--author", "@yuki_t", "--for", "7d", "--by", "sato", "--reason", "a bot\x1b[31m that posts every minute")
	if code != 0 || !strings.HasPrefix(out, "silence 1: author=@yuki_t until ") {
		t.Fatalf("add: code %d, %q %q", code, out, errs)
	}
	if code, out, _ := run("add", "--author", "yuki_t", "--by", "suzuki", "--reason", "same bot"); code != 0 || !strings.Contains(out, "silence 1 already mutes this") {
		t.Errorf("second add of the same author: code %d, %q", code, out)
	}
	code, out, errs = run("add", "--brand", "Kumo Mobile", "--term", "maintenance", "--for", "2h", "--by", "sato", "--reason", "planned maintenance tonight")
	if code != 0 || !strings.HasPrefix(out, `silence 2: brand="Kumo Mobile" term=maintenance until `) {
		t.Fatalf("add brand and term: code %d, %q %q", code, out, errs)
	}

	code, out, errs = run("list")
	if code != 0 {
		t.Fatalf("list: %d %s", code, errs)
	}
	for _, want := range []string{"ID", "WHY", "author=@yuki_t", "sato", "a bot[31m that posts every minute", `brand="Kumo Mobile" term=maintenance`, "planned maintenance tonight"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("list printed a terminal escape from the reason:\n%q", out)
	}

	if code, out, errs := run("expire", "1", "--by", "suzuki"); code != 0 || !strings.HasPrefix(out, "silence 1 ended ") {
		t.Fatalf("expire: code %d, %q %q", code, out, errs)
	}
	if _, out, _ := run("list"); strings.Contains(out, "yuki_t") || !strings.Contains(out, "maintenance") {
		t.Errorf("list after expire shows the expired silence or lost the other:\n%s", out)
	}
	if _, out, _ := run("list", "--all"); !strings.Contains(out, "by suzuki") || !strings.Contains(out, "yuki_t") {
		t.Errorf("list --all does not say who expired silence 1:\n%s", out)
	}

	// The silences are in the store the daemon reads.
	st, err := store.Open(filepath.Join(dir, "kizuki.db"), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	all, err := st.Silences(t.Context())
	st.Close()
	if err != nil || len(all) != 2 || all[0].CreatedBy != "sato" || all[0].ExpiredBy != "suzuki" {
		t.Errorf("stored silences %+v, %v", all, err)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no matcher", []string{"add", "--by", "sato", "--reason", "x"}, 2, "--author, --brand, --term or --rule"},
		{"no reason", []string{"add", "--term", "x", "--by", "sato"}, 2, "--reason"},
		{"nobody", []string{"add", "--term", "x", "--by", "", "--reason", "x"}, 2, "--by"},
		{"bad duration", []string{"add", "--term", "x", "--for", "a week", "--by", "sato", "--reason", "x"}, 2, "--for"},
		{"negative duration", []string{"add", "--term", "x", "--for", "-1h", "--by", "sato", "--reason", "x"}, 2, "--for"},
		{"unknown id", []string{"expire", "404", "--by", "sato"}, 1, `no silence "404"`},
		{"no id", []string{"expire", "--by", "sato"}, 2, "needs the id"},
		{"unknown verb", []string{"mute"}, 2, "add, list or expire"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := run(tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("code %d, %q; want %d and %q", code, errs, tc.code, tc.want)
			}
		})
	}
}

func TestSilenceCommandWhileTheDaemonHoldsTheStore(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "kizuki.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	code, _, errs := kizuki(t, "", "silence", "add", "--data-dir", dir, "--term", "x", "--by", "sato", "--reason", "x")
	if code != 1 || !strings.Contains(errs, "in use") || !strings.Contains(errs, "Mute author") {
		t.Errorf("code %d, %q; want the lock explained with what to do meanwhile", code, errs)
	}
	if code, _, errs := kizuki(t, "", "silence", "list", "--data-dir", filepath.Join(dir, "none")); code != 1 || !strings.Contains(errs, "--data-dir") {
		t.Errorf("missing data dir: code %d, %q", code, errs)
	}
}
