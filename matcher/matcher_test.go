package matcher

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
)

const kumo = `brand: Kumo Mobile
keywords: ["Kumo Mobile", "kumomobile", "クモモバイル"]
handles: ["kumomobile", "kumo_support"]
hashtags: ["kumomobile"]
exclude: ["kumo cloud"]
require_any: []
`

func compile(t testing.TB, files map[string]string) *Matcher {
	t.Helper()
	fsys := fstest.MapFS{}
	var names []string
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
		names = append(names, name)
	}
	set, err := rules.LoadFS(fsys, nil, rules.Options{})
	if err != nil {
		t.Fatalf("load rules: %v", err)
	}
	m, err := Compile(set, Config{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mk(id, text string) *post.Post {
	return &post.Post{ID: id, Platform: "x", Text: text, CreatedAt: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC),
		Author: post.Author{ID: "u-" + id, Handle: "user" + id, Followers: 100}}
}

func hasReason(d Decision, sub string) bool {
	for _, r := range d.Reasons {
		if strings.Contains(r, sub) {
			return true
		}
	}
	return false
}

func TestRelevanceAndWhere(t *testing.T) {
	t.Parallel()
	m := compile(t, map[string]string{"kumo.yaml": kumo})
	tests := []struct {
		name     string
		text     string
		relevant bool
		tagged   bool
		reason   string
	}{
		{"plain keyword", "Kumo Mobile has no signal in Osaka", true, false, `keyword "Kumo Mobile"`},
		{"case and width folded", "ＫＵＭＯ　ＭＯＢＩＬＥ is down", true, false, `keyword "Kumo Mobile"`},
		{"half width katakana", "ｸﾓﾓﾊﾞｲﾙ遅い", true, false, `keyword "クモモバイル"`},
		{"hiragana spelling", "くももばいる遅い", true, false, `keyword "クモモバイル"`},
		{"inside a longer word is not a match", "kumomobilefans unite", false, false, ""},
		{"next to kana is a match", "昨日からkumomobileが圏外", true, false, `keyword "kumomobile"`},
		{"excluded", "Kumo Mobile vs Kumo Cloud pricing", false, false, `excluded by "kumo cloud"`},
		{"in a URL", "see https://kumomobile.jp/outage", true, false, "inside a url"},
		{"in an e-mail", "wrote to help@kumomobile.jp twice", true, false, "inside a email"},
		{"in another account's handle", "@kumomobile_fan says hi", true, false, "inside a handle"},
		{"tagged by mention without keyword", "@kumo_support my bill is wrong", true, true, "mentions @kumo_support"},
		{"tagged by hashtag", "switching carriers #KumoMobile", true, true, "carries #KumoMobile"},
		{"unrelated", "clouds over Tokyo today", false, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := m.Decide(mk("1", tc.text))
			if d.Relevant != tc.relevant || d.Tagged != tc.tagged {
				t.Fatalf("relevant=%v tagged=%v, want %v %v; reasons %q", d.Relevant, d.Tagged, tc.relevant, tc.tagged, d.Reasons)
			}
			if tc.reason != "" && !hasReason(d, tc.reason) {
				t.Errorf("reasons %q lack %q", d.Reasons, tc.reason)
			}
		})
	}
}

func TestZeroWidthJoinedKeyword(t *testing.T) {
	t.Parallel()
	m := compile(t, map[string]string{"kumo.yaml": kumo})
	// "kumo\u200bmobile" normalizes to "kumomobile", a keyword.
	d := m.Decide(mk("1", "kumo\u200bmobile is down"))
	if !d.Relevant {
		t.Fatalf("zero-width space hid the keyword: %q", d.Reasons)
	}
}

func TestMatchIn(t *testing.T) {
	t.Parallel()
	m := compile(t, map[string]string{"kumo.yaml": kumo + "match_in: [text, hashtag]\n"})
	if d := m.Decide(mk("1", "look at https://kumomobile.jp/x")); d.Relevant {
		t.Errorf("keyword in a URL counted despite match_in: %q", d.Reasons)
	}
	if d := m.Decide(mk("2", "kumomobile is slow")); !d.Relevant {
		t.Errorf("keyword in text not counted: %q", d.Reasons)
	}
}

func TestCategories(t *testing.T) {
	t.Parallel()
	m := compile(t, map[string]string{"kumo.yaml": kumo})
	tests := []struct {
		name string
		text string
		cat  rules.Category
	}{
		{"en outage question", "Kumo Mobile has had no signal since this morning, how do I get a refund?", rules.Actionable},
		{"ja outage", "クモモバイル、昨日からずっと圏外なんだけど", rules.Actionable},
		{"ja cannot log in", "クモモバイルのアプリにログインできない", rules.Actionable},
		{"en accusation and legal", "Kumo Mobile is a scam, talking to a lawyer", rules.Risky},
		{"ja flame", "クモモバイル詐欺じゃん。炎上しろ", rules.Risky},
		{"en praise", "Thank you Kumo Mobile, amazing support today!", rules.Positive},
		{"ja praise", "クモモバイルのサポート神対応だった！ありがとう", rules.Positive},
		{"neutral news", "Kumo Mobile announces new plans for spring", rules.None},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := m.Decide(mk("1", tc.text))
			if d.Category != tc.cat {
				t.Errorf("category %s (%d), want %s; reasons %q", d.Category, d.Score, tc.cat, d.Reasons)
			}
			if d.Alert != (tc.cat != rules.None) {
				t.Errorf("alert %v for category %s", d.Alert, d.Category)
			}
		})
	}
}

