package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/store"
)

// dlClock is a fake clock whose Sleep records the wait and advances the time.
type dlClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *dlClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *dlClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *dlClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *dlClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

// dlPosted is one message the fake Slack accepted.
type dlPosted struct {
	Channel, CaseID, TS string
	At                  time.Time
	Kind, ThreadTS      string
	Text                string
}

// dlFakeSender is Slack in memory; fail, if set, decides the outcome of each call.
type dlFakeSender struct {
	clock *dlClock
	fail  func(call int, channel string, a Alert) error
	// afterPost runs after a message was accepted, before Post returns.
	afterPost func()

	mu     sync.Mutex
	calls  int
	posted []dlPosted
}

func (f *dlFakeSender) Post(_ context.Context, channel string, a Alert) (string, error) {
	f.mu.Lock()
	f.calls++
	call := f.calls
	var err error
	if f.fail != nil {
		err = f.fail(call, channel, a)
	}
	var ts string
	if err == nil {
		ts = fmt.Sprintf("1700000000.%06d", len(f.posted)+1)
		if a.Kind == KindUpdate {
			ts = a.ThreadTS
		}
		f.posted = append(f.posted, dlPosted{Channel: channel, CaseID: a.Post.ID, TS: ts, At: f.clock.Now(),
			Kind: a.Kind, ThreadTS: a.ThreadTS, Text: a.Text})
	}
	f.mu.Unlock()
	if err != nil {
		return "", err
	}
	if f.afterPost != nil {
		f.afterPost()
	}
	return ts, nil
}

func (f *dlFakeSender) Posted() []dlPosted {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.posted)
}

func (f *dlFakeSender) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// dlCheckingSender finds earlier posts by key, as a Slack wrapper reading the channel's
// history would.
type dlCheckingSender struct {
	*dlFakeSender
	checks int
}

func (c *dlCheckingSender) AlreadyPosted(_ context.Context, channel, key string) (string, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checks++
	for _, p := range c.posted {
		if p.Channel == channel && p.CaseID+":alert" == key {
			return p.TS, true, nil
		}
	}
	return "", false, nil
}

// dlFailingMarkSent stands for a crash between post and record: MarkSent never lands.
type dlFailingMarkSent struct{ *store.Store }

func (dlFailingMarkSent) MarkSent(context.Context, string, string) error {
	return errors.New("crashed before recording")
}

type dlEnv struct {
	st    *store.Store
	clock *dlClock
	mu    sync.Mutex
	sent  []string // keys given to OnSent
}

func dlNewEnv(t *testing.T) *dlEnv {
	t.Helper()
	clock := &dlClock{now: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
	st, err := store.Open(filepath.Join(t.TempDir(), "kizuki.db"), store.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return &dlEnv{st: st, clock: clock}
}

// enqueue writes alerts for the case ids to channel, as the daemon does before any send.
func (e *dlEnv) enqueue(t *testing.T, channel string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		payload, err := json.Marshal(Alert{Post: post.Post{ID: id}})
		if err != nil {
			t.Fatal(err)
		}
		added, err := e.st.Enqueue(t.Context(), store.OutboxItem{Key: id + ":alert", Channel: channel, Payload: payload})
		if err != nil || !added {
			t.Fatalf("enqueue %s: added %v, %v", id, added, err)
		}
	}
}

func (e *dlEnv) deliverer(out OutboxStore, s Sender) *Deliverer {
	if out == nil {
		out = e.st
	}
	return NewDeliverer(DelivererOptions{
		Outbox:          out,
		Sender:          s,
		Now:             e.clock.Now,
		Sleep:           e.clock.Sleep,
		ChannelInterval: time.Second,
		MaxBackoff:      time.Minute,
		OnSent: func(key, _, _ string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.sent = append(e.sent, key)
		},
	})
}

func (e *dlEnv) onSent() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.sent)
}

func (e *dlEnv) depth(t *testing.T) int {
	t.Helper()
	n, err := e.st.OutboxDepth()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *dlEnv) item(t *testing.T, key string) store.OutboxItem {
	t.Helper()
	all, err := e.st.Pending(t.Context(), e.clock.Now().Add(1000*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range all {
		if it.Key == key {
			return it
		}
	}
	t.Fatalf("item %s not in the outbox", key)
	return store.OutboxItem{}
}

func dlCaseIDs(ps []dlPosted) []string {
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.CaseID)
	}
	return ids
}

func TestDeliverSendsPendingOnceInOrder(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	env.enqueue(t, "C1", "p1", "p2", "p3")
	s := &dlFakeSender{clock: env.clock}
	d := env.deliverer(nil, s)

	n, err := d.DrainOnce(t.Context())
	if err != nil || n != 3 {
		t.Fatalf("DrainOnce = %d, %v; want 3, nil", n, err)
	}
	if got, want := dlCaseIDs(s.Posted()), []string{"p1", "p2", "p3"}; !slices.Equal(got, want) {
		t.Errorf("posted %v, want %v", got, want)
	}
	if got, want := env.onSent(), []string{"p1:alert", "p2:alert", "p3:alert"}; !slices.Equal(got, want) {
		t.Errorf("OnSent %v, want %v", got, want)
	}
	if n := env.depth(t); n != 0 {
		t.Errorf("outbox depth %d after drain, want 0", n)
	}
	n, err = d.DrainOnce(t.Context())
	if err != nil || n != 0 || s.Calls() != 3 {
		t.Errorf("second drain = %d, %v with %d calls; want nothing sent again", n, err, s.Calls())
	}
}

