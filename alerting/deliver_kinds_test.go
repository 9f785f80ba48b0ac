package alerting

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/store"
)

// put enqueues any outbox message under key.
func (e *dlEnv) put(t *testing.T, key, channel string, a Alert, notBefore time.Time) {
	t.Helper()
	payload, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	added, err := e.st.Enqueue(t.Context(), store.OutboxItem{Key: key, Channel: channel, Payload: payload, NotBefore: notBefore})
	if err != nil || !added {
		t.Fatalf("enqueue %s: added %v, %v", key, added, err)
	}
}

func (e *dlEnv) sentRef(t *testing.T, key string) (string, bool) {
	t.Helper()
	ref, ok, err := e.st.SentRef(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	return ref, ok
}

func TestDeliverReplyWaitsForItsParentWithoutBlockingOthers(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	quietEnd := env.clock.Now().Add(time.Hour)
	// The alert is held by quiet hours; its reply is enqueued after it, in the same
	// channel; other alerts follow in both channels.
	env.put(t, "p1:alert", "C1", Alert{Post: post.Post{ID: "p1"}}, quietEnd)
	env.put(t, "p1:answered", "C1", ReplyMessage("p1:alert", "Answered by @kumo_support"), time.Time{})
	env.enqueue(t, "C1", "p2")
	env.enqueue(t, "C2", "q1")
	s := &dlFakeSender{clock: env.clock}
	d := env.deliverer(nil, s)

	n, err := d.DrainOnce(t.Context())
	if err != nil || n != 2 {
		t.Fatalf("DrainOnce = %d, %v; want 2 (p2 and q1), nil", n, err)
	}
	if got, want := dlCaseIDs(s.Posted()), []string{"p2", "q1"}; !slices.Equal(got, want) {
		t.Fatalf("posted %v, want %v: the waiting reply holds nothing up", got, want)
	}
	reply := env.item(t, "p1:answered")
	if reply.Attempts != 0 || reply.LastError != "" || !reply.NotBefore.After(env.clock.Now()) {
		t.Errorf("waiting reply %+v: want postponed, with no attempt and no error", reply)
	}

	env.clock.Advance(time.Hour)
	n, err = d.DrainOnce(t.Context())
	if err != nil || n != 2 {
		t.Fatalf("DrainOnce after quiet hours = %d, %v; want 2 (the alert, then its reply)", n, err)
	}
	posted := s.Posted()
	alert, reply2 := posted[2], posted[3]
	if alert.CaseID != "p1" || alert.Kind != KindAlert || reply2.Kind != KindReply {
		t.Fatalf("posted %+v, want the alert then the reply", posted[2:])
	}
	if reply2.ThreadTS != alert.TS || reply2.Channel != "C1" || reply2.Text != "Answered by @kumo_support" {
		t.Errorf("reply %+v: want it in the thread of %s", reply2, alert.TS)
	}
	// The reply records its thread, so that a reply to the reply lands there too.
	if ref, ok := env.sentRef(t, "p1:answered"); !ok || ref != alert.TS {
		t.Errorf("sent ref of the reply = %q, %v; want the thread %s", ref, ok, alert.TS)
	}
	env.put(t, "p1:note", "C1", ReplyMessage("p1:answered", "a reply to the reply"), time.Time{})
	if _, err := d.DrainOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if last := s.Posted()[len(s.Posted())-1]; last.ThreadTS != alert.TS {
		t.Errorf("reply to a reply went to thread %q, want %s", last.ThreadTS, alert.TS)
	}
	if n := env.depth(t); n != 0 {
		t.Errorf("outbox depth %d, want 0", n)
	}
}

func TestDeliverReplyInSameDrainAsItsParent(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	env.enqueue(t, "C1", "p1")
	env.put(t, "p1:back", "C1", ReplyMessage(AlertKey("p1"), "back now"), time.Time{})
	s := &dlFakeSender{clock: env.clock}
	d := env.deliverer(nil, s)
	if n, err := d.DrainOnce(t.Context()); err != nil || n != 2 {
		t.Fatalf("DrainOnce = %d, %v; want 2", n, err)
	}
	p := s.Posted()
	if p[1].ThreadTS != p[0].TS {
		t.Errorf("reply thread %q, want %q", p[1].ThreadTS, p[0].TS)
	}
	if got := env.clock.Sleeps(); !slices.Equal(got, []time.Duration{time.Second}) {
		t.Errorf("sleeps %v: a reply is paced like any message to its channel", got)
	}
}

func TestDeliverOrphanReplyIsDroppedAfterAnHour(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	env.put(t, "x:9:back", "C1", ReplyMessage("x:9:alert", "never threaded"), time.Time{})
	s := &dlFakeSender{clock: env.clock}
	d := env.deliverer(nil, s)
	for range 3 {
		if _, err := d.DrainOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		env.clock.Advance(10 * time.Second)
	}
	if n := env.depth(t); n != 1 || s.Calls() != 0 {
		t.Fatalf("depth %d, %d calls: a reply waits for a parent that may still come", n, s.Calls())
	}
	env.clock.Advance(time.Hour)
	if _, err := d.DrainOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := env.depth(t); n != 0 || s.Calls() != 0 {
		t.Errorf("depth %d, %d calls: want the orphan dropped, never posted", n, s.Calls())
	}
}

func TestDeliverBadMessages(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	env.put(t, "r", "C1", Alert{Message: Message{Kind: KindReply, Text: "no thread"}}, time.Time{})
	env.put(t, "k", "C1", Alert{Message: Message{Kind: "telegram", Text: "?"}}, time.Time{})
	env.enqueue(t, "C1", "p1")
	s := &dlFakeSender{clock: env.clock}
	d := env.deliverer(nil, s)
	if n, err := d.DrainOnce(t.Context()); err != nil || n != 1 {
		t.Fatalf("DrainOnce = %d, %v; want the good alert sent", n, err)
	}
	for _, key := range []string{"r", "k"} {
		it := env.item(t, key)
		if it.Attempts != 1 || it.LastError == "" || it.NotBefore.Before(env.clock.Now().Add(23*time.Hour)) {
			t.Errorf("%s: %+v, want held for a day with its error", key, it)
		}
	}
}

func TestDeliverOnlyTheLastUpdateOfAMessage(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	env.enqueue(t, "C1", "p1")
	s := &dlFakeSender{clock: env.clock}
	d := env.deliverer(nil, s)
	if _, err := d.DrainOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	claimed := Alert{Post: post.Post{ID: "p1"}, Case: store.Case{ID: "p1", Status: store.StatusClaimed, Assignee: "U1"}}
	resolved := claimed
	resolved.Case.Status = store.StatusResolved
	env.put(t, "p1:update:1", "C1", UpdateMessage(claimed), time.Time{})
	env.put(t, "p1:update:2", "C1", UpdateMessage(resolved), time.Time{})
	n, err := d.DrainOnce(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("DrainOnce = %d, %v; want one update sent", n, err)
	}
	p := s.Posted()
	if len(p) != 2 || p[1].Kind != KindUpdate || p[1].ThreadTS != p[0].TS {
		t.Fatalf("posted %+v, want the alert then one update of it", p)
	}
	if n := env.depth(t); n != 0 {
		t.Errorf("outbox depth %d, want 0: the superseded update is done too", n)
	}
}

func TestDeliverHeldChannelDoesNotStarveOthers(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	// More items of a rate-limited channel than one batch holds, then another channel.
	env.enqueue(t, "C1", "p1", "p2", "p3", "p4", "p5")
	env.enqueue(t, "C2", "q1")
	s := &dlFakeSender{clock: env.clock, fail: func(_ int, channel string, _ Alert) error {
		if channel == "C1" {
			return &slack.RateLimitedError{RetryAfter: time.Minute}
		}
		return nil
	}}
	d := NewDeliverer(DelivererOptions{Outbox: env.st, Sender: s, Now: env.clock.Now, Sleep: env.clock.Sleep, Batch: 2})
	if _, err := d.DrainOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	env.clock.Advance(time.Second)
	if n, err := d.DrainOnce(t.Context()); err != nil || n != 1 {
		t.Fatalf("second drain = %d, %v; want C2's alert sent while C1 waits", n, err)
	}
	if got := dlCaseIDs(s.Posted()); !slices.Equal(got, []string{"q1"}) {
		t.Errorf("posted %v, want [q1]", got)
	}
}

// The Deliverer and the Slack notifier together, against the fake Slack: an alert, a
// reply in its thread, a notice, and an update of the alert.
func TestDeliverKindsToSlack(t *testing.T) {
	t.Parallel()
	srv, rec := newSlackServer(t)
	env := dlNewEnv(t)
	s := NewSlack(SlackOptions{Token: testToken, APIURL: srv.GetAPIURL()})
	d := env.deliverer(nil, s)
	a := riskyAlert(tokyo(t))
	env.put(t, AlertKey(a.Post.ID), "C0RISK", a, time.Time{})
	env.put(t, a.Post.ID+":back", "C0RISK", ReplyMessage(AlertKey(a.Post.ID), "Snoozed until 18:00 <!here>, back now"), time.Time{})
	env.put(t, "notice:1", "C0OPS", NoticeMessage("source x stalled since 09:00 @channel", nil), time.Time{})
	env.put(t, "notice:2", "C0OPS", NoticeMessage("surge", []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Surge* of negative posts", false, false), nil, nil),
	}), time.Time{})
	a.Case.Status, a.Case.Assignee = store.StatusClaimed, "U0SATO"
	env.put(t, a.Post.ID+":update:1", "C0RISK", UpdateMessage(a), time.Time{})

	if n, err := d.DrainOnce(t.Context()); err != nil || n != 5 {
		t.Fatalf("DrainOnce = %d, %v; want 5", n, err)
	}
	rec.mu.Lock()
	posts := slices.Clone(rec.calls["chat.postMessage"])
	updates := slices.Clone(rec.calls["chat.update"])
	rec.mu.Unlock()
	if len(posts) != 4 || len(updates) != 1 {
		t.Fatalf("%d posts and %d updates, want 4 and 1", len(posts), len(updates))
	}
	alertTS, _ := env.sentRef(t, AlertKey(a.Post.ID))
	reply := posts[1]
	if reply.Get("thread_ts") != alertTS || reply.Get("channel") != "C0RISK" || reply.Get("blocks") != "" {
		t.Errorf("reply form %v: want a text reply in the thread %s", reply, alertTS)
	}
	if got, want := reply.Get("text"), "Snoozed until 18:00 &lt;!here&gt;, back now"; got != want {
		t.Errorf("reply text %q, want %q", got, want)
	}
	notice := posts[2]
	if notice.Get("thread_ts") != "" || notice.Get("text") != "source x stalled since 09:00 @\u200dchannel" || notice.Get("unfurl_links") != "false" {
		t.Errorf("notice form %v", notice)
	}
	withBlocks := posts[3]
	if !strings.Contains(withBlocks.Get("blocks"), "*Surge* of negative posts") || withBlocks.Get("text") != "surge" {
		t.Errorf("notice with blocks: %v", withBlocks)
	}
	for _, v := range []url.Values{reply, notice, withBlocks} {
		assertNoEntities(t, v.Get("text"))
	}
	up := updates[0]
	if up.Get("ts") != alertTS || up.Get("channel") != "C0RISK" || !strings.Contains(up.Get("blocks"), "Claimed by") {
		t.Errorf("update form %v, want the alert at %s re-rendered as claimed", up, alertTS)
	}
	if ref, _ := env.sentRef(t, a.Post.ID+":update:1"); ref != alertTS {
		t.Errorf("update recorded ref %q, want the alert's ts %s", ref, alertTS)
	}
}

