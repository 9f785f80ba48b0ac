package daemon

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/listener"
	"github.com/kizuki-dev/kizuki/post"
)

// countingDrainer counts drains: the daemon drains on its tick and once
// more when it stops.
type countingDrainer struct{ n atomic.Int32 }

func (c *countingDrainer) DrainOnce(context.Context) (int, error) {
	c.n.Add(1)
	return 0, nil
}

func TestRunServesHealthSchedulesAndStops(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kumo, time.Now())
	src := &fakeSource{name: "fake", page: listener.Page{Cursor: "c1", Posts: []post.Post{
		{ID: "x:1", Platform: "x", Text: "Kumo Mobile is a scam, calling a lawyer", CreatedAt: time.Now(), Author: post.Author{Handle: "a"}},
	}}}
	drain := &countingDrainer{}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Pipeline: e.p, Jobs: []Job{{Source: src, Schedule: "@every 1s"}}, Deliver: drain,
			DeliverEvery: 50 * time.Millisecond, Listen: "127.0.0.1:0", OnReady: func(a string) { addrc <- a },
			OutboxDepth: e.st.OutboxDepth})
	}()
	addr := <-addrc
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	// A bound against a hang, not a performance assertion.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if n, _ := e.st.CountPosts(); n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the scheduled poll never recorded the post")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if cur, _ := e.st.Cursor(context.Background(), "fake"); cur != "c1" {
		t.Errorf("cursor %q after a poll, want c1", cur)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`kizuki_posts_new_total{source="fake"} 1`, `kizuki_alerts_enqueued_total{source="fake"} 1`,
		"kizuki_outbox_depth 1", `kizuki_poll_duration_seconds_count{source="fake"}`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	before := drain.n.Load()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop")
	}
	if drain.n.Load() <= before {
		t.Error("no final delivery on stop")
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("health server still answering after stop")
	}
}

func TestRunRejectsABadSchedule(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kumo, time.Now())
	err := Run(context.Background(), Options{Pipeline: e.p, Jobs: []Job{{Source: &fakeSource{name: "f"}, Schedule: "every minute"}}})
	if err == nil || !strings.Contains(err.Error(), "schedule source f") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunDeliversAsSoonAsAPollEnqueues(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kumo, time.Now())
	src := &fakeSource{name: "fake", page: listener.Page{Cursor: "c1", Posts: []post.Post{
		{ID: "x:1", Platform: "x", Text: "Kumo Mobile is a scam, calling a lawyer", CreatedAt: time.Now(), Author: post.Author{Handle: "a"}},
	}}}
	drain := &countingDrainer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// The tick is an hour away: only the poll's signal can bring a delivery.
		done <- Run(ctx, Options{Pipeline: e.p, Jobs: []Job{{Source: src, Schedule: "@every 1h"}}, Deliver: drain, DeliverEvery: time.Hour})
	}()
	// A bound against a hang, not a performance assertion.
	for deadline := time.Now().Add(30 * time.Second); drain.n.Load() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the alert enqueued by the poll at start was not delivered before the tick")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
