package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/kizuki-dev/kizuki/store"
)

// SnoozeStore is what ReturnSnoozes needs; *store.Store satisfies it.
type SnoozeStore interface {
	UpdateStore
	DueSnoozes(ctx context.Context, now time.Time) ([]store.Case, error)
	UpdateCase(ctx context.Context, id, actor string, fn func(*store.Case) error) (store.Case, error)
}

// snoozeEnded is the note of the event that ends a snooze.
const snoozeEnded = "snooze ended"

// errNotSnoozed: the case changed (a click) between DueSnoozes and its reopening.
var errNotSnoozed = errors.New("no longer snoozed")

// ReturnSnoozes brings back every snoozed case whose time has come (at or before now): a
// reply in its alert's thread ("Snoozed by @U1 until 3/1 18:00 JST, back now", mentioning
// who snoozed it, so they are notified), the case open again (still claimed by its assignee
// if it had one), and the alert updated. Times are shown in loc (nil: UTC). It returns how
// many cases came back; the daemon runs it every minute or so.
//
// The reply is enqueued before the case changes and its key names the snooze's end, so a
// crash in between sends it once: the next run finds the case still due.
func ReturnSnoozes(ctx context.Context, st SnoozeStore, now time.Time, loc *time.Location) (int, error) {
	if loc == nil {
		loc = time.UTC
	}
	due, err := st.DueSnoozes(ctx, now)
	if err != nil {
		return 0, fmt.Errorf("return snoozes: %w", err)
	}
	n := 0
	var errs []error
	for _, c := range due {
		if err := returnSnooze(ctx, st, c, loc); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

func returnSnooze(ctx context.Context, st SnoozeStore, c store.Case, loc *time.Location) error {
	if c.Channel != "" {
		text, blocks := snoozeBackText(&c, loc)
		payload, err := json.Marshal(ReplyBlocksMessage(AlertKey(c.ID), text, blocks))
		if err != nil {
			return fmt.Errorf("return snooze of %s: encode: %w", c.ID, err)
		}
		key := c.ID + ":snooze-back:" + c.SnoozedUntil.UTC().Format("20060102T150405.000000000Z")
		if _, err := st.Enqueue(ctx, store.OutboxItem{Key: key, Channel: c.Channel, Payload: payload}); err != nil {
			return fmt.Errorf("return snooze of %s: %w", c.ID, err)
		}
	}
	back, err := st.UpdateCase(ctx, c.ID, store.SystemActor, func(cur *store.Case) error {
		if cur.Status != store.StatusSnoozed || !cur.SnoozedUntil.Equal(c.SnoozedUntil) {
			return errNotSnoozed
		}
		cur.Status = store.StatusOpen
		if cur.Assignee != "" {
			cur.Status = store.StatusClaimed // the snooze kept its owner
		}
		cur.History = append(cur.History, store.CaseEvent{Action: store.ActionReopened, Note: snoozeEnded})
		return nil
	})
	switch {
	case errors.Is(err, errNotSnoozed):
		return nil
	case err != nil:
		return fmt.Errorf("return snooze of %s: %w", c.ID, err)
	}
	if _, err := EnqueueUpdate(ctx, st, back); err != nil {
		return fmt.Errorf("return snooze of %s: %w", c.ID, err)
	}
	return nil
}

// snoozeBackText is the thread reply of a snooze that ended: plain text for notifications
// and a block that mentions who snoozed the case (a Slack user id from an authenticated
// click, not text from a post).
func snoozeBackText(c *store.Case, loc *time.Location) (string, []slack.Block) {
	by := ""
	for i := len(c.History) - 1; i >= 0; i-- {
		if c.History[i].Action == store.ActionSnoozed {
			by = c.History[i].Actor
			break
		}
	}
	until := ""
	if !c.SnoozedUntil.IsZero() {
		until = " until " + c.SnoozedUntil.In(loc).Format("1/2 15:04 MST")
	}
	text, rich := "Snoozed"+until+", back now.", ":alarm_clock: Snoozed"+until+", back now."
	if by != "" && by != store.SystemActor {
		text = "Snoozed by @" + by + until + ", back now."
		rich = ":alarm_clock: Snoozed by " + user(by) + until + ", back now."
	}
	if c.Assignee != "" {
		text += " Still claimed by @" + c.Assignee + "."
		rich += " Still claimed by " + user(c.Assignee) + "."
	}
	return text, []slack.Block{section("kizuki_snooze_back", rich)}
}
