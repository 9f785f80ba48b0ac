// Package alerting turns decisions into messages people read, in Slack or in the terminal
// (the demo, and users without Slack): the layout, the durable outbox delivery, the
// interactions (buttons, over HTTP or Socket Mode), silences and snoozes coming back.
package alerting

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/store"
)

// Terminal prints one alert a block, coloured when Color is set (only on a
// terminal: colour codes in a file or pipe are noise).
type Terminal struct {
	W     io.Writer
	Color bool
	// Location is the time zone for times in alerts; nil means UTC.
	Location *time.Location
}

const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
	ansiDim   = "\x1b[2m"
)

var categoryColor = map[rules.Category]string{
	rules.Risky:      "\x1b[1;31m",
	rules.Actionable: "\x1b[1;33m",
	rules.Positive:   "\x1b[1;32m",
}

func (t *Terminal) paint(code, s string) string {
	if !t.Color || code == "" {
		return s
	}
	return code + s + ansiReset
}

// Notify prints the alert for p.
func (t *Terminal) Notify(p *post.Post, d *matcher.Decision) error {
	loc := t.Location
	if loc == nil {
		loc = time.UTC
	}
	var b strings.Builder
	head := fmt.Sprintf("%s %d", strings.ToUpper(string(d.Category)), d.Score)
	fmt.Fprintf(&b, "%s  %s  %s\n", t.paint(categoryColor[d.Category], "■ "+head), t.paint(ansiBold, d.Brand),
		t.paint(ansiDim, fmt.Sprintf("%s · %s", p.Platform, p.CreatedAt.In(loc).Format("2006-01-02 15:04 MST"))))
	author := "@" + Clean(p.Author.Handle)
	if p.Author.Name != "" {
		author = Clean(p.Author.Name) + " " + author
	}
	fmt.Fprintf(&b, "  %s (%s followers)\n", author, matcher.HumanCount(p.Author.Followers))
	ctx := p.Context
	if len(ctx) > 2 {
		fmt.Fprintf(&b, "  %s\n", t.paint(ansiDim, fmt.Sprintf("┆ … %d earlier posts in the thread", len(ctx)-2)))
		ctx = ctx[len(ctx)-2:]
	}
	for _, c := range ctx {
		fmt.Fprintf(&b, "  %s\n", t.paint(ansiDim, fmt.Sprintf("┆ @%s: %s", Clean(c.Author.Handle), Truncate(Clean(c.Text), 100))))
	}
	fmt.Fprintf(&b, "  │ %s\n", strings.ReplaceAll(Truncate(Clean(p.Text), 400), "\n", "\n  │ "))
	if d.InConversation {
		fmt.Fprintf(&b, "  %s\n", t.paint(categoryColor[rules.Actionable], "⚠ inside someone else's conversation: join with care"))
	}
	for _, r := range d.Reasons {
		fmt.Fprintf(&b, "  %s\n", t.paint(ansiDim, "· "+r))
	}
	if p.URL != "" {
		fmt.Fprintf(&b, "  → %s\n", Clean(p.URL))
	}
	b.WriteString("\n")
	_, err := io.WriteString(t.W, b.String())
	return err
}

// Post prints an outbox message, so that a Terminal can stand in for Slack behind the
// Deliverer: a post alert as Notify does, a notice or a reply as its text (a reply
// indented under the case it belongs to), an update as the case's new status. It returns
// no timestamp: replies need none here.
func (t *Terminal) Post(_ context.Context, _ string, a Alert) (string, error) {
	loc := t.Location
	if loc == nil {
		loc = a.loc()
	}
	var b strings.Builder
	switch a.Kind {
	case KindAlert:
		return "", t.Notify(&a.Post, &a.Decision)
	case KindNotice:
		fmt.Fprintf(&b, "%s %s\n\n", t.paint(ansiBold, "▶"), strings.ReplaceAll(Clean(messageText(&a.Message)), "\n", "\n  "))
	case KindReply:
		id, _ := strings.CutSuffix(a.ThreadKey, ":alert")
		fmt.Fprintf(&b, "  %s %s\n\n", t.paint(ansiDim, "↳ ("+Clean(id)+")"),
			strings.ReplaceAll(Clean(messageText(&a.Message)), "\n", "\n    "))
	case KindUpdate:
		s := plainStatus(&a.Case, loc)
		if s == "" {
			s = "open"
		}
		fmt.Fprintf(&b, "  %s %s\n\n", t.paint(ansiDim, "↻ "+Clean(a.caseID())+":"), Clean(s))
	default:
		return "", fmt.Errorf("terminal: unknown message kind %q", a.Kind)
	}
	_, err := io.WriteString(t.W, b.String())
	return "", err
}

// messageText is a message's text, or the text of its blocks when it has none.
func messageText(m *Message) string {
	if strings.TrimSpace(m.Text) != "" || m.Blocks == nil {
		return m.Text
	}
	var parts []string
	for _, bl := range m.Blocks.BlockSet {
		switch b := bl.(type) {
		case *slack.SectionBlock:
			if b.Text != nil {
				parts = append(parts, b.Text.Text)
			}
		case *slack.HeaderBlock:
			if b.Text != nil {
				parts = append(parts, b.Text.Text)
			}
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if tx, ok := e.(*slack.TextBlockObject); ok {
					parts = append(parts, tx.Text)
				}
			}
		}
	}
	return strings.Join(parts, "\n")
}

// plainStatus is a case's status as plain words.
func plainStatus(c *store.Case, loc *time.Location) string {
	s := c.Status
	switch c.Status {
	case store.StatusClaimed, store.StatusResolved:
		if c.Assignee != "" {
			s += " by " + c.Assignee
		}
	case store.StatusSnoozed:
		if !c.SnoozedUntil.IsZero() {
			s += " until " + c.SnoozedUntil.In(loc).Format("1/2 15:04 MST")
		}
	}
	return s
}

// Clean removes control characters (terminal escapes in post text must not
// reach the operator's terminal) and keeps line breaks.
func Clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		case r == '\u202a' || r == '\u202b' || r == '\u202c' || r == '\u202d' || r == '\u202e' ||
			r == '\u2066' || r == '\u2067' || r == '\u2068' || r == '\u2069':
			return -1 // bidi overrides could disguise text
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// Truncate cuts s to at most n runes, marking the cut.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
