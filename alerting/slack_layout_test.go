package alerting

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Tokyo on machines without a zoneinfo database
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/store"
)

var updateSlack = flag.Bool("update-slack", false, "rewrite the Slack golden files in testdata/")

func tokyo(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

var t0 = time.Date(2026, 11, 20, 9, 15, 0, 0, time.UTC)

// actionableAlert is an untagged question in a thread, from an author we met before.
func actionableAlert(loc *time.Location) Alert {
	ctx := []post.Post{
		{ID: "x:990", Author: post.Author{Handle: "friend_a"}, Text: "anyone else's phone dead since the update?", CreatedAt: t0.Add(-40 * time.Minute)},
		{ID: "x:995", Author: post.Author{Handle: "yuki_t"}, Text: "mine too, which carrier?", CreatedAt: t0.Add(-30 * time.Minute)},
		{ID: "x:998", Author: post.Author{Handle: "friend_a"}, Text: "Kumo Mobile here", CreatedAt: t0.Add(-20 * time.Minute)},
		{ID: "x:1000", Author: post.Author{Handle: "yuki_t"}, Text: "same, no signal\nsince this morning", CreatedAt: t0.Add(-10 * time.Minute)},
	}
	return Alert{
		Post: post.Post{
			ID: "x:1001", Platform: "x", URL: "https://x.com/yuki_t/status/1001",
			Author:    post.Author{ID: "u1", Handle: "yuki_t", Name: "Yuki T & co", Followers: 12345},
			Text:      "クモモバイル、朝から圏外のまま。どうすれば直りますか？ <3",
			CreatedAt: t0, ReplyTo: "x:1000", ConversationID: "x:990", Context: ctx,
		},
		Decision: matcher.Decision{
			ID: "x:1001", Brand: "Kumo Mobile", Relevant: true, Category: rules.Actionable, Score: 72, Alert: true,
			Reasons: []string{`keyword "クモモバイル"`, "support: question (+30)", "support: outage words (+25)"},
		},
		History: []store.CaseRef{
			{ID: "x:500", Status: store.StatusResolved, Assignee: "U0SATO", At: time.Date(2026, 11, 18, 3, 0, 0, 0, time.UTC)},
			{ID: "x:300", Status: store.StatusResolved, Assignee: "U0KATO", At: time.Date(2026, 10, 2, 3, 0, 0, 0, time.UTC)},
		},
		Case:     store.Case{ID: "x:1001", Status: store.StatusOpen},
		Location: loc,
	}
}

func claimedAlert(loc *time.Location) Alert {
	a := actionableAlert(loc)
	a.Case.Status = store.StatusClaimed
	a.Case.Assignee = "U0SATO"
	return a
}

// riskyAlert is an angry post inside a conversation between other people.
func riskyAlert(loc *time.Location) Alert {
	return Alert{
		Post: post.Post{
			ID: "x:2002", Platform: "x", URL: "https://x.com/angry/status/2002",
			Author:    post.Author{ID: "u9", Handle: "angry_kenji", Followers: 250000},
			Text:      "@friend_b Kumo Mobile charged me twice and support hung up. Never again. <!channel> @here",
			CreatedAt: t0.Add(2 * time.Hour), ReplyTo: "x:2001",
			Context: []post.Post{
				{ID: "x:2001", Author: post.Author{Handle: "friend_b"}, Text: "how was your week?", CreatedAt: t0.Add(time.Hour)},
			},
		},
		Decision: matcher.Decision{
			ID: "x:2002", Brand: "Kumo Mobile", Relevant: true, Category: rules.Risky, Score: 88, Alert: true, InConversation: true,
			Reasons: []string{"risk: accusation (+30)", "risk: billing (+20)", "reach: 250k followers (+15)", "risk: churn words (+10)",
				"negative sentiment (+8)", "reply in a thread (+0)", "author mentioned another account", "no brand reply yet"},
		},
		Case:     store.Case{ID: "x:2002", Status: store.StatusOpen},
		Location: loc,
	}
}

func marshal(t *testing.T, a Alert) []byte {
	t.Helper()
	msg := struct {
		Text   string        `json:"text"`
		Blocks []slack.Block `json:"blocks"`
	}{FallbackText(a), Blocks(a)}
	// Unescaped HTML so goldens read as Slack reads them; <, > and & in them are only
	// what Kizuki writes itself.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(msg); err != nil {
		t.Fatal(err)
	}
	// Context elements marshal themselves with escaping; undo it, the JSON stays valid.
	return []byte(strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(b.String()))
}

