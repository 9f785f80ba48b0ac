package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kizuki-dev/kizuki/store"
)

// OutboxStore is the part of the store the Deliverer needs; *store.Store satisfies it.
type OutboxStore interface {
	PendingExcept(ctx context.Context, now time.Time, limit int, skip func(channel string) bool) ([]store.OutboxItem, error)
	MarkSent(ctx context.Context, key, ref string) error
	MarkFailed(ctx context.Context, key, errText string, retryAt time.Time) error
	// SentRef, OutboxPending and Postpone let a thread reply or an update wait for the
	// message it refers to.
	SentRef(ctx context.Context, key string) (ref string, ok bool, err error)
	OutboxPending(ctx context.Context, key string) (bool, error)
	Postpone(ctx context.Context, key string, until time.Time) error
}

// Sender posts one outbox message and returns its timestamp; *Slack and *Terminal satisfy
// it. It handles every kind: KindAlert, KindNotice, KindReply (in the thread at ThreadTS)
// and KindUpdate (replacing the message at ThreadTS, whose ts it returns).
type Sender interface {
	Post(ctx context.Context, channel string, a Alert) (ts string, err error)
}

// SentChecker is implemented by Senders that can tell whether an outbox key was already
// posted to channel, so that a send whose outcome was never recorded (a crash between Post
// and MarkSent, a timeout after Slack accepted the message) is not posted twice. An error
// wrapping ErrCheckUnavailable lets the item be posted unchecked; any other holds it.
type SentChecker interface {
	AlreadyPosted(ctx context.Context, channel, key string) (ts string, ok bool, err error)
}

// SentFinder is a SentChecker that can also look inside a reply's thread and no further
// back than when the item was enqueued; the Deliverer prefers it.
type SentFinder interface {
	FindSent(ctx context.Context, q SentQuery) (ts string, ok bool, err error)
}

// SentQuery is what a SentFinder is asked about one outbox item.
type SentQuery struct {
	Channel string
	Key     string
	// ThreadTS is the thread a reply was posted in; "" for a message of its own.
	ThreadTS string
	// Since is when the item was enqueued: it cannot have been posted earlier. Zero means
	// unknown.
	Since time.Time
}

// ErrCheckUnavailable is wrapped by a SentChecker's error when it cannot look at all (a
// missing scope, a channel it cannot read) and asking again soon will not help. The
// Deliverer then posts anyway, logging the error once: an alert never delivered is worse
// than one posted twice after a crash. Any other error holds the item for a retry.
var ErrCheckUnavailable = errors.New("cannot check whether the message was already posted")

// DelivererOptions configure a Deliverer. Outbox and Sender are required.
type DelivererOptions struct {
	Outbox OutboxStore
	Sender Sender
	// Location is the time zone of times in alerts (e.g. Asia/Tokyo); a
	// time.Location does not survive the outbox's JSON. Nil means UTC.
	Location *time.Location
	// Now is the clock; nil means time.Now. It should be the store's clock: items enqueued
	// before the Deliverer started are checked with the SentChecker.
	Now func() time.Time
	// Sleep waits for d or until ctx ends; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives failed deliveries; nil discards them.
	Logger *slog.Logger
	// ChannelInterval is the least time between two posts to one channel; zero or less
	// means one second (Slack allows about one message per second per channel).
	ChannelInterval time.Duration
	// MaxBackoff caps the exponential back-off after a retryable failure (a Retry-After from
	// Slack is honoured even when longer); zero or less means one minute, so that a channel
	// comes back within a minute of the end of an outage (see BENCHMARKS.md).
	MaxBackoff time.Duration
	// Batch is how many due items one drain takes; zero or less means 100.
	Batch int
	// OnSent is called after an item is recorded as sent, with the message's timestamp
	// (for a thread reply, the thread's), so that the daemon can remember it on the case.
	// Nil means nothing.
	OnSent func(key, channel, ts string)
}

// Delivery policy.
const (
	dlDefaultInterval   = time.Second
	dlDefaultMaxBackoff = time.Minute
	dlDefaultBatch      = 100
	dlBaseBackoff       = 2 * time.Second
	// dlPermanentRetry holds back an item that needs a person (bad token, unknown channel,
	// invalid payload): it stays in the outbox, visible in its depth, and is tried again
	// once a day in case the configuration was fixed.
	dlPermanentRetry = 24 * time.Hour
	// dlParentWait is how long a reply or an update waits before looking again for the
	// message it refers to, which is not sent yet (held by quiet hours, failing).
	dlParentWait = 5 * time.Second
	// dlOrphanAfter is how long a reply or an update waits for a message that is neither
	// sent nor in the outbox (it may still be enqueued by a poll that failed half-way)
	// before it is dropped.
	dlOrphanAfter = time.Hour
	// dlDrainBudget bounds how long one drain goes on taking the items that arrive while
	// it runs (a batch already started is finished).
	dlDrainBudget = time.Minute
)

