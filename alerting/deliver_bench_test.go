package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/store"
)

// The delivery benchmarks run the Deliverer, the Slack notifier and the store against a
// fake Slack that paces like Slack (one message per second per channel, 429 with
// Retry-After beyond it) on a simulated clock: the figures are simulated seconds, so
// they do not depend on the machine; ns/op is only what one simulation costs.
// go test ./alerting -run X -bench Delivery -benchtime 1x

// bsClock is the simulated time. Sleeping moves it forward and, on the way, enqueues the
// alerts that arrive meanwhile, as the pipeline would.
type bsClock struct {
	mu      sync.Mutex
	now     time.Time
	arrive  func(until time.Time) // enqueues the arrivals up to until, setting now to each
	sleeps  time.Duration
	running bool
}

func (c *bsClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *bsClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *bsClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	target := c.Now().Add(d)
	c.arrive(target)
	c.set(target)
	return nil
}

// bsSlack is chat.postMessage with Slack's pacing and an optional outage.
type bsSlack struct {
	clock     *bsClock
	downUntil time.Time

	mu      sync.Mutex
	last    map[string]time.Time
	limited int // 429s answered
	failed  int // 503s answered
}

func (s *bsSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	ch := form.Get("channel")
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if now.Before(s.downUntil) {
		s.failed++
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `<html><body>Slack is down</body></html>`)
		return
	}
	if last, ok := s.last[ch]; ok && now.Sub(last) < time.Second {
		s.limited++
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"ok":false,"error":"ratelimited"}`)
		return
	}
	s.last[ch] = now
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": ch,
		"ts": fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)})
}

// bsSender records when each alert reaches the Slack API.
type bsSender struct {
	*Slack
	clock *bsClock
	mu    sync.Mutex
	calls map[string]time.Time // post id → first call
}

func (s *bsSender) Post(ctx context.Context, channel string, a Alert) (string, error) {
	s.mu.Lock()
	if _, ok := s.calls[a.Post.ID]; !ok {
		s.calls[a.Post.ID] = s.clock.Now()
	}
	s.mu.Unlock()
	return s.Slack.Post(ctx, channel, a)
}

// bsScenario is one simulation.
type bsScenario struct {
	perMinute  float64       // alert arrival rate (Poisson)
	arrivals   time.Duration // how long alerts arrive
	channels   int           // alerts spread round-robin
	outage     time.Duration // Slack answers 503 from the start for this long
	maxBackoff time.Duration // Deliverer's cap; zero: its default
}

// bsResult is what a simulation measured, in simulated time.
type bsResult struct {
	latencies []time.Duration // enqueue → Slack API call, per alert
	drain     time.Duration   // end of the outage → outbox empty
	limited   int
	failed    int
}

func bsRun(b *testing.B, sc bsScenario) bsResult {
	b.Helper()
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	clock := &bsClock{now: t0}
	st, err := store.Open(filepath.Join(b.TempDir(), "kizuki.db"), store.Options{Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	fake := &bsSlack{clock: clock, downUntil: t0.Add(sc.outage), last: map[string]time.Time{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	sender := &bsSender{Slack: NewSlack(SlackOptions{Token: "xoxb-bench", APIURL: srv.URL + "/"}), clock: clock, calls: map[string]time.Time{}}

	// Arrivals: a Poisson process with a fixed seed, so every run sees the same alerts.
	rng := rand.New(rand.NewPCG(1, 2))
	var at []time.Time
	for t := t0; ; {
		t = t.Add(time.Duration(rng.ExpFloat64() / sc.perMinute * float64(time.Minute)))
		if t.Sub(t0) >= sc.arrivals {
			break
		}
		at = append(at, t)
	}
	ctx := context.Background()
	next := 0
	enqueue := func(until time.Time) {
		for next < len(at) && !at[next].After(until) {
			clock.set(at[next])
			id := "x:" + strconv.Itoa(next)
			payload, _ := json.Marshal(Alert{Post: post.Post{ID: id, Platform: "x", Text: "alert " + id, CreatedAt: at[next]}})
			if _, err := st.Enqueue(ctx, store.OutboxItem{Key: AlertKey(id), Channel: "C" + strconv.Itoa(next%sc.channels), Payload: payload}); err != nil {
				b.Fatal(err)
			}
			next++
		}
	}
	clock.arrive = enqueue
	d := NewDeliverer(DelivererOptions{Outbox: st, Sender: sender, Now: clock.Now, Sleep: clock.Sleep, MaxBackoff: sc.maxBackoff})

	// The daemon's loop: drain, then wait DeliverEvery (2 s).
	var emptyAt time.Time
	for {
		if _, err := d.DrainOnce(ctx); err != nil {
			b.Fatal(err)
		}
		depth, err := st.OutboxDepth()
		if err != nil {
			b.Fatal(err)
		}
		if depth == 0 && next == len(at) {
			emptyAt = clock.Now()
			break
		}
		if clock.Now().Sub(t0) > 24*time.Hour {
			b.Fatalf("outbox not drained after a simulated day: %d left", depth)
		}
		_ = clock.Sleep(ctx, 2*time.Second)
	}
	res := bsResult{drain: emptyAt.Sub(t0.Add(sc.outage)), limited: fake.limited, failed: fake.failed}
	for i, a := range at {
		call, ok := sender.calls["x:"+strconv.Itoa(i)]
		if !ok {
			b.Fatalf("alert %d never reached Slack", i)
		}
		res.latencies = append(res.latencies, call.Sub(a))
	}
	return res
}

// bsQuantile is the q-quantile of ds (nearest rank).
func bsQuantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(i, 0)]
}

// BenchmarkDeliveryLatency: enqueue → Slack API call, at 50 and 500 alerts a minute for
// ten minutes, into one channel and spread over five.
func BenchmarkDeliveryLatency(b *testing.B) {
	for _, sc := range []struct {
		rate     float64
		channels int
	}{{50, 1}, {50, 5}, {500, 1}, {500, 5}, {500, 10}} {
		b.Run(fmt.Sprintf("rate=%g/min/channels=%d", sc.rate, sc.channels), func(b *testing.B) {
			var res bsResult
			for b.Loop() {
				res = bsRun(b, bsScenario{perMinute: sc.rate, arrivals: 10 * time.Minute, channels: sc.channels})
			}
			b.ReportMetric(float64(len(res.latencies)), "alerts")
			b.ReportMetric(bsQuantile(res.latencies, 0.5).Seconds(), "p50-s")
			b.ReportMetric(bsQuantile(res.latencies, 0.99).Seconds(), "p99-s")
			b.ReportMetric(bsQuantile(res.latencies, 1).Seconds(), "max-s")
			b.ReportMetric(float64(res.limited), "429s")
		})
	}
}

// BenchmarkDeliveryAfterOutage: Slack answers 503 for ten minutes while alerts arrive at
// 50 a minute; drain-s is the time from Slack's return until the outbox is empty.
func BenchmarkDeliveryAfterOutage(b *testing.B) {
	for _, sc := range []struct {
		channels   int
		maxBackoff time.Duration
	}{{1, 0}, {3, 0}, {3, 15 * time.Minute}} {
		name := fmt.Sprintf("channels=%d/max-backoff=%s", sc.channels, cmpOr(sc.maxBackoff, dlDefaultMaxBackoff))
		b.Run(name, func(b *testing.B) {
			var res bsResult
			for b.Loop() {
				res = bsRun(b, bsScenario{perMinute: 50, arrivals: 10 * time.Minute, channels: sc.channels,
					outage: 10 * time.Minute, maxBackoff: sc.maxBackoff})
			}
			b.ReportMetric(float64(len(res.latencies)), "alerts")
			b.ReportMetric(res.drain.Seconds(), "drain-s")
			b.ReportMetric(bsQuantile(res.latencies, 0.5).Seconds(), "p50-s")
			b.ReportMetric(bsQuantile(res.latencies, 1).Seconds(), "max-s")
			b.ReportMetric(float64(res.failed), "503s")
			b.ReportMetric(float64(res.limited), "429s")
		})
	}
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
