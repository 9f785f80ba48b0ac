package rules

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/kizuki-dev/kizuki/internal/suggest"
)

// Surge tunes the flame-up watch's surge detection for one brand: how many negative
// mentions in the last Window are "far above the usual level for that time of day".
// A surge fires when the count reaches all three of MinCount, Factor × the usual count
// and the usual count + Sigmas × its spread; the usual count and spread are the median
// and MAD of the same window on each of the last BaselineDays days.
type Surge struct {
	// Pos is where the surge block is (the brand line when it is absent), so that an
	// alert can say where to tune it.
	Pos      Pos
	Disabled bool
	// Window is the counting window; a multiple of 10 minutes.
	Window time.Duration
	// BaselineDays is how many past days, at the same time of day, make the usual level.
	BaselineDays int
	// MinDays is how many of those days must lie within the history kizuki has counted
	// before the brand can surge at all: a new install learns first.
	MinDays int
	// MinCount is the fewest posts in the window that can ever fire: 3 posts at night are
	// never a flame-up, however quiet the night usually is.
	MinCount int
	// Factor: the count must be at least this many times the usual count.
	Factor float64
	// Sigmas: the count must be at least the usual count plus this many spreads (the
	// larger of the scaled MAD and the Poisson spread √usual).
	Sigmas float64
	// Categories are what counts as negative; default risky and actionable.
	Categories []Category
	// Cooldown is how long the count must stay below half the threshold for the surge
	// to end by itself.
	Cooldown time.Duration
}

// Velocity tunes the escalation of a tracked negative post whose reposts, quotes and
// replies grow fast: by Factor within Window to at least MinCount, or past Absolute.
type Velocity struct {
	Pos      Pos
	Disabled bool
	// Window is the span over which growth is measured.
	Window time.Duration
	// Factor is the growth that escalates (×5).
	Factor float64
	// MinCount is the least engagement a fast growth must reach (0 → 4 is no flame-up).
	MinCount int
	// Absolute escalates a post past this many reposts+quotes+replies, however slowly it
	// got there; 0 switches the absolute bar off.
	Absolute int
	// Categories are what counts as negative; default risky and actionable.
	Categories []Category
}

// DefaultSurge returns the surge settings of a brand that sets none.
func DefaultSurge() Surge {
	return Surge{
		Window: time.Hour, BaselineDays: 14, MinDays: 3, MinCount: 10, Factor: 3, Sigmas: 4,
		Categories: []Category{Risky, Actionable}, Cooldown: time.Hour,
	}
}

// DefaultVelocity returns the velocity settings of a brand that sets none.
func DefaultVelocity() Velocity {
	return Velocity{
		Window: 30 * time.Minute, Factor: 5, MinCount: 20, Absolute: 500,
		Categories: []Category{Risky, Actionable},
	}
}

// Counts reports whether a post of category c counts for the surge.
func (s Surge) Counts(c Category) bool { return hasCategory(s.Categories, c) }

// Counts reports whether a post of category c is watched for velocity.
func (v Velocity) Counts(c Category) bool { return hasCategory(v.Categories, c) }

func hasCategory(cs []Category, c Category) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// The keys of the surge and velocity blocks.
var (
	surgeKeys    = []string{"enabled", "window", "baseline_days", "min_days", "min_count", "factor", "sigmas", "categories", "cooldown"}
	velocityKeys = []string{"enabled", "window", "factor", "min_count", "absolute", "categories"}
)

// surgeSlot is the resolution of the store's mention counters (store.MentionSlot).
const surgeSlot = 10 * time.Minute

func (d *decoder) surge(p pair, r *Rule) {
	r.Surge.Pos = Pos{d.file, p.knode.Line}
	ps, ok := d.mapping(p, "surge: {min_count: 10, factor: 3, window: 1h}")
	if !ok {
		return
	}
	s := &r.Surge
	for _, e := range ps {
		what := "surge." + e.key
		switch e.key {
		case "enabled":
			if b, ok := d.boolean(e); ok {
				s.Disabled = !b
			}
		case "window":
			if w, ok := d.duration(e, what, surgeSlot, 24*time.Hour); ok {
				if w%surgeSlot != 0 {
					d.at(e.val, suggest.DidYouMean(formatWatchDuration(w.Round(surgeSlot))),
						"%s %s is not a multiple of 10 minutes (mentions are counted per 10 minutes)", what, e.val.Value)
					continue
				}
				s.Window = w
			}
		case "baseline_days":
			if n, ok := d.integer(e, what, 1, 90); ok {
				s.BaselineDays = n
			}
		case "min_days":
			if n, ok := d.integer(e, what, 1, 90); ok {
				s.MinDays = n
			}
		case "min_count":
			if n, ok := d.integer(e, what, 1, 1000000); ok {
				s.MinCount = n
			}
		case "factor":
			if f, ok := d.number(e, what, 1, 1000); ok {
				s.Factor = f
			}
		case "sigmas":
			if f, ok := d.number(e, what, 0, 100); ok {
				s.Sigmas = f
			}
		case "categories":
			if cs := d.watchCategories(e, what); cs != nil {
				s.Categories = cs
			}
		case "cooldown":
			if c, ok := d.duration(e, what, 0, 7*24*time.Hour); ok {
				s.Cooldown = c
			}
		default:
			d.at(e.knode, suggest.DidYouMean(suggest.Nearest(e.key, surgeKeys)), "unknown key %q in surge", e.key)
		}
	}
	if s.MinDays > s.BaselineDays {
		d.at(p.knode, "lower min_days or raise baseline_days",
			"surge.min_days %d is more than surge.baseline_days %d", s.MinDays, s.BaselineDays)
	}
}

