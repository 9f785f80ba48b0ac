package daemon

import (
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// minExpectedGap keeps a source on a tight schedule from being called stalled after a few
// quiet minutes: many brands are not mentioned every five minutes.
const minExpectedGap = 30 * time.Minute

// watch follows one source's polls and tells when it stalls and when it recovers. It is
// used from that source's poll only, which never overlaps itself, so it needs no lock.
type watch struct {
	source  string
	gap     time.Duration
	lastOK  time.Time // last poll that brought posts, or the start
	stalled bool
}

// Health keeps the stall watch of every source across restarts of Run (a reload), so that
// a reload neither forgets a stall nor raises it again.
type Health struct {
	mu      sync.Mutex
	watches map[string]*watch
}

// NewHealth returns an empty Health for Options.Health.
func NewHealth() *Health { return &Health{watches: map[string]*watch{}} }

// watch returns the source's watch, made at start if it is new; the gap follows the
// current schedule and configuration.
func (h *Health) watch(source string, gap time.Duration, sched cron.Schedule, start time.Time) *watch {
	h.mu.Lock()
	defer h.mu.Unlock()
	nw := newWatch(source, gap, sched, start)
	if w, ok := h.watches[source]; ok {
		w.gap = nw.gap
		return w
	}
	h.watches[source] = nw
	return nw
}

func newWatch(source string, gap time.Duration, sched cron.Schedule, start time.Time) *watch {
	if gap <= 0 {
		// Three intervals of the schedule, measured from the start.
		first := sched.Next(start)
		gap = 3 * sched.Next(first).Sub(first)
		if gap < minExpectedGap {
			gap = minExpectedGap
		}
	}
	return &watch{source: source, gap: gap, lastOK: start}
}

// observe records a poll's outcome at now and returns an event when the state changed.
func (w *watch) observe(now time.Time, fetched int, err error) (HealthEvent, bool) {
	if err == nil && fetched > 0 {
		w.lastOK = now
		if w.stalled {
			w.stalled = false
			return HealthEvent{Source: w.source, Stalled: false, Since: now}, true
		}
		return HealthEvent{}, false
	}
	if !w.stalled && now.Sub(w.lastOK) > w.gap {
		w.stalled = true
		return HealthEvent{Source: w.source, Stalled: true, Since: w.lastOK, LastErr: err}, true
	}
	return HealthEvent{}, false
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