func TestNegation(t *testing.T) {
	t.Parallel()
	m := compile(t, map[string]string{"kumo.yaml": kumo})
	tests := []struct {
		name    string
		text    string
		negated string // a quoted term the reasons must call negated
		notCat  rules.Category
	}{
		{"en not before praise", "Kumo Mobile support was not helpful", "helpful", rules.Positive},
		{"en never", "Kumo Mobile never amazing", "amazing", rules.Positive},
		{"ja ない after praise", "クモモバイルのサポート、全然満足できない", "満足", rules.Positive},
		{"ja ません", "クモモバイルには満足していません", "満足", rules.Positive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := m.Decide(mk("1", tc.text))
			if !hasReason(d, "negated") || !hasReason(d, tc.negated) {
				t.Errorf("no negation of %q in reasons %q", tc.negated, d.Reasons)
			}
			if d.Category == tc.notCat {
				t.Errorf("negated praise still %s: %q", d.Category, d.Reasons)
			}
		})
	}
	// The same words without negation do count.
	if d := m.Decide(mk("2", "クモモバイルのサポートに満足しています。ありがとう")); d.Category != rules.Positive {
		t.Errorf("plain praise is %s: %q", d.Category, d.Reasons)
	}
}

func TestConversation(t *testing.T) {
	t.Parallel()
	m := compile(t, map[string]string{"kumo.yaml": kumo})
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	ctxPost := func(id, handle, text string) post.Post {
		return post.Post{ID: id, Platform: "x", Text: text, CreatedAt: at, Author: post.Author{Handle: handle}}
	}
	t.Run("reply into someone else's thread", func(t *testing.T) {
		p := mk("3", "@amy kumomobile has been terrible for me too")
		p.ReplyTo = "x:2"
		p.Context = []post.Post{ctxPost("x:1", "bob", "which carrier?"), ctxPost("x:2", "amy", "thinking of switching")}
		d := m.Decide(p)
		if !d.InConversation {
			t.Fatalf("not in conversation: %q", d.Reasons)
		}
	})
	t.Run("reply to own thread", func(t *testing.T) {
		p := mk("3", "kumomobile still down")
		p.ReplyTo = "x:2"
		p.Context = []post.Post{ctxPost("x:2", p.Author.Handle, "kumomobile is down")}
		if d := m.Decide(p); d.InConversation {
			t.Fatalf("own thread flagged: %q", d.Reasons)
		}
	})
	t.Run("reply to the brand is tagged, not a conversation", func(t *testing.T) {
		p := mk("3", "still no signal")
		p.ReplyTo = "x:2"
		p.Context = []post.Post{ctxPost("x:2", "kumo_support", "Sorry! Could you DM us?")}
		d := m.Decide(p)
		if d.InConversation || !d.Tagged || !d.BrandReplied {
			t.Fatalf("inConv=%v tagged=%v brandReplied=%v: %q", d.InConversation, d.Tagged, d.BrandReplied, d.Reasons)
		}
		if !hasReason(d, "already replied") {
			t.Errorf("reasons do not say the brand replied: %q", d.Reasons)
		}
	})
	t.Run("reply without context uses the leading mention", func(t *testing.T) {
		p := mk("3", "@carol kumomobile is the worst")
		p.ReplyTo = "x:9"
		if d := m.Decide(p); !d.InConversation {
			t.Fatalf("not in conversation: %q", d.Reasons)
		}
	})
}

func TestRequireAnyLooksIntoThread(t *testing.T) {
	t.Parallel()
	rule := strings.Replace(kumo, "require_any: []", `require_any: ["sim", "plan"]`, 1)
	m := compile(t, map[string]string{"kumo.yaml": rule})
	if d := m.Decide(mk("1", "kumomobile again")); d.Relevant {
		t.Fatalf("relevant without a require_any term: %q", d.Reasons)
	}
	p := mk("2", "kumomobile again")
	p.ReplyTo = "x:1"
	p.Context = []post.Post{{ID: "x:1", Text: "my new SIM is dead", Author: post.Author{Handle: p.Author.Handle}}}
	if d := m.Decide(p); !d.Relevant {
		t.Fatalf("require_any term in the thread not found: %q", d.Reasons)
	}
}