func TestBlocksGolden(t *testing.T) {
	loc := tokyo(t)
	for _, tc := range []struct {
		name  string
		alert Alert
	}{
		{"actionable_thread_history", actionableAlert(loc)},
		{"claimed", claimedAlert(loc)},
		{"risky_in_conversation", riskyAlert(loc)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := marshal(t, tc.alert)
			path := filepath.Join("testdata", "slack_"+tc.name+".golden.json")
			if *updateSlack {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestBlocksGolden -update-slack)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("blocks differ from %s (run with -update-slack to accept):\n%s", path, got)
			}
			checkLimits(t, tc.alert)
		})
	}
}

func TestBlocksStatus(t *testing.T) {
	t.Parallel()
	loc := tokyo(t)
	claimed := string(marshal(t, claimedAlert(loc)))
	if !strings.Contains(claimed, "Claimed by <@U0SATO>") {
		t.Errorf("claimed alert does not name the claimer:\n%s", claimed)
	}
	if strings.Contains(claimed, ActionClaim) {
		t.Error("claimed alert still has a Claim button")
	}
	open := string(marshal(t, actionableAlert(loc)))
	for _, id := range []string{ActionClaim, ActionResolve, ActionSnooze, ActionNotRelevant, ActionMuteAuthor, `"value": "x:1001"`, `"kizuki_case:x:1001"`} {
		if !strings.Contains(open, id) {
			t.Errorf("open alert lacks %s", id)
		}
	}
	if !strings.Contains(open, "2 earlier cases, last resolved by @U0SATO on 11/18") {
		t.Errorf("history line missing:\n%s", open)
	}
	if !strings.Contains(open, "2026-11-20 18:15 JST") || strings.Contains(open, "09:15") {
		t.Errorf("times not in Asia/Tokyo:\n%s", open)
	}
	a := actionableAlert(loc)
	a.Case = store.Case{ID: "x:1001", Status: store.StatusResolved, Assignee: "U0SATO"}
	resolved := string(marshal(t, a))
	if strings.Contains(resolved, ActionClaim) || strings.Contains(resolved, ActionResolve) || !strings.Contains(resolved, "Resolved by <@U0SATO>") {
		t.Errorf("resolved alert:\n%s", resolved)
	}
	a.Case = store.Case{ID: "x:1001", Status: store.StatusSnoozed, SnoozedUntil: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)}
	if s := string(marshal(t, a)); !strings.Contains(s, "Snoozed until 11/21 09:00 JST") {
		t.Errorf("snoozed alert:\n%s", s)
	}
}

func TestCaseIDFromBlockID(t *testing.T) {
	t.Parallel()
	var ab *slack.ActionBlock
	for _, b := range Blocks(actionableAlert(time.UTC)) {
		if x, ok := b.(*slack.ActionBlock); ok {
			ab = x
		}
	}
	if ab == nil {
		t.Fatal("no actions block")
	}
	if id, ok := CaseIDFromBlockID(ab.BlockID); !ok || id != "x:1001" {
		t.Errorf("CaseIDFromBlockID(%q) = %q, %v", ab.BlockID, id, ok)
	}
}

