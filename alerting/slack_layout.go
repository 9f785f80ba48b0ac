package alerting

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/store"
)

// Action ids of the alert's interactive elements. Buttons carry the case id (the post id)
// as their value; the snooze select carries SnoozeHour, SnoozeFourHours or SnoozeTomorrow,
// and its case id is in the actions block's block_id (see CaseIDFromBlockID).
const (
	ActionClaim       = "kizuki_claim"
	ActionResolve     = "kizuki_resolve"
	ActionSnooze      = "kizuki_snooze"
	ActionNotRelevant = "kizuki_not_relevant"
	ActionMuteAuthor  = "kizuki_mute_author"
	ActionOpenPost    = "kizuki_open_post"
)

// Values of the snooze select's options.
const (
	SnoozeHour      = "1h"
	SnoozeFourHours = "4h"
	SnoozeTomorrow  = "tomorrow"
)

// actionsBlockPrefix starts the block_id of the actions block; the case id follows.
const actionsBlockPrefix = "kizuki_case:"

// CaseIDFromBlockID returns the case id of an alert's actions block, for interactions whose
// value is not the case id (the snooze select).
func CaseIDFromBlockID(blockID string) (string, bool) {
	return strings.CutPrefix(blockID, actionsBlockPrefix)
}

// Block Kit limits (https://api.slack.com/reference/block-kit), counted conservatively in
// UTF-16 code units, which are never fewer than the characters Slack counts.
const (
	maxSectionText    = 3000
	maxContextText    = 2000
	maxButtonText     = 75
	maxPlaceholder    = 150
	maxBlocks         = 50
	maxContextElems   = 10
	maxButtonValue    = 2000
	maxButtonURL      = 3000
	maxBlockID        = 255
	maxContextPosts   = 3   // thread posts shown before the alerted post
	maxContextPostLen = 400 // per thread post: enough to follow, short enough to skim
	maxReasons        = 6
	maxReasonLen      = 300
	maxFallbackLen    = 300 // notification text: one glance
)

// Alert is everything one Slack alert shows.
type Alert struct {
	Post     post.Post
	Decision matcher.Decision
	// History holds the earlier cases of this author.
	History []store.CaseRef
	// Case is the current state: open, claimed (Assignee), snoozed, resolved.
	Case store.Case
	// Location is the time zone for times in the alert; nil means UTC. It
	// does not travel through the outbox's JSON: the Deliverer sets it.
	Location *time.Location `json:"-"`
	// Message holds the kind and text of messages that are not post alerts (see
	// KindReply, KindNotice); a post alert leaves it empty.
	Message
}

func (a *Alert) loc() *time.Location {
	if a.Location == nil {
		return time.UTC
	}
	return a.Location
}

func (a *Alert) caseID() string {
	if a.Case.ID != "" {
		return a.Case.ID
	}
	return a.Post.ID
}

var categoryEmoji = map[rules.Category]string{
	rules.Risky:      ":rotating_light:",
	rules.Actionable: ":raising_hand:",
	rules.Positive:   ":sparkling_heart:",
}

// Blocks lays out the alert as Block Kit blocks. Every text that comes from a post, its
// author or the rules is escaped (see Escape), so nothing in it pings, links or formats
// as a Slack entity, and every text is cut to Slack's limits.
func Blocks(a Alert) []slack.Block {
	loc := a.loc()
	p, d := &a.Post, &a.Decision
	var blocks []slack.Block

	// Headline: category, score, brand, where and when.
	emoji := categoryEmoji[d.Category]
	if emoji == "" {
		emoji = ":mag:"
	}
	head := fmt.Sprintf("%s *%s %d*  %s", emoji, strings.ToUpper(Escape(string(d.Category))), d.Score, bold(Escape(d.Brand)))
	if !d.Tagged {
		head += "  ·  untagged mention"
	}
	where := Escape(p.Platform)
	if !p.CreatedAt.IsZero() {
		where += " · " + p.CreatedAt.In(loc).Format("2006-01-02 15:04 MST")
	}
	head += "\n" + where
	blocks = append(blocks, section("kizuki_head", cut(head, maxSectionText)))

	// Author and their history with us.
	author := authorLine(&p.Author)
	if h := historyLine(a.History, loc); h != "" {
		author += "\n" + h
	}
	blocks = append(blocks, contextBlock("kizuki_author", mrkdwn(cut(author, maxContextText))))

	// The thread before the post, oldest first.
	if tb := threadBlock(p.Context, loc); tb != nil {
		blocks = append(blocks, tb)
	}

	// The post itself.
	text := Escape(p.Text)
	if strings.TrimSpace(text) == "" {
		text = "_(no text)_"
	}
	blocks = append(blocks, section("kizuki_post", cut(text, maxSectionText)))

	if d.InConversation {
		blocks = append(blocks, section("kizuki_conversation",
			":warning: *Inside someone else's conversation:* read the thread before joining in."))
	}

	if r := reasonsText(d.Reasons); r != "" {
		blocks = append(blocks, contextBlock("kizuki_reasons", mrkdwn(cut(r, maxContextText))))
	}

	if s := statusLine(&a.Case, loc); s != "" {
		blocks = append(blocks, section("kizuki_status", cut(s, maxSectionText)))
	}

	if ab := actions(&a); ab != nil {
		blocks = append(blocks, ab)
	}
	if len(blocks) > maxBlocks {
		blocks = blocks[:maxBlocks]
	}
	return blocks
}