// Deliverer sends the store's outbox to Slack: every alert decided is written to the outbox
// first, and the Deliverer posts it, records it as sent, and retries it after failures, so
// that an alert is neither lost nor, with a SentChecker, posted twice.
type Deliverer struct {
	outbox   OutboxStore
	sender   Sender
	checker  SentChecker // nil if the Sender cannot check
	finder   SentFinder  // nil if the Sender cannot look in threads and since a time
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
	log      *slog.Logger
	interval time.Duration
	maxBack  time.Duration
	batch    int
	onSent   func(key, channel, ts string)
	started  time.Time
	loc      *time.Location

	// mu serializes drains and guards the state below.
	mu       sync.Mutex
	lastPost map[string]time.Time // channel → time of the last post attempt
	holdTill map[string]time.Time // channel → no posts before, after a retryable failure
	// unrecorded holds keys posted whose MarkSent failed, with their ts, so that the next
	// drain records them instead of posting again.
	unrecorded map[string]string
	// unchecked holds the texts of ErrCheckUnavailable errors already logged.
	unchecked map[string]bool
}

// NewDeliverer returns a Deliverer; see DelivererOptions for defaults.
func NewDeliverer(opt DelivererOptions) *Deliverer {
	d := &Deliverer{
		outbox:     opt.Outbox,
		sender:     opt.Sender,
		now:        opt.Now,
		sleep:      opt.Sleep,
		log:        opt.Logger,
		interval:   opt.ChannelInterval,
		maxBack:    opt.MaxBackoff,
		batch:      opt.Batch,
		onSent:     opt.OnSent,
		loc:        opt.Location,
		lastPost:   map[string]time.Time{},
		holdTill:   map[string]time.Time{},
		unrecorded: map[string]string{},
		unchecked:  map[string]bool{},
	}
	d.checker, _ = opt.Sender.(SentChecker)
	d.finder, _ = opt.Sender.(SentFinder)
	if d.now == nil {
		d.now = time.Now
	}
	if d.sleep == nil {
		d.sleep = dlSleep
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.interval <= 0 {
		d.interval = dlDefaultInterval
	}
	if d.maxBack <= 0 {
		d.maxBack = dlDefaultMaxBackoff
	}
	if d.batch <= 0 {
		d.batch = dlDefaultBatch
	}
	d.started = d.now()
	return d
}

// Run drains the outbox every interval until ctx ends, then returns nil. Store errors are
// logged and the next drain tries again.
func (d *Deliverer) Run(ctx context.Context, every time.Duration) error {
	for {
		if _, err := d.DrainOnce(ctx); err != nil && ctx.Err() == nil {
			d.log.ErrorContext(ctx, "drain outbox", "err", err)
		}
		if ctx.Err() != nil {
			return nil
		}
		if err := d.sleep(ctx, every); err != nil || ctx.Err() != nil {
			return nil
		}
	}
}

// DrainOnce sends the items due now, in the order they were enqueued, pacing each channel,
// and returns how many were sent. Items that arrive while it paces are sent in the same
// drain, for up to dlDrainBudget, so that an alert does not wait for the next drain while
// its channel is free. A failed send is recorded on its item, which stays in the outbox;
// the error is only for the store and for ctx.
func (d *Deliverer) DrainOnce(ctx context.Context) (sent int, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()

	start := d.now()
	for {
		n, err := d.dlRound(ctx)
		sent += n
		if err != nil || n == 0 || d.now().Sub(start) >= dlDrainBudget {
			return sent, err
		}
	}
}

// dlRound sends one batch of the items due now.
func (d *Deliverer) dlRound(ctx context.Context) (sent int, err error) {
	start := d.now()
	items, err := d.outbox.PendingExcept(ctx, start, d.batch, func(channel string) bool {
		return start.Before(d.holdTill[channel])
	})
	if err != nil {
		return 0, fmt.Errorf("drain outbox: %w", err)
	}
	latest := dlLatestUpdates(items)
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return sent, err
		}
		if d.now().Before(d.holdTill[it.Channel]) {
			continue // the channel failed in this drain or an earlier one: keep the order
		}
		ok, err := d.dlDeliver(ctx, it, latest)
		if err != nil {
			return sent, err
		}
		if ok {
			sent++
		}
	}
	return sent, nil
}

