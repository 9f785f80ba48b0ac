package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/store"
)

// snEnv is a store with one alerted, recorded and sent case, x:1 in C1.
func snEnv(t *testing.T) (*dlEnv, *time.Location) {
	t.Helper()
	env := dlNewEnv(t)
	ctx := t.Context()
	p := post.Post{ID: "x:1", Platform: "x", Text: "Kumo Mobile no signal", Author: post.Author{ID: "u1", Handle: "yuki_t"}}
	if _, err := env.st.RecordPosts(ctx, []store.Recorded{{Post: p, Decision: store.Decision{Brand: "Kumo Mobile", Category: "actionable", Score: 70, Alert: true, Relevant: true}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.st.OpenCase(ctx, store.Case{ID: "x:1", Channel: "C1"}); err != nil {
		t.Fatal(err)
	}
	env.put(t, AlertKey("x:1"), "C1", Alert{Post: p}, time.Time{})
	if err := env.st.MarkSent(ctx, AlertKey("x:1"), "1700000000.000001"); err != nil {
		t.Fatal(err)
	}
	return env, time.FixedZone("JST", 9*3600)
}

func (e *dlEnv) pending(t *testing.T) []store.OutboxItem {
	t.Helper()
	items, err := e.st.Pending(t.Context(), e.clock.Now().Add(1000*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func TestReturnSnoozes(t *testing.T) {
	t.Parallel()
	env, jst := snEnv(t)
	ctx := t.Context()
	until := env.clock.Now().Add(time.Hour) // 2025-03-01 10:00 UTC = 19:00 JST
	if _, err := env.st.Snooze(ctx, "x:1", "U111", until); err != nil {
		t.Fatal(err)
	}

	env.clock.Advance(59 * time.Minute)
	if n, err := ReturnSnoozes(ctx, env.st, env.clock.Now(), jst); err != nil || n != 0 {
		t.Fatalf("ReturnSnoozes before the end = %d, %v; want 0", n, err)
	}
	if items := env.pending(t); len(items) != 0 {
		t.Fatalf("outbox has %d items before the snooze ends", len(items))
	}

	env.clock.Advance(time.Minute)
	if n, err := ReturnSnoozes(ctx, env.st, env.clock.Now(), jst); err != nil || n != 1 {
		t.Fatalf("ReturnSnoozes at the end = %d, %v; want 1", n, err)
	}
	c, _, _ := env.st.GetCase(ctx, "x:1")
	if c.Status != store.StatusOpen || c.Assignee != "" {
		t.Errorf("case is %s (%q), want open and unassigned", c.Status, c.Assignee)
	}
	if last := c.History[len(c.History)-1]; last.Action != store.ActionReopened || last.Note != snoozeEnded {
		t.Errorf("last event %+v", last)
	}
	items := env.pending(t)
	if len(items) != 2 {
		t.Fatalf("outbox has %d items, want the reply and the update", len(items))
	}
	var reply, update Alert
	if err := json.Unmarshal(items[0].Payload, &reply); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(items[1].Payload, &update); err != nil {
		t.Fatal(err)
	}
	if reply.Kind != KindReply || reply.ThreadKey != "x:1:alert" || items[0].Channel != "C1" {
		t.Errorf("reply %+v in %s", reply.Message, items[0].Channel)
	}
	if want := "Snoozed by @U111 until 3/1 19:00 JST, back now."; reply.Text != want {
		t.Errorf("reply text %q, want %q", reply.Text, want)
	}
	blocks, _ := json.Marshal(reply.Blocks)
	if !strings.Contains(string(blocks), "Snoozed by \\u003c@U111\\u003e until 3/1 19:00 JST") {
		t.Errorf("reply blocks do not mention the snoozer: %s", blocks)
	}
	if update.Kind != KindUpdate || update.Case.Status != store.StatusOpen || update.Post.ID != "x:1" || update.Decision.Brand != "Kumo Mobile" {
		t.Errorf("update %+v", update)
	}

	// Again: nothing is due, nothing is added.
	if n, err := ReturnSnoozes(ctx, env.st, env.clock.Now().Add(time.Hour), jst); err != nil || n != 0 {
		t.Errorf("second run = %d, %v; want 0", n, err)
	}
	if got := len(env.pending(t)); got != 2 {
		t.Errorf("outbox has %d items after a second run, want 2", got)
	}

	// Delivered: the reply goes into the alert's thread, the update replaces the alert.
	s := &dlFakeSender{clock: env.clock}
	if n, err := env.deliverer(nil, s).DrainOnce(ctx); err != nil || n != 2 {
		t.Fatalf("DrainOnce = %d, %v", n, err)
	}
	for _, p := range s.Posted() {
		if p.ThreadTS != "1700000000.000001" {
			t.Errorf("%s went to %q, want the alert's thread", p.Kind, p.ThreadTS)
		}
	}
}

func TestReturnSnoozeKeepsTheClaim(t *testing.T) {
	t.Parallel()
	env, jst := snEnv(t)
	ctx := t.Context()
	if _, err := env.st.Claim(ctx, "x:1", "U222"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.st.Snooze(ctx, "x:1", "U222", env.clock.Now().Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	env.clock.Advance(5 * time.Hour)
	if n, err := ReturnSnoozes(ctx, env.st, env.clock.Now(), jst); err != nil || n != 1 {
		t.Fatalf("ReturnSnoozes = %d, %v", n, err)
	}
	c, _, _ := env.st.GetCase(ctx, "x:1")
	if c.Status != store.StatusClaimed || c.Assignee != "U222" {
		t.Errorf("case is %s by %q, want claimed by U222 again", c.Status, c.Assignee)
	}
	var reply Alert
	if err := json.Unmarshal(env.pending(t)[0].Payload, &reply); err != nil {
		t.Fatal(err)
	}
	if want := "Snoozed by @U222 until 3/1 22:00 JST, back now. Still claimed by @U222."; reply.Text != want {
		t.Errorf("reply %q, want %q", reply.Text, want)
	}
}

// snFlaky fails UpdateCase once: a crash after the reply was enqueued.
type snFlaky struct {
	*store.Store
	fails int
}

func (f *snFlaky) UpdateCase(ctx context.Context, id, actor string, fn func(*store.Case) error) (store.Case, error) {
	if f.fails > 0 {
		f.fails--
		return store.Case{}, errors.New("power cut")
	}
	return f.Store.UpdateCase(ctx, id, actor, fn)
}

func TestReturnSnoozeAfterACrashRepliesOnce(t *testing.T) {
	t.Parallel()
	env, jst := snEnv(t)
	ctx := t.Context()
	if _, err := env.st.Snooze(ctx, "x:1", "U111", env.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	env.clock.Advance(time.Hour)
	st := &snFlaky{Store: env.st, fails: 1}
	if _, err := ReturnSnoozes(ctx, st, env.clock.Now(), jst); err == nil {
		t.Fatal("the failed reopening was not reported")
	}
	if n, err := ReturnSnoozes(ctx, st, env.clock.Now(), jst); err != nil || n != 1 {
		t.Fatalf("after the crash = %d, %v; want 1", n, err)
	}
	replies := 0
	for _, it := range env.pending(t) {
		if strings.Contains(it.Key, ":snooze-back:") {
			replies++
		}
	}
	if replies != 1 {
		t.Errorf("%d snooze replies, want 1", replies)
	}
}
