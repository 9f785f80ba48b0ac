package alerting

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"

	"github.com/kizuki-dev/kizuki/store"
)

const testToken = "xoxb-test-secret-token"

// recorder keeps the forms of the API calls a slacktest server received.
type recorder struct {
	mu     sync.Mutex
	calls  map[string][]url.Values
	auth   []string
	tokens []string
}

func (r *recorder) record(method string, req *http.Request) url.Values {
	body, _ := io.ReadAll(req.Body)
	v, _ := url.ParseQuery(string(body))
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string][]url.Values{}
	}
	r.calls[method] = append(r.calls[method], v)
	r.auth = append(r.auth, req.Header.Get("Authorization"))
	r.tokens = append(r.tokens, v.Get("token"))
	return v
}

func (r *recorder) last(t *testing.T, method string) url.Values {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls[method]
	if len(c) == 0 {
		t.Fatalf("no %s call", method)
	}
	return c[len(c)-1]
}

// newSlackServer starts a slacktest server whose chat.postMessage and chat.update record
// their forms and answer as Slack does (slacktest has no chat.update of its own).
func newSlackServer(t *testing.T) (*slacktest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	n := 0
	answer := func(method string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			v := rec.record(method, r)
			rec.mu.Lock()
			n++
			ts := v.Get("ts")
			if ts == "" {
				ts = fmt.Sprintf("1763630100.%06d", n)
			}
			rec.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": v.Get("channel"), "ts": ts, "text": v.Get("text")})
		}
	}
	srv := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", answer("chat.postMessage"))
		c.Handle("/chat.update", answer("chat.update"))
	})
	srv.Start()
	t.Cleanup(srv.Stop)
	return srv, rec
}

func TestSlackPostWithSlacktestDefaults(t *testing.T) {
	t.Parallel()
	// slacktest's own chat.postMessage handler: it parses the blocks, so a malformed
	// payload fails here.
	srv := slacktest.NewTestServer()
	srv.Start()
	t.Cleanup(srv.Stop)
	s := NewSlack(SlackOptions{Token: testToken, APIURL: srv.GetAPIURL()})
	ts, err := s.Post(t.Context(), "C0ALERTS", actionableAlert(tokyo(t)))
	if err != nil {
		t.Fatal(err)
	}
	if ts == "" {
		t.Error("no ts")
	}
}

