package rules

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWatchDefaults(t *testing.T) {
	t.Parallel()
	set, err := LoadFS(mapFS(map[string]string{"k.yaml": "# Kumo\nbrand: K\nkeywords: [k]\n"}), nil, Options{NoBuiltin: true})
	if err != nil {
		t.Fatal(err)
	}
	r := set.Rules[0]
	wantSurge := DefaultSurge()
	wantSurge.Pos = Pos{"k.yaml", 2}
	if !reflect.DeepEqual(r.Surge, wantSurge) {
		t.Errorf("surge %+v, want the defaults at the brand line %+v", r.Surge, wantSurge)
	}
	wantVel := DefaultVelocity()
	wantVel.Pos = Pos{"k.yaml", 2}
	if !reflect.DeepEqual(r.Velocity, wantVel) {
		t.Errorf("velocity %+v, want %+v", r.Velocity, wantVel)
	}
	if !r.Surge.Counts(Risky) || !r.Surge.Counts(Actionable) || r.Surge.Counts(Positive) {
		t.Error("by default risky and actionable posts count, positive ones do not")
	}
}

func TestWatchSettings(t *testing.T) {
	t.Parallel()
	src := `brand: K
keywords: [k]
surge:
  window: 30m
  baseline_days: 28
  min_days: 7
  min_count: 25
  factor: 2.5
  sigmas: 3
  categories: [risky]
  cooldown: 2h
velocity: {window: 1h, factor: 4, min_count: 50, absolute: 0, categories: [risky, actionable, positive]}
`
	set, err := LoadFS(mapFS(map[string]string{"k.yaml": src}), nil, Options{NoBuiltin: true})
	if err != nil {
		t.Fatal(err)
	}
	r := set.Rules[0]
	want := Surge{Pos: Pos{"k.yaml", 3}, Window: 30 * time.Minute, BaselineDays: 28, MinDays: 7, MinCount: 25, Factor: 2.5,
		Sigmas: 3, Categories: []Category{Risky}, Cooldown: 2 * time.Hour}
	if !reflect.DeepEqual(r.Surge, want) {
		t.Errorf("surge %+v\nwant %+v", r.Surge, want)
	}
	wantVel := Velocity{Pos: Pos{"k.yaml", 12}, Window: time.Hour, Factor: 4, MinCount: 50, Absolute: 0,
		Categories: []Category{Risky, Actionable, Positive}}
	if !reflect.DeepEqual(r.Velocity, wantVel) {
		t.Errorf("velocity %+v\nwant %+v", r.Velocity, wantVel)
	}

	off, err := LoadFS(mapFS(map[string]string{"k.yaml": "brand: K\nkeywords: [k]\nsurge: {enabled: false}\nvelocity: {enabled: false}\n"}), nil, Options{NoBuiltin: true})
	if err != nil {
		t.Fatal(err)
	}
	if !off.Rules[0].Surge.Disabled || !off.Rules[0].Velocity.Disabled || off.Rules[0].Surge.MinCount != 10 {
		t.Errorf("enabled: false: %+v %+v", off.Rules[0].Surge, off.Rules[0].Velocity)
	}
}

func TestWatchProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		src  string
		want []string
	}{
		{"unknown key", "brand: K\nkeywords: [k]\nsurge:\n  min_cont: 5\n",
			[]string{`r.yaml:4: unknown key "min_cont" in surge (did you mean "min_count"?)`}},
		{"unknown velocity key", "brand: K\nkeywords: [k]\nvelocity: {factr: 5}\n",
			[]string{`r.yaml:3: unknown key "factr" in velocity (did you mean "factor"?)`}},
		{"top-level typo", "brand: K\nkeywords: [k]\nsurges: {}\n",
			[]string{`r.yaml:3: unknown key "surges" (did you mean "surge"?)`}},
		{"window not a duration", "brand: K\nkeywords: [k]\nsurge: {window: 60}\n",
			[]string{`r.yaml:3: surge.window "60" is not a duration (add a unit: 60m or 60h)`}},
		{"window off the slots", "brand: K\nkeywords: [k]\nsurge: {window: 45m}\n",
			[]string{`r.yaml:3: surge.window 45m is not a multiple of 10 minutes (mentions are counted per 10 minutes) (did you mean "50m"?)`}},
		{"window too short", "brand: K\nkeywords: [k]\nsurge: {window: 5m}\n",
			[]string{`r.yaml:3: surge.window 5m is outside 10m..1d`}},
		{"factor below one", "brand: K\nkeywords: [k]\nsurge: {factor: 0.5}\nvelocity: {factor: high}\n",
			[]string{`r.yaml:3: surge.factor 0.5 is outside 1..1000`, `r.yaml:4: velocity.factor must be a number from 1 to 1000, not the string "high"`}},
		{"min_count zero", "brand: K\nkeywords: [k]\nsurge: {min_count: 0}\n",
			[]string{`r.yaml:3: surge.min_count 0 is outside 1..1000000`}},
		{"bad category", "brand: K\nkeywords: [k]\nsurge: {categories: [risky, angry]}\n",
			[]string{`r.yaml:3: unknown category "angry" (use actionable, risky, positive)`}},
		{"empty categories", "brand: K\nkeywords: [k]\nvelocity: {categories: []}\n",
			[]string{`r.yaml:3: velocity.categories is empty (leave it out for [risky, actionable])`}},
		{"min_days over baseline", "brand: K\nkeywords: [k]\nsurge: {baseline_days: 7, min_days: 10}\n",
			[]string{`r.yaml:3: surge.min_days 10 is more than surge.baseline_days 7 (lower min_days or raise baseline_days)`}},
		{"not a mapping", "brand: K\nkeywords: [k]\nsurge: true\n",
			[]string{`r.yaml:3: surge must be a mapping, not true/false (write it as surge: {min_count: 10, factor: 3, window: 1h})`}},
		{"in a pack file", "surge: {min_count: 5}\n",
			[]string{`r.yaml:1: surge is only allowed in a brand rule (a file with brand:) (add brand: NAME to make this a brand rule, or move it to one)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadFS(mapFS(map[string]string{"r.yaml": tc.src}), nil, Options{NoBuiltin: true})
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.Split(err.Error(), "\n")
			if !slices.Equal(got, tc.want) {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		30 * time.Minute: "30m", time.Hour: "1h", 90 * time.Minute: "1h30m", 48 * time.Hour: "2d", 10 * time.Second: "10s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestDocWatchExample loads the surge and velocity block of docs/rules.md: the documented
// keys and defaults are the real ones.
func TestDocWatchExample(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Flame-up watch.*?```yaml\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("no flame-up watch example in docs/rules.md")
	}
	set, err := LoadFS(mapFS(map[string]string{"k.yaml": "brand: K\nkeywords: [k]\n" + string(m[1])}), nil, Options{NoBuiltin: true})
	if err != nil {
		t.Fatalf("the docs example does not load:\n%v", err)
	}
	r := set.Rules[0]
	s, v := r.Surge, r.Velocity
	s.Pos, v.Pos = Pos{}, Pos{}
	if !reflect.DeepEqual(s, DefaultSurge()) || !reflect.DeepEqual(v, DefaultVelocity()) {
		t.Errorf("the documented values are not the defaults:\n%+v\n%+v", s, v)
	}
}
