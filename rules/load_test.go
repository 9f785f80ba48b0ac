package rules

import (
	"errors"
	"github.com/kizuki-dev/kizuki/internal/suggest"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kizuki-dev/kizuki/rules/query"
)

// docExample returns the first ```yaml block of docs/rules.md: the brand
// rule the format is documented with.
func docExample(t testing.TB) string {
	t.Helper()
	doc, err := os.ReadFile("../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("no yaml block in docs/rules.md")
	}
	return string(m[1])
}

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	return fsys
}

// withBuiltin replaces the embedded pack for one test.
func withBuiltin(t *testing.T, files map[string]string) {
	t.Helper()
	old := builtinPack
	builtinPack = func() fs.FS { return mapFS(files) }
	t.Cleanup(func() { builtinPack = old })
}

func problemLines(t *testing.T, err error) []string {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is %T, not Problems: %v", err, err)
	}
	if len(ps) == 0 {
		t.Fatal("empty Problems")
	}
	return strings.Split(err.Error(), "\n")
}

func signalNames(sigs []*Signal) []string {
	var names []string
	for _, s := range sigs {
		names = append(names, s.Name)
	}
	return names
}

func TestDocExampleLoads(t *testing.T) {
	src := docExample(t)
	set, err := LoadFS(mapFS(map[string]string{"kumo.yaml": src}), nil, Options{NoBuiltin: true})
	if err != nil {
		t.Fatalf("the docs/rules.md example does not load:\n%v", err)
	}
	if len(set.Rules) != 1 {
		t.Fatalf("%d rules", len(set.Rules))
	}
	r := set.Rules[0]
	if r.Brand != "Kumo Mobile" || r.Pos != (Pos{"kumo.yaml", 1}) {
		t.Errorf("brand %q at %v", r.Brand, r.Pos)
	}
	if want := []string{"Kumo Mobile", "kumomobile", "クモモバイル"}; !slices.Equal(r.Keywords, want) {
		t.Errorf("keywords %q, want %q", r.Keywords, want)
	}
	if want := []string{"kumomobile", "kumo_support"}; !slices.Equal(r.Handles, want) {
		t.Errorf("handles %q", r.Handles)
	}
	if r.Query == nil || r.QuerySrc != `("kumo mobile" OR kumomobile) AND NOT platform:reddit` {
		t.Errorf("query %v / %q", r.Query, r.QuerySrc)
	}
	if _, ok := r.Query.(*query.Query); !ok {
		t.Errorf("query is %T", r.Query)
	}
	if !slices.Equal(r.Languages, []string{"en", "ja"}) || len(r.MatchIn) != 5 {
		t.Errorf("languages %q, match_in %q", r.Languages, r.MatchIn)
	}
	wantRouting := map[Category]string{Actionable: "#kumo-support", Risky: "#kumo-risk", Positive: "#kumo-marketing"}
	if !reflect.DeepEqual(r.Routing, wantRouting) {
		t.Errorf("routing %v", r.Routing)
	}
	wantQH := &QuietHours{Start: "22:00", End: "08:00", Timezone: "Asia/Tokyo", Days: []string{"mon", "tue", "wed", "thu", "fri"}}
	if !reflect.DeepEqual(r.QuietHours, wantQH) {
		t.Errorf("quiet hours %+v", r.QuietHours)
	}
	if len(r.Signals) != 1 {
		t.Fatalf("signals %q", signalNames(r.Signals))
	}
	s := r.Signals[0]
	if s.Name != "sim-activation" || s.Category != Actionable || s.Weight != 30 || s.Negated != None ||
		s.Source != "kumo.yaml" || s.Pos.Line != 18 || len(s.Patterns) != 1 || s.Patterns[0].String() != `error\s*code\s*\d{3}` {
		t.Errorf("signal %+v", s)
	}
	wantTerms := map[string][]string{"en": {"sim not activating", "esim*"}, "ja": {"開通しない", "SIMが届かない"}, "any": {"E-201"}}
	if !reflect.DeepEqual(s.Terms, wantTerms) {
		t.Errorf("terms %q", s.Terms)
	}
	if got, want := set.Summary(), "1 brand, 1 signal (5 terms: en 2, ja 2, any 1), 1 file"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	// And over the real built-in pack.
	if _, err := LoadFS(mapFS(map[string]string{"kumo.yaml": src}), nil, Options{}); err != nil {
		t.Fatalf("with the built-in pack: %v", err)
	}
}

