package daemon

import (
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
