package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// scheduleForms is the hint for a schedule that cannot be read.
const scheduleForms = `use "@every 5m", "@hourly", "@daily" or 5 cron fields "minute hour day-of-month month day-of-week"`

// cronField is the range and names of one field of a 5-field spec.
type cronField struct {
	name   string
	lo, hi int
	names  []string // names[i] stands for lo+i
}

var cronFields = []cronField{
	{name: "minute", lo: 0, hi: 59},
	{name: "hour", lo: 0, hi: 23},
	{name: "day of month", lo: 1, hi: 31},
	{name: "month", lo: 1, hi: 12, names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{name: "day of week", lo: 0, hi: 6, names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

// CheckSchedule checks a cron spec as the daemon's scheduler
// (github.com/robfig/cron/v3 with its standard parser) will read it, for the
// forms Kizuki supports: "@every <duration>", "@hourly", "@daily" and
// 5-field specs. It returns "" when spec is fine, else a message and a hint.
func CheckSchedule(spec string) (msg, hint string) {
	spec = strings.TrimSpace(spec)
	if strings.HasPrefix(spec, "@") {
		switch {
		case spec == "@hourly", spec == "@daily":
			return "", ""
		case strings.HasPrefix(spec, "@every ") || spec == "@every":
			arg := strings.TrimSpace(strings.TrimPrefix(spec, "@every"))
			d, err := time.ParseDuration(arg)
			if err != nil {
				if _, derr := ParseDuration(arg); derr == nil && arg != "" {
					return fmt.Sprintf("@every takes hours, not days: %q", arg), `e.g. "@every 24h", or "@daily"`
				}
				return fmt.Sprintf("%q is not a duration", arg), `e.g. "@every 2m", "@every 1h30m"`
			}
			if d < time.Second {
				return fmt.Sprintf("@every %s is shorter than a second", arg), `e.g. "@every 2m"`
			}
			return "", ""
		}
		return fmt.Sprintf("schedule %q is not supported", spec), scheduleForms
	}
	fields := strings.Fields(spec)
	if len(fields) != 5 {
		hint := scheduleForms
		if len(fields) == 6 {
			hint = "seconds are not supported: drop the first field"
		}
		return fmt.Sprintf("schedule %q has %d fields, not 5", spec, len(fields)), hint
	}
	for i, f := range fields {
		if msg := cronFields[i].check(f); msg != "" {
			return fmt.Sprintf("schedule %q: %s", spec, msg), scheduleForms
		}
	}
	return "", ""
}

// check reads one field: a comma-separated list of "*", "?", "N", "N-M",
// each with an optional "/STEP".
func (cf cronField) check(field string) string {
	for part := range strings.SplitSeq(field, ",") {
		rng, step, hasStep := strings.Cut(part, "/")
		if hasStep {
			n, err := strconv.Atoi(step)
			if err != nil || n <= 0 {
				return fmt.Sprintf("bad step %q in the %s field", step, cf.name)
			}
		}
		if rng == "*" || rng == "?" {
			continue
		}
		lo, hi, isRange := strings.Cut(rng, "-")
		a, ok := cf.value(lo)
		if !ok {
			return fmt.Sprintf("%q is not a %s (%d-%d)", lo, cf.name, cf.lo, cf.hi)
		}
		b := a
		if isRange {
			if b, ok = cf.value(hi); !ok {
				return fmt.Sprintf("%q is not a %s (%d-%d)", hi, cf.name, cf.lo, cf.hi)
			}
			if a > b {
				return fmt.Sprintf("range %s is backwards in the %s field", rng, cf.name)
			}
		}
	}
	return ""
}

func (cf cronField) value(s string) (int, bool) {
	for i, n := range cf.names {
		if strings.EqualFold(s, n) {
			return cf.lo + i, true
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < cf.lo || n > cf.hi {
		return 0, false
	}
	return n, true
}
