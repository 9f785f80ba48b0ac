package alerting

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/store"
)

const iaTestSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// iaTestEnv is a handler over a real store, with the changes it reported.
type iaTestEnv struct {
	h     *Interactions
	st    *store.Store
	now   time.Time
	mu    sync.Mutex
	calls []store.Case
	hook  *iaHook
}

// iaHook is Slack's response_url endpoint: it takes a message for the clicker and
// answers 200 "ok", as hooks.slack.com does.
type iaHook struct {
	srv   *httptest.Server
	mu    sync.Mutex
	texts []string
	got   chan struct{}
}

func iaNewHook(t *testing.T) *iaHook {
	h := &iaHook{got: make(chan struct{}, 16)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			ResponseType string `json:"response_type"`
			Text         string `json:"text"`
		}
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&m) != nil || m.ResponseType != "ephemeral" {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.texts = append(h.texts, r.URL.Path+" "+m.Text)
		h.mu.Unlock()
		io.WriteString(w, "ok")
		h.got <- struct{}{}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// client sends every request to the hook, whatever its host: the handler must never
// reach the real hooks.slack.com from a test.
func (h *iaHook) client() *http.Client {
	target, _ := url.Parse(h.srv.URL)
	return &http.Client{Transport: iaRedirect{target}}
}

type iaRedirect struct{ to *url.URL }

func (r iaRedirect) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.to.Scheme, r.to.Host
	return http.DefaultTransport.RoundTrip(req)
}

func iaNewEnv(t *testing.T, now time.Time, loc *time.Location, ids ...string) *iaTestEnv {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "kizuki.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	for _, id := range ids {
		if _, _, err := st.OpenCase(t.Context(), store.Case{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	env := &iaTestEnv{st: st, now: now, hook: iaNewHook(t)}
	env.h = NewInteractions(InteractionOptions{
		HTTPClient:    env.hook.client(),
		SigningSecret: iaTestSecret,
		Cases:         st,
		Now:           func() time.Time { return env.now },
		Location:      loc,
		OnChange: func(_ context.Context, c store.Case, _ string) {
			env.mu.Lock()
			defer env.mu.Unlock()
			env.calls = append(env.calls, c)
		},
	})
	return env
}

func (e *iaTestEnv) changes() []store.Case {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]store.Case(nil), e.calls...)
}

func (e *iaTestEnv) caseOf(t *testing.T, id string) store.Case {
	t.Helper()
	c, ok, err := e.st.GetCase(t.Context(), id)
	if err != nil || !ok {
		t.Fatalf("GetCase(%q) = %v, %v", id, ok, err)
	}
	return c
}

// iaSign is Slack's v0 signature, computed independently of the handler.
func iaSign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + ts + ":"))
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// iaFormBody is the form Slack posts for a payload.
func iaFormBody(payload string) []byte {
	return []byte(url.Values{"payload": {payload}}.Encode())
}

// iaSignedRequest is a request signed at ts with the test secret.
func iaSignedRequest(body []byte, ts time.Time) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sts := strconv.FormatInt(ts.Unix(), 10)
	r.Header.Set("X-Slack-Request-Timestamp", sts)
	r.Header.Set("X-Slack-Signature", iaSign(iaTestSecret, sts, body))
	return r
}

// iaButton is a block_actions payload of one button click.
func iaButton(user, actionID, caseID string) string {
	return iaPayload(user, map[string]any{
		"type": "button", "action_id": actionID, "block_id": "kizuki_case:" + caseID,
		"value": caseID, "action_ts": "1700000000.000100",
	})
}

// iaSnoozeSelect is a block_actions payload of a choice in the snooze select.
func iaSnoozeSelect(user, caseID, choice string) string {
	return iaPayload(user, map[string]any{
		"type": "static_select", "action_id": ActionSnooze, "block_id": "kizuki_case:" + caseID,
		"selected_option": map[string]any{"text": map[string]any{"type": "plain_text", "text": choice}, "value": choice},
		"action_ts":       "1700000000.000100",
	})
}

func iaPayload(user string, action map[string]any) string {
	b, err := json.Marshal(map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": user, "username": "someone", "team_id": "T1"},
		"api_app_id":   "A1",
		"team":         map[string]any{"id": "T1", "domain": "acme"},
		"channel":      map[string]any{"id": "C1", "name": "alerts"},
		"container":    map[string]any{"type": "message", "message_ts": "1700000000.000001", "channel_id": "C1"},
		"response_url": "https://hooks.slack.com/actions/T1/1/abc",
		"actions":      []any{action},
	})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func iaServe(h http.Handler, r *http.Request) (int, string) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(b)
}