func TestIncludeTagged(t *testing.T) {
	t.Parallel()
	text := "@kumo_support no signal for 3 days, I want a refund"
	m := compile(t, map[string]string{"kumo.yaml": kumo})
	if d := m.Decide(mk("1", text)); d.Alert || d.Category == rules.None {
		t.Fatalf("tagged post: alert=%v category=%s", d.Alert, d.Category)
	}
	m = compile(t, map[string]string{"kumo.yaml": kumo + "include_tagged: true\n"})
	if d := m.Decide(mk("1", text)); !d.Alert {
		t.Fatalf("include_tagged: no alert: %q", d.Reasons)
	}
}

func TestBrandOwnPost(t *testing.T) {
	t.Parallel()
	m := compile(t, map[string]string{"kumo.yaml": kumo})
	p := mk("1", "Kumo Mobile: thanks everyone, amazing day!")
	p.Author.Handle = "KumoMobile"
	if d := m.Decide(p); d.Relevant || d.Alert {
		t.Fatalf("brand's own post: relevant=%v alert=%v", d.Relevant, d.Alert)
	}
}

func TestReach(t *testing.T) {
	t.Parallel()
	m := compile(t, map[string]string{"kumo.yaml": kumo})
	small := mk("1", "Kumo Mobile dropped my calls all day, so annoying")
	big := mk("2", small.Text)
	big.Author.Followers = 250_000
	ds, db := m.Decide(small), m.Decide(big)
	if db.Scores[rules.Risky] <= ds.Scores[rules.Risky] {
		t.Fatalf("reach did not raise risk: %d vs %d", db.Scores[rules.Risky], ds.Scores[rules.Risky])
	}
	if !hasReason(db, "250k followers") {
		t.Errorf("reasons lack the reach: %q", db.Reasons)
	}
}

func TestQueryRule(t *testing.T) {
	t.Parallel()
	m := compile(t, map[string]string{"q.yaml": `brand: Sora Cafe
query: '("sora cafe" OR ソラカフェ) AND NOT platform:reddit AND (latte NEAR/3 cold OR context:refund)'
`})
	tests := []struct {
		name, text, platform string
		ctx                  string
		want                 bool
	}{
		{"near within 3 words", "Sora Cafe latte was cold again", "x", "", true},
		{"too far apart", "Sora Cafe latte is usually lovely but today the shop was really cold", "x", "", false},
		{"platform excluded", "Sora Cafe latte was cold again", "reddit", "", false},
		{"context term", "ソラカフェ again", "x", "asked for a refund yesterday", true},
		{"no brand term", "latte was cold", "x", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := mk("1", tc.text)
			p.Platform = tc.platform
			if tc.ctx != "" {
				p.ReplyTo = "x:0"
				p.Context = []post.Post{{ID: "x:0", Text: tc.ctx, Author: post.Author{Handle: p.Author.Handle}}}
			}
			if d := m.Decide(p); d.Relevant != tc.want {
				t.Errorf("relevant=%v, want %v: %q", d.Relevant, tc.want, d.Reasons)
			}
		})
	}
}

func TestSignalOverrideAndPackOff(t *testing.T) {
	t.Parallel()
	custom := kumo + `signals:
  - name: sim-activation
    category: actionable
    weight: 40
    terms: {en: ["esim"], ja: ["開通しない"]}
`
	m := compile(t, map[string]string{"kumo.yaml": custom})
	if d := m.Decide(mk("1", "Kumo Mobile eSIM stuck")); d.Category != rules.Actionable || !hasReason(d, "sim-activation") {
		t.Fatalf("own signal not used: %s %q", d.Category, d.Reasons)
	}
	off := kumo + "builtin_signals: false\n"
	m = compile(t, map[string]string{"kumo.yaml": off})
	if d := m.Decide(mk("1", "Kumo Mobile is a scam, talking to a lawyer")); d.Category != rules.None {
		t.Fatalf("pack switched off but category %s: %q", d.Category, d.Reasons)
	}
}

func TestUntrustedInputDoesNotPanic(t *testing.T) {
	t.Parallel()
	m := compile(t, map[string]string{"kumo.yaml": kumo})
	for _, s := range []string{"", "\xff\xfe kumomobile", strings.Repeat("クモモバイル最悪", 5000), strings.Repeat("@", 10000),
		"kumomobile " + strings.Repeat("not ", 3000) + "good"} {
		_ = m.Decide(mk("1", s))
	}
}

func FuzzDecide(f *testing.F) {
	m := compile(f, map[string]string{"kumo.yaml": kumo})
	for _, s := range []string{"Kumo Mobile no signal", "クモモバイル使えない", "@kumo_support #kumomobile", "ｸﾓﾓﾊﾞｲﾙ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := m.Decide(mk("1", s))
		if d.Score < 0 || d.Score > 100 {
			t.Fatalf("score %d out of range", d.Score)
		}
		if d.Alert && (!d.Relevant || d.Category == rules.None) {
			t.Fatalf("alert without relevance or category: %+v", d)
		}
	})
}