func TestSmallestRuleDefaults(t *testing.T) {
	withBuiltin(t, map[string]string{"support.yaml": "signals:\n  - {name: help, category: actionable, weight: 30, terms: {en: [help]}}\n"})
	set, err := LoadFS(mapFS(map[string]string{"r.yaml": "brand: Kumo\nkeywords: [kumo]\n"}), nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := set.Rules[0]
	want := &Rule{
		Pos:        Pos{"r.yaml", 1},
		Brand:      "Kumo",
		Keywords:   []string{"kumo"},
		MatchIn:    Places,
		Signals:    set.Pack.Signals,
		Thresholds: DefaultThresholds,
		Routing:    map[Category]string{},
		Surge:      DefaultSurge(),
		Velocity:   DefaultVelocity(),
	}
	want.Surge.Pos, want.Velocity.Pos = want.Pos, want.Pos
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got  %+v\nwant %+v", r, want)
	}
	if &r.MatchIn[0] == &Places[0] {
		t.Error("MatchIn aliases Places")
	}
	r.Thresholds[Risky] = 1
	if DefaultThresholds[Risky] != 45 {
		t.Error("Thresholds aliases DefaultThresholds")
	}
	if got := signalNames(r.Signals); !slices.Equal(got, []string{"help"}) || r.Signals[0].Source != "builtin/support.yaml" {
		t.Errorf("signals %q from %q", got, r.Signals[0].Source)
	}
	if !slices.Equal(set.Files, []string{"builtin/support.yaml", "r.yaml"}) {
		t.Errorf("files %q", set.Files)
	}
}

func TestBuiltinPack(t *testing.T) {
	names, err := fs.Glob(Builtin(), "*.yaml")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded pack: %q, %v", names, err)
	}
	set, err := LoadFS(mapFS(map[string]string{"r.yaml": "brand: Kumo\nkeywords: [kumo]\n"}), nil, Options{})
	if err != nil {
		t.Fatalf("the built-in pack does not load:\n%v", err)
	}
	var want []string
	for _, n := range names {
		want = append(want, "builtin/"+n)
	}
	if got := set.Files[:len(set.Files)-1]; !slices.Equal(got, want) {
		t.Errorf("files %q, want %q", got, want)
	}
	if len(set.Pack.Negators["en"]) == 0 || len(set.Pack.Negators["ja"]) == 0 {
		t.Errorf("negators %q", set.Pack.Negators)
	}
	for _, s := range set.Pack.Signals {
		if !strings.HasPrefix(s.Source, "builtin/") {
			t.Errorf("signal %s from %s", s.Name, s.Source)
		}
	}
	t.Log(set.Summary())

	set, err = LoadFS(mapFS(map[string]string{"r.yaml": "brand: Kumo\nkeywords: [kumo]\n"}), nil, Options{NoBuiltin: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Pack.Signals) != 0 || len(set.Pack.Negators) != 0 || !slices.Equal(set.Files, []string{"r.yaml"}) {
		t.Errorf("NoBuiltin: pack %+v, files %q", set.Pack, set.Files)
	}
}

