// Command genposts writes N posts as JSON Lines for load tests: the demo
// stream's posts repeated with fresh ids, times and follower counts, so that
// text, languages and threads stay realistic. Not committed data: run it.
//
//	go run ./internal/genposts -n 100000 > /tmp/posts.jsonl
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/kizuki-dev/kizuki/demo"
	"github.com/kizuki-dev/kizuki/post"
)

func main() {
	n := flag.Int("n", 100000, "number of posts")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if err := run(*n, *seed, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "genposts:", err)
		os.Exit(1)
	}
}

func run(n int, seed uint64, out io.Writer) error {
	data, err := demo.Posts()
	if err != nil {
		return err
	}
	var base []post.Post
	r := post.NewReader(bytes.NewReader(data), "demo")
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		base = append(base, p)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	w := post.NewWriter(out)
	t := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		p := base[i%len(base)]
		p.ID = fmt.Sprintf("%s:g%d", p.Platform, i)
		p.CreatedAt = t.Add(time.Duration(i) * 2 * time.Second)
		p.Author.Followers = int(rng.ExpFloat64() * 800)
		if err := w.Write(p); err != nil {
			return err
		}
	}
	return w.Flush()
}
