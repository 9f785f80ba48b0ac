package listener

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestQuerySyntaxPerPlatform(t *testing.T) {
	kumo := []string{"Kumo Mobile", "クモモバイル"}
	special := []string{`say "hi"`, "  spaced   out  ", "c++", "AT&T", "acme:pro", "#acme", "@acme", "(acme)", "-acme", "OR", "ACME"}
	for _, c := range []struct {
		name string
		d    dialect
		q    Query
		want []string
	}{
		// X v2: every keyword an exact phrase, OR in parentheses, then
		// -is:retweet, exclusions and one language.
		{"x japanese", xDialect(512), Query{Keywords: kumo, Exclude: []string{"kumo cloud"}, Languages: []string{"ja"}},
			[]string{`("Kumo Mobile" OR "クモモバイル") -is:retweet -"kumo cloud" lang:ja`}},
		{"x special", xDialect(512), Query{Keywords: special},
			[]string{`("say hi" OR "spaced out" OR "c++" OR "AT&T" OR "acme:pro" OR "#acme" OR "@acme" OR "(acme)" OR "-acme" OR "OR" OR "ACME") -is:retweet`}},
		{"x two languages", xDialect(512), Query{Keywords: []string{"acme"}, Languages: []string{"ja", "en"}}, []string{`"acme" -is:retweet`}},
		{"x bad language", xDialect(512), Query{Keywords: []string{"acme"}, Languages: []string{`ja" OR "x`}}, []string{`"acme" -is:retweet`}},
		// v1.1: the language is a parameter; retweets by filter.
		{"xv1", xv1Dialect(), Query{Keywords: kumo, Exclude: []string{"kumo cloud"}, Languages: []string{"ja"}},
			[]string{`("Kumo Mobile" OR "クモモバイル") -filter:retweets -"kumo cloud"`}},
		// Reddit: plain words bare, phrases and unspaced scripts quoted.
		{"reddit japanese", redditDialect(), Query{Keywords: kumo, Exclude: []string{"kumo cloud", "求人"}},
			[]string{`("Kumo Mobile" OR "クモモバイル") -"kumo cloud" -"求人"`}},
		{"reddit special", redditDialect(), Query{Keywords: special},
			[]string{`"say hi" OR "spaced out" OR "c++" OR "AT&T" OR "acme:pro" OR "#acme" OR "@acme" OR "(acme)" OR "-acme" OR "OR" OR ACME`}},
		// Bluesky: | is OR; Japanese keywords in a query of their own
		// (a query with Japanese is searched in the Japanese field).
		{"bluesky japanese", bskyDialect(), Query{Keywords: []string{"Kumo Mobile", "クモモバイル", "kumomobile", "雲モバイル"}, Exclude: []string{"kumo cloud"}, Languages: []string{"ja"}},
			[]string{`("Kumo Mobile" | "kumomobile") -"kumo cloud"`, `("クモモバイル" | "雲モバイル") -"kumo cloud"`}},
		{"bluesky no exclusions", bskyDialect(), Query{Keywords: []string{"acme", "from:x", "lang:ja"}},
			[]string{`"acme" | "from:x" | "lang:ja"`}},
		// Mastodon: no OR, one query per keyword; language:xx.
		{"mastodon", mastoDialect(), Query{Keywords: []string{"Kumo Mobile", "クモモバイル", "kumomobile", "acme:pro"}, Exclude: []string{"kumo cloud", "spam"}, Languages: []string{"ja"}},
			[]string{`"Kumo Mobile" -"kumo cloud" -spam language:ja`, `"クモモバイル" -"kumo cloud" -spam language:ja`,
				`kumomobile -"kumo cloud" -spam language:ja`, `"acme:pro" -"kumo cloud" -spam language:ja`}},
		// Algolia: no OR; exact phrases; only single words can be excluded.
		{"hn", hnDialect(), Query{Keywords: []string{"Kumo Mobile", "クモモバイル", "-acme"}, Exclude: []string{"kumo cloud", "spam", "c++"}, Languages: []string{"ja"}},
			[]string{`"Kumo Mobile" -spam`, `"クモモバイル" -spam`, `"-acme" -spam`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := c.d.build(c.q)
			if err != nil || !slices.Equal(p.queries, c.want) {
				t.Errorf("got %q %v\nwant %q", p.queries, err, c.want)
			}
		})
	}
}

