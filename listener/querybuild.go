package listener

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Keywords to platform queries. Every source that searches by keyword
// builds its queries here, from the one Query, by the same rules:
//
//   - a keyword is cleaned (double quotes dropped, white space folded) and
//     kept once whatever its case;
//   - it is quoted as a phrase where the dialect says so: always on X,
//     Bluesky and Hacker News; on Reddit and Mastodon unless it is a plain
//     word (letters and digits only, not an operator, and not in a script
//     written without spaces such as Japanese, where quoting keeps the
//     characters together);
//   - keywords are OR-joined, in order, into as few queries as fit the
//     platform's length limit; where the platform has no OR (Mastodon,
//     Algolia for HN) each keyword is a query of its own;
//   - every exclusion is added to every query with the platform's NOT,
//     except one that would exclude a keyword itself ("kumo cloud" when
//     "kumo cloud app" is a keyword), one the platform cannot express, and,
//     last first, those that would leave no room for the longest keyword:
//     the matcher still applies all of them;
//   - one language becomes the platform's language operator where it has
//     one (X lang:, Mastodon language:); several are left to the matcher;
//   - a keyword that cannot fit in a query even alone is an error wrapping
//     ErrQueryTooLong, before any request is made.
//
// The query only narrows what is fetched; the matcher decides.

// ErrQueryTooLong is wrapped by the error for a keyword that does not fit
// in one query of the platform.
var ErrQueryTooLong = errors.New("keyword longer than the platform's query limit")

// dialect is how one platform's search takes keywords.
type dialect struct {
	name  string // in errors, e.g. "X recent search"
	max   int    // longest query
	bytes bool   // max counts bytes (Algolia), not characters
	// or joins alternatives; "" if the platform has no OR.
	or string
	// quote writes a cleaned keyword as a term of the query.
	quote func(string) string
	// not writes a cleaned exclusion, or "" if it cannot be pushed down.
	not func(string) string
	// lang writes the operator for one language; nil if there is none.
	lang func(string) string
	// fixed is appended to every query, before the exclusions.
	fixed string
	// class, if set, keeps keywords of different classes in different
	// queries.
	class func(string) int
}

// plan is what a dialect makes of a Query.
type plan struct {
	queries []string
	// dropped are the exclusions not pushed down, with the reason.
	dropped []string
}

func (d dialect) size(s string) int {
	if d.bytes {
		return len(s)
	}
	return utf8.RuneCountInString(s)
}

// cleanTerm drops double quotes and folds white space.
func cleanTerm(k string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(k, `"`, " ")), " ")
}

var langTagRE = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)

// queries is build for a source's Queries method: errors begin with
// prefix, and the exclusions left to the matcher are logged at level.
func (d dialect) queries(q Query, prefix string, log *slog.Logger, level slog.Level) ([]string, error) {
	p, err := d.build(q)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	if len(p.dropped) > 0 {
		log.Log(context.Background(), level, "exclusions left to the matcher", "dropped", p.dropped)
	}
	return p.queries, nil
}

// build turns q into the platform's queries.
func (d dialect) build(q Query) (plan, error) {
	var p plan
	var terms, folded []string
	for _, k := range q.Keywords {
		c := cleanTerm(k)
		if c == "" || slices.Contains(folded, strings.ToLower(c)) {
			continue
		}
		folded = append(folded, strings.ToLower(c))
		terms = append(terms, c)
	}
	if len(terms) == 0 {
		return p, fmt.Errorf("%s: the query has no keywords", d.name)
	}

	lang := ""
	if d.lang != nil && len(q.Languages) == 1 {
		if l := strings.TrimSpace(q.Languages[0]); langTagRE.MatchString(l) {
			lang = " " + d.lang(l)
		}
	}
	tail := d.fixed + lang // what every query ends with, exclusions aside
	var long []string
	longest := 0
	for _, t := range terms {
		n := d.size(d.quote(t))
		if n+d.size(tail) > d.max {
			long = append(long, fmt.Sprintf("%q (%d)", abbreviate(t, 40), n))
		}
		longest = max(longest, n)
	}
	if len(long) > 0 {
		with := ""
		if tail != "" {
			with = fmt.Sprintf(", %q included", strings.TrimSpace(tail))
		}
		return p, fmt.Errorf("%s: %s: %w of %d %s%s; shorten it or leave it to another source",
			d.name, strings.Join(long, ", "), ErrQueryTooLong, d.max, d.unit(), with)
	}

	var excl, exFolded []string
	for _, e := range q.Exclude {
		c := cleanTerm(e)
		if c == "" || slices.Contains(exFolded, strings.ToLower(c)) {
			continue
		}
		exFolded = append(exFolded, strings.ToLower(c))
		if slices.ContainsFunc(folded, func(k string) bool { return strings.Contains(k, strings.ToLower(c)) }) {
			p.dropped = append(p.dropped, c+" (would exclude a keyword)")
			continue
		}
		x := ""
		if d.not != nil {
			x = d.not(c)
		}
		if x == "" {
			p.dropped = append(p.dropped, c+" (not expressible)")
			continue
		}
		excl = append(excl, x)
	}
	suffix := func() string {
		s := d.fixed
		for _, x := range excl {
			s += " " + x
		}
		return s + lang
	}
	for len(excl) > 0 && longest+d.size(suffix()) > d.max {
		p.dropped = append(p.dropped, excl[len(excl)-1]+" (no room)")
		excl = excl[:len(excl)-1]
	}
	sfx := suffix()
	sep := d.size(d.or)

	render := func(group []string) string {
		if len(group) == 1 {
			return group[0] + sfx
		}
		s := strings.Join(group, d.or)
		if sfx != "" {
			s = "(" + s + ")"
		}
		return s + sfx
	}
	classOf := func(t string) int {
		if d.class == nil {
			return 0
		}
		return d.class(t)
	}
	var classes []int
	for _, t := range terms {
		if c := classOf(t); !slices.Contains(classes, c) {
			classes = append(classes, c)
		}
	}
	for _, c := range classes {
		var group []string
		size := 0 // of the group's terms joined
		for _, t := range terms {
			if classOf(t) != c {
				continue
			}
			qt := d.quote(t)
			n := d.size(qt)
			if len(group) > 0 {
				grown := size + sep + n + 2 // and parentheses
				if sfx == "" {
					grown -= 2
				}
				if d.or == "" || grown+d.size(sfx) > d.max {
					p.queries = append(p.queries, render(group))
					group, size = nil, 0
				}
			}
			if len(group) > 0 {
				size += sep
			}
			group = append(group, qt)
			size += n
		}
		if len(group) > 0 {
			p.queries = append(p.queries, render(group))
		}
	}
	return p, nil
}

