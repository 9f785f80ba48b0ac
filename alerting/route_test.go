package alerting

import (
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/rules"
)

func TestRoutePrecedence(t *testing.T) {
	t.Parallel()
	routed := &rules.Rule{Brand: "Kumo Mobile", Routing: map[rules.Category]string{
		rules.Actionable: "#kumo-support", rules.Risky: "#kumo-risk",
	}}
	bare := &rules.Rule{Brand: "Bare"}
	cfg := Routes{Default: "#social", PerCategory: map[rules.Category]string{
		rules.Actionable: "#support", rules.Positive: "#marketing",
	}}
	tests := []struct {
		name   string
		d      matcher.Decision
		cfg    Routes
		want   string
		whyHas string
	}{
		{name: "rule routing wins over config", d: rtAlert(rules.Actionable, routed), cfg: cfg,
			want: "#kumo-support", whyHas: `rule "Kumo Mobile" routes actionable`},
		{name: "rule routing wins over default", d: rtAlert(rules.Risky, routed), cfg: cfg,
			want: "#kumo-risk", whyHas: "rule"},
		{name: "config per category when rule has none for the category", d: rtAlert(rules.Positive, routed), cfg: cfg,
			want: "#marketing", whyHas: "config routes positive"},
		{name: "config per category when rule has no routing", d: rtAlert(rules.Actionable, bare), cfg: cfg,
			want: "#support", whyHas: "config"},
		{name: "default when nothing else", d: rtAlert(rules.Risky, bare), cfg: cfg,
			want: "#social", whyHas: "default channel #social"},
		{name: "default without a rule", d: rtAlert(rules.Positive, nil), cfg: Routes{Default: "#social"},
			want: "#social", whyHas: "default"},
		{name: "decision channel without a rule beats config", d: func() matcher.Decision {
			d := rtAlert(rules.Actionable, nil)
			d.Channel = "#replayed"
			return d
		}(), cfg: cfg, want: "#replayed", whyHas: "decision routes"},
		{name: "no channel anywhere", d: rtAlert(rules.Actionable, bare), cfg: Routes{},
			want: "", whyHas: `no channel for actionable alerts: set rule "Bare" routing`},
		{name: "empty strings do not count", d: rtAlert(rules.Actionable, &rules.Rule{Brand: "E",
			Routing: map[rules.Category]string{rules.Actionable: ""}}),
			cfg:  Routes{PerCategory: map[rules.Category]string{rules.Actionable: ""}, Default: "#social"},
			want: "#social", whyHas: "default"},
		{name: "non-alert is never routed", d: func() matcher.Decision {
			d := rtAlert(rules.Actionable, routed)
			d.Alert = false // e.g. tagged the brand
			return d
		}(), cfg: cfg, want: "", whyHas: "not an alert"},
		{name: "category none is never routed", d: matcher.Decision{Alert: true, Category: rules.None, Rule: routed},
			cfg: cfg, want: "", whyHas: "cannot alert"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, why := Route(tc.d, tc.cfg)
			if got != tc.want {
				t.Errorf("Route() channel = %q, want %q (why: %s)", got, tc.want, why)
			}
			if !strings.Contains(why, tc.whyHas) {
				t.Errorf("Route() why = %q, want it to contain %q", why, tc.whyHas)
			}
		})
	}
}

