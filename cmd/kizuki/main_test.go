package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/config"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func kizuki(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestCheck(t *testing.T) {
	code, out, errs := kizuki(t, "", "check", "--rules", "testdata/rules")
	if code != 0 || !strings.Contains(out, "ok: 1 brand") {
		t.Fatalf("good rules: code %d, out %q, err %q", code, out, errs)
	}
	code, out, errs = kizuki(t, "", "check", "--rules", "testdata/badrules")
	if code != 1 {
		t.Fatalf("bad rules: code %d, want 1; out %q", code, out)
	}
	for _, want := range []string{
		"kumo.yaml:2:", // empty keywords
		"kumo.yaml:3: unknown key \"handels\"", `did you mean "handles"`,
		"kumo.yaml:6:", "actionabel",
		"kumo.yaml:9:", // bad regexp
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("check output lacks %q:\n%s", want, errs)
		}
	}
	if code, _, _ := kizuki(t, "", "check"); code != 2 {
		t.Errorf("check without --rules: code %d, want 2", code)
	}
}

func TestReplayGolden(t *testing.T) {
	code, out, errs := kizuki(t, "", "replay", "--rules", "testdata/rules", "--input", "testdata/posts.jsonl")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errs)
	}
	golden(t, "testdata/posts.decisions.jsonl", out)
	// One decision per post, in input order.
	in, _ := os.ReadFile("testdata/posts.jsonl")
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(in))
	for sc.Scan() {
		var p struct{ ID string }
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(ids) {
		t.Fatalf("%d decisions for %d posts", len(lines), len(ids))
	}
	for i, l := range lines {
		var d map[string]any
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatal(err)
		}
		if d["id"] != ids[i] {
			t.Errorf("decision %d is %v, want %s", i, d["id"], ids[i])
		}
		for _, k := range []string{"brand", "relevant", "tagged", "category", "score", "alert", "in_conversation", "reasons"} {
			if _, ok := d[k]; !ok {
				t.Errorf("decision %d lacks %q", i, k)
			}
		}
	}
}

func TestReplayTable(t *testing.T) {
	code, out, errs := kizuki(t, "", "replay", "--rules", "testdata/rules", "--input", "testdata/posts.jsonl", "--format", "table")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errs)
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour codes written to a non-terminal")
	}
	golden(t, "testdata/posts.table.txt", out)
}

func TestReplayBadInput(t *testing.T) {
	code, out, errs := kizuki(t, "", "replay", "--rules", "testdata/rules", "--input", "testdata/bad.jsonl")
	if code != 1 || !strings.Contains(errs, "testdata/bad.jsonl:2:") {
		t.Fatalf("bad line: code %d, stderr %q", code, errs)
	}
	if n := strings.Count(out, "\n"); n != 1 {
		t.Errorf("%d decisions before the bad line, want 1", n)
	}
	code, out, errs = kizuki(t, "", "replay", "--rules", "testdata/rules", "--input", "testdata/bad.jsonl", "--skip-bad")
	if code != 0 {
		t.Fatalf("--skip-bad: code %d, stderr %q", code, errs)
	}
	for _, want := range []string{"bad.jsonl:2:", "bad.jsonl:3: missing \"id\"", "bad.jsonl:4: field \"author.followers\"", "3 bad lines skipped"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("%d decisions with --skip-bad, want 2", n)
	}
}

