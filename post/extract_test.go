package post

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// ent is a compact expected entity: kind and text[Start:End].
type ent struct {
	kind EntityKind
	span string
}

func TestEntities(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []ent
	}{
		{"empty", "", nil},
		{"plain", "no entities here.", nil},
		{"all kinds", "@nike see https://nike.com/sale #JustDoIt or mail info@nike.com",
			[]ent{{EntityMention, "@nike"}, {EntityURL, "https://nike.com/sale"}, {EntityHashtag, "#JustDoIt"}, {EntityEmail, "info@nike.com"}}},

		// URLs
		{"scheme, port, query", "HTTPS://Example.COM:8080/x?y=1&z=2. next",
			[]ent{{EntityURL, "HTTPS://Example.COM:8080/x?y=1&z=2"}}},
		{"bare domains", "Visit nike.com, www.nike.co.jp/sale. or bit.ly/abc and t.co",
			[]ent{{EntityURL, "nike.com"}, {EntityURL, "www.nike.co.jp/sale"}, {EntityURL, "bit.ly/abc"}, {EntityURL, "t.co"}}},
		// twitter-text: bare name.cc without a path is taken for a typo.
		{"bare ccTLD without path", "I like nike.It a lot, nike.it/x", []ent{{EntityURL, "nike.it/x"}}},
		{"not domains", "e.g. i.e. Mr.Smith U.S.A. v1.2.3 file.unknown 3.14", nil},
		{"balanced parens", "see (https://en.wikipedia.org/wiki/Nike_(mythology)) ok",
			[]ent{{EntityURL, "https://en.wikipedia.org/wiki/Nike_(mythology)"}}},
		{"trailing punctuation", "go to https://example.com/foo). or http://ok.com?",
			[]ent{{EntityURL, "https://example.com/foo"}, {EntityURL, "http://ok.com"}}},
		{"no host", "http://localhost http://1.2.3.4/ https://-bad.com http://", nil},
		{"hashtag and mention inside URLs", "https://medium.com/@nike/story#frag twitter.com/#tag",
			[]ent{{EntityURL, "https://medium.com/@nike/story#frag"}, {EntityURL, "twitter.com/#tag"}}},
		{"not after @ or #", "@nike.com #nike.com", []ent{{EntityMention, "@nike"}, {EntityHashtag, "#nike"}}},
		{"not after a path", "a/b.com x_y.com", nil},

		// e-mail addresses
		{"emails", "mail foo.bar+x@example.org. or a-@nike.com, x@y.zz",
			[]ent{{EntityEmail, "foo.bar+x@example.org"}, {EntityEmail, "a-@nike.com"}, {EntityEmail, "x@y.zz"}}},
		{"not emails", "a@b.c a@b a@-b.com a@b..com", nil},
		// twitter-text already refuses "@test" before "@"; the address wins.
		{"mention inside email", "@username email me @test@example.com",
			[]ent{{EntityMention, "@username"}, {EntityEmail, "test@example.com"}}},
		{"no local part", "+@nike.com", []ent{{EntityMention, "@nike"}}},

		// Japanese text: no spaces around entities.
		{"japanese", "詳しくはhttps://example.jp/campaign/2024をご覧ください #キャンペーン中 @nike_jpまで",
			[]ent{{EntityURL, "https://example.jp/campaign/2024"}, {EntityHashtag, "#キャンペーン中"}, {EntityMention, "@nike_jp"}}},
		{"japanese bare domain and email", "公式はnike.comへ。連絡はsupport@nike.co.jpまで。",
			[]ent{{EntityURL, "nike.com"}, {EntityEmail, "support@nike.co.jp"}}},
		{"japanese scheme URL cut at script change", "http://example.comです",
			[]ent{{EntityURL, "http://example.com"}}},
		{"IDN host", "http://例え.テスト/パス", []ent{{EntityURL, "http://例え.テスト/"}}},
		{"japanese punctuation", "新作、#エアマックス。@nike、#新作！", []ent{{EntityHashtag, "#エアマックス"}, {EntityMention, "@nike"}, {EntityHashtag, "#新作"}}},
		{"hashtag needs a boundary", "日本語#ハッシュタグ", nil},

		// Full-width marks.
		{"full-width", "＠nike ＃ナイキ ＃ｎｉｋｅ！", []ent{{EntityMention, "＠nike"}, {EntityHashtag, "＃ナイキ"}, {EntityHashtag, "＃ｎｉｋｅ"}}},
		{"full-width at needs ASCII name", "＠ナイキ", nil},

		// Mentions.
		{"long name keeps first 20", "@aaaaaaaaaaaaaaaaaaaaaaaaa", []ent{{EntityMention, "@aaaaaaaaaaaaaaaaaaaa"}}},
		{"lists are not mentions", "@nike/running-club and @nike/7x", []ent{{EntityMention, "@nike"}}},
		{"double at", "@@nike", nil},
		{"RT", "RT@nike xRT@adidas", []ent{{EntityMention, "@nike"}}},
		{"keycap is no hashtag", "#️⃣ #\u20e3", nil},
		{"HTML entity", "&#39;quoted", nil},
		{"invalid UTF-8", "\xff@nike\xfe#tag\xc3", []ent{{EntityMention, "@nike"}, {EntityHashtag, "#tag"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []ent
			for _, e := range Entities(tt.text) {
				got = append(got, ent{e.Kind, tt.text[e.Start:e.End]})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Entities(%q)\n got %q\nwant %q", tt.text, got, tt.want)
			}
			checkEntities(t, tt.text, Entities(tt.text))
		})
	}
}