func (d dialect) unit() string {
	if d.bytes {
		return "bytes"
	}
	return "characters"
}

func abbreviate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// quotePhrase always quotes.
func quotePhrase(c string) string { return `"` + c + `"` }

// notPhrase excludes a quoted phrase.
func notPhrase(c string) string { return `-"` + c + `"` }

// quoteUnlessWord quotes unless c is a plain word: letters and digits,
// not an operator, not written in a script without spaces between words.
func quoteUnlessWord(c string) string {
	if plainWord(c) {
		return c
	}
	return quotePhrase(c)
}

func plainWord(c string) bool {
	switch c {
	case "OR", "AND", "NOT", "TO":
		return false
	}
	return c != "" && !strings.ContainsFunc(c, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) || unspaced(r)
	})
}

// unspaced: a rune of a script written without spaces between words.
func unspaced(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar)
}

// japanese reports whether s has kana or kanji (Bluesky searches such
// queries in its Japanese field).
func japanese(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) })
}

// The dialects. Limits are the platforms' where they publish one
// (shared/platforms.md); Bluesky and Mastodon publish none, and Kizuki
// keeps their queries within 512 bytes.

// xDialect is X API v2 recent search: 512 characters on most tiers (more
// on higher ones: max).
func xDialect(max int) dialect {
	return dialect{name: "X recent search", max: max, or: " OR ", quote: quotePhrase, not: notPhrase,
		lang: func(l string) string { return "lang:" + l }, fixed: " -is:retweet"}
}

// xv1Dialect is v1.1 search/tweets: 500 characters; the language is the
// lang parameter.
func xv1Dialect() dialect {
	return dialect{name: "X v1.1 search", max: 500, or: " OR ", quote: quotePhrase, not: notPhrase, fixed: " -filter:retweets"}
}

// redditDialect is Reddit's search q: 512 characters, Lucene-style.
func redditDialect() dialect {
	return dialect{name: "Reddit search", max: redditMaxQuery, or: " OR ", quote: quoteUnlessWord, not: notPhrase}
}

// bskyDialect is searchPosts q as Bluesky's search service (palomar)
// reads it: a simple query string where | is OR, - is NOT and quotes make
// a phrase. A query with Japanese in it is run against the Japanese
// field, so Japanese keywords never share a query with others.
func bskyDialect() dialect {
	return dialect{name: "Bluesky searchPosts", max: 512, bytes: true, or: " | ", quote: quotePhrase, not: notPhrase,
		class: func(t string) int {
			if japanese(t) {
				return 1
			}
			return 0
		}}
}

// mastoDialect is Mastodon's /api/v2/search q (4.2+): terms are all
// required (there is no OR), - excludes, quotes make a phrase, and
// language:xx filters.
func mastoDialect() dialect {
	return dialect{name: "Mastodon search", max: 512, bytes: true, quote: quoteUnlessWord,
		not: func(c string) string { return "-" + quoteUnlessWord(c) }, lang: func(l string) string { return "language:" + l }}
}

// hnDialect is Algolia's query with advancedSyntax: 512 bytes, words
// all required (no OR), quotes make an exact phrase (no typo tolerance
// and no prefix match, which suits brand names), and -word excludes a
// single word; a phrase cannot be excluded.
func hnDialect() dialect {
	return dialect{name: "HN Algolia search", max: 512, bytes: true, quote: quotePhrase,
		not: func(c string) string {
			if !plainWord(c) {
				return ""
			}
			return "-" + c
		}}
}
