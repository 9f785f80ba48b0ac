package alerting

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/post"
)

// scDeliverer is a Deliverer on the env's store and clock that logs to buf.
func (e *dlEnv) scDeliverer(out OutboxStore, s Sender, buf *bytes.Buffer) *Deliverer {
	if out == nil {
		out = e.st
	}
	var log *slog.Logger
	if buf != nil {
		log = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return NewDeliverer(DelivererOptions{
		Outbox: out, Sender: s, Now: e.clock.Now, Sleep: e.clock.Sleep, Logger: log,
		OnSent: func(key, _, _ string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.sent = append(e.sent, key)
		},
	})
}

func scAlert(id string) Alert { return Alert{Post: post.Post{ID: id, Text: "no signal since " + id}} }

func TestSlackMarksEveryMessageWithItsKey(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	f := newFakeSlack(t, env.clock.Now, fsAllScopes...)
	d := env.scDeliverer(nil, f.client(SlackOptions{}), nil)
	a := riskyAlert(tokyo(t))
	key := AlertKey(a.Post.ID)
	env.put(t, key, "C0ALERTS", a, time.Time{})
	env.put(t, "back:1", "C0ALERTS", ReplyMessage(key, "back now"), time.Time{})
	env.put(t, "notice:1", "#ops", NoticeMessage("source x stalled", nil), time.Time{})
	env.put(t, "update:1", "C0ALERTS", UpdateMessage(a), time.Time{})

	if n, err := d.DrainOnce(t.Context()); err != nil || n != 4 {
		t.Fatalf("DrainOnce = %d, %v; want 4", n, err)
	}
	alerts := f.messages("C0ALERTS")
	if len(alerts) != 2 {
		t.Fatalf("%d messages in #alerts, want the alert and its reply", len(alerts))
	}
	if got := fsKey(alerts[0].Metadata); got != key {
		t.Errorf("alert marked %q, want %q (after its update too)", got, key)
	}
	if got := fsKey(alerts[1].Metadata); got != "back:1" || alerts[1].ThreadTS != alerts[0].TS {
		t.Errorf("reply marked %q in thread %q, want back:1 in %s", got, alerts[1].ThreadTS, alerts[0].TS)
	}
	if ops := f.messages("C0OPS"); len(ops) != 1 || fsKey(ops[0].Metadata) != "notice:1" {
		t.Errorf("#ops got %+v, want the notice marked notice:1", ops)
	}
	for _, v := range f.callsOf("conversations.history") {
		if v.Get("include_all_metadata") != "1" {
			t.Errorf("history without include_all_metadata: %v", v)
		}
	}
}

// A crash between Slack accepting a message and the store recording it: the next process
// finds the message by its key and records it, without posting again.
func TestSlackCrashBetweenPostAndRecordPostsOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		channel string // as configured
		id      string // the channel's ID
		reply   bool   // the item is a reply in the thread of an alert sent before
		pageMax int
	}{
		{name: "alert by channel ID", channel: "C0ALERTS", id: "C0ALERTS"},
		{name: "alert by channel name, paged", channel: "#alerts", id: "C0ALERTS", pageMax: 2},
		{name: "alert in a private channel by name", channel: "secret", id: "C0SECRET", pageMax: 2},
		{name: "reply in a thread", channel: "C0ALERTS", id: "C0ALERTS", reply: true},
		{name: "reply in a thread, paged", channel: "#alerts", id: "C0ALERTS", reply: true, pageMax: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := dlNewEnv(t)
			f := newFakeSlack(t, env.clock.Now, fsAllScopes...)
			f.pageMax = tc.pageMax
			for i := range 6 { // channels listed before #alerts and #secret
				f.channels = append([]fsChannel{{ID: "C0OTHER" + string(rune('A'+i)), Name: "other-" + string(rune('a'+i))}}, f.channels...)
			}
			f.seed(tc.id, 7)
			key := "p1:alert"
			var threadTS string
			if tc.reply {
				env.put(t, "p0:alert", tc.channel, scAlert("p0"), time.Time{})
				if n, err := env.scDeliverer(nil, f.client(SlackOptions{}), nil).DrainOnce(t.Context()); err != nil || n != 1 {
					t.Fatalf("sending the thread's alert: %d, %v", n, err)
				}
				threadTS, _ = env.sentRef(t, "p0:alert")
				env.clock.Advance(time.Minute)
				f.seed(tc.id, 3)
				r := ReplyMessage("p0:alert", "same author again")
				env.put(t, key, tc.channel, r, time.Time{})
			} else {
				env.put(t, key, tc.channel, scAlert("p1"), time.Time{})
			}

			// The first process posts, then dies before MarkSent.
			if _, err := env.scDeliverer(dlFailingMarkSent{env.st}, f.client(SlackOptions{}), nil).DrainOnce(t.Context()); err == nil {
				t.Fatal("DrainOnce hid the failed MarkSent")
			}
			posted := f.keyed(key)
			if len(posted) != 1 {
				t.Fatalf("%d messages marked %s after the first process, want 1", len(posted), key)
			}
			f.seed(tc.id, 9) // the channel goes on
			if tc.reply {
				f.mu.Lock()
				for range 4 { // other replies in the thread after ours
					f.msgs[tc.id] = append(f.msgs[tc.id], &fsMessage{TS: f.nextTS(), ThreadTS: threadTS, Text: "me too"})
				}
				f.mu.Unlock()
			}

			env.clock.Advance(time.Minute)
			var logs bytes.Buffer
			second := env.scDeliverer(nil, f.client(SlackOptions{}), &logs) // a new process: no caches
			if n, err := second.DrainOnce(t.Context()); err != nil || n != 1 {
				t.Fatalf("DrainOnce after restart = %d, %v; want 1, nil", n, err)
			}
			if got := f.keyed(key); len(got) != 1 {
				t.Errorf("%d messages marked %s, want still 1", len(got), key)
			}
			want := posted[0].TS
			if tc.reply {
				want = threadTS // a reply is recorded under its thread
				if len(f.callsOf("conversations.replies")) == 0 {
					t.Error("the reply was not looked for in its thread")
				}
			}
			if ref, ok := env.sentRef(t, key); !ok || ref != want {
				t.Errorf("recorded %q (%v), want %q", ref, ok, want)
			}
			if env.depth(t) != 0 {
				t.Errorf("outbox depth %d, want 0", env.depth(t))
			}
			if !strings.Contains(logs.String(), "already posted") {
				t.Errorf("no log line about the message found: %s", logs.String())
			}
			if calls := f.callsOf("conversations.list"); tc.channel != tc.id && tc.pageMax > 0 && len(calls) < 4 {
				t.Errorf("%d conversations.list calls, want the pages followed in each process", len(calls))
			}
		})
	}
}