func TestInteractClaimSigned(t *testing.T) {
	t.Parallel()
	now := time.Now()
	env := iaNewEnv(t, now, nil, "x:1")
	code, body := iaServe(env.h, iaSignedRequest(iaFormBody(iaButton("U111", ActionClaim, "x:1")), now))
	if code != http.StatusOK || body != "" {
		t.Fatalf("got %d %q, want 200 and no body", code, body)
	}
	c := env.caseOf(t, "x:1")
	if c.Status != store.StatusClaimed || c.Assignee != "U111" {
		t.Errorf("case is %s by %q, want claimed by U111", c.Status, c.Assignee)
	}
	if ch := env.changes(); len(ch) != 1 || ch[0].ID != "x:1" || ch[0].Status != store.StatusClaimed {
		t.Errorf("OnChange got %+v, want the claimed case once", ch)
	}
}

func TestInteractRejects(t *testing.T) {
	t.Parallel()
	now := time.Now()
	claim := iaFormBody(iaButton("U111", ActionClaim, "x:1"))
	tests := []struct {
		name string
		req  func() *http.Request
		// skew moves the handler's clock away from the request's timestamp.
		skew time.Duration
		want int
	}{
		{name: "forged signature", want: http.StatusUnauthorized, req: func() *http.Request {
			r := iaSignedRequest(claim, now)
			ts := r.Header.Get("X-Slack-Request-Timestamp")
			r.Header.Set("X-Slack-Signature", iaSign("not the secret", ts, claim))
			return r
		}},
		{name: "body changed after signing", want: http.StatusUnauthorized, req: func() *http.Request {
			r := iaSignedRequest(claim, now)
			other := iaFormBody(iaButton("U999", ActionClaim, "x:1"))
			r.Body = io.NopCloser(strings.NewReader(string(other)))
			return r
		}},
		{name: "timestamp changed after signing", want: http.StatusUnauthorized, req: func() *http.Request {
			r := iaSignedRequest(claim, now)
			r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(now.Unix()+1, 10))
			return r
		}},
		{name: "stale timestamp", skew: 10 * time.Minute, want: http.StatusUnauthorized, req: func() *http.Request {
			return iaSignedRequest(claim, now)
		}},
		{name: "timestamp from the future", skew: -10 * time.Minute, want: http.StatusUnauthorized, req: func() *http.Request {
			return iaSignedRequest(claim, now)
		}},
		{name: "missing signature", want: http.StatusUnauthorized, req: func() *http.Request {
			r := iaSignedRequest(claim, now)
			r.Header.Del("X-Slack-Signature")
			return r
		}},
		{name: "missing timestamp", want: http.StatusUnauthorized, req: func() *http.Request {
			r := iaSignedRequest(claim, now)
			r.Header.Del("X-Slack-Request-Timestamp")
			return r
		}},
		{name: "malformed signature", want: http.StatusUnauthorized, req: func() *http.Request {
			r := iaSignedRequest(claim, now)
			r.Header.Set("X-Slack-Signature", "v0=not-hex")
			return r
		}},
		{name: "malformed timestamp", want: http.StatusUnauthorized, req: func() *http.Request {
			r := iaSignedRequest(claim, now)
			r.Header.Set("X-Slack-Request-Timestamp", "yesterday")
			return r
		}},
		{name: "GET", want: http.StatusMethodNotAllowed, req: func() *http.Request {
			r := iaSignedRequest(claim, now)
			r.Method = http.MethodGet
			return r
		}},
		{name: "garbage payload JSON", want: http.StatusBadRequest, req: func() *http.Request {
			return iaSignedRequest(iaFormBody(`{"type":"block_actions","actions":[{`), now)
		}},
		{name: "payload of the wrong shape", want: http.StatusBadRequest, req: func() *http.Request {
			return iaSignedRequest(iaFormBody(`{"type":"block_actions","actions":{"a":1}}`), now)
		}},
		{name: "no payload field", want: http.StatusBadRequest, req: func() *http.Request {
			return iaSignedRequest([]byte("token=x"), now)
		}},
		{name: "body not a form", want: http.StatusBadRequest, req: func() *http.Request {
			return iaSignedRequest([]byte("payload=%zz"), now)
		}},
		{name: "no user", want: http.StatusBadRequest, req: func() *http.Request {
			return iaSignedRequest(iaFormBody(iaButton("", ActionClaim, "x:1")), now)
		}},
		{name: "body over 1 MiB", want: http.StatusRequestEntityTooLarge, req: func() *http.Request {
			return iaSignedRequest(iaFormBody(strings.Repeat("a", 1<<20)), now)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := iaNewEnv(t, now.Add(tc.skew), nil, "x:1")
			code, body := iaServe(env.h, tc.req())
			if code != tc.want || body != "" {
				t.Errorf("got %d %q, want %d and no body", code, body, tc.want)
			}
			if c := env.caseOf(t, "x:1"); c.Status != store.StatusOpen {
				t.Errorf("case became %s", c.Status)
			}
			if ch := env.changes(); len(ch) != 0 {
				t.Errorf("OnChange called: %+v", ch)
			}
		})
	}
}

