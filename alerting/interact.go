package alerting

// The interactivity endpoint: Slack POSTs here when someone clicks a button of an alert (the
// HTTP alternative to Socket Mode). A request is authenticated (Slack's v0 signature, and a
// timestamp close to now) before anything else is read from it, then each block action
// becomes one store verb on the case it names.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/kizuki-dev/kizuki/store"
)

// CaseStore is what the interactivity endpoint needs from the store (*store.Store).
type CaseStore interface {
	Claim(ctx context.Context, id, actor string) (store.Case, error)
	Resolve(ctx context.Context, id, actor string) (store.Case, error)
	Snooze(ctx context.Context, id, actor string, until time.Time) (store.Case, error)
	Dismiss(ctx context.Context, id, actor, note string) (store.Case, error)
}

// ActionFunc applies one block action clicked by actor and returns a message for the
// clicker ("" for none); its error means the change could not be recorded.
type ActionFunc func(ctx context.Context, a *slack.BlockAction, actor string) (note string, err error)

// MuteStore is what the "Mute author" button needs (*store.Store): the post's author, a
// silence, and a note in the alert's thread.
type MuteStore interface {
	GetCase(ctx context.Context, id string) (store.Case, bool, error)
	GetPost(ctx context.Context, id string) (store.Recorded, bool, error)
	AddSilence(ctx context.Context, s store.Silence) (store.Silence, bool, error)
	Enqueue(ctx context.Context, it store.OutboxItem) (bool, error)
}

// The actions and the snooze choices are those of the alert's layout (ActionClaim, SnoozeHour,
// ...): buttons carry the case id as their value; the snooze select carries the choice, and
// the case id is in its block_id (CaseIDFromBlockID).
const (
	// iaNoteNotRelevant is the dismissal note of the "not relevant" button: feedback on
	// the rules, read back from the case history.
	iaNoteNotRelevant = "not relevant"

	iaMaxBody        = 1 << 20 // Slack's payloads are a few KiB
	iaDefaultMaxSkew = 5 * time.Minute
	iaTomorrowHour   = 9
)

// InteractionOptions configure NewInteractions.
type InteractionOptions struct {
	// SigningSecret is the Slack app's signing secret (from the environment; never logged).
	// Empty rejects every request.
	SigningSecret string
	// Cases receives the verbs.
	Cases CaseStore
	// Mutes, if set, handles "Mute author": a silence of the post's author for
	// MuteAuthorFor, and a note in the alert's thread. Nil answers that muting is
	// done with the command line.
	Mutes MuteStore
	// Actions handles block actions of other layouts by action id (ActionCloseSurge of a
	// surge notice, say), for packages that alerting cannot import. Nil handles none.
	Actions map[string]ActionFunc
	// Now is the clock for timestamps and snoozes; nil means time.Now.
	Now func() time.Time
	// Location is the team's time zone: "tomorrow" snoozes until 09:00 of the next day
	// there. Nil means UTC.
	Location *time.Location
	// OnChange, if set, is called with a case a click changed (or confirmed), so the
	// daemon re-renders its Slack message. It runs before Slack gets its answer, which
	// Slack awaits for 3 seconds at most: enqueue the update, do not call Slack from it.
	OnChange func(ctx context.Context, c store.Case, actor string)
	// Logger receives rejected requests and store failures; nil discards.
	Logger *slog.Logger
	// HTTPClient answers the clicker through the interaction's response_url; nil means a
	// client with a 10 s timeout. ResponseURLPrefix is where response URLs may point;
	// empty means https://hooks.slack.com/.
	HTTPClient        *http.Client
	ResponseURLPrefix string
	// MaxSkew is how far X-Slack-Request-Timestamp may be from Now; zero or less means
	// 5 minutes. slack-go's verifier also rejects timestamps more than 5 minutes from
	// the wall clock, so a larger MaxSkew has no effect.
	MaxSkew time.Duration
}

// Interactions is the http.Handler of Slack's interactivity requests.
type Interactions struct {
	secret   string
	cases    CaseStore
	mutes    MuteStore
	actions  map[string]ActionFunc
	now      func() time.Time
	loc      *time.Location
	onChange func(ctx context.Context, c store.Case, actor string)
	log      *slog.Logger
	maxSkew  time.Duration
	hc       *http.Client
	respond  string
	inflight sync.WaitGroup // answers to clickers
}

