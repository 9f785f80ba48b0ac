package alerting

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSlack is a local Slack Web API with the methods the sent check uses —
// chat.postMessage, chat.update, conversations.history, conversations.replies and
// conversations.list — speaking Slack's JSON: ok and error (with needed and provided for
// missing_scope), opaque cursors in response_metadata.next_cursor, channel IDs where Slack
// needs them, thread replies only in conversations.replies, and message metadata only
// with include_all_metadata. slacktest has none of the conversations.* reads.
type fakeSlack struct {
	url   string
	token string
	now   func() time.Time

	mu       sync.Mutex
	scopes   map[string]bool
	channels []fsChannel
	msgs     map[string][]*fsMessage // channel ID → messages in the order posted
	seq      int
	calls    map[string][]url.Values
	// pageMax caps every page whatever the limit asked (Slack may return fewer); 0: none.
	pageMax int
	// lostResponses is how many of the next accepted posts lose their response: the
	// connection closes after the message is stored, as in a timeout.
	lostResponses int
	// rateLimited maps a method to how many of its next calls answer 429.
	rateLimited map[string]int
}

type fsChannel struct {
	ID, Name string
	Private  bool
}

type fsMessage struct {
	TS, ThreadTS, Text string
	Metadata           json.RawMessage // nil: none
	Replies            int
}

var fsAllScopes = []string{"chat:write", "channels:history", "groups:history", "channels:read", "groups:read"}

// newFakeSlack starts a fake with the channels #alerts (C0ALERTS), #ops (C0OPS) and the
// private #secret (C0SECRET), and a bot token with scopes.
func newFakeSlack(t *testing.T, now func() time.Time, scopes ...string) *fakeSlack {
	t.Helper()
	f := &fakeSlack{
		token:       "xoxb-fake-secret-token",
		now:         now,
		scopes:      map[string]bool{},
		msgs:        map[string][]*fsMessage{},
		calls:       map[string][]url.Values{},
		rateLimited: map[string]int{},
		channels: []fsChannel{
			{ID: "C0ALERTS", Name: "alerts"},
			{ID: "C0OPS", Name: "ops"},
			{ID: "C0SECRET", Name: "secret", Private: true},
		},
	}
	f.setScopes(scopes...)
	mux := http.NewServeMux()
	mux.HandleFunc("/chat.postMessage", f.handle("chat.postMessage", f.postMessage))
	mux.HandleFunc("/chat.update", f.handle("chat.update", f.update))
	mux.HandleFunc("/conversations.history", f.handle("conversations.history", f.history))
	mux.HandleFunc("/conversations.replies", f.handle("conversations.replies", f.replies))
	mux.HandleFunc("/conversations.list", f.handle("conversations.list", f.list))
	mux.HandleFunc("/", f.handle("unknown", func(url.Values) any { return fsErr("unknown_method") }))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/"
	return f
}

// client is a new Slack notifier for the fake, as a new process would make.
func (f *fakeSlack) client(opt SlackOptions) *Slack {
	opt.Token, opt.APIURL, opt.Now = f.token, f.url, f.now
	return NewSlack(opt)
}

func (f *fakeSlack) setScopes(scopes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scopes = map[string]bool{}
	for _, s := range scopes {
		f.scopes[s] = true
	}
}

func (f *fakeSlack) addChannel(c fsChannel) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.channels = append(f.channels, c)
}

// seed posts n messages of someone else (no metadata) to a channel ID.
func (f *fakeSlack) seed(id string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range n {
		f.msgs[id] = append(f.msgs[id], &fsMessage{TS: f.nextTS(), Text: fmt.Sprintf("chatter %d", i)})
	}
}

// keyed returns the messages marked with an outbox key, in any channel.
func (f *fakeSlack) keyed(key string) []fsMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fsMessage
	for _, ms := range f.msgs {
		for _, m := range ms {
			if fsKey(m.Metadata) == key {
				out = append(out, *m)
			}
		}
	}
	return out
}

// messages returns a copy of the messages of a channel ID, in the order posted.
func (f *fakeSlack) messages(id string) []fsMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fsMessage
	for _, m := range f.msgs[id] {
		out = append(out, *m)
	}
	return out
}

func (f *fakeSlack) callsOf(method string) []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls[method])
}

func fsKey(meta json.RawMessage) string {
	var m struct {
		EventType    string         `json:"event_type"`
		EventPayload map[string]any `json:"event_payload"`
	}
	if meta == nil || json.Unmarshal(meta, &m) != nil || m.EventType != MetadataEventType {
		return ""
	}
	k, _ := m.EventPayload["key"].(string)
	return k
}

func fsErr(code string) map[string]any { return map[string]any{"ok": false, "error": code} }

// fsLost is what a handler returns to drop the response.
type fsLost struct{}

