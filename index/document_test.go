package index

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	bindex "github.com/blevesearch/bleve_index_api"
	"github.com/blevesearch/segment"

	"github.com/kizuki-dev/kizuki/textnorm"
)

// fieldsOf analyzes a document as scorch would and describes each field:
// name, array positions, options, type, stored value and every term with
// its frequency and locations, sorted.
func fieldsOf(d *document.Document) []string {
	var out []string
	d.VisitFields(func(f bindex.Field) {
		s := fmt.Sprintf("%s%v %s %c", f.Name(), f.ArrayPositions(), f.Options(), f.EncodedFieldType())
		if f.Options().IsStored() {
			s += fmt.Sprintf(" stored=%q", f.Value())
		}
		if f.Options().IsIndexed() {
			f.Analyze()
			s += fmt.Sprintf(" len=%d", f.AnalyzedLength())
			var terms []string
			for k, tf := range f.AnalyzedTokenFrequencies() {
				t := fmt.Sprintf("%q×%d", k, tf.Frequency())
				for _, l := range tf.Locations {
					t += fmt.Sprintf(" %v@%d-%d#%d", l.ArrayPositions, l.Start, l.End, l.Position)
				}
				terms = append(terms, t)
			}
			slices.Sort(terms)
			s += " [" + strings.Join(terms, "; ") + "]"
		}
		out = append(out, s)
	})
	slices.Sort(out)
	return out
}

// TestPreparedDocumentsAreTheMappings holds preparer.document to what
// Bleve's mapping makes of the same record: the same fields, options,
// stored values and terms, with and without the matcher's analysis.
func TestPreparedDocumentsAreTheMappings(t *testing.T) {
	ix, _ := openTest(t, Options{})
	m := ix.b.Mapping().(*mapping.IndexMappingImpl)
	at := time.Date(2026, 3, 1, 9, 30, 15, 123, time.UTC)
	docs := append(synthDocs(200),
		Doc{ID: "x:empty", CreatedAt: at},
		Doc{ID: "x:bad-utf8", Platform: "x", Text: "返金\xffして\xfe ほしい Refunds!", Lang: "ja", CreatedAt: at, Score: -3},
		Doc{ID: "x:kana", Platform: "X", Brand: "Kumo Mobile", Category: "Risky", AuthorHandle: "Someone",
			Text: "ｽﾏﾎ が 使えない…ｸﾓﾓﾊﾞｲﾙ\u200bさん、ログインできません！？ #クモ", Lang: "JA", CreatedAt: at,
			Context: []ContextPost{{ID: "x:1", Text: "どうしたの？"}, {ID: "x:2"}, {ID: "x:3", Text: "ＡＢＣ　ｄｅｆ"}},
			Tagged:  true, InConversation: true, Alert: true, Score: 100, Followers: 1 << 40},
	)
	for _, d := range docs {
		r, err := toRecord(d, true)
		if err != nil {
			t.Fatal(err)
		}
		want := document.NewDocument(r.ID)
		if err := m.MapDocument(want, &r); err != nil {
			t.Fatal(err)
		}
		wantFields := fieldsOf(want)
		if got := fieldsOf(ix.prep.document(&r, nil)); !slices.Equal(got, wantFields) {
			t.Fatalf("doc %s: prepared document differs from the mapping's:\n got  %q\n want %q", d.ID, got, wantFields)
		}
		shared := ja.Analyze(textnorm.Normalize(d.Text).Lower)
		if got := fieldsOf(ix.prep.document(&r, shared)); !slices.Equal(got, wantFields) {
			t.Fatalf("doc %s: prepared document with the matcher's analysis differs from the mapping's:\n got  %q\n want %q", d.ID, got, wantFields)
		}
	}
}

