package listener

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ClientOptions configure Client. Zero values are sane defaults.
type ClientOptions struct {
	HTTP       *http.Client // default: 20 s timeout
	UserAgent  string       // default: "kizuki/0 (+https://github.com/kizuki-dev/kizuki)"
	MaxRetries int          // default 4
	BaseDelay  time.Duration
	MaxDelay   time.Duration // longest wait, also caps Retry-After (default 5 min)
	MaxBody    int64         // default 8 MiB: a response larger than this is an error
	Logger     *slog.Logger
	// Sleep waits d or until ctx ends; tests replace it to run instantly.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client is the HTTP layer every source shares: timeouts, a descriptive
// User-Agent, retries with exponential back-off and jitter on 5xx and
// network errors, and 429 / Retry-After / rate-limit reset headers honoured.
type Client struct {
	opt ClientOptions
}

// StatusError is a response that retrying will not fix (4xx other than
// 429, or 5xx after the retries).
type StatusError struct {
	URL    string // without its query, which may carry keys
	Status int
	Body   string // the start of the body, for the log
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: HTTP %d: %s", e.URL, e.Status, e.Body)
}

// NewClient returns a Client with defaults filled in.
func NewClient(opt ClientOptions) *Client {
	if opt.HTTP == nil {
		opt.HTTP = &http.Client{Timeout: 20 * time.Second}
	}
	if opt.UserAgent == "" {
		opt.UserAgent = "kizuki/0 (+https://github.com/kizuki-dev/kizuki)"
	}
	if opt.MaxRetries <= 0 {
		opt.MaxRetries = 4
	}
	if opt.BaseDelay <= 0 {
		opt.BaseDelay = time.Second
	}
	if opt.MaxDelay <= 0 {
		opt.MaxDelay = 5 * time.Minute
	}
	if opt.MaxBody <= 0 {
		opt.MaxBody = 8 << 20
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Sleep == nil {
		opt.Sleep = sleep
	}
	return &Client{opt: opt}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Get fetches rawURL with the given headers and returns the response (body
// consumed) and its body. 304 Not Modified is returned without error.
func (c *Client) Get(ctx context.Context, rawURL string, hdr http.Header) (*http.Response, []byte, error) {
	safe := redact(rawURL)
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("request %s: %w", safe, err)
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		req.Header.Set("User-Agent", c.opt.UserAgent)
		resp, err := c.opt.HTTP.Do(req)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(resp.Body, c.opt.MaxBody+1))
			resp.Body.Close()
			if err == nil && int64(len(body)) > c.opt.MaxBody {
				return resp, nil, fmt.Errorf("GET %s: response larger than %d bytes", safe, c.opt.MaxBody)
			}
		}
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("GET %s: %w", safe, ctx.Err())
		}
		var wait time.Duration
		switch {
		case err != nil: // network error or a cut body: worth retrying
			wait = c.backoff(attempt)
			err = fmt.Errorf("GET %s: %w", safe, err)
		case resp.StatusCode == http.StatusTooManyRequests:
			wait = max(retryAfter(resp.Header, time.Now()), c.backoff(attempt))
			err = &StatusError{URL: safe, Status: resp.StatusCode, Body: snippet(body)}
		case resp.StatusCode >= 500:
			wait = c.backoff(attempt)
			err = &StatusError{URL: safe, Status: resp.StatusCode, Body: snippet(body)}
		case resp.StatusCode >= 400:
			return resp, body, &StatusError{URL: safe, Status: resp.StatusCode, Body: snippet(body)}
		default:
			return resp, body, nil
		}
		if attempt >= c.opt.MaxRetries {
			return resp, nil, fmt.Errorf("gave up after %d attempts: %w", attempt+1, err)
		}
		wait = min(wait, c.opt.MaxDelay)
		c.opt.Logger.Warn("retrying", "url", safe, "attempt", attempt+1, "wait", wait, "err", err)
		if serr := c.opt.Sleep(ctx, wait); serr != nil {
			return nil, nil, fmt.Errorf("GET %s: %w", safe, serr)
		}
	}
}

// GetJSON fetches rawURL and decodes its JSON body into v. A body that is
// not the JSON expected is an error that names the URL.
func (c *Client) GetJSON(ctx context.Context, rawURL string, hdr http.Header, v any) (*http.Response, error) {
	h := http.Header{"Accept": {"application/json"}}
	for k, vs := range hdr {
		h[k] = vs
	}
	resp, body, err := c.Get(ctx, rawURL, h)
	if err != nil {
		return resp, err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return resp, fmt.Errorf("GET %s: malformed JSON: %w", redact(rawURL), err)
	}
	return resp, nil
}

// backoff is exponential with full jitter: BaseDelay·2^attempt at most.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opt.BaseDelay << min(attempt, 16)
	d = min(d, c.opt.MaxDelay)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// retryAfter reads how long the server asks to wait: Retry-After (seconds
// or an HTTP date), or a rate-limit reset header (Unix seconds, seconds
// from now, or an ISO 8601 time as Mastodon sends).
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	for _, k := range []string{"X-Rate-Limit-Reset", "X-RateLimit-Reset", "RateLimit-Reset", "X-Ratelimit-Reset"} {
		v := h.Get(k)
		if v == "" {
			continue
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return max(t.Sub(now), 0)
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
			if f > 1e9 { // a Unix time
				return max(time.Unix(int64(f), 0).Sub(now), 0)
			}
			return time.Duration(f * float64(time.Second))
		}
	}
	return 0
}

// redact drops the query of a URL for logs and errors: it may hold keys.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(bad URL)"
	}
	u.RawQuery, u.User = "", nil
	return u.String()
}

func snippet(b []byte) string {
	const n = 200
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// ErrNotFound marks an item the platform does not have (deleted, unknown).
var ErrNotFound = errors.New("not found")
