package alerting

// The sent check: every message Slack posts carries its outbox key in Slack message
// metadata, so that after a crash between Slack accepting a message and the outbox
// recording it (or a timeout after Slack accepted it), the Deliverer finds the message in
// the channel's history (or its thread's replies) and records it instead of posting again.
//
// Scopes: reading history needs channels:history (public channels) or groups:history
// (private ones); a channel configured by name ("#alerts") needs channels:read (groups:read
// for a private one) to find its ID, unless this process posted to it already. Without
// them the check reports ErrCheckUnavailable and the Deliverer posts unchecked.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// MetadataEventType is the event_type of the message metadata on every message Kizuki
// posts through the outbox; its event_payload holds the outbox key under "key".
const MetadataEventType = "kizuki_message"

const metadataKey = "key"

// Bounds of the sent check.
const (
	// scRecent is how many of a channel's latest messages AlreadyPosted searches, when the
	// item's enqueue time is unknown.
	scRecent = 200
	// scMaxScan is how many messages FindSent searches at most since the enqueue time; a
	// channel that busy since then is searched no further.
	scMaxScan = 1000
	// scPage is the page size asked of conversations.* (Slack advises at most 200).
	scPage = 200
	// scClockSkew widens the search before the enqueue time, which is the store's clock
	// and not Slack's.
	scClockSkew = 5 * time.Minute
	// scRecheck is how long a check that cannot be done (a missing scope) is not tried
	// again, so that a backlog does not cost one failing call per item.
	scRecheck = 10 * time.Minute
	// scRelist is the least time between two full listings of channels for a name that
	// was not found.
	scRelist = 5 * time.Minute
)

// scListing is how far conversations.list went for one conversation type: a listing
// stopped by an error resumes at its cursor.
type scListing struct {
	cursor string
	done   time.Time // when it last reached the end; zero while under way
}

// scHeldError is an ErrCheckUnavailable remembered until a recheck.
type scHeldError struct {
	err   error
	until time.Time
}

// keyMetadata marks a message with its outbox key.
func keyMetadata(key string) slack.MsgOption {
	return slack.MsgOptionMetadata(slack.SlackMetadata{
		EventType:    MetadataEventType,
		EventPayload: map[string]any{metadataKey: key},
	})
}

// messageKey is the outbox key a message was marked with, or "".
func messageKey(m slack.Message) string {
	if m.Metadata.EventType != MetadataEventType {
		return ""
	}
	k, _ := m.Metadata.EventPayload[metadataKey].(string)
	return k
}

// AlreadyPosted implements SentChecker: it looks for the message marked with key among the
// last 200 messages of channel (not inside threads; FindSent can).
func (s *Slack) AlreadyPosted(ctx context.Context, channel, key string) (ts string, ok bool, err error) {
	return s.FindSent(ctx, SentQuery{Channel: channel, Key: key})
}

// FindSent implements SentFinder: it looks for the message marked with q.Key in the thread
// q.ThreadTS (conversations.replies) or else in the channel's history
// (conversations.history), newest first, since q.Since (up to 1,000 messages) or, if that
// is zero, among the last 200. A channel given by name is resolved to its ID. An error
// that a person must fix (a missing scope, a channel the bot cannot read) wraps
// ErrCheckUnavailable and is remembered for ten minutes; any other is worth retrying.
func (s *Slack) FindSent(ctx context.Context, q SentQuery) (ts string, ok bool, err error) {
	id, err := s.scChannelID(ctx, q.Channel)
	if err != nil {
		return "", false, err
	}
	if err := s.scHeld(id); err != nil {
		return "", false, err
	}
	limit, oldest := scRecent, ""
	if !q.Since.IsZero() {
		limit, oldest = scMaxScan, slackTS(q.Since.Add(-scClockSkew))
	}
	method := "conversations.history"
	if q.ThreadTS != "" {
		method = "conversations.replies"
		ts, ok, err = s.scFindInThread(ctx, id, q.ThreadTS, q.Key, oldest, limit)
	} else {
		ts, ok, err = s.scFindInHistory(ctx, id, q.Key, oldest, limit)
	}
	if err != nil {
		return "", false, s.scFailed(id, method, q.Channel, err)
	}
	return ts, ok, nil
}

