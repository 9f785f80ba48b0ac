package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/listener"
	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
)

// surgeOpen is incident mode with one open surge.
type surgeOpen struct {
	brand    string
	err      error
	diverted []string
}

func (s *surgeOpen) Inhibit(_ context.Context, brand string, c rules.Category) (string, bool) {
	return "surge:" + brand, brand == s.brand && c == rules.Risky
}

func (s *surgeOpen) Divert(_ context.Context, key string, p *post.Post, _ *matcher.Decision) (bool, error) {
	if s.err != nil {
		return false, s.err
	}
	s.diverted = append(s.diverted, key+" "+p.ID)
	return true, nil
}

func TestIncidentModeDivertsIntoTheSurgeThread(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		divertErr error
		wantCase  bool
	}{
		{"diverted", nil, false},
		{"divert fails: alert as usual", errors.New("store full"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, kumo, time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC))
			inc := &surgeOpen{brand: "Kumo Mobile", err: tc.divertErr}
			e.p.incidents = inc
			angry := mkPost("9", "Kumo Mobile is a scam, calling a lawyer")
			st, err := e.p.PollOnce(ctx, &fakeSource{name: "x", page: listener.Page{Cursor: "c", Posts: []post.Post{angry}}})
			if err != nil {
				t.Fatal(err)
			}
			_, hasCase, err := e.st.GetCase(ctx, "9")
			if err != nil {
				t.Fatal(err)
			}
			if hasCase != tc.wantCase {
				t.Errorf("case opened: %v, want %v", hasCase, tc.wantCase)
			}
			if !tc.wantCase && (st.Diverted != 1 || len(inc.diverted) != 1 || inc.diverted[0] != "surge:Kumo Mobile 9") {
				t.Errorf("stats %+v, diverted %v", st, inc.diverted)
			}
			if st.Alerts != 1 {
				t.Errorf("%d alerts, want 1 (a reply or an alert)", st.Alerts)
			}
			if n, _ := e.st.CountPosts(); n != 1 {
				t.Errorf("%d posts recorded, want 1", n)
			}
		})
	}
}

func TestPollRecordsWhatWasReadBeforeTheBudgetRanOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, kumo, time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC))
	src := &fakeSource{name: "x", page: listener.Page{Cursor: "c1", Posts: []post.Post{mkPost("1", "Kumo Mobile is a scam, calling a lawyer")}},
		err: fmt.Errorf("x: search: %w", listener.ErrBudget)}
	src.partial = true
	st, err := e.p.PollOnce(ctx, src)
	if !errors.Is(err, listener.ErrBudget) {
		t.Fatalf("err = %v, want the budget error", err)
	}
	if st.New != 1 || st.Alerts != 1 {
		t.Errorf("stats %+v: the post read before the budget ran out was dropped", st)
	}
	if cur, _ := e.st.Cursor(ctx, "x"); cur != "c1" {
		t.Errorf("cursor %q, want c1", cur)
	}
	// Any other error with posts still records nothing: the page is retried whole.
	src2 := &fakeSource{name: "y", page: listener.Page{Cursor: "c2", Posts: []post.Post{mkPost("2", "Kumo Mobile is down again")}},
		err: errors.New("HTTP 500"), partial: true}
	if _, err := e.p.PollOnce(ctx, src2); err == nil {
		t.Fatal("no error")
	}
	if n, _ := e.st.CountPosts(); n != 1 {
		t.Errorf("%d posts recorded, want 1", n)
	}
}

// threadLog is a budgeted source that records the order of its thread fetches.
type threadLog struct {
	*fakeSource
	order []string
}

func (s *threadLog) Remaining() (int, bool) { return 3, true }

func (s *threadLog) Thread(ctx context.Context, p post.Post, depth int) ([]post.Post, error) {
	s.order = append(s.order, p.ID)
	return s.fakeSource.Thread(ctx, p, depth)
}

func TestThreadsOfTheRiskiestPostsAreFetchedFirstOnABudget(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kumo, time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC))
	reply := func(id, text string) post.Post {
		p := mkPost(id, text)
		p.ReplyTo = "x:parent"
		return p
	}
	posts := []post.Post{
		reply("thanks", "Kumo Mobile support was lovely, thank you!"),
		reply("other", "what a lovely day"),
		reply("how", "how do I change my Kumo Mobile plan?"),
		reply("scam", "Kumo Mobile is a scam, calling a lawyer"),
	}
	src := &threadLog{fakeSource: &fakeSource{name: "x", page: listener.Page{Cursor: "c", Posts: posts},
		threads: map[string][]post.Post{}}}
	if _, err := e.p.PollOnce(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	want := []string{"scam", "how", "thanks", "other"}
	if !slices.Equal(src.order, want) {
		t.Errorf("threads fetched in the order %v, want %v", src.order, want)
	}
	// Without a budget, the page's order.
	if got := threadOrder(e.p.matcher(), &fakeSource{}, posts); !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Errorf("order without a budget %v", got)
	}
}

// pagedSource serves its posts a page at a time, saying More until the last.
type pagedSource struct {
	fakeSource
	all  []post.Post
	size int
}

func (s *pagedSource) Search(_ context.Context, _ listener.Query, cursor string) (listener.Page, error) {
	from := 0
	if cursor != "" {
		fmt.Sscan(cursor, &from)
	}
	to := min(from+s.size, len(s.all))
	return listener.Page{Posts: s.all[from:to], Cursor: fmt.Sprint(to), More: to < len(s.all)}, nil
}

func TestPollTakesEveryPageASourceHasAtHand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, kumo, time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC))
	var all []post.Post
	for i := range 250 {
		all = append(all, mkPost(fmt.Sprint(i), "Kumo Mobile signal is gone again"))
	}
	src := &pagedSource{fakeSource: fakeSource{name: "backfill"}, all: all, size: 40}
	if errs := e.p.PollAll(ctx, []listener.Source{src}); errs["backfill"] != nil {
		t.Fatal(errs["backfill"])
	}
	if n, _ := e.st.CountPosts(); n != 250 {
		t.Errorf("%d posts recorded after one poll, want all 250", n)
	}
	if cur, _ := e.st.Cursor(ctx, "backfill"); cur != "250" {
		t.Errorf("cursor %q, want 250", cur)
	}
}
