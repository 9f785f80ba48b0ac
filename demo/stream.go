package demo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/kizuki-dev/kizuki/post"
)

// Sample returns the sample stream's posts, in order.
func Sample() ([]post.Post, error) {
	data, err := Posts()
	if err != nil {
		return nil, err
	}
	var posts []post.Post
	r := post.NewReader(bytes.NewReader(data), "demo/posts.jsonl")
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			return posts, nil
		}
		if err != nil {
			return nil, err
		}
		posts = append(posts, p)
	}
}

// Stream returns n posts for load and crash tests: the sample posts
// repeated with fresh ids, times and follower counts, so that text,
// languages and threads stay realistic.
func Stream(n int, seed uint64) ([]post.Post, error) {
	base, err := Sample()
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	t := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	out := make([]post.Post, n)
	for i := range out {
		p := base[i%len(base)]
		p.ID = fmt.Sprintf("%s:g%d", p.Platform, i)
		p.CreatedAt = t.Add(time.Duration(i) * 2 * time.Second)
		p.Author.Followers = int(rng.ExpFloat64() * 800)
		out[i] = p
	}
	return out, nil
}