func TestLoadDir(t *testing.T) {
	withBuiltin(t, map[string]string{
		"support.yaml": `
signals:
  - {name: support-question, category: actionable, weight: 20, terms: {en: [help]}}
  - {name: refund, category: actionable, weight: 25, terms: {en: [refund]}}
  - {name: thanks, category: positive, weight: 20, terms: {en: [thanks], ja: [ありがとう]}}
negators: {en: [not], ja: [ない]}
`,
	})
	set, err := Load(filepath.Join("testdata", "valid"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	pack := filepath.Join("testdata", "valid", "00-pack.yaml")
	kumo := filepath.Join("testdata", "valid", "kumo.yaml")
	sora := filepath.Join("testdata", "valid", "sora.yaml")
	if want := []string{"builtin/support.yaml", pack, kumo, sora}; !slices.Equal(set.Files, want) {
		t.Errorf("files %q", set.Files)
	}
	// The user pack replaces support-question in place and adds the rest.
	if got, want := signalNames(set.Pack.Signals), []string{"support-question", "refund", "thanks", "outage", "praise"}; !slices.Equal(got, want) {
		t.Errorf("pack %q, want %q", got, want)
	}
	if s := set.Pack.Signals[0]; s.Source != pack || s.Weight != 30 || s.Pos != (Pos{pack, 3}) {
		t.Errorf("support-question %+v", s)
	}
	if s := set.Pack.Signals[4]; s.Negated != Actionable {
		t.Errorf("praise negated %q", s.Negated)
	}
	if want := map[string][]string{"en": {"not", "hardly"}, "ja": {"ない"}}; !reflect.DeepEqual(set.Pack.Negators, want) {
		t.Errorf("negators %q", set.Pack.Negators)
	}
	if len(set.Rules) != 2 {
		t.Fatalf("%d rules", len(set.Rules))
	}

	k := set.Rules[0]
	if k.Brand != "Kumo Mobile" || !slices.Equal(k.Handles, []string{"kumomobile", "kumo_support"}) || !slices.Equal(k.Hashtags, []string{"kumomobile"}) {
		t.Errorf("kumo %+v", k)
	}
	// outage replaced in place, praise disabled, sim-activation added.
	if got, want := signalNames(k.Signals), []string{"support-question", "refund", "thanks", "outage", "sim-activation"}; !slices.Equal(got, want) {
		t.Errorf("kumo signals %q, want %q", got, want)
	}
	if s := k.Signals[3]; s.Source != kumo || s.Weight != 50 || s.Pos.Line != 6 || len(s.Patterns) != 1 {
		t.Errorf("kumo outage %+v", s)
	}
	if set.Pack.Signals[3].Weight != 40 {
		t.Error("a brand's override changed the pack")
	}

	// builtin_signals: false drops the embedded signals, keeps the user pack's.
	if got, want := signalNames(set.Rules[1].Signals), []string{"support-question", "outage", "praise"}; !slices.Equal(got, want) {
		t.Errorf("sora signals %q, want %q", got, want)
	}

	if got, want := set.Summary(), "2 brands, 7 signals (14 terms: en 10, ja 3, any 1), 4 files"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}

	set, err = Load(filepath.Join("testdata", "valid"), Options{NoBuiltin: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := signalNames(set.Rules[0].Signals), []string{"support-question", "outage", "sim-activation"}; !slices.Equal(got, want) {
		t.Errorf("NoBuiltin: kumo signals %q, want %q", got, want)
	}
}

func TestPackLayering(t *testing.T) {
	withBuiltin(t, map[string]string{
		"a.yaml": "signals:\n  - {name: one, category: risky, weight: 10, terms: {en: [a]}}\n  - {name: two, category: risky, weight: 10, terms: {en: [b]}}\n  - {name: three, category: risky, weight: 10, terms: {en: [c]}}\n",
	})
	set, err := LoadFS(mapFS(map[string]string{
		"1.yaml": "signals:\n  - {name: two, disabled: true}\n  - {name: one, category: positive, weight: 5, terms: {en: [x]}}\n  - {name: nothing, disabled: true}\n",
		"2.yaml": "brand: B\nkeywords: [b]\nsignals:\n  - {name: three, disabled: true}\n  - {name: one, disabled: true}\n  - {name: two, disabled: true}\n",
		"3.yaml": "brand: C\nkeywords: [c]\nbuiltin_signals: false\n",
	}), []string{"1.yaml", "2.yaml", "3.yaml"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := signalNames(set.Pack.Signals); !slices.Equal(got, []string{"one", "three"}) {
		t.Errorf("pack %q", got)
	}
	if s := set.Pack.Signals[0]; s.Category != Positive || s.Source != "1.yaml" {
		t.Errorf("one %+v", s)
	}
	if got := signalNames(set.Rules[0].Signals); len(got) != 0 {
		t.Errorf("B signals %q", got)
	}
	// "one" was replaced by a user pack file, so it is not a built-in signal any more.
	if got := signalNames(set.Rules[1].Signals); !slices.Equal(got, []string{"one"}) {
		t.Errorf("C signals %q", got)
	}
	if got, want := set.Summary(), "2 brands, 2 signals (2 terms: en 2), 4 files"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // loaded in name order
		want  []string
	}{
		{"unknown key", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nhandels: [k]\n"},
			[]string{`r.yaml:3: unknown key "handels" (did you mean "handles"?)`}},
		{"unknown key no suggestion", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\ncolour: red\n"},
			[]string{`r.yaml:3: unknown key "colour"`}},
		{"unknown key in pack", map[string]string{"p.yaml": "signal:\n  - name: x\n"},
			[]string{`p.yaml:1: unknown key "signal" (did you mean "signals"?)`}},
		{"brand key in pack", map[string]string{"p.yaml": "keywords: [k]\n"},
			[]string{`p.yaml:1: keywords is only allowed in a brand rule (a file with brand:) (add brand: NAME to make this a brand rule, or move it to one)`}},
		{"unknown signal key", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nsignals:\n  - name: s\n    category: risky\n    weight: 10\n    term: {en: [x]}\n"},
			[]string{`r.yaml:7: unknown key "term" in a signal (did you mean "terms"?)`}},
		{"string for list", map[string]string{"r.yaml": "brand: K\nkeywords: Kumo Mobile, kumomobile\n"},
			[]string{`r.yaml:2: keywords must be a list, not a single value (write it as a list: [Kumo Mobile, kumomobile])`}},
		{"mapping for list", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nexclude: {a: b}\n"},
			[]string{`r.yaml:3: exclude must be a list, not a mapping (write it as a list: [a, b])`}},
		{"list for string", map[string]string{"r.yaml": "brand: [K]\nkeywords: [k]\n"},
			[]string{`r.yaml:1: brand must be a single value, not a list`}},
		{"unquoted colon in list", map[string]string{"r.yaml": "brand: K\nkeywords:\n  - kumo\n  - Kumo: Mobile\n"},
			[]string{`r.yaml:4: each keyword in keywords must be a string, not a mapping (quote it: "Kumo: Mobile")`}},
		{"empty keywords", map[string]string{"r.yaml": "brand: K\nkeywords: []\n"},
			[]string{`r.yaml:2: keywords is empty (add at least one keyword, or a query:)`}},
		{"no keywords", map[string]string{"r.yaml": "# K\n\nbrand: K\n"},
			[]string{`r.yaml:3: brand "K" has no keywords (add keywords: [a, b], or a query:)`}},
		{"blank keyword", map[string]string{"r.yaml": "brand: K\nkeywords:\n  - kumo\n  - \"  \"\n  -\n"},
			[]string{`r.yaml:4: empty keyword in keywords (remove it)`, `r.yaml:5: empty keyword in keywords (remove it)`}},
		{"empty brand", map[string]string{"r.yaml": "brand:\nkeywords: [k]\n"},
			[]string{`r.yaml:1: brand is empty`}},
		{"repeated key", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nkeywords: [j]\n"},
			[]string{`r.yaml:3: "keywords" appears twice (first at line 2) (remove one of them)`}},
		{"bad category", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nsignals:\n  - name: s\n    category: Risk\n    weight: 10\n    terms: {en: [x]}\n  - name: t\n    category: none\n    weight: 10\n    terms: {en: [x]}\n"},
			[]string{`r.yaml:5: unknown category "Risk" (did you mean "risky"?)`, `r.yaml:9: unknown category "none" (use disabled: true to switch a signal off)`}},
		{"bad negated", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nsignals:\n  - {name: s, category: risky, weight: 10, terms: {en: [x]}, negated: happy}\n"},
			[]string{`r.yaml:4: unknown category "happy" (use actionable, risky, positive, none)`}},
		{"weight out of range", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nsignals:\n  - name: s\n    category: risky\n    weight: -101\n    terms: {en: [x]}\n  - name: t\n    category: risky\n    weight: 2.5\n    terms: {en: [x]}\n  - name: u\n    category: risky\n    weight: high\n    terms: {en: [x]}\n"},
			[]string{`r.yaml:6: weight -101 is outside -100..100`, `r.yaml:10: weight must be a whole number, not 2.5`, `r.yaml:14: weight must be a number from -100 to 100, not the string "high"`}},
		{"thresholds", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nthresholds:\n  risky: 101\n  positiv: 30\n  actionable: -1\n"},
			[]string{`r.yaml:4: threshold risky 101 is outside 0..100`, `r.yaml:5: unknown category "positiv" in thresholds (did you mean "positive"?)`, `r.yaml:6: threshold actionable -1 is outside 0..100`}},
		{"thresholds not a mapping", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nthresholds: 35\n"},
			[]string{`r.yaml:3: thresholds must be a mapping, not a number (write it as thresholds: {actionable: 35, risky: 45, positive: 35})`}},
		{"bad patterns", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nsignals:\n  - name: s\n    category: risky\n    weight: 10\n    patterns:\n      - 'ok\\d+'\n      - 'error (\\d+'\n      - '(?!foo)bar'\n"},
			[]string{"r.yaml:9: bad pattern: error parsing regexp: missing closing ): `error (\\d+`",
				"r.yaml:10: bad pattern: error parsing regexp: invalid or unsupported Perl syntax: `(?!` (patterns are RE2: no lookaround (?=…) (?!…) and no backreferences \\1)"}},
		{"bad query", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nquery: 'kumo AND (mobile'\n"},
			[]string{`r.yaml:3: query, column 18: unbalanced "(": add ")"`}},
		{"bad query block", map[string]string{"r.yaml": "brand: K\nquery: |\n  kumo OR\n    (mobile AND)\n"},
			[]string{`r.yaml:4: query, column 13: AND needs a term after it, e.g. a AND b`}},
		{"query without keywords needs a term", map[string]string{"r.yaml": "brand: K\nquery: lang:ja\n"},
			[]string{`r.yaml:2: without keywords, the query needs a term that every matching post contains (add keywords:, or a term every match must contain)`}},
		{"match_in", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nmatch_in: [text, urls, body]\n"},
			[]string{`r.yaml:3: unknown match_in value "urls" (did you mean "url"?)`, `r.yaml:3: unknown match_in value "body" (use text, url, email, handle, hashtag)`}},
		{"empty match_in", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nmatch_in: []\n"},
			[]string{`r.yaml:3: match_in is empty (leave match_in out to match everywhere)`}},
		{"languages", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nlanguages: [en, JA, english, jp, any, ja-JP, x1]\n"},
			[]string{`r.yaml:3: unknown language code "JA" (did you mean "ja"?)`, `r.yaml:3: unknown language code "english" (did you mean "en"?)`,
				`r.yaml:3: "jp" is a country code, not a language code (did you mean "ja"?)`, `r.yaml:3: "any" is not a language here (leave languages out to accept every language)`,
				`r.yaml:3: unknown language code "ja-JP" (did you mean "ja"?)`, `r.yaml:3: unknown language code "x1" (use a two- or three-letter code like "en" or "ja")`}},
		{"term languages", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nsignals:\n  - name: s\n    category: risky\n    weight: 10\n    terms:\n      en: [a]\n      fil: [b]\n      Any: [c]\n      \"\": [d]\n"},
			[]string{`r.yaml:10: terms: unknown language code "Any" (did you mean "any"?)`,
				`r.yaml:11: terms: unknown language code "" (use a two- or three-letter code like "en" or "ja", or "any")`}},
		{"terms as a list", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nsignals:\n  - name: s\n    category: risky\n    weight: 10\n    terms: [outage, down]\n"},
			[]string{`r.yaml:7: terms must be a mapping of language to a list of terms, not a list (write it as terms: {any: [outage, down]}, or per language: {en: [...], ja: [...]})`}},
		{"star in the middle", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nsignals:\n  - {name: s, category: risky, weight: 10, terms: {en: [ok*, \"*x\", a*b, \"*\"]}}\n"},
			[]string{`r.yaml:4: "*" is only allowed at the end of a term: "*x" (write "word*" to match every word that starts with "word")`,
				`r.yaml:4: "*" is only allowed at the end of a term: "a*b" (write "word*" to match every word that starts with "word")`,
				`r.yaml:4: "*" is only allowed at the end of a term: "*" (write "word*" to match every word that starts with "word")`}},
		{"quiet hours", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nquiet_hours:\n  start: \"8:00\"\n  end: \"24:30\"\n  timezone: asia/tokyo\n  days: [Monday, tues, holiday]\n  tz: x\n"},
			[]string{`r.yaml:4: quiet_hours start "8:00" is not a time like "22:00" (did you mean "08:00"?)`,
				`r.yaml:5: quiet_hours end "24:30" is not a time like "22:00" (write it as HH:MM, 00:00 to 23:59)`,
				`r.yaml:6: unknown time zone "asia/tokyo" (did you mean "Asia/Tokyo"?)`,
				`r.yaml:7: unknown day "Monday" (did you mean "mon"?)`, `r.yaml:7: unknown day "tues" (did you mean "tue"?)`,
				`r.yaml:7: unknown day "holiday" (use mon, tue, wed, thu, fri, sat, sun)`,
				`r.yaml:8: unknown key "tz" in quiet_hours`}},
		{"quiet hours incomplete", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nquiet_hours: {start: \"22:00\", end: \"22:00\", timezone: Local}\nquiet_hours_: 1\n"},
			[]string{`r.yaml:3: unknown time zone "Local" (use an IANA name like "Asia/Tokyo")`, `r.yaml:4: unknown key "quiet_hours_" (did you mean "quiet_hours"?)`}},
		{"quiet hours missing", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nquiet_hours:\n  start: \"22:00\"\n"},
			[]string{`r.yaml:3: quiet_hours has no end (add end: "08:00")`, `r.yaml:3: quiet_hours has no timezone (add timezone: Asia/Tokyo)`}},
		{"routing", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nrouting:\n  actionable: Kumo Support\n  risky: C0123ABC\n  positive: \"#kumo_ok\"\n  urgent: \"#x\"\n"},
			[]string{`r.yaml:4: "Kumo Support" is not a Slack channel name or ID (did you mean "#kumo-support"?)`, `r.yaml:7: unknown category "urgent" in routing (use actionable, risky, positive)`}},
		{"routing unquoted hash", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nrouting:\n  risky: #kumo-risk\n"},
			[]string{`r.yaml:4: routing channel for risky is empty (quote it: "#kumo-risk"; an unquoted # starts a comment)`}},
		{"negators in a brand file", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nnegators: {en: [not]}\nintensifiers: {en: [very]}\n"},
			[]string{`r.yaml:3: negators are only allowed in pack files, not in a brand rule (move it to a pack file, a file without brand:)`,
				`r.yaml:4: intensifiers are only allowed in pack files, not in a brand rule (move it to a pack file, a file without brand:)`}},
		{"signal without name or category", map[string]string{"p.yaml": "signals:\n  - category: risky\n    weight: 5\n    terms: {en: [x]}\n  - name: s\n    weight: 5\n    terms: {en: [x]}\n  - name: t\n    category: risky\n    terms: {en: [x]}\n"},
			[]string{`p.yaml:2: a signal has no name (add name: NAME)`, `p.yaml:5: signal "s" has no category (add category: actionable, risky or positive)`,
				`p.yaml:8: signal "t" has no weight (add weight: a number from -100 to 100)`}},
		{"signal not a mapping", map[string]string{"p.yaml": "signals:\n  - outage\nnegators: [not]\n"},
			[]string{`p.yaml:2: a signal must be a mapping, not the string "outage" (write each signal as - name: NAME, with category:, weight: and terms: below)`,
				`p.yaml:3: negators must be a mapping, not a list (write it as negators: {en: [a, b], ja: [c]})`}},
		{"same signal twice", map[string]string{"p.yaml": "signals:\n  - {name: s, category: risky, weight: 5, terms: {en: [x]}}\n  - {name: t, category: risky, weight: 5, terms: {en: [x]}}\n  - {name: s, disabled: true}\n"},
			[]string{`p.yaml:4: signal "s" is defined twice in this file (first at line 2) (rename or remove one of them)`}},
		{"disabled not a bool", map[string]string{"p.yaml": "signals:\n  - {name: s, disabled: yes}\n"},
			[]string{`p.yaml:2: disabled must be true or false, not the string "yes" (write true)`}},
		{"bad handles and hashtags", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nhandles: [\"@\", \"kumo mobile\"]\nhashtags: [\"#\"]\n"},
			[]string{`r.yaml:3: empty handle in handles`, `r.yaml:3: handle "kumo mobile" contains a space (a handle is one word, without spaces)`, `r.yaml:4: empty hashtag in hashtags`}},
		{"yaml syntax", map[string]string{"r.yaml": "brand: K\nkeywords: [k\nhandles: [a]\n"},
			[]string{`r.yaml:2: YAML syntax error: did not find expected ',' or ']'`}},
		{"yaml tab", map[string]string{"r.yaml": "brand: K\nkeywords:\n\t- k\n"},
			[]string{`r.yaml:3: YAML syntax error: found character that cannot start any token (indent with spaces, not tabs)`}},
		{"yaml unknown anchor", map[string]string{"r.yaml": "brand: K\n\nkeywords: *kw\n"},
			[]string{`r.yaml:3: YAML syntax error: unknown anchor 'kw' referenced`}},
		{"two documents", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\n---\nbrand: L\nkeywords: [l]\n"},
			[]string{`r.yaml:3: more than one YAML document in the file ("---" starts a new one) (put each brand in its own file)`}},
		{"not a mapping", map[string]string{"r.yaml": "- brand: K\n"},
			[]string{`r.yaml:1: a rule file must be a mapping of keys to values, not a list (start with brand: NAME for a brand rule, or signals: for a pack file)`}},
		{"empty file", map[string]string{"r.yaml": "# nothing yet\n"},
			[]string{`r.yaml:1: file is empty (a brand rule needs at least brand: and keywords:)`}},
		{"merge key", map[string]string{"r.yaml": "brand: K\nkeywords: [k]\nthresholds:\n  <<: {risky: 40}\n"},
			[]string{`r.yaml:4: merge keys (<<) are not supported (repeat the keys, or use an alias (*name) for the whole value)`}},
		{"duplicate brand", map[string]string{"a.yaml": "brand: Kumo\nkeywords: [k]\n", "b.yaml": "\nbrand: KUMO\nkeywords: [k]\n"},
			[]string{`a.yaml:1: brand "Kumo" is defined again at b.yaml:2 (each brand needs its own single rule file)`,
				`b.yaml:2: brand "KUMO" is already defined at a.yaml:1 (each brand needs its own single rule file)`}},
		{"problems of several files", map[string]string{
			"a.yaml": "brand: A\nkeywords: [a]\nweight: 3\n",
			"b.yaml": "brand: B\nkeywords: b\nlanguages: [xx1]\n",
			"c.yaml": "signals:\n  - name: s\n    category: risky\n    weight: 500\n    terms: {en: [x]}\n"},
			[]string{`a.yaml:3: unknown key "weight"`, `b.yaml:2: keywords must be a list, not a single value (write it as a list: [b])`,
				`b.yaml:3: unknown language code "xx1" (use a two- or three-letter code like "en" or "ja")`,
				`c.yaml:4: weight 500 is outside -100..100`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFS(mapFS(tt.files), nil, Options{NoBuiltin: true})
			if err == nil {
				t.Fatal("no error")
			}
			got := problemLines(t, err)
			want := slices.Clone(tt.want)
			// Problems come sorted by file and line; within a line in source order.
			if !slices.Equal(got, want) {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestQueryColumns(t *testing.T) {
	tests := []struct {
		yaml      string
		line, col int
	}{
		{"brand: K\nquery: kumo AND (mobile\n", 2, 17},             // plain
		{"brand: K\nquery: 'kumo''s AND (mobile'\n", 2, 21},        // single-quoted, '' escape
		{"brand: K\nquery: \"\\\"kumo\\\" AND (mobile\"\n", 2, 22}, // double-quoted, escapes
		{"brand: K\nquery: >\n  kumo AND\n  (mobile\n", 4, 3},      // folded block
		{"brand: K\nquery: kumo AND\n  (mobile\n", 3, 3},           // plain over two lines
		{"brand: K\nquery: 'クモ AND (mobile'\n", 2, 16},             // columns count characters
	}
	for _, tt := range tests {
		_, err := LoadFS(mapFS(map[string]string{"r.yaml": tt.yaml}), nil, Options{NoBuiltin: true})
		var ps Problems
		if !errors.As(err, &ps) || len(ps) != 1 {
			t.Errorf("%q: %v", tt.yaml, err)
			continue
		}
		if p := ps[0]; p.Pos.Line != tt.line || p.Col != tt.col {
			t.Errorf("%q: at %d:%d, want %d:%d (%s)", tt.yaml, p.Pos.Line, p.Col, tt.line, tt.col, p.Msg)
		}
	}
}

func TestLoadDirProblems(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "broken"), Options{NoBuiltin: true})
	dir := filepath.Join("testdata", "broken")
	want := []string{
		filepath.Join(dir, "one.yaml") + `:3: unknown key "hashtag" (did you mean "hashtags"?)`,
		filepath.Join(dir, "three.yml") + `:4: YAML syntax error: did not find expected key (check the indentation)`,
		filepath.Join(dir, "two.yaml") + `:2: keywords must be a list, not a single value (write it as a list: [two])`,
		filepath.Join(dir, "two.yaml") + `:6: weight 101 is outside -100..100`,
	}
	if got := problemLines(t, err); !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	_, err = Load(filepath.Join("testdata", "dupe"), Options{NoBuiltin: true})
	a, b := filepath.Join("testdata", "dupe", "a.yaml"), filepath.Join("testdata", "dupe", "b.yaml")
	want = []string{
		a + `:2: brand "Kumo Mobile" is defined again at ` + b + `:2 (each brand needs its own single rule file)`,
		b + `:2: brand "kumo  mobile" is already defined at ` + a + `:2 (each brand needs its own single rule file)`,
	}
	if got := problemLines(t, err); !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	_, err = Load(filepath.Join("testdata", "empty"), Options{})
	want = []string{filepath.Join("testdata", "empty") + ": no rule files (*.yaml, *.yml) in the directory (files in subdirectories are not read; add a brand rule such as kumo.yaml with brand: and keywords:, see docs/rules.md)"}
	if got := problemLines(t, err); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}

	_, err = Load(filepath.Join("testdata", "missing"), Options{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}
	_, err = LoadFiles([]string{filepath.Join("testdata", "valid", "kumo.yaml"), filepath.Join("testdata", "nope.yaml")}, Options{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	var ps Problems
	if _, err := LoadFiles(nil, Options{}); !errors.As(err, &ps) {
		t.Errorf("no files: %v", err)
	}
}

func TestLimits(t *testing.T) {
	big := "brand: K\nkeywords: [k]\nexclude: [" + strings.Repeat("x, ", MaxFileSize/3) + "x]\n"
	terms := "brand: K\nkeywords: [k]\nexclude: [" + strings.Repeat("x,", MaxTerms) + "x]\n"
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n" +
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n" +
		"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n" +
		"brand: K\nkeywords: [k]\nsignals: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
	words := "w: &w [" + strings.Repeat("x,", 999) + "x]\nbrand: K\nkeywords: [k]\nsignals:\n  - name: s\n    category: risky\n    weight: 1\n    terms:\n" +
		strings.Repeat("      x: *w\n", 1)
	for i := range 120 {
		words += "      " + string(rune('a'+i/26%26)) + string(rune('a'+i%26)) + string(rune('a'+i/676)) + ": *w\n"
	}
	nested := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	self := "brand: K\nkeywords: &k [k, *k]\nsignals: &s [*s]\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"too big", big, "r.yaml:1: file is more than the limit of 1 MiB (split it into several files)"},
		{"too many terms", terms, "r.yaml:3: more than 100000 keywords, terms and patterns in one file (split it into several files)"},
		{"alias bomb", bomb, "r.yaml:6: a signal must be a mapping, not a list"},
		{"aliased term lists", words, "r.yaml:1: more than 100000 keywords, terms and patterns in one file (split it into several files)"},
		{"deep nesting", nested, "r.yaml:1: a rule file must be a mapping"},
		{"recursive alias", self, "r.yaml:2: each keyword in keywords must be a string, not a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFS(mapFS(map[string]string{"r.yaml": tt.yaml}), nil, Options{NoBuiltin: true})
			problemLines(t, err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got:\n%v\nwant a line starting %q", err, tt.want)
			}
		})
	}
}

func TestProblemError(t *testing.T) {
	ps := Problems{
		{Pos: Pos{"b.yaml", 2}, Msg: "two"},
		{Pos: Pos{"a.yaml", 10}, Msg: "ten", Hint: `did you mean "x"?`},
		{Pos: Pos{"a.yaml", 9}, Col: 3, Msg: "nine"},
		{Pos: Pos{File: "dir"}, Msg: "dir"},
	}
	want := "a.yaml:9: nine\na.yaml:10: ten (did you mean \"x\"?)\nb.yaml:2: two\ndir: dir"
	if got := ps.Error(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	var err error = ps
	if err.Error() == "" {
		t.Fail()
	}
}

func TestSuggest(t *testing.T) {
	keys := append(append([]string(nil), brandKeys...), packKeys...)
	for word, want := range map[string]string{
		"keyword": "keywords", "Brand": "brand", "match-in": "match_in", "requireAny": "require_any",
		"handels": "handles", "quiethours": "quiet_hours", "xyz": "", "includetaged": "include_tagged", "": "",
	} {
		if got := suggest.Nearest(word, keys); got != want {
			t.Errorf("suggest.Nearest(%q) = %q, want %q", word, got, want)
		}
	}
	if got := thousands(1234567); got != "1,234,567" {
		t.Error(got)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(docExample(f)))
	for _, dir := range []string{"valid", "broken", "dupe"} {
		paths, _ := filepath.Glob(filepath.Join("testdata", dir, "*.y*ml"))
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("brand: K\nkeywords: [k]\nquery: |\n  a AND\n  (b\n"))
	f.Add([]byte("a: &a [*a]\nbrand: *a\n"))
	f.Add([]byte("brand: K\nkeywords: [k]\nquiet_hours: {start: \"22:00\", end: \"08:00\", timezone: Asia/Tokyo}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := LoadFS(fstest.MapFS{"f.yaml": {Data: data}}, nil, Options{NoBuiltin: true})
		if err == nil {
			if set == nil || len(set.Files) != 1 {
				t.Fatalf("no set and no error")
			}
			_ = set.Summary()
			return
		}
		var ps Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("error is %T, not Problems: %v", err, err)
		}
		for _, p := range ps {
			if p.Pos.File != "f.yaml" || p.Pos.Line < 1 || p.Msg == "" {
				t.Fatalf("bad problem %+v", p)
			}
		}
	})
}
