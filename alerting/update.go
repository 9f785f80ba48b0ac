package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/store"
)

// UpdateStore is what re-rendering a case's alert needs; *store.Store satisfies it.
type UpdateStore interface {
	GetPost(ctx context.Context, id string) (store.Recorded, bool, error)
	AuthorHistory(ctx context.Context, authorKey string) ([]store.CaseRef, error)
	Enqueue(ctx context.Context, it store.OutboxItem) (bool, error)
}

// EnqueueUpdate puts into the outbox a re-rendering of the alert of case c as it is now
// (claimed, snoozed, resolved...), which the Deliverer sends as chat.update once the alert
// itself is sent. It reports whether an update was added: a case without a channel, or
// whose post is not recorded yet, has no alert to update. Each state of a case is one key,
// so a repeated call adds nothing, and the Deliverer skips updates that a later one in the
// same drain supersedes.
func EnqueueUpdate(ctx context.Context, st UpdateStore, c store.Case) (bool, error) {
	if c.Channel == "" || c.ID == "" {
		return false, nil
	}
	rec, ok, err := st.GetPost(ctx, c.ID)
	if err != nil {
		return false, fmt.Errorf("update alert of %s: %w", c.ID, err)
	}
	if !ok {
		return false, nil
	}
	a := alertOf(rec)
	a.Case = c
	if c.AuthorKey != "" {
		refs, err := st.AuthorHistory(ctx, c.AuthorKey)
		if err != nil {
			return false, fmt.Errorf("update alert of %s: %w", c.ID, err)
		}
		for _, r := range refs {
			if r.ID != c.ID {
				a.History = append(a.History, r)
			}
		}
	}
	payload, err := json.Marshal(UpdateMessage(a))
	if err != nil {
		return false, fmt.Errorf("update alert of %s: encode: %w", c.ID, err)
	}
	added, err := st.Enqueue(ctx, store.OutboxItem{
		Key:     c.ID + ":update:" + strconv.FormatInt(c.UpdatedAt.UnixNano(), 10),
		Channel: c.Channel,
		Payload: payload,
	})
	if err != nil {
		return false, fmt.Errorf("update alert of %s: %w", c.ID, err)
	}
	return added, nil
}

// UpdateOnChange is an InteractionOptions.OnChange that enqueues the update of the alert
// whose case a click changed, logging a failure (the click itself is recorded).
func UpdateOnChange(st UpdateStore, log *slog.Logger) func(ctx context.Context, c store.Case, actor string) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(ctx context.Context, c store.Case, actor string) {
		if _, err := EnqueueUpdate(ctx, st, c); err != nil {
			log.ErrorContext(ctx, "alert not updated after a click", "case", c.ID, "user", actor, "err", err)
		}
	}
}

// alertOf is the alert of a recorded post, from the store's copy of its decision.
func alertOf(rec store.Recorded) Alert {
	d := rec.Decision
	return Alert{Post: rec.Post, Decision: matcher.Decision{
		ID: rec.Post.ID, Brand: d.Brand, Relevant: d.Relevant, Tagged: d.Tagged, Category: rules.Category(d.Category),
		Score: d.Score, Alert: d.Alert, InConversation: d.InConversation, Reasons: d.Reasons,
	}}
}