// dlDeliver sends one item and records the outcome; it reports whether the item was sent.
// Its error is for the store and ctx only. latest maps a ThreadKey to the key of the last
// update of that message in this drain: earlier ones are recorded without a call.
func (d *Deliverer) dlDeliver(ctx context.Context, it store.OutboxItem, latest map[string]string) (bool, error) {
	if ts, ok := d.unrecorded[it.Key]; ok {
		return true, d.dlRecord(ctx, it, ts)
	}
	var a Alert
	if err := json.Unmarshal(it.Payload, &a); err != nil {
		return false, d.dlFailed(ctx, it, fmt.Errorf("decode alert: %w", err))
	}
	a.Location = d.loc
	a.Key = it.Key
	switch a.Kind {
	case KindAlert, KindNotice:
	case KindReply, KindUpdate:
		if a.Kind == KindUpdate && latest[a.ThreadKey] != it.Key {
			// A later update of the same message is in this drain: it shows the newer state.
			return false, d.outbox.MarkSent(context.WithoutCancel(ctx), it.Key, "")
		}
		ready, err := d.dlThread(ctx, it, &a)
		if err != nil || !ready {
			return false, err
		}
	default:
		return false, d.dlFailed(ctx, it, fmt.Errorf("unknown message kind %q", a.Kind))
	}
	if (d.checker != nil || d.finder != nil) && a.Kind != KindUpdate && d.dlMayHavePosted(it) {
		ts, ok, err := d.dlAlreadyPosted(ctx, it, &a)
		switch {
		case err != nil && ctx.Err() != nil:
			return false, ctx.Err()
		case errors.Is(err, ErrCheckUnavailable):
			// Holding the item until a person fixes the app would hold it forever if
			// nobody does: post it, and say once that duplicates are possible.
			if !d.unchecked[err.Error()] {
				d.unchecked[err.Error()] = true
				d.log.ErrorContext(ctx, "cannot check whether messages were already posted; posting them anyway, so a crash between post and record may duplicate one until this is fixed",
					"key", it.Key, "channel", it.Channel, "err", err)
			}
		case err != nil:
			// Posting without knowing could duplicate: treat it as a failed send.
			return false, d.dlFailed(ctx, it, fmt.Errorf("check whether already posted: %w", err))
		case ok:
			d.log.InfoContext(ctx, "alert was already posted; recording it", "key", it.Key, "channel", it.Channel, "ts", ts)
			return true, d.dlRecord(ctx, it, dlRef(&a, ts))
		}
	}

	if err := d.dlPace(ctx, it.Channel); err != nil {
		return false, err
	}
	ts, err := d.sender.Post(ctx, it.Channel, a)
	d.lastPost[it.Channel] = d.now()
	if err != nil {
		if ctx.Err() != nil {
			// Shutting down: the outcome is unknown, the item stays due; it will be checked
			// before the next post.
			return false, ctx.Err()
		}
		return false, d.dlFailed(ctx, it, err)
	}
	return true, d.dlRecord(ctx, it, dlRef(&a, ts))
}

// dlAlreadyPosted asks the Sender whether the item was posted: in the thread of a reply and
// since the item was enqueued, when it can look there.
func (d *Deliverer) dlAlreadyPosted(ctx context.Context, it store.OutboxItem, a *Alert) (string, bool, error) {
	if d.finder == nil {
		return d.checker.AlreadyPosted(ctx, it.Channel, it.Key)
	}
	q := SentQuery{Channel: it.Channel, Key: it.Key, Since: it.EnqueuedAt}
	if a.Kind == KindReply {
		q.ThreadTS = a.ThreadTS
	}
	return d.finder.FindSent(ctx, q)
}

// dlRef is what the outbox records for a sent message: its ts, or for a thread reply the
// thread's, so that a reply to that reply (a note on a post that joined an earlier alert's
// thread) lands in the same thread.
func dlRef(a *Alert, ts string) string {
	if a.Kind == KindReply && a.ThreadTS != "" {
		return a.ThreadTS
	}
	return ts
}

