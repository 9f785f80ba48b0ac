package listener

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/post"
)

// The threads of a poll's posts, fetched one post at a time as the daemon
// does, cost one batched request per level of the threads, not one per
// post: 30 replies in 3 conversations, each reply under its own parent,
// the parents under one post per conversation, under the root.

const (
	thConvs   = 3
	thPerConv = 10
)

// thChainIDs returns the ids of a chain, for messages.
func thChainIDs(chain []post.Post) []string {
	var ids []string
	for _, p := range chain {
		ids = append(ids, p.ID)
	}
	return ids
}

func TestThreadBatchedX(t *testing.T) {
	f, srv := newXFake(t)
	f.users["1"] = xUsr("1", "alice", 10)
	id := func(level, conv, j int) uint64 { return xIDAt(time.Duration(4-level)*time.Hour, uint64(conv*100+j)) }
	for c := range thConvs {
		root, mid := id(0, c, 0), id(1, c, 0)
		f.extra[strconv.FormatUint(root, 10)] = xTw(root, "1", "root", 0)
		f.extra[strconv.FormatUint(mid, 10)] = xTw(mid, "1", "mid", root)
		for j := range thPerConv {
			parent := id(2, c, j)
			f.extra[strconv.FormatUint(parent, 10)] = xTw(parent, "1", "parent", mid)
			f.tweets = append(f.tweets, xTw(id(3, c, j), "1", "acme leaf", parent))
		}
	}
	x := xTestSource(t, srv, nil)
	ctx := context.Background()
	page, err := x.Search(ctx, Query{Keywords: []string{"acme"}, Since: xNow.Add(-2 * time.Hour)}, "")
	if err != nil || len(page.Posts) != thConvs*thPerConv {
		t.Fatalf("search: %d posts, %v", len(page.Posts), err)
	}
	for _, p := range page.Posts {
		chain, err := x.Thread(ctx, p, 5)
		if err != nil || len(chain) != 3 || chain[0].Text != "root" || chain[1].Text != "mid" || chain[2].ID != p.ReplyTo {
			t.Fatalf("%s: %q %v", p.ID, thChainIDs(chain), err)
		}
	}
	// The parents came with the search (expansions); the mids and the
	// roots take one lookup each, three ids in each.
	lookups := f.requests("/2/tweets")
	if len(lookups) != 2 {
		t.Fatalf("%d lookups, want 2", len(lookups))
	}
	for _, l := range lookups {
		if n := len(strings.Split(l.Get("ids"), ",")); n != thConvs {
			t.Errorf("lookup of %d ids, want %d", n, thConvs)
		}
	}
}

func TestThreadBatchedBluesky(t *testing.T) {
	f, srv := newBskyFake(t)
	uri := func(level, conv, j int) string {
		return fmt.Sprintf("at://did:plc:a/app.bsky.feed.post/l%dc%dj%d", level, conv, j)
	}
	for c := range thConvs {
		root := uri(0, c, 0)
		f.add(false, bskyPV("did:plc:a", "a.test", fmt.Sprintf("l0c%dj0", c), "root", bskyAt(-50)))
		f.add(false, bskyReply(bskyPV("did:plc:a", "a.test", fmt.Sprintf("l1c%dj0", c), "mid", bskyAt(-40)), root, root))
		for j := range thPerConv {
			f.add(false, bskyReply(bskyPV("did:plc:a", "a.test", fmt.Sprintf("l2c%dj%d", c, j), "parent", bskyAt(-30)), root, uri(1, c, 0)))
			f.add(true, bskyReply(bskyPV("did:plc:c", "c.test", fmt.Sprintf("l3c%dj%d", c, j), "acme leaf", bskyAt(-20+j)), root, uri(2, c, j)))
		}
	}
	b := bskyTestSource(srv, nil)
	ctx := context.Background()
	page, err := b.Search(ctx, Query{Keywords: []string{"acme"}, Since: bskyAt(-60)}, "")
	if err != nil || len(page.Posts) != thConvs*thPerConv {
		t.Fatalf("search: %d posts, %v", len(page.Posts), err)
	}
	for _, p := range page.Posts {
		chain, err := b.Thread(ctx, p, 5)
		if err != nil || len(chain) != 3 || chain[0].Text != "root" || chain[1].Text != "mid" || chain[2].ID != p.ReplyTo ||
			chain[2].Author.Followers != 100 {
			t.Fatalf("%s: %q %v", p.ID, thChainIDs(chain), err)
		}
	}
	// 30 parents, 3 mids and 3 roots in getPosts calls of at most 25
	// (a post left alone in the last level takes one getPostThread), each
	// post asked once.
	asked := map[string]int{}
	for _, q := range f.query("app.bsky.feed.getPosts") {
		for _, u := range q["uris"] {
			asked[u]++
		}
	}
	for _, q := range f.query("app.bsky.feed.getPostThread") {
		asked[q.Get("uri")]++
	}
	if n := f.count("app.bsky.feed.getPosts") + f.count("app.bsky.feed.getPostThread"); n > 4 || len(asked) != 36 {
		t.Errorf("%d requests for %d posts, want at most 4 for 36", n, len(asked))
	}
	for u, n := range asked {
		if n != 1 {
			t.Errorf("%s asked %d times", u, n)
		}
	}
}