func TestInteractNoSecretRejectsEverything(t *testing.T) {
	t.Parallel()
	now := time.Now()
	env := iaNewEnv(t, now, nil, "x:1")
	h := NewInteractions(InteractionOptions{Cases: env.st, Now: func() time.Time { return now }})
	body := iaFormBody(iaButton("U111", ActionClaim, "x:1"))
	r := iaSignedRequest(body, now)
	r.Header.Set("X-Slack-Signature", iaSign("", r.Header.Get("X-Slack-Request-Timestamp"), body))
	if code, _ := iaServe(h, r); code != http.StatusUnauthorized {
		t.Errorf("got %d, want 401", code)
	}
}

func TestInteractConcurrentClaims(t *testing.T) {
	t.Parallel()
	now := time.Now()
	env := iaNewEnv(t, now, nil, "x:1")
	users := []string{"U111", "U222"}
	codes := make([]int, len(users))
	bodies := make([]string, len(users))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, u := range users {
		req := iaSignedRequest(iaFormBody(iaButton(u, ActionClaim, "x:1")), now)
		wg.Go(func() {
			<-start
			codes[i], bodies[i] = iaServe(env.h, req)
		})
	}
	close(start)
	wg.Wait()

	c := env.caseOf(t, "x:1")
	winner := -1
	for i, u := range users {
		if codes[i] != http.StatusOK {
			t.Fatalf("%s got %d", u, codes[i])
		}
		if bodies[i] == "" {
			if winner >= 0 {
				t.Fatalf("both claims succeeded")
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("no claim succeeded: %q", bodies)
	}
	if c.Status != store.StatusClaimed || c.Assignee != users[winner] {
		t.Errorf("case is %s by %q, want claimed by %s", c.Status, c.Assignee, users[winner])
	}
	var reply struct {
		ResponseType    string `json:"response_type"`
		Text            string `json:"text"`
		ReplaceOriginal *bool  `json:"replace_original"`
	}
	loser := bodies[1-winner]
	if err := json.Unmarshal([]byte(loser), &reply); err != nil {
		t.Fatalf("loser's body %q: %v", loser, err)
	}
	want := "Already claimed by <@" + users[winner] + ">"
	if reply.ResponseType != "ephemeral" || !strings.HasPrefix(reply.Text, want) ||
		reply.ReplaceOriginal == nil || *reply.ReplaceOriginal {
		t.Errorf("loser got %s, want an ephemeral %q that keeps the original", loser, want)
	}
	if ch := env.changes(); len(ch) != 1 || ch[0].Assignee != users[winner] {
		t.Errorf("OnChange got %+v, want the winner's claim once", ch)
	}
}

func TestInteractSnooze(t *testing.T) {
	t.Parallel()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	now := time.Now()
	l := now.In(tokyo)
	tomorrow9 := time.Date(l.Year(), l.Month(), l.Day()+1, 9, 0, 0, 0, tokyo)
	tests := []struct {
		choice string
		want   time.Time
	}{
		{SnoozeHour, now.Add(time.Hour)},
		{SnoozeFourHours, now.Add(4 * time.Hour)},
		{SnoozeTomorrow, tomorrow9},
	}
	for _, tc := range tests {
		t.Run(tc.choice, func(t *testing.T) {
			t.Parallel()
			env := iaNewEnv(t, now, tokyo, "x:1")
			code, body := iaServe(env.h, iaSignedRequest(iaFormBody(iaSnoozeSelect("U111", "x:1", tc.choice)), now))
			if code != http.StatusOK || body != "" {
				t.Fatalf("got %d %q", code, body)
			}
			c := env.caseOf(t, "x:1")
			if c.Status != store.StatusSnoozed || !c.SnoozedUntil.Equal(tc.want) {
				t.Errorf("case is %s until %s, want snoozed until %s", c.Status, c.SnoozedUntil, tc.want)
			}
			if len(env.changes()) != 1 {
				t.Errorf("OnChange calls: %d, want 1", len(env.changes()))
			}
		})
	}
}

func TestInteractSnoozeUntil(t *testing.T) {
	t.Parallel()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	jst := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, tokyo) }
	tests := []struct {
		name   string
		now    time.Time
		choice string
		want   time.Time
	}{
		{"1h", jst(2025, 3, 10, 15, 0), SnoozeHour, jst(2025, 3, 10, 16, 0)},
		{"4h crosses midnight", jst(2025, 3, 10, 22, 30), SnoozeFourHours, jst(2025, 3, 11, 2, 30)},
		{"tomorrow afternoon", jst(2025, 3, 10, 15, 0), SnoozeTomorrow, jst(2025, 3, 11, 9, 0)},
		{"tomorrow just before midnight", jst(2025, 3, 10, 23, 59), SnoozeTomorrow, jst(2025, 3, 11, 9, 0)},
		{"tomorrow after midnight is the next date", jst(2025, 3, 11, 0, 30), SnoozeTomorrow, jst(2025, 3, 12, 9, 0)},
		{"tomorrow from a UTC clock already on the next date in Tokyo",
			time.Date(2025, 3, 10, 20, 0, 0, 0, time.UTC), SnoozeTomorrow, jst(2025, 3, 12, 9, 0)},
		{"tomorrow at month end", jst(2025, 3, 31, 12, 0), SnoozeTomorrow, jst(2025, 4, 1, 9, 0)},
		{"tomorrow at year end", jst(2025, 12, 31, 12, 0), SnoozeTomorrow, jst(2026, 1, 1, 9, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := iaSnoozeUntil(tc.now, tokyo, tc.choice)
			if !ok || !got.Equal(tc.want) {
				t.Errorf("iaSnoozeUntil(%s, %q) = %s, %v, want %s", tc.now, tc.choice, got, ok, tc.want)
			}
		})
	}
	if _, ok := iaSnoozeUntil(time.Now(), tokyo, "2h"); ok {
		t.Error(`"2h" accepted`)
	}
}

