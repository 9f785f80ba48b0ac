package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kizuki-dev/kizuki/alerting"
	"github.com/kizuki-dev/kizuki/index"
	"github.com/kizuki-dev/kizuki/listener"
	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/store"
)

const kumo = `brand: Kumo Mobile
keywords: ["Kumo Mobile", "kumomobile", "クモモバイル"]
handles: ["kumomobile", "kumo_support"]
hashtags: ["kumomobile"]
exclude: ["kumo cloud"]
require_any: []
`

// fakeSource returns one fixed page, or fails, or hangs until its context ends.
type fakeSource struct {
	name    string
	page    listener.Page
	err     error
	hang    bool
	threads map[string][]post.Post // by post id; a missing id is a thread error
	cursors []string               // cursors Search was called with
	threadN atomic.Int32
}

func (f *fakeSource) Name() string { return f.name }

func (f *fakeSource) Search(ctx context.Context, _ listener.Query, cursor string) (listener.Page, error) {
	f.cursors = append(f.cursors, cursor)
	if f.hang {
		<-ctx.Done()
		return listener.Page{}, ctx.Err()
	}
	if f.err != nil {
		return listener.Page{}, f.err
	}
	return f.page, nil
}

func (f *fakeSource) Thread(_ context.Context, p post.Post, _ int) ([]post.Post, error) {
	f.threadN.Add(1)
	t, ok := f.threads[p.ID]
	if !ok {
		return nil, errors.New("thread unavailable")
	}
	return t, nil
}

func (f *fakeSource) Refresh(context.Context, []string) (map[string]post.Metrics, error) {
	return nil, nil
}

type env struct {
	st  *store.Store
	ix  *index.Index
	p   *Pipeline
	now time.Time
}

