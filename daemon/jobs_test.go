package daemon

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/listener"
	"github.com/kizuki-dev/kizuki/post"
)

type refresher struct {
	got   map[string]post.Metrics
	err   error
	asked []string
}

func (r *refresher) Refresh(_ context.Context, ids []string) (map[string]post.Metrics, error) {
	r.asked = append(r.asked, ids...)
	return r.got, r.err
}

func TestRepollSamplesAlertedPostsAndForgetsOldOnes(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	e := newEnv(t, kumo, now)
	ctx := context.Background()
	angry := mkPost("1", "Kumo Mobile is a scam, calling a lawyer")
	calm := mkPost("2", "had lunch, nothing about phones")
	src := &fakeSource{name: "x", page: listener.Page{Cursor: "c", Posts: []post.Post{angry, calm}}}
	if _, err := e.p.PollOnce(ctx, src); err != nil {
		t.Fatal(err)
	}
	x := &refresher{got: map[string]post.Metrics{"1": {Reposts: 40, Replies: 9}}}
	broken := &refresher{err: errors.New("HTTP 503")}
	n, err := Repoll(ctx, RepollOptions{Store: e.st, Now: now.Add(10 * time.Minute),
		Sources: map[string]Refresher{"x": x, "hn": broken}})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(x.asked) != 1 || x.asked[0] != "1" {
		t.Fatalf("sampled %d, asked %v; want the alerted post only", n, x.asked)
	}
	if len(broken.asked) != 0 {
		t.Errorf("the hn source was asked about x posts: %v", broken.asked)
	}
	samples, err := e.st.Tracked(ctx, "1")
	if err != nil || len(samples) != 1 || samples[0].Metrics.Reposts != 40 {
		t.Fatalf("samples %+v, %v", samples, err)
	}
	// Three days later the case is out of the window: no more samples, and untracked.
	n, err = Repoll(ctx, RepollOptions{Store: e.st, Now: now.Add(72 * time.Hour), Sources: map[string]Refresher{"x": x}})
	if err != nil || n != 0 {
		t.Fatalf("late re-poll: %d, %v", n, err)
	}
	if ids, _ := e.st.TrackedIDs(ctx); len(ids) != 0 {
		t.Errorf("still tracked after the window: %v", ids)
	}
	// A failing platform is reported, not fatal.
	x.err = errors.New("HTTP 429")
	if _, err := Repoll(ctx, RepollOptions{Store: e.st, Now: now.Add(time.Hour), Sources: map[string]Refresher{"x": x}}); err == nil {
		t.Error("a failing refresh was not reported")
	}
}

func TestRetainDeletesOldPostsFromStoreAndIndex(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	e := newEnv(t, kumo, now)
	ctx := context.Background()
	old := mkPost("old", "Kumo Mobile signal is gone again")
	old.CreatedAt = now.Add(-40 * 24 * time.Hour)
	fresh := mkPost("new", "Kumo Mobile signal is gone again today")
	fresh.CreatedAt = now.Add(-time.Hour)
	if _, err := e.p.PollOnce(ctx, &fakeSource{name: "x", page: listener.Page{Cursor: "c", Posts: []post.Post{old, fresh}}}); err != nil {
		t.Fatal(err)
	}
	if n, err := Retain(ctx, e.st, e.ix, 0, now); n != 0 || err != nil {
		t.Fatalf("retention switched off deleted %d (%v)", n, err)
	}
	n, err := Retain(ctx, e.st, e.ix, 30*24*time.Hour, now)
	if err != nil || n != 1 {
		t.Fatalf("Retain = %d, %v; want 1", n, err)
	}
	if _, ok, _ := e.st.GetPost(ctx, "old"); ok {
		t.Error("old post still in the store")
	}
	if _, ok, _ := e.st.GetPost(ctx, "new"); !ok {
		t.Error("fresh post deleted")
	}
	if c, _ := e.ix.Count(); c != 1 {
		t.Errorf("index holds %d docs, want 1", c)
	}
}
