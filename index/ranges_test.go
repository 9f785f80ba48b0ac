package index

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestRangeBlocks checks the range decomposition against brute force: the
// values whose terms meet the emitted terms are exactly those in the range,
// each through one term only.
func TestRangeBlocks(t *testing.T) {
	t.Parallel()
	edges := []int64{math.MinInt64, math.MinInt64 + 1, -1 << 40, -65537, -256, -17, -16, -15, -2, -1,
		0, 1, 2, 14, 15, 16, 17, 100, 255, 256, 257, 4095, 4096, 65535, 65536, 1 << 31, 1<<40 + 3,
		math.MaxInt64 - 1, math.MaxInt64}
	rng := rand.New(rand.NewPCG(3, 4))
	values := slices.Clone(edges)
	for range 300 {
		switch rng.IntN(3) {
		case 0:
			values = append(values, rng.Int64N(2000)-1000)
		case 1:
			values = append(values, rng.Int64N(1<<36))
		default:
			values = append(values, int64(rng.Uint64()))
		}
	}
	termsOf := make([]map[string]bool, len(values))
	for i, v := range values {
		termsOf[i] = map[string]bool{}
		for _, term := range rangeTerms(v) {
			termsOf[i][string(term)] = true
		}
	}
	check := func(lo, hi int64) {
		var emitted []string
		rangeBlocks(lo, hi, func(term []byte) { emitted = append(emitted, string(term)) })
		if len(emitted) > 2*rangeFanout*rangeLevels+rangeFanout*rangeLevels {
			t.Errorf("[%d, %d]: %d terms", lo, hi, len(emitted))
		}
		for i, v := range values {
			hits := 0
			for _, term := range emitted {
				if termsOf[i][term] {
					hits++
				}
			}
			want := 0
			if lo <= v && v <= hi {
				want = 1
			}
			if hits != want {
				t.Fatalf("[%d, %d]: value %d meets %d of the %d terms, want %d", lo, hi, v, hits, len(emitted), want)
			}
		}
	}
	for _, lo := range edges {
		for _, hi := range edges {
			check(lo, hi)
		}
	}
	for range 2000 {
		a, b := values[rng.IntN(len(values))], values[rng.IntN(len(values))]
		if rng.IntN(2) == 0 {
			b = a + rng.Int64N(5000)
			if b < a { // overflow
				b = math.MaxInt64
			}
		}
		check(min(a, b), max(a, b))
	}
}

// TestRangeTermsAreFew pins what makes indexing cheap: a number carries
// terms only up to its top base-16 digit (Bleve's numbers carry 16).
func TestRangeTermsAreFew(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    int64
		want int
	}{
		{0, 1}, {7, 1}, {72, 2}, {100, 2}, {12000, 4}, {time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC).Unix(), 8}, {-1, 16},
	} {
		if got := len(rangeTerms(tc.v)); got != tc.want {
			t.Errorf("rangeTerms(%d): %d terms, want %d", tc.v, got, tc.want)
		}
	}
}