func TestInteractVerbs(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name       string
		payload    string
		wantStatus string
		wantNote   string
		wantReply  string // prefix of the ephemeral text; empty for none
		wantChange bool
	}{
		{name: "resolve", payload: iaButton("U111", ActionResolve, "x:1"),
			wantStatus: store.StatusResolved, wantChange: true},
		{name: "not relevant", payload: iaButton("U111", ActionNotRelevant, "x:1"),
			wantStatus: store.StatusDismissed, wantNote: "not relevant", wantChange: true},
		{name: "unknown action", payload: iaButton("U111", "kizuki_frobnicate", "x:1"),
			wantStatus: store.StatusOpen},
		{name: "button without a case", payload: iaButton("U111", ActionClaim, ""),
			wantStatus: store.StatusOpen},
		{name: "unknown case", payload: iaButton("U111", ActionClaim, "x:404"),
			wantStatus: store.StatusOpen, wantReply: "This case no longer exists"},
		{name: "unknown snooze choice", payload: iaSnoozeSelect("U111", "x:1", "2h"),
			wantStatus: store.StatusOpen},
		{name: "snooze without a case block", payload: iaPayload("U111", map[string]any{
			"type": "static_select", "action_id": ActionSnooze, "block_id": "other",
			"selected_option": map[string]any{"value": SnoozeHour},
		}), wantStatus: store.StatusOpen},
		{name: "not block actions", payload: `{"type":"view_submission","user":{"id":"U111"}}`,
			wantStatus: store.StatusOpen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := iaNewEnv(t, now, nil, "x:1")
			code, body := iaServe(env.h, iaSignedRequest(iaFormBody(tc.payload), now))
			if code != http.StatusOK {
				t.Fatalf("got %d %q, want 200", code, body)
			}
			if tc.wantReply == "" && body != "" {
				t.Errorf("body %q, want none", body)
			}
			if tc.wantReply != "" && !strings.Contains(body, tc.wantReply) {
				t.Errorf("body %q, want %q", body, tc.wantReply)
			}
			c := env.caseOf(t, "x:1")
			if c.Status != tc.wantStatus {
				t.Errorf("case is %s, want %s", c.Status, tc.wantStatus)
			}
			last := c.History[len(c.History)-1]
			if tc.wantChange && (last.Actor != "U111" || last.Note != tc.wantNote) {
				t.Errorf("last event %+v, want by U111 with note %q", last, tc.wantNote)
			}
			if got := len(env.changes()); got != map[bool]int{false: 0, true: 1}[tc.wantChange] {
				t.Errorf("OnChange calls: %d", got)
			}
		})
	}
}

