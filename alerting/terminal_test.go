package alerting

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
)

func TestCleanStripsControls(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"hello\x1b[2Jworld", "hello[2Jworld"},
		{"line1\nline2", "line1\nline2"},
		{"evil\u202etxt.exe", "eviltxt.exe"},
		{"tab\there", "tab here"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
	}
	for _, tc := range tests {
		if got := Clean(tc.in); got != tc.want {
			t.Errorf("Clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	if got := Truncate("クモモバイル最高", 5); got != "クモモバ…" {
		t.Errorf("Truncate = %q", got)
	}
	if got := Truncate("short", 10); got != "short" {
		t.Errorf("Truncate = %q", got)
	}
}

func TestNotifyLayout(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	term := &Terminal{W: &buf, Location: time.FixedZone("JST", 9*3600)}
	p := &post.Post{ID: "x:1", Platform: "x", URL: "https://x.com/a/status/1", Text: "Kumo Mobile \x1b[31mno signal",
		CreatedAt: time.Date(2026, 11, 20, 0, 15, 0, 0, time.UTC), Author: post.Author{Handle: "aki", Name: "Aki", Followers: 12500},
		Context: []post.Post{{ID: "x:0", Author: post.Author{Handle: "bob"}, Text: "anyone else?"}}}
	d := &matcher.Decision{Brand: "Kumo Mobile", Category: rules.Actionable, Score: 55, InConversation: true, Reasons: []string{"outage"}}
	if err := term.Notify(p, d); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"ACTIONABLE 55", "Kumo Mobile", "2026-11-20 09:15 JST", "Aki @aki (12k followers)", "┆ @bob: anyone else?",
		"│ Kumo Mobile [31mno signal", "inside someone else's conversation", "· outage", "→ https://x.com/a/status/1"} {
		if !strings.Contains(out, want) {
			t.Errorf("alert lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("escape code reached the terminal without Color: %q", out)
	}
}