// dlThread finds the message a reply or an update refers to and sets a.ThreadTS. When that
// message is not sent yet, the item is postponed in its place (it does not hold up its
// channel, and is not an attempt) and ready is false; when that message is nowhere, neither
// sent nor waiting, for longer than dlOrphanAfter, the item is dropped.
func (d *Deliverer) dlThread(ctx context.Context, it store.OutboxItem, a *Alert) (ready bool, err error) {
	if a.ThreadKey == "" {
		return false, d.dlFailed(ctx, it, fmt.Errorf("%s message without a thread key", a.Kind))
	}
	ref, ok, err := d.outbox.SentRef(ctx, a.ThreadKey)
	if err != nil {
		return false, fmt.Errorf("deliver %s: %w", it.Key, err)
	}
	if ok {
		a.ThreadTS = ref
		return true, nil
	}
	waiting, err := d.outbox.OutboxPending(ctx, a.ThreadKey)
	if err != nil {
		return false, fmt.Errorf("deliver %s: %w", it.Key, err)
	}
	now := d.now()
	if !waiting && now.Sub(it.EnqueuedAt) >= dlOrphanAfter {
		d.log.WarnContext(ctx, "message dropped: the message it refers to was never enqueued",
			"key", it.Key, "kind", a.Kind, "thread_key", a.ThreadKey, "enqueued_at", it.EnqueuedAt)
		return false, d.outbox.MarkSent(context.WithoutCancel(ctx), it.Key, "")
	}
	return false, d.outbox.Postpone(context.WithoutCancel(ctx), it.Key, now.Add(dlParentWait))
}

// dlLatestUpdates maps the ThreadKey of every update among items to the key of its last
// update.
func dlLatestUpdates(items []store.OutboxItem) map[string]string {
	var latest map[string]string
	for _, it := range items {
		var m struct {
			Kind      string `json:"kind"`
			ThreadKey string `json:"thread_key"`
		}
		if json.Unmarshal(it.Payload, &m) != nil || m.Kind != KindUpdate {
			continue
		}
		if latest == nil {
			latest = map[string]string{}
		}
		latest[m.ThreadKey] = it.Key
	}
	return latest
}

// dlMayHavePosted reports whether an earlier attempt could have reached Slack without being
// recorded: the item failed before (perhaps after Slack accepted it), or it is older than
// this Deliverer, so a previous process may have crashed between post and record.
func (d *Deliverer) dlMayHavePosted(it store.OutboxItem) bool {
	return it.Attempts > 0 || !it.EnqueuedAt.After(d.started)
}

// dlPace waits until the channel may receive its next message.
func (d *Deliverer) dlPace(ctx context.Context, channel string) error {
	last, ok := d.lastPost[channel]
	if !ok {
		return nil
	}
	if wait := last.Add(d.interval).Sub(d.now()); wait > 0 {
		if err := d.sleep(ctx, wait); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// dlRecord marks a posted item as sent; if the store fails, the ts is kept so that the
// next drain records it instead of posting again.
func (d *Deliverer) dlRecord(ctx context.Context, it store.OutboxItem, ts string) error {
	// Once Slack has the message, shutting down must not keep it from being recorded.
	if err := d.outbox.MarkSent(context.WithoutCancel(ctx), it.Key, ts); err != nil {
		d.unrecorded[it.Key] = ts
		return err
	}
	delete(d.unrecorded, it.Key)
	if d.onSent != nil {
		d.onSent(it.Key, it.Channel, ts)
	}
	return nil
}

// dlFailed records a failed send: a retryable one is tried again after the longer of
// Slack's Retry-After and the back-off for its attempt, and holds the channel until then;
// any other is held for a day and logged as an error, since a person must fix it.
func (d *Deliverer) dlFailed(ctx context.Context, it store.OutboxItem, sendErr error) error {
	now := d.now()
	if !Retryable(sendErr) {
		retryAt := now.Add(dlPermanentRetry)
		d.log.ErrorContext(ctx, "alert cannot be delivered; fix the configuration",
			"key", it.Key, "channel", it.Channel, "attempts", it.Attempts+1, "retry_at", retryAt, "err", sendErr)
		return d.outbox.MarkFailed(context.WithoutCancel(ctx), it.Key, sendErr.Error(), retryAt)
	}
	wait := d.dlBackoff(it.Attempts)
	if ra, ok := RetryAfter(sendErr); ok && ra > wait {
		wait = ra
	}
	retryAt := now.Add(wait)
	d.holdTill[it.Channel] = retryAt
	d.log.WarnContext(ctx, "alert delivery failed; will retry",
		"key", it.Key, "channel", it.Channel, "attempts", it.Attempts+1, "retry_at", retryAt, "err", sendErr)
	return d.outbox.MarkFailed(context.WithoutCancel(ctx), it.Key, sendErr.Error(), retryAt)
}

// dlBackoff is the wait after the failure of attempt number attempts (0 for the first):
// the base doubled per attempt, capped.
func (d *Deliverer) dlBackoff(attempts int) time.Duration {
	b := dlBaseBackoff
	for range attempts {
		if b >= d.maxBack {
			break
		}
		b *= 2
	}
	return min(b, d.maxBack)
}

// dlSleep waits for dur or until ctx ends.
func dlSleep(ctx context.Context, dur time.Duration) error {
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