func (d *decoder) velocity(p pair, r *Rule) {
	r.Velocity.Pos = Pos{d.file, p.knode.Line}
	ps, ok := d.mapping(p, "velocity: {factor: 5, window: 30m, min_count: 20, absolute: 500}")
	if !ok {
		return
	}
	v := &r.Velocity
	for _, e := range ps {
		what := "velocity." + e.key
		switch e.key {
		case "enabled":
			if b, ok := d.boolean(e); ok {
				v.Disabled = !b
			}
		case "window":
			if w, ok := d.duration(e, what, time.Minute, 7*24*time.Hour); ok {
				v.Window = w
			}
		case "factor":
			if f, ok := d.number(e, what, 1, 1000); ok {
				v.Factor = f
			}
		case "min_count":
			if n, ok := d.integer(e, what, 1, 100000000); ok {
				v.MinCount = n
			}
		case "absolute":
			if n, ok := d.integer(e, what, 0, 100000000); ok {
				v.Absolute = n
			}
		case "categories":
			if cs := d.watchCategories(e, what); cs != nil {
				v.Categories = cs
			}
		default:
			d.at(e.knode, suggest.DidYouMean(suggest.Nearest(e.key, velocityKeys)), "unknown key %q in velocity", e.key)
		}
	}
}

// watchCategories reads a non-empty list of categories without repeats.
func (d *decoder) watchCategories(p pair, what string) []Category {
	items := d.strList(p, "category")
	if len(items) == 0 {
		if p.val.Kind == yaml.SequenceNode && len(p.val.Content) == 0 {
			d.at(p.val, "leave it out for [risky, actionable]", "%s is empty", what)
		}
		return nil
	}
	var out []Category
	for _, it := range items {
		c, ok := d.category(it.n, what, false)
		if !ok {
			return nil
		}
		if !hasCategory(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// duration reads a duration such as 30m, 1h or 2d within lo..hi.
func (d *decoder) duration(p pair, what string, lo, hi time.Duration) (time.Duration, bool) {
	v := p.val
	if v.Kind != yaml.ScalarNode || isNull(v) {
		d.at(v, "write it like 30m, 1h or 2d", "%s must be a duration, not %s", what, kindName(v))
		return 0, false
	}
	s := strings.TrimSpace(v.Value)
	dur, err := parseWatchDuration(s)
	if err != nil {
		hint := "write it like 30m, 1h or 2d"
		if _, err := strconv.Atoi(s); err == nil {
			hint = fmt.Sprintf("add a unit: %sm or %sh", s, s)
		}
		d.at(v, hint, "%s %q is not a duration", what, s)
		return 0, false
	}
	if dur < lo || dur > hi {
		d.at(v, "", "%s %s is outside %s..%s", what, s, formatWatchDuration(lo), formatWatchDuration(hi))
		return 0, false
	}
	return dur, true
}

// parseWatchDuration reads Go durations (90m, 1h30m) and whole days (2d).
func parseWatchDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("bad number of days %q", n)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// formatWatchDuration writes a duration the way rule files do: 30m, 1h, 1h30m, 2d.
func formatWatchDuration(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// FormatDuration writes a duration as rule files take it (30m, 1h, 1h30m, 2d), for messages
// that tell people what to write.
func FormatDuration(d time.Duration) string { return formatWatchDuration(d) }

// number reads an integer or decimal number within lo..hi.
func (d *decoder) number(p pair, what string, lo, hi float64) (float64, bool) {
	v := p.val
	if v.Kind != yaml.ScalarNode || (v.ShortTag() != "!!int" && v.ShortTag() != "!!float") {
		d.at(v, "", "%s must be a number from %g to %g, not %s", what, lo, hi, kindName(v))
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(v.Value, "_", ""), 64)
	if err != nil || f != f || f < lo || f > hi {
		d.at(v, "", "%s %s is outside %g..%g", what, v.Value, lo, hi)
		return 0, false
	}
	return f, true
}