func TestExtractors(t *testing.T) {
	text := "RT @Nike_JP: #ナイキ #JustDoIt https://x.com/#nope @adidas@example.com ＠Puma"
	if got, want := ExtractMentions(text), []string{"Nike_JP", "Puma"}; !slices.Equal(got, want) {
		t.Errorf("ExtractMentions = %q, want %q", got, want)
	}
	if got, want := ExtractHashtags(text), []string{"ナイキ", "JustDoIt"}; !slices.Equal(got, want) {
		t.Errorf("ExtractHashtags = %q, want %q", got, want)
	}
	if got := ExtractMentions("no mentions"); got != nil {
		t.Errorf("ExtractMentions = %q, want nil", got)
	}
}

func TestExtractReplyTo(t *testing.T) {
	tests := map[string]string{
		"@nike thanks":         "nike",
		"\n\t　@nike":           "nike",
		"\u200f@nike":          "nike", // RTL mark before the reply
		"＠nike ありがとう":          "nike",
		"@nike/list is a list": "nike",
		"thanks @nike":         "",
		"@nike@example.com":    "",
		"@ nike":               "",
		"":                     "",
		"@":                    "",
		"\xff@nike":            "",
	}
	for text, want := range tests {
		if got := ExtractReplyTo(text); got != want {
			t.Errorf("ExtractReplyTo(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestOrExtract(t *testing.T) {
	p := &Post{Text: "@a #b"}
	if got := p.MentionsOrExtract(); !slices.Equal(got, []string{"a"}) {
		t.Errorf("MentionsOrExtract = %q", got)
	}
	if got := p.HashtagsOrExtract(); !slices.Equal(got, []string{"b"}) {
		t.Errorf("HashtagsOrExtract = %q", got)
	}
	// Non-nil (even empty) platform values win over the text.
	p.Mentions, p.Hashtags = []string{}, []string{"x"}
	if got := p.MentionsOrExtract(); got == nil || len(got) != 0 {
		t.Errorf("MentionsOrExtract = %#v, want empty non-nil", got)
	}
	if got := p.HashtagsOrExtract(); !slices.Equal(got, []string{"x"}) {
		t.Errorf("HashtagsOrExtract = %q", got)
	}
	var nilPost *Post
	if nilPost.MentionsOrExtract() != nil || nilPost.HashtagsOrExtract() != nil {
		t.Error("nil post should give nil")
	}
}

// TestHugeInputs guards against quadratic scans: each input is 1 MiB of a
// pattern that makes a naive backtracking or re-scanning extractor slow.
func TestHugeInputs(t *testing.T) {
	const size = 1 << 20
	patterns := []string{
		"a", "@", "#", "@a", "#a", "a@", "a.", "ab.", "a@b.", "http://", "http://a.", "http://abで.",
		"x/", "(", ")", "é", "\xff", "＠", "＃", "RT", "-@a", "ab.cd@", "a.b.com/",
	}
	for _, p := range patterns {
		text := strings.Repeat(p, size/len(p))
		checkEntities(t, text, Entities(text))
		ExtractReplyTo(text)
	}
	text := "http://example.com/" + strings.Repeat(")", size)
	if es := Entities(text); len(es) != 1 || es[0].Text != "http://example.com/" {
		t.Errorf("trailing parens: got %d entities", len(es))
	}
}

func FuzzEntities(f *testing.F) {
	for _, s := range []string{
		"", "@nike #ナイキ https://nike.com/x?y=1 info@nike.com", "＠a ＃b", "RT:@a", "#️⃣", "a@b.co@c",
		"http://例え.テスト/パス", "(http://a.com/(b))", "\xff@a\xfe#b", "f!@kn", "@a/b-@c", "#a#b", "x.y.zz/@a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkEntities(t, text, Entities(text))
		if r := ExtractReplyTo(text); r != "" && !validScreenName(r) {
			t.Errorf("ExtractReplyTo(%q) = %q", text, r)
		}
		if got, want := len(ExtractMentions(text))+len(ExtractHashtags(text)), countKinds(text, EntityMention, EntityHashtag); got != want {
			t.Errorf("extractors disagree with Entities: %d vs %d", got, want)
		}
	})
}

func countKinds(text string, kinds ...EntityKind) int {
	n := 0
	for _, e := range Entities(text) {
		if slices.Contains(kinds, e.Kind) {
			n++
		}
	}
	return n
}

func validScreenName(s string) bool {
	if len(s) < 1 || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isScreenNameByte(s[i]) {
			return false
		}
	}
	return true
}

// checkEntities asserts the invariants of Entities' result.
func checkEntities(t *testing.T, text string, es []Entity) {
	t.Helper()
	end := 0
	for _, e := range es {
		if e.Start < end || e.End <= e.Start || e.End > len(text) {
			t.Fatalf("entity %+v out of order or range (previous end %d, len %d)", e, end, len(text))
		}
		end = e.End
		span := text[e.Start:e.End]
		switch e.Kind {
		case EntityMention:
			if !validScreenName(e.Text) || (span != "@"+e.Text && span != "＠"+e.Text) {
				t.Errorf("bad mention %+v, span %q", e, span)
			}
		case EntityHashtag:
			if e.Text == "" || !utf8.ValidString(e.Text) || (span != "#"+e.Text && span != "＃"+e.Text) {
				t.Errorf("bad hashtag %+v, span %q", e, span)
			}
		case EntityURL:
			if span != e.Text || !utf8.ValidString(e.Text) || !strings.Contains(e.Text, ".") {
				t.Errorf("bad URL %+v, span %q", e, span)
			}
		case EntityEmail:
			if span != e.Text || strings.Count(e.Text, "@") != 1 || !strings.Contains(e.Text[strings.IndexByte(e.Text, '@'):], ".") {
				t.Errorf("bad email %+v, span %q", e, span)
			}
		default:
			t.Errorf("unknown kind %+v", e)
		}
	}
}

// The twitter-text conformance suite lives outside the repository (see
// shared/conformance/README.md); it is found by walking up from the package
// directory so the test works from any checkout layout.
const conformanceFile = "shared/conformance/twitter-text-extract.yml"

type conformanceCase struct {
	Description string    `yaml:"description"`
	Text        string    `yaml:"text"`
	Expected    yaml.Node `yaml:"expected"`
}

func loadConformance(tb testing.TB) map[string][]conformanceCase {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		path := filepath.Join(dir, conformanceFile)
		if data, err := os.ReadFile(path); err == nil {
			var doc struct {
				Tests map[string][]conformanceCase `yaml:"tests"`
			}
			if err := yaml.Unmarshal(data, &doc); err != nil {
				tb.Fatalf("%s: %v", path, err)
			}
			return doc.Tests
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skipf("%s not found above the working directory", conformanceFile)
		}
		dir = parent
	}
}