func TestThreadBatchedMastodon(t *testing.T) {
	f, srv := newMastoFake(t)
	n := func(level, conv, j int) int { return 1000*level + 100*conv + j + 1 }
	for c := range thConvs {
		f.add("", mastoStatusJSON(n(0, c, 0), "<p>root</p>", nil),
			mastoStatusJSON(n(1, c, 0), "<p>mid</p>", map[string]any{"in_reply_to_id": mastoSID(n(0, c, 0))}))
		for j := range thPerConv {
			f.add("", mastoStatusJSON(n(2, c, j), "<p>parent</p>", map[string]any{"in_reply_to_id": mastoSID(n(1, c, 0))}))
			f.add("acme", mastoStatusJSON(n(3, c, j), "<p>acme leaf</p>", map[string]any{"in_reply_to_id": mastoSID(n(2, c, j))}))
		}
	}
	m := mastoTestSource(srv, "", nil)
	ctx := context.Background()
	page, err := m.Search(ctx, Query{Keywords: []string{"acme"}, Since: mastoT0}, "")
	if err != nil || len(page.Posts) != thConvs*thPerConv {
		t.Fatalf("search: %d posts, %v", len(page.Posts), err)
	}
	for _, p := range page.Posts {
		chain, err := m.Thread(ctx, p, 5)
		if err != nil || len(chain) != 3 || chain[0].Text != "root" || chain[2].ID != p.ReplyTo || chain[2].ConversationID != chain[0].ID {
			t.Fatalf("%s: %q %v", p.ID, thChainIDs(chain), err)
		}
	}
	// 30 parents, 3 mids and 3 roots in batches of at most 20 (a post
	// left alone in the last level takes one /context).
	if all := f.requests("/api/v1/statuses"); len(all) > 4 || f.maxBatch > 20 {
		t.Errorf("%d requests (largest batch %d), want at most 4 of at most 20: %q", len(all), f.maxBatch, all)
	}
}

func TestThreadBatchedReddit(t *testing.T) {
	f, srv := newRedditFake(t)
	for c := range thConvs {
		link := "L" + strconv.Itoa(c)
		mid := fmt.Sprintf("m%d", c)
		f.add(redditLink(link, 1755690000, "x", "launch", "", 1, 1),
			redditComment(mid, 1755690001, "x", link, "t3_"+link, "mid", 1))
		for j := range thPerConv {
			parent := fmt.Sprintf("p%dx%d", c, j)
			f.mu.Lock()
			f.items["t1_"+parent] = redditComment(parent, 1755690002, "x", link, "t1_"+mid, "parent", 1)
			f.mu.Unlock()
			f.add(redditComment(fmt.Sprintf("c%dx%d", c, j), 1755690100+j, "x", link, "t1_"+parent, "acme leaf", 1))
		}
	}
	r := redditTestSource(srv, nil, func(o *RedditOptions) { o.Subreddits = []string{"x"} })
	ctx := context.Background()
	page, err := r.Search(ctx, Query{Keywords: []string{"nothing"}, Since: time.Unix(1755690050, 0)}, "")
	if err != nil || len(page.Posts) != thConvs*thPerConv {
		t.Fatalf("search: %d posts, %v", len(page.Posts), err)
	}
	for _, p := range page.Posts {
		chain, err := r.Thread(ctx, p, 5)
		if err != nil || len(chain) != 3 || chain[0].Text != "launch" || chain[1].Text != "mid" || chain[2].ID != p.ReplyTo {
			t.Fatalf("%s: %q %v", p.ID, thChainIDs(chain), err)
		}
	}
	if th := f.reqs("/comments/"); len(th) != 0 {
		t.Errorf("%d /comments requests", len(th))
	}
	var sizes []int
	for _, ids := range f.infoIDs {
		sizes = append(sizes, len(ids))
	}
	if !slices.Equal(sizes, []int{30, 3, 3}) {
		t.Errorf("/api/info sizes %v, want [30 3 3]", sizes)
	}
}
