package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/robfig/cron/v3"

	"github.com/kizuki-dev/kizuki/listener"
)

// Job is one scheduled source.
type Job struct {
	Source   listener.Source
	Schedule string // a robfig/cron spec: "@every 2m", "*/5 * * * *"
	// ExpectedGap is how long the source may return nothing, or only errors, before it
	// counts as stalled; zero means 3 times the schedule's interval, at least 30 minutes.
	ExpectedGap time.Duration
}

// Task is a scheduled job that is not a source poll: re-polls of tracked posts,
// retention, snoozes coming back, surge checks, the daily digest.
type Task struct {
	Name     string
	Schedule string // a robfig/cron spec, in Options.Location
	Run      func(ctx context.Context) error
}

// HealthEvent reports that a source stalled (no posts, or only errors, for longer than its
// expected gap) or recovered. It is raised once per stall, not once per poll.
type HealthEvent struct {
	Source  string
	Stalled bool      // false: data flows again
	Since   time.Time // last poll that brought posts (or the daemon's start)
	LastErr error     // the last poll's error, if it failed
}

// Drainer delivers the outbox; *alerting.Deliverer is one.
type Drainer interface {
	DrainOnce(ctx context.Context) (int, error)
}

// Options configure Run.
type Options struct {
	Pipeline *Pipeline
	Jobs     []Job
	Deliver  Drainer
	// DeliverEvery is how often the outbox is drained (default 2 s).
	DeliverEvery time.Duration
	Location     *time.Location
	Logger       *slog.Logger
	// Listen is the address of /healthz and /readyz ("" serves nothing).
	Listen string
	// ShutdownTimeout bounds the wait for in-flight polls (default 30 s).
	ShutdownTimeout time.Duration
	// OutboxDepth, if set, feeds the kizuki_outbox_depth gauge.
	OutboxDepth func() (int, error)
	// OnReady, if set, is called once everything is scheduled, with the
	// health server's address ("" without one).
	OnReady func(addr string)
	// Tasks are scheduled next to the sources; like polls, a task never overlaps itself.
	Tasks []Task
	// Handlers are served next to /healthz, e.g. Slack's interactivity endpoint.
	Handlers map[string]http.Handler
	// OnHealth, if set, is told when a source stalls and when it recovers (for an operator
	// alert); the kizuki_source_stalled gauge follows it either way.
	OnHealth func(ctx context.Context, ev HealthEvent)
	// Now is the clock of the stall watch; nil means time.Now.
	Now func() time.Time
	// Health keeps the stall watch across runs (reloads); nil starts afresh.
	Health *Health
	// Workers run beside the schedule until ctx ends (e.g. Slack's Socket Mode); one that
	// fails is logged and does not stop the daemon. Run waits for them on stop, within
	// ShutdownTimeout.
	Workers []Worker
}

// Worker is a long-running part of the daemon.
type Worker struct {
	Name string
	Run  func(ctx context.Context) error
}