// scFindInHistory searches the channel's messages, newest first.
func (s *Slack) scFindInHistory(ctx context.Context, id, key, oldest string, limit int) (string, bool, error) {
	cursor := ""
	for seen, pages := 0, 0; seen < limit && pages < scMaxPages(limit); pages++ {
		resp, err := s.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
			ChannelID: id, Cursor: cursor, Oldest: oldest, Limit: min(scPage, limit-seen), IncludeAllMetadata: true,
		})
		if err != nil {
			return "", false, err
		}
		for _, m := range resp.Messages {
			if messageKey(m) == key {
				return m.Timestamp, true, nil
			}
		}
		seen += len(resp.Messages)
		if cursor = resp.ResponseMetaData.NextCursor; cursor == "" {
			return "", false, nil
		}
	}
	s.scCut(ctx, id, key, limit)
	return "", false, nil
}

// scFindInThread searches a thread's replies, oldest first.
func (s *Slack) scFindInThread(ctx context.Context, id, threadTS, key, oldest string, limit int) (string, bool, error) {
	cursor := ""
	for seen, pages := 0, 0; seen < limit && pages < scMaxPages(limit); pages++ {
		msgs, _, next, err := s.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
			ChannelID: id, Timestamp: threadTS, Cursor: cursor, Oldest: oldest, Limit: min(scPage, limit-seen),
			IncludeAllMetadata: true,
		})
		if err != nil {
			return "", false, err
		}
		for _, m := range msgs {
			if messageKey(m) == key {
				return m.Timestamp, true, nil
			}
		}
		seen += len(msgs)
		if cursor = next; cursor == "" {
			return "", false, nil
		}
	}
	s.scCut(ctx, id, key, limit)
	return "", false, nil
}

// scCut logs a search that reached its bound without the key: the message, if it was
// posted, is older than that, and will be posted again.
func (s *Slack) scCut(ctx context.Context, id, key string, limit int) {
	s.log.WarnContext(ctx, "sent check searched as far as it may without finding the message; posting it, a duplicate is possible",
		"channel", id, "key", key, "messages", limit)
}

// scMaxPages bounds the calls of one search: Slack may return short or even empty pages
// with a cursor.
func scMaxPages(limit int) int { return 2*limit/scPage + 5 }

// scFailed turns the error of a search into one that says what to do, and remembers it
// for scRecheck when only a person can fix it.
func (s *Slack) scFailed(id, method, channel string, err error) error {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && se.Err == "thread_not_found" {
		// Only this thread: not remembered for the channel.
		return fmt.Errorf("%w: slack: %s of %s: the thread's first message is gone: %w",
			ErrCheckUnavailable, method, channel, err)
	}
	fix := scFix(err, "channels:history (public channels) or groups:history (private channels)")
	if fix == "" {
		return fmt.Errorf("slack: %s of %s: %w", method, channel, err)
	}
	held := fmt.Errorf("%w: slack: %s of %s: %s: %w", ErrCheckUnavailable, method, channel, fix, err)
	s.scHold(id, held)
	return held
}

// scFix says what a person must do when err means that the check cannot be done until
// then, or returns "" for an error worth retrying. scope is the one a missing_scope that
// does not name it needs.
func scFix(err error, scope string) string {
	var sc slack.StatusCodeError
	if errors.As(err, &sc) && (sc.Code == http.StatusNotFound || sc.Code == http.StatusGone) {
		return "the API at this URL (slack.api_url) does not have the method"
	}
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		return ""
	}
	switch se.Err {
	case "unknown_method":
		return "the API at this URL (slack.api_url) does not have the method"
	case "missing_scope":
		return "the bot token needs the scope " + cmp.Or(se.Needed, scope) + scProvided(se.Provided) +
			"; add it under OAuth & Permissions and reinstall the app"
	case "not_in_channel", "channel_not_found", "not_allowed_token_type":
		return "the bot cannot read the channel; invite it, or use a bot token (xoxb-…)"
	}
	return ""
}

func scProvided(p string) string {
	if p == "" {
		return ""
	}
	return " (it has " + p + ")"
}