// A timeout after Slack accepted the message: the same process checks before its retry.
func TestSlackLostResponseIsNotPostedAgain(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	f := newFakeSlack(t, env.clock.Now, fsAllScopes...)
	d := env.scDeliverer(nil, f.client(SlackOptions{}), nil)
	env.clock.Advance(time.Second)
	env.put(t, "p1:alert", "C0ALERTS", scAlert("p1"), time.Time{}) // after the start: no check
	f.lostResponses = 1

	if n, err := d.DrainOnce(t.Context()); err != nil || n != 0 {
		t.Fatalf("DrainOnce = %d, %v; want 0 sent, the failure recorded", n, err)
	}
	if it := env.item(t, "p1:alert"); it.Attempts != 1 {
		t.Fatalf("item %+v: want one failed attempt", it)
	}
	if got := len(f.callsOf("conversations.history")); got != 0 {
		t.Errorf("%d history calls for a fresh item, want 0", got)
	}
	env.clock.Advance(time.Minute)
	if n, err := d.DrainOnce(t.Context()); err != nil || n != 1 {
		t.Fatalf("retry = %d, %v; want 1", n, err)
	}
	got := f.keyed("p1:alert")
	if len(got) != 1 {
		t.Fatalf("%d messages, want 1", len(got))
	}
	if ref, _ := env.sentRef(t, "p1:alert"); ref != got[0].TS {
		t.Errorf("recorded %q, want %q", ref, got[0].TS)
	}
}