func TestBlocksInjection(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		text string
		want string // how the text must appear in the JSON, "" to skip
	}{
		{"channel", "<!channel> refund now", `&lt;!channel&gt; refund now`},
		{"here", "<!here>", `&lt;!here&gt;`},
		{"everyone", "<!everyone>", `&lt;!everyone&gt;`},
		{"user", "<@U123> look", `&lt;@U123&gt; look`},
		{"subteam", "<!subteam^S123|team>", `&lt;!subteam^S123|team&gt;`},
		{"bare channel", "@channel help", "@\u200dchannel help"},
		{"bare here upper", "@HERE help", "@\u200dHERE help"},
		{"bare everyone", "hi @everyone", "@\u200deveryone"},
		{"link", "<https://evil.example|click here>", `&lt;https://evil.example|click here&gt;`},
		{"entity", "&amp; &lt;!channel&gt;", `&amp;amp; &amp;lt;!channel&amp;gt;`},
		{"control", "a\x1b[31mred\x07\u202ebidi", `a[31mredbidi`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := riskyAlert(time.UTC)
			a.Post.Text = tc.text
			a.Post.Author.Name = tc.text
			a.Post.Author.Handle = tc.text
			a.Post.Context[0].Text = tc.text
			a.Post.Context[0].Author.Handle = tc.text
			a.Decision.Reasons = []string{tc.text}
			a.History = []store.CaseRef{{ID: "x:1", Status: tc.text, Assignee: tc.text, At: t0}}
			a.Case = store.Case{ID: "x:2002", Status: store.StatusClaimed, Assignee: tc.text}
			js := string(marshal(t, a))
			assertNoEntities(t, js)
			if tc.want != "" && !strings.Contains(js, tc.want) {
				t.Errorf("JSON lacks %q:\n%s", tc.want, js)
			}
			if strings.ContainsAny(js, "\x1b\x07\u202e") {
				t.Errorf("control characters survived:\n%q", js)
			}
		})
	}
}

// assertNoEntities fails if the marshalled message holds a Slack entity other than the
// mentions Kizuki writes itself (<@U0…> of assignees, which tests never take from posts).
func assertNoEntities(t *testing.T, js string) {
	t.Helper()
	// encoding/json writes < and > as \u003c and \u003e.
	js = strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(js)
	for _, bad := range []string{"<!", "<@", "<http", "<#", "|click"} {
		if i := strings.Index(js, bad); i >= 0 && !(bad == "|click" && strings.Contains(js[:i], "&lt;")) {
			t.Errorf("unescaped %q in %s", bad, js[max(0, i-60):min(len(js), i+60)])
		}
	}
	for _, word := range []string{"@channel", "@here", "@everyone", "@HERE"} {
		if strings.Contains(js, word) {
			t.Errorf("bare %s survived", word)
		}
	}
}

func TestEscape(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"a & b", "a &amp; b"},
		{"<!channel>", "&lt;!channel&gt;"},
		{"x@channel.example", "x@\u200dchannel.example"},
		{"@Everyone", "@\u200dEveryone"},
		{"line\nbreak\ttab", "line\nbreak tab"},
		{"\xff bad utf8", "\uFFFD bad utf8"},
		{"שלום עולם", "שלום עולם"},
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCut(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"fits", "abc", 3, "abc"},
		{"ascii", "abcdef", 4, "abc…"},
		{"japanese", "クモモバイル", 4, "クモモ…"},
		{"astral emoji counts two", "😀😀😀", 4, "😀…"},
		{"not inside an entity", "ab&amp;cd", 6, "ab…"},
		{"after a whole entity", "ab&amp;cd", 8, "ab&amp;…"},
		{"no lone joiner", "ab@\u200dhere", 5, "ab@…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := cut(tc.in, tc.n)
			if got != tc.want {
				t.Errorf("cut(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
			if !utf8.ValidString(got) || utf16Len(got) > tc.n {
				t.Errorf("cut(%q, %d) = %q: invalid or too long", tc.in, tc.n, got)
			}
		})
	}
}

