package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

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

// TestCommandsRunThroughTheDaemon: the daemon holds its data directory, so search,
// silence and report go through its local API, with the token it published.
func TestCommandsRunThroughTheDaemon(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	rulesDir, err := filepath.Abs("testdata/rules")
	if err != nil {
		t.Fatal(err)
	}
	posts, err := filepath.Abs("testdata/posts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "kizuki.yaml")
	if err := os.WriteFile(cfg, []byte("data_dir: "+data+"\nrules: ["+rulesDir+"]\nlog: {level: warn}\nhttp: {listen: \"127.0.0.1:0\"}\n"+
		"sources:\n  - {type: file, name: export, path: "+posts+", schedule: \"@every 1h\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runWith(ctx, []string{"run", "--config", cfg}, &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb})
	}()
	// A bound against a hang, not a performance assertion.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, err := os.Stat(filepath.Join(data, localAPIFile))
		if err == nil && strings.Contains(out.String(), "■ ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon never published its local API:\n%s\n%s", out.String(), errb.String())
		}
	}
	code, found, errs := kizuki(t, "", "search", "--data-dir", data, "--format", "jsonl", "scam")
	if code != 0 || !strings.Contains(found, "scam") {
		t.Fatalf("search through the daemon: code %d, %q, %s", code, found, errs)
	}
	code, _, errs = kizuki(t, "", "silence", "add", "--data-dir", data, "--author", "@late", "--for", "2d", "--by", "sato", "--reason", "troll")
	if code != 0 {
		t.Fatalf("silence add through the daemon: code %d, %s", code, errs)
	}
	code, list, errs := kizuki(t, "", "silence", "list", "--data-dir", data)
	if code != 0 || !strings.Contains(list, "late") || !strings.Contains(list, "troll") {
		t.Fatalf("silence list: code %d, %q, %s", code, list, errs)
	}
	if code, rep, errs := kizuki(t, "", "report", "--data-dir", data, "--format", "json"); code != 0 || !strings.HasPrefix(strings.TrimSpace(rep), "{") {
		t.Fatalf("report through the daemon: code %d, %q, %s", code, rep, errs)
	}
	// Without the token, nothing.
	b, err := os.ReadFile(filepath.Join(data, localAPIFile))
	if err != nil {
		t.Fatal(err)
	}
	var info localAPIInfo
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+info.Addr+localAPIPath, "application/json", strings.NewReader(`{"args":["search","x"]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %s", resp.Status)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("daemon exit %d: %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(data, localAPIFile)); !os.IsNotExist(err) {
		t.Errorf("%s left behind after the daemon stopped: %v", localAPIFile, err)
	}
	// The daemon is gone: the commands open the data directory themselves.
	if code, _, errs := kizuki(t, "", "silence", "list", "--data-dir", data); code != 0 {
		t.Errorf("silence list without the daemon: code %d, %s", code, errs)
	}
}

// TestRunRefusesABadConfigAtStart: the daemon does not start on an unknown key, a bad
// cron spec or a missing secret, and says file:line for each.
func TestRunRefusesABadConfigAtStart(t *testing.T) {
	t.Setenv("KIZUKI_X_BEARER_TOKEN", "")
	dir := t.TempDir()
	rulesDir, err := filepath.Abs("testdata/rules")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "kizuki.yaml")
	body := "data_dir: " + filepath.Join(dir, "data") + "\nrules: [" + rulesDir + "]\nretension: {posts: 30d}\nsources:\n" +
		"  - {type: hackernews, schedule: \"*/5 * * *\"}\n" +
		"  - {type: x, bearer_token: \"${KIZUKI_X_BEARER_TOKEN}\"}\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := kizuki(t, "", "run", "--config", cfg)
	if code != 1 {
		t.Fatalf("code %d, want 1; out %q", code, out)
	}
	for _, want := range []string{
		`kizuki.yaml:3: unknown key "retension"`, `did you mean "retention"`,
		"kizuki.yaml:5: sources[0].schedule",
		"kizuki.yaml:6: environment variable KIZUKI_X_BEARER_TOKEN is not set",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("a refused config created the data directory (%v)", err)
	}
}
