package alerting

import (
	"fmt"
	"strconv"
	"time"

	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/rules"
)

// Routes is the daemon config's routing: a channel per category and a default for the
// rest. A rule's own routing wins over both.
type Routes struct {
	Default     string
	PerCategory map[rules.Category]string
}

// Route picks the Slack channel for an alert and says why. The first that names a
// channel wins:
//
//  1. the deciding rule's routing for the decision's category;
//  2. the decision's Channel (the matcher copies it from that same routing, so it only
//     matters for a decision that carries no Rule);
//  3. cfg.PerCategory for the category;
//  4. cfg.Default.
//
// A decision that is not an alert, or whose category cannot alert, is never routed, and
// neither is an alert with no channel anywhere: channel is then "" and why says what is
// missing.
func Route(d matcher.Decision, cfg Routes) (channel string, why string) {
	if !d.Alert {
		return "", fmt.Sprintf("not an alert (category %s): nothing to route", rtCategory(d.Category))
	}
	if !d.Category.Valid() {
		return "", fmt.Sprintf("category %s cannot alert: nothing to route", rtCategory(d.Category))
	}
	if d.Rule != nil {
		if ch := d.Rule.Routing[d.Category]; ch != "" {
			return ch, fmt.Sprintf("rule %q routes %s alerts to %s", d.Rule.Brand, d.Category, ch)
		}
	}
	if d.Channel != "" {
		return d.Channel, fmt.Sprintf("decision routes %s alerts to %s", d.Category, d.Channel)
	}
	if ch := cfg.PerCategory[d.Category]; ch != "" {
		return ch, fmt.Sprintf("config routes %s alerts to %s", d.Category, ch)
	}
	if cfg.Default != "" {
		return cfg.Default, fmt.Sprintf("no routing for %s alerts: default channel %s", d.Category, cfg.Default)
	}
	where := "the rule's routing"
	if d.Rule != nil {
		where = fmt.Sprintf("rule %q routing", d.Rule.Brand)
	}
	return "", fmt.Sprintf("no channel for %s alerts: set %s, or a per-category or default channel in the config", d.Category, where)
}

func rtCategory(c rules.Category) string {
	if c == "" {
		return `""`
	}
	return string(c)
}

// rtMaxChain bounds how many back-to-back quiet windows HoldUntil follows: a rule quiet
// all week long (00:00–24:00 every day) holds for a week at a time, not forever.
const rtMaxChain = 7

// HoldUntil says whether an alert decided at now must wait for the rule's quiet hours to
// end, and until when.
//
// Only actionable and positive alerts are held; risky alerts, decisions that are not
// alerts and decisions whose rule has no quiet hours never are.
//
// A quiet window is read in the quiet hours' time zone. It starts on a calendar day at
// Start and ends at End: the same day when End is later than Start (09:00–18:00), the
// next day when it is not (22:00–08:00 crosses midnight); End "24:00" is midnight at the
// end of the start day. Days lists the weekdays on which a window STARTS, so with
// [mon..fri] and 22:00–08:00, Friday 23:00 and Saturday 02:00 are quiet (Friday's window)
// but Saturday 23:00 is not; empty Days means every day. The window includes its start
// and excludes its end: at 22:00 alerts are held, at 08:00 they go out.
//
// Start and End are wall-clock times: each boundary is the first instant at which the
// local clock reads that time or later. On a day when the clock skips the time (02:30
// on a spring-forward day in America/New_York) the boundary is the jump (03:00 EDT); when
// the clock shows it twice (01:30 on a fall-back day) it is the first time. A window
// therefore lasts an hour more or less across a DST change, as a person would expect.
//
// until is the window's end in the quiet hours' zone. When another window begins exactly
// there (00:00–24:00 on consecutive days), the hold runs to the end of that one too, up
// to a week. Quiet hours whose time zone or times cannot be read hold nothing: the
// loader rejects those, and a late alert is better than a lost one.
func HoldUntil(d matcher.Decision, now time.Time) (until time.Time, held bool) {
	if !d.Alert || (d.Category != rules.Actionable && d.Category != rules.Positive) {
		return time.Time{}, false
	}
	if d.Rule == nil || d.Rule.QuietHours == nil {
		return time.Time{}, false
	}
	q := d.Rule.QuietHours
	loc, err := time.LoadLocation(q.Timezone)
	if err != nil {
		return time.Time{}, false
	}
	start, ok := rtClock(q.Start)
	if !ok || start == 24*60 {
		return time.Time{}, false
	}
	end, ok := rtClock(q.End)
	if !ok || start == end {
		return time.Time{}, false
	}
	days, ok := rtDays(q.Days)
	if !ok {
		return time.Time{}, false
	}
	w := rtWindow{start: start, end: end, days: days, loc: loc}
	until, held = w.endAfter(now)
	if !held {
		return time.Time{}, false
	}
	for range rtMaxChain - 1 {
		next, ok := w.endAfter(until)
		if !ok {
			break
		}
		until = next
	}
	return until, true
}

