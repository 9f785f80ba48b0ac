package watch

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/alerting"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/store"
)

func samples(start time.Time, every time.Duration, engagement ...int) []store.Sample {
	var out []store.Sample
	for i, e := range engagement {
		out = append(out, store.Sample{At: start.Add(time.Duration(i) * every), Metrics: post.Metrics{Reposts: e, Likes: 1000}})
	}
	return out
}

func TestMeasure(t *testing.T) {
	t.Parallel()
	cfg := rules.DefaultVelocity() // ×5 in 30m to at least 20, or 500
	t0 := time.Date(2026, 11, 21, 1, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		samples   []store.Sample
		escalate  bool
		from, to  int
		rate, bar bool
	}{
		{"one sample", samples(t0, 10*time.Minute, 3), false, 0, 0, false, false},
		{"×15 in 30 minutes", samples(t0, 10*time.Minute, 2, 3, 5, 30), true, 2, 30, true, false},
		{"×6 but too small", samples(t0, 10*time.Minute, 1, 2, 3, 6), false, 1, 6, false, false},
		{"×5 over more than the window", samples(t0, 10*time.Minute, 4, 6, 9, 14, 21), false, 6, 21, false, false},
		{"from zero", samples(t0, 10*time.Minute, 0, 0, 0, 25), true, 0, 25, true, false},
		{"steady growth", samples(t0, 10*time.Minute, 20, 30, 40, 50, 60, 70), false, 40, 70, false, false},
		{"slow growth past the bar", samples(t0, time.Hour, 300, 380, 450, 520), true, 450, 520, false, true},
		{"sparse re-polls compare the last two", samples(t0, 2*time.Hour, 4, 40), true, 4, 40, true, false},
		{"likes do not count", []store.Sample{{At: t0, Metrics: post.Metrics{Likes: 1}}, {At: t0.Add(10 * time.Minute), Metrics: post.Metrics{Likes: 5000}}}, false, 0, 0, false, false},
		{"quotes and replies count", []store.Sample{{At: t0, Metrics: post.Metrics{Quotes: 1, Replies: 2}}, {At: t0.Add(10 * time.Minute), Metrics: post.Metrics{Quotes: 10, Replies: 12}}}, true, 3, 22, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := Measure(cfg, tc.samples)
			if g.Escalate != tc.escalate || g.ByRate != tc.rate || g.ByBar != tc.bar || (len(tc.samples) > 1 && (g.From != tc.from || g.To != tc.to)) {
				t.Errorf("Measure = escalate %v (rate %v, bar %v) %d → %d, want %v (%v, %v) %d → %d",
					g.Escalate, g.ByRate, g.ByBar, g.From, g.To, tc.escalate, tc.rate, tc.bar, tc.from, tc.to)
			}
		})
	}
	g := Measure(cfg, samples(t0, 10*time.Minute, 2, 3, 5, 30))
	if why := g.Why(); !strings.Contains(why, "from 2 to 30 (×15) in 30m") || !strings.Contains(why, "at least ×5 within 30m, reaching at least 20") {
		t.Errorf("why %q", why)
	}
}