func TestSlackKeyNotFoundIsPostedOnce(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	f := newFakeSlack(t, env.clock.Now, fsAllScopes...)
	f.seed("C0ALERTS", 5)
	s := f.client(SlackOptions{})
	if _, err := s.Post(t.Context(), "C0ALERTS", Alert{Post: post.Post{ID: "p9"}, Message: Message{Key: "p9:alert"}}); err != nil {
		t.Fatal(err)
	}
	env.put(t, "p1:alert", "C0ALERTS", scAlert("p1"), time.Time{}) // before the start: checked
	d := env.scDeliverer(nil, s, nil)

	if n, err := d.DrainOnce(t.Context()); err != nil || n != 1 {
		t.Fatalf("DrainOnce = %d, %v; want 1", n, err)
	}
	if got := len(f.callsOf("conversations.history")); got != 1 {
		t.Errorf("%d history calls, want 1", got)
	}
	if got := len(f.keyed("p1:alert")); got != 1 {
		t.Errorf("posted %d times, want once", got)
	}
	ts, ok, err := s.AlreadyPosted(t.Context(), "C0ALERTS", "p1:alert")
	if err != nil || !ok || ts != f.keyed("p1:alert")[0].TS {
		t.Errorf("AlreadyPosted = %q, %v, %v; want the posted ts", ts, ok, err)
	}
	if _, ok, err := s.AlreadyPosted(t.Context(), "C0ALERTS", "p2:alert"); err != nil || ok {
		t.Errorf("AlreadyPosted of a key never sent = %v, %v", ok, err)
	}
}

func TestSlackSearchIsBounded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		after     int // messages posted after ours
		found     bool
		wantCalls int // history calls, 50 messages a page
	}{
		{"found on the fourth page", 150, true, 4},
		{"beyond the last 200", 250, false, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := dlNewEnv(t)
			f := newFakeSlack(t, env.clock.Now, fsAllScopes...)
			f.pageMax = 50
			var logs bytes.Buffer
			s := f.client(SlackOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			ts, err := s.Post(t.Context(), "C0ALERTS", Alert{Post: post.Post{ID: "p1"}, Message: Message{Key: "p1:alert"}})
			if err != nil {
				t.Fatal(err)
			}
			f.seed("C0ALERTS", tc.after)
			got, ok, err := s.AlreadyPosted(t.Context(), "C0ALERTS", "p1:alert")
			if err != nil || ok != tc.found || (ok && got != ts) {
				t.Errorf("AlreadyPosted = %q, %v, %v; want found %v (%s)", got, ok, err, tc.found, ts)
			}
			if calls := f.callsOf("conversations.history"); len(calls) != tc.wantCalls {
				t.Errorf("%d history calls, want %d", len(calls), tc.wantCalls)
			}
			if warned := strings.Contains(logs.String(), "duplicate is possible"); warned == tc.found {
				t.Errorf("warned %v that the search stopped, want %v: %s", warned, !tc.found, logs.String())
			}
		})
	}

	t.Run("since the enqueue time", func(t *testing.T) {
		t.Parallel()
		env := dlNewEnv(t)
		f := newFakeSlack(t, env.clock.Now, fsAllScopes...)
		s := f.client(SlackOptions{})
		posted := env.clock.Now()
		ts, err := s.Post(t.Context(), "C0ALERTS", Alert{Post: post.Post{ID: "p1"}, Message: Message{Key: "p1:alert"}})
		if err != nil {
			t.Fatal(err)
		}
		env.clock.Advance(time.Hour)
		f.seed("C0ALERTS", 300) // more than AlreadyPosted's 200
		got, ok, err := s.FindSent(t.Context(), SentQuery{Channel: "C0ALERTS", Key: "p1:alert", Since: posted})
		if err != nil || !ok || got != ts {
			t.Errorf("FindSent since the enqueue time = %q, %v, %v; want %s", got, ok, err, ts)
		}
		calls := f.callsOf("conversations.history")
		if o := calls[len(calls)-1].Get("oldest"); o != slackTS(posted.Add(-scClockSkew)) {
			t.Errorf("oldest = %q, want the enqueue time less the clock skew", o)
		}
		// An item enqueued after the message cannot be it.
		if _, ok, err := s.FindSent(t.Context(), SentQuery{Channel: "C0ALERTS", Key: "p1:alert", Since: env.clock.Now()}); err != nil || ok {
			t.Errorf("FindSent since later = %v, %v; want not found", ok, err)
		}
	})
}

