package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kizuki-dev/kizuki/internal/testclock"
	"github.com/kizuki-dev/kizuki/post"
)

// The test binary doubles as the other process of the lock and crash tests.
const (
	helperEnv     = "KIZUKI_STORE_TEST_HELPER"
	helperPathEnv = "KIZUKI_STORE_TEST_PATH"
)

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "hold":
		os.Exit(helperHold(os.Getenv(helperPathEnv)))
	case "write":
		os.Exit(helperWrite(os.Getenv(helperPathEnv)))
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", os.Getenv(helperEnv))
		os.Exit(2)
	}
}

// helperHold opens the store, says "ready" and holds it until stdin closes.
func helperHold(path string) int {
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	return 0
}

// helperWrite records batch after batch, each with the cursor that covers it, until killed,
// printing the number of each committed batch.
func helperWrite(path string) int {
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	for i := 1; ; i++ {
		recs := make([]Recorded, 10)
		for j := range recs {
			recs[j] = rec(fmt.Sprintf("x:%d-%d", i, j), time.Time{}, Decision{})
		}
		if _, err := s.RecordPostsAndCursor(ctx, recs, "x", strconv.Itoa(i)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(i)
	}
}

// testClock is the tests' settable clock.
type testClock = testclock.Clock

func newClock() *testClock {
	return testclock.New(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
}

func openTest(t testing.TB, clock *testClock) *Store {
	t.Helper()
	opt := Options{LockTimeout: 200 * time.Millisecond}
	if clock != nil {
		opt.Now = clock.Now
	}
	s, err := Open(filepath.Join(t.TempDir(), "kizuki.db"), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func rec(id string, created time.Time, d Decision) Recorded {
	return Recorded{
		Post: post.Post{
			ID: id, Platform: "x", CreatedAt: created,
			Author: post.Author{ID: "u1", Handle: "someone"},
			Text:   "Kumo Mobile: my phone has no signal since this morning, anyone else? " + id,
		},
		Decision: d,
	}
}

var alert = Decision{Brand: "Kumo Mobile", Category: "actionable", Score: 72, Alert: true, Relevant: true, Reasons: []string{"question"}}

func TestOpenCreatesStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kizuki.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for _, name := range allBuckets() {
			if tx.Bucket([]byte(name)) == nil {
				t.Errorf("bucket %s missing", name)
			}
		}
		meta := tx.Bucket([]byte(bucketMeta))
		if got := string(meta.Get([]byte(metaSchema))); got != strconv.Itoa(SchemaVersion()) {
			t.Errorf("schema = %q, want %d", got, SchemaVersion())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, %v; want 0600 (posts are personal data)", fi.Mode(), err)
	}
}

func TestRecordPostsDedupe(t *testing.T) {
	s := openTest(t, newClock())
	ctx := context.Background()
	at := time.Date(2026, 11, 20, 8, 15, 0, 0, time.UTC)
	batch := []Recorded{
		rec("x:1", at, alert),
		rec("x:2", at, Decision{Brand: "Kumo Mobile", Category: "none"}),
		rec("x:1", at, alert), // a repeat inside the batch
		rec("x:3", at.Add(time.Hour), alert),
	}
	fresh, err := s.RecordPosts(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, true, false, true}; !slices.Equal(fresh, want) {
		t.Errorf("first batch fresh = %v, want %v", fresh, want)
	}
	counts := func() map[time.Time]int {
		t.Helper()
		c, err := s.Counts(ctx, "Kumo Mobile", "actionable", at.Add(-time.Hour), at.Add(3*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	before := counts()
	want := map[time.Time]int{at.Truncate(time.Hour): 1, at.Truncate(time.Hour).Add(time.Hour): 1}
	if !mapsEqual(before, want) {
		t.Errorf("counts = %v, want %v", before, want)
	}

	fresh, err = s.RecordPosts(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, false, false, false}; !slices.Equal(fresh, want) {
		t.Errorf("second batch fresh = %v, want %v", fresh, want)
	}
	if after := counts(); !mapsEqual(after, before) {
		t.Errorf("counts changed by a repeated batch: %v, then %v", before, after)
	}
	if n, err := s.CountPosts(); err != nil || n != 3 {
		t.Errorf("CountPosts() = %d, %v; want 3", n, err)
	}
	hist, err := s.AuthorHistory(ctx, "x:u1")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 {
		t.Errorf("author history after repeats = %+v, want the 2 alerted posts", hist)
	}
}

func mapsEqual(a, b map[time.Time]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestRecordPostsKeepsRecordAndDecision(t *testing.T) {
	clock := newClock()
	s := openTest(t, clock)
	ctx := context.Background()
	r := rec("x:1", time.Date(2026, 11, 20, 8, 15, 0, 0, time.UTC), alert)
	r.Post.Context = []post.Post{{ID: "x:0", Platform: "x", Text: "earlier"}}
	if _, err := s.RecordPosts(ctx, []Recorded{r}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.GetPost(ctx, "x:1")
	if err != nil || !ok {
		t.Fatalf("GetPost = %v, %v", ok, err)
	}
	if !got.RecordedAt.Equal(clock.Now()) {
		t.Errorf("RecordedAt = %v, want the clock's %v", got.RecordedAt, clock.Now())
	}
	if got.Post.Text != r.Post.Text || len(got.Post.Context) != 1 || !got.Post.CreatedAt.Equal(r.Post.CreatedAt) {
		t.Errorf("post = %+v, want %+v", got.Post, r.Post)
	}
	if got.Decision.Score != 72 || !got.Decision.Alert || got.Decision.Reasons[0] != "question" {
		t.Errorf("decision = %+v, want %+v", got.Decision, alert)
	}
	if _, ok, err := s.GetPost(ctx, "x:404"); ok || err != nil {
		t.Errorf("GetPost(unknown) = %v, %v; want false, nil", ok, err)
	}
	seen, err := s.Seen(ctx, []string{"x:404", "x:1", ""})
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, true, false}; !slices.Equal(seen, want) {
		t.Errorf("Seen = %v, want %v", seen, want)
	}
}

func TestRecordPostsIsOneTransaction(t *testing.T) {
	s := openTest(t, nil)
	ctx := context.Background()
	batch := []Recorded{rec("x:1", time.Time{}, alert), rec("", time.Time{}, alert)}
	if _, err := s.RecordPostsAndCursor(ctx, batch, "x", "c2"); err == nil {
		t.Fatal("a batch with a post without id was accepted")
	}
	if n, _ := s.CountPosts(); n != 0 {
		t.Errorf("%d posts stored by a failed batch, want 0", n)
	}
	if cur, _ := s.Cursor(ctx, "x"); cur != "" {
		t.Errorf("cursor advanced to %q by a failed batch", cur)
	}
}

func TestCursors(t *testing.T) {
	s := openTest(t, nil)
	ctx := context.Background()
	if cur, err := s.Cursor(ctx, "bluesky"); err != nil || cur != "" {
		t.Errorf("Cursor of a new source = %q, %v; want empty", cur, err)
	}
	if err := s.SetCursor(ctx, "bluesky", "c1"); err != nil {
		t.Fatal(err)
	}
	fresh, err := s.RecordPostsAndCursor(ctx, []Recorded{rec("x:1", time.Time{}, Decision{})}, "x", "1001")
	if err != nil || !slices.Equal(fresh, []bool{true}) {
		t.Fatalf("RecordPostsAndCursor = %v, %v", fresh, err)
	}
	for source, want := range map[string]string{"bluesky": "c1", "x": "1001", "reddit": ""} {
		if got, err := s.Cursor(ctx, source); err != nil || got != want {
			t.Errorf("Cursor(%s) = %q, %v; want %q", source, got, err, want)
		}
	}
	if err := s.SetCursor(ctx, "", "c"); err == nil {
		t.Error("SetCursor accepted an empty source")
	}
	if err := s.SetCursor(ctx, "bluesky", ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Cursor(ctx, "bluesky"); got != "" {
		t.Errorf("cursor after reset = %q", got)
	}
}

func TestCounts(t *testing.T) {
	s := openTest(t, nil)
	ctx := context.Background()
	h := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	d := func(brand, cat string) Decision { return Decision{Brand: brand, Category: cat, Alert: true} }
	batch := []Recorded{
		rec("x:1", h.Add(5*time.Minute), d("Kumo", "risky")),
		rec("x:2", h.Add(59*time.Minute), d("Kumo", "risky")),
		rec("x:3", h.Add(61*time.Minute), d("Kumo", "risky")),
		rec("x:4", h.Add(10*time.Minute), d("Kumo", "positive")),
		rec("x:5", h.Add(10*time.Minute), d("Kumo Mobile", "risky")),                  // a brand that extends "Kumo"
		rec("x:6", h.Add(10*time.Minute), Decision{Brand: "Kumo", Category: "risky"}), // no alert
		rec("x:7", h.Add(-50*time.Minute), d("Kumo", "risky")),
	}
	if _, err := s.RecordPosts(ctx, batch); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name            string
		brand, category string
		since, until    time.Time
		want            map[time.Time]int
	}{
		{"one hour", "Kumo", "risky", h, h.Add(time.Hour), map[time.Time]int{h: 2}},
		{"since inside the hour", "Kumo", "risky", h.Add(30 * time.Minute), h.Add(time.Hour), map[time.Time]int{h: 2}},
		{"until is exclusive", "Kumo", "risky", h.Add(-time.Hour), h, map[time.Time]int{h.Add(-time.Hour): 1}},
		{"three hours", "Kumo", "risky", h.Add(-time.Hour), h.Add(2 * time.Hour),
			map[time.Time]int{h.Add(-time.Hour): 1, h: 2, h.Add(time.Hour): 1}},
		{"all categories", "Kumo", "", h, h.Add(time.Hour), map[time.Time]int{h: 3}},
		{"other brand", "Kumo Mobile", "risky", h, h.Add(time.Hour), map[time.Time]int{h: 1}},
		{"unknown brand", "Acme", "", h, h.Add(time.Hour), map[time.Time]int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Counts(ctx, tc.brand, tc.category, tc.since, tc.until)
			if err != nil {
				t.Fatal(err)
			}
			if !mapsEqual(got, tc.want) {
				t.Errorf("Counts = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCaseLifecycle(t *testing.T) {
	clock := newClock()
	s := openTest(t, clock)
	ctx := context.Background()
	if _, err := s.RecordPosts(ctx, []Recorded{rec("x:1", clock.Now(), alert)}); err != nil {
		t.Fatal(err)
	}

	c, created, err := s.OpenCase(ctx, Case{ID: "x:1", Channel: "C1", MessageTS: "111.1"})
	if err != nil || !created {
		t.Fatalf("OpenCase = %v, %v", created, err)
	}
	if c.Status != StatusOpen || c.Brand != "Kumo Mobile" || c.Category != "actionable" || c.AuthorKey != "x:u1" {
		t.Errorf("new case = %+v: want open, with brand, category and author from the post", c)
	}
	again, created, err := s.OpenCase(ctx, Case{ID: "x:1", Channel: "C2"})
	if err != nil || created || again.Channel != "C1" {
		t.Errorf("second OpenCase = %+v, %v, %v; want the first case, not created", again, created, err)
	}

	clock.Advance(time.Minute)
	if c, err = s.Claim(ctx, "x:1", "alice"); err != nil || c.Status != StatusClaimed || c.Assignee != "alice" {
		t.Fatalf("Claim = %+v, %v", c, err)
	}
	n := len(c.History)
	if c, err = s.Claim(ctx, "x:1", "alice"); err != nil || len(c.History) != n {
		t.Errorf("second Claim by the same person = %v events, %v; want no change", len(c.History), err)
	}
	_, err = s.Claim(ctx, "x:1", "bob")
	var claimed *ClaimedError
	if !errors.Is(err, ErrAlreadyClaimed) || !errors.As(err, &claimed) || claimed.By != "alice" {
		t.Errorf("Claim by another = %v; want ErrAlreadyClaimed by alice", err)
	}

	clock.Advance(time.Minute)
	until := clock.Now().Add(time.Hour)
	if _, err := s.Snooze(ctx, "x:1", "alice", clock.Now().Add(-time.Second)); err == nil {
		t.Error("Snooze into the past was accepted")
	}
	if c, err = s.Snooze(ctx, "x:1", "alice", until); err != nil || c.Status != StatusSnoozed || !c.SnoozedUntil.Equal(until) {
		t.Fatalf("Snooze = %+v, %v", c, err)
	}
	if due, err := s.DueSnoozes(ctx, until.Add(-time.Second)); err != nil || len(due) != 0 {
		t.Errorf("DueSnoozes before the time = %v, %v; want none", due, err)
	}
	due, err := s.DueSnoozes(ctx, until)
	if err != nil || len(due) != 1 || due[0].ID != "x:1" {
		t.Fatalf("DueSnoozes at the time = %v, %v; want x:1", due, err)
	}

	clock.Advance(time.Hour)
	if c, err = s.Reopen(ctx, "x:1", SystemActor, "snooze ended"); err != nil || c.Status != StatusOpen || c.Assignee != "" || !c.SnoozedUntil.IsZero() {
		t.Fatalf("Reopen = %+v, %v", c, err)
	}
	if due, _ := s.DueSnoozes(ctx, until.Add(time.Hour)); len(due) != 0 {
		t.Errorf("a reopened case is still due: %v", due)
	}
	if _, err = s.Claim(ctx, "x:1", "bob"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if c, err = s.Resolve(ctx, "x:1", "bob"); err != nil || c.Status != StatusResolved || c.Assignee != "bob" {
		t.Fatalf("Resolve = %+v, %v", c, err)
	}
	n = len(c.History)
	if c, err = s.Resolve(ctx, "x:1", "carol"); err != nil || len(c.History) != n {
		t.Errorf("second Resolve = %v, %v; want no change", len(c.History), err)
	}
	if _, err := s.Claim(ctx, "x:1", "carol"); !errors.Is(err, ErrCaseClosed) {
		t.Errorf("Claim of a resolved case = %v, want ErrCaseClosed", err)
	}
	if _, err := s.Dismiss(ctx, "x:1", "carol", "spam"); !errors.Is(err, ErrCaseClosed) {
		t.Errorf("Dismiss of a resolved case = %v, want ErrCaseClosed", err)
	}

	var actions []string
	for _, e := range c.History {
		if e.At.IsZero() || e.Actor == "" {
			t.Errorf("event %+v lacks a time or an actor", e)
		}
		actions = append(actions, e.Actor+" "+e.Action)
	}
	want := []string{"kizuki opened", "alice claimed", "alice snoozed", "kizuki reopened", "bob claimed", "bob resolved"}
	if !slices.Equal(actions, want) {
		t.Errorf("history = %q, want %q", actions, want)
	}
	if !c.UpdatedAt.Equal(clock.Now()) || !c.CreatedAt.Equal(newClock().Now()) {
		t.Errorf("CreatedAt, UpdatedAt = %v, %v", c.CreatedAt, c.UpdatedAt)
	}

	hist, err := s.AuthorHistory(ctx, "x:u1")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Status != StatusResolved || hist[0].Assignee != "bob" || !hist[0].At.Equal(clock.Now()) {
		t.Errorf("author history = %+v, want x:1 resolved by bob", hist)
	}
}

func TestUpdateCase(t *testing.T) {
	clock := newClock()
	s := openTest(t, clock)
	ctx := context.Background()
	if _, _, err := s.OpenCase(ctx, Case{ID: "x:1", AuthorKey: "x:u1"}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	_, err := s.UpdateCase(ctx, "x:1", "alice", func(c *Case) error {
		c.Status = StatusClaimed
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("UpdateCase with a failing fn = %v, want boom", err)
	}
	if c, _, _ := s.GetCase(ctx, "x:1"); c.Status != StatusOpen || len(c.History) != 1 {
		t.Errorf("case changed by an aborted update: %+v", c)
	}

	clock.Advance(time.Minute)
	c, err := s.UpdateCase(ctx, "x:1", "alice", func(c *Case) error {
		c.Status = StatusDismissed
		c.MessageTS = "222.2"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	last := c.History[len(c.History)-1]
	if c.MessageTS != "222.2" || last.Action != ActionDismissed || last.Actor != "alice" || !last.At.Equal(clock.Now()) {
		t.Errorf("UpdateCase = %+v; want a dismissed event by alice now", c)
	}
	for _, fn := range []func(*Case) error{
		func(c *Case) error { c.Status = "lost"; return nil },
		func(c *Case) error { c.ID = "x:2"; return nil },
	} {
		if _, err := s.UpdateCase(ctx, "x:1", "alice", fn); err == nil {
			t.Error("UpdateCase accepted an invalid change")
		}
	}
	if _, err := s.UpdateCase(ctx, "x:404", "alice", func(*Case) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateCase of an unknown case = %v, want ErrNotFound", err)
	}
	if _, err := s.Claim(ctx, "x:404", "alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Claim of an unknown case = %v, want ErrNotFound", err)
	}
}

func TestClaimRace(t *testing.T) {
	s := openTest(t, newClock())
	ctx := context.Background()
	for round := range 10 {
		id := fmt.Sprintf("x:%d", round)
		if _, _, err := s.OpenCase(ctx, Case{ID: id}); err != nil {
			t.Fatal(err)
		}
		actors := []string{"alice", "bob"}
		errs := make([]error, len(actors))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, actor := range actors {
			wg.Go(func() {
				<-start
				_, errs[i] = s.Claim(ctx, id, actor)
			})
		}
		close(start)
		wg.Wait()
		c, _, err := s.GetCase(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var wins int
		for i, err := range errs {
			var claimed *ClaimedError
			switch {
			case err == nil:
				wins++
				if c.Assignee != actors[i] {
					t.Errorf("%s: %s won but the case is %s's", id, actors[i], c.Assignee)
				}
			case errors.As(err, &claimed) && claimed.By == c.Assignee:
				if !strings.Contains(err.Error(), c.Assignee) {
					t.Errorf("%s: error %q does not name the winner", id, err)
				}
			default:
				t.Errorf("%s: %s got %v, want nil or ErrAlreadyClaimed by the winner", id, actors[i], err)
			}
		}
		if wins != 1 {
			t.Errorf("%s: %d claims won, want exactly 1", id, wins)
		}
		if len(c.History) != 2 {
			t.Errorf("%s: history %+v, want opened and one claim", id, c.History)
		}
	}
}

func TestListCases(t *testing.T) {
	clock := newClock()
	s := openTest(t, clock)
	ctx := context.Background()
	t0 := clock.Now()
	for i, c := range []Case{
		{ID: "x:1", Brand: "Kumo"},
		{ID: "x:2", Brand: "Kumo"},
		{ID: "x:3", Brand: "Acme"},
		{ID: "x:4", Brand: "Acme", Status: StatusSnoozed, SnoozedUntil: t0.Add(time.Hour)},
	} {
		c.CreatedAt = t0.Add(time.Duration(3-i) * time.Minute) // reverse order of ids
		if _, _, err := s.OpenCase(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Claim(ctx, "x:2", "alice"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		filter CaseFilter
		want   []string
	}{
		{"all, oldest first", CaseFilter{}, []string{"x:4", "x:3", "x:2", "x:1"}},
		{"by status", CaseFilter{Status: StatusOpen}, []string{"x:3", "x:1"}},
		{"by brand", CaseFilter{Brand: "Kumo"}, []string{"x:2", "x:1"}},
		{"by status and brand", CaseFilter{Status: StatusClaimed, Brand: "Kumo"}, []string{"x:2"}},
		{"since", CaseFilter{Since: t0.Add(2 * time.Minute)}, []string{"x:2", "x:1"}},
		{"none", CaseFilter{Status: StatusResolved}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cases, err := s.ListCases(ctx, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range cases {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("ListCases(%+v) = %v, want %v", tc.filter, ids, tc.want)
			}
		})
	}
	if due, err := s.DueSnoozes(ctx, t0.Add(time.Hour)); err != nil || len(due) != 1 || due[0].ID != "x:4" {
		t.Errorf("DueSnoozes of a case opened snoozed = %v, %v", due, err)
	}
}

func TestAuthorHistory(t *testing.T) {
	clock := newClock()
	s := openTest(t, clock)
	ctx := context.Background()
	other := rec("x:9", time.Time{}, alert)
	other.Post.Author.ID = "u2"
	batch := []Recorded{rec("x:1", time.Time{}, alert), rec("x:2", time.Time{}, Decision{}), other}
	if _, err := s.RecordPosts(ctx, batch); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if _, err := s.RecordPosts(ctx, []Recorded{rec("x:3", time.Time{}, alert)}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if _, _, err := s.OpenCase(ctx, Case{ID: "x:1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, "x:1", "alice"); err != nil {
		t.Fatal(err)
	}
	hist, err := s.AuthorHistory(ctx, "x:u1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range hist {
		got = append(got, r.ID+" "+r.Status+" "+r.Assignee)
	}
	want := []string{"x:3 alerted ", "x:1 claimed alice"} // oldest first; x:2 was not alerted
	if !slices.Equal(got, want) {
		t.Errorf("AuthorHistory = %q, want %q", got, want)
	}
	if hist, _ := s.AuthorHistory(ctx, "x:u"); len(hist) != 0 {
		t.Errorf("AuthorHistory of a key prefix = %+v, want none", hist)
	}
}

func TestOutbox(t *testing.T) {
	clock := newClock()
	path := filepath.Join(t.TempDir(), "kizuki.db")
	s, err := Open(path, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	ctx := context.Background()
	now := clock.Now()
	keys := func(items []OutboxItem) []string {
		var ks []string
		for _, it := range items {
			ks = append(ks, it.Key)
		}
		return ks
	}
	for _, tc := range []struct {
		item OutboxItem
		want bool
	}{
		// Keys sort in the opposite order of insertion: Pending must follow insertion.
		{OutboxItem{Key: "x:3/alert", Channel: "C1", Payload: []byte(`{"text":"3"}`)}, true},
		{OutboxItem{Key: "x:2/alert", Channel: "C1"}, true},
		{OutboxItem{Key: "x:1/alert", Channel: "C1", NotBefore: now.Add(time.Minute)}, true},
		{OutboxItem{Key: "x:3/alert", Channel: "C2"}, false},
	} {
		if added, err := s.Enqueue(ctx, tc.item); err != nil || added != tc.want {
			t.Errorf("Enqueue(%s) = %v, %v; want %v", tc.item.Key, added, err, tc.want)
		}
	}
	if _, err := s.Enqueue(ctx, OutboxItem{}); err == nil {
		t.Error("Enqueue accepted an empty key")
	}
	pending, err := s.Pending(ctx, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(pending); !slices.Equal(got, []string{"x:3/alert", "x:2/alert"}) {
		t.Errorf("Pending(now) = %v", got)
	}
	if string(pending[0].Payload) != `{"text":"3"}` || pending[0].Channel != "C1" || !pending[0].EnqueuedAt.Equal(now) {
		t.Errorf("Pending item = %+v", pending[0])
	}
	if got, _ := s.Pending(ctx, now.Add(time.Minute), 0); !slices.Equal(keys(got), []string{"x:3/alert", "x:2/alert", "x:1/alert"}) {
		t.Errorf("Pending(later) = %v", keys(got))
	}
	if got, _ := s.Pending(ctx, now, 1); !slices.Equal(keys(got), []string{"x:3/alert"}) {
		t.Errorf("Pending(limit 1) = %v", keys(got))
	}

	// A failure holds the item back until the retry, in its place.
	if err := s.MarkFailed(ctx, "x:3/alert", "slack: 503", now.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Pending(ctx, now, 0); !slices.Equal(keys(got), []string{"x:2/alert"}) {
		t.Errorf("Pending after a failure = %v", keys(got))
	}
	if err := s.MarkFailed(ctx, "x:3/alert", "slack: 429", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Pending(ctx, now.Add(time.Minute), 0)
	if !slices.Equal(keys(got), []string{"x:3/alert", "x:2/alert", "x:1/alert"}) || got[0].Attempts != 2 || got[0].LastError != "slack: 429" {
		t.Errorf("Pending at the retry = %+v", got)
	}

	if err := s.MarkSent(ctx, "x:2/alert", "1700000000.000100"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, "x:2/alert", "1700000000.000100"); err != nil {
		t.Errorf("MarkSent again = %v, want nil", err)
	}
	for _, err := range []error{
		s.MarkSent(ctx, "x:404", "ts"),
		s.MarkFailed(ctx, "x:404", "e", now),
		s.MarkFailed(ctx, "x:2/alert", "e", now),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("outbox verb on an unknown or sent key = %v, want ErrNotFound", err)
		}
	}
	if n, err := s.OutboxDepth(); err != nil || n != 2 {
		t.Errorf("OutboxDepth = %d, %v; want 2", n, err)
	}

	// After a restart (or a crash after sending), the sent key is still refused.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(path, Options{Now: clock.Now}); err != nil {
		t.Fatal(err)
	}
	if added, err := s.Enqueue(ctx, OutboxItem{Key: "x:2/alert", Channel: "C1"}); err != nil || added {
		t.Errorf("re-Enqueue of a sent key = %v, %v; want false", added, err)
	}
	if added, err := s.Enqueue(ctx, OutboxItem{Key: "x:4/alert", Channel: "C1"}); err != nil || !added {
		t.Errorf("Enqueue after reopen = %v, %v", added, err)
	}
	if got, _ := s.Pending(ctx, now.Add(time.Hour), 0); !slices.Equal(keys(got), []string{"x:3/alert", "x:1/alert", "x:4/alert"}) {
		t.Errorf("Pending after reopen = %v", keys(got))
	}
}

func TestTracked(t *testing.T) {
	clock := newClock()
	s := openTest(t, clock)
	ctx := context.Background()
	t0 := clock.Now()
	for i := range MaxSamples + 10 {
		if err := s.Track(ctx, "x:1", post.Metrics{Reposts: i}, t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Track(ctx, "x:2", post.Metrics{Likes: 1}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	samples, err := s.Tracked(ctx, "x:1")
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != MaxSamples || samples[0].Metrics.Reposts != 10 || samples[MaxSamples-1].Metrics.Reposts != MaxSamples+9 ||
		!samples[0].At.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("Tracked kept %d samples, first %+v: want the last %d", len(samples), samples[0], MaxSamples)
	}
	if samples, _ := s.Tracked(ctx, "x:2"); len(samples) != 1 || !samples[0].At.Equal(t0) {
		t.Errorf("a sample without time = %+v, want the clock's time", samples)
	}
	if ids, err := s.TrackedIDs(ctx); err != nil || !slices.Equal(ids, []string{"x:1", "x:2"}) {
		t.Errorf("TrackedIDs = %v, %v", ids, err)
	}
	if err := s.Untrack(ctx, "x:1"); err != nil {
		t.Fatal(err)
	}
	if samples, err := s.Tracked(ctx, "x:1"); err != nil || len(samples) != 0 {
		t.Errorf("Tracked after Untrack = %v, %v", samples, err)
	}
	if ids, _ := s.TrackedIDs(ctx); !slices.Equal(ids, []string{"x:2"}) {
		t.Errorf("TrackedIDs after Untrack = %v", ids)
	}
}

func TestDeletePostsBefore(t *testing.T) {
	clock := newClock()
	s := openTest(t, clock)
	ctx := context.Background()
	cut := time.Date(2026, 11, 1, 0, 0, 5, 0, time.UTC)
	batch := []Recorded{
		rec("x:old", cut.Add(-24*time.Hour), alert),
		rec("x:just-before", cut.Add(-time.Nanosecond), Decision{}),
		rec("x:at", cut, Decision{}),
		// RFC3339Nano would print "…05.5Z", which sorts before "…05Z".
		rec("x:half-second-after", cut.Add(500*time.Millisecond), Decision{}),
		rec("x:new", cut.Add(time.Hour), Decision{}),
		rec("x:undated", time.Time{}, Decision{}), // recorded now (20 November): kept
	}
	// More than one transaction's worth of old posts.
	for i := range 2*retentionChunk + 7 {
		batch = append(batch, rec(fmt.Sprintf("x:bulk-%d", i), cut.Add(-time.Duration(i+1)*time.Second), Decision{}))
	}
	if _, err := s.RecordPosts(ctx, batch); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeletePostsBefore(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 + 2*retentionChunk + 7; n != want {
		t.Errorf("DeletePostsBefore = %d, want %d", n, want)
	}
	seen, err := s.Seen(ctx, []string{"x:old", "x:just-before", "x:at", "x:half-second-after", "x:new", "x:undated", "x:bulk-0"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, false, true, true, true, true, false}; !slices.Equal(seen, want) {
		t.Errorf("Seen after retention = %v, want %v", seen, want)
	}
	if count, _ := s.CountPosts(); count != 4 {
		t.Errorf("CountPosts after retention = %d, want 4", count)
	}
	if n, err := s.DeletePostsBefore(ctx, cut); err != nil || n != 0 {
		t.Errorf("second DeletePostsBefore = %d, %v; want 0", n, err)
	}
	// Counters outlive the posts.
	if c, _ := s.Counts(ctx, "Kumo Mobile", "actionable", cut.Add(-48*time.Hour), cut); len(c) != 1 {
		t.Errorf("counts after retention = %v, want the old alert counted", c)
	}
	// A deleted post is fresh again.
	if fresh, _ := s.RecordPosts(ctx, []Recorded{rec("x:old", cut.Add(-24*time.Hour), Decision{})}); !fresh[0] {
		t.Error("a post deleted by retention is still seen")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.DeletePostsBefore(cancelled, cut); !errors.Is(err, context.Canceled) {
		t.Errorf("DeletePostsBefore with a cancelled context = %v", err)
	}
}

func TestTimeKeySorts(t *testing.T) {
	base := time.Date(2026, 11, 20, 9, 15, 5, 0, time.UTC)
	times := []time.Time{
		{}, base, base.Add(time.Nanosecond), base.Add(500 * time.Millisecond), base.Add(time.Second),
		base.In(time.FixedZone("JST", 9*3600)).Add(2 * time.Second),
	}
	for i := 1; i < len(times); i++ {
		a, b := timeKey(times[i-1]), timeKey(times[i])
		if len(a) != timeKeyLen || len(b) != timeKeyLen || a >= b {
			t.Errorf("timeKey(%v) = %q, timeKey(%v) = %q: not in time order or not fixed width", times[i-1], a, times[i], b)
		}
	}
}

func TestOpenLockedInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kizuki.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, readOnly := range []bool{false, true} {
		start := time.Now()
		_, err := Open(path, Options{LockTimeout: 100 * time.Millisecond, ReadOnly: readOnly})
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("second Open (read-only %v) = %v, want ErrLocked", readOnly, err)
		}
		if !strings.Contains(err.Error(), "stop it or use another --data-dir") {
			t.Errorf("error %q does not say what to do", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("second Open waited %v for a 100ms lock timeout", d)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("Open after Close = %v", err)
	}
	s.Close()
}

// helper starts this test binary as another process running the named helper on path.
func helper(t *testing.T, name, path string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+name, helperPathEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, bufio.NewScanner(stdout)
}

func TestOpenLockedByAnotherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	path := filepath.Join(t.TempDir(), "kizuki.db")
	cmd, out := helper(t, "hold", path)
	if !out.Scan() || out.Text() != "ready" {
		t.Fatalf("helper said %q, %v", out.Text(), out.Err())
	}
	_, err := Open(path, Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Open of a file held by another process = %v, want ErrLocked", err)
	}
	// The lock dies with its process, however it ends.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open after the other process died = %v", err)
	}
	s.Close()
}

func TestCrashKeepsCursorWithItsPosts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	path := filepath.Join(t.TempDir(), "kizuki.db")
	cmd, out := helper(t, "write", path)
	for out.Scan() {
		if n, _ := strconv.Atoi(out.Text()); n >= 20 {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL, in the middle of some batch
		t.Fatal(err)
	}
	_ = cmd.Wait()

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open after a crash = %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	cur, err := s.Cursor(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	last, err := strconv.Atoi(cur)
	if err != nil || last < 20 {
		t.Fatalf("cursor after crash = %q, want a batch number of at least 20", cur)
	}
	for _, batch := range []int{1, last, last + 1} {
		var ids []string
		for j := range 10 {
			ids = append(ids, fmt.Sprintf("x:%d-%d", batch, j))
		}
		seen, err := s.Seen(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		want := batch <= last
		for j, ok := range seen {
			if ok != want {
				t.Errorf("post %s seen = %v with cursor %d", ids[j], ok, last)
			}
		}
	}
	if n, _ := s.CountPosts(); n != 10*last {
		t.Errorf("%d posts with cursor %d, want %d", n, last, 10*last)
	}
}

// writeBolt makes a bbolt file with fill run in one transaction.
func writeBolt(t *testing.T, path string, fill func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fill); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRejectsWhatIsNotAStore(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.db")
	s, err := Open(real, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var batch []Recorded
	for i := range 2000 {
		batch = append(batch, rec(fmt.Sprintf("x:%d", i), time.Time{}, alert))
	}
	if _, err := s.RecordPosts(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	s.Close()
	whole, err := os.ReadFile(real)
	if err != nil {
		t.Fatal(err)
	}
	used := usedSize(t, real) // bbolt grows files ahead: the tail past this is unused
	if used <= 8*4096 || used >= len(whole) {
		t.Fatalf("store of %d bytes uses %d: want a larger store with an unused tail", len(whole), used)
	}
	random := make([]byte, 64<<10)
	rng := rand.NewChaCha8([32]byte{1})
	_, _ = rng.Read(random)

	tests := []struct {
		name string
		make func(path string)
	}{
		{"random bytes", func(p string) { os.WriteFile(p, random, 0o600) }},
		{"a few bytes of text", func(p string) { os.WriteFile(p, []byte("hello\n"), 0o600) }},
		{"a store truncated to half", func(p string) { os.WriteFile(p, whole[:len(whole)/2], 0o600) }},
		{"a store missing its last page of data", func(p string) { os.WriteFile(p, whole[:used-4096], 0o600) }},
		{"a store truncated to its meta pages", func(p string) { os.WriteFile(p, whole[:2*4096], 0o600) }},
		{"a store truncated inside its meta pages", func(p string) { os.WriteFile(p, whole[:6000], 0o600) }},
		{"a bbolt file of another program", func(p string) {
			writeBolt(t, p, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket([]byte("widgets"))
				if err != nil {
					return err
				}
				return b.Put([]byte("w1"), []byte("blue"))
			})
		}},
		{"a bbolt file with someone else's meta bucket", func(p string) {
			writeBolt(t, p, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket([]byte("meta"))
				if err != nil {
					return err
				}
				return b.Put([]byte("schema"), []byte("1"))
			})
		}},
		{"a directory", func(p string) { os.Mkdir(p, 0o700) }},
	}
	for _, tc := range tests {
		for _, readOnly := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/read-only=%v", tc.name, readOnly), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "kizuki.db")
				tc.make(path)
				before, _ := os.ReadFile(path)
				s, err := Open(path, Options{ReadOnly: readOnly})
				if err == nil {
					s.Close()
					t.Fatal("Open succeeded")
				}
				if !errors.Is(err, ErrNotStore) {
					t.Fatalf("Open = %v, want ErrNotStore", err)
				}
				if !strings.Contains(err.Error(), "move it away or point --data-dir elsewhere") || !strings.Contains(err.Error(), path) {
					t.Errorf("error %q does not name the file and say what to do", err)
				}
				if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
					t.Error("Open changed a file that is not a store")
				}
			})
		}
	}
}

// usedSize is how much of a bbolt file holds pages.
func usedSize(t *testing.T, path string) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	_ = db.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return int(n)
}

func TestOpenStoreWithoutUnusedTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kizuki.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordPosts(context.Background(), []Recorded{rec("x:1", time.Time{}, Decision{})}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Truncate(path, int64(usedSize(t, path))); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("Open of a store cut right after its last page = %v", err)
	}
	defer s.Close()
	if seen, err := s.Seen(context.Background(), []string{"x:1"}); err != nil || !seen[0] {
		t.Errorf("Seen = %v, %v", seen, err)
	}
}

func TestOpenEmptyFile(t *testing.T) {
	// What a crash during the very first Open leaves: read-write starts a new store;
	// read-only cannot.
	path := filepath.Join(t.TempDir(), "kizuki.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{ReadOnly: true}); !errors.Is(err, ErrNotStore) {
		t.Errorf("read-only Open of an empty file = %v, want ErrNotStore", err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open of an empty file = %v, want a new store", err)
	}
	if _, err := s.RecordPosts(context.Background(), []Recorded{rec("x:1", time.Time{}, Decision{})}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(filepath.Join(t.TempDir(), "missing.db"), Options{ReadOnly: true}); err == nil || errors.Is(err, ErrNotStore) {
		t.Errorf("read-only Open of a missing file = %v, want a not-exist error", err)
	}
}

func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kizuki.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.RecordPosts(ctx, []Recorded{rec("x:1", time.Time{}, Decision{})}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	r1, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := Open(path, Options{ReadOnly: true, LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("a second read-only Open = %v; readers share the file", err)
	}
	defer r2.Close()
	if _, ok, err := r2.GetPost(ctx, "x:1"); !ok || err != nil {
		t.Errorf("GetPost read-only = %v, %v", ok, err)
	}
	if _, err := r1.RecordPosts(ctx, []Recorded{rec("x:2", time.Time{}, Decision{})}); err == nil {
		t.Error("RecordPosts succeeded on a read-only store")
	}
	if _, err := Open(path, Options{LockTimeout: 100 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Errorf("read-write Open while readers hold the file = %v, want ErrLocked", err)
	}
}

// writeV0 writes a store as it was before schema 1: Kizuki's meta bucket without a schema
// key, and posts without the time index.
func writeV0(t *testing.T, path string, recs ...Recorded) {
	t.Helper()
	writeBolt(t, path, func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket([]byte(bucketMeta))
		if err != nil {
			return err
		}
		if err := meta.Put([]byte(metaApp), []byte(appName)); err != nil {
			return err
		}
		posts, err := tx.CreateBucket([]byte(bucketPosts))
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := putJSON(posts, []byte(r.Post.ID), r); err != nil {
				return err
			}
		}
		return nil
	})
}

func TestMigrateV0(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kizuki.db")
	old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	writeV0(t, path, rec("x:old", old, Decision{}), rec("x:new", old.AddDate(0, 6, 0), Decision{}))
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if n, err := s.DeletePostsBefore(ctx, old.AddDate(0, 1, 0)); err != nil || n != 1 {
		t.Errorf("DeletePostsBefore on a migrated store = %d, %v; want the old post deleted", n, err)
	}
	if seen, _ := s.Seen(ctx, []string{"x:old", "x:new"}); !slices.Equal(seen, []bool{false, true}) {
		t.Errorf("Seen = %v", seen)
	}
	if err := s.SetCursor(ctx, "x", "1"); err != nil {
		t.Errorf("a bucket of schema 1 is missing after migration: %v", err)
	}
	if v := schemaOf(t, s); v != SchemaVersion() {
		t.Errorf("schema after migration = %d, want %d", v, SchemaVersion())
	}
}

func schemaOf(t *testing.T, s *Store) int {
	t.Helper()
	var v int
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		v, err = strconv.Atoi(string(tx.Bucket([]byte(bucketMeta)).Get([]byte(metaSchema))))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMigrations(t *testing.T) {
	// Fake migrations that log themselves in a bucket, to test the framework.
	logStep := func(name string, fail bool) migration {
		return migration{name: name, up: func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("migration_log"))
			if err != nil {
				return err
			}
			seq, _ := b.NextSequence()
			if err := b.Put([]byte(strconv.FormatUint(seq, 10)), []byte(name)); err != nil {
				return err
			}
			if fail {
				return errors.New("disk on fire")
			}
			return nil
		}}
	}
	readLog := func(t *testing.T, s *Store) []string {
		var log []string
		_ = s.db.View(func(tx *bolt.Tx) error {
			if b := tx.Bucket([]byte("migration_log")); b != nil {
				return b.ForEach(func(_, v []byte) error { log = append(log, string(v)); return nil })
			}
			return nil
		})
		return log
	}
	two := []migration{logStep("0→1", false), logStep("1→2", false)}

	t.Run("a v0 store runs every step in order, once", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "kizuki.db")
		writeV0(t, path)
		for range 2 {
			s, err := Open(path, Options{migrations: two})
			if err != nil {
				t.Fatal(err)
			}
			if log := readLog(t, s); !slices.Equal(log, []string{"0→1", "1→2"}) {
				t.Errorf("migrations run: %v", log)
			}
			if v := schemaOf(t, s); v != 2 {
				t.Errorf("schema = %d, want 2", v)
			}
			s.Close()
		}
	})
	t.Run("a v1 store runs only the later step", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "kizuki.db")
		s, err := Open(path, Options{migrations: two[:1]})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		if s, err = Open(path, Options{migrations: two}); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if log := readLog(t, s); !slices.Equal(log, []string{"1→2"}) {
			t.Errorf("migrations run: %v", log)
		}
	})
	t.Run("a failed step changes nothing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "kizuki.db")
		writeV0(t, path)
		_, err := Open(path, Options{migrations: []migration{logStep("0→1", false), logStep("1→2", true)}})
		if err == nil || !strings.Contains(err.Error(), "migrate schema 1 to 2") {
			t.Fatalf("Open with a failing migration = %v", err)
		}
		s, err := Open(path, Options{migrations: []migration{}}) // schema 0 is current: no migration
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if log := readLog(t, s); len(log) != 0 {
			t.Errorf("a failed upgrade left %v behind", log)
		}
	})
}

func TestSchemaTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kizuki.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketMeta)).Put([]byte(metaSchema), []byte("99"))
	})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, readOnly := range []bool{false, true} {
		_, err := Open(path, Options{ReadOnly: readOnly})
		if !errors.Is(err, ErrSchemaTooNew) {
			t.Errorf("Open (read-only %v) of schema 99 = %v, want ErrSchemaTooNew", readOnly, err)
		}
	}
	// An older store cannot be read read-only: upgrading writes.
	path = filepath.Join(t.TempDir(), "v0.db")
	writeV0(t, path)
	if _, err := Open(path, Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "upgrade") {
		t.Errorf("read-only Open of schema 0 = %v, want an error saying to upgrade", err)
	}
}

func TestCancelledContext(t *testing.T) {
	s := openTest(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.RecordPosts(ctx, []Recorded{rec("x:1", time.Time{}, Decision{})}); !errors.Is(err, context.Canceled) {
		t.Errorf("RecordPosts with a cancelled context = %v", err)
	}
	if _, err := s.Seen(ctx, []string{"x:1"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Seen with a cancelled context = %v", err)
	}
}

func TestAuthorKey(t *testing.T) {
	tests := []struct {
		name string
		p    post.Post
		want string
	}{
		{"platform and id", post.Post{ID: "x:1", Platform: "x", Author: post.Author{ID: "42", Handle: "h"}}, "x:42"},
		{"handle without id", post.Post{ID: "bsky:1", Platform: "bsky", Author: post.Author{Handle: "h.bsky.social"}}, "bsky:h.bsky.social"},
		{"platform from the post id", post.Post{ID: "reddit:abc", Author: post.Author{ID: "t2_x"}}, "reddit:t2_x"},
		{"no author", post.Post{ID: "rss:1", Platform: "rss"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := AuthorKey(tc.p); got != tc.want {
				t.Errorf("AuthorKey = %q, want %q", got, tc.want)
			}
		})
	}
}

// BenchmarkRecordPosts shows why a poll cycle records its posts in one call: each call is one
// transaction and one fsync, so batch=1 is the cost of a transaction per post.
func BenchmarkRecordPosts(b *testing.B) {
	for _, size := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s := openTest(b, nil)
			ctx := context.Background()
			t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
			recs := make([]Recorded, size)
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				for i := range recs {
					n++
					r := rec("x:"+strconv.Itoa(1_000_000+n), t0.Add(time.Duration(n)*time.Millisecond), Decision{})
					r.Post.Text = r.Post.Text[:60]
					r.Post.Author.Handle = "someone" + strconv.Itoa(n%1000)
					recs[i] = r
				}
				if _, err := s.RecordPosts(ctx, recs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "posts/s")
			v, _ := json.Marshal(recs[0])
			b.ReportMetric(float64(len(v)), "B/post")
		})
	}
}

// TestStoreSizeFollowsData records posts as a daemon does, ids and times
// growing, and checks the file is not much larger than what it holds: with
// bbolt's default half-full page splits it was 2.4 times as large.
func TestStoreSizeFollowsData(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "kizuki.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	data := 0
	for b := range 20 {
		batch := make([]Recorded, 500)
		for i := range batch {
			n := b*len(batch) + i
			r := rec(fmt.Sprintf("x:%019d", 1860000000000000000+n*4096), start.Add(time.Duration(n)*time.Second), alert)
			r.Post.Text += strings.Repeat(" so slow today", 40)
			batch[i] = r
			js, _ := json.Marshal(r)
			data += len(js)
		}
		if _, err := s.RecordPosts(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	// Pages in use: the file itself grows in steps and keeps freed pages.
	var used int64
	if err := s.db.View(func(tx *bolt.Tx) error {
		used = tx.Size() - int64(s.db.Stats().FreePageN+s.db.Stats().PendingPageN)*int64(s.db.Info().PageSize)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if ratio := float64(used) / float64(data); ratio > 2 {
		t.Errorf("store uses %d bytes for %d bytes of posts (%.2f×), want at most 2×", used, data, ratio)
	} else {
		t.Logf("store uses %.2f× its posts", ratio)
	}
}
