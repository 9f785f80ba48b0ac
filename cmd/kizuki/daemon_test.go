package main

import (
	"slices"
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
