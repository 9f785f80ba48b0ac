package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
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
	partial bool                   // with err: return the page as well, as a source out of budget does
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
		if f.partial {
			return f.page, f.err
		}
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
	e := &env{now: now}
	clock := func() time.Time { return e.now }
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
		Location:         time.FixedZone("JST", 9*3600),
		Now:              clock,
		Query:            func() listener.Query { return listener.Query{Keywords: []string{"Kumo Mobile"}} },
		PerSourceTimeout: 200 * time.Millisecond,
	})
	e.st, e.ix, e.p = st, ix, p
	return e
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

// byAuthor gives a post an author.
func byAuthor(p post.Post, id, handle string) post.Post {
	p.Author = post.Author{ID: id, Handle: handle, Followers: 100}
	return p
}

// poll runs one poll of a page of posts.
func (e *env) poll(t *testing.T, posts ...post.Post) Stats {
	t.Helper()
	st, err := e.p.PollOnce(context.Background(), &fakeSource{name: "x", page: listener.Page{Posts: posts, Cursor: posts[len(posts)-1].ID}})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// message decodes the outbox item with key.
func (e *env) message(t *testing.T, key string) (store.OutboxItem, alerting.Alert, bool) {
	t.Helper()
	for _, it := range e.outbox(t) {
		if it.Key == key {
			var a alerting.Alert
			if err := json.Unmarshal(it.Payload, &a); err != nil {
				t.Fatal(err)
			}
			return it, a, true
		}
	}
	return store.OutboxItem{}, alerting.Alert{}, false
}

const (
	outageText = "Kumo Mobile has had no signal since this morning, how do I get a refund?"
	riskyText  = "Kumo Mobile leaked my personal data. This is a scam, I'm talking to a lawyer."
)

func TestPollOnceSilencedAlertIsRecordedNotSent(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, kumo, noon)
	if _, _, err := e.st.AddSilence(ctx, store.Silence{Author: "x:u-bot", CreatedBy: "U111", Comment: "bot",
		EndsAt: noon.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	st := e.poll(t, byAuthor(mkPost("x:1", outageText), "u-bot", "bot"), byAuthor(mkPost("x:2", outageText), "u-2", "someone"))
	if want := (Stats{Fetched: 2, New: 2, Alerts: 1, Silenced: 1}); st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
	if _, _, ok := e.message(t, "x:1:alert"); ok {
		t.Error("the silenced post was enqueued")
	}
	if _, ok, _ := e.st.GetCase(ctx, "x:1"); ok {
		t.Error("the silenced post has a case")
	}
	r, ok, err := e.st.GetPost(ctx, "x:1")
	if err != nil || !ok || !r.Decision.Alert || !strings.Contains(strings.Join(r.Decision.Reasons, "\n"), "silenced by silence 1") {
		t.Errorf("silenced post recorded %v with decision %+v, %v", ok, r.Decision, err)
	}
	if n, _ := e.ix.Count(); n != 2 {
		t.Errorf("index has %d posts, want both: a silenced post stays searchable", n)
	}

	// Silences end by themselves.
	e.now = noon.Add(time.Hour)
	if st := e.poll(t, byAuthor(mkPost("x:3", outageText), "u-bot", "bot")); st.Alerts != 1 || st.Silenced != 0 {
		t.Errorf("after the silence ended: %+v, want an alert", st)
	}
}

// at sets when a post was written.
func at(p post.Post, t time.Time) post.Post {
	p.CreatedAt = t
	return p
}

func TestPollOnceGroupsAnAuthorsPostsIntoOneThread(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, kumo, noon)
	e.p.group = time.Hour
	// The clock stays at noon: the window is about when the posts were written, so a
	// backfill of old posts groups as they were written.
	yuki := func(id, text string, after time.Duration) post.Post {
		return at(byAuthor(mkPost(id, text), "u-yuki", "yuki_t"), noon.Add(after))
	}
	e.poll(t, yuki("x:1", outageText, 0))

	// Twenty minutes later, the same author again: a reply in the first alert's thread.
	again := yuki("x:2", "Still no signal on Kumo Mobile <!channel>, what do I do?", 20*time.Minute)
	again.URL = "https://x.com/yuki_t/status/2"
	st := e.poll(t, again, at(byAuthor(mkPost("x:3", outageText), "u-other", "other"), noon.Add(20*time.Minute)))
	if st.Alerts != 2 || st.Grouped != 1 {
		t.Fatalf("stats %+v, want 2 alerts of which 1 grouped", st)
	}
	it, a, ok := e.message(t, "x:2:alert")
	if !ok || a.Kind != alerting.KindReply || a.ThreadKey != "x:1:alert" || it.Channel != "#support" {
		t.Fatalf("x:2's message %+v in %q: want a reply in x:1's thread", a.Message, it.Channel)
	}
	for _, want := range []string{"@yuki_t posted again", "11/20 12:20 JST", "actionable", "Still no signal", "https://x.com/yuki_t/status/2"} {
		if !strings.Contains(a.Text, want) {
			t.Errorf("reply text %q lacks %q", a.Text, want)
		}
	}
	if _, ok, _ := e.st.GetCase(ctx, "x:2"); ok {
		t.Error("a grouped post opened a case of its own")
	}
	if _, a, _ := e.message(t, "x:3:alert"); a.Kind != alerting.KindAlert {
		t.Errorf("another author's post: %q, want an alert", a.Kind)
	}

	// A risky post of the same author alerts on its own.
	st = e.poll(t, yuki("x:4", riskyText, 30*time.Minute))
	if _, a, _ := e.message(t, "x:4:alert"); st.Grouped != 0 || a.Kind != alerting.KindAlert || a.Decision.Category != rules.Risky {
		t.Errorf("risky follow-up: %+v, kind %q, category %s; want its own risky alert", st, a.Kind, a.Decision.Category)
	}

	// Beyond the window (of x:1, and of the risky x:4, which an actionable post may
	// join), or once the first case is closed, a new post alerts again.
	if st := e.poll(t, yuki("x:5", outageText, 91*time.Minute)); st.Grouped != 0 {
		t.Errorf("after the window: %+v, want a new alert", st)
	}
	if _, err := e.st.Resolve(ctx, "x:5", "U1"); err != nil {
		t.Fatal(err)
	}
	if st := e.poll(t, yuki("x:6", outageText, 100*time.Minute)); st.Grouped != 0 {
		t.Errorf("after the case was resolved: %+v, want a new alert", st)
	}
	// Two posts of a new author in one page: the second joins the first.
	amy := func(id string) post.Post { return at(byAuthor(mkPost(id, outageText), "u-amy", "amy"), noon) }
	if st := e.poll(t, yuki("x:7", outageText, 101*time.Minute), amy("x:8"), amy("x:9")); st.Grouped != 2 || st.Alerts != 3 {
		t.Errorf("stats %+v: want x:7 in x:6's thread and x:9 in x:8's", st)
	}
	if _, a, _ := e.message(t, "x:9:alert"); a.ThreadKey != "x:8:alert" {
		t.Errorf("x:9 went to %q, want x:8's thread", a.ThreadKey)
	}

	// Without a window, nothing groups.
	e.p.group = 0
	if st := e.poll(t, yuki("x:10", outageText, 102*time.Minute)); st.Grouped != 0 || st.Alerts != 1 {
		t.Errorf("without a window: %+v", st)
	}
}

func TestPollOnceBrandReplyResolvesTheCase(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, kumo, noon)
	customer := byAuthor(mkPost("x:1", outageText), "u-yuki", "yuki_t")
	e.poll(t, customer)

	// Someone else's reply does not resolve anything.
	e.now = noon.Add(5 * time.Minute)
	other := byAuthor(mkPost("x:2", "same here"), "u-ken", "ken")
	other.ReplyTo, other.Context = "x:1", []post.Post{customer}
	if st := e.poll(t, other); st.Resolved != 0 {
		t.Fatalf("a customer's reply resolved the case: %+v", st)
	}

	// The brand answers on the platform (the thread was fetched with the reply).
	e.now = noon.Add(10 * time.Minute)
	answer := byAuthor(mkPost("x:3", "@yuki_t Sorry about that! Could you DM us your area?"), "u-kumo", "Kumo_Support")
	answer.ReplyTo, answer.Context = "x:1", []post.Post{customer}
	answer.CreatedAt = time.Date(2026, 11, 20, 3, 8, 0, 0, time.UTC)
	if st := e.poll(t, answer); st.Resolved != 1 || st.Alerts != 0 {
		t.Fatalf("stats %+v, want the case resolved and no alert", st)
	}
	c, _, _ := e.st.GetCase(ctx, "x:1")
	if c.Status != store.StatusResolved || c.Assignee != "Kumo_Support" {
		t.Errorf("case %s by %q, want resolved by Kumo_Support", c.Status, c.Assignee)
	}
	last := c.History[len(c.History)-1]
	if last.Actor != "Kumo_Support" || last.Note != alerting.AnsweredNote("Kumo_Support", answer.CreatedAt) {
		t.Errorf("last event %+v", last)
	}
	it, a, ok := e.message(t, "x:1:answered")
	if !ok || a.Kind != alerting.KindReply || a.ThreadKey != "x:1:alert" || it.Channel != "#support" {
		t.Fatalf("answered reply %+v in %q", a.Message, it.Channel)
	}
	if want := "Answered by @Kumo_Support on x at 2026-11-20 12:08 JST. Resolved."; a.Text != want {
		t.Errorf("reply %q, want %q", a.Text, want)
	}
	var update alerting.Alert
	for _, it := range e.outbox(t) {
		if strings.HasPrefix(it.Key, "x:1:update:") {
			if err := json.Unmarshal(it.Payload, &update); err != nil {
				t.Fatal(err)
			}
		}
	}
	if update.Kind != alerting.KindUpdate || update.Case.Status != store.StatusResolved {
		t.Fatalf("update %+v, want the alert re-rendered as resolved", update.Message)
	}
	update.Location = time.FixedZone("JST", 9*3600)
	if b, _ := json.Marshal(alerting.Blocks(update)); !strings.Contains(string(b), "answered by @Kumo_Support on the platform at 11/20 12:08 JST") {
		t.Errorf("updated alert does not say who answered: %s", b)
	}

	// A later reply in the same thread changes nothing more.
	e.now = noon.Add(20 * time.Minute)
	thanks := byAuthor(mkPost("x:4", "thanks!"), "u-yuki", "yuki_t")
	thanks.ReplyTo, thanks.Context = "x:3", []post.Post{customer, answer}
	before := len(e.outbox(t))
	if st := e.poll(t, thanks); st.Resolved != 0 || len(e.outbox(t)) != before {
		t.Errorf("second pass: %+v, outbox %d → %d", st, before, len(e.outbox(t)))
	}
}

