package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/store"
)

// TestKillDuringReplay kills a replay with --data-dir (SIGKILL, no chance
// to clean up) twice, then lets it finish: every post must be recorded
// exactly once in the store and in the index, and both must open cleanly.
func TestKillDuringReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	tmp := t.TempDir()
	bin := buildKizuki(t, tmp)
	const n = 20000
	posts, err := demo.Stream(n, 3)
	if err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(tmp, "posts.jsonl")
	if err := os.WriteFile(input, jsonl(t, posts), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(tmp, "data")
	replay := func(stderr io.Writer) *exec.Cmd {
		cmd := exec.Command(bin, "replay", "--rules", "../../demo/rules", "--input", input, "--data-dir", data)
		cmd.Stderr = stderr
		return cmd
	}
	for i := range 2 {
		// stderr to a file, not a pipe: a killed child must not leave the test waiting.
		logPath := filepath.Join(tmp, fmt.Sprintf("replay%d.log", i))
		logf, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		cmd := replay(logf)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// Kill in the middle of recording: once the progress line says posts are going
		// through, a little later each time.
		killed := false
		for deadline := time.Now().Add(2 * time.Minute); !killed; time.Sleep(20 * time.Millisecond) {
			select {
			case err := <-done:
				t.Logf("run %d finished before the kill (%v): the machine is fast; the restart still must not duplicate", i, err)
				killed = true
				continue
			default:
			}
			if b, _ := os.ReadFile(logPath); strings.Contains(string(b), "replay: ") || time.Now().After(deadline) {
				time.Sleep(time.Duration(100+200*i) * time.Millisecond)
				if err := cmd.Process.Signal(syscall.SIGKILL); errors.Is(err, os.ErrProcessDone) {
					t.Logf("run %d finished before the kill: the machine is fast; the restart still must not duplicate", i)
				} else if err != nil {
					t.Fatal(err)
				}
				<-done
				killed = true
			}
		}
		logf.Close()
	}
	if out, err := replay(os.Stderr).Output(); err != nil {
		t.Fatalf("final replay: %v", err)
	} else if lines := countLines(out); lines != n {
		t.Fatalf("final replay wrote %d decisions, want %d", lines, n)
	}

	st, err := store.Open(filepath.Join(data, "kizuki.db"), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("store after kills: %v", err)
	}
	defer st.Close()
	if got, err := st.CountPosts(); err != nil || got != n {
		t.Fatalf("store holds %d posts (err %v), want %d", got, err, n)
	}
	ids := make([]string, n)
	for i := range posts {
		ids[i] = posts[i].ID
	}
	seen, err := st.Seen(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range seen {
		if !s {
			t.Fatalf("post %s missing from the store", ids[i])
		}
	}
	ix, err := index.Open(filepath.Join(data, "index"), index.Options{Docs: daemon.StoreDocs{Store: st}})
	if err != nil {
		t.Fatalf("index after kills: %v", err)
	}
	defer ix.Close()
	if got, err := ix.Count(); err != nil || got != n {
		t.Fatalf("index holds %d docs (err %v), want %d", got, err, n)
	}
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}

// buildKizuki builds the binary into dir, for the subprocess tests.
func buildKizuki(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "kizuki")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// jsonl encodes posts as JSON Lines.
func jsonl(t *testing.T, posts []post.Post) []byte {
	t.Helper()
	var b bytes.Buffer
	w := post.NewWriter(&b)
	for _, p := range posts {
		if err := w.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