func TestBlocksLimits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("長い投稿&<>😀", 1000) // 8000 runes, more once escaped
	rtl := strings.Repeat("\u202eمرحبا بالعالم \u200f", 400)
	zw := strings.Repeat("a\u200b\u200c\u200d\ufeff", 1200)
	for _, tc := range []struct {
		name string
		text string
	}{
		{"long mixed", long},
		{"rtl", rtl},
		{"zero width", zw},
		{"ampersands", strings.Repeat("&", 5000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := actionableAlert(time.UTC)
			a.Post.Text = tc.text
			a.Post.Author.Name = tc.text
			a.Post.Author.Handle = tc.text
			a.Post.Platform = tc.text
			a.Decision.Brand = tc.text
			var ctx []post.Post
			for i := range 30 {
				ctx = append(ctx, post.Post{ID: fmt.Sprint(i), Author: post.Author{Handle: tc.text}, Text: tc.text})
			}
			a.Post.Context = ctx
			a.Decision.Reasons = nil
			for range 40 {
				a.Decision.Reasons = append(a.Decision.Reasons, tc.text)
			}
			checkLimits(t, a)
			js := string(marshal(t, a))
			if !strings.Contains(js, "…and 34 more") {
				t.Error("reasons are not capped at 6")
			}
			if !strings.Contains(js, "27 earlier posts") {
				t.Error("thread is not capped at 3 posts")
			}
			if strings.Contains(js, "\u202e") {
				t.Error("bidi override survived")
			}
		})
	}
}

// checkLimits walks the blocks and checks Block Kit's limits and that every text is
// valid UTF-8 and never ends inside an entity.
func checkLimits(t *testing.T, a Alert) {
	t.Helper()
	blocks := Blocks(a)
	if len(blocks) > maxBlocks {
		t.Errorf("%d blocks", len(blocks))
	}
	text := func(where string, o *slack.TextBlockObject, n int) {
		t.Helper()
		if o == nil {
			return
		}
		if !utf8.ValidString(o.Text) || utf16Len(o.Text) > n {
			t.Errorf("%s: %d units (max %d), valid %v", where, utf16Len(o.Text), n, utf8.ValidString(o.Text))
		}
		if amp := strings.LastIndexByte(o.Text, '&'); o.Type == slack.MarkdownType && amp >= 0 && !strings.Contains(o.Text[amp:], ";") {
			t.Errorf("%s: ends inside an entity: %q", where, o.Text[amp:])
		}
	}
	for _, b := range blocks {
		switch b := b.(type) {
		case *slack.SectionBlock:
			text("section", b.Text, maxSectionText)
		case *slack.HeaderBlock:
			text("header", b.Text, 150)
		case *slack.ContextBlock:
			if n := len(b.ContextElements.Elements); n > maxContextElems {
				t.Errorf("context with %d elements", n)
			}
			for _, e := range b.ContextElements.Elements {
				o, ok := e.(*slack.TextBlockObject)
				if !ok {
					t.Fatalf("context element %T", e)
				}
				text("context", o, maxContextText)
			}
		case *slack.ActionBlock:
			if len(b.BlockID) > maxBlockID {
				t.Errorf("block_id of %d", len(b.BlockID))
			}
			for _, e := range b.Elements.ElementSet {
				switch e := e.(type) {
				case *slack.ButtonBlockElement:
					text("button", e.Text, maxButtonText)
				case *slack.SelectBlockElement:
					text("placeholder", e.Placeholder, maxPlaceholder)
					for _, o := range e.Options {
						text("option", o.Text, maxButtonText)
					}
				}
			}
		}
	}
	if f := FallbackText(a); utf16Len(f) > maxFallbackLen || !utf8.ValidString(f) {
		t.Errorf("fallback text of %d units", utf16Len(f))
	}
	if _, err := json.Marshal(blocks); err != nil {
		t.Error(err)
	}
}