// NewInteractions returns the handler of Slack's interactivity requests.
func NewInteractions(opt InteractionOptions) *Interactions {
	h := &Interactions{
		secret:   opt.SigningSecret,
		cases:    opt.Cases,
		mutes:    opt.Mutes,
		actions:  opt.Actions,
		now:      opt.Now,
		loc:      opt.Location,
		onChange: opt.OnChange,
		log:      opt.Logger,
		maxSkew:  opt.MaxSkew,
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.loc == nil {
		h.loc = time.UTC
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.maxSkew <= 0 {
		h.maxSkew = iaDefaultMaxSkew
	}
	h.hc, h.respond = opt.HTTPClient, opt.ResponseURLPrefix
	if h.hc == nil {
		h.hc = &http.Client{Timeout: 10 * time.Second}
	}
	if h.respond == "" {
		h.respond = smDefaultResponseURLPrefix
	}
	return h
}

// iaReply is the JSON answer that shows a message to the clicker only.
type iaReply struct {
	ResponseType    string `json:"response_type"`
	Text            string `json:"text"`
	ReplaceOriginal bool   `json:"replace_original"`
}

// ServeHTTP authenticates a request, applies its block actions and answers 200; a message
// for the clicker (a lost claim, a closed case) comes back as an ephemeral JSON body.
// Rejected requests get a bare status: 405, 413, 401 (signature or timestamp), 400 (a
// signed but unreadable payload), or 500 when the store failed.
func (h *Interactions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, iaMaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.log.Warn("slack interaction rejected: body too large")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if err := h.verify(r.Header, body); err != nil {
		h.log.Warn("slack interaction rejected", "reason", err.Error(), "remote", r.RemoteAddr)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	cb, err := iaParse(body)
	if err != nil {
		h.log.Warn("slack interaction rejected: bad payload", "err", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	notes, err := h.Handle(r.Context(), cb)
	switch {
	case errors.Is(err, errNoUser):
		h.log.Warn("slack interaction rejected: no user")
		w.WriteHeader(http.StatusBadRequest)
		return
	case err != nil:
		h.log.Error("slack interaction failed", "err", err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if len(notes) == 0 {
		w.WriteHeader(http.StatusOK)
		return
	}
	// Slack ignores the body of a block action's acknowledgement: the message for the
	// clicker goes to the response URL. The body carries it too, for other clients.
	answerClicker(r.Context(), &h.inflight, h.hc, h.log, h.respond, cb.ResponseURL, strings.Join(notes, "\n"))
	out, err := json.Marshal(iaReply{ResponseType: "ephemeral", Text: strings.Join(notes, "\n")})
	if err != nil { // cannot happen: a struct of strings and a bool
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// errNoUser: an interaction that names nobody cannot be recorded.
var errNoUser = errors.New("interaction without a user")

// Handle applies the block actions of an authenticated interaction (from the HTTP endpoint
// or Socket Mode) and returns the messages for the clicker: a lost claim, a closed case, a
// mute. Interactions other than block actions are ignored. The error is for a payload
// without a user and for a failed store.
func (h *Interactions) Handle(ctx context.Context, cb slack.InteractionCallback) ([]string, error) {
	if cb.Type != slack.InteractionTypeBlockActions {
		return nil, nil
	}
	actor := cb.User.ID
	if actor == "" {
		return nil, errNoUser
	}
	var notes []string
	for _, a := range cb.ActionCallback.BlockActions {
		if a == nil {
			continue
		}
		note, err := h.apply(ctx, a, actor)
		if err != nil {
			return notes, fmt.Errorf("action %s by %s: %w", a.ActionID, actor, err)
		}
		if note != "" {
			notes = append(notes, note)
		}
	}
	return notes, nil
}

// iaRejection is why a request was not authenticated: for the log, never for the client.
type iaRejection string

func (e iaRejection) Error() string { return string(e) }

// verify checks the timestamp against h.now (slack-go's verifier only knows the wall clock),
// then the signature over "v0:<timestamp>:<body>" with slack-go.
func (h *Interactions) verify(header http.Header, body []byte) error {
	if h.secret == "" {
		return iaRejection("no signing secret configured")
	}
	ts := header.Get("X-Slack-Request-Timestamp")
	if ts == "" || header.Get("X-Slack-Signature") == "" {
		return iaRejection("missing signature headers")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return iaRejection("malformed timestamp")
	}
	if h.now().Sub(time.Unix(sec, 0)).Abs() > h.maxSkew {
		return iaRejection("stale timestamp")
	}
	sv, err := slack.NewSecretsVerifier(header, h.secret)
	if err != nil {
		return iaRejection("bad signature header or timestamp: " + err.Error())
	}
	if _, err := sv.Write(body); err != nil {
		return iaRejection("hash body: " + err.Error())
	}
	if err := sv.Ensure(); err != nil {
		return iaRejection("signature mismatch")
	}
	return nil
}

// iaParse decodes the payload form field of an authenticated body.
func iaParse(body []byte) (slack.InteractionCallback, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return slack.InteractionCallback{}, errors.New("body is not a form")
	}
	payload := form.Get("payload")
	if payload == "" {
		return slack.InteractionCallback{}, errors.New("no payload field")
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(payload), &cb); err != nil {
		return slack.InteractionCallback{}, errors.New("payload is not an interaction: " + err.Error())
	}
	return cb, nil
}

// apply runs one action. It returns a message for the clicker when the case could not change
// the way they asked, and an error only when the store failed.
func (h *Interactions) apply(ctx context.Context, a *slack.BlockAction, actor string) (string, error) {
	var (
		c   store.Case
		err error
	)
	switch a.ActionID {
	case ActionClaim:
		if a.Value == "" {
			return "", nil
		}
		c, err = h.cases.Claim(ctx, a.Value, actor)
	case ActionResolve:
		if a.Value == "" {
			return "", nil
		}
		c, err = h.cases.Resolve(ctx, a.Value, actor)
	case ActionNotRelevant:
		if a.Value == "" {
			return "", nil
		}
		c, err = h.cases.Dismiss(ctx, a.Value, actor, iaNoteNotRelevant)
	case ActionSnooze:
		id, ok := CaseIDFromBlockID(a.BlockID)
		until, known := iaSnoozeUntil(h.now(), h.loc, a.SelectedOption.Value)
		if !ok || id == "" || !known {
			h.log.Warn("slack interaction: unknown snooze target", "block", a.BlockID, "option", a.SelectedOption.Value)
			return "", nil
		}
		c, err = h.cases.Snooze(ctx, id, actor, until)
	case ActionMuteAuthor:
		if a.Value == "" {
			return "", nil
		}
		return h.muteAuthor(ctx, a.Value, actor)
	default:
		if f := h.actions[a.ActionID]; f != nil {
			return f(ctx, a, actor)
		}
		return "", nil
	}
	var claimed *store.ClaimedError
	switch {
	case errors.As(err, &claimed):
		return "Already claimed by " + iaMention(claimed.By) + ".", nil
	case errors.Is(err, store.ErrAlreadyClaimed):
		return "Already claimed by someone else.", nil
	case errors.Is(err, store.ErrCaseClosed):
		return "This case is already closed.", nil
	case errors.Is(err, store.ErrNotFound):
		return "This case no longer exists.", nil
	case err != nil:
		return "", err
	}
	if h.onChange != nil {
		h.onChange(ctx, c, actor)
	}
	return "", nil
}

// muteAuthor silences the author of the case's post for MuteAuthorFor, notes it in the
// alert's thread (with who did it) and tells the clicker how to lift it.
func (h *Interactions) muteAuthor(ctx context.Context, caseID, actor string) (string, error) {
	if h.mutes == nil {
		return "Muting from Slack is not set up here: use `kizuki silence add --author …`.", nil
	}
	rec, ok, err := h.mutes.GetPost(ctx, caseID)
	if err != nil {
		return "", err
	}
	author := store.AuthorKey(rec.Post)
	if !ok || author == "" {
		return "This post's author is not recorded: use `kizuki silence add --author …`.", nil
	}
	handle := strings.TrimPrefix(rec.Post.Author.Handle, "@")
	now := h.now()
	sil, created, err := h.mutes.AddSilence(ctx, store.Silence{
		Author: author, AuthorHandle: handle, CreatedBy: actor,
		Comment: "muted from the alert of " + caseID, StartsAt: now, EndsAt: now.Add(MuteAuthorFor),
	})
	if err != nil {
		return "", err
	}
	who := Escape("@" + handle)
	if handle == "" {
		who = Escape(author)
	}
	until := sil.EndsAt.In(h.loc).Format("1/2 15:04 MST")
	if c, ok, err := h.mutes.GetCase(ctx, caseID); err != nil {
		return "", err
	} else if ok && c.Channel != "" {
		text := fmt.Sprintf("%s muted until %s by @%s (silence %s).", "@"+handle, until, actor, sil.ID)
		rich := fmt.Sprintf(":mute: %s muted until %s by %s (silence %s): no alerts about their posts, which are still recorded.",
			who, until, user(actor), Escape(sil.ID))
		payload, err := json.Marshal(ReplyBlocksMessage(AlertKey(caseID), text, []slack.Block{section("kizuki_muted", rich)}))
		if err != nil {
			return "", err
		}
		if _, err := h.mutes.Enqueue(ctx, store.OutboxItem{Key: caseID + ":muted:" + sil.ID, Channel: c.Channel, Payload: payload}); err != nil {
			return "", err
		}
	}
	verb := "Muted"
	if !created {
		verb = "Already muted:"
	}
	return fmt.Sprintf("%s %s until %s (silence %s). Lift it with `kizuki silence expire %s`.",
		verb, who, until, Escape(sil.ID), Escape(sil.ID)), nil
}

// iaSnoozeUntil is the end of a snooze chosen at now: "1h" and "4h" from now, "tomorrow" at
// 09:00 of the next calendar day in loc (so a click at 00:30 also means the next day's date).
func iaSnoozeUntil(now time.Time, loc *time.Location, choice string) (time.Time, bool) {
	switch choice {
	case SnoozeHour:
		return now.Add(time.Hour), true
	case SnoozeFourHours:
		return now.Add(4 * time.Hour), true
	case SnoozeTomorrow:
		l := now.In(loc)
		return time.Date(l.Year(), l.Month(), l.Day()+1, iaTomorrowHour, 0, 0, 0, loc), true
	}
	return time.Time{}, false
}

// iaMention is a Slack mention of a user id, or the escaped text of anything else.
func iaMention(id string) string {
	if id == "" {
		return "someone else"
	}
	for _, r := range id {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(id)
		}
	}
	return "<@" + id + ">"
}