func TestSlackChannelNames(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	f := newFakeSlack(t, env.clock.Now, fsAllScopes...)
	f.pageMax = 2
	for i := range 5 {
		f.addChannel(fsChannel{ID: "C0MORE" + string(rune('A'+i)), Name: "more-" + string(rune('a'+i))})
	}
	f.addChannel(fsChannel{ID: "C0LATE", Name: "late"})
	s := f.client(SlackOptions{})
	ctx := t.Context()

	for range 2 {
		if _, ok, err := s.AlreadyPosted(ctx, "#late", "x"); err != nil || ok {
			t.Fatalf("AlreadyPosted(#late) = %v, %v", ok, err)
		}
	}
	lists := f.callsOf("conversations.list")
	if len(lists) != 4 { // 8 public channels, 2 a page; the second lookup is cached
		t.Fatalf("%d conversations.list calls, want 4", len(lists))
	}
	for i, v := range lists {
		if (v.Get("cursor") == "") != (i == 0) || v.Get("types") != "public_channel" || v.Get("exclude_archived") != "true" {
			t.Errorf("conversations.list call %d: %v; want public channels, the previous page's cursor", i, v)
		}
	}
	if h := f.callsOf("conversations.history"); len(h) != 2 || h[0].Get("channel") != "C0LATE" {
		t.Errorf("history calls %v, want two for C0LATE", h)
	}

	// A channel posted to by name needs no listing: the post answered its ID.
	s2 := f.client(SlackOptions{})
	if _, err := s2.Post(ctx, "#ops", NoticeMessage("hello", nil)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s2.AlreadyPosted(ctx, "#ops", "x"); err != nil {
		t.Fatal(err)
	}
	if got := len(f.callsOf("conversations.list")); got != 4 {
		t.Errorf("%d conversations.list calls, want none more", got)
	}

	_, _, err := s.AlreadyPosted(ctx, "#nowhere", "x")
	if !errors.Is(err, ErrCheckUnavailable) || !strings.Contains(err.Error(), "ID") {
		t.Errorf("unknown name: %v, want ErrCheckUnavailable suggesting the ID", err)
	}
	n := len(f.callsOf("conversations.list"))
	if _, _, err := s.AlreadyPosted(ctx, "#nowhere", "x"); !errors.Is(err, ErrCheckUnavailable) {
		t.Errorf("unknown name again: %v", err)
	}
	if got := len(f.callsOf("conversations.list")); got != n {
		t.Errorf("an unknown name listed again at once (%d calls, then %d)", n, got)
	}
	f.addChannel(fsChannel{ID: "C0NEW", Name: "nowhere"})
	env.clock.Advance(scRecheck)
	if _, _, err := s.AlreadyPosted(ctx, "#nowhere", "x"); err != nil {
		t.Errorf("a channel created since: %v", err)
	}
}

// Without the scopes to read, delivery goes on: each message is posted (a duplicate is
// possible after a crash), the cause is logged once with what to do, and Slack is not
// asked again for every item.
func TestSlackMissingScopeDoesNotBlockDelivery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, channel, lacking, method string
	}{
		{"public history", "C0ALERTS", "channels:history", "conversations.history"},
		{"private history", "C0SECRET", "groups:history", "conversations.history"},
		{"channel list", "#alerts", "channels:read", "conversations.list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := dlNewEnv(t)
			var scopes []string
			for _, s := range fsAllScopes {
				if s != tc.lacking {
					scopes = append(scopes, s)
				}
			}
			f := newFakeSlack(t, env.clock.Now, scopes...)
			for _, id := range []string{"p1", "p2", "p3"} {
				env.put(t, AlertKey(id), tc.channel, scAlert(id), time.Time{}) // before the start: checked
			}
			var logs bytes.Buffer
			s := f.client(SlackOptions{})
			d := env.scDeliverer(nil, s, &logs)

			if n, err := d.DrainOnce(t.Context()); err != nil || n != 3 {
				t.Fatalf("DrainOnce = %d, %v; want 3 sent", n, err)
			}
			for _, id := range []string{"p1", "p2", "p3"} {
				if got := len(f.keyed(AlertKey(id))); got != 1 {
					t.Errorf("%s posted %d times, want once", id, got)
				}
			}
			if got := len(f.callsOf(tc.method)); got != 1 {
				t.Errorf("%d %s calls, want 1: the missing scope is remembered", got, tc.method)
			}
			out := logs.String()
			if n := strings.Count(out, "cannot check whether messages were already posted"); n != 1 {
				t.Errorf("logged %d times, want once:\n%s", n, out)
			}
			if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, tc.lacking) || !strings.Contains(out, "reinstall") {
				t.Errorf("log does not say which scope to add:\n%s", out)
			}
			if strings.Contains(out, f.token) {
				t.Error("token logged")
			}

			// The scope added: after the recheck the messages are found again.
			f.setScopes(fsAllScopes...)
			_, _, err := s.AlreadyPosted(t.Context(), tc.channel, AlertKey("p1"))
			if tc.method == "conversations.history" && !errors.Is(err, ErrCheckUnavailable) {
				t.Errorf("before the recheck: %v, want the remembered ErrCheckUnavailable", err)
			}
			env.clock.Advance(scRecheck)
			ts, ok, err := s.AlreadyPosted(t.Context(), tc.channel, AlertKey("p1"))
			if err != nil || !ok || ts != f.keyed(AlertKey("p1"))[0].TS {
				t.Errorf("after the recheck: %q, %v, %v; want found", ts, ok, err)
			}
		})
	}
}

