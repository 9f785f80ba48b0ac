package watch

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/rules"
)

// madScale turns a median absolute deviation into the standard deviation of a normal
// distribution with that MAD: the usual robust spread.
const madScale = 1.4826

// Verdict is what the surge test says about one window of one brand.
type Verdict struct {
	Count int
	// Days is how many baseline days there were; Expected and Spread their median and
	// spread (the larger of the scaled MAD, the Poisson spread √Expected, and 1).
	Days     int
	Expected float64
	Spread   float64
	// Weekday is the median of the same weekday's days (7, 14… days ago), which raises
	// Expected when it is higher.
	Weekday float64
	// Threshold is the count that fires: the highest of Floor, ByFactor and BySigma.
	Threshold int
	Floor     int // min_count
	ByFactor  int // factor × Expected
	BySigma   int // Expected + sigmas × Spread
	// Learning: fewer baseline days than the settings need; nothing fires.
	Learning bool
	// Fire: Count reached Threshold, and the brand is not learning.
	Fire bool
	// EndLevel is the count below which an open surge calms down: half the threshold.
	EndLevel int
}

// Evaluate applies the surge settings to the count of the current window and the counts
// of the same window on past days: baseline[i] is the count i+1 days ago, or -1 for a day
// before the history began. It is the whole of the surge test, without the store.
//
// The usual level is the median of the baseline days, or the median of the same weekday's
// days when that is higher (a café busier every Saturday is not in a flame-up every
// Saturday). Its spread is the median absolute deviation scaled to a standard deviation,
// but never below √usual (counts are Poisson: a brand with 4 posts an hour varies by about
// 2 even when every day looked alike) nor below 1. The count fires when it reaches all of
// min_count, factor × usual and usual + sigmas × spread.
func Evaluate(cfg rules.Surge, count int, baseline []int) Verdict {
	v := Verdict{Count: count, Floor: cfg.MinCount}
	var xs, weekly []float64
	for i, b := range baseline {
		if b < 0 {
			continue
		}
		xs = append(xs, float64(b))
		if (i+1)%7 == 0 {
			weekly = append(weekly, float64(b))
		}
	}
	v.Days = len(xs)
	v.Spread = 1
	if len(xs) > 0 {
		med := median(xs)
		dev := make([]float64, len(xs))
		for i, x := range xs {
			dev[i] = math.Abs(x - med)
		}
		v.Expected = med
		if len(weekly) > 0 {
			v.Weekday = median(weekly)
			v.Expected = math.Max(med, v.Weekday)
		}
		v.Spread = math.Max(math.Max(madScale*median(dev), math.Sqrt(v.Expected)), 1)
	}
	v.ByFactor = int(math.Ceil(cfg.Factor*v.Expected - 1e-9))
	v.BySigma = int(math.Ceil(v.Expected + cfg.Sigmas*v.Spread - 1e-9))
	v.Threshold = max(v.Floor, v.ByFactor, v.BySigma, 1)
	v.EndLevel = max(1, (v.Threshold+1)/2)
	v.Learning = v.Days < max(cfg.MinDays, 1)
	v.Fire = !v.Learning && count >= v.Threshold
	return v
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Why explains a verdict in one sentence, with the numbers of each part of the threshold.
func (v Verdict) Why(cfg rules.Surge, categories string) string {
	return fmt.Sprintf("%d %s posts in the last %s ≥ threshold %d, the highest of min_count %d, factor %s × usual %s = %d, and usual %s + sigmas %s × spread %s = %d (usual: median of the same %s on %d days, or of the same weekday if higher; spread: the larger of 1.48 × MAD and √usual)",
		v.Count, categories, rules.FormatDuration(cfg.Window), v.Threshold, v.Floor, num(cfg.Factor), num(v.Expected), v.ByFactor,
		num(v.Expected), num(cfg.Sigmas), num(v.Spread), v.BySigma, windowName(cfg), v.Days)
}

// Tune says where the surge settings are and which way to turn them.
func tuneSurge(cfg rules.Surge) string {
	return fmt.Sprintf("surge: {min_count: %d, factor: %s, sigmas: %s, window: %s} in %s — raise them to alert less, lower them to alert sooner",
		cfg.MinCount, num(cfg.Factor), num(cfg.Sigmas), rules.FormatDuration(cfg.Window), posString(cfg.Pos))
}

func tuneVelocity(cfg rules.Velocity) string {
	return fmt.Sprintf("velocity: {factor: %s, window: %s, min_count: %d, absolute: %d} in %s — raise them to escalate less, lower them to escalate sooner",
		num(cfg.Factor), rules.FormatDuration(cfg.Window), cfg.MinCount, cfg.Absolute, posString(cfg.Pos))
}

func posString(p rules.Pos) string {
	if p.File == "" {
		return "the brand's rule file (defaults)"
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

func windowName(cfg rules.Surge) string {
	if cfg.Window == time.Hour {
		return "hour"
	}
	return rules.FormatDuration(cfg.Window) + " of the day"
}

// num writes a number with at most one decimal.
func num(x float64) string {
	s := fmt.Sprintf("%.1f", x)
	return strings.TrimSuffix(s, ".0")
}