// rtWindow is parsed quiet hours: minutes after midnight, the weekdays windows start on.
type rtWindow struct {
	start, end int // end may be 24*60
	days       [7]bool
	loc        *time.Location
}

// endAfter reports whether t is inside a window and, if so, when that window ends.
func (w rtWindow) endAfter(t time.Time) (time.Time, bool) {
	y, m, d := t.In(w.loc).Date()
	// A window lasts at most a day, so only one started yesterday or today can hold t.
	for back := 1; back >= 0; back-- {
		day := time.Date(y, m, d-back, 0, 0, 0, 0, time.UTC) // calendar arithmetic only
		if !w.days[day.Weekday()] {
			continue
		}
		from := rtWall(day, w.start, w.loc)
		endDay := day
		if w.end <= w.start {
			endDay = day.AddDate(0, 0, 1)
		}
		to := rtWall(endDay, w.end, w.loc)
		if !t.Before(from) && t.Before(to) {
			return to.In(w.loc), true
		}
	}
	return time.Time{}, false
}

// rtWall is the first instant at which the clock in loc reads minutes past midnight of
// day (a UTC midnight naming a calendar date) or later. time.Date leaves both a skipped
// and a repeated wall time unspecified, so the offsets in force around it are tried.
func rtWall(day time.Time, minutes int, loc *time.Location) time.Time {
	wall := day.Add(time.Duration(minutes) * time.Minute) // the wall clock, written as UTC
	var first time.Time
	var jumps []time.Time
	for _, probe := range []time.Time{wall.Add(-36 * time.Hour), wall, wall.Add(36 * time.Hour)} {
		_, off := probe.In(loc).Zone()
		u := wall.Add(-time.Duration(off) * time.Second)
		if _, got := u.In(loc).Zone(); got == off {
			if first.IsZero() || u.Before(first) {
				first = u
			}
			continue
		}
		jumps = append(jumps, u)
	}
	if !first.IsZero() {
		return first
	}
	// The clock skips the wall time: the boundary is the moment of the jump, which is
	// where the zone in force just after the wall time (read with the old offset) begins.
	var jump time.Time
	for _, u := range jumps {
		if s, _ := u.In(loc).ZoneBounds(); s.After(jump) && !s.After(u) {
			jump = s
		}
	}
	if jump.IsZero() {
		return time.Date(day.Year(), day.Month(), day.Day(), 0, minutes, 0, 0, loc)
	}
	return jump
}

// rtClock parses "HH:MM" (and "24:00") into minutes after midnight.
func rtClock(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

var rtWeekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// rtDays turns the listed days into a set by weekday; none listed means every day.
func rtDays(names []string) ([7]bool, bool) {
	var set [7]bool
	if len(names) == 0 {
		for i := range set {
			set[i] = true
		}
		return set, true
	}
	for _, n := range names {
		wd, ok := rtWeekdays[n]
		if !ok {
			return set, false
		}
		set[wd] = true
	}
	return set, true
}
