package index

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/registry"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// analyzer is the kizuki analyzer outside of any index.
var analyzer = sync.OnceValues(func() (analysis.Analyzer, error) {
	return registry.NewCache().AnalyzerNamed(AnalyzerName)
})

// analyze returns the terms the kizuki analyzer makes of s.
func analyze(t testing.TB, s string) []string {
	t.Helper()
	a, err := analyzer()
	if err != nil {
		t.Fatal(err)
	}
	var terms []string
	for _, tok := range a.Analyze([]byte(s)) {
		terms = append(terms, string(tok.Term))
	}
	return terms
}

// corpus is a small set of posts about two brands, in both languages.
func corpus() []Doc {
	kumo, sora := "Kumo Mobile", "Sora Telecom"
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	return []Doc{
		{ID: "x:1", Platform: "x", Brand: kumo, Category: "risky", Lang: "ja", AuthorHandle: "taro", Score: 80, Followers: 12000, Alert: true,
			Text: "クモモバイルさん、先月の料金が二重に請求されています。返金してほしいです。", CreatedAt: at(1)},
		{ID: "bsky:2", Platform: "bluesky", Brand: kumo, Category: "actionable", Lang: "ja", AuthorHandle: "hanako.bsky.social", Score: 60,
			Text: "アプリでログインできません。パスワードも合ってるのに…", CreatedAt: at(2)},
		{ID: "x:3", Platform: "x", Brand: kumo, Category: "risky", Lang: "ja", AuthorHandle: "jiro", Score: 70,
			Text: "もう解約したい。電波が悪すぎる", CreatedAt: at(3)},
		{ID: "x:4", Platform: "x", Brand: kumo, Category: "positive", Lang: "ja", AuthorHandle: "saburo", Score: 40, Tagged: true,
			Text: "新しいスマホが届いた！クモモバイルの対応は最高", CreatedAt: at(4)},
		{ID: "reddit:5", Platform: "reddit", Brand: kumo, Category: "actionable", Lang: "en", AuthorHandle: "u_waiting", Score: 55,
			Text: "Still waiting on Kumo Mobile refunds after two weeks", CreatedAt: at(5)},
		{ID: "mastodon:6", Platform: "mastodon", Brand: kumo, Category: "positive", Lang: "en", AuthorHandle: "happy@example.social", Score: 30,
			Text: "They refunded me within a day, great support from Kumo", CreatedAt: at(6)},
		{ID: "x:7", Platform: "x", Brand: kumo, Category: "risky", Lang: "en", AuthorHandle: "angry", Score: 75, Followers: 50000, Alert: true,
			Text: "Kumo Mobile dropped my call three times today", CreatedAt: at(7)},
		{ID: "x:8", Platform: "x", Brand: kumo, Category: "none", Lang: "en", AuthorHandle: "calm",
			Text: "my call was dropped again, whatever", CreatedAt: at(8)},
		{ID: "x:9", Platform: "x", Brand: sora, Category: "risky", Lang: "ja", AuthorHandle: "shiro", Score: 65,
			Text: "ソラテレコムの返金の手続きが遅すぎる", CreatedAt: at(9)},
		{ID: "x:10", Platform: "x", Brand: kumo, Category: "actionable", Lang: "ja", AuthorHandle: "goro", Score: 50, InConversation: true,
			Text: "私もです、困ってます",
			Context: []ContextPost{
				{ID: "x:10a", AuthorHandle: "rokuro", Text: "クモモバイルの通信障害ひどい", CreatedAt: at(9)},
				{ID: "x:10b", AuthorHandle: "shichi", Text: "返金してもらえないの？", CreatedAt: at(9).Add(time.Minute)},
			},
			CreatedAt: at(10)},
		{ID: "x:11", Platform: "x", Brand: kumo, Category: "actionable", Lang: "ja", AuthorHandle: "hachi", Score: 45,
			Text: "返金の申請はどこからできますか？", CreatedAt: at(11)},
		{ID: "x:12", Platform: "x", Brand: kumo, Category: "none", Lang: "ja", AuthorHandle: "kyu",
			Text: "リンゴを買った。スマホケースも", CreatedAt: at(12)},
	}
}

func openTest(t testing.TB, opt Options) (*Index, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "index")
	ix, err := Open(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ix.Close() })
	return ix, dir
}