func TestDeliverSlackDownThenBackSendsEachOnce(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	env.enqueue(t, "C1", "p1", "p2")
	env.enqueue(t, "C2", "q1")
	down := 5
	s := &dlFakeSender{clock: env.clock, fail: func(call int, _ string, _ Alert) error {
		if call <= down {
			return slack.StatusCodeError{Code: http.StatusServiceUnavailable, Status: "503 Service Unavailable"}
		}
		return nil
	}}
	d := env.deliverer(nil, s)

	for range 20 {
		if _, err := d.DrainOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		env.clock.Advance(30 * time.Second)
	}
	ids := dlCaseIDs(s.Posted())
	slices.Sort(ids)
	if want := []string{"p1", "p2", "q1"}; !slices.Equal(ids, want) {
		t.Errorf("posted %v, want each of %v once", ids, want)
	}
	var c1 []string
	for _, p := range s.Posted() {
		if p.Channel == "C1" {
			c1 = append(c1, p.CaseID)
		}
	}
	if want := []string{"p1", "p2"}; !slices.Equal(c1, want) {
		t.Errorf("C1 got %v, want the enqueued order %v", c1, want)
	}
	if n := env.depth(t); n != 0 {
		t.Errorf("outbox depth %d, want 0", n)
	}
}

func TestDeliverRateLimitHoldsOnlyThatChannel(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	env.enqueue(t, "C1", "p1")
	env.enqueue(t, "C2", "q1")
	env.enqueue(t, "C1", "p2")
	env.enqueue(t, "C2", "q2")
	s := &dlFakeSender{clock: env.clock, fail: func(_ int, channel string, _ Alert) error {
		if channel == "C1" {
			return fmt.Errorf("slack: post alert: %w", &slack.RateLimitedError{RetryAfter: 30 * time.Second})
		}
		return nil
	}}
	d := env.deliverer(nil, s)
	start := env.clock.Now()

	n, err := d.DrainOnce(t.Context())
	if err != nil || n != 2 {
		t.Fatalf("DrainOnce = %d, %v; want 2 (C2's), nil", n, err)
	}
	if got := s.Calls(); got != 3 {
		t.Errorf("%d calls to Slack, want 3: one to C1, then none until its Retry-After", got)
	}
	if got, want := dlCaseIDs(s.Posted()), []string{"q1", "q2"}; !slices.Equal(got, want) {
		t.Errorf("posted %v, want %v", got, want)
	}
	p1 := env.item(t, "p1:alert")
	if p1.Attempts != 1 || p1.NotBefore.Before(start.Add(30*time.Second)) {
		t.Errorf("p1 attempts %d, not before %v; want 1 and at least %v", p1.Attempts, p1.NotBefore, start.Add(30*time.Second))
	}
	if p2 := env.item(t, "p2:alert"); p2.Attempts != 0 {
		t.Errorf("p2 was tried (%d attempts) while C1 was rate limited", p2.Attempts)
	}
}

func TestDeliverPermanentErrorKeepsItem(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	env.enqueue(t, "C404", "p1")
	env.enqueue(t, "C1", "q1")
	s := &dlFakeSender{clock: env.clock, fail: func(_ int, channel string, _ Alert) error {
		if channel == "C404" {
			return slack.SlackErrorResponse{Err: "channel_not_found"}
		}
		return nil
	}}
	d := env.deliverer(nil, s)

	n, err := d.DrainOnce(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("DrainOnce = %d, %v; want 1, nil", n, err)
	}
	if n := env.depth(t); n != 1 {
		t.Fatalf("outbox depth %d, want the failed item kept", n)
	}
	it := env.item(t, "p1:alert")
	if it.Attempts != 1 || it.LastError == "" || it.NotBefore.Before(env.clock.Now().Add(23*time.Hour)) {
		t.Errorf("failed item %+v: want one attempt, its error, and a retry a day later", it)
	}
}

func TestDeliverPacesEachChannel(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	env.enqueue(t, "C1", "p1")
	env.enqueue(t, "C2", "q1")
	env.enqueue(t, "C1", "p2")
	s := &dlFakeSender{clock: env.clock}
	d := env.deliverer(nil, s)

	if _, err := d.DrainOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := env.clock.Sleeps(), []time.Duration{time.Second}; !slices.Equal(got, want) {
		t.Errorf("sleeps %v, want %v: one before C1's second post, none for C2", got, want)
	}
	last := map[string]time.Time{}
	for _, p := range s.Posted() {
		if prev, ok := last[p.Channel]; ok && p.At.Sub(prev) < time.Second {
			t.Errorf("%s: posts %v apart, want at least 1s", p.Channel, p.At.Sub(prev))
		}
		last[p.Channel] = p.At
	}
}

