package alerting

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/kizuki-dev/kizuki/post"
)

// marshalMessage is a message's text and blocks as the goldens keep them (see marshal).
func marshalMessage(t *testing.T, text string, blocks []slack.Block) []byte {
	t.Helper()
	msg := struct {
		Text   string        `json:"text"`
		Blocks []slack.Block `json:"blocks"`
	}{text, blocks}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(msg); err != nil {
		t.Fatal(err)
	}
	return []byte(strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(b.String()))
}

// golden compares got with testdata/NAME.golden.json; -update-slack rewrites it.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden.json")
	if *updateSlack {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./alerting -run %s -update-slack)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("blocks differ from %s (run with -update-slack to accept):\n%s", path, got)
	}
}

// checkBlockLimits fails on blocks Slack would reject: too many, or texts too long.
func checkBlockLimits(t *testing.T, blocks []slack.Block) {
	t.Helper()
	if len(blocks) > maxBlocks {
		t.Errorf("%d blocks, Slack takes %d", len(blocks), maxBlocks)
	}
	for _, b := range blocks {
		switch x := b.(type) {
		case *slack.SectionBlock:
			if n := utf16Len(x.Text.Text); n > maxSectionText {
				t.Errorf("section %s is %d long", x.BlockID, n)
			}
		case *slack.ContextBlock:
			for _, e := range x.ContextElements.Elements {
				if tx, ok := e.(*slack.TextBlockObject); ok && utf16Len(tx.Text) > maxContextText {
					t.Errorf("context %s is %d long", x.BlockID, utf16Len(tx.Text))
				}
			}
		}
	}
}

func digestFixture(loc *time.Location) Digest {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, loc)
	return Digest{
		Day: day, Location: loc, Now: day.Add(33 * time.Hour), // 09:00 the next morning
		Alerts:  []DigestCount{{"risky", 3}, {"actionable", 14}, {"positive", 6}},
		Brands:  []DigestCount{{"Kumo Mobile", 19}, {"Sora Cafe & Bakery", 4}},
		Claimed: 12, Resolved: 11, Dismissed: 2,
		FirstResponse:  DigestTimes{N: 12, Median: 9 * time.Minute, P90: 47 * time.Minute},
		Resolve:        DigestTimes{N: 11, Median: 72 * time.Minute, P90: 5*time.Hour + 10*time.Minute},
		ResponseTarget: time.Hour,
		Overdue: []DigestCase{
			{Brand: "Kumo Mobile", Status: "open", OpenedAt: day.Add(15 * time.Hour), NoticePost: NoticePost{
				Category: "actionable", Score: 64, Post: post.Post{ID: "x:31", Platform: "x", URL: "https://x.com/mika/status/31",
					Author: post.Author{Handle: "mika_k", Followers: 310}, CreatedAt: day.Add(15*time.Hour - 4*time.Minute),
					Text: "クモモバイルのeSIM再発行ってどこから申し込むの？\nマイページに見当たらない"}}},
			{Brand: "Sora Cafe & Bakery", Status: "open", OpenedAt: day.Add(22 * time.Hour), NoticePost: NoticePost{
				Category: "actionable", Score: 41, Post: post.Post{ID: "bsky:9", Platform: "bluesky",
					Author:    post.Author{Handle: "latte_lover", Followers: 45},
					CreatedAt: day.Add(22*time.Hour - 2*time.Minute), Text: "@here does Sora Cafe take reservations? <!channel>"}}},
		},
		OverdueTotal: 3,
		Positive: []NoticePost{
			{Category: "positive", Score: 80, Post: post.Post{ID: "x:40", Platform: "x", URL: "https://x.com/fan/status/40",
				Author: post.Author{Handle: "happy_fan", Name: "Happy", Followers: 12400}, CreatedAt: day.Add(12 * time.Hour),
				Metrics: post.Metrics{Likes: 120, Reposts: 30, Quotes: 4}, Text: "Kumo Mobile support fixed my SIM in 5 minutes. Impressed!"}},
		},
		Surges: []DigestSurge{{Brand: "Kumo Mobile", Status: "ended", StartedAt: day.Add(10*time.Hour + 20*time.Minute),
			EndedAt: day.Add(13*time.Hour + 40*time.Minute), Peak: 57, Expected: 2}},
	}
}

func TestDigestGolden(t *testing.T) {
	loc := tokyo(t)
	for _, tc := range []struct {
		name string
		d    Digest
	}{
		{"digest", digestFixture(loc)},
		{"digest_quiet_day", Digest{Day: time.Date(2026, 11, 21, 0, 0, 0, 0, loc), Location: loc,
			Now: time.Date(2026, 11, 22, 9, 0, 0, 0, loc), ResponseTarget: time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blocks := DigestBlocks(tc.d)
			golden(t, "slack_"+tc.name, marshalMessage(t, DigestText(tc.d), blocks))
			checkBlockLimits(t, blocks)
		})
	}
}

