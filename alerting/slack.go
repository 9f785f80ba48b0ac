package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Slack delivers alerts to Slack channels with a bot token. It sends one message per call
// and never retries: the caller (the outbox) decides, with Retryable and RetryAfter.
type Slack struct {
	api *slack.Client
	log *slog.Logger
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
	return &Slack{api: slack.New(opt.Token, opts...), log: l}
}

// Post sends the alert to channel and returns the message's timestamp, which Update and
// Reply need. Link previews are off: the post's URL is in a button.
func (s *Slack) Post(ctx context.Context, channel string, a Alert) (ts string, err error) {
	_, ts, err = s.api.PostMessageContext(ctx, channel,
		slack.MsgOptionBlocks(Blocks(a)...),
		slack.MsgOptionText(FallbackText(a), false),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	)
	if err != nil {
		return "", fmt.Errorf("slack: post alert %s to %s: %w", a.Post.ID, channel, err)
	}
	s.log.DebugContext(ctx, "slack alert posted", "post", a.Post.ID, "channel", channel, "ts", ts)
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
		slack.MsgOptionText(cut(Escape(text), 40000), false),
		slack.MsgOptionTS(threadTS),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	)
	if err != nil {
		return fmt.Errorf("slack: reply in %s to %s: %w", channel, threadTS, err)
	}
	return nil
}

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