// indexed is an expected entity of a *_with_indices case. The suite counts
// in code points, Extract* in bytes.
type indexed struct {
	ScreenName string `yaml:"screen_name"`
	ListSlug   string `yaml:"list_slug"`
	Hashtag    string `yaml:"hashtag"`
	Indices    []int  `yaml:"indices"`
}

func decodeExpected[T any](t *testing.T, n *yaml.Node) T {
	t.Helper()
	var v T
	if err := n.Decode(&v); err != nil {
		t.Fatalf("bad expected value: %v", err)
	}
	return v
}

// codePoints converts byte offsets into text to code point offsets.
func codePoints(text string, start, end int) [2]int {
	return [2]int{utf8.RuneCountInString(text[:start]), utf8.RuneCountInString(text[:end])}
}

func entitiesOf(text string, kind EntityKind) []Entity {
	var out []Entity
	for _, e := range Entities(text) {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func TestTwitterTextConformance(t *testing.T) {
	suite := loadConformance(t)
	sections := map[string]func(t *testing.T, c conformanceCase){
		"mentions": func(t *testing.T, c conformanceCase) {
			checkStrings(t, c.Text, ExtractMentions(c.Text), decodeExpected[[]string](t, &c.Expected))
		},
		"hashtags": func(t *testing.T, c conformanceCase) {
			checkStrings(t, c.Text, ExtractHashtags(c.Text), decodeExpected[[]string](t, &c.Expected))
		},
		"hashtags_from_astral": func(t *testing.T, c conformanceCase) {
			checkStrings(t, c.Text, ExtractHashtags(c.Text), decodeExpected[[]string](t, &c.Expected))
		},
		"replies": func(t *testing.T, c conformanceCase) {
			want := ""
			if c.Expected.Tag != "!!null" {
				want = decodeExpected[string](t, &c.Expected)
			}
			if got := ExtractReplyTo(c.Text); got != want {
				t.Errorf("ExtractReplyTo(%q) = %q, want %q", c.Text, got, want)
			}
		},
		"mentions_with_indices": func(t *testing.T, c conformanceCase) {
			checkIndexed(t, c.Text, entitiesOf(c.Text, EntityMention), decodeExpected[[]indexed](t, &c.Expected), false)
		},
		"hashtags_with_indices": func(t *testing.T, c conformanceCase) {
			checkIndexed(t, c.Text, entitiesOf(c.Text, EntityHashtag), decodeExpected[[]indexed](t, &c.Expected), true)
		},
		// Not required, but it pins down our reading of lists: "@user/list"
		// is no mention at all, "@user/7list" is a mention of user.
		"mentions_or_lists_with_indices": func(t *testing.T, c conformanceCase) {
			var want []indexed
			for _, w := range decodeExpected[[]indexed](t, &c.Expected) {
				if w.ListSlug == "" {
					want = append(want, w)
				}
			}
			checkIndexed(t, c.Text, entitiesOf(c.Text, EntityMention), want, false)
		},
	}
	names := make([]string, 0, len(sections))
	for name := range sections {
		names = append(names, name)
	}
	slices.Sort(names)
	total := 0
	for _, name := range names {
		cases, ok := suite[name]
		if !ok || len(cases) == 0 {
			t.Errorf("section %s missing from the suite", name)
			continue
		}
		total += len(cases)
		run := sections[name]
		t.Run(name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.Description, func(t *testing.T) { run(t, c) })
			}
		})
	}
	t.Logf("%d conformance cases in %d sections", total, len(names))
}

func checkStrings(t *testing.T, text string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Errorf("text %q: got %q, want %q", text, got, want)
	}
}

func checkIndexed(t *testing.T, text string, got []Entity, want []indexed, hashtag bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("text %q: got %d entities %+v, want %+v", text, len(got), got, want)
	}
	for i, w := range want {
		name := w.ScreenName
		if hashtag {
			name = w.Hashtag
		}
		g := got[i]
		if g.Text != name {
			t.Errorf("text %q entity %d: text %q, want %q", text, i, g.Text, name)
		}
		if len(w.Indices) != 2 {
			t.Fatalf("bad indices %v", w.Indices)
		}
		if cp := codePoints(text, g.Start, g.End); cp != [2]int{w.Indices[0], w.Indices[1]} {
			t.Errorf("text %q entity %q: code point indices %v, want %v", text, g.Text, cp, w.Indices)
		}
	}
}
