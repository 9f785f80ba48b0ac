package alerting

// Layouts of the flame-up watch's notices: a surge of negative mentions of a brand, and a
// negative post whose engagement grows fast. Both are KindNotice messages with blocks; the
// watch (package watch) measures, these only lay out, escaping everything that comes from
// posts.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
)

// ActionCloseSurge is the action id of a surge alert's "Close incident" button; its value
// is the brand. The interactivity handler closes the brand's surge (watch.Close).
const ActionCloseSurge = "kizuki_close_surge"

// Limits of the notices.
const (
	maxNoticePosts   = 5
	maxNoticeTerms   = 8
	maxNoticePostLen = 280
)

// NoticePost is a post shown in a notice, with its decision.
type NoticePost struct {
	Post     post.Post
	Category string
	Score    int
}

// TermGrowth is a term whose posts grew in a surge: in Now posts of the window, against
// Usual posts in the same window of an ordinary day.
type TermGrowth struct {
	Term  string
	Now   int
	Usual float64
}

// SurgeNotice is what a surge alert shows.
type SurgeNotice struct {
	Brand      string
	Categories []string
	StartedAt  time.Time
	Window     time.Duration
	Count      int
	Expected   float64
	Threshold  int
	// Why says how the threshold was made; Tune where and how to change it.
	Why  string
	Tune string
	// EndLevel and Cooldown say when the surge ends by itself.
	EndLevel int
	Cooldown time.Duration
	Top      []NoticePost
	Terms    []TermGrowth
	Location *time.Location
}

// SurgeText is the notification text of a surge alert.
func SurgeText(n SurgeNotice) string {
	return cut(Escape(fmt.Sprintf("[SURGE] %s: %d %s posts in the last %s (usually %s)", Clean(n.Brand), n.Count,
		strings.Join(n.Categories, "/"), shortDuration(n.Window), decimal(n.Expected))), maxFallbackLen)
}

// SurgeBlocks lays out a surge alert: the numbers and why they fired, the terms that grew,
// the top posts, what incident mode does, how to tune, and a button to close the incident.
func SurgeBlocks(n SurgeNotice) []slack.Block {
	loc := orUTC(n.Location)
	cats := strings.Join(n.Categories, " or ")
	head := fmt.Sprintf(":fire: *SURGE*  %s  ·  *%d* %s posts in the last %s, usually %s at this time of day",
		bold(Escape(n.Brand)), n.Count, Escape(cats), shortDuration(n.Window), decimal(n.Expected))
	if !n.StartedAt.IsZero() {
		head += "\nsince " + n.StartedAt.In(loc).Format("2006-01-02 15:04 MST")
	}
	blocks := []slack.Block{section("kizuki_surge_head", cut(head, maxSectionText))}
	if n.Why != "" {
		blocks = append(blocks, contextBlock("kizuki_surge_why", mrkdwn(cut("*Why:* "+Escape(n.Why), maxContextText))))
	}
	if len(n.Terms) > 0 {
		var lines []string
		for i, t := range n.Terms {
			if i == maxNoticeTerms {
				break
			}
			lines = append(lines, fmt.Sprintf("• %s — %d posts (usually %s)", bold(Escape(t.Term)), t.Now, decimal(t.Usual)))
		}
		blocks = append(blocks, section("kizuki_surge_terms", cut("*Terms that grew most*\n"+strings.Join(lines, "\n"), maxSectionText)))
	}
	if len(n.Top) > 0 {
		blocks = append(blocks, section("kizuki_surge_top", "*Top posts*"))
		for i, p := range n.Top {
			if i == maxNoticePosts {
				break
			}
			blocks = append(blocks, section(fmt.Sprintf("kizuki_surge_post_%d", i+1), noticePostLine(p, loc)))
		}
	}
	mode := fmt.Sprintf(":mute: *Incident mode:* further %s posts of %s go into this thread instead of separate alerts, until mentions stay below %d for %s or someone closes the incident.",
		Escape(cats), Escape(n.Brand), n.EndLevel, shortDuration(n.Cooldown))
	blocks = append(blocks, section("kizuki_surge_mode", cut(mode, maxSectionText)))
	if n.Tune != "" {
		blocks = append(blocks, contextBlock("kizuki_surge_tune", mrkdwn(cut(":wrench: "+Escape(n.Tune), maxContextText))))
	}
	if n.Brand != "" && utf16Len(n.Brand) <= maxButtonValue {
		blocks = append(blocks, slack.NewActionBlock("kizuki_surge_actions",
			slack.NewButtonBlockElement(ActionCloseSurge, n.Brand, plain("Close incident")).WithStyle(slack.StyleDanger)))
	}
	if len(blocks) > maxBlocks {
		blocks = blocks[:maxBlocks]
	}
	return blocks
}