func TestPollOnceBrandReplyFoundLater(t *testing.T) {
	e := newEnv(t, kumo, noon)
	// A thread under a brand's post: someone answers it, and the customer answers them.
	brandFirst := byAuthor(mkPost("x:0", "Kumo Mobile maintenance tonight"), "u-kumo", "kumomobile")
	ken := byAuthor(mkPost("x:10", "again?"), "u-ken", "ken")
	ken.ReplyTo, ken.Context = "x:0", []post.Post{brandFirst}
	customer := byAuthor(mkPost("x:1", outageText), "u-yuki", "yuki_t")
	customer.ReplyTo, customer.Context = "x:10", []post.Post{brandFirst, ken}
	if st := e.poll(t, customer); st.Alerts != 1 || st.Resolved != 0 {
		t.Fatalf("stats %+v: want the customer alerted; the brand's post before it answers nothing", st)
	}
	// The customer's next post carries the brand's reply in its thread, which no poll
	// saw on its own; and the same page holds the brand's reply to a fresh alert.
	answer := byAuthor(mkPost("x:2", "please DM us"), "u-kumo", "kumo_support")
	answer.ReplyTo = "x:1"
	next := byAuthor(mkPost("x:3", "ok, sent"), "u-yuki", "yuki_t")
	next.ReplyTo, next.Context = "x:2", []post.Post{brandFirst, ken, customer, answer}
	fresh := byAuthor(mkPost("x:5", outageText), "u-amy", "amy")
	freshAnswer := byAuthor(mkPost("x:6", "@amy sorry!"), "u-kumo", "kumo_support")
	freshAnswer.ReplyTo = "x:5" // no context: known by id only
	st := e.poll(t, freshAnswer, next, fresh)
	if st.Resolved != 2 {
		t.Fatalf("stats %+v, want both cases resolved", st)
	}
	for _, id := range []string{"x:1", "x:5"} {
		if c, _, _ := e.st.GetCase(context.Background(), id); c.Status != store.StatusResolved || c.Assignee != "kumo_support" {
			t.Errorf("case %s is %s by %q", id, c.Status, c.Assignee)
		}
	}
}