func TestQueryExclusionsNotPushedDown(t *testing.T) {
	// One that would hide a keyword's own posts, one the platform cannot
	// express, and, last first, those that leave no room.
	p, err := hnDialect().build(Query{Keywords: []string{"kumo cloud app", "acme"}, Exclude: []string{"Kumo Cloud", "two words", "jobs"}})
	if err != nil || !slices.Equal(p.queries, []string{`"kumo cloud app" -jobs`, `"acme" -jobs`}) ||
		!slices.Equal(p.dropped, []string{"Kumo Cloud (would exclude a keyword)", "two words (not expressible)"}) {
		t.Errorf("queries %q dropped %q %v", p.queries, p.dropped, err)
	}
	long := strings.Repeat("k", 430)
	p, err = xDialect(512).build(Query{Keywords: []string{long}, Exclude: []string{"a", "bb", strings.Repeat("c", 80)}})
	if err != nil || len(p.queries) != 1 || p.queries[0] != `"`+long+`" -is:retweet -"a" -"bb"` || len(p.dropped) != 1 {
		t.Errorf("queries %q dropped %q %v", p.queries, p.dropped, err)
	}
}

func TestQuerySplitWithinLimit(t *testing.T) {
	var kws []string
	for i := range 80 {
		kws = append(kws, fmt.Sprintf("Kumo product %02d", i), fmt.Sprintf("クモ製品%02d", i))
	}
	q := Query{Keywords: kws, Exclude: []string{"kumo cloud"}, Languages: []string{"ja"}}
	for _, c := range []struct {
		name    string
		d       dialect
		suffix  string
		perTerm bool // one keyword per query
	}{
		{"x", xDialect(512), ` -is:retweet -"kumo cloud" lang:ja`, false},
		{"x 1024", xDialect(1024), ` -is:retweet -"kumo cloud" lang:ja`, false},
		{"xv1", xv1Dialect(), ` -filter:retweets -"kumo cloud"`, false},
		{"reddit", redditDialect(), ` -"kumo cloud"`, false},
		{"bluesky", bskyDialect(), ` -"kumo cloud"`, false},
		{"mastodon", mastoDialect(), ` -"kumo cloud" language:ja`, true},
		{"hn", hnDialect(), "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := c.d.build(q)
			if err != nil {
				t.Fatal(err)
			}
			if c.perTerm && len(p.queries) != len(kws) || !c.perTerm && len(p.queries) < 2 {
				t.Fatalf("%d queries", len(p.queries))
			}
			seen := map[string]int{}
			for _, qs := range p.queries {
				if c.d.size(qs) > c.d.max {
					t.Errorf("query of %d %s > %d: %q", c.d.size(qs), c.d.unit(), c.d.max, qs)
				}
				if !strings.HasSuffix(qs, c.suffix) {
					t.Errorf("query without the suffix: %q", qs)
				}
				body := strings.Trim(strings.TrimSuffix(qs, c.suffix), "()")
				ja := japanese(body)
				terms := []string{body}
				if c.d.or != "" {
					terms = strings.Split(body, strings.TrimSpace(c.d.or))
				}
				for _, term := range terms {
					term = strings.Trim(strings.TrimSpace(term), `"`)
					seen[term]++
					if c.name == "bluesky" && japanese(term) != ja {
						t.Errorf("Japanese and other keywords share %q", qs)
					}
				}
			}
			for _, k := range kws {
				if seen[k] != 1 {
					t.Errorf("keyword %q in %d queries", k, seen[k])
				}
			}
		})
	}
}

