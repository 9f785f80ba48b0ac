package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/daemon"
	"github.com/kizuki-dev/kizuki/demo"
	"github.com/kizuki-dev/kizuki/index"
	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/store"
)

// TestKillDaemon runs the daemon (a subprocess) on a file source that grows while it
// runs, kills it with SIGKILL twice, restarts it, and finishes with --once: every post
// is recorded exactly once in the store and the index, nothing waits in the outbox, and
// every alert was delivered (at most once more per kill: the terminal cannot tell
// whether a line it printed was recorded, unlike Slack).
func TestKillDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	tmp := t.TempDir()
	bin := buildKizuki(t, tmp)
	// Kumo Mobile's rules only: they have no quiet hours, so every alert is due at once
	// whatever the time of day the test runs.
	rulesDir := filepath.Join(tmp, "rules")
	if err := os.MkdirAll(rulesDir, 0o700); err != nil {
		t.Fatal(err)
	}
	kumo, err := os.ReadFile("../../demo/rules/kumo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rulesDir, "kumo.yaml"), kumo, 0o600); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	posts, err := demo.Stream(n, 11)
	if err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(tmp, "posts.jsonl")
	if err := os.WriteFile(input, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(tmp, "data")
	cfg := filepath.Join(tmp, "kizuki.yaml")
	if err := os.WriteFile(cfg, []byte("data_dir: "+data+"\nrules: ["+rulesDir+"]\nhttp: {listen: \"127.0.0.1:0\"}\n"+
		"sources:\n  - {type: file, name: export, path: "+input+", schedule: \"@every 1s\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// The posts arrive in chunks while the daemon runs and is killed.
	var chunks [][]byte
	for i := 0; i < n; i += 150 {
		chunks = append(chunks, jsonl(t, posts[i:min(i+150, n)]))
	}
	appended := make(chan struct{})
	go func() {
		defer close(appended)
		f, err := os.OpenFile(input, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		for _, c := range chunks {
			f.Write(c)
			time.Sleep(150 * time.Millisecond)
		}
	}()

	var outputs []string
	start := func(args ...string) (*exec.Cmd, string) {
		out := filepath.Join(tmp, "out"+string(rune('0'+len(outputs)))+".txt")
		outputs = append(outputs, out)
		fo, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fo.Close() })
		cmd := exec.Command(bin, args...)
		// Files, not pipes: a killed child must not leave the test waiting on a pipe.
		cmd.Stdout, cmd.Stderr = fo, fo
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill() })
		return cmd, out
	}
	const kills = 2
	for i := range kills {
		cmd, out := start("run", "--config", cfg)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// Kill in the middle of the work: once alerts are coming out, and posts still
		// being read, decided, indexed and recorded.
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
			b, _ := os.ReadFile(out)
			if bytes.Count(b, []byte("■ ")) >= 20 {
				break
			}
			select {
			case err := <-done:
				t.Fatalf("daemon run %d ended by itself: %v\n%s", i, err, b)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("daemon run %d printed no alerts:\n%s", i, b)
			}
		}
		time.Sleep(time.Duration(100+200*i) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-done
	}
	select {
	case <-appended:
	case <-time.After(2 * time.Minute): // a bound against a hang
		t.Fatal("the writer never finished")
	}
	// Last, --once takes what is left and delivers everything due.
	cmd, out := start("run", "--config", cfg, "--once")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			b, _ := os.ReadFile(out)
			t.Fatalf("--once: %v\n%s", err, b)
		}
	case <-time.After(5 * time.Minute):
		t.Fatal("--once did not end")
	}

	// What should have alerted, decided here with the same rules.
	set, err := rules.Load(rulesDir, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := matcher.Compile(set, matcher.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var alerting []string // ids of the posts that alert
	for i := range posts {
		if d := m.Decide(&posts[i]); d.Alert {
			alerting = append(alerting, posts[i].ID)
		}
	}
	printed := 0
	for i, o := range outputs {
		b, err := os.ReadFile(o)
		if err != nil {
			t.Fatal(err)
		}
		k := strings.Count(string(b), "■ ")
		t.Logf("run %d printed %d alerts", i, k)
		printed += k
	}

	st, err := store.Open(filepath.Join(data, "kizuki.db"), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("store after kills: %v", err)
	}
	defer st.Close()
	ctx := context.Background()
	if got, err := st.CountPosts(); err != nil || got != n {
		t.Fatalf("store holds %d posts (err %v), want %d", got, err, n)
	}
	if depth, err := st.OutboxDepth(); err != nil || depth != 0 {
		t.Errorf("outbox holds %d items (err %v) after --once", depth, err)
	}
	// Nothing lost: every alerting post went out, as an alert of its own or as a reply
	// in the thread of its author's open alert.
	for _, id := range alerting {
		if _, sent, err := st.SentRef(ctx, id+":alert"); err != nil || !sent {
			t.Fatalf("the alert of %s was never delivered (err %v)", id, err)
		}
	}
	// Nothing doubled beyond what a kill can: one alert line per case, plus at most one
	// line per kill printed but not yet recorded.
	cases, err := st.ListCases(ctx, store.CaseFilter{})
	if err != nil || len(cases) == 0 || len(cases) > len(alerting) {
		t.Fatalf("%d cases (err %v) for %d alerting posts", len(cases), err, len(alerting))
	}
	if printed < len(cases) || printed > len(cases)+kills {
		t.Errorf("%d alerts printed over all runs for %d cases (at most %d more after %d kills)", printed, len(cases), kills, kills)
	}
	t.Logf("%d alerting posts: %d cases, %d replies in their threads", len(alerting), len(cases), len(alerting)-len(cases))
	ix, err := index.Open(filepath.Join(data, "index"), index.Options{Docs: daemon.StoreDocs{Store: st}})
	if err != nil {
		t.Fatalf("index after kills: %v", err)
	}
	defer ix.Close()
	if got, err := ix.Count(); err != nil || got != n {
		t.Fatalf("index holds %d docs (err %v), want %d", got, err, n)
	}
}
