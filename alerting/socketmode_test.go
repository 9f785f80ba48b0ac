package alerting

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/kizuki-dev/kizuki/store"
)

const smAppToken = "xapp-1-A1-secret-app-token"

// smSlack is slacktest's server speaking Socket Mode: apps.connections.open hands out its
// WebSocket, and response URLs point at it too.
type smSlack struct {
	srv       *slacktest.Server
	responses chan string
	mu        sync.Mutex
	auth      []string
}

func newSMSlack(t *testing.T, openAnswer string) *smSlack {
	t.Helper()
	s := &smSlack{responses: make(chan string, 16)}
	s.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/apps.connections.open", func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			s.auth = append(s.auth, r.Header.Get("Authorization"))
			s.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			if openAnswer != "" {
				_, _ = io.WriteString(w, openAnswer)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": s.srv.GetWSURL()})
		})
		respond := func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			s.responses <- r.URL.Path + " " + string(b)
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "ok")
		}
		c.Handle("/respond/", respond)
		c.Handle("/elsewhere/", respond) // outside the allowed prefix
	})
	s.srv.Start()
	t.Cleanup(s.srv.Stop)
	return s
}

// send puts an interactive envelope on the WebSocket, as Slack does for a click whose
// answers go to respondPath.
func (s *smSlack) send(t *testing.T, envelopeID, payload, respondPath string) {
	t.Helper()
	payload = strings.Replace(payload, "https://hooks.slack.com/actions/T1/1/abc", "http://"+s.srv.ServerAddr+respondPath, 1)
	b, err := json.Marshal(map[string]any{
		"envelope_id": envelopeID, "type": "interactive", "accepts_response_payload": false,
		"payload": json.RawMessage(payload),
	})
	if err != nil {
		t.Fatal(err)
	}
	s.srv.SendToWebsocket(string(b))
}

// acked waits for the next message Kizuki writes on the WebSocket and returns its envelope id.
func (s *smSlack) acked(t *testing.T) string {
	t.Helper()
	var ack struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal([]byte(<-s.srv.SeenFeed), &ack); err != nil {
		t.Fatal(err)
	}
	if len(ack.Payload) != 0 {
		t.Errorf("ack of %s carries a payload: %s", ack.EnvelopeID, ack.Payload)
	}
	return ack.EnvelopeID
}

func TestSocketModeAppliesClicks(t *testing.T) {
	t.Parallel()
	slackSrv := newSMSlack(t, "")
	now := time.Now()
	st, err := store.Open(filepath.Join(t.TempDir(), "kizuki.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, _, err := st.OpenCase(t.Context(), store.Case{ID: "x:1"}); err != nil {
		t.Fatal(err)
	}
	changes := make(chan store.Case, 4)
	h := NewInteractions(InteractionOptions{Cases: st, Now: func() time.Time { return now },
		OnChange: func(_ context.Context, c store.Case, _ string) { changes <- c }})
	sm, err := NewSocketMode(SocketModeOptions{AppToken: smAppToken, Interactions: h, APIURL: slackSrv.srv.GetAPIURL(),
		ResponseURLPrefix: "http://" + slackSrv.srv.ServerAddr + "/respond/", PingInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- sm.Run(ctx) }()

	// A claim: acknowledged, applied, nothing to tell the clicker.
	slackSrv.send(t, "e1", iaButton("U111", ActionClaim, "x:1"), "/respond/1")
	if id := slackSrv.acked(t); id != "e1" {
		t.Fatalf("acked %q, want e1", id)
	}
	if c := <-changes; c.Status != store.StatusClaimed || c.Assignee != "U111" {
		t.Fatalf("change %+v, want claimed by U111", c)
	}

	// A second claim loses, and its clicker is told through the response URL.
	slackSrv.send(t, "e2", iaButton("U222", ActionClaim, "x:1"), "/respond/2")
	if id := slackSrv.acked(t); id != "e2" {
		t.Fatalf("acked %q, want e2", id)
	}
	got := <-slackSrv.responses
	path, body, _ := strings.Cut(got, " ")
	var reply iaReply
	if err := json.Unmarshal([]byte(body), &reply); err != nil {
		t.Fatalf("response %q: %v", body, err)
	}
	if path != "/respond/2" || reply.ResponseType != "ephemeral" || reply.ReplaceOriginal ||
		!strings.HasPrefix(reply.Text, "Already claimed by <@U111>") {
		t.Errorf("response to %s: %+v", path, reply)
	}

	// A response URL outside the prefix is never followed; other envelopes are acknowledged.
	slackSrv.send(t, "e3", iaButton("U333", ActionClaim, "x:1"), "/elsewhere/3")
	if id := slackSrv.acked(t); id != "e3" {
		t.Fatalf("acked %q, want e3", id)
	}
	slackSrv.srv.SendToWebsocket(`{"envelope_id":"e4","type":"events_api","accepts_response_payload":false,"payload":{"type":"event_callback","event":{"type":"app_mention","text":"hi"}}}`)
	if id := slackSrv.acked(t); id != "e4" {
		t.Fatalf("acked %q, want e4", id)
	}

	cancel()
	if err := <-runErr; err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
	select {
	case r := <-slackSrv.responses:
		t.Errorf("unexpected response %q", r)
	default: // Run waited for answers in flight: there were none
	}
	if c, _, _ := st.GetCase(t.Context(), "x:1"); c.Assignee != "U111" {
		t.Errorf("case claimed by %q, want U111", c.Assignee)
	}
	slackSrv.mu.Lock()
	defer slackSrv.mu.Unlock()
	if len(slackSrv.auth) == 0 || slackSrv.auth[0] != "Bearer "+smAppToken {
		t.Errorf("apps.connections.open auth %q, want the app-level token", slackSrv.auth)
	}
}

func TestSocketModeRefusedToken(t *testing.T) {
	t.Parallel()
	slackSrv := newSMSlack(t, `{"ok":false,"error":"invalid_auth"}`)
	h := NewInteractions(InteractionOptions{Cases: iaFailingStore{}})
	sm, err := NewSocketMode(SocketModeOptions{AppToken: smAppToken, Interactions: h, APIURL: slackSrv.srv.GetAPIURL()})
	if err != nil {
		t.Fatal(err)
	}
	err = sm.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") || strings.Contains(err.Error(), smAppToken) {
		t.Errorf("Run = %v, want invalid_auth without the token", err)
	}
	if _, err := NewSocketMode(SocketModeOptions{AppToken: "xoxb-bot-token", Interactions: h}); err == nil {
		t.Error("a bot token was accepted as the app-level token")
	}
}