func TestDeliverCrashBetweenPostAndRecordDoesNotDuplicate(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	env.enqueue(t, "C1", "p1")
	s := &dlCheckingSender{dlFakeSender: &dlFakeSender{clock: env.clock}}

	// The first process posts, then dies before MarkSent.
	first := env.deliverer(dlFailingMarkSent{env.st}, s)
	if _, err := first.DrainOnce(t.Context()); err == nil {
		t.Fatal("DrainOnce hid the failed MarkSent")
	}
	if n := env.depth(t); n != 1 {
		t.Fatalf("outbox depth %d after the crash, want 1", n)
	}

	env.clock.Advance(time.Minute)
	second := env.deliverer(nil, s)
	n, err := second.DrainOnce(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("DrainOnce after restart = %d, %v; want 1, nil", n, err)
	}
	if got := len(s.Posted()); got != 1 {
		t.Errorf("alert posted %d times, want once", got)
	}
	if got, want := env.onSent(), []string{"p1:alert"}; !slices.Equal(got, want) {
		t.Errorf("OnSent %v, want %v", got, want)
	}
	if n := env.depth(t); n != 0 {
		t.Errorf("outbox depth %d, want 0", n)
	}

	// An alert enqueued after the start cannot have been posted by an earlier process: no
	// history lookup for it.
	checks := s.checks
	env.clock.Advance(time.Second)
	env.enqueue(t, "C1", "p2")
	if _, err := second.DrainOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s.checks != checks || len(s.Posted()) != 2 {
		t.Errorf("fresh alert: %d checks (want %d), %d posts (want 2)", s.checks, checks, len(s.Posted()))
	}
}

func TestDeliverFailedRecordIsNotPostedAgainBySameDeliverer(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	env.enqueue(t, "C1", "p1")
	s := &dlFakeSender{clock: env.clock}
	out := &dlFlakyMarkSent{Store: env.st, fails: 1}
	d := env.deliverer(out, s)

	if _, err := d.DrainOnce(t.Context()); err == nil {
		t.Fatal("DrainOnce hid the failed MarkSent")
	}
	if _, err := d.DrainOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := len(s.Posted()); got != 1 {
		t.Errorf("alert posted %d times, want once", got)
	}
	if n := env.depth(t); n != 0 {
		t.Errorf("outbox depth %d, want 0", n)
	}
}

// dlFlakyMarkSent fails MarkSent a number of times, then records.
type dlFlakyMarkSent struct {
	*store.Store
	fails int
}

func (f *dlFlakyMarkSent) MarkSent(ctx context.Context, key, ref string) error {
	if f.fails > 0 {
		f.fails--
		return errors.New("disk full")
	}
	return f.Store.MarkSent(ctx, key, ref)
}

func TestDeliverCancelledWhilePostingKeepsItem(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	env.enqueue(t, "C1", "p1")
	ctx, cancel := context.WithCancel(t.Context())
	s := &dlFakeSender{clock: env.clock, fail: func(int, string, Alert) error {
		cancel()
		return context.Canceled
	}}
	d := env.deliverer(nil, s)

	if _, err := d.DrainOnce(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("DrainOnce = %v, want context.Canceled", err)
	}
	if it := env.item(t, "p1:alert"); it.Attempts != 0 || !it.NotBefore.IsZero() {
		t.Errorf("item after shutdown %+v: want untouched, not held for a day", it)
	}
}

func TestDeliverRunStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	env.enqueue(t, "C1", "p1")
	ctx, cancel := context.WithCancel(t.Context())
	s := &dlFakeSender{clock: env.clock}
	drains := 0
	d := NewDeliverer(DelivererOptions{
		Outbox: env.st,
		Sender: s,
		Now:    env.clock.Now,
		Sleep: func(ctx context.Context, dur time.Duration) error {
			drains++
			if drains == 3 {
				cancel()
			}
			return env.clock.Sleep(ctx, dur)
		},
	})

	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, 10*time.Second) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop after its context was cancelled")
	}
	if got := len(s.Posted()); got != 1 {
		t.Errorf("posted %d, want 1", got)
	}
}

// The time zone does not travel through the outbox's JSON; the Deliverer
// puts it back so that alerts show local times.
func TestDeliverSetsLocation(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	env.enqueue(t, "C1", "p1")
	tokyo := time.FixedZone("JST", 9*3600)
	var got *time.Location
	s := &dlFakeSender{clock: env.clock, fail: func(_ int, _ string, a Alert) error {
		got = a.Location
		return nil
	}}
	d := NewDeliverer(DelivererOptions{Outbox: env.st, Sender: s, Now: env.clock.Now, Sleep: env.clock.Sleep, Location: tokyo})
	if n, err := d.DrainOnce(t.Context()); err != nil || n != 1 {
		t.Fatalf("DrainOnce = %d, %v", n, err)
	}
	if got != tokyo {
		t.Errorf("alert location %v, want %v", got, tokyo)
	}
}