func TestHoldUntil(t *testing.T) {
	t.Parallel()
	tokyo := rtLoad(t, "Asia/Tokyo")
	ny := rtLoad(t, "America/New_York")
	at := func(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}
	night := &rules.QuietHours{Start: "22:00", End: "08:00", Timezone: "Asia/Tokyo"}
	weeknights := &rules.QuietHours{Start: "22:00", End: "08:00", Timezone: "Asia/Tokyo",
		Days: []string{"mon", "tue", "wed", "thu", "fri"}}
	daytime := &rules.QuietHours{Start: "09:00", End: "18:00", Timezone: "Asia/Tokyo"}
	nyNight := &rules.QuietHours{Start: "01:00", End: "03:00", Timezone: "America/New_York"}
	nyLate := &rules.QuietHours{Start: "22:00", End: "08:00", Timezone: "America/New_York"}
	nyGap := &rules.QuietHours{Start: "00:00", End: "02:30", Timezone: "America/New_York"}
	nyFallBack := &rules.QuietHours{Start: "00:00", End: "01:30", Timezone: "America/New_York"}
	toMidnight := &rules.QuietHours{Start: "20:00", End: "24:00", Timezone: "Asia/Tokyo"}
	weekend := &rules.QuietHours{Start: "00:00", End: "24:00", Timezone: "Asia/Tokyo", Days: []string{"sat", "sun"}}

	// 2026-03-06 is a Friday, 2026-03-07 a Saturday.
	tests := []struct {
		name     string
		qh       *rules.QuietHours
		cat      rules.Category
		now      time.Time
		wantHeld bool
		want     time.Time
	}{
		{name: "21:59 before the window", qh: night, cat: rules.Actionable, now: at(tokyo, 2026, 3, 4, 21, 59)},
		{name: "22:00 the window starts", qh: night, cat: rules.Actionable, now: at(tokyo, 2026, 3, 4, 22, 0),
			wantHeld: true, want: at(tokyo, 2026, 3, 5, 8, 0)},
		{name: "02:00 held until 08:00 the same day", qh: night, cat: rules.Positive, now: at(tokyo, 2026, 3, 5, 2, 0),
			wantHeld: true, want: at(tokyo, 2026, 3, 5, 8, 0)},
		{name: "07:59 still quiet", qh: night, cat: rules.Actionable, now: at(tokyo, 2026, 3, 5, 7, 59),
			wantHeld: true, want: at(tokyo, 2026, 3, 5, 8, 0)},
		{name: "08:00 open", qh: night, cat: rules.Actionable, now: at(tokyo, 2026, 3, 5, 8, 0)},
		{name: "now in another zone is read in the quiet hours' zone", qh: night, cat: rules.Actionable,
			now:      time.Date(2026, 3, 4, 17, 0, 0, 0, time.UTC), // 02:00 JST on the 5th
			wantHeld: true, want: at(tokyo, 2026, 3, 5, 8, 0)},
		{name: "weekday-only window on Saturday night", qh: weeknights, cat: rules.Actionable,
			now: at(tokyo, 2026, 3, 7, 23, 0)},
		{name: "weekday-only window on Sunday morning (Saturday's window)", qh: weeknights, cat: rules.Actionable,
			now: at(tokyo, 2026, 3, 8, 2, 0)},
		{name: "Friday 23:00 held until Saturday 08:00", qh: weeknights, cat: rules.Actionable,
			now: at(tokyo, 2026, 3, 6, 23, 0), wantHeld: true, want: at(tokyo, 2026, 3, 7, 8, 0)},
		{name: "Saturday 02:00 is still Friday's window", qh: weeknights, cat: rules.Actionable,
			now: at(tokyo, 2026, 3, 7, 2, 0), wantHeld: true, want: at(tokyo, 2026, 3, 7, 8, 0)},
		{name: "Monday 02:00 is Sunday's window, not listed", qh: weeknights, cat: rules.Actionable,
			now: at(tokyo, 2026, 3, 9, 2, 0)},
		{name: "risky inside the window goes through", qh: night, cat: rules.Risky, now: at(tokyo, 2026, 3, 5, 2, 0)},
		{name: "rule without quiet hours", qh: nil, cat: rules.Actionable, now: at(tokyo, 2026, 3, 5, 2, 0)},
		{name: "daytime quiet 09:00", qh: daytime, cat: rules.Actionable, now: at(tokyo, 2026, 3, 5, 9, 0),
			wantHeld: true, want: at(tokyo, 2026, 3, 5, 18, 0)},
		{name: "daytime quiet 17:59", qh: daytime, cat: rules.Positive, now: at(tokyo, 2026, 3, 5, 17, 59),
			wantHeld: true, want: at(tokyo, 2026, 3, 5, 18, 0)},
		{name: "daytime quiet 18:00 open", qh: daytime, cat: rules.Actionable, now: at(tokyo, 2026, 3, 5, 18, 0)},
		{name: "daytime quiet 02:00 open", qh: daytime, cat: rules.Actionable, now: at(tokyo, 2026, 3, 5, 2, 0)},
		{name: "end 24:00 is midnight after the start day", qh: toMidnight, cat: rules.Actionable,
			now: at(tokyo, 2026, 3, 5, 23, 30), wantHeld: true, want: at(tokyo, 2026, 3, 6, 0, 0)},
		{name: "end 24:00 open at midnight", qh: toMidnight, cat: rules.Actionable, now: at(tokyo, 2026, 3, 6, 0, 0)},
		{name: "back-to-back whole days hold to the end of both", qh: weekend, cat: rules.Actionable,
			now: at(tokyo, 2026, 3, 7, 10, 0), wantHeld: true, want: at(tokyo, 2026, 3, 9, 0, 0)},
		{name: "DST 2026-03-08: 01:00-03:00 window ends at 03:00 EDT, one hour long", qh: nyNight, cat: rules.Actionable,
			now: at(ny, 2026, 3, 8, 1, 30), wantHeld: true, want: time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)},
		{name: "DST 2026-03-08: 03:00 EDT open", qh: nyNight, cat: rules.Actionable,
			now: time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)},
		{name: "DST 2026-03-08: overnight window ends at 08:00 EDT", qh: nyLate, cat: rules.Actionable,
			now:      time.Date(2026, 3, 8, 6, 30, 0, 0, time.UTC), // 01:30 EST
			wantHeld: true, want: time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC)},
		{name: "DST 2026-03-08: end 02:30 never happens, window ends at the jump", qh: nyGap, cat: rules.Actionable,
			now: at(ny, 2026, 3, 8, 1, 59), wantHeld: true, want: time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)},
		{name: "DST 2026-11-01: end 01:30 happens twice, the first one counts", qh: nyFallBack, cat: rules.Actionable,
			now:      time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC), // 01:00 EDT
			wantHeld: true, want: time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)},
		{name: "DST 2026-11-01: second 01:15 is open", qh: nyFallBack, cat: rules.Actionable,
			now: time.Date(2026, 11, 1, 6, 15, 0, 0, time.UTC)}, // 01:15 EST
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := rtAlert(tc.cat, &rules.Rule{Brand: "Kumo Mobile", QuietHours: tc.qh})
			got, held := HoldUntil(d, tc.now)
			if held != tc.wantHeld {
				t.Fatalf("HoldUntil(%s at %s) held = %v (until %s), want %v", tc.cat, tc.now, held, got, tc.wantHeld)
			}
			if !got.Equal(tc.want) {
				t.Errorf("HoldUntil(%s at %s) until = %s, want %s", tc.cat, tc.now, got, tc.want.In(got.Location()))
			}
			if held && got.Location().String() != tc.qh.Timezone {
				t.Errorf("until is in %s, want the quiet hours' zone %s", got.Location(), tc.qh.Timezone)
			}
		})
	}
}

