package alerting

// Socket Mode: Slack sends the button clicks over a WebSocket that Kizuki opens with an
// app-level token, so no public URL is needed. Each click is acknowledged at once, then
// applied with the same logic as the HTTP endpoint (Interactions.Handle); a message for
// the clicker goes to the interaction's response_url, as Slack wants for block actions.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// SocketModeOptions configure NewSocketMode. AppToken and Interactions are required.
type SocketModeOptions struct {
	// AppToken is the app-level token (xapp-…) with the connections:write scope, read
	// from the environment by the caller. It is never logged.
	AppToken string
	// Interactions applies the clicks: the handler the HTTP endpoint would use (its
	// signing secret is not needed here: the connection itself is authenticated).
	Interactions *Interactions
	// APIURL replaces https://slack.com/api/ (apps.connections.open) for tests and proxies.
	APIURL string
	// HTTPClient opens connections and answers response URLs; nil means a client with a
	// 30 s timeout.
	HTTPClient *http.Client
	// ResponseURLPrefix is where Slack's response URLs may point; messages for the
	// clicker go to no other place. Empty means https://hooks.slack.com/.
	ResponseURLPrefix string
	// PingInterval is how long without a ping from Slack before the connection counts as
	// dead and is opened again; zero means slack-go's 30 s.
	PingInterval time.Duration
	// Logger receives connection changes and failed clicks; nil discards them.
	Logger *slog.Logger
}

// SocketMode receives Slack interactions over a Socket Mode connection.
type SocketMode struct {
	client   *socketmode.Client
	h        *Interactions
	hc       *http.Client
	log      *slog.Logger
	respond  string
	inflight sync.WaitGroup
}

// smDefaultResponseURLPrefix is where Slack's response URLs point.
const smDefaultResponseURLPrefix = "https://hooks.slack.com/"

// NewSocketMode returns a Socket Mode receiver; Run connects it.
func NewSocketMode(opt SocketModeOptions) (*SocketMode, error) {
	if !strings.HasPrefix(opt.AppToken, "xapp-") {
		return nil, errors.New("slack socket mode: the app-level token must start with xapp- (create one with connections:write under Basic Information)")
	}
	if opt.Interactions == nil {
		return nil, errors.New("slack socket mode: no interactions handler")
	}
	hc := opt.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	apiOpts := []slack.Option{slack.OptionHTTPClient(hc), slack.OptionAppLevelToken(opt.AppToken)}
	if opt.APIURL != "" {
		u := opt.APIURL
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		apiOpts = append(apiOpts, slack.OptionAPIURL(u))
	}
	var smOpts []socketmode.Option
	if opt.PingInterval > 0 {
		smOpts = append(smOpts, socketmode.OptionPingInterval(opt.PingInterval))
	}
	l := opt.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	prefix := opt.ResponseURLPrefix
	if prefix == "" {
		prefix = smDefaultResponseURLPrefix
	}
	// The bot token is not needed: apps.connections.open takes the app-level token.
	return &SocketMode{
		client:  socketmode.New(slack.New("", apiOpts...), smOpts...),
		h:       opt.Interactions,
		hc:      hc,
		log:     l,
		respond: prefix,
	}, nil
}

// Run connects to Slack, keeps the connection open (slack-go reconnects when Slack asks
// or the connection dies) and applies the clicks it receives, until ctx ends; then it
// waits for the answers in flight and returns nil. It returns an error when Slack refuses
// the token.
func (s *SocketMode) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.client.RunContext(ctx) }()
	defer s.inflight.Wait()
	for {
		select {
		case <-ctx.Done():
			<-done
			return nil
		case err := <-done:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("slack socket mode: %w", err)
		case evt := <-s.client.Events:
			s.event(ctx, evt)
		}
	}
}

// event handles one event of the Socket Mode client.
func (s *SocketMode) event(ctx context.Context, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		s.log.DebugContext(ctx, "slack socket mode connecting")
	case socketmode.EventTypeConnected:
		s.log.InfoContext(ctx, "slack socket mode connected")
	case socketmode.EventTypeConnectionError:
		if e, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			s.log.WarnContext(ctx, "slack socket mode: connection failed; retrying", "attempt", e.Attempt, "backoff", e.Backoff, "err", e.Error())
		}
	case socketmode.EventTypeInvalidAuth:
		s.log.ErrorContext(ctx, "slack socket mode: the app-level token was refused")
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorBadMessage, socketmode.EventTypeErrorWriteFailed:
		s.log.WarnContext(ctx, "slack socket mode: bad message", "event", string(evt.Type))
	case socketmode.EventTypeInteractive:
		s.ack(ctx, evt)
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			return
		}
		notes, err := s.h.Handle(ctx, cb)
		if err != nil {
			s.log.ErrorContext(ctx, "slack interaction failed", "user", cb.User.ID, "err", err)
			notes = append(notes, "Kizuki could not record that; please try again.")
		}
		if len(notes) > 0 {
			s.answer(ctx, cb.ResponseURL, strings.Join(notes, "\n"))
		}
	case socketmode.EventTypeEventsAPI, socketmode.EventTypeSlashCommand:
		s.ack(ctx, evt) // not ours, but Slack retries what is not acknowledged
	}
}

// ack tells Slack the envelope arrived; Slack shows the clicker an error without it.
func (s *SocketMode) ack(ctx context.Context, evt socketmode.Event) {
	if evt.Request == nil || evt.Request.EnvelopeID == "" {
		return
	}
	if err := s.client.AckCtx(ctx, evt.Request.EnvelopeID, nil); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "slack socket mode: ack failed", "err", err)
	}
}

// answer sends an ephemeral message to the clicker through the interaction's response
// URL, in the background so that the next click does not wait for it.
func (s *SocketMode) answer(ctx context.Context, responseURL, text string) {
	answerClicker(ctx, &s.inflight, s.hc, s.log, s.respond, responseURL, text)
}

// answerClicker posts text to an interaction's response URL as an ephemeral message, in
// the background (tracked by wg). The URL is a credential: it is neither logged nor
// followed outside prefix (Slack's https://hooks.slack.com/).
func answerClicker(ctx context.Context, wg *sync.WaitGroup, hc *http.Client, log *slog.Logger, prefix, responseURL, text string) {
	if !strings.HasPrefix(responseURL, prefix) {
		log.WarnContext(ctx, "slack: no usable response URL for a message to the clicker")
		return
	}
	body, err := json.Marshal(iaReply{ResponseType: "ephemeral", Text: text})
	if err != nil {
		return
	}
	wg.Go(func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(actx, http.MethodPost, responseURL, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		resp, err := hc.Do(req)
		if err != nil {
			log.WarnContext(ctx, "slack: message to the clicker not sent", "err", redactURLError(err))
			return
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			log.WarnContext(ctx, "slack: message to the clicker refused", "status", resp.StatusCode)
		}
	})
}

// redactURLError drops the URL that net/http puts into its errors.
func redactURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}
