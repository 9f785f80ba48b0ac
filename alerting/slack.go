package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// Slack delivers alerts to Slack channels with a bot token. It sends one message per call
// and never retries: the caller (the outbox) decides, with Retryable and RetryAfter. It is
// a SentFinder: every message it posts carries its outbox key (see sentcheck.go).
type Slack struct {
	api *slack.Client
	log *slog.Logger
	now func() time.Time

	// mu guards the caches of the sent check.
	mu    sync.Mutex
	ids   map[string]string      // channel name without "#" → ID
	lists map[string]*scListing  // conversation type → how far conversations.list went
	held  map[string]scHeldError // channel or listing → why it cannot be checked, till when
}

// SlackOptions configure a Slack notifier.
type SlackOptions struct {
	// Token is the bot token (xoxb-…), read from the environment by the caller. It is
	// never logged.
	Token string
	// APIURL replaces https://slack.com/api/ for tests and proxies; a missing final "/"
	// is added.
	APIURL string
	// Logger receives debug lines about delivered messages; nil discards them.
	Logger *slog.Logger
	// HTTPClient sends the requests; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// Now is the clock, for how long a missing scope is remembered; nil means time.Now.
	Now func() time.Time
}

// NewSlack returns a Slack notifier.
func NewSlack(opt SlackOptions) *Slack {
	hc := opt.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	opts := []slack.Option{slack.OptionHTTPClient(hc)}
	if opt.APIURL != "" {
		u := opt.APIURL
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		opts = append(opts, slack.OptionAPIURL(u))
	}
	l := opt.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	return &Slack{api: slack.New(opt.Token, opts...), log: l, now: now,
		ids: map[string]string{}, lists: map[string]*scListing{}, held: map[string]scHeldError{}}
}

// Post sends an outbox message to channel and returns its timestamp, which Update and
// Reply need. A post alert is its Block Kit layout; a notice or a reply is its Blocks, if
// set, or else its Text, escaped; a reply goes into the thread at a.ThreadTS; an update
// replaces the alert at a.ThreadTS and returns that ts. Link previews are off: the post's
// URL is in a button. A message with a.Key set (the Deliverer sets it) carries it in its
// metadata, for FindSent.
func (s *Slack) Post(ctx context.Context, channel string, a Alert) (ts string, err error) {
	switch a.Kind {
	case KindAlert:
	case KindNotice:
		return s.postMessage(ctx, channel, "", a)
	case KindReply:
		// A reply whose thread was sent without a ts (cannot happen with Slack) is
		// better posted on its own than lost.
		return s.postMessage(ctx, channel, a.ThreadTS, a)
	case KindUpdate:
		if a.ThreadTS == "" {
			return "", fmt.Errorf("slack: update of %s in %s: no message ts", a.ThreadKey, channel)
		}
		return a.ThreadTS, s.Update(ctx, channel, a.ThreadTS, a)
	default:
		return "", fmt.Errorf("slack: unknown message kind %q", a.Kind)
	}
	opts := []slack.MsgOption{
		slack.MsgOptionBlocks(Blocks(a)...),
		slack.MsgOptionText(FallbackText(a), false),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	}
	if a.Key != "" {
		opts = append(opts, keyMetadata(a.Key))
	}
	id, ts, err := s.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return "", fmt.Errorf("slack: post alert %s to %s: %w", a.Post.ID, channel, err)
	}
	s.rememberChannel(channel, id)
	s.log.DebugContext(ctx, "slack alert posted", "post", a.Post.ID, "channel", channel, "ts", ts)
	return ts, nil
}

// postMessage posts a notice, or a reply when threadTS is set: Blocks with Text as the
// notification text, or Text alone, escaped either way.
func (s *Slack) postMessage(ctx context.Context, channel, threadTS string, a Alert) (string, error) {
	opts := []slack.MsgOption{slack.MsgOptionDisableLinkUnfurl(), slack.MsgOptionDisableMediaUnfurl()}
	text := Escape(a.Text)
	switch {
	case a.Blocks != nil && len(a.Blocks.BlockSet) > 0:
		blocks := a.Blocks.BlockSet
		if len(blocks) > maxBlocks {
			blocks = blocks[:maxBlocks]
		}
		opts = append(opts, slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(cut(text, maxFallbackLen), false))
	case strings.TrimSpace(text) != "":
		opts = append(opts, slack.MsgOptionText(cut(text, maxMessageText), false))
	default:
		return "", fmt.Errorf("slack: empty %s message for %s", a.Kind, channel)
	}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	if a.Key != "" {
		opts = append(opts, keyMetadata(a.Key))
	}
	id, ts, err := s.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return "", fmt.Errorf("slack: post %s to %s: %w", a.Kind, channel, err)
	}
	s.rememberChannel(channel, id)
	s.log.DebugContext(ctx, "slack message posted", "kind", a.Kind, "channel", channel, "thread", threadTS, "ts", ts)
	return ts, nil
}

// Update replaces the alert message at ts, for instance after a claim.
func (s *Slack) Update(ctx context.Context, channel, ts string, a Alert) error {
	_, _, _, err := s.api.UpdateMessageContext(ctx, channel, ts,
		slack.MsgOptionBlocks(Blocks(a)...),
		slack.MsgOptionText(FallbackText(a), false),
	)
	if err != nil {
		return fmt.Errorf("slack: update alert %s in %s at %s: %w", a.Post.ID, channel, ts, err)
	}
	s.log.DebugContext(ctx, "slack alert updated", "post", a.Post.ID, "channel", channel, "ts", ts)
	return nil
}

// Reply posts text in the thread of the message at threadTS. The text is escaped like
// post text: it may quote what customers wrote.
func (s *Slack) Reply(ctx context.Context, channel, threadTS, text string) error {
	_, _, err := s.api.PostMessageContext(ctx, channel,
		slack.MsgOptionText(cut(Escape(text), maxMessageText), false),
		slack.MsgOptionTS(threadTS),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	)
	if err != nil {
		return fmt.Errorf("slack: reply in %s to %s: %w", channel, threadTS, err)
	}
	return nil
}

// maxMessageText is the longest top-level text Slack accepts (it truncates beyond 40,000
// characters).
const maxMessageText = 40000

// RetryAfter returns how long Slack asked to wait before the next call, when err is (or
// wraps) a rate limit with a Retry-After header.
func RetryAfter(err error) (time.Duration, bool) {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return rl.RetryAfter, true
	}
	return 0, false
}

// Retryable reports whether sending again later may succeed: yes for rate limits, Slack's
// 5xx and its own transient errors, timeouts and network failures; no for everything that
// needs a person (invalid_auth, channel_not_found, not_in_channel, invalid_blocks, …) and
// for a context the caller cancelled.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	if _, ok := RetryAfter(err); ok {
		return true
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		return sc.Retryable()
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable",
			"request_timeout", "team_added_to_org":
			return true
		}
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}
