package alerting

import "github.com/slack-go/slack"

// Kinds of outbox message. Every message Kizuki sends goes through the outbox, so that
// thread replies, operator notices, surge alerts and digests are as durable as post
// alerts: written before any send, delivered once.
const (
	// KindAlert is a post alert: Post, Decision, History and Case.
	KindAlert = ""
	// KindReply is Text (and, if set, Blocks) posted as a reply in the Slack thread of the
	// message that was sent under the outbox key ThreadKey; it waits until that message
	// is sent.
	KindReply = "reply"
	// KindNotice is Text (and, if set, Blocks) as a message of its own: operator notices
	// (a stalled source), surge alerts, the daily digest.
	KindNotice = "notice"
	// KindUpdate replaces the post alert sent under the outbox key ThreadKey with this
	// alert's layout (Post, Decision, History, Case): the case was claimed, snoozed,
	// resolved. It waits until that alert is sent.
	KindUpdate = "update"
)

// AlertKey is the outbox key of the alert of a case (the post id): replies and updates
// name it as their ThreadKey. A post is one Slack message: its alert, or, when it joins
// an earlier alert's thread, that reply, always under this key.
func AlertKey(caseID string) string { return caseID + ":alert" }

// Message fields of an Alert for the kinds other than KindAlert. They are embedded in
// Alert so that one outbox payload type carries every kind.
type Message struct {
	Kind string `json:"kind,omitempty"`
	// ThreadKey is the outbox key of the message a KindReply answers.
	ThreadKey string `json:"thread_key,omitempty"`
	// Text is the message, or the notification text when Blocks are set. It is escaped
	// for Slack when sent: it may quote what customers wrote.
	Text string `json:"text,omitempty"`
	// Blocks, if set, are the Block Kit layout of the message; the builder of the blocks
	// escapes untrusted text in them.
	Blocks *slack.Blocks `json:"blocks,omitempty"`
	// ThreadTS is the Slack timestamp of the message sent under ThreadKey. The Deliverer
	// sets it from the outbox's sent record; it is not stored.
	ThreadTS string `json:"-"`
	// Key is the outbox key this message is sent under. The Deliverer sets it from the
	// item; it is not stored. Slack marks the message with it (see MetadataEventType) so
	// that a send whose outcome was never recorded can be found instead of posted again.
	Key string `json:"-"`
}

// NoticeMessage returns a KindNotice message for the outbox; blocks may be nil.
func NoticeMessage(text string, blocks []slack.Block) Alert {
	m := Message{Kind: KindNotice, Text: text}
	if len(blocks) > 0 {
		m.Blocks = &slack.Blocks{BlockSet: blocks}
	}
	return Alert{Message: m}
}

// ReplyBlocksMessage is ReplyMessage with a Block Kit layout; text is the notification
// text. Use it for a reply that mentions a Slack user (a mention in Text would be escaped).
func ReplyBlocksMessage(threadKey, text string, blocks []slack.Block) Alert {
	a := ReplyMessage(threadKey, text)
	if len(blocks) > 0 {
		a.Blocks = &slack.Blocks{BlockSet: blocks}
	}
	return a
}

// UpdateMessage returns a KindUpdate message for the outbox: a re-rendering of the alert
// of case a.Case (or a.Post) with its current state.
func UpdateMessage(a Alert) Alert {
	a.Message = Message{Kind: KindUpdate, ThreadKey: AlertKey(a.caseID())}
	return a
}

// ReplyMessage returns a KindReply message for the outbox: text in the thread of the
// message sent under the outbox key threadKey.
func ReplyMessage(threadKey, text string) Alert {
	return Alert{Message: Message{Kind: KindReply, ThreadKey: threadKey, Text: text}}
}