// An error worth retrying (a rate limit) keeps the item: posting without knowing could
// duplicate it.
func TestSlackRateLimitedCheckHoldsTheItem(t *testing.T) {
	t.Parallel()
	env := dlNewEnv(t)
	f := newFakeSlack(t, env.clock.Now, fsAllScopes...)
	f.rateLimited["conversations.history"] = 1
	env.put(t, "p1:alert", "C0ALERTS", scAlert("p1"), time.Time{})
	d := env.scDeliverer(nil, f.client(SlackOptions{}), nil)

	if n, err := d.DrainOnce(t.Context()); err != nil || n != 0 {
		t.Fatalf("DrainOnce = %d, %v; want nothing sent", n, err)
	}
	if got := len(f.callsOf("chat.postMessage")); got != 0 {
		t.Errorf("%d posts while the check was rate limited, want 0", got)
	}
	it := env.item(t, "p1:alert")
	if it.Attempts != 1 || it.NotBefore.Before(env.clock.Now().Add(30*time.Second)) {
		t.Errorf("item %+v: want one attempt, retried after Slack's Retry-After", it)
	}
	env.clock.Advance(31 * time.Second)
	if n, err := d.DrainOnce(t.Context()); err != nil || n != 1 {
		t.Fatalf("retry = %d, %v; want 1", n, err)
	}
	if got := len(f.keyed("p1:alert")); got != 1 {
		t.Errorf("posted %d times, want once", got)
	}
}
