package listener

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recordSleep returns a Sleep that records waits instead of sleeping.
func recordSleep(waits *[]time.Duration) func(context.Context, time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		*waits = append(*waits, d)
		return ctx.Err()
	}
}

func TestClientRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		responses []func(w http.ResponseWriter)
		wantErr   bool
		wantCalls int32
		wantWait  time.Duration // the first wait, when it is the server's
	}{
		{"ok", []func(http.ResponseWriter){ok}, false, 1, 0},
		{"500 twice then ok", []func(http.ResponseWriter){status(500), status(502), ok}, false, 3, 0},
		{"429 with Retry-After seconds", []func(http.ResponseWriter){retryIn("120"), ok}, false, 2, 120 * time.Second},
		{"429 with an empty body and a reset header", []func(http.ResponseWriter){resetIn("X-Rate-Limit-Reset", "30"), ok}, false, 2, 30 * time.Second},
		{"404 is final", []func(http.ResponseWriter){status(404)}, true, 1, 0},
		{"500 forever gives up", []func(http.ResponseWriter){status(500), status(500), status(500), status(500), status(500), status(500)}, true, 5, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := int(calls.Add(1)) - 1
				if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "kizuki/") {
					t.Errorf("User-Agent %q", ua)
				}
				tc.responses[min(i, len(tc.responses)-1)](w)
			}))
			defer srv.Close()
			var waits []time.Duration
			c := NewClient(ClientOptions{Sleep: recordSleep(&waits), BaseDelay: time.Millisecond})
			var v map[string]any
			_, err := c.GetJSON(context.Background(), srv.URL+"/x?api_key=SECRET", nil, &v)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error leaks the query: %v", err)
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("%d calls, want %d", got, tc.wantCalls)
			}
			if tc.wantWait > 0 && (len(waits) == 0 || waits[0] != tc.wantWait) {
				t.Errorf("waits %v, want first %v", waits, tc.wantWait)
			}
			var se *StatusError
			if tc.wantErr && !errors.As(err, &se) {
				t.Errorf("error %v is not a *StatusError", err)
			}
		})
	}
}

func ok(w http.ResponseWriter) { w.Write([]byte(`{"ok":true}`)) }

func status(code int) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { w.WriteHeader(code) }
}

func retryIn(v string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", v)
		w.WriteHeader(http.StatusTooManyRequests)
	}
}

func resetIn(h, v string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set(h, v)
		w.WriteHeader(http.StatusTooManyRequests)
	}
}

func TestRetryAfterForms(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header, value string
		want          time.Duration
	}{
		{"Retry-After", "7", 7 * time.Second},
		{"Retry-After", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"X-RateLimit-Reset", "2026-11-24T12:05:00.000Z", 5 * time.Minute},      // Mastodon
		{"X-Rate-Limit-Reset", "1795521660", time.Unix(1795521660, 0).Sub(now)}, // X: Unix time
		{"X-Ratelimit-Reset", "42.5", 42500 * time.Millisecond},                 // Reddit: seconds
		{"Retry-After", "soon", 0},
	}
	for _, tc := range tests {
		h := http.Header{}
		h.Set(tc.header, tc.value)
		if got := retryAfter(h, now); got != tc.want {
			t.Errorf("%s: %s → %v, want %v", tc.header, tc.value, got, tc.want)
		}
	}
}

func TestClientLimits(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Write([]byte(strings.Repeat("x", 2000)))
		case "/bad":
			w.Write([]byte(`{"truncated":`))
		case "/slow":
			time.Sleep(200 * time.Millisecond)
			ok(w)
		}
	}))
	defer srv.Close()
	c := NewClient(ClientOptions{MaxBody: 1000, MaxRetries: 1, BaseDelay: time.Millisecond,
		HTTP: &http.Client{Timeout: 50 * time.Millisecond}, Sleep: func(context.Context, time.Duration) error { return nil }})
	if _, _, err := c.Get(context.Background(), srv.URL+"/big", nil); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big body: %v", err)
	}
	var v any
	if _, err := c.GetJSON(context.Background(), srv.URL+"/bad", nil, &v); err == nil || !strings.Contains(err.Error(), "malformed JSON") {
		t.Errorf("bad JSON: %v", err)
	}
	if _, _, err := c.Get(context.Background(), srv.URL+"/slow", nil); err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Errorf("slow server: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := c.Get(ctx, srv.URL+"/big", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}