func TestReplayStdin(t *testing.T) {
	in, err := os.ReadFile("testdata/posts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := kizuki(t, string(in), "replay", "--rules", "testdata/rules", "--input", "-")
	if code != 0 || strings.Count(out, "\n") != strings.Count(string(in), "\n") {
		t.Fatalf("stdin: code %d, %d lines, stderr %q", code, strings.Count(out, "\n"), errs)
	}
}

func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo-data")
	code, out, errs := kizuki(t, "", "run", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("demo: code %d: %s", code, errs)
	}
	for _, want := range []string{"DEMO", "RISKY", "ACTIONABLE", "POSITIVE", "first alert after", "333 indexed",
		"held for Sora Cafe's quiet hours", "0 still waiting",
		"Answered by @kumo_support", // a brand reply in the thread resolves the case
		"posted again",              // an author's second alert joins the first one's thread
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	// The demo went through the real pipeline: what it saw is searchable.
	code, found, errs := kizuki(t, "", "search", "--data-dir", dir, "--format", "jsonl", "返金")
	if code != 0 || strings.Count(found, "\n") == 0 {
		t.Fatalf("search the demo's data: code %d, %q, %s", code, found, errs)
	}
	if !strings.Contains(found, "返金") {
		t.Errorf("search results lack the term:\n%s", found)
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the output (go test ./cmd/kizuki -update rewrites it after review):\n--- got\n%s", path, got)
	}
}

func TestInitPrintsALoadableStarter(t *testing.T) {
	code, out, errs := kizuki(t, "", "init")
	if code != 0 || !strings.Contains(out, "sources:") {
		t.Fatalf("init: code %d, stderr %q", code, errs)
	}
	path := filepath.Join(t.TempDir(), "kizuki.yaml")
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(name string) string { return "test-" + name }
	if _, err := config.Load(path, env); err != nil {
		t.Fatalf("the starter does not load: %v", err)
	}
}

// TestRunOnce polls a JSON Lines source through the whole pipeline twice:
// the first run alerts in the terminal, the second finds nothing new.
func TestRunOnce(t *testing.T) {
	dir := t.TempDir()
	rulesDir, _ := filepath.Abs("testdata/rules")
	posts, _ := filepath.Abs("testdata/posts.jsonl")
	cfg := filepath.Join(dir, "kizuki.yaml")
	body := "timezone: Asia/Tokyo\ndata_dir: " + filepath.Join(dir, "data") + "\nrules: [" + rulesDir + "]\nsources:\n  - type: file\n    name: export\n    path: " + posts + "\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := kizuki(t, "", "run", "--config", cfg, "--once")
	if code != 0 {
		t.Fatalf("first run: code %d\n%s", code, errs)
	}
	if n := strings.Count(out, "■ "); n != 6 {
		t.Errorf("first run printed %d alerts, want the 6 alerting posts of testdata/posts.jsonl:\n%s", n, out)
	}
	if !strings.Contains(out, "JST") {
		t.Errorf("alert times are not in the configured zone:\n%s", out)
	}
	code, out, errs = kizuki(t, "", "run", "--config", cfg, "--once")
	if code != 0 || strings.Contains(out, "■ ") {
		t.Fatalf("second run: code %d, printed alerts again:\n%s\n%s", code, out, errs)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDaemon runs the scheduled daemon in-process on a file source: the
// existing posts alert, a post appended later alerts on a following poll,
// and cancelling (as SIGTERM does) stops it cleanly.
func TestDaemon(t *testing.T) {
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "rules")
	kumoRule, err := os.ReadFile("testdata/rules/kumo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(rulesDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rulesDir, "kumo.yaml"), kumoRule, 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("testdata/posts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	posts := filepath.Join(dir, "posts.jsonl")
	if err := os.WriteFile(posts, src, 0o600); err != nil {
		t.Fatal(err)
	}
	quiet := filepath.Join(dir, "quiet.jsonl") // a source that never brings anything
	if err := os.WriteFile(quiet, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "kizuki.yaml")
	body := "data_dir: " + filepath.Join(dir, "data") + "\nrules: [" + rulesDir + "]\nlog: {format: json}\ndigest: {schedule: \"@every 1s\"}\nhttp:\n  listen: 127.0.0.1:0\nsources:\n" +
		"  - type: file\n    name: export\n    path: " + posts + "\n    schedule: \"@every 1s\"\n" +
		"  - type: file\n    name: quiet\n    path: " + quiet + "\n    schedule: \"@every 1s\"\n    stall_after: 2s\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	reload := make(chan struct{}, 1)
	go func() {
		done <- runWith(ctx, []string{"run", "--config", cfg}, &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, reload: reload})
	}()
	waitFor := func(n int) {
		t.Helper()
		// A bound against a hang, not a performance assertion.
		deadline := time.Now().Add(60 * time.Second)
		for strings.Count(out.String(), "■ ") < n {
			select {
			case code := <-done:
				t.Fatalf("daemon exited early with code %d:\n%s", code, errb.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("waited for %d alerts; have:\n%s\nstderr:\n%s", n, out.String(), errb.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor(6)
	f, err := os.OpenFile(posts, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"id":"x:100","platform":"x","author":{"handle":"late"},"text":"Kumo Mobile is a scam, I am calling a lawyer","created_at":"2026-11-20T10:00:00Z"}` + "\n")
	f.Close()
	waitFor(7)
	// The quiet source stalls: one operator notice, and JSON logs say so.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), "Source quiet has brought no posts"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no stall notice:\n%s\nstderr:\n%s", out.String(), errb.String())
		}
	}
	if !strings.Contains(errb.String(), `"msg":"source stalled","source":"quiet"`) {
		t.Errorf("no JSON log line of the stall:\n%s", errb.String())
	}

	// SIGHUP with a broken rule file: rejected, the old rules stay.
	appendPost := func(line string) {
		f, err := os.OpenFile(posts, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(line + "\n")
		f.Close()
	}
	if err := os.WriteFile(filepath.Join(rulesDir, "kumo.yaml"), []byte("brand: Kumo Mobile\nkeywords: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reload <- struct{}{}
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(errb.String(), "reload rejected"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no rejection reported:\n%s", errb.String())
		}
	}
	if !strings.Contains(errb.String(), "kumo.yaml:2:") {
		t.Errorf("the rejection does not say file:line:\n%s", errb.String())
	}
	appendPost(`{"id":"x:101","platform":"x","author":{"handle":"late2"},"text":"Kumo Mobile leaked my data, this is a scam","created_at":"2026-11-20T10:01:00Z"}`)
	waitFor(8) // still decided with the old rules

	// A good change is taken: a new brand alerts from the next poll on.
	sora := "brand: Sora Cafe\nkeywords: [\"Sora Cafe\"]\n"
	if err := os.WriteFile(filepath.Join(rulesDir, "kumo.yaml"), kumoRule, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rulesDir, "sora.yaml"), []byte(sora), 0o600); err != nil {
		t.Fatal(err)
	}
	// ... and so is a configuration change: a new source.
	more := filepath.Join(dir, "more.jsonl")
	if err := os.WriteFile(more, []byte(`{"id":"x:200","platform":"x","author":{"handle":"other"},"text":"Kumo Mobile charged me twice and support hung up on me, what a scam","created_at":"2026-11-20T10:03:00Z"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(body+"  - type: file\n    name: more\n    path: "+more+"\n    schedule: \"@every 1s\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reload <- struct{}{}
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(errb.String(), "rules reloaded: 2 brands"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("reload not reported:\n%s", errb.String())
		}
	}
	appendPost(`{"id":"x:102","platform":"x","author":{"handle":"late3"},"text":"Sora Cafe is a scam, calling a lawyer","created_at":"2026-11-20T10:02:00Z"}`)
	waitFor(10)
	if !strings.Contains(out.String(), "charged me twice") {
		t.Errorf("no alert from the source added on reload:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "Sora Cafe") {
		t.Errorf("no alert for the reloaded brand:\n%s", out.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("daemon exit code %d: %s", code, errb.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("daemon did not stop after cancel")
	}
	if n := strings.Count(out.String(), "■ "); n != 10 {
		t.Errorf("%d alerts in all, want 10 (each once)", n)
	}
	// The digest ran every second, and went out once: it is one a day.
	if n := strings.Count(out.String(), "Kizuki digest "); n != 1 {
		t.Errorf("%d digests, want 1:\n%s", n, out.String())
	}
	// The reload kept the stall in mind: one notice in all, not one per run.
	if n := strings.Count(out.String(), "Source quiet has brought no posts"); n != 1 {
		t.Errorf("%d stall notices, want 1:\n%s", n, out.String())
	}
}
