package daemon

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/kizuki-dev/kizuki/internal/testclock"
)

func TestWatchRaisesOneStallAndClearsIt(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	sched, err := cron.ParseStandard("@every 5m")
	if err != nil {
		t.Fatal(err)
	}
	w := newWatch("x", 0, sched, start)
	if w.gap != minExpectedGap {
		t.Fatalf("gap of a 5-minute schedule = %s, want the %s floor", w.gap, minExpectedGap)
	}
	fail := errors.New("HTTP 503")
	type poll struct {
		at      time.Duration
		fetched int
		err     error
		want    string // "" no event, "stall", "clear"
	}
	polls := []poll{
		{5 * time.Minute, 3, nil, ""},
		{10 * time.Minute, 0, nil, ""},
		{30 * time.Minute, 0, fail, ""},      // 25 min since data: within the gap
		{36 * time.Minute, 0, fail, "stall"}, // 31 min: stalled, once
		{41 * time.Minute, 0, nil, ""},       // still stalled: no second alert
		{90 * time.Minute, 0, fail, ""},      // still stalled
		{95 * time.Minute, 2, nil, "clear"},  // data again
		{100 * time.Minute, 0, nil, ""},      // quiet but fresh
		{126 * time.Minute, 0, nil, "stall"}, // 31 min of nothing, without errors
	}
	for _, p := range polls {
		ev, changed := w.observe(start.Add(p.at), p.fetched, p.err)
		got := ""
		if changed {
			got = "clear"
			if ev.Stalled {
				got = "stall"
			}
		}
		if got != p.want {
			t.Fatalf("poll at +%s (fetched %d, err %v): event %q, want %q", p.at, p.fetched, p.err, got, p.want)
		}
		if got == "stall" && p.err != nil && !errors.Is(ev.LastErr, fail) {
			t.Errorf("stall at +%s: LastErr = %v", p.at, ev.LastErr)
		}
	}
	// An hourly source gets three hours.
	hourly, _ := cron.ParseStandard("0 * * * *")
	if g := newWatch("feed", 0, hourly, start).gap; g != 3*time.Hour {
		t.Errorf("gap of an hourly schedule = %s, want 3h", g)
	}
	if g := newWatch("feed", 10*time.Minute, hourly, start).gap; g != 10*time.Minute {
		t.Errorf("configured gap = %s, want 10m", g)
	}
}

// budgeted is a source with a daily budget of which 7 are left.
type budgeted struct{ *fakeSource }

func (budgeted) Remaining() (int, bool) { return 7, true }

func TestRunReportsAStalledSourceOnceAndRunsTasksAndHandlers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kumo, time.Now())
	clock := testclock.New(time.Now())
	src := &fakeSource{name: "broken", err: errors.New("HTTP 500 from the platform")}
	healthy := budgeted{&fakeSource{name: "quiet"}} // answers, with nothing: stalls too, without errors
	var events sync.Map                             // source → []HealthEvent
	var evN atomic.Int32
	var taskRuns atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{
			Pipeline: e.p, Now: clock.Now, Listen: "127.0.0.1:0", OnReady: func(a string) { addrc <- a },
			Jobs: []Job{{Source: src, Schedule: "@every 1s", ExpectedGap: time.Hour}, {Source: healthy, Schedule: "@every 1s", ExpectedGap: time.Hour}},
			Tasks: []Task{{Name: "retention", Schedule: "@every 1s", Run: func(context.Context) error {
				taskRuns.Add(1)
				return errors.New("disk full")
			}}},
			Handlers: map[string]http.Handler{"/slack/interactions": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				io.WriteString(w, "slack here")
			})},
			OnHealth: func(_ context.Context, ev HealthEvent) {
				v, _ := events.LoadOrStore(ev.Source, &[]HealthEvent{})
				*v.(*[]HealthEvent) = append(*v.(*[]HealthEvent), ev)
				evN.Add(1)
			},
		})
	}()
	addr := <-addrc
	resp, err := http.Get("http://" + addr + "/slack/interactions")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "slack here" {
		t.Errorf("extra handler answered %q", body)
	}
	clock.Advance(2 * time.Hour) // every poll from now on is past the gap
	deadline := time.Now().Add(30 * time.Second)
	for evN.Load() < 2 || taskRuns.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %d health events, %d task runs", evN.Load(), taskRuns.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2500 * time.Millisecond) // more polls, which must not raise the stall again
	for _, name := range []string{"broken", "quiet"} {
		v, ok := events.Load(name)
		if !ok {
			t.Errorf("%s: no stall event", name)
			continue
		}
		evs := *v.(*[]HealthEvent)
		if len(evs) != 1 || !evs[0].Stalled {
			t.Errorf("%s: events %+v, want one stall", name, evs)
		}
	}
	resp, err = http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`kizuki_source_stalled{source="broken"} 1`, `kizuki_source_stalled{source="quiet"} 1`,
		`kizuki_task_errors_total{task="retention"}`, `kizuki_source_errors_total{source="broken"}`,
		`kizuki_source_budget_remaining{source="quiet"} 7`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