// Run schedules every source with cron, drains the outbox, serves health
// endpoints and Prometheus /metrics, and on ctx's end stops scheduling, waits for in-flight work
// (bounded) and returns. A poll of a source never overlaps the next poll
// of the same source: a slow source skips a tick rather than piling up.
func Run(ctx context.Context, opt Options) error {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	loc := opt.Location
	if loc == nil {
		loc = time.UTC
	}
	every := opt.DeliverEvery
	if every <= 0 {
		every = 2 * time.Second
	}
	grace := opt.ShutdownTimeout
	if grace <= 0 {
		grace = 30 * time.Second
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	// A poll or task never overlaps itself: a slow source skips a tick.
	chain := cron.NewChain(cron.SkipIfStillRunning(cron.DiscardLogger))
	c := cron.New(cron.WithLocation(loc), cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	var atStart []cron.Job // every source polls once at start, not one interval later
	met := newMetrics(opt.OutboxDepth)
	var polls sync.WaitGroup
	var ready atomic.Bool
	started := now()
	health := opt.Health
	if health == nil {
		health = NewHealth()
	}
	for _, j := range opt.Jobs {
		src := j.Source
		sched, err := cron.ParseStandard(j.Schedule)
		if err != nil {
			return fmt.Errorf("schedule source %s (%q): %w", src.Name(), j.Schedule, err)
		}
		w := health.watch(src.Name(), j.ExpectedGap, sched, started)
		met.stalled.WithLabelValues(src.Name()).Set(b2f(w.stalled))
		job := chain.Then(cron.FuncJob(func() {
			polls.Add(1)
			defer polls.Done()
			if ctx.Err() != nil {
				return
			}
			start := time.Now()
			st, err := opt.Pipeline.pollWhileMore(ctx, src, 0)
			name := src.Name()
			met.duration.WithLabelValues(name).Observe(time.Since(start).Seconds())
			met.fetched.WithLabelValues(name).Add(float64(st.Fetched))
			met.newPosts.WithLabelValues(name).Add(float64(st.New))
			met.alerts.WithLabelValues(name).Add(float64(st.Alerts))
			attrs := []any{"source", name, "fetched", st.Fetched, "new", st.New, "alerts", st.Alerts, "held", st.Held}
			if b, ok := src.(listener.Budgeted); ok {
				if n, limited := b.Remaining(); limited {
					met.budget.WithLabelValues(name).Set(float64(n))
					attrs = append(attrs, "budget_left", n)
				}
			}
			if err != nil {
				met.errors.WithLabelValues(name).Inc()
				log.Warn("poll failed", append(attrs, "err", err)...)
			} else {
				log.Info("polled", attrs...)
			}
			if ctx.Err() != nil {
				return // a poll cut short by shutdown says nothing about the source
			}
			if ev, changed := w.observe(now(), st.Fetched, err); changed {
				met.stalled.WithLabelValues(name).Set(b2f(ev.Stalled))
				if ev.Stalled {
					log.Error("source stalled", "source", name, "since", ev.Since, "gap", w.gap, "last_err", ev.LastErr)
				} else {
					log.Info("source recovered", "source", name)
				}
				if opt.OnHealth != nil {
					opt.OnHealth(ctx, ev)
				}
			}
		}))
		c.Schedule(sched, job)
		atStart = append(atStart, job)
	}
	for _, t := range opt.Tasks {
		if _, err := c.AddFunc(t.Schedule, func() {
			polls.Add(1)
			defer polls.Done()
			if ctx.Err() != nil {
				return
			}
			start := time.Now()
			err := t.Run(ctx)
			met.taskDuration.WithLabelValues(t.Name).Observe(time.Since(start).Seconds())
			if err != nil && ctx.Err() == nil {
				met.taskErrors.WithLabelValues(t.Name).Inc()
				log.Warn("task failed", "task", t.Name, "err", err)
				return
			}
			log.Debug("task done", "task", t.Name, "took", time.Since(start))
		}); err != nil {
			return fmt.Errorf("schedule task %s (%q): %w", t.Name, t.Schedule, err)
		}
	}

	var srv *http.Server
	addr := ""
	if opt.Listen != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
		mux.Handle("/metrics", promhttp.HandlerFor(met.reg, promhttp.HandlerOpts{}))
		for path, h := range opt.Handlers {
			mux.Handle(path, h)
		}
		mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
			if !ready.Load() {
				http.Error(w, "starting", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "ready")
		})
		ln, err := net.Listen("tcp", opt.Listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", opt.Listen, err)
		}
		addr = ln.Addr().String()
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("health server", "err", err)
			}
		}()
	}

	c.Start()
	for _, j := range atStart {
		go j.Run()
	}
	for _, wk := range opt.Workers {
		polls.Go(func() {
			if err := wk.Run(ctx); err != nil && ctx.Err() == nil {
				log.Error("worker stopped", "worker", wk.Name, "err", err)
			}
		})
	}
	ready.Store(true)
	log.Info("daemon started", "sources", len(opt.Jobs), "health", addr)
	if opt.OnReady != nil {
		opt.OnReady(addr)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			ready.Store(false)
			stopped := c.Stop() // no new polls; running ones see ctx and end
			done := make(chan struct{})
			go func() { polls.Wait(); <-stopped.Done(); close(done) }()
			select {
			case <-done:
			case <-time.After(grace):
				log.Warn("shutdown: polls still running after the grace period", "grace", grace)
			}
			if srv != nil {
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				srv.Shutdown(sctx)
				cancel()
			}
			// One last delivery of what the finished polls enqueued.
			fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if opt.Deliver != nil {
				if _, err := opt.Deliver.DrainOnce(fctx); err != nil {
					log.Warn("final delivery", "err", err)
				}
			}
			cancel()
			log.Info("daemon stopped")
			return nil
		case <-opt.Pipeline.Enqueued(): // new alerts: deliver now, not at the next tick
		case <-tick.C:
		}
		if opt.Deliver != nil {
			if _, err := opt.Deliver.DrainOnce(ctx); err != nil && ctx.Err() == nil {
				log.Warn("delivery", "err", err)
			}
		}
	}
}
