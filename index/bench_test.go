package index

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// synthDocs makes n posts deterministically: half Japanese, half English,
// 100–300 characters each, most with a thread of up to three posts before.
func synthDocs(n int) []Doc {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	jaSubjects := []string{"クモモバイル", "ソラテレコム", "アプリ", "スマホ", "電波", "料金", "サポート", "回線", "通信速度", "プラン", "請求書", "店舗の対応", "機種変更", "SIMカード", "テザリング", "新しいiPhone"}
	jaParticles := []string{"が", "は", "も", "の", "って"}
	jaPredicates := []string{"繋がらない", "遅すぎる", "高すぎると思う", "使えないんだけど", "最高です", "届かない", "よく分からない", "困っています", "返金してほしい", "解約したい", "ログインできません", "本当に助かりました", "ありがとうございます", "改善してほしいです", "また障害ですか", "問い合わせても返事がない", "二重に請求されていました", "安くて満足してる"}
	jaOpeners := []string{"今日", "昨日から", "ずっと", "また", "やっと", "朝から", "夜になると", "先月から", "さっき", ""}
	jaEnds := []string{"。", "！", "…", "😡", "🙏", "w", "？", "。。。"}
	enSubjects := []string{"Kumo Mobile", "my phone", "the app", "support", "the bill", "my data plan", "coverage downtown", "the store", "Sora Telecom", "customer service"}
	enPredicates := []string{"keeps dropping calls", "charged me twice this month", "is down again", "refunded me quickly", "won't let me log in", "is amazing, thanks", "is painfully slow today", "never answers tickets", "wants me to cancel and resubscribe", "dropped my call again", "finally fixed the outage", "asked for a refund last week"}
	enExtras := []string{"@kumo_support", "#kumomobile", "https://example.com/status", "ugh", "lol", "seriously?", "any ideas?", "!!"}
	brands := []string{"Kumo Mobile", "Kumo Mobile", "Kumo Mobile", "Sora Telecom", "Sora Telecom", ""}
	categories := []string{"actionable", "risky", "positive", "none"}
	platforms := []string{"x", "bluesky", "mastodon", "reddit", "hackernews"}
	// About one post in 200 has one of these: what an operator looks for.
	rareJa := []string{"eSIMの開通ができない", "ポイント還元が反映されない", "海外ローミングが高額すぎる", "機種代金の分割が終わらない"}
	rareEn := []string{"eSIM activation failed", "roaming charges are outrageous", "the loyalty points vanished", "number porting is stuck"}

	text := func(ja bool, minRunes, maxRunes int) string {
		target := minRunes + rng.IntN(maxRunes-minRunes+1)
		var b strings.Builder
		for n := 0; n < target; n = len([]rune(b.String())) {
			if ja {
				b.WriteString(pick(jaOpeners) + pick(jaSubjects) + pick(jaParticles) + pick(jaPredicates) + pick(jaEnds))
			} else {
				if b.Len() > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(pick(enSubjects) + " " + pick(enPredicates))
				if rng.IntN(3) == 0 {
					b.WriteString(" " + pick(enExtras))
				}
				b.WriteByte('.')
			}
		}
		if rng.IntN(200) == 0 {
			if ja {
				b.WriteString(pick(rareJa) + "。")
			} else {
				b.WriteString(" " + pick(rareEn) + ".")
			}
		}
		r := []rune(b.String())
		if rng.IntN(2) == 0 {
			return string(r[:min(len(r), maxRunes)])
		}
		return string(r[max(0, len(r)-maxRunes):]) // keep the end: the rare sentence too
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	docs := make([]Doc, n)
	for i := range docs {
		ja := i%2 == 0
		lang := "en"
		if ja {
			lang = "ja"
		}
		at := base.Add(time.Duration(i) * time.Minute)
		d := Doc{
			ID:           fmt.Sprintf("%s:%d", platforms[i%len(platforms)], 1000000+i),
			Platform:     platforms[i%len(platforms)],
			URL:          fmt.Sprintf("https://example.com/p/%d", i),
			Brand:        pick(brands),
			Category:     pick(categories),
			AuthorHandle: fmt.Sprintf("user%d", rng.IntN(5000)),
			AuthorName:   "Someone",
			Lang:         lang,
			Text:         text(ja, 100, 300),
			Score:        rng.IntN(101),
			Followers:    rng.IntN(100000),
			Alert:        rng.IntN(4) == 0,
			Tagged:       rng.IntN(5) == 0,
			CreatedAt:    at,
		}
		for range rng.IntN(4) {
			d.Context = append(d.Context, ContextPost{
				ID: fmt.Sprintf("x:%d", rng.Int64()), AuthorHandle: fmt.Sprintf("user%d", rng.IntN(5000)),
				Text: text(ja, 30, 120), CreatedAt: at.Add(-time.Hour),
			})
		}
		docs[i] = d
	}
	return docs
}

// cpuTime is the CPU time, user and system, the process has used so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func dirSize(t testing.TB, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		n += fi.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// BenchmarkIndex indexes b.N synthetic docs into a new index, in calls of
// one batch each, and reports docs/s and the bytes on disk per doc after
// Close. Run with e.g. -benchtime=20000x for a stable figure.
func BenchmarkIndex(b *testing.B) {
	ja.Preload()
	docs := synthDocs(b.N)
	text := 0
	for _, d := range docs {
		text += len(d.Text)
		for _, c := range d.Context {
			text += len(c.Text)
		}
	}
	dir := filepath.Join(b.TempDir(), "index")
	ix, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	start := time.Now()
	for chunk := range slices.Chunk(docs, defaultBatch) {
		if err := ix.Index(ctx, chunk); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if err := ix.Close(); err != nil {
		b.Fatal(err)
	}
	// CPU time, merges up to Close included: on a shared machine it varies
	// far less than docs/s.
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/doc")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "docs/s")
	b.ReportMetric(float64(dirSize(b, dir))/float64(b.N), "disk-B/doc")
	b.ReportMetric(float64(text)/float64(b.N), "text-B/doc")
}

const benchDocs = 20000

// benchIndex is a 20k-doc index built once for BenchmarkSearch.
var benchIndex = sync.OnceValues(func() (*Index, error) {
	dir, err := os.MkdirTemp("", "kizuki-index-bench")
	if err != nil {
		return nil, err
	}
	ix, err := Open(filepath.Join(dir, "index"), Options{})
	if err != nil {
		return nil, err
	}
	if err := ix.Index(context.Background(), synthDocs(benchDocs)); err != nil {
		return nil, err
	}
	// Reopen, as a daemon restart would: search the index as it is on disk.
	if err := ix.Close(); err != nil {
		return nil, err
	}
	if ix, err = Open(filepath.Join(dir, "index"), Options{}); err != nil {
		return nil, err
	}
	cleanupLater(ix, dir)
	return ix, nil
})

// BenchmarkSearch runs queries of each kind against a 20k-doc index,
// rotating through varied terms, and reports the latency percentiles of
// single Search calls (top 20, newest first, no highlighting).
func BenchmarkSearch(b *testing.B) {
	ix, err := benchIndex()
	if err != nil {
		b.Fatal(err)
	}
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(benchDocs * time.Minute * 9 / 10)
	cases := []struct {
		name string
		reqs []Request
	}{
		{"rare-term", []Request{{Query: "ローミング"}, {Query: "roaming"}, {Query: "esim"}, {Query: "ポイント還元"}, {Query: "porting"}}},
		{"term", []Request{{Query: "返金"}, {Query: "解約"}, {Query: "refund"}, {Query: "outage"}, {Query: "テザリング"}, {Query: "coverage"}}},
		{"phrase", []Request{{Query: `"dropped my call"`}, {Query: "ログインできない"}, {Query: `"charged me twice"`}, {Query: "二重に請求"}}},
		{"filtered", []Request{
			{Query: "返金", Brand: "Kumo Mobile", Since: since},
			{Query: "refund", Brand: "Sora Telecom", Since: since},
			{Brand: "Kumo Mobile", Since: since},
		}},
		{"highlight", []Request{{Query: "返金", Highlight: true}, {Query: "refund", Highlight: true}}},
	}
	ctx := context.Background()
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			hits := uint64(0)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				res, err := ix.Search(ctx, tc.reqs[i%len(tc.reqs)])
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				hits += res.Total
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(float64(hits)/float64(b.N), "hits/query")
		})
	}
}
