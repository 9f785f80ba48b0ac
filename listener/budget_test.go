package listener

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/post"
)

func TestBudgetOrder(t *testing.T) {
	now := time.Date(2026, 8, 20, 23, 0, 0, 0, time.UTC)
	b := NewBudget("src", 100, UnitRequests, func() time.Time { return now })
	if n, ok := b.Remaining(); n != 100 || !ok || b.Limit() != 100 || b.Unit() != UnitRequests {
		t.Fatalf("Remaining = %d %v", n, ok)
	}
	// Refreshes may spend down to a fifth, threads to a tenth, searches
	// everything.
	spent := map[purpose]int{}
	for _, p := range []purpose{forRefresh, forThread, forSearch} {
		for b.take(p, 1) == nil {
			spent[p]++
		}
	}
	if spent[forRefresh] != 80 || spent[forThread] != 10 || spent[forSearch] != 10 {
		t.Errorf("spent %v, want refresh 80, thread 10, search 10", spent)
	}
	for _, p := range []purpose{forRefresh, forThread, forSearch} {
		err := b.take(p, 1)
		if !errors.Is(err, ErrBudget) || !strings.Contains(err.Error(), "src "+p.String()) {
			t.Errorf("%s: %v", p, err)
		}
	}
	if n, _ := b.Remaining(); n != 0 {
		t.Errorf("Remaining = %d", n)
	}
	// Posts counted after the fact may overshoot; Remaining stays at 0.
	b.charge(5)
	if n, _ := b.Remaining(); n != 0 || b.allowance(forSearch) != 0 {
		t.Errorf("after overshoot: %d", n)
	}
	// A new UTC day starts afresh.
	now = now.Add(time.Hour)
	if n, _ := b.Remaining(); n != 100 || b.allowance(forThread) != 90 || b.allowance(forRefresh) != 80 {
		t.Errorf("next day: %d", n)
	}
	// Low but not spent: the error says what is kept for searches.
	b.charge(85)
	if err := b.take(forRefresh, 1); err == nil || !strings.Contains(err.Error(), "15 of 100 requests left") {
		t.Errorf("refresh when low: %v", err)
	}
}

func TestBudgetUnlimited(t *testing.T) {
	for _, b := range []*Budget{nil, NewBudget("src", 0, UnitPosts, nil), NewBudget("src", -5, UnitPosts, nil)} {
		if _, ok := b.Remaining(); ok {
			t.Errorf("%+v: limited", b)
		}
		for range 1000 {
			if err := b.take(forRefresh, 1); err != nil {
				t.Fatal(err)
			}
		}
		b.charge(10)
	}
}