func newEnv(t *testing.T, rule string, now time.Time) *env {
	t.Helper()
	set, err := rules.LoadFS(fstest.MapFS{"kumo.yaml": &fstest.MapFile{Data: []byte(rule)}}, nil, rules.Options{})
	if err != nil {
		t.Fatalf("load rules: %v", err)
	}
	m, err := matcher.Compile(set, matcher.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var cur atomic.Pointer[matcher.Matcher]
	cur.Store(m)
	dir := t.TempDir()
	clock := func() time.Time { return now }
	st, err := store.Open(filepath.Join(dir, "kizuki.db"), store.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ix, err := index.Open(filepath.Join(dir, "index"), index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	p := NewPipeline(PipelineOptions{
		Matcher:          cur.Load,
		Store:            st,
		Index:            ix,
		Routes:           alerting.Routes{Default: "#support"},
		Now:              clock,
		Query:            func() listener.Query { return listener.Query{Keywords: []string{"Kumo Mobile"}} },
		PerSourceTimeout: 200 * time.Millisecond,
	})
	return &env{st: st, ix: ix, p: p, now: now}
}

func mkPost(id, text string) post.Post {
	return post.Post{ID: id, Platform: "x", Text: text, CreatedAt: time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC),
		Author: post.Author{ID: "u-" + id, Handle: "user" + id, Followers: 100}}
}

// page: an actionable post, an unrelated one, a reply whose thread is fetched,
// and a reply whose thread fails.
func testPage() (listener.Page, map[string][]post.Post) {
	outage := mkPost("x:1", "Kumo Mobile has had no signal since this morning, how do I get a refund?")
	other := mkPost("x:2", "lovely weather today")
	reply := mkPost("x:3", "クモモバイル、昨日からずっと圏外なんだけど")
	reply.ReplyTo = "x:30"
	broken := mkPost("x:4", "クモモバイルのアプリにログインできない")
	broken.ReplyTo = "x:40"
	threads := map[string][]post.Post{"x:3": {mkPost("x:30", "anyone else without signal?")}}
	return listener.Page{Posts: []post.Post{outage, other, reply, broken, outage}, Cursor: "c1"}, threads
}

func (e *env) outbox(t *testing.T) []store.OutboxItem {
	t.Helper()
	items, err := e.st.Pending(context.Background(), e.now.AddDate(0, 1, 0), 0)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func (e *env) cursor(t *testing.T, name string) string {
	t.Helper()
	c, err := e.st.Cursor(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var noon = time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC) // 12:00 in Tokyo, a Friday

func TestPollOnceRecordsDecidesAndEnqueuesOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, kumo, noon)
	page, threads := testPage()
	src := &fakeSource{name: "x", page: page, threads: threads}

	st, err := e.p.PollOnce(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Stats{Fetched: 5, New: 4, Alerts: 3}); st != want {
		t.Fatalf("stats = %+v, want %+v", st, want)
	}
	if got := e.cursor(t, "x"); got != "c1" {
		t.Fatalf("cursor = %q, want c1", got)
	}
	if n, err := e.ix.Count(); err != nil || n != 4 {
		t.Fatalf("index count = %d, %v; want 4", n, err)
	}
	r, ok, err := e.st.GetPost(ctx, "x:1")
	if err != nil || !ok {
		t.Fatalf("x:1 not recorded: %v", err)
	}
	if r.Decision.Category != string(rules.Actionable) || !r.Decision.Alert || r.Decision.Brand != "Kumo Mobile" {
		t.Fatalf("x:1 decision = %+v", r.Decision)
	}
	if r, _, _ := e.st.GetPost(ctx, "x:2"); r.Decision.Alert || r.Decision.Relevant {
		t.Fatalf("x:2 decision = %+v", r.Decision)
	}
	if r, _, _ := e.st.GetPost(ctx, "x:3"); len(r.Post.Context) != 1 || r.Post.Context[0].ID != "x:30" {
		t.Fatalf("x:3 context = %+v, want the fetched parent", r.Post.Context)
	}
	if r, ok, _ := e.st.GetPost(ctx, "x:4"); !ok || len(r.Post.Context) != 0 {
		t.Fatalf("x:4 (thread failed) recorded=%v context=%d, want recorded without context", ok, len(r.Post.Context))
	}

	items := e.outbox(t)
	keys := map[string]store.OutboxItem{}
	for _, it := range items {
		keys[it.Key] = it
	}
	for _, k := range []string{"x:1:alert", "x:3:alert", "x:4:alert"} {
		it, ok := keys[k]
		if !ok {
			t.Fatalf("outbox lacks %s; has %v", k, keys)
		}
		if it.Channel != "#support" || !it.NotBefore.Equal(noon) {
			t.Errorf("%s: channel %q not before %v", k, it.Channel, it.NotBefore)
		}
	}
	if len(items) != 3 {
		t.Fatalf("outbox has %d items, want 3", len(items))
	}
	var a alerting.Alert
	if err := json.Unmarshal(keys["x:1:alert"].Payload, &a); err != nil {
		t.Fatal(err)
	}
	if a.Post.ID != "x:1" || a.Decision.Category != rules.Actionable || a.Case.ID != "x:1" || a.Case.Status != store.StatusOpen {
		t.Fatalf("payload = post %s, category %s, case %+v", a.Post.ID, a.Decision.Category, a.Case)
	}
	c, ok, err := e.st.GetCase(ctx, "x:1")
	if err != nil || !ok || c.Channel != "#support" || c.Brand != "Kumo Mobile" {
		t.Fatalf("case x:1 = %+v, %v, %v", c, ok, err)
	}

	// The same page again: everything is seen, nothing new anywhere.
	threadCalls := src.threadN.Load()
	st, err = e.p.PollOnce(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Stats{Fetched: 5}); st != want {
		t.Fatalf("second poll stats = %+v, want %+v", st, want)
	}
	if got := len(e.outbox(t)); got != 3 {
		t.Fatalf("outbox has %d items after a second poll, want 3", got)
	}
	if n, _ := e.st.CountPosts(); n != 4 {
		t.Fatalf("store has %d posts, want 4", n)
	}
	if src.threadN.Load() != threadCalls {
		t.Fatalf("threads fetched again for seen posts")
	}
	if src.cursors[1] != "c1" {
		t.Fatalf("second search since %q, want c1", src.cursors[1])
	}
}

func TestPollOnceSearchErrorChangesNothing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, kumo, noon)
	if err := e.st.SetCursor(ctx, "x", "c0"); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("503 from platform")
	page, _ := testPage()
	src := &fakeSource{name: "x", page: page, err: boom}
	if _, err := e.p.PollOnce(ctx, src); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	if got := e.cursor(t, "x"); got != "c0" {
		t.Fatalf("cursor = %q, want c0", got)
	}
	if n, _ := e.st.CountPosts(); n != 0 {
		t.Fatalf("store has %d posts, want 0", n)
	}
	if got := len(e.outbox(t)); got != 0 {
		t.Fatalf("outbox has %d items, want 0", got)
	}
}