// FallbackText is the message's top-level text: what notifications and screen readers
// show. It is escaped like the blocks.
func FallbackText(a Alert) string {
	d, p := &a.Decision, &a.Post
	s := fmt.Sprintf("[%s %d] %s: @%s: %s", strings.ToUpper(Clean(string(d.Category))), d.Score,
		Clean(d.Brand), Clean(p.Author.Handle), strings.Join(strings.Fields(Clean(p.Text)), " "))
	return cut(Escape(s), maxFallbackLen)
}

func authorLine(au *post.Author) string {
	var b strings.Builder
	if au.Name != "" {
		b.WriteString(bold(Escape(au.Name)) + " ")
	}
	b.WriteString(Escape("@" + au.Handle))
	fmt.Fprintf(&b, " · %s followers", matcher.HumanCount(au.Followers))
	return b.String()
}

// historyLine summarises the author's earlier cases: "2 earlier cases, last resolved by
// @U1 on 11/18".
func historyLine(h []store.CaseRef, loc *time.Location) string {
	if len(h) == 0 {
		return ""
	}
	last := h[0]
	for _, r := range h[1:] {
		if r.At.After(last.At) {
			last = r
		}
	}
	noun := "earlier cases"
	if len(h) == 1 {
		noun = "earlier case"
	}
	s := fmt.Sprintf(":card_index: %d %s, last %s", len(h), noun, Escape(last.Status))
	if last.Assignee != "" {
		// Plain text, not a mention: an earlier operator must not be
		// pinged by every new alert about the same author.
		s += " by " + Escape("@"+last.Assignee)
	}
	if !last.At.IsZero() {
		s += " on " + last.At.In(loc).Format("1/2")
	}
	return s
}

func threadBlock(ctx []post.Post, loc *time.Location) slack.Block {
	if len(ctx) == 0 {
		return nil
	}
	var elems []slack.MixedElement
	if n := len(ctx) - maxContextPosts; n > 0 {
		word := "posts"
		if n == 1 {
			word = "post"
		}
		elems = append(elems, mrkdwn(fmt.Sprintf(":thread: … %d earlier %s in the thread", n, word)))
		ctx = ctx[n:]
	}
	for _, c := range ctx {
		line := bold(Escape("@"+c.Author.Handle)) + ": " + Escape(strings.Join(strings.Fields(c.Text), " "))
		if !c.CreatedAt.IsZero() {
			line = c.CreatedAt.In(loc).Format("15:04") + " " + line
		}
		elems = append(elems, mrkdwn(cut(line, maxContextPostLen)))
	}
	if len(elems) > maxContextElems {
		elems = elems[:maxContextElems]
	}
	return contextBlock("kizuki_thread", elems...)
}

func reasonsText(reasons []string) string {
	if len(reasons) == 0 {
		return ""
	}
	shown := reasons
	if len(shown) > maxReasons {
		shown = shown[:maxReasons]
	}
	lines := make([]string, 0, len(shown)+1)
	for _, r := range shown {
		lines = append(lines, "• "+cut(Escape(strings.Join(strings.Fields(r), " ")), maxReasonLen))
	}
	if n := len(reasons) - len(shown); n > 0 {
		lines = append(lines, fmt.Sprintf("…and %d more", n))
	}
	return strings.Join(lines, "\n")
}

func statusLine(c *store.Case, loc *time.Location) string {
	switch c.Status {
	case store.StatusClaimed:
		if c.Assignee == "" {
			return ":raised_hand: Claimed"
		}
		return ":raised_hand: Claimed by " + user(c.Assignee)
	case store.StatusSnoozed:
		s := ":zzz: Snoozed"
		if !c.SnoozedUntil.IsZero() {
			s += " until " + c.SnoozedUntil.In(loc).Format("1/2 15:04 MST")
		}
		return s
	case store.StatusResolved:
		s := ":white_check_mark: Resolved"
		if c.Assignee != "" {
			s += " by " + user(c.Assignee)
		}
		if a := caseAnswered(c, loc); a != "" {
			s += ": " + a
		}
		return s
	case store.StatusDismissed:
		return ":no_entry_sign: Not relevant"
	}
	return ""
}