func TestDigestEscapesAndCounts(t *testing.T) {
	t.Parallel()
	d := digestFixture(time.UTC)
	s := string(marshalMessage(t, DigestText(d), DigestBlocks(d)))
	if strings.Contains(s, "<!channel>") || strings.Contains(s, `"@here`) || !strings.Contains(s, "&lt;!channel&gt;") {
		t.Errorf("post text is not escaped:\n%s", s)
	}
	if !strings.Contains(s, "Sora Cafe &amp; Bakery") {
		t.Error("a brand name with & is not escaped")
	}
	if !strings.Contains(s, "…and 1 more") {
		t.Error("the overdue cases beyond those shown are not counted")
	}
	a := DigestMessage(d)
	if a.Kind != KindNotice || a.Blocks == nil || len(a.Blocks.BlockSet) == 0 || a.Text == "" {
		t.Errorf("DigestMessage %+v", a.Message)
	}
	// Many overdue cases stay within Slack's limits.
	for range 100 {
		d.Overdue = append(d.Overdue, d.Overdue[0])
		d.Positive = append(d.Positive, d.Positive[0])
	}
	d.OverdueTotal = len(d.Overdue)
	checkBlockLimits(t, DigestBlocks(d))
}

func surgeFixture(loc *time.Location) SurgeNotice {
	start := time.Date(2026, 11, 21, 1, 20, 0, 0, time.UTC)
	return SurgeNotice{
		Brand: "Kumo Mobile", Categories: []string{"risky", "actionable"}, StartedAt: start, Window: time.Hour,
		Count: 14, Expected: 2, Threshold: 10, EndLevel: 5, Cooldown: time.Hour, Location: loc,
		Why:   "14 risky or actionable posts in the last 1h ≥ threshold 10, the highest of min_count 10, factor 3 × usual 2 = 6, and usual 2 + sigmas 4 × spread 1.4 = 7.7 (usual: median of the same hour on 14 days)",
		Tune:  "surge: {min_count: 10, factor: 3, sigmas: 4, window: 1h} in kumo.yaml:31 — raise them to alert less, lower them to alert sooner",
		Terms: []TermGrowth{{"二重請求", 8, 0.1}, {"返金", 7, 0.4}, {"refund", 3, 0}},
		Top: []NoticePost{
			{Category: "risky", Score: 88, Post: post.Post{ID: "x:2124083866498930889", Platform: "x", URL: "https://x.com/double_punch/status/2124083866498930889",
				Author: post.Author{Handle: "double_punch", Followers: 25300}, CreatedAt: start.Add(-8 * time.Minute),
				Metrics: post.Metrics{Likes: 320, Reposts: 88, Quotes: 12},
				Text:    "クモモバイル、身に覚えのない請求＋個人情報流出のダブルパンチ。返金しろ <@U0ADMIN>"}},
			{Category: "actionable", Score: 55, Post: post.Post{ID: "x:77", Platform: "x", URL: "https://x.com/k/status/77",
				Author: post.Author{Handle: "k_tanaka", Followers: 800}, CreatedAt: start.Add(-3 * time.Minute),
				Text: "二重請求されてるんだけど、返金ってどうすればいい？"}},
		},
	}
}

func TestSurgeNoticeGolden(t *testing.T) {
	n := surgeFixture(tokyo(t))
	blocks := SurgeBlocks(n)
	golden(t, "slack_surge", marshalMessage(t, SurgeText(n), blocks))
	checkBlockLimits(t, blocks)
	s := string(marshalMessage(t, SurgeText(n), blocks))
	if strings.Contains(s, "<@U0ADMIN>") {
		t.Error("a user mention in post text survived")
	}
	if !strings.Contains(s, `"action_id": "`+ActionCloseSurge+`"`) || !strings.Contains(s, `"value": "Kumo Mobile"`) {
		t.Error("no Close incident button carrying the brand")
	}
}

func TestVelocityNoticeGolden(t *testing.T) {
	loc := tokyo(t)
	n := VelocityNotice{
		Brand: "Kumo Mobile", From: 4, To: 31, Span: 30 * time.Minute, Location: loc,
		NoticePost: NoticePost{Category: "risky", Score: 72, Post: post.Post{ID: "x:5001", Platform: "x", URL: "https://x.com/angry/status/5001",
			Author: post.Author{Handle: "angry_kenji", Name: "Kenji", Followers: 250000}, CreatedAt: time.Date(2026, 11, 21, 0, 40, 0, 0, time.UTC),
			Metrics: post.Metrics{Reposts: 22, Quotes: 5, Replies: 4}, Text: "Kumo Mobile charged me twice. Never again."}},
		Why:  "reposts+quotes+replies grew from 4 to 31 (×7.8) in 30m: at least ×5 within 30m, reaching at least 20",
		Tune: "velocity: {factor: 5, window: 30m, min_count: 20, absolute: 500} in kumo.yaml:1",
	}
	blocks := VelocityBlocks(n)
	golden(t, "slack_velocity", marshalMessage(t, VelocityText(n), blocks))
	checkBlockLimits(t, blocks)
}

func TestShortDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0: "0m", 9 * time.Minute: "9m", time.Hour: "1h", 72 * time.Minute: "1h12m", 26 * time.Hour: "1d2h", 48 * time.Hour: "2d",
		-5 * time.Minute: "5m", 89 * time.Second: "1m",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
