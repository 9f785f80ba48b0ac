package alerting

// Texts of the replies that the pipeline puts into an alert's thread: a brand account
// answered on the platform, and the same author posted again about the same brand.

import (
	"fmt"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/store"
)

// answeredPrefix starts the note of a resolution by a brand account's reply.
const answeredPrefix = "answered on the platform by @"

// maxFollowUpText is how much of a follow-up post its thread reply quotes.
const maxFollowUpText = 1500

// AnsweredNote is the note of the case event that resolves a case because the brand account
// handle replied in the thread at at; the alert's status line reads it back.
func AnsweredNote(handle string, at time.Time) string {
	n := answeredPrefix + strings.TrimPrefix(handle, "@")
	if !at.IsZero() {
		n += " at " + at.UTC().Format(time.RFC3339)
	}
	return n
}

// answeredLine is the status line's reading of an AnsweredNote ("" for another note).
func answeredLine(note string, loc *time.Location) string {
	rest, ok := strings.CutPrefix(note, answeredPrefix)
	if !ok {
		return ""
	}
	handle, at, _ := strings.Cut(rest, " at ")
	s := "answered by " + Escape("@"+handle) + " on the platform"
	if t, err := time.Parse(time.RFC3339, at); err == nil {
		s += " at " + t.In(loc).Format("1/2 15:04 MST")
	}
	return s
}

// AnsweredText is the thread reply of a case resolved by a brand account's reply:
// "Answered by @kumo_support on x at 2026-11-20 18:30 JST." (loc nil: UTC).
func AnsweredText(handle, platform string, at time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	s := "Answered by @" + strings.TrimPrefix(handle, "@") + " on "
	if platform != "" {
		s += platform
	} else {
		s += "the platform"
	}
	if !at.IsZero() {
		s += " at " + at.In(loc).Format("2006-01-02 15:04 MST")
	}
	return s + ". Resolved."
}

// FollowUpText is the thread reply of a post that joins its author's earlier alert about
// the same brand: who, when, how it was decided, what they wrote, and the link. It quotes
// the post: the Slack notifier escapes it.
func FollowUpText(p *post.Post, d *matcher.Decision, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	head := "@" + strings.TrimPrefix(p.Author.Handle, "@") + " posted again"
	var meta []string
	if p.Platform != "" {
		meta = append(meta, p.Platform)
	}
	if !p.CreatedAt.IsZero() {
		meta = append(meta, p.CreatedAt.In(loc).Format("1/2 15:04 MST"))
	}
	if d.Category != "" {
		meta = append(meta, fmt.Sprintf("%s %d", d.Category, d.Score))
	}
	if len(meta) > 0 {
		head += " (" + strings.Join(meta, " · ") + ")"
	}
	text := Clean(p.Text)
	if strings.TrimSpace(text) == "" {
		text = "(no text)"
	}
	s := head + ":\n" + Truncate(text, maxFollowUpText)
	if u, ok := linkURL(p.URL); ok {
		s += "\n" + u
	}
	return s
}

// caseAnswered returns the status line's reading of the event that resolved c, if a brand
// account's reply did.
func caseAnswered(c *store.Case, loc *time.Location) string {
	for i := len(c.History) - 1; i >= 0; i-- {
		if c.History[i].Action == store.ActionResolved {
			return answeredLine(c.History[i].Note, loc)
		}
	}
	return ""
}