// TestRanges searches numbers and dates in an index, with bounds inside a
// second, before 1970, fractional and negative, against brute force.
func TestRanges(t *testing.T) {
	t.Parallel()
	ix, _ := openTest(t, Options{})
	base := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	var docs []Doc
	for i, at := range []time.Time{
		base,
		base.Add(1),                      // a nanosecond later
		base.Add(500 * time.Millisecond), // within the same second
		base.Add(999999999),              // the last nanosecond of it
		base.Add(time.Second),            // the next second
		base.Add(90 * time.Minute),       // later
		base.Add(-time.Nanosecond),       // the second before
		time.Date(1969, 12, 31, 23, 59, 59, 250e6, time.UTC), // before 1970, not whole
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		docs = append(docs, Doc{ID: fmt.Sprintf("d:%d", i), Platform: "x", Text: "range test", CreatedAt: at,
			Score: []int{0, 15, 16, 50, 72, 100, 255, 256, -3, 7}[i], Followers: []int{0, 1, 999, 1000, 1001, 12000, 50000, 1 << 40, 3, 65536}[i]})
	}
	if err := ix.Index(context.Background(), docs); err != nil {
		t.Fatal(err)
	}
	want := func(keep func(d Doc) bool) []string {
		var out []string
		for _, d := range docs {
			if keep(d) {
				out = append(out, d.ID)
			}
		}
		slices.Sort(out)
		return out
	}
	got := func(r Request) []string {
		t.Helper()
		r.Limit = 100
		res, err := ix.Search(context.Background(), r)
		if err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
		out := ids(res)
		slices.Sort(out)
		return out
	}

	// Since and Until at every doc's time, and a nanosecond either side.
	for _, d := range docs {
		for _, off := range []time.Duration{-1, 0, 1} {
			at := d.CreatedAt.Add(off)
			if g, w := got(Request{Since: at}), want(func(x Doc) bool { return !x.CreatedAt.Before(at) }); !slices.Equal(g, w) {
				t.Errorf("since %s: %v, want %v", at.Format(time.RFC3339Nano), g, w)
			}
			if g, w := got(Request{Until: at}), want(func(x Doc) bool { return x.CreatedAt.Before(at) }); !slices.Equal(g, w) {
				t.Errorf("until %s: %v, want %v", at.Format(time.RFC3339Nano), g, w)
			}
			end := at.Add(700 * time.Millisecond)
			if g, w := got(Request{Since: at, Until: end}), want(func(x Doc) bool { return !x.CreatedAt.Before(at) && x.CreatedAt.Before(end) }); !slices.Equal(g, w) {
				t.Errorf("since %s until %s: %v, want %v", at.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano), g, w)
			}
		}
	}

	inRange := func(v int, lo, hi float64, loIncl, hiIncl bool) bool {
		f := float64(v)
		return (f > lo || loIncl && f == lo) && (f < hi || hiIncl && f == hi)
	}
	inf := math.Inf(1)
	for _, tc := range []struct {
		query          string
		lo, hi         float64
		loIncl, hiIncl bool
		followers      bool
	}{
		{"score:>50", 50, inf, false, false, false},
		{"score:>=50", 50, inf, true, false, false},
		{"score:<16", -inf, 16, false, false, false},
		{"score:<=16", -inf, 16, false, true, false},
		{"score:>=15.5", 15.5, inf, true, false, false},
		{"score:<15.5", -inf, 15.5, false, false, false},
		{"score:>-5", -5, inf, false, false, false},
		{"score:<0", -inf, 0, false, false, false},
		{"score:72", 72, 72, true, true, false},
		{"score:72.5", 72.5, 72.5, true, true, false},
		{"+score:>=16 +score:<=255", 16, 255, true, true, false},
		{"followers:>1000", 1000, inf, false, false, true},
		{"followers:>=1000", 1000, inf, true, false, true},
		{"followers:>1000000.5", 1000000.5, inf, false, false, true},
		{"followers:1099511627776", 1 << 40, 1 << 40, true, true, true},
		{"followers:<65536", -inf, 65536, false, false, true},
	} {
		w := want(func(d Doc) bool {
			v := d.Score
			if tc.followers {
				v = d.Followers
			}
			return inRange(v, tc.lo, tc.hi, tc.loIncl, tc.hiIncl)
		})
		if g := got(Request{Query: tc.query}); !slices.Equal(g, w) {
			t.Errorf("%s: %v, want %v", tc.query, g, w)
		}
	}

	for _, tc := range []struct {
		query string
		keep  func(time.Time) bool
	}{
		{`created_at:>"2026-11-20T09:00:00Z"`, func(at time.Time) bool { return at.After(base) }},
		{`created_at:>="2026-11-20T09:00:00Z"`, func(at time.Time) bool { return !at.Before(base) }},
		{`created_at:<="2026-11-20T09:00:01Z"`, func(at time.Time) bool { return !at.After(base.Add(time.Second)) }},
		{`created_at:<"2026-11-20T09:00:00.5Z"`, func(at time.Time) bool { return at.Before(base.Add(500 * time.Millisecond)) }},
		{`created_at:>"2026-11-20T09:00:00.5Z"`, func(at time.Time) bool { return at.After(base.Add(500 * time.Millisecond)) }},
		{`created_at:<"1970-01-01"`, func(at time.Time) bool { return at.Before(time.Unix(0, 0)) }},
		{`+created_at:>="1969-12-31T23:59:59Z" +created_at:<"1969-12-31T23:59:59.5Z"`, func(at time.Time) bool {
			s := time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)
			return !at.Before(s) && at.Before(s.Add(500*time.Millisecond))
		}},
	} {
		w := want(func(d Doc) bool { return tc.keep(d.CreatedAt) })
		if g := got(Request{Query: tc.query}); !slices.Equal(g, w) {
			t.Errorf("%s: %v, want %v", tc.query, g, w)
		}
	}
}