func TestQueryKeywordTooLong(t *testing.T) {
	latin := strings.Repeat("kumo ", 110)      // 550 characters
	japaneseKw := strings.Repeat("クモモバイル", 30) // 180 characters, 540 bytes
	for _, c := range []struct {
		name string
		d    dialect
		kw   string
		ok   bool
	}{
		{"x latin", xDialect(512), latin, false},
		{"x japanese: characters count", xDialect(512), japaneseKw, true},
		{"x 1024", xDialect(1024), latin, true},
		{"xv1", xv1Dialect(), latin, false},
		{"reddit japanese: characters count", redditDialect(), japaneseKw, true},
		{"bluesky japanese: bytes count", bskyDialect(), japaneseKw, false},
		{"mastodon", mastoDialect(), latin, false},
		{"hn japanese: bytes count", hnDialect(), japaneseKw, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := c.d.build(Query{Keywords: []string{"acme", c.kw}})
			if c.ok {
				if err != nil || len(p.queries) == 0 {
					t.Errorf("%q %v", p.queries, err)
				}
				return
			}
			if !errors.Is(err, ErrQueryTooLong) || p.queries != nil {
				t.Fatalf("queries %q, err %v", p.queries, err)
			}
			// The error names the keyword (abbreviated), its size and the
			// platform's limit.
			for _, want := range []string{c.d.name, abbreviate(strings.TrimSpace(c.kw), 40), fmt.Sprint(c.d.max), c.d.unit()} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if utf8.RuneCountInString(err.Error()) > 300 {
				t.Errorf("error of %d characters", utf8.RuneCountInString(err.Error()))
			}
		})
	}
}

func TestQueryNoKeywords(t *testing.T) {
	for _, kws := range [][]string{nil, {""}, {`""`, "  "}} {
		if _, err := xDialect(512).build(Query{Keywords: kws}); err == nil || errors.Is(err, ErrQueryTooLong) {
			t.Errorf("%q: %v", kws, err)
		}
	}
}

// Every query the builder makes parses in the fakes' reading of the
// platform's syntax and finds exactly the texts with a keyword and no
// exclusion.
func TestQueriesReadByFakes(t *testing.T) {
	kws := []string{"Kumo Mobile", "クモモバイル", "c++", "OR", "acme:pro"}
	texts := map[string]bool{
		"kumo mobile is down":        true,
		"クモモバイルが繋がらない":               true,
		"I love c++":                 true,
		"this OR that":               true,
		"acme:pro rocks":             true,
		"kumo mobile in kumo cloud":  false,
		"mobile kumo":                false,
		"nothing to see":             false,
		"クモモバイル spam":                false,
		"acme pro without the colon": false,
	}
	q := Query{Keywords: kws, Exclude: []string{"kumo cloud", "spam"}}
	for _, c := range []struct {
		name string
		d    dialect
		or   string
		also string // matched because an exclusion could not be pushed down
	}{
		{"x", xDialect(512), "OR", ""}, {"reddit", redditDialect(), "OR", ""}, {"bluesky", bskyDialect(), "|", ""},
		{"mastodon", mastoDialect(), "", ""}, {"hn", hnDialect(), "", "kumo mobile in kumo cloud"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := c.d.build(q)
			if err != nil {
				t.Fatal(err)
			}
			var fqs []*fakeQuery
			for _, qs := range p.queries {
				fq, err := parseFakeQuery(qs, c.or)
				if err != nil {
					t.Fatalf("%q: %v", qs, err)
				}
				fqs = append(fqs, fq)
			}
			for text, want := range texts {
				got := slices.ContainsFunc(fqs, func(fq *fakeQuery) bool { return fq.match(text) })
				if got != (want || text == c.also) {
					t.Errorf("%q matched %v, want %v (queries %q)", text, got, want, p.queries)
				}
			}
		})
	}
}