// Every source with a daily budget counts its reads in its unit (posts on
// X, requests elsewhere), stops refreshes first (with a fifth left) and
// thread fetches next (with a tenth left) so that the rest goes to
// searches, makes no request the budget does not allow, and says how much
// is left.
func TestSourceBudgets(t *testing.T) {
	ctx := context.Background()
	type source interface {
		Source
		Budgeted
	}
	type setup struct {
		src      source
		requests func() int
		q        Query
		reply    post.Post // a reply whose parent exists
		refresh  []string
	}
	for _, c := range []struct {
		name  string
		posts bool // the budget counts posts, not requests
		setup func(t *testing.T, budget int) setup
	}{
		{"hn", false, func(t *testing.T, budget int) setup {
			f, srv := newHNFake(t)
			f.hits = []map[string]any{hnComment(3, 3000, 1, 2, "acme")}
			f.items["2"] = hnItemJSON(2, "comment", 1, `"text":"parent"`)
			f.items["1"] = hnItemJSON(1, "story", 0, `"title":"story"`)
			return setup{hnTestSource(srv, nil, func(o *HNOptions) { o.DailyBudget = budget }),
				func() int {
					f.mu.Lock()
					defer f.mu.Unlock()
					n := 0
					for _, c := range f.counts {
						n += c
					}
					return n
				},
				Query{Keywords: []string{"acme"}, Since: time.Unix(1000, 0)},
				post.Post{ID: "hn:3", ReplyTo: "hn:2", ConversationID: "hn:1"}, []string{"hn:1"}}
		}},
		{"reddit", false, func(t *testing.T, budget int) setup {
			f, srv := newRedditFake(t)
			f.add(redditLink("L", 1755690000, "x", "acme", "", 1, 1))
			return setup{redditTestSource(srv, nil, func(o *RedditOptions) { o.DailyBudget = budget }),
				func() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.requests) },
				Query{Keywords: []string{"acme"}, Since: time.Unix(1755600000, 0)},
				post.Post{ID: "reddit:t1_c1", ReplyTo: "reddit:t3_L", ConversationID: "reddit:t3_L"}, []string{"reddit:t3_L"}}
		}},
		{"mastodon", false, func(t *testing.T, budget int) setup {
			f, srv := newMastoFake(t)
			f.add("acme", mastoStatusJSON(1, "<p>acme</p>", nil), mastoStatusJSON(2, "<p>re</p>", map[string]any{"in_reply_to_id": mastoSID(1)}))
			c := NewClient(ClientOptions{BaseDelay: time.Millisecond})
			h := "mastodon:" + mastoHost(srv) + ":"
			return setup{NewMastodon(MastodonOptions{BaseURL: srv.URL, Client: c, DailyBudget: budget, Now: func() time.Time { return mastoT0 }}),
				func() int { return len(f.requests("/")) },
				Query{Keywords: []string{"acme"}, Since: mastoT0},
				post.Post{ID: h + mastoSID(2), ReplyTo: h + mastoSID(1)}, []string{h + mastoSID(1)}}
		}},
		{"bluesky", false, func(t *testing.T, budget int) setup {
			f, srv := newBskyFake(t)
			root := bskyPV("did:plc:a", "a.test", "root", "acme", bskyAt(-10))
			f.add(true, root)
			uri := "bsky:" + root["uri"].(string)
			return setup{bskyTestSource(srv, nil, func(o *BlueskyOptions) { o.DailyBudget = budget }),
				func() int {
					f.mu.Lock()
					defer f.mu.Unlock()
					n := 0
					for nsid, c := range f.counts {
						if !strings.HasPrefix(nsid, "com.atproto.server.") { // session POSTs are not reads
							n += c
						}
					}
					return n
				},
				Query{Keywords: []string{"acme"}, Since: bskyAt(-60)},
				post.Post{ID: "bsky:at://did:plc:b/app.bsky.feed.post/x", ReplyTo: uri}, []string{uri}}
		}},
		{"x", true, func(t *testing.T, budget int) setup {
			f, srv := newXFake(t)
			for i := range 30 {
				f.tweets = append(f.tweets, xTw(xIDAt(time.Hour, uint64(100-i)), "1", "acme", 0))
			}
			f.extra["7"] = xTw(7, "1", "parent", 0)
			return setup{xTestSource(t, srv, nil, func(o *XOptions) { o.DailyBudget = budget }),
				func() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.paths) },
				Query{Keywords: []string{"acme"}, Since: xNow.Add(-2 * time.Hour)},
				post.Post{ID: "x:8", ReplyTo: "x:7"}, []string{"x:7"}}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.setup(t, 10)
			left := func() int { n, _ := s.src.Remaining(); return n }
			if n, ok := s.src.Remaining(); n != 10 || !ok {
				t.Fatalf("Remaining = %d %v", n, ok)
			}
			var err error
			for i := 0; i < 20 && err == nil; i++ {
				_, err = s.src.Refresh(ctx, s.refresh)
			}
			if !errors.Is(err, ErrBudget) || left() != 2 {
				t.Fatalf("refreshes stopped with %d left: %v", left(), err)
			}
			chain, err := s.src.Thread(ctx, s.reply, 5)
			if err != nil || len(chain) == 0 {
				t.Fatalf("thread with 2 left: %v %v", chain, err)
			}
			for i := 0; i < 20 && err == nil; i++ { // parents not cached
				_, err = s.src.Thread(ctx, post.Post{ID: s.reply.ID, ReplyTo: s.reply.ReplyTo + fmt.Sprint(i),
					ConversationID: s.reply.ConversationID}, 1)
			}
			if !errors.Is(err, ErrBudget) || left() != 1 {
				t.Fatalf("threads stopped with %d left: %v", left(), err)
			}
			page, err := s.src.Search(ctx, s.q, "")
			if err != nil && !(c.posts && errors.Is(err, ErrBudget)) || len(page.Posts) == 0 || left() != 0 {
				t.Fatalf("search with the last read: %d posts, %d left, %v", len(page.Posts), left(), err)
			}
			before := s.requests()
			for _, call := range []func() error{
				func() error { _, err := s.src.Search(ctx, s.q, page.Cursor); return err },
				func() error {
					_, err := s.src.Thread(ctx, post.Post{ID: s.reply.ID, ReplyTo: s.reply.ReplyTo + "77", ConversationID: s.reply.ConversationID}, 3)
					return err
				},
				func() error { _, err := s.src.Refresh(ctx, s.refresh); return err },
			} {
				if err := call(); !errors.Is(err, ErrBudget) {
					t.Errorf("with the budget spent: %v", err)
				}
			}
			if got := s.requests(); got != before {
				t.Errorf("%d requests made with the budget spent", got-before)
			}
			if !c.posts && s.requests() != 10 {
				t.Errorf("%d requests for a budget of 10", s.requests())
			}
		})
	}
}

