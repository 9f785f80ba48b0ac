package matcher

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/textnorm"
)

// Synthetic but deterministic corpus: pseudo-words for brand keywords,
// posts of ~140 characters, half English and half Japanese, with real
// signal words and ~5% mentioning one of the brands.
var (
	enFiller = strings.Fields("the my phone today again app and it was is so this just at home after work why does new plan bill store line call data i have been waiting for hours really please help anyone know how to fix still no signal since morning love great thanks")
	jaFiller = []string{"今日", "また", "スマホ", "アプリ", "が", "の", "を", "に", "は", "電話", "料金", "プラン", "昨日", "から", "ずっと", "圏外", "最高", "ありがとう", "困る", "です", "ます", "けど", "本当に", "、", "。", "！", "届いた", "店舗", "データ", "通信"}
	kana     = []rune("アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン")
)

func pseudoWord(r *rand.Rand, ja bool) string {
	var b strings.Builder
	if ja {
		for range 3 + r.IntN(4) {
			b.WriteRune(kana[r.IntN(len(kana))])
		}
		return b.String()
	}
	for range 5 + r.IntN(5) {
		b.WriteByte(byte('a' + r.IntN(26)))
	}
	return b.String()
}

type corpus struct {
	set   *rules.Set
	posts []post.Post
	kws   [][]string // per rule, normalized, for the naive baseline
}

func makeCorpus(tb testing.TB, nRules, nPosts int) corpus {
	tb.Helper()
	r := rand.New(rand.NewPCG(1, uint64(nRules)))
	set, err := rules.LoadFS(rules.Builtin(), nil, rules.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	var c corpus
	for i := range nRules {
		kw := []string{pseudoWord(r, false) + " " + pseudoWord(r, false), pseudoWord(r, false), pseudoWord(r, true), pseudoWord(r, true), pseudoWord(r, false)}
		set.Rules = append(set.Rules, &rules.Rule{
			Brand: fmt.Sprintf("brand-%d", i), Keywords: kw, Handles: []string{fmt.Sprintf("brand%d", i)},
			MatchIn: rules.Places, Signals: set.Pack.Signals, Thresholds: rules.DefaultThresholds,
		})
		norm := make([]string, len(kw))
		for j, k := range kw {
			norm[j] = textnorm.String(k)
		}
		c.kws = append(c.kws, norm)
	}
	c.set = set
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for i := range nPosts {
		ja := i%2 == 1
		var b strings.Builder
		for b.Len() < 140*(map[bool]int{false: 1, true: 2}[ja]) {
			if ja {
				b.WriteString(jaFiller[r.IntN(len(jaFiller))])
			} else {
				b.WriteString(enFiller[r.IntN(len(enFiller))])
				b.WriteByte(' ')
			}
		}
		text := b.String()
		if r.IntN(20) == 0 {
			rule := set.Rules[r.IntN(nRules)]
			text = rule.Keywords[r.IntN(len(rule.Keywords))] + " " + text
		}
		lang := "en"
		if ja {
			lang = "ja"
		}
		c.posts = append(c.posts, post.Post{ID: fmt.Sprintf("x:%d", i), Platform: "x", Text: text, Lang: lang, CreatedAt: at,
			Author: post.Author{Handle: fmt.Sprintf("u%d", i), Followers: r.IntN(5000)}})
	}
	return c
}

// BenchmarkDecide measures posts per second on one core, without Japanese
// morphology (reported separately by BenchmarkDecideWithMorphology).
func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		c := makeCorpus(b, n, 4096)
		m, err := Compile(c.set, Config{NoMorphology: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_ = m.Decide(&c.posts[i%len(c.posts)])
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
		})
	}
}

// BenchmarkNaive is the baseline: every keyword of every rule looked for
// with strings.Contains in the normalized text.
func BenchmarkNaive(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		c := makeCorpus(b, n, 4096)
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i, hits := 0, 0
			for b.Loop() {
				text := textnorm.String(c.posts[i%len(c.posts)].Text)
				for _, kws := range c.kws {
					for _, k := range kws {
						if strings.Contains(text, k) {
							hits++
						}
					}
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
			_ = hits
		})
	}
}

// BenchmarkDecideWithMorphology includes kagome for Japanese candidates
// (every post is a candidate here: the worst case).
func BenchmarkDecideWithMorphology(b *testing.B) {
	c := makeCorpus(b, 100, 2048)
	for i := range c.posts {
		c.posts[i].Text = c.set.Rules[i%100].Keywords[0] + " " + c.posts[i].Text
	}
	m, err := Compile(c.set, Config{})
	if err != nil {
		b.Fatal(err)
	}
	m.Decide(&c.posts[1]) // load the dictionary outside the timing
	b.ResetTimer()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = m.Decide(&c.posts[i%len(c.posts)])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
}

func TestSyntheticCorpusFindsBrands(t *testing.T) {
	c := makeCorpus(t, 100, 400)
	m, err := Compile(c.set, Config{NoMorphology: true})
	if err != nil {
		t.Fatal(err)
	}
	relevant := 0
	for i := range c.posts {
		if m.Decide(&c.posts[i]).Relevant {
			relevant++
		}
	}
	// ~5% of posts carry a keyword; pseudo-words may also hit by chance.
	if relevant < 5 || relevant > 60 {
		t.Fatalf("%d of %d synthetic posts relevant, want about 20", relevant, len(c.posts))
	}
}
