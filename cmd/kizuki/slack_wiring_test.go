package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/store"
)

// fakeSlackAPI answers the Web API methods the daemon calls, in Slack's JSON, and counts them.
type fakeSlackAPI struct {
	mu    sync.Mutex
	calls map[string]int
}

func (f *fakeSlackAPI) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *fakeSlackAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/")
	f.mu.Lock()
	f.calls[method]++
	n := f.calls[method]
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	r.ParseForm() // slack-go sends the token as a header or as a form field
	if r.Header.Get("Authorization") != "Bearer xoxb-wiring" && r.Form.Get("token") != "xoxb-wiring" {
		fmt.Fprint(w, `{"ok":false,"error":"invalid_auth"}`)
		return
	}
	switch method {
	case "chat.postMessage", "chat.update":
		fmt.Fprintf(w, `{"ok":true,"channel":"C0ALERTS","ts":"1700000000.%06d","message":{"text":""}}`, n)
	case "conversations.history", "conversations.replies":
		fmt.Fprint(w, `{"ok":true,"messages":[],"has_more":false}`)
	default:
		fmt.Fprint(w, `{"ok":false,"error":"unknown_method"}`)
	}
}

// TestDaemonSlackWiring: with a slack section, alerts go to Slack, and a signed click on
// the daemon's /slack/interactions claims the case and updates the message.
func TestDaemonSlackWiring(t *testing.T) {
	const secret = "wiring-signing-secret"
	t.Setenv("KIZUKI_SLACK_BOT_TOKEN", "xoxb-wiring")
	t.Setenv("KIZUKI_SLACK_SIGNING_SECRET", secret)
	api := &fakeSlackAPI{calls: map[string]int{}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	rulesDir, _ := filepath.Abs("testdata/rules")
	posts, _ := filepath.Abs("testdata/posts.jsonl")
	cfg := filepath.Join(dir, "kizuki.yaml")
	if err := os.WriteFile(cfg, []byte("data_dir: "+data+"\nrules: ["+rulesDir+"]\nlog: {level: warn}\nhttp: {listen: \"127.0.0.1:0\"}\n"+
		"slack:\n  bot_token: ${KIZUKI_SLACK_BOT_TOKEN}\n  signing_secret: ${KIZUKI_SLACK_SIGNING_SECRET}\n  api_url: "+srv.URL+"/\n  default_channel: C0ALERTS\n"+
		"sources:\n  - {type: file, name: export, path: "+posts+", schedule: \"@every 1h\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runWith(ctx, []string{"run", "--config", cfg}, &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb})
	}()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		// A bound against a hang, not a performance assertion.
		for deadline := time.Now().Add(60 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waited for %s:\n%s", what, errb.String())
			}
		}
	}
	// The six alerts of the sample (one per post, paced per channel by Slack's rule).
	waitFor("six alerts posted", func() bool { return api.count("chat.postMessage") >= 6 })
	if strings.Contains(out.String(), "■ ") {
		t.Error("alerts printed to the terminal although Slack is configured")
	}
	b, err := os.ReadFile(filepath.Join(data, localAPIFile))
	if err != nil {
		t.Fatal(err)
	}
	var info localAPIInfo
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	click := func(sign string) int {
		payload, _ := json.Marshal(map[string]any{
			"type": "block_actions", "user": map[string]any{"id": "U0SATO", "username": "sato", "team_id": "T1"},
			"team": map[string]any{"id": "T1"}, "channel": map[string]any{"id": "C0ALERTS"},
			"container":    map[string]any{"type": "message", "message_ts": "1700000000.000001", "channel_id": "C0ALERTS"},
			"response_url": "https://hooks.slack.com/actions/T1/1/abc",
			"actions": []any{map[string]any{"type": "button", "action_id": "kizuki_claim", "block_id": "kizuki_case:x:1",
				"value": "x:1", "action_ts": "1700000000.000100"}},
		})
		body := url.Values{"payload": {string(payload)}}.Encode()
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		m := hmac.New(sha256.New, []byte(sign))
		m.Write([]byte("v0:" + ts + ":" + body))
		req, _ := http.NewRequest(http.MethodPost, "http://"+info.Addr+interactionsPath, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(m.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := click("forged-secret"); code != http.StatusUnauthorized {
		t.Errorf("forged click: %d, want 401", code)
	}
	if code := click(secret); code != http.StatusOK {
		t.Fatalf("signed click: %d", code)
	}
	waitFor("the alert updated after the claim", func() bool { return api.count("chat.update") >= 1 })
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("daemon exit %d: %s", code, errb.String())
	}
	st, err := store.Open(filepath.Join(data, "kizuki.db"), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, ok, err := st.GetCase(context.Background(), "x:1")
	if err != nil || !ok || c.Status != store.StatusClaimed || c.Assignee != "U0SATO" {
		t.Errorf("case x:1 after the click: %+v (found %v, %v)", c, ok, err)
	}
}