func actions(a *Alert) slack.Block {
	id := a.caseID()
	var elems []slack.BlockElement
	if u, ok := linkURL(a.Post.URL); ok {
		label := "Open post"
		if a.Post.Platform != "" {
			label = "Open on " + Clean(a.Post.Platform)
		}
		elems = append(elems, slack.NewButtonBlockElement(ActionOpenPost, "", plain(cut(label, maxButtonText))).WithURL(u))
	}
	done := a.Case.Status == store.StatusResolved || a.Case.Status == store.StatusDismissed
	if id != "" && utf16Len(id) <= maxButtonValue && utf16Len(actionsBlockPrefix+id) <= maxBlockID && !done {
		if a.Case.Status != store.StatusClaimed {
			elems = append(elems, slack.NewButtonBlockElement(ActionClaim, id, plain("Claim")).WithStyle(slack.StylePrimary))
		}
		elems = append(elems,
			slack.NewButtonBlockElement(ActionResolve, id, plain("Resolve")),
			slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain(cut("Snooze…", maxPlaceholder)), ActionSnooze,
				slack.NewOptionBlockObject(SnoozeHour, plain("1 hour"), nil),
				slack.NewOptionBlockObject(SnoozeFourHours, plain("4 hours"), nil),
				slack.NewOptionBlockObject(SnoozeTomorrow, plain("Tomorrow morning"), nil),
			),
			slack.NewButtonBlockElement(ActionNotRelevant, id, plain("Not relevant")),
			slack.NewButtonBlockElement(ActionMuteAuthor, id, plain("Mute author 7 days")).WithStyle(slack.StyleDanger).
				WithConfirm(slack.NewConfirmationBlockObject(plain("Mute this author for 7 days?"),
					plain("No alerts about their posts for 7 days. The posts are still recorded and searchable; "+
						"kizuki silence expire lifts the mute earlier."),
					plain("Mute"), plain("Cancel"))),
		)
	}
	if len(elems) == 0 {
		return nil
	}
	blockID := "kizuki_actions"
	if id != "" && utf16Len(actionsBlockPrefix+id) <= maxBlockID {
		blockID = actionsBlockPrefix + id
	}
	return slack.NewActionBlock(blockID, elems...)
}

// linkURL returns u if it is an http(s) URL that fits a button.
func linkURL(u string) (string, bool) {
	if u == "" || utf16Len(u) > maxButtonURL || strings.ContainsAny(u, " \t\r\n<>|") {
		return "", false
	}
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
		return "", false
	}
	return u, true
}

var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// user renders a Slack user: a mention for a user id, escaped text for anything else.
func user(id string) string {
	if slackUserID.MatchString(id) {
		return "<@" + id + ">"
	}
	return Escape("@" + id)
}

func section(id, text string) slack.Block {
	return slack.NewSectionBlock(&slack.TextBlockObject{Type: slack.MarkdownType, Text: text, Verbatim: true}, nil, nil, slack.SectionBlockOptionBlockID(id))
}

func contextBlock(id string, elems ...slack.MixedElement) slack.Block {
	return slack.NewContextBlock(id, elems...)
}

func mrkdwn(text string) *slack.TextBlockObject {
	// Verbatim: Slack must not turn URLs or #channel names in post text into links.
	return &slack.TextBlockObject{Type: slack.MarkdownType, Text: text, Verbatim: true}
}

func plain(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, text, true, false)
}

func bold(s string) string {
	if strings.TrimSpace(s) == "" {
		return s
	}
	return "*" + s + "*"
}

// broadcast matches the words that notify a whole channel or workspace when written
// after "@".
var broadcast = regexp.MustCompile(`(?i)@(channel|here|everyone)`)

// Escape makes untrusted text safe in Slack mrkdwn: control and bidi characters are
// removed (see Clean); &, < and > become &amp;, &lt; and &gt;, as Slack requires, so
// <!channel>, <@U123> and <https://x|y> stay text; and a zero-width joiner after "@"
// keeps @channel, @here and @everyone from ever reading as broadcasts.
func Escape(s string) string {
	s = Clean(s)
	s = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
	return broadcast.ReplaceAllString(s, "@\u200d$1")
}

// cut shortens s to at most n UTF-16 code units, on a rune boundary and never inside an
// entity such as &amp;, ending a cut text with "…".
func cut(s string, n int) string {
	if utf16Len(s) <= n {
		return s
	}
	limit := n - 1 // room for "…"
	used, end := 0, 0
	for i, r := range s {
		w := utf16.RuneLen(r)
		if w < 0 {
			w = 1
		}
		if used+w > limit {
			break
		}
		used += w
		end = i + utf8.RuneLen(r)
	}
	s = s[:end]
	if amp := strings.LastIndexByte(s, '&'); amp >= 0 && !strings.Contains(s[amp:], ";") {
		s = s[:amp] // the cut fell inside an entity
	}
	// A zero-width joiner is only there to glue "@" to the next word; alone at the end it
	// is noise.
	s = strings.TrimSuffix(s, "\u200d")
	return s + "…"
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if w := utf16.RuneLen(r); w > 0 {
			n += w
		} else {
			n++
		}
	}
	return n
}
