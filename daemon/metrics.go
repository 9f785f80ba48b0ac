package daemon

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the daemon's Prometheus series. They live in a registry of
// their own (no global state), served on /metrics.
type metrics struct {
	reg      *prometheus.Registry
	fetched  *prometheus.CounterVec
	newPosts *prometheus.CounterVec
	alerts   *prometheus.CounterVec
	errors   *prometheus.CounterVec
	duration *prometheus.HistogramVec
	stalled  *prometheus.GaugeVec
	budget   *prometheus.GaugeVec

	taskDuration *prometheus.HistogramVec
	taskErrors   *prometheus.CounterVec
}

func newMetrics(outboxDepth func() (int, error)) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		fetched: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kizuki_posts_fetched_total",
			Help: "Posts returned by a source's search."}, []string{"source"}),
		newPosts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kizuki_posts_new_total",
			Help: "Posts recorded for the first time."}, []string{"source"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kizuki_alerts_enqueued_total",
			Help: "Alerts put into the outbox."}, []string{"source"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kizuki_source_errors_total",
			Help: "Polls that failed."}, []string{"source"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kizuki_poll_duration_seconds",
			Help: "Time of one poll: search, threads, decisions, index, store.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 10)},
			[]string{"source"}),
	}
	m.stalled = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kizuki_source_stalled",
		Help: "1 while a source has brought no posts, or only errors, for longer than its expected gap."}, []string{"source"})
	m.budget = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kizuki_source_budget_remaining",
		Help: "What is left of a source's daily read budget (posts on x, requests elsewhere); sources without a budget have none."}, []string{"source"})
	m.taskDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kizuki_task_duration_seconds",
		Help: "Time of one run of a scheduled task (retention, re-polls, digest...).", Buckets: prometheus.ExponentialBuckets(0.01, 4, 8)},
		[]string{"task"})
	m.taskErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kizuki_task_errors_total",
		Help: "Runs of a scheduled task that failed."}, []string{"task"})
	m.reg.MustRegister(m.fetched, m.newPosts, m.alerts, m.errors, m.duration, m.stalled, m.budget, m.taskDuration, m.taskErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if outboxDepth != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kizuki_outbox_depth",
			Help: "Alerts waiting to be delivered."}, func() float64 {
			n, err := outboxDepth()
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	}
	return m
}