func TestSlackPostUpdateReply(t *testing.T) {
	t.Parallel()
	srv, rec := newSlackServer(t)
	var logs bytes.Buffer
	s := NewSlack(SlackOptions{
		Token:  testToken,
		APIURL: strings.TrimSuffix(srv.GetAPIURL(), "/"), // the "/" is added
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	ctx := t.Context()
	a := riskyAlert(tokyo(t))

	ts, err := s.Post(ctx, "C0RISK", a)
	if err != nil {
		t.Fatal(err)
	}
	if ts != "1763630100.000001" {
		t.Errorf("ts = %q", ts)
	}
	v := rec.last(t, "chat.postMessage")
	if v.Get("channel") != "C0RISK" || v.Get("unfurl_links") != "false" || v.Get("unfurl_media") != "false" {
		t.Errorf("post form: %v", v)
	}
	if v.Get("text") != FallbackText(a) {
		t.Errorf("text = %q, want the fallback text", v.Get("text"))
	}
	var blocks slack.Blocks
	if err := json.Unmarshal([]byte(v.Get("blocks")), &blocks); err != nil {
		t.Fatalf("blocks: %v", err)
	}
	if len(blocks.BlockSet) != len(Blocks(a)) {
		t.Errorf("sent %d blocks, want %d", len(blocks.BlockSet), len(Blocks(a)))
	}
	assertNoEntities(t, v.Get("blocks"))
	assertNoEntities(t, v.Get("text"))

	a.Case.Status, a.Case.Assignee = store.StatusClaimed, "U0SATO"
	if err := s.Update(ctx, "C0RISK", ts, a); err != nil {
		t.Fatal(err)
	}
	v = rec.last(t, "chat.update")
	if v.Get("ts") != ts || v.Get("channel") != "C0RISK" {
		t.Errorf("update form: %v", v)
	}
	if b := v.Get("blocks"); strings.Contains(b, ActionClaim) || !strings.Contains(b, "Claimed by") {
		t.Errorf("updated blocks: %s", b)
	}

	if err := s.Reply(ctx, "C0RISK", ts, "they wrote <!channel> & @here"); err != nil {
		t.Fatal(err)
	}
	v = rec.last(t, "chat.postMessage")
	if v.Get("thread_ts") != ts {
		t.Errorf("reply thread_ts = %q", v.Get("thread_ts"))
	}
	if got, want := v.Get("text"), "they wrote &lt;!channel&gt; &amp; @\u200dhere"; got != want {
		t.Errorf("reply text = %q, want %q", got, want)
	}

	rec.mu.Lock()
	for i, h := range rec.auth {
		// slack-go sends chat.* tokens in the form, other methods in the header.
		if h != "Bearer "+testToken && rec.tokens[i] != testToken {
			t.Errorf("call %d sent no token", i)
		}
	}
	rec.mu.Unlock()
	if strings.Contains(logs.String(), testToken) {
		t.Errorf("token logged: %s", logs.String())
	}
	if !strings.Contains(logs.String(), "slack alert posted") {
		t.Errorf("no debug line: %s", logs.String())
	}
}

// slackLike answers every call with status and body, as Slack does.
func slackLike(t *testing.T, status int, header map[string]string, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

func TestSlackErrors(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL + "/"
	closed.Close()

	for _, tc := range []struct {
		name       string
		url        string
		retryable  bool
		retryAfter time.Duration // 0: none
	}{
		{"rate limited", slackLike(t, http.StatusTooManyRequests, map[string]string{"Retry-After": "7"}, `{"ok":false,"error":"ratelimited"}`), true, 7 * time.Second},
		{"429 without Retry-After", slackLike(t, http.StatusTooManyRequests, nil, `{"ok":false,"error":"ratelimited"}`), true, 0},
		{"ratelimited in a 200", slackLike(t, http.StatusOK, nil, `{"ok":false,"error":"ratelimited"}`), true, 0},
		{"server error", slackLike(t, http.StatusServiceUnavailable, nil, `<html>down</html>`), true, 0},
		{"internal_error", slackLike(t, http.StatusOK, nil, `{"ok":false,"error":"internal_error"}`), true, 0},
		{"network", closedURL, true, 0},
		{"invalid_auth", slackLike(t, http.StatusOK, nil, `{"ok":false,"error":"invalid_auth"}`), false, 0},
		{"channel_not_found", slackLike(t, http.StatusOK, nil, `{"ok":false,"error":"channel_not_found"}`), false, 0},
		{"invalid_blocks", slackLike(t, http.StatusOK, nil, `{"ok":false,"error":"invalid_blocks"}`), false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := NewSlack(SlackOptions{Token: testToken, APIURL: tc.url})
			_, err := s.Post(t.Context(), "C0ALERTS", actionableAlert(time.UTC))
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("token in error: %v", err)
			}
			if got := Retryable(err); got != tc.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", err, got, tc.retryable)
			}
			d, ok := RetryAfter(err)
			if ok != (tc.retryAfter > 0) || d != tc.retryAfter {
				t.Errorf("RetryAfter(%v) = %v, %v; want %v", err, d, ok, tc.retryAfter)
			}
			// Update and Reply wrap errors the same way.
			if err := s.Update(t.Context(), "C0ALERTS", "1.2", actionableAlert(time.UTC)); Retryable(err) != tc.retryable {
				t.Errorf("Update: Retryable(%v) != %v", err, tc.retryable)
			}
			if err := s.Reply(t.Context(), "C0ALERTS", "1.2", "hi"); Retryable(err) != tc.retryable {
				t.Errorf("Reply: Retryable(%v) != %v", err, tc.retryable)
			}
		})
	}
}

func TestSlackCancelledIsNotRetryable(t *testing.T) {
	t.Parallel()
	srv, _ := newSlackServer(t)
	s := NewSlack(SlackOptions{Token: testToken, APIURL: srv.GetAPIURL()})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Post(ctx, "C0ALERTS", actionableAlert(time.UTC))
	if err == nil || Retryable(err) {
		t.Errorf("Post with a cancelled context: err %v, retryable %v", err, Retryable(err))
	}
	if Retryable(nil) {
		t.Error("Retryable(nil)")
	}
}