func TestHoldUntilNeverHolds(t *testing.T) {
	t.Parallel()
	night := &rules.QuietHours{Start: "22:00", End: "08:00", Timezone: "Asia/Tokyo"}
	now := time.Date(2026, 3, 5, 2, 0, 0, 0, rtLoad(t, "Asia/Tokyo"))
	notAlert := rtAlert(rules.Actionable, &rules.Rule{QuietHours: night})
	notAlert.Alert = false
	tests := []struct {
		name string
		d    matcher.Decision
	}{
		{"not an alert", notAlert},
		{"no rule", rtAlert(rules.Actionable, nil)},
		{"unknown time zone", rtAlert(rules.Actionable, &rules.Rule{QuietHours: &rules.QuietHours{
			Start: "22:00", End: "08:00", Timezone: "Mars/Olympus"}})},
		{"bad clock", rtAlert(rules.Actionable, &rules.Rule{QuietHours: &rules.QuietHours{
			Start: "22", End: "08:00", Timezone: "Asia/Tokyo"}})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if until, held := HoldUntil(tc.d, now); held || !until.IsZero() {
				t.Errorf("HoldUntil() = %s, %v; want zero, false", until, held)
			}
		})
	}
}

func rtAlert(c rules.Category, r *rules.Rule) matcher.Decision {
	return matcher.Decision{ID: "p1", Relevant: true, Alert: true, Category: c, Score: 60, Rule: r}
}

func rtLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func TestRtWallAcrossZones(t *testing.T) {
	t.Parallel()
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	utc := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	tests := []struct {
		name    string
		zone    string
		day     time.Time
		minutes int
		want    time.Time
	}{
		{"plain", "Asia/Tokyo", day(2026, 3, 5), 8 * 60, utc(2026, 3, 4, 23, 0)},
		{"24:00", "Asia/Tokyo", day(2026, 3, 5), 24 * 60, utc(2026, 3, 5, 15, 0)},
		{"New York gap", "America/New_York", day(2026, 3, 8), 2*60 + 30, utc(2026, 3, 8, 7, 0)},
		{"New York repeat", "America/New_York", day(2026, 11, 1), 60 + 30, utc(2026, 11, 1, 5, 30)},
		{"Sydney gap", "Australia/Sydney", day(2026, 10, 4), 2*60 + 30, utc(2026, 10, 3, 16, 0)},
		{"Sydney repeat", "Australia/Sydney", day(2026, 4, 5), 2*60 + 30, utc(2026, 4, 4, 15, 30)},
		{"London gap", "Europe/London", day(2026, 3, 29), 60 + 30, utc(2026, 3, 29, 1, 0)},
		{"London repeat", "Europe/London", day(2026, 10, 25), 60 + 30, utc(2026, 10, 25, 0, 30)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := rtWall(tc.day, tc.minutes, rtLoad(t, tc.zone)); !got.Equal(tc.want) {
				t.Errorf("rtWall(%s, %d, %s) = %s, want %s", tc.day.Format(time.DateOnly), tc.minutes, tc.zone, got.UTC(), tc.want)
			}
		})
	}
}