func TestInteractClosedCase(t *testing.T) {
	t.Parallel()
	now := time.Now()
	env := iaNewEnv(t, now, nil, "x:1")
	if _, err := env.st.Dismiss(t.Context(), "x:1", "U222", "spam"); err != nil {
		t.Fatal(err)
	}
	code, body := iaServe(env.h, iaSignedRequest(iaFormBody(iaButton("U111", ActionClaim, "x:1")), now))
	if code != http.StatusOK || !strings.Contains(body, `"This case is already closed.`) {
		t.Errorf("got %d %q, want 200 and an ephemeral note", code, body)
	}
	if c := env.caseOf(t, "x:1"); c.Status != store.StatusDismissed {
		t.Errorf("case became %s", c.Status)
	}
	// Slack shows a block action's note only through the response URL.
	select {
	case <-env.hook.got:
	case <-time.After(30 * time.Second): // a bound against a hang
		t.Fatal("no message to the clicker through the response URL")
	}
	env.hook.mu.Lock()
	defer env.hook.mu.Unlock()
	if len(env.hook.texts) != 1 || !strings.HasPrefix(env.hook.texts[0], "/actions/T1/1/abc This case is already closed.") {
		t.Errorf("response URL got %q", env.hook.texts)
	}
}

// iaFailingStore fails every verb, as a store whose disk is gone would.
type iaFailingStore struct{}

var iaErrDisk = errors.New("disk on fire")

func (iaFailingStore) Claim(context.Context, string, string) (store.Case, error) {
	return store.Case{}, iaErrDisk
}

func (iaFailingStore) Resolve(context.Context, string, string) (store.Case, error) {
	return store.Case{}, iaErrDisk
}

func (iaFailingStore) Snooze(context.Context, string, string, time.Time) (store.Case, error) {
	return store.Case{}, iaErrDisk
}

func (iaFailingStore) Dismiss(context.Context, string, string, string) (store.Case, error) {
	return store.Case{}, iaErrDisk
}

func TestInteractStoreFailure(t *testing.T) {
	t.Parallel()
	now := time.Now()
	h := NewInteractions(InteractionOptions{SigningSecret: iaTestSecret, Cases: iaFailingStore{}, Now: func() time.Time { return now }})
	code, body := iaServe(h, iaSignedRequest(iaFormBody(iaButton("U111", ActionClaim, "x:1")), now))
	if code != http.StatusInternalServerError || body != "" {
		t.Errorf("got %d %q, want 500 and no detail", code, body)
	}
}

// FuzzInteractPayload feeds signed hostile payloads: the handler answers, never panics.
func FuzzInteractPayload(f *testing.F) {
	for _, s := range []string{
		iaButton("U111", ActionClaim, "x:1"),
		iaSnoozeSelect("U111", "x:1", SnoozeTomorrow),
		`{"type":"block_actions","actions":[null,{"block_id":1}]}`,
		`{"type":"block_actions","user":{"id":"U1"},"actions":[{"block_id":"kizuki_case:","action_id":"kizuki_snooze"}]}`,
		`{"type":"block_actions","state":{"values":{"a":{"b":{"type":"x"}}}},"actions":[]}`,
		`{"type":"block_actions","message":{"blocks":[{"type":"nope"},{"type":"section","text":5}]}}`,
		`[]`, `null`, `"x"`, ``,
	} {
		f.Add(s)
	}
	now := time.Now()
	h := NewInteractions(InteractionOptions{SigningSecret: iaTestSecret, Cases: iaFailingStore{}, Now: func() time.Time { return now }})
	f.Fuzz(func(t *testing.T, payload string) {
		code, _ := iaServe(h, iaSignedRequest(iaFormBody(payload), now))
		switch code {
		case http.StatusOK, http.StatusBadRequest, http.StatusInternalServerError:
		default:
			t.Errorf("got %d", code)
		}
	})
}