func TestSlackRejectsEmptyAndUnknownMessages(t *testing.T) {
	t.Parallel()
	srv, rec := newSlackServer(t)
	s := NewSlack(SlackOptions{Token: testToken, APIURL: srv.GetAPIURL()})
	for _, a := range []Alert{
		NoticeMessage("  ", nil),
		{Message: Message{Kind: "telegram", Text: "x"}},
		UpdateMessage(actionableAlert(time.UTC)), // no ThreadTS
	} {
		if _, err := s.Post(t.Context(), "C1", a); err == nil || Retryable(err) {
			t.Errorf("Post(%+v) = %v, want a permanent error", a.Message, err)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.calls) != 0 {
		t.Errorf("calls made: %v", rec.calls)
	}
}

func TestTerminalPostKinds(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	term := &Terminal{W: &buf, Location: time.UTC}
	ctx := t.Context()
	if _, err := term.Post(ctx, "terminal", actionableAlert(time.UTC)); err != nil {
		t.Fatal(err)
	}
	if _, err := term.Post(ctx, "terminal", ReplyMessage("x:1:alert", "Answered by @kumo_support\x1b[31m")); err != nil {
		t.Fatal(err)
	}
	if _, err := term.Post(ctx, "terminal", NoticeMessage("", []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "source x stalled", false, false), nil, nil),
	})); err != nil {
		t.Fatal(err)
	}
	up := actionableAlert(time.UTC)
	up.Case = store.Case{ID: "x:1", Status: store.StatusClaimed, Assignee: "U1"}
	if _, err := term.Post(ctx, "terminal", UpdateMessage(up)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"↳ (x:1) Answered by @kumo_support", "▶ source x stalled", "↻ x:1: claimed by U1"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[31m") {
		t.Errorf("escape sequence from message text reached the terminal")
	}
	if n := strings.Count(out, "■ "); n != 1 {
		t.Errorf("%d alert heads, want 1: only the post alert looks like one", n)
	}
	if _, err := term.Post(ctx, "terminal", Alert{Message: Message{Kind: "x"}}); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestDeliverTakesWhatArrivesDuringTheDrain(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	env.enqueue(t, "C1", "p1", "p2")
	s := &dlFakeSender{clock: env.clock}
	arrived := false
	s.afterPost = func() {
		if !arrived {
			arrived = true
			env.enqueue(t, "C1", "p3") // the pipeline enqueues while the drain paces
		}
	}
	d := env.deliverer(nil, s)
	if n, err := d.DrainOnce(t.Context()); err != nil || n != 3 {
		t.Fatalf("DrainOnce = %d, %v; want 3: the late arrival goes out in the same drain", n, err)
	}
	if got, want := env.clock.Sleeps(), []time.Duration{time.Second, time.Second}; !slices.Equal(got, want) {
		t.Errorf("sleeps %v, want %v: still one message a second", got, want)
	}
}
