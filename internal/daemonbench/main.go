// Command daemonbench measures the daemon for BENCHMARKS.md: CPU and memory while it
// idles with 5 sources (RSS feeds served locally) and 50 rules, and while it takes in a
// file of posts (a replay through the daemon's pipeline):
//
//	go build -o /tmp/kizuki ./cmd/kizuki
//	go run ./internal/genposts -n 100000 > /tmp/100k.jsonl
//	go run ./internal/daemonbench -kizuki /tmp/kizuki -idle 60s -posts /tmp/100k.jsonl
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

func main() {
	bin := flag.String("kizuki", "/tmp/kizuki", "the kizuki binary")
	idle := flag.Duration("idle", 60*time.Second, "how long to measure the idle daemon")
	posts := flag.String("posts", "", "a JSON Lines file of posts to take in through a file source (optional)")
	flag.Parse()
	if err := run(*bin, *idle, *posts); err != nil {
		fmt.Fprintln(os.Stderr, "daemonbench:", err)
		os.Exit(1)
	}
}

func run(bin string, idle time.Duration, posts string) error {
	tmp, err := os.MkdirTemp("", "daemonbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	rulesDir := filepath.Join(tmp, "rules")
	if err := writeRules(rulesDir, 50); err != nil {
		return err
	}
	feeds, stop, err := serveFeeds(5)
	if err != nil {
		return err
	}
	defer stop()

	var src strings.Builder
	for i, u := range feeds {
		fmt.Fprintf(&src, "  - {type: feed, name: feed%d, urls: [%q], schedule: \"@every 30s\"}\n", i, u)
	}
	fmt.Printf("idle: 5 feed sources polled every 30s, 50 rules + the built-in pack, %s\n", idle)
	if err := measure(bin, tmp, "idle", rulesDir, src.String(), func(m *proc) error {
		time.Sleep(idle)
		return nil
	}); err != nil {
		return err
	}
	if posts == "" {
		return nil
	}
	n, err := countLines(posts)
	if err != nil {
		return err
	}
	fmt.Printf("intake: a file source of %d posts, next to the 5 feeds\n", n)
	src.WriteString(fmt.Sprintf("  - {type: file, name: backfill, path: %q, schedule: \"@every 5s\"}\n", posts))
	// Timed from /readyz: the sources poll at start, so the intake begins then.
	return measure(bin, tmp, "intake", rulesDir, src.String(), func(m *proc) error {
		start := time.Now()
		for {
			got, err := m.metric(`kizuki_posts_new_total{source="backfill"}`)
			if err == nil && int(got) >= n {
				el := time.Since(start)
				fmt.Printf("  %d posts taken in %s: %.0f posts/s\n", n, el.Round(time.Millisecond), float64(n)/el.Seconds())
				return nil
			}
			if time.Since(start) > 30*time.Minute {
				return errors.New("intake did not finish in 30 minutes")
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
}

// proc is a running daemon.
type proc struct {
	cmd  *exec.Cmd
	addr string
}

func (p *proc) metric(name string) (float64, error) {
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("no metric %s", name)
}

// cpuTicks returns the process's user+system time in clock ticks (100 per second on Linux).
func (p *proc) cpuTicks() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which may hold spaces: it ends at the last ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return ut + st, nil
}

var memLine = regexp.MustCompile(`(?m)^(VmRSS|VmHWM):\s+(\d+) kB`)

func (p *proc) mem() (rss, peak int64) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	for _, m := range memLine.FindAllStringSubmatch(string(b), -1) {
		v, _ := strconv.ParseInt(m[2], 10, 64)
		if m[1] == "VmRSS" {
			rss = v
		} else {
			peak = v
		}
	}
	return rss, peak
}

func measure(bin, tmp, name, rulesDir, sources string, work func(*proc) error) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	dir := filepath.Join(tmp, name)
	cfg := filepath.Join(tmp, name+".yaml")
	body := fmt.Sprintf("data_dir: %s\nrules: [%s]\nlog: {level: warn}\nhttp: {listen: \"127.0.0.1:%d\"}\nsources:\n%s", dir, rulesDir, port, sources)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(bin, "run", "--config", cfg)
	cmd.Stdout = io.Discard
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &proc{cmd: cmd, addr: fmt.Sprintf("127.0.0.1:%d", port)}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	for {
		resp, err := http.Get("http://" + p.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Since(start) > time.Minute {
			return errors.New("daemon not ready after a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("  ready after %s\n", time.Since(start).Round(time.Millisecond))
	if name == "idle" {
		time.Sleep(5 * time.Second) // past the first polls, at start
	}
	t0, err := p.cpuTicks()
	if err != nil {
		return err
	}
	w0 := time.Now()
	if err := work(p); err != nil {
		return err
	}
	t1, err := p.cpuTicks()
	if err != nil {
		return err
	}
	wall := time.Since(w0).Seconds()
	rss, peak := p.mem()
	fmt.Printf("  CPU %.2f%% of one core over %.0fs; RSS %d MB now, peak %d MB\n",
		float64(t1-t0)/wall, wall, rss/1024, peak/1024)
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// writeRules writes n brand rule files of 5 keywords each.
func writeRules(dir string, n int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for i := range n {
		body := fmt.Sprintf("brand: Brand %02d\nkeywords: [\"brand%02d\", \"brand %02d app\", \"b%02d mobile\", \"ブランド%02d\", \"brand%02dsupport\"]\n", i, i, i, i, i, i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("brand%02d.yaml", i)), []byte(body), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// serveFeeds serves n small RSS feeds, as a Google Alerts feed looks between mentions.
func serveFeeds(n int) ([]string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	var urls []string
	for i := range n {
		path := fmt.Sprintf("/feed%d.xml", i)
		rss := fmt.Sprintf(`<?xml version="1.0"?><rss version="2.0"><channel><title>feed %d</title>`+
			`<item><guid>f%d-1</guid><title>brand%02d app update</title><link>https://example.com/%d/1</link>`+
			`<description>The brand%02d app got an update today.</description><pubDate>Mon, 30 Nov 2026 09:00:00 +0000</pubDate></item>`+
			`</channel></rss>`, i, i, i, i, i)
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/rss+xml")
			io.WriteString(w, rss)
		})
		urls = append(urls, "http://"+ln.Addr().String()+path)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return urls, func() { srv.Shutdown(context.Background()) }, nil
}

func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	buf := make([]byte, 1<<20)
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte("\n"))
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