// TestSharedAnalysisSkipsKagome checks that the index takes every Japanese
// run of a post from the matcher's analysis: a tokenizer without an analyzer
// of its own would panic on the first run it had to analyze itself.
func TestSharedAnalysisSkipsKagome(t *testing.T) {
	for _, text := range []string{
		"クモモバイルの回線が繋がらない。返金してほしい！",
		"Kumo Mobileのアプリ、ログインできません😡 サポートに電話しても誰も出ない",
		"ＳＩＭカードが届かないんだけど？？？　ｽﾏﾎ買い替えたばかりなのに",
	} {
		shared := ja.Analyze(textnorm.Normalize(text).Lower)
		want := (&tokenizer{ja: ja}).Tokenize([]byte(text))
		var got []string
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("%q: a run was analyzed again instead of taken from the matcher's analysis (%v)", text, r)
				}
			}()
			for _, tok := range (&tokenizer{shared: shared}).Tokenize([]byte(text)) {
				got = append(got, tok.String())
			}
		}()
		var wantS []string
		for _, tok := range want {
			wantS = append(wantS, tok.String())
		}
		if !slices.Equal(got, wantS) {
			t.Errorf("%q:\n got  %v\n want %v", text, got, wantS)
		}
	}
}

// TestStemCache checks that stems from the cache are the stemmer's, on a
// first pass that fills it and a second that reads it, from several
// goroutines, and that a cached stem is the token's own copy.
func TestStemCache(t *testing.T) {
	words := strings.Fields("refunds refunded refunding connection connections dropped calls calling " +
		"internationalizationsandmoreandmorewords charged charges Charged ログイン 2026 generously")
	stem := en.NewEnglishStemmerFilter()
	l := latinOnly{f: stem, stems: &stemCache{m: map[string]string{}}}
	stream := func() analysis.TokenStream {
		var s analysis.TokenStream
		for _, w := range words {
			typ := analysis.AlphaNumeric
			if w == "ログイン" {
				typ = analysis.Ideographic
			}
			s = append(s, &analysis.Token{Term: []byte(w), Type: typ})
		}
		return s
	}
	want := stream()
	for _, tok := range want {
		if tok.Type == analysis.AlphaNumeric {
			stem.Filter(analysis.TokenStream{tok})
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for pass := range 2 {
				got := l.Filter(stream())
				for i := range want {
					if string(got[i].Term) != string(want[i].Term) {
						t.Errorf("pass %d: %q stems to %q, want %q", pass, words[i], got[i].Term, want[i].Term)
					}
				}
				got[0].Term[0] = 'X' // a token's term is its own
			}
		})
	}
	wg.Wait()
	if len(l.stems.m) == 0 || len(l.stems.m) >= len(words) {
		t.Errorf("cache holds %d words of %d: want the short Latin ones only", len(l.stems.m), len(words))
	}
}

// TestASCIIWords holds the ASCII fast path of word segmentation to the
// segment package, on words people write and on random ASCII.
func TestASCIIWords(t *testing.T) {
	words := func(run []byte, fast bool) []string {
		var out []string
		emit := func(b []byte, s, e int, typ analysis.TokenType) {
			out = append(out, fmt.Sprintf("%q@%d-%d/%d", b, s, e, typ))
		}
		if fast {
			if !asciiWords(run, 3, emit) {
				return nil
			}
		} else {
			seg := segment.NewWordSegmenterDirect(run)
			start := 0
			for seg.Segment() {
				b := seg.Bytes()
				switch seg.Type() {
				case segment.None:
				case segment.Number:
					emit(b, 3+start, 3+start+len(b), analysis.Numeric)
				default:
					emit(b, 3+start, 3+start+len(b), analysis.AlphaNumeric)
				}
				start += len(b)
			}
		}
		return out
	}
	cases := []string{
		"Kumo Mobile dropped my call three times today.", "don't can't won't.", "e.g. a.b.c 1.2.3 1,000,000.50",
		"https://example.com/status?id=1&x=y#top", "@kumo_support #KumoMobile", "a:b 1:2 a;b 1;2 a,b",
		"..a.. 'a' '1' a'1 1'a 1.a a.1 a1.2 1a.b", "\r\n\t x\ny", "", "   ", "!!!", "v2.0-beta (3/4)",
	}
	r := rand.New(rand.NewPCG(3, 4))
	const alphabet = "abZ19 .,;:'\"!?-/#@\n_"
	for range 5000 {
		b := make([]byte, r.IntN(16))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		if strings.Contains(c, "_") {
			continue // left to the segment package, checked below
		}
		got, want := words([]byte(c), true), words([]byte(c), false)
		if !slices.Equal(got, want) {
			t.Fatalf("%q:\n got  %v\n want %v", c, got, want)
		}
	}
	if asciiWords([]byte("snake_case"), 0, func([]byte, int, int, analysis.TokenType) {}) {
		t.Error("a run with _ was not left to the segment package")
	}
}