// scHeld returns the unavailability remembered for what, if not yet due for a recheck.
func (s *Slack) scHeld(what string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.held[what]
	if !ok {
		return nil
	}
	if !s.now().Before(h.until) {
		delete(s.held, what)
		return nil
	}
	return h.err
}

func (s *Slack) scHold(what string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held[what] = scHeldError{err: err, until: s.now().Add(scRecheck)}
}

// rememberChannel keeps the ID chat.postMessage answered for a channel given by name.
func (s *Slack) rememberChannel(channel, id string) {
	if id == "" || channel == id || isChannelID(channel) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids[strings.TrimPrefix(channel, "#")] = id
}

// isChannelID reports whether channel is a conversation ID (C…, G…, D…) rather than a
// name: names are lower case.
func isChannelID(channel string) bool {
	if len(channel) < 2 || !strings.ContainsRune("CGD", rune(channel[0])) {
		return false
	}
	for _, r := range channel[1:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// Conversation types listed to resolve a name, with the scope each needs.
var scListTypes = []struct{ typ, scope string }{
	{"public_channel", "channels:read"},
	{"private_channel", "groups:read"},
}

// scChannelID returns the ID of channel: itself, the ID a post to it answered, or the one
// conversations.list shows for its name (public channels first, then private ones). The
// listing stops at the name, resumes after an error, and is done again for an unknown
// name at most every scRelist.
func (s *Slack) scChannelID(ctx context.Context, channel string) (string, error) {
	if isChannelID(channel) {
		return channel, nil
	}
	name := strings.TrimPrefix(channel, "#")
	if id, ok := s.scCachedID(name); ok {
		return id, nil
	}
	if err := s.scHeld(channel); err != nil {
		return "", err
	}
	for _, lt := range scListTypes {
		if err := s.scHeld("list:" + lt.typ); err != nil {
			return "", err
		}
		for s.scListMore(lt.typ) {
			if err := s.scListPage(ctx, lt.typ); err != nil {
				fix := scFix(err, lt.scope)
				if fix == "" {
					return "", fmt.Errorf("slack: conversations.list for %s: %w", channel, err)
				}
				// Not about this channel: remembered, and logged, once for every name.
				held := fmt.Errorf("%w: slack: conversations.list, to find channel IDs from names: %s, or configure channels by their IDs (C…): %w",
					ErrCheckUnavailable, fix, err)
				s.scHold("list:"+lt.typ, held)
				return "", held
			}
			if id, ok := s.scCachedID(name); ok {
				return id, nil
			}
		}
	}
	held := fmt.Errorf("%w: slack: no channel named %s among those the bot can see (conversations.list); check the name, invite the bot, or configure the channel by its ID (C…)",
		ErrCheckUnavailable, channel)
	s.scHold(channel, held)
	return "", held
}

func (s *Slack) scCachedID(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.ids[name]
	return id, ok
}

// scListMore reports whether the listing of typ has pages to fetch: it is under way, or
// it ended longer than scRelist ago (and then starts again).
func (s *Slack) scListMore(typ string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lists[typ]
	if l == nil {
		s.lists[typ] = &scListing{}
		return true
	}
	if l.done.IsZero() {
		return true
	}
	if s.now().Sub(l.done) < scRelist {
		return false
	}
	*l = scListing{}
	return true
}

// scListPage fetches the next page of the listing of typ and keeps the names it shows.
func (s *Slack) scListPage(ctx context.Context, typ string) error {
	s.mu.Lock()
	cursor := s.lists[typ].cursor
	s.mu.Unlock()
	chans, next, err := s.api.GetConversationsContext(ctx, &slack.GetConversationsParameters{
		Cursor: cursor, ExcludeArchived: true, Limit: scPage, Types: []string{typ},
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range chans {
		if c.Name != "" && c.ID != "" {
			s.ids[c.Name] = c.ID
		}
	}
	l := s.lists[typ]
	l.cursor = next
	if next == "" {
		l.done = s.now()
	}
	return nil
}

// slackTS formats t as a Slack message timestamp.
func slackTS(t time.Time) string {
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}