// VelocityNotice is what the escalation of a fast-growing post shows.
type VelocityNotice struct {
	Brand string
	NoticePost
	// From and To are reposts+quotes+replies at the start and the end of Span.
	From, To int
	Span     time.Duration
	Why      string
	Tune     string
	Location *time.Location
}

// VelocityText is the notification text of a velocity escalation.
func VelocityText(n VelocityNotice) string {
	return cut(Escape(fmt.Sprintf("[FAST-GROWING %s] %s: @%s: %d → %d reposts+quotes+replies in %s", strings.ToUpper(Clean(n.Category)),
		Clean(n.Brand), Clean(n.Post.Author.Handle), n.From, n.To, shortDuration(n.Span))), maxFallbackLen)
}

// VelocityBlocks lays out a velocity escalation: the growth and why it escalates, the post,
// how to tune, and a link to the post.
func VelocityBlocks(n VelocityNotice) []slack.Block {
	loc := orUTC(n.Location)
	p := &n.Post
	head := fmt.Sprintf(":chart_with_upwards_trend: *FAST-GROWING %s %d*  %s  ·  %d → *%d* reposts+quotes+replies in %s",
		strings.ToUpper(Escape(n.Category)), n.Score, bold(Escape(n.Brand)), n.From, n.To, shortDuration(n.Span))
	where := Escape(p.Platform)
	if !p.CreatedAt.IsZero() {
		where += " · posted " + p.CreatedAt.In(loc).Format("2006-01-02 15:04 MST")
	}
	head += "\n" + where
	blocks := []slack.Block{
		section("kizuki_velocity_head", cut(head, maxSectionText)),
		contextBlock("kizuki_author", mrkdwn(cut(authorLine(&p.Author), maxContextText))),
	}
	text := Escape(p.Text)
	if strings.TrimSpace(text) == "" {
		text = "_(no text)_"
	}
	blocks = append(blocks, section("kizuki_post", cut(text, maxSectionText)))
	if n.Why != "" {
		blocks = append(blocks, contextBlock("kizuki_velocity_why", mrkdwn(cut("*Why:* "+Escape(n.Why), maxContextText))))
	}
	if n.Tune != "" {
		blocks = append(blocks, contextBlock("kizuki_velocity_tune", mrkdwn(cut(":wrench: "+Escape(n.Tune), maxContextText))))
	}
	if u, ok := linkURL(p.URL); ok {
		label := "Open post"
		if p.Platform != "" {
			label = "Open on " + Clean(p.Platform)
		}
		blocks = append(blocks, slack.NewActionBlock("kizuki_velocity_actions",
			slack.NewButtonBlockElement(ActionOpenPost, "", plain(cut(label, maxButtonText))).WithURL(u)))
	}
	return blocks
}

// noticePostLine is one post in a list: category and score, author and reach, time, the
// text on one line, and a link.
func noticePostLine(p NoticePost, loc *time.Location) string {
	var b strings.Builder
	if p.Category != "" {
		fmt.Fprintf(&b, "`%s %d` ", strings.ToUpper(Escape(p.Category)), p.Score)
	}
	b.WriteString(bold(Escape("@" + p.Post.Author.Handle)))
	fmt.Fprintf(&b, " (%s followers)", matcher.HumanCount(p.Post.Author.Followers))
	if !p.Post.CreatedAt.IsZero() {
		b.WriteString(" · " + p.Post.CreatedAt.In(loc).Format("1/2 15:04"))
	}
	if m := p.Post.Metrics; m.Likes+m.Reposts+m.Quotes+m.Replies > 0 {
		fmt.Fprintf(&b, " · ♥ %d ↻ %d", m.Likes, m.Reposts+m.Quotes)
	}
	text := cut(Escape(strings.Join(strings.Fields(p.Post.Text), " ")), maxNoticePostLen)
	b.WriteString("\n" + text)
	if u, ok := linkURL(p.Post.URL); ok {
		b.WriteString(" <" + u + "|open>")
	}
	return cut(b.String(), maxSectionText)
}

func orUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// shortDuration writes 30m, 1h, 1h30m, 2d, 5h12m: what people read at a glance.
func shortDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Minute)
	days, d := d/(24*time.Hour), d%(24*time.Hour)
	h, m := d/time.Hour, (d%time.Hour)/time.Minute
	switch {
	case days > 0 && h > 0:
		return fmt.Sprintf("%dd%dh", days, h)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh%dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dm", m)
}

// decimal writes a number with at most one decimal: 2, 1.5, 0.3.
func decimal(x float64) string {
	return strconv.FormatFloat(float64(int64(x*10+0.5))/10, 'f', -1, 64)
}