// alerted records a post as the pipeline does: recorded, a case, its alert in the outbox
// and sent.
func (f *fixture) alerted(t *testing.T, brand, category, channel string, at time.Time, m post.Metrics) string {
	t.Helper()
	ctx := context.Background()
	f.n++
	id := "x:v" + strings.Repeat("1", f.n)
	rec := store.Recorded{
		Post: post.Post{ID: id, Platform: "x", URL: "https://x.com/angry/status/1", CreatedAt: at.Add(-5 * time.Minute),
			Author: post.Author{ID: "u9", Handle: "angry_kenji", Followers: 250000}, Metrics: m,
			Text: "Kumo Mobile charged me twice and support hung up. Never again."},
		Decision:   store.Decision{Brand: brand, Category: category, Score: 72, Alert: true, Relevant: true},
		RecordedAt: at,
	}
	f.clock.Set(at)
	if _, _, err := f.st.OpenCase(ctx, store.Case{ID: id, Brand: brand, Category: category, Channel: channel}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Enqueue(ctx, store.OutboxItem{Key: alerting.AlertKey(id), Channel: channel, Payload: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.MarkSent(ctx, alerting.AlertKey(id), "1700000000.000100"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.RecordPosts(ctx, []store.Recorded{rec}); err != nil {
		t.Fatal(err)
	}
	return id
}

// repoll records a sample as the daemon's re-poll does, then runs the velocity check.
func (f *fixture) repoll(t *testing.T, id string, at time.Time, m post.Metrics) {
	t.Helper()
	ctx := context.Background()
	f.clock.Set(at)
	if err := f.st.Track(ctx, id, m, at); err != nil {
		t.Fatal(err)
	}
	if err := f.w.CheckVelocity(ctx, at); err != nil {
		t.Fatal(err)
	}
}

func TestVelocityEscalatesOnceAcrossRepolls(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.UTC)
	t0 := time.Date(2026, 11, 21, 1, 0, 0, 0, time.UTC)
	risky := f.alerted(t, "Kumo Mobile", "actionable", "#kumo-support", t0, post.Metrics{Reposts: 1, Replies: 1})
	praise := f.alerted(t, "Kumo Mobile", "positive", "#kumo-marketing", t0, post.Metrics{Reposts: 1})

	// Re-polls every 10 minutes: 2, 3, 5, then the post takes off.
	steps := []post.Metrics{{Reposts: 2, Replies: 1}, {Reposts: 3, Replies: 2}, {Reposts: 4, Quotes: 1, Replies: 3}, {Reposts: 22, Quotes: 5, Replies: 4}, {Reposts: 80, Quotes: 20, Replies: 30}, {Reposts: 900, Quotes: 100, Replies: 60}}
	var firstAt time.Time
	for i, m := range steps {
		at := t0.Add(time.Duration(i+1) * 10 * time.Minute)
		f.repoll(t, risky, at, m)
		f.repoll(t, praise, at, post.Metrics{Reposts: m.Reposts * 3})
		if _, ok := f.outbox(t)[risky+":velocity"]; ok && firstAt.IsZero() {
			firstAt = at
		}
	}
	if want := t0.Add(40 * time.Minute); !firstAt.Equal(want) {
		t.Errorf("escalated at %v, want at the re-poll of %v (×10 in 30 minutes)", firstAt, want)
	}
	out := f.outbox(t)
	var velocity []string
	for k := range out {
		if strings.Contains(k, ":velocity") {
			velocity = append(velocity, k)
		}
	}
	if len(velocity) != 2 {
		t.Fatalf("velocity messages %v, want one notice and one reply for the negative post only", velocity)
	}
	notice := out[risky+":velocity"]
	if notice.channel != "#kumo-risk" || notice.alert.Kind != alerting.KindNotice || notice.alert.Blocks == nil {
		t.Errorf("notice to %s kind %q", notice.channel, notice.alert.Kind)
	}
	if !strings.Contains(notice.alert.Text, "3 → 31") {
		t.Errorf("notice text %q", notice.alert.Text)
	}
	reply := out[risky+":velocity:reply"]
	if reply.channel != "#kumo-support" || reply.alert.Kind != alerting.KindReply || reply.alert.ThreadKey != alerting.AlertKey(risky) {
		t.Errorf("reply %+v to %s", reply.alert.Message, reply.channel)
	}
	if !strings.Contains(reply.alert.Text, "Escalated to #kumo-risk") || !strings.Contains(reply.alert.Text, "grew from 3 to 31") {
		t.Errorf("reply text %q", reply.alert.Text)
	}
}

func TestVelocityWithoutAlertThread(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, time.UTC)
	t0 := time.Date(2026, 11, 21, 1, 0, 0, 0, time.UTC)
	// A tracked post without an alert of its own (say it was diverted into nothing):
	// the notice goes out, no reply waits for a thread that will never exist.
	f.clock.Set(t0)
	rec := store.Recorded{Post: post.Post{ID: "x:lonely", Platform: "x", Text: "Sora Cafe scam"},
		Decision: store.Decision{Brand: "Sora Cafe", Category: "risky", Score: 60, Alert: true, Relevant: true}, RecordedAt: t0}
	if _, err := f.st.RecordPosts(ctx, []store.Recorded{rec}); err != nil {
		t.Fatal(err)
	}
	f.repoll(t, "x:lonely", t0.Add(10*time.Minute), post.Metrics{Reposts: 600})
	out := f.outbox(t)
	if _, ok := out["x:lonely:velocity"]; !ok {
		t.Fatal("no notice past the absolute bar")
	}
	if out["x:lonely:velocity"].channel != "#sora-risk" {
		t.Errorf("notice to %s", out["x:lonely:velocity"].channel)
	}
	if _, ok := out["x:lonely:velocity:reply"]; ok {
		t.Error("a reply was queued for a thread that does not exist")
	}
}