// sharedIndex is the corpus, indexed once for the read-only tests.
var sharedIndex = sync.OnceValues(func() (*Index, error) {
	dir, err := os.MkdirTemp("", "kizuki-index-test")
	if err != nil {
		return nil, err
	}
	ix, err := Open(filepath.Join(dir, "index"), Options{})
	if err != nil {
		return nil, err
	}
	cleanupLater(ix, dir)
	return ix, ix.Index(context.Background(), corpus())
})

// cleanups close and remove the indexes built once for many tests.
var cleanups []func()

func cleanupLater(ix *Index, dir string) {
	cleanups = append(cleanups, func() {
		_ = ix.Close()
		_ = os.RemoveAll(dir)
	})
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range cleanups {
		f()
	}
	os.Exit(code)
}

func corpusIndex(t *testing.T) *Index {
	t.Helper()
	ix, err := sharedIndex()
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func find(t *testing.T, ix *Index, r Request) *Result {
	t.Helper()
	res, err := ix.Search(context.Background(), r)
	if err != nil {
		t.Fatalf("Search(%+v): %v", r, err)
	}
	return res
}

func ids(res *Result) []string {
	out := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		out[i] = h.Doc.ID
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestAnalyzer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []string
	}{
		{"base forms, particles and auxiliaries dropped", "返金してほしい", []string{"返金", "スル", "ホシイ"}},
		{"negative polite form", "ログインできません", []string{"ログイン", "デキル"}},
		{"negative plain form", "ログインできない", []string{"ログイン", "デキル"}},
		{"hiragana folded to katakana", "りんご", []string{"リンゴ"}},
		{"half-width katakana", "ｶﾀｶﾅ", []string{"カタカナ"}},
		{"english stemmed and lower-cased", "Refunds REFUNDED refund", []string{"refund", "refund", "refund"}},
		{"full-width latin folded", "ＫＵＭＯ", []string{"kumo"}},
		{"mixed scripts split", "iPhoneで繋がらない", []string{"iphon", "繋ガル"}},
		{"katakana word alone whatever surrounds it", "新しいスマホが届いた", []string{"新シイ", "スマホ", "届ク"}},
		{"symbols and spaces dropped", "！！ 😡 、。", nil},
		{"zero-width space joins", "kumo\u200bmobile", []string{"kumomobil"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := analyze(t, tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("analyze(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestAnalyzerOffsets checks that every token's offsets point at the text
// it came from in the original (not the normalized) input.
func TestAnalyzerOffsets(t *testing.T) {
	t.Parallel()
	a, err := analyzer()
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{
		"ｸﾓﾓﾊﾞｲﾙで返金してほしい",
		"ＫＵＭＯ　Ｍｏｂｉｌｅ refunds",
		"a\xffbログインできない\xe3\x81",
		"kumo\u200bmobile ❤️ 解約",
	} {
		for _, tok := range a.Analyze([]byte(in)) {
			if tok.Start < 0 || tok.End > len(in) || tok.Start >= tok.End {
				t.Fatalf("%q: token %q has offsets %d..%d", in, tok.Term, tok.Start, tok.End)
			}
			if tok.Type == analysis.Ideographic {
				continue // a base form differs from what was written
			}
			if got := analyze(t, in[tok.Start:tok.End]); len(got) != 1 || got[0] != string(tok.Term) {
				t.Errorf("%q: token %q at %d..%d covers %q", in, tok.Term, tok.Start, tok.End, in[tok.Start:tok.End])
			}
		}
	}
}

func TestSearchFinds(t *testing.T) {
	t.Parallel()
	ix := corpusIndex(t)
	tests := []struct {
		name, query string
		want        []string // exactly these IDs, in any order
	}{
		{"noun finds the verb phrase", "返金", []string{"x:1", "x:9", "x:10", "x:11"}},
		{"negation in another form", "ログインできない", []string{"bsky:2"}},
		{"verb stem", "解約", []string{"x:3"}},
		{"hiragana finds katakana", "りんご", []string{"x:12"}},
		{"hiragana loanword finds katakana", "すまほ", []string{"x:4"}},
		{"katakana word", "スマホ", []string{"x:4"}},
		{"katakana compound", "スマホケース", []string{"x:12"}},
		{"english plural", "refund", []string{"reddit:5", "mastodon:6"}},
		{"english past tense", "refunded", []string{"reddit:5", "mastodon:6"}},
		{"phrase", `"dropped my call"`, []string{"x:7"}},
		{"phrase in japanese", `"ログインできない"`, []string{"bsky:2"}},
		{"context only", "通信障害", []string{"x:10"}},
		{"field text excludes context", "text:返金", []string{"x:1", "x:9", "x:11"}},
		{"field context", "context:返金", []string{"x:10"}},
		{"must and must not", "+返金 -brand:\"Sora Telecom\"", []string{"x:1", "x:10", "x:11"}},
		{"author", "+author:ANGRY", []string{"x:7"}},
		{"boolean", "+alert:true", []string{"x:1", "x:7"}},
		{"number range", "+score:>=70", []string{"x:1", "x:3", "x:7"}},
		{"number", "+followers:50000", []string{"x:7"}},
		{"date range", `+created_at:>"2026-11-20T19:00:00Z"`, []string{"x:11", "x:12"}},
		{"wildcard", "refun*", []string{"reddit:5", "mastodon:6"}},
		{"full-width operators", "＋返金　－ｂｒａｎｄ：\"Sora Telecom\"", []string{"x:1", "x:10", "x:11"}},
		{"hiragana brand name", "くももばいる", []string{"x:1", "x:4", "x:10"}},
		{"only must not", "-返金", []string{"bsky:2", "x:3", "x:4", "reddit:5", "mastodon:6", "x:7", "x:8", "x:12"}},
		{"fuzzy", "refund~1", []string{"reddit:5", "mastodon:6"}},
		// Keyword and boolean fields are terms of one field in the index,
		// and id is Bleve's _id: every form of query on them still works.
		{"keyword wildcard", "+author:*RO", []string{"x:1", "x:3", "x:4", "x:9", "x:10"}},
		{"keyword wildcard is not a prefix of another field", "+author:x*", nil},
		{"keyword regexp", "+author:/[js]hiro|jiro/", []string{"x:3", "x:9"}},
		{"keyword fuzzy", "+author:angri~1", []string{"x:7"}},
		{"keyword fuzzy on the value", "+lang:e~1", []string{"reddit:5", "mastodon:6", "x:7", "x:8"}},
		{"boolean false", "+in_conversation:false +category:actionable", []string{"bsky:2", "reddit:5", "x:11"}},
		{"boolean true", "+tagged:true", []string{"x:4"}},
		{"platform and lang", "+platform:x +lang:EN", []string{"x:7", "x:8"}},
		{"id", `id:"bsky:2"`, []string{"bsky:2"}},
		{"id wildcard", `id:reddit\:*`, []string{"reddit:5"}},
		{"empty matches all", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := find(t, ix, Request{Query: tc.query, Limit: 100})
			if tc.want == nil && tc.query != "" {
				if res.Total != 0 {
					t.Errorf("Search(%q) = %v, want nothing", tc.query, ids(res))
				}
				return
			}
			if tc.want == nil {
				if res.Total != uint64(len(corpus())) {
					t.Errorf("Total = %d, want all %d", res.Total, len(corpus()))
				}
				return
			}
			if got := sorted(ids(res)); !slices.Equal(got, sorted(tc.want)) {
				t.Errorf("Search(%q) = %v, want %v", tc.query, got, sorted(tc.want))
			}
			if res.Total != uint64(len(tc.want)) {
				t.Errorf("Total = %d, want %d", res.Total, len(tc.want))
			}
		})
	}
}

// TestBrandExample is the example of the brief: fielded filters (brand,
// category) are required even without "+", text terms keep Bleve's meaning.
func TestBrandExample(t *testing.T) {
	t.Parallel()
	ix := corpusIndex(t)
	res := find(t, ix, Request{Query: `brand:"Kumo Mobile" +返金 category:risky`, Sort: "best"})
	if got := ids(res); !slices.Equal(got, []string{"x:1"}) {
		t.Fatalf("hits = %v, want only x:1 (Kumo Mobile, risky, 返金)", got)
	}
	// Without +, a brand filter and a word: the brand is still required.
	if got := sorted(ids(find(t, ix, Request{Query: `brand:"Kumo Mobile" 返金`, Limit: 100}))); !slices.Equal(got, sorted([]string{"x:1", "x:10", "x:11"})) {
		t.Errorf(`brand:"Kumo Mobile" 返金 = %v, want the three Kumo Mobile posts with 返金`, got)
	}
	// brand is stored as written and matches in any case.
	for _, q := range []string{`+brand:"Kumo Mobile" +返金 +category:risky`, `+brand:"kumo mobile" +返金 +category:RISKY`} {
		if got := ids(find(t, ix, Request{Query: q})); !slices.Equal(got, []string{"x:1"}) {
			t.Errorf("%s = %v, want [x:1]", q, got)
		}
	}
	if got := res.Hits[0].Doc.Brand; got != "Kumo Mobile" {
		t.Errorf("Brand = %q, want it as written", got)
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	ix := corpusIndex(t)
	tests := []struct {
		name string
		req  Request
		want []string
	}{
		{"brand", Request{Query: "返金", Brand: "kumo MOBILE"}, []string{"x:1", "x:10", "x:11"}},
		{"category", Request{Query: "返金", Category: "risky"}, []string{"x:1", "x:9"}},
		{"platform", Request{Platform: "reddit"}, []string{"reddit:5"}},
		{"lang", Request{Query: "kumo", Lang: "en"}, []string{"reddit:5", "mastodon:6", "x:7"}},
		{"since", Request{Since: t0.Add(11 * time.Hour)}, []string{"x:11", "x:12"}},
		{"until is exclusive", Request{Until: t0.Add(2 * time.Hour)}, []string{"x:1"}},
		{"since and brand", Request{Query: "返金", Brand: "Sora Telecom", Since: t0.Add(5 * time.Hour)}, []string{"x:9"}},
		{"nothing", Request{Brand: "nobody"}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.req.Limit = 100
			if got := sorted(ids(find(t, ix, tc.req))); !slices.Equal(got, sorted(tc.want)) {
				t.Errorf("got %v, want %v", got, sorted(tc.want))
			}
		})
	}
}

func TestFiltersDoNotChangeScores(t *testing.T) {
	t.Parallel()
	ix := corpusIndex(t)
	plain := find(t, ix, Request{Query: "返金", Sort: "best"})
	filtered := find(t, ix, Request{Query: "返金", Sort: "best", Brand: "Kumo Mobile"})
	scores := map[string]float64{}
	for _, h := range plain.Hits {
		scores[h.Doc.ID] = h.Score
	}
	for _, h := range filtered.Hits {
		if h.Score != scores[h.Doc.ID] {
			t.Errorf("%s: score %v with the filter, %v without", h.Doc.ID, h.Score, scores[h.Doc.ID])
		}
	}
}

func TestSort(t *testing.T) {
	t.Parallel()
	ix := corpusIndex(t)
	newest := find(t, ix, Request{Query: "返金"})
	if got := ids(newest); !slices.Equal(got, []string{"x:11", "x:10", "x:9", "x:1"}) {
		t.Errorf("newest = %v, want by created_at descending", got)
	}
	best := find(t, ix, Request{Query: "返金", Sort: "best"})
	for i := 1; i < len(best.Hits); i++ {
		if best.Hits[i].Score > best.Hits[i-1].Score {
			t.Errorf("best: hit %d scores %v above hit %d (%v)", i, best.Hits[i].Score, i-1, best.Hits[i-1].Score)
		}
	}
	if last := best.Hits[len(best.Hits)-1].Doc.ID; last != "x:10" {
		t.Errorf("best: last = %s, want x:10 (返金 only in the thread, which weighs less); order %v", last, ids(best))
	}
	if _, err := ix.Search(context.Background(), Request{Sort: "oldest"}); err == nil {
		t.Error("Sort oldest: no error")
	}
}

func TestPaging(t *testing.T) {
	t.Parallel()
	ix := corpusIndex(t)
	all := ids(find(t, ix, Request{Limit: 100}))
	p1 := find(t, ix, Request{Limit: 5})
	p2 := find(t, ix, Request{Limit: 5, Offset: 5})
	if got := append(ids(p1), ids(p2)...); !slices.Equal(got, all[:10]) {
		t.Errorf("pages = %v, want %v", got, all[:10])
	}
	if p1.Total != uint64(len(all)) {
		t.Errorf("Total = %d, want %d", p1.Total, len(all))
	}
	if n := len(find(t, ix, Request{}).Hits); n != len(all) {
		t.Errorf("default limit gave %d hits", n)
	}
}

func TestHighlight(t *testing.T) {
	t.Parallel()
	ix := corpusIndex(t)
	tests := []struct {
		name   string
		req    Request
		id     string
		field  string
		wantIn string
	}{
		{"japanese noun", Request{Query: "返金"}, "x:11", "text", "[返金]の申請"},
		{"adjacent terms share a mark", Request{Query: "ログインできない"}, "bsky:2", "text", "アプリで[ログインでき]ません"},
		{"english stem", Request{Query: "refund"}, "reddit:5", "text", "Kumo Mobile [refunds] after"},
		{"phrase", Request{Query: `"dropped my call"`}, "x:7", "text", "[dropped] [my] [call]"},
		{"context", Request{Query: "返金"}, "x:10", "context", "[返金]してもらえないの"},
		{"custom markers", Request{Query: "解約", HighlightStart: "\x1b[1m", HighlightEnd: "\x1b[0m"}, "x:3", "text", "もう\x1b[1m解約\x1b[0mしたい"},
		{"original width kept", Request{Query: "kumo"}, "mastodon:6", "text", "support from [Kumo]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.req.Highlight = true
			tc.req.Limit = 100
			res := find(t, ix, tc.req)
			for _, h := range res.Hits {
				if h.Doc.ID != tc.id {
					continue
				}
				for _, f := range h.Fragments[tc.field] {
					if strings.Contains(f, tc.wantIn) {
						return
					}
				}
				t.Fatalf("fragments of %s = %q, want one with %q", tc.id, h.Fragments, tc.wantIn)
			}
			t.Fatalf("%s not found: %v", tc.id, ids(res))
		})
	}
	res := find(t, ix, Request{Query: "返金"})
	if res.Hits[0].Fragments != nil {
		t.Errorf("fragments without Highlight: %v", res.Hits[0].Fragments)
	}
}

func TestDocRoundTrip(t *testing.T) {
	t.Parallel()
	ix := corpusIndex(t)
	want := corpus()[9]
	res := find(t, ix, Request{Query: `id:"x:10"`})
	if len(res.Hits) != 1 {
		t.Fatalf("hits = %v", ids(res))
	}
	got := res.Hits[0].Doc
	if !reflect.DeepEqual(got, want) {
		t.Errorf("doc = %+v\nwant %+v", got, want)
	}
}

func TestReindexReplaces(t *testing.T) {
	t.Parallel()
	ix, _ := openTest(t, Options{BatchSize: 3})
	ctx := context.Background()
	docs := corpus()
	if err := ix.Index(ctx, docs); err != nil {
		t.Fatal(err)
	}
	// A crash-restart indexes the same docs again, one of them changed, and
	// a call may hold the same ID twice, in batches written at once: the
	// last one counts.
	docs[0].Text = "解約します"
	again := docs[1]
	again.Text = "機種変更したい"
	docs = append(docs, again)
	if err := ix.Index(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if n, err := ix.Count(); err != nil || n != uint64(len(corpus())) {
		t.Errorf("Count = %d, %v; want %d", n, err, len(corpus()))
	}
	if got := sorted(ids(find(t, ix, Request{Query: "解約"}))); !slices.Equal(got, []string{"x:1", "x:3"}) {
		t.Errorf("解約 = %v, want the changed doc too", got)
	}
	if got := ids(find(t, ix, Request{Query: "text:請求"})); len(got) != 0 {
		t.Errorf("old text still found: %v", got)
	}
	if got := ids(find(t, ix, Request{Query: "機種変更"})); !slices.Equal(got, []string{"bsky:2"}) {
		t.Errorf("機種変更 = %v, want the last of the doc given twice", got)
	}
	if got := ids(find(t, ix, Request{Query: "ログイン"})); len(got) != 0 {
		t.Errorf("the first of the doc given twice is still found: %v", got)
	}
}

func TestIndexRejects(t *testing.T) {
	t.Parallel()
	ix, _ := openTest(t, Options{})
	for _, d := range []Doc{{Text: "no id", CreatedAt: t0}, {ID: "x:1", Text: "no date"}} {
		err := ix.Index(context.Background(), []Doc{corpus()[0], d})
		if err == nil {
			t.Errorf("Index(%+v): no error", d)
		}
	}
	if n, _ := ix.Count(); n != 0 {
		t.Errorf("Count = %d after rejected calls, want 0", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ix.Index(ctx, corpus()); !errors.Is(err, context.Canceled) {
		t.Errorf("Index with a cancelled context = %v", err)
	}
}

func TestDeleteBefore(t *testing.T) {
	t.Parallel()
	ix, _ := openTest(t, Options{BatchSize: 2})
	ctx := context.Background()
	if err := ix.Index(ctx, corpus()); err != nil {
		t.Fatal(err)
	}
	n, err := ix.DeleteBefore(ctx, t0.Add(6*time.Hour))
	if err != nil || n != 5 {
		t.Fatalf("DeleteBefore = %d, %v; want 5", n, err)
	}
	if c, _ := ix.Count(); c != uint64(len(corpus())-5) {
		t.Errorf("Count = %d, want %d", c, len(corpus())-5)
	}
	res := find(t, ix, Request{Until: t0.Add(6 * time.Hour)})
	if res.Total != 0 {
		t.Errorf("docs before the cut remain: %v", ids(res))
	}
	if got := ids(find(t, ix, Request{Query: "refunded"})); !slices.Equal(got, []string{"mastodon:6"}) {
		t.Errorf("doc at the cut = %v, want kept", got)
	}
	if n, err := ix.DeleteBefore(ctx, t0.Add(6*time.Hour)); err != nil || n != 0 {
		t.Errorf("second DeleteBefore = %d, %v", n, err)
	}
}

func TestBadQueries(t *testing.T) {
	t.Parallel()
	ix := corpusIndex(t)
	tests := []struct {
		query string
		pos   int
		want  []string // in the message
	}{
		{`brand:"unclosed`, 7, []string{"quote at character 7 is never closed", `\"`}},
		{`text:(a`, 6, []string{"character 6", "no parentheses", "+a +b"}},
		{`+`, 1, []string{`"+" at character 1 is not followed by a term`}},
		{`返金 -`, 4, []string{`"-" at character 4`}},
		{`foo:bar`, 1, []string{`no field "foo"`, "brand, category", "created_at"}},
		{`handle:taro`, 1, []string{"did you mean author?"}},
		{`brnd:x`, 1, []string{"did you mean brand?"}},
		{`brand:`, 6, []string{"has no value"}},
		{`:x`, 1, []string{"no field name before it"}},
		{`score:high`, 1, []string{"score is a number", "score:>50"}},
		{`score:>high`, 8, []string{"needs a number"}},
		{`created_at:2026-01-01`, 1, []string{"created_at is a date", `created_at:>="2026-01-01"`}},
		{`created_at:>5`, 1, []string{"created_at is a date"}},
		{`created_at:>"1500-01-01"`, 1, []string{"out of range", "1677-12-01"}},
		{`brand:>5`, 1, []string{"brand is not a number"}},
		{`alert:maybe`, 1, []string{"true or false"}},
		{`refund^x`, 7, []string{"weight"}},
		{`/[/`, 0, []string{"regular expression"}},
		{`id:x:1001`, 5, []string{"colon", `\:`}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			t.Parallel()
			_, err := ix.Search(context.Background(), Request{Query: tc.query})
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("error = %v (%T), want *QueryError", err, err)
			}
			if qe.Query != tc.query || qe.Pos != tc.pos {
				t.Errorf("QueryError{Query: %q, Pos: %d}, want %q at %d", qe.Query, qe.Pos, tc.query, tc.pos)
			}
			for _, w := range tc.want {
				if !strings.Contains(qe.Msg, w) {
					t.Errorf("message %q lacks %q", qe.Msg, w)
				}
			}
			if strings.Contains(qe.Msg, "goroutine") || strings.Contains(qe.Msg, ".go:") {
				t.Errorf("message has a stack trace: %q", qe.Msg)
			}
		})
	}
}

func TestCloseReopenKeepsEveryBatch(t *testing.T) {
	t.Parallel()
	ix, dir := openTest(t, Options{BatchSize: 1000})
	ctx := context.Background()
	const n = 2500 // the last batch is partial and comes right before Close
	docs := synthDocs(n)
	if err := ix.Index(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if c, err := ix.Count(); err != nil || c != n {
		t.Fatalf("Count after reopen = %d, %v; want %d", c, err, n)
	}
	last := docs[n-1]
	res := find(t, ix, Request{Query: fmt.Sprintf("id:%q", last.ID)})
	if len(res.Hits) != 1 || res.Hits[0].Doc.Text != last.Text {
		t.Errorf("last doc after reopen: %v", ids(res))
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"random files", func(t *testing.T, dir string) {
			must(os.MkdirAll(dir, 0o755))
			must(os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o644))
			must(os.WriteFile(filepath.Join(dir, "root.bolt"), []byte("\x00\x01garbage"), 0o644))
		}, "no index_meta.json"},
		{"a file", func(t *testing.T, dir string) {
			must(os.WriteFile(dir, []byte("not a dir"), 0o644))
		}, "is a file, not a directory"},
		{"garbage meta", func(t *testing.T, dir string) {
			must(os.MkdirAll(dir, 0o755))
			must(os.WriteFile(filepath.Join(dir, "index_meta.json"), []byte("{{{{"), 0o644))
		}, "cannot be read"},
		{"foreign bleve index", func(t *testing.T, dir string) {
			b, err := bleve.New(dir, bleve.NewIndexMapping())
			must(err)
			must(b.Index("1", map[string]any{"a": "b"}))
			must(b.Close())
		}, "did not write"},
		{"other version", func(t *testing.T, dir string) {
			ix, err := Open(dir, Options{})
			must(err)
			must(ix.b.SetInternal([]byte(versionKey), []byte("0")))
			must(ix.Close())
		}, `format "0"`},
	}
	zap := func(name string) bool { return strings.HasSuffix(name, ".zap") }
	root := func(name string) bool { return name == "root.bolt" }
	all := func(string) bool { return true }
	for _, c := range []struct {
		name string
		pick func(string) bool
	}{{"segments", zap}, {"root.bolt", root}, {"every file", all}} {
		for _, keep := range []float64{0, 0.01, 0.5, 0.99} {
			tests = append(tests, struct {
				name  string
				setup func(t *testing.T, dir string)
				want  string
			}{fmt.Sprintf("%s truncated to %.0f%%", c.name, keep*100), func(t *testing.T, dir string) {
				buildAndTruncate(t, dir, c.pick, keep)
			}, ""})
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "index")
			tc.setup(t, dir)
			type opened struct {
				n   uint64
				err error
			}
			done := make(chan opened, 1)
			go func() {
				ix, err := Open(dir, Options{LockTimeout: time.Second})
				if err != nil {
					done <- opened{0, err}
					return
				}
				n, err := ix.Count()
				_ = ix.Close()
				done <- opened{n, err}
			}()
			var o opened
			select {
			case o = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Open hangs")
			}
			if tc.want == "" && o.err == nil {
				// A cut that spares every page in use loses nothing.
				if o.n != uint64(len(corpus())) {
					t.Fatalf("Open succeeded with %d docs of %d: data lost silently", o.n, len(corpus()))
				}
				return
			}
			err := o.err
			if !errors.Is(err, ErrNotIndex) {
				t.Fatalf("Open = %v, want ErrNotIndex", err)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q lacks %q or the path", err, tc.want)
			}
		})
	}
}

// buildAndTruncate writes an index in dir, closes it and cuts the files
// chosen by pick to the fraction keep of their size. Open must then refuse
// the index, or open it whole: never panic, hang or lose docs silently.
func buildAndTruncate(t *testing.T, dir string, pick func(name string) bool, keep float64) {
	t.Helper()
	ix, err := Open(dir, Options{BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Index(context.Background(), corpus()); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	cut := 0
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !pick(d.Name()) {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		cut++
		return os.Truncate(path, int64(float64(fi.Size())*keep))
	})
	if err != nil || cut == 0 {
		t.Fatalf("truncated %d files: %v", cut, err)
	}
}

func TestOpenEmptyDirAndLocked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() // exists, empty
	ix, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open(empty dir) = %v", err)
	}
	defer ix.Close()
	start := time.Now()
	_, err = Open(dir, Options{LockTimeout: 200 * time.Millisecond})
	if err == nil || errors.Is(err, ErrNotIndex) || !strings.Contains(err.Error(), "another process") {
		t.Errorf("second Open = %v, want a lock error", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("second Open took %v", time.Since(start))
	}
}

func TestConcurrentIndexAndSearch(t *testing.T) {
	t.Parallel()
	ix, _ := openTest(t, Options{BatchSize: 100})
	ctx := context.Background()
	docs := synthDocs(1000)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 2 {
		wg.Go(func() {
			for i := w * 500; i < (w+1)*500; i += 100 {
				if err := ix.Index(ctx, docs[i:i+100]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 20 {
				if _, err := ix.Search(ctx, Request{Query: "返金 refund", Highlight: true}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, err := ix.Count(); err != nil || n != 1000 {
		t.Errorf("Count = %d, %v; want 1000", n, err)
	}
}