// A feed whose request the budget does not allow is skipped like a failed
// one: the others' entries come back, its state is kept for the next day.
func TestFeedBudget(t *testing.T) {
	f := newFakeFeeds(t)
	f.set("/a", testRSS, `"a1"`)
	f.set("/b", testAtom, `"b1"`)
	now := time.Date(2026, 8, 20, 12, 0, 0, 0, time.UTC)
	fd := NewFeed(FeedOptions{URLs: []string{f.srv.URL + "/a", f.srv.URL + "/b"}, Client: feedTestClient(),
		DailyBudget: 1, Now: func() time.Time { return now }})
	page, err := fd.Search(context.Background(), Query{}, "")
	if !errors.Is(err, ErrBudget) || len(page.Posts) == 0 || !strings.Contains(err.Error(), "/b") {
		t.Fatalf("%d posts, %v", len(page.Posts), err)
	}
	if n, ok := fd.Remaining(); n != 0 || !ok || f.hits["/b"] != 0 {
		t.Errorf("Remaining %d %v, /b asked %d times", n, ok, f.hits["/b"])
	}
	// The next UTC day renews it (the first feed answers 304 this time).
	now = now.Add(24 * time.Hour)
	page, err = fd.Search(context.Background(), Query{}, page.Cursor)
	if !errors.Is(err, ErrBudget) || len(page.Posts) != 0 || f.hits["/a"] != 2 || f.gotINM["/a"] != `"a1"` {
		t.Errorf("next day: %d posts, /a asked %d times, %v", len(page.Posts), f.hits["/a"], err)
	}
}

// A Budget passed in survives a rebuild of the source (a reload).
func TestBudgetSharedAcrossRebuild(t *testing.T) {
	f, srv := newHNFake(t)
	f.items["1"] = hnItemJSON(1, "story", 0, `"title":"story"`)
	b := NewBudget("hn", 5, UnitRequests, nil)
	for range 2 {
		h := hnTestSource(srv, nil, func(o *HNOptions) { o.Budget = b; o.DailyBudget = 1000 })
		if _, err := h.Refresh(context.Background(), []string{"hn:1", "hn:2"}); err != nil {
			t.Fatal(err)
		}
	}
	h := hnTestSource(srv, nil, func(o *HNOptions) { o.Budget = b })
	if n, ok := h.Remaining(); n != 1 || !ok {
		t.Errorf("Remaining = %d %v after 4 requests of 5 over two sources", n, ok)
	}
}
