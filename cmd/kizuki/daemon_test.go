package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kizuki-dev/kizuki/config"
	"github.com/kizuki-dev/kizuki/listener"
	"github.com/kizuki-dev/kizuki/rules"
)

func TestKeywordQueryPushesDownOnlyCommonExclusions(t *testing.T) {
	set, err := rules.LoadFS(fstest.MapFS{
		"kumo.yaml": {Data: []byte("brand: Kumo Mobile\nkeywords: [\"Kumo Mobile\", kumo]\nexclude: [\"kumo cloud\", giveaway]\n")},
		"sora.yaml": {Data: []byte("brand: Sora Cafe\nkeywords: [\" Sora Cafe \"]\nexclude: [Giveaway, \"sora no oto\"]\n")},
	}, nil, rules.Options{NoBuiltin: true})
	if err != nil {
		t.Fatal(err)
	}
	q := keywordQuery(set)
	if !slices.Contains(q.Keywords, "Sora Cafe") || !slices.Contains(q.Keywords, "kumo") {
		t.Errorf("keywords %q", q.Keywords)
	}
	// "kumo cloud" must not hide Sora Cafe's posts from the platform's search.
	if len(q.Exclude) != 1 || q.Exclude[0] != "giveaway" {
		t.Errorf("exclusions pushed down %q, want only the common one", q.Exclude)
	}
}

func TestBudgetsSurviveAReloadUnlessTheirLimitChanges(t *testing.T) {
	budgets := map[string]*listener.Budget{}
	x := config.Source{Name: "x", Type: config.X, DailyBudget: 100}
	hn := config.Source{Name: "hn", Type: config.HackerNews, DailyBudget: 50}
	bx, bhn := budgetFor(x, budgets), budgetFor(hn, budgets)
	if bx.Unit() != listener.UnitPosts || bhn.Unit() != listener.UnitRequests {
		t.Errorf("units %s, %s", bx.Unit(), bhn.Unit())
	}
	if budgetFor(x, budgets) != bx {
		t.Error("a reload with the same limit got a fresh budget: the day's reads would be handed out again")
	}
	hn.DailyBudget = 80
	if b := budgetFor(hn, budgets); b == bhn || b.Limit() != 80 {
		t.Error("a changed limit kept the old budget")
	}
}

func TestCheckConfig(t *testing.T) {
	t.Setenv("KIZUKI_X_BEARER_TOKEN", "AAAA-test")
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rulesDir, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("rules/kumo.yaml", "brand: Kumo Mobile\nkeywords: [\"Kumo Mobile\"]\n")
	cfg := write("kizuki.yaml", "rules: [rules]\nsources:\n  - {type: hackernews}\n  - {type: x, bearer_token: \"${KIZUKI_X_BEARER_TOKEN}\"}\n")
	code, out, errs := kizuki(t, "", "check", "--config", cfg)
	if code != 0 || !strings.Contains(out, "ok: 2 sources; rules: 1 brand") {
		t.Fatalf("good config: code %d, out %q, err %q", code, out, errs)
	}
	// A keyword no X query can hold is reported before the daemon ever polls.
	write("rules/kumo.yaml", "brand: Kumo Mobile\nkeywords: [\"Kumo Mobile "+strings.Repeat("very ", 120)+"long\"]\n")
	code, _, errs = kizuki(t, "", "check", "--config", cfg)
	if code == 0 || !strings.Contains(errs, "source x:") || !strings.Contains(errs, "shorten the keyword") {
		t.Fatalf("too long a keyword: code %d, err %q", code, errs)
	}
	// A config problem is reported as file:line.
	write("kizuki.yaml", "rules: [rules]\nsources:\n  - {type: hackernews, schedule: \"@every 1d\"}\n")
	if code, _, errs = kizuki(t, "", "check", "--config", cfg); code == 0 || !strings.Contains(errs, "kizuki.yaml:3:") {
		t.Fatalf("bad config: code %d, err %q", code, errs)
	}
}