func TestPollOnceEmptyCursorKeepsOld(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, kumo, noon)
	if err := e.st.SetCursor(ctx, "x", "c0"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.PollOnce(ctx, &fakeSource{name: "x"}); err != nil {
		t.Fatal(err)
	}
	if got := e.cursor(t, "x"); got != "c0" {
		t.Fatalf("cursor = %q, want c0", got)
	}
}

func TestPollAllOneFailingOneHanging(t *testing.T) {
	e := newEnv(t, kumo, noon)
	page, threads := testPage()
	good := &fakeSource{name: "good", page: page, threads: threads}
	bad := &fakeSource{name: "bad", err: errors.New("401 unauthorized")}
	slow := &fakeSource{name: "slow", hang: true}

	start := time.Now()
	errs := e.p.PollAll(context.Background(), []listener.Source{bad, slow, good})
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("PollAll took %v", d)
	}
	if errs["good"] != nil {
		t.Fatalf("good: %v", errs["good"])
	}
	if errs["bad"] == nil {
		t.Fatal("bad: no error")
	}
	if !errors.Is(errs["slow"], context.DeadlineExceeded) {
		t.Fatalf("slow: %v, want deadline exceeded", errs["slow"])
	}
	if got := e.cursor(t, "good"); got != "c1" {
		t.Fatalf("good cursor = %q, want c1", got)
	}
	if n, _ := e.st.CountPosts(); n != 4 {
		t.Fatalf("store has %d posts, want 4", n)
	}
	if got := len(e.outbox(t)); got != 3 {
		t.Fatalf("outbox has %d items, want 3", got)
	}
}

func TestPollOnceQuietHoursHold(t *testing.T) {
	ctx := context.Background()
	rule := kumo + `quiet_hours: {start: "09:00", end: "18:00", timezone: Asia/Tokyo}` + "\n"
	e := newEnv(t, rule, noon)
	src := &fakeSource{name: "x", page: listener.Page{Cursor: "c1", Posts: []post.Post{
		mkPost("x:1", "Kumo Mobile has had no signal since this morning, how do I get a refund?"),
	}}}
	st, err := e.p.PollOnce(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Stats{Fetched: 1, New: 1, Alerts: 1, Held: 1}); st != want {
		t.Fatalf("stats = %+v, want %+v", st, want)
	}
	items := e.outbox(t)
	if len(items) != 1 {
		t.Fatalf("outbox has %d items, want 1", len(items))
	}
	end := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC) // 18:00 in Tokyo
	if !items[0].NotBefore.Equal(end) {
		t.Fatalf("not before %v, want %v", items[0].NotBefore, end)
	}
	due, err := e.st.Pending(ctx, noon, 0)
	if err != nil || len(due) != 0 {
		t.Fatalf("due at noon: %d items, %v; want none", len(due), err)
	}
	due, err = e.st.Pending(ctx, end, 0)
	if err != nil || len(due) != 1 {
		t.Fatalf("due at 18:00: %d items, %v; want 1", len(due), err)
	}
}
