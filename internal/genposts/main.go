// Command genposts writes N posts as JSON Lines for load tests (see
// demo.Stream). The data is generated, not committed:
//
//	go run ./internal/genposts -n 100000 > /tmp/posts.jsonl
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/kizuki-dev/kizuki/demo"
	"github.com/kizuki-dev/kizuki/post"
)

func main() {
	n := flag.Int("n", 100000, "number of posts")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if err := run(*n, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "genposts:", err)
		os.Exit(1)
	}
}

func run(n int, seed uint64) error {
	posts, err := demo.Stream(n, seed)
	if err != nil {
		return err
	}
	w := post.NewWriter(os.Stdout)
	for _, p := range posts {
		if err := w.Write(p); err != nil {
			return err
		}
	}
	return w.Flush()
}