// handle authenticates a call, records it, and writes what h answers.
func (f *fakeSlack) handle(method string, h func(v url.Values) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		v := r.PostForm
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if token == "" {
			token = v.Get("token")
		}
		f.mu.Lock()
		f.calls[method] = append(f.calls[method], v)
		limited := f.rateLimited[method] > 0
		if limited {
			f.rateLimited[method]--
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		var resp any
		switch {
		case token != f.token:
			resp = fsErr("not_authed")
			if token != "" {
				resp = fsErr("invalid_auth")
			}
		case limited:
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
			resp = fsErr("ratelimited")
		default:
			f.mu.Lock()
			resp = h(v)
			f.mu.Unlock()
		}
		if _, ok := resp.(fsLost); ok {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		_ = json.NewEncoder(w).Encode(resp)
	}
}

// The handlers below run with f.mu held.

func (f *fakeSlack) missingScope(scope string) map[string]any {
	var have []string
	for s := range f.scopes {
		have = append(have, s)
	}
	slices.Sort(have)
	return map[string]any{"ok": false, "error": "missing_scope", "needed": scope, "provided": strings.Join(have, ",")}
}

// channel finds a channel by ID, or, where Slack allows it (byName), by "#name" or name.
func (f *fakeSlack) channel(ref string, byName bool) (fsChannel, bool) {
	for _, c := range f.channels {
		if c.ID == ref || byName && (c.Name == strings.TrimPrefix(ref, "#")) {
			return c, true
		}
	}
	return fsChannel{}, false
}

func (f *fakeSlack) nextTS() string {
	f.seq++
	return fmt.Sprintf("%d.%06d", f.now().Unix(), f.seq)
}

func (f *fakeSlack) find(id, ts string) *fsMessage {
	for _, m := range f.msgs[id] {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

func fsMetadata(raw string) (json.RawMessage, bool) {
	if raw == "" {
		return nil, true
	}
	var m struct {
		EventType    string          `json:"event_type"`
		EventPayload json.RawMessage `json:"event_payload"`
	}
	if json.Unmarshal([]byte(raw), &m) != nil || m.EventType == "" || !strings.HasPrefix(string(m.EventPayload), "{") {
		return nil, false
	}
	return json.RawMessage(raw), true
}

func (f *fakeSlack) postMessage(v url.Values) any {
	if !f.scopes["chat:write"] {
		return f.missingScope("chat:write")
	}
	c, ok := f.channel(v.Get("channel"), true)
	if !ok {
		return fsErr("channel_not_found")
	}
	if v.Get("text") == "" && v.Get("blocks") == "" {
		return fsErr("no_text")
	}
	meta, ok := fsMetadata(v.Get("metadata"))
	if !ok {
		return fsErr("invalid_metadata_format")
	}
	m := &fsMessage{TS: f.nextTS(), Text: v.Get("text"), Metadata: meta}
	if th := v.Get("thread_ts"); th != "" {
		parent := f.find(c.ID, th)
		if parent == nil || parent.ThreadTS != "" && parent.ThreadTS != parent.TS {
			return fsErr("thread_not_found")
		}
		parent.ThreadTS = parent.TS
		parent.Replies++
		m.ThreadTS = th
	}
	f.msgs[c.ID] = append(f.msgs[c.ID], m)
	if f.lostResponses > 0 {
		f.lostResponses--
		return fsLost{}
	}
	return map[string]any{"ok": true, "channel": c.ID, "ts": m.TS, "message": m.json(true)}
}

func (f *fakeSlack) update(v url.Values) any {
	if !f.scopes["chat:write"] {
		return f.missingScope("chat:write")
	}
	c, ok := f.channel(v.Get("channel"), false)
	if !ok {
		return fsErr("channel_not_found")
	}
	m := f.find(c.ID, v.Get("ts"))
	if m == nil {
		return fsErr("message_not_found")
	}
	meta, ok := fsMetadata(v.Get("metadata"))
	if !ok {
		return fsErr("invalid_metadata_format")
	}
	if meta != nil { // without the field, Slack keeps the message's metadata
		m.Metadata = meta
	}
	m.Text = v.Get("text")
	return map[string]any{"ok": true, "channel": c.ID, "ts": m.TS, "text": m.Text}
}

// readable checks that the token may read the history of a channel ID.
func (f *fakeSlack) readable(ref string) (fsChannel, map[string]any) {
	c, ok := f.channel(ref, false) // conversations.* take IDs only
	if !ok {
		return c, fsErr("channel_not_found")
	}
	if scope := map[bool]string{false: "channels:history", true: "groups:history"}[c.Private]; !f.scopes[scope] {
		return c, f.missingScope(scope)
	}
	return c, nil
}

func (f *fakeSlack) history(v url.Values) any {
	c, fail := f.readable(v.Get("channel"))
	if fail != nil {
		return fail
	}
	var top []*fsMessage // newest first, top-level only
	for _, m := range slices.Backward(f.msgs[c.ID]) {
		if (m.ThreadTS == "" || m.ThreadTS == m.TS) && fsInRange(m.TS, v) {
			top = append(top, m)
		}
	}
	page, next := fsPage(top, v, f.pageMax, func(m *fsMessage) string { return m.TS })
	return f.messagesResponse(page, next, v)
}

func (f *fakeSlack) replies(v url.Values) any {
	c, fail := f.readable(v.Get("channel"))
	if fail != nil {
		return fail
	}
	parent := f.find(c.ID, v.Get("ts"))
	if parent == nil {
		return fsErr("thread_not_found")
	}
	thread := []*fsMessage{parent} // the parent first, then replies oldest first
	for _, m := range f.msgs[c.ID] {
		if m.ThreadTS == parent.TS && m != parent && fsInRange(m.TS, v) {
			thread = append(thread, m)
		}
	}
	page, next := fsPage(thread, v, f.pageMax, func(m *fsMessage) string { return m.TS })
	return f.messagesResponse(page, next, v)
}

func (f *fakeSlack) messagesResponse(page []*fsMessage, next string, v url.Values) any {
	withMeta := v.Get("include_all_metadata") == "1" || v.Get("include_all_metadata") == "true"
	out := []map[string]any{}
	for _, m := range page {
		out = append(out, m.json(withMeta))
	}
	return map[string]any{"ok": true, "messages": out, "has_more": next != "", "pin_count": 0,
		"response_metadata": map[string]any{"next_cursor": next}}
}

func (f *fakeSlack) list(v url.Values) any {
	types := strings.Split(cmp.Or(v.Get("types"), "public_channel"), ",")
	for _, typ := range types {
		scope := map[string]string{"public_channel": "channels:read", "private_channel": "groups:read"}[typ]
		if scope == "" {
			return fsErr("invalid_types")
		}
		if !f.scopes[scope] {
			return f.missingScope(scope)
		}
	}
	var chans []fsChannel
	for _, c := range f.channels {
		if slices.Contains(types, map[bool]string{false: "public_channel", true: "private_channel"}[c.Private]) {
			chans = append(chans, c)
		}
	}
	page, next := fsPage(chans, v, f.pageMax, func(c fsChannel) string { return c.ID })
	out := []map[string]any{}
	for _, c := range page {
		out = append(out, map[string]any{"id": c.ID, "name": c.Name, "is_channel": true, "is_private": c.Private,
			"is_archived": false, "is_member": true})
	}
	return map[string]any{"ok": true, "channels": out, "response_metadata": map[string]any{"next_cursor": next}}
}

func (m *fsMessage) json(withMeta bool) map[string]any {
	out := map[string]any{"type": "message", "user": "U0KIZUKI", "bot_id": "B0KIZUKI", "app_id": "A0KIZUKI",
		"text": m.Text, "ts": m.TS}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	if m.Replies > 0 {
		out["reply_count"] = m.Replies
	}
	if withMeta && m.Metadata != nil {
		out["metadata"] = m.Metadata
	}
	return out
}

// fsInRange applies oldest and latest (exclusive unless inclusive is set).
func fsInRange(ts string, v url.Values) bool {
	incl := v.Get("inclusive") == "1" || v.Get("inclusive") == "true"
	t := fsParseTS(ts)
	if o := v.Get("oldest"); o != "" {
		if t < fsParseTS(o) || t == fsParseTS(o) && !incl {
			return false
		}
	}
	if l := v.Get("latest"); l != "" {
		if t > fsParseTS(l) || t == fsParseTS(l) && !incl {
			return false
		}
	}
	return true
}

// fsParseTS turns "sec.micro" into microseconds.
func fsParseTS(ts string) int64 {
	sec, frac, _ := strings.Cut(ts, ".")
	s, _ := strconv.ParseInt(sec, 10, 64)
	frac = (frac + "000000")[:6]
	u, _ := strconv.ParseInt(frac, 10, 64)
	return s*1_000_000 + u
}

// fsPage cuts one page from items by limit (default 100) and pageMax, starting at the
// item named by the cursor, an opaque "next_id:" + that item's id.
func fsPage[T any](items []T, v url.Values, pageMax int, id func(T) string) (page []T, next string) {
	start := 0
	if c := v.Get("cursor"); c != "" {
		raw, err := base64.StdEncoding.DecodeString(c)
		want, ok := strings.CutPrefix(string(raw), "next_id:")
		if err != nil || !ok {
			return nil, ""
		}
		start = len(items)
		for i, it := range items {
			if id(it) == want {
				start = i
				break
			}
		}
	}
	n := 100
	if l, err := strconv.Atoi(v.Get("limit")); err == nil && l > 0 {
		n = min(l, 1000)
	}
	if pageMax > 0 {
		n = min(n, pageMax)
	}
	end := min(start+n, len(items))
	if end < len(items) {
		next = base64.StdEncoding.EncodeToString([]byte("next_id:" + id(items[end])))
	}
	return items[start:end], next
}
