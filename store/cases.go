package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Case statuses.
const (
	StatusOpen      = "open"
	StatusClaimed   = "claimed"
	StatusSnoozed   = "snoozed"
	StatusResolved  = "resolved"
	StatusDismissed = "dismissed"
)

// Case history actions.
const (
	ActionOpened    = "opened"
	ActionClaimed   = "claimed"
	ActionSnoozed   = "snoozed"
	ActionResolved  = "resolved"
	ActionDismissed = "dismissed"
	ActionReopened  = "reopened"
)

// SystemActor is the actor of events kizuki itself causes, such as opening a case.
const SystemActor = "kizuki"

// Case is a post someone may have to act on, and what was done about it.
type Case struct {
	ID           string      `json:"id"` // the post id
	Brand        string      `json:"brand,omitempty"`
	Category     string      `json:"category,omitempty"`
	Status       string      `json:"status"`
	Assignee     string      `json:"assignee,omitempty"`
	Channel      string      `json:"channel,omitempty"`
	MessageTS    string      `json:"message_ts,omitempty"`
	SnoozedUntil time.Time   `json:"snoozed_until,omitzero"`
	History      []CaseEvent `json:"history,omitempty"`
	CreatedAt    time.Time   `json:"created_at"`
	UpdatedAt    time.Time   `json:"updated_at"`
	AuthorKey    string      `json:"author_key,omitempty"` // platform:author_id, see AuthorKey
}

// CaseEvent is one entry of a case's history.
type CaseEvent struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Note   string    `json:"note,omitempty"`
}

// CaseRef is one contact with an author: a case, or an alert without a case yet
// (StatusAlerted).
type CaseRef struct {
	ID       string    `json:"id"` // the post id
	Status   string    `json:"status"`
	Assignee string    `json:"assignee,omitempty"`
	At       time.Time `json:"at"` // when the contact reached its status
}

// CaseFilter selects cases; empty fields match everything.
type CaseFilter struct {
	Status string
	Brand  string
	Since  time.Time // created at or after
}

// ClaimedError is the ErrAlreadyClaimed of a case that someone else claimed.
type ClaimedError struct {
	ID string
	By string
}

func (e *ClaimedError) Error() string { return fmt.Sprintf("%v by %s", ErrAlreadyClaimed, e.By) }

// Is makes errors.Is(err, ErrAlreadyClaimed) true.
func (e *ClaimedError) Is(target error) bool { return target == ErrAlreadyClaimed }

// errNoChange aborts an update that would change nothing, such as a second click on Claim by
// the same person; the update then returns the case as it is.
var errNoChange = errors.New("no change")

func validStatus(s string) bool {
	switch s {
	case StatusOpen, StatusClaimed, StatusSnoozed, StatusResolved, StatusDismissed:
		return true
	}
	return false
}

// actionFor is the history action of a change to status.
func actionFor(status string) string {
	switch status {
	case StatusOpen:
		return ActionReopened
	case StatusClaimed:
		return ActionClaimed
	case StatusSnoozed:
		return ActionSnoozed
	case StatusResolved:
		return ActionResolved
	case StatusDismissed:
		return ActionDismissed
	}
	return status
}

// OpenCase creates a case unless one with the same ID exists, in which case it returns that
// one and false. Empty fields get defaults: status open, times from the clock, an "opened"
// event, SystemActor for events without actor, and brand, category and author from the
// recorded post.
func (s *Store) OpenCase(ctx context.Context, c Case) (Case, bool, error) {
	if c.ID == "" {
		return Case{}, false, errors.New("open case: empty id")
	}
	if c.Status == "" {
		c.Status = StatusOpen
	}
	if !validStatus(c.Status) {
		return Case{}, false, fmt.Errorf("open case %s: unknown status %q", c.ID, c.Status)
	}
	var created bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		old, ok, err := getCase(tx, c.ID)
		if err != nil || ok {
			c = old
			return err
		}
		if err := fillFromPost(tx, &c); err != nil {
			return err
		}
		now := s.now().UTC()
		if c.CreatedAt.IsZero() {
			c.CreatedAt = now
		}
		c.UpdatedAt = now
		if c.Status != StatusSnoozed {
			c.SnoozedUntil = time.Time{}
		}
		c.History = slices.Clone(c.History)
		if len(c.History) == 0 {
			c.History = append(c.History, CaseEvent{Action: ActionOpened})
		}
		for i := range c.History {
			if c.History[i].At.IsZero() {
				c.History[i].At = c.CreatedAt
			}
			if c.History[i].Actor == "" {
				c.History[i].Actor = SystemActor
			}
		}
		created = true
		return putCase(tx, nil, &c)
	})
	if err != nil {
		return Case{}, false, fmt.Errorf("open case %s: %w", c.ID, err)
	}
	return c, created, nil
}

func fillFromPost(tx *bolt.Tx, c *Case) error {
	if c.AuthorKey != "" && c.Brand != "" && c.Category != "" {
		return nil
	}
	posts, err := bucket(tx, bucketPosts)
	if err != nil {
		return err
	}
	v := posts.Get([]byte(c.ID))
	if v == nil {
		return nil
	}
	r, err := decodeRecorded(v)
	if err != nil {
		return err
	}
	if c.AuthorKey == "" {
		c.AuthorKey = AuthorKey(r.Post)
	}
	if c.Brand == "" {
		c.Brand = r.Decision.Brand
	}
	if c.Category == "" {
		c.Category = r.Decision.Category
	}
	return nil
}

// GetCase returns a case.
func (s *Store) GetCase(ctx context.Context, id string) (Case, bool, error) {
	var c Case
	var ok bool
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		c, ok, err = getCase(tx, id)
		return err
	})
	if err != nil {
		return Case{}, false, fmt.Errorf("get case %s: %w", id, err)
	}
	return c, ok, nil
}

// UpdateCase applies fn to a case in one transaction; an error from fn aborts and is
// returned. Events fn appends get the clock's time and actor where it left them empty; if fn
// changes the status without appending an event, one is appended for it. UpdatedAt is set,
// and contact history and the snooze schedule follow.
func (s *Store) UpdateCase(ctx context.Context, id, actor string, fn func(*Case) error) (Case, error) {
	return s.updateCase(ctx, "update", id, actor, fn)
}

func (s *Store) updateCase(ctx context.Context, verb, id, actor string, fn func(*Case) error) (Case, error) {
	var out Case
	err := s.update(ctx, func(tx *bolt.Tx) error {
		old, ok, err := getCase(tx, id)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		out = old
		c := old
		c.History = slices.Clone(old.History)
		n := len(c.History)
		if err := fn(&c); err != nil {
			return err
		}
		if c.ID != old.ID {
			return fmt.Errorf("the id cannot change (to %q)", c.ID)
		}
		if !validStatus(c.Status) {
			return fmt.Errorf("unknown status %q", c.Status)
		}
		now := s.now().UTC()
		if len(c.History) == n && c.Status != old.Status {
			c.History = append(c.History, CaseEvent{Action: actionFor(c.Status)})
		}
		for i := n; i < len(c.History); i++ {
			if c.History[i].At.IsZero() {
				c.History[i].At = now
			}
			if c.History[i].Actor == "" {
				c.History[i].Actor = actor
			}
		}
		if c.Status != StatusSnoozed {
			c.SnoozedUntil = time.Time{}
		}
		c.UpdatedAt = now
		if err := putCase(tx, &old, &c); err != nil {
			return err
		}
		out = c
		return nil
	})
	switch {
	case errors.Is(err, errNoChange):
		return out, nil
	case err != nil:
		return Case{}, fmt.Errorf("%s case %s: %w", verb, id, err)
	}
	return out, nil
}

// Claim gives an open or snoozed case to actor. Claiming one's own case again changes
// nothing; a case claimed by someone else fails with a *ClaimedError (ErrAlreadyClaimed), a
// resolved or dismissed one with ErrCaseClosed.
func (s *Store) Claim(ctx context.Context, id, actor string) (Case, error) {
	if actor == "" {
		return Case{}, fmt.Errorf("claim case %s: empty actor", id)
	}
	return s.updateCase(ctx, "claim", id, actor, func(c *Case) error {
		switch c.Status {
		case StatusClaimed:
			if c.Assignee == actor {
				return errNoChange
			}
			return &ClaimedError{ID: c.ID, By: c.Assignee}
		case StatusResolved, StatusDismissed:
			return fmt.Errorf("%w: %s", ErrCaseClosed, c.Status)
		}
		c.Status = StatusClaimed
		c.Assignee = actor
		c.History = append(c.History, CaseEvent{Action: ActionClaimed})
		return nil
	})
}

// Resolve closes a case as handled; its assignee becomes actor if it had none. Resolving it
// again changes nothing; a dismissed case fails with ErrCaseClosed.
func (s *Store) Resolve(ctx context.Context, id, actor string) (Case, error) {
	return s.finish(ctx, "resolve", id, actor, StatusResolved, "")
}

// Dismiss closes a case as not relevant, with a note saying why. Dismissing it again changes
// nothing; a resolved case fails with ErrCaseClosed.
func (s *Store) Dismiss(ctx context.Context, id, actor, note string) (Case, error) {
	return s.finish(ctx, "dismiss", id, actor, StatusDismissed, note)
}

func (s *Store) finish(ctx context.Context, verb, id, actor, status, note string) (Case, error) {
	return s.updateCase(ctx, verb, id, actor, func(c *Case) error {
		switch c.Status {
		case status:
			return errNoChange
		case StatusResolved, StatusDismissed:
			return fmt.Errorf("%w: %s", ErrCaseClosed, c.Status)
		}
		c.Status = status
		if c.Assignee == "" {
			c.Assignee = actor
		}
		c.History = append(c.History, CaseEvent{Action: actionFor(status), Note: note})
		return nil
	})
}

// Snooze hides a case until a later time; DueSnoozes returns it then. The assignee is kept.
func (s *Store) Snooze(ctx context.Context, id, actor string, until time.Time) (Case, error) {
	if !until.After(s.now()) {
		return Case{}, fmt.Errorf("snooze case %s: until %s is not in the future", id, until.Format(time.RFC3339))
	}
	return s.updateCase(ctx, "snooze", id, actor, func(c *Case) error {
		if c.Status == StatusResolved || c.Status == StatusDismissed {
			return fmt.Errorf("%w: %s", ErrCaseClosed, c.Status)
		}
		c.Status = StatusSnoozed
		c.SnoozedUntil = until.UTC()
		c.History = append(c.History, CaseEvent{Action: ActionSnoozed, Note: "until " + until.UTC().Format(time.RFC3339)})
		return nil
	})
}

// Reopen makes a case open and unassigned again: a snooze that ended, or a closed case that
// needs more. Reopening an open case changes nothing.
func (s *Store) Reopen(ctx context.Context, id, actor, note string) (Case, error) {
	return s.updateCase(ctx, "reopen", id, actor, func(c *Case) error {
		if c.Status == StatusOpen {
			return errNoChange
		}
		c.Status = StatusOpen
		c.Assignee = ""
		c.History = append(c.History, CaseEvent{Action: ActionReopened, Note: note})
		return nil
	})
}

// ListCases returns the cases that match f, oldest first.
func (s *Store) ListCases(ctx context.Context, f CaseFilter) ([]Case, error) {
	var out []Case
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketCases)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			var c Case
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("case %s: %w", k, err)
			}
			if (f.Status == "" || c.Status == f.Status) && (f.Brand == "" || c.Brand == f.Brand) &&
				!c.CreatedAt.Before(f.Since) {
				out = append(out, c)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	sortCases(out)
	return out, nil
}

func sortCases(cs []Case) {
	slices.SortFunc(cs, func(a, b Case) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// DueSnoozes returns the snoozed cases whose time has come (SnoozedUntil at or before now),
// earliest first. They stay snoozed until the caller reopens them.
func (s *Store) DueSnoozes(ctx context.Context, now time.Time) ([]Case, error) {
	limit := []byte(timeKey(now))
	var out []Case
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketSnoozes)
		if err != nil {
			return err
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil && len(k) > timeKeyLen && bytes.Compare(k[:timeKeyLen], limit) <= 0; k, _ = c.Next() {
			cs, ok, err := getCase(tx, string(k[timeKeyLen+1:]))
			if err != nil {
				return err
			}
			if ok && cs.Status == StatusSnoozed {
				out = append(out, cs)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list due snoozes: %w", err)
	}
	return out, nil
}

// AuthorHistory returns every contact with an author (see AuthorKey), oldest first.
func (s *Store) AuthorHistory(ctx context.Context, authorKey string) ([]CaseRef, error) {
	var out []CaseRef
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketAuthors)
		if err != nil {
			return err
		}
		prefix := joinKey(authorKey, "")
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var ref CaseRef
			if err := json.Unmarshal(v, &ref); err != nil {
				return fmt.Errorf("contact %q: %w", k, err)
			}
			out = append(out, ref)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("author history of %s: %w", authorKey, err)
	}
	slices.SortFunc(out, func(a, b CaseRef) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func getCase(tx *bolt.Tx, id string) (Case, bool, error) {
	b, err := bucket(tx, bucketCases)
	if err != nil {
		return Case{}, false, err
	}
	v := b.Get([]byte(id))
	if v == nil {
		return Case{}, false, nil
	}
	var c Case
	if err := json.Unmarshal(v, &c); err != nil {
		return Case{}, false, fmt.Errorf("decode case %s: %w", id, err)
	}
	return c, true, nil
}

// putCase writes c and keeps its indexes (snooze schedule, contact history) in step with the
// change from old (nil for a new case).
func putCase(tx *bolt.Tx, old, c *Case) error {
	cases, err := bucket(tx, bucketCases)
	if err != nil {
		return err
	}
	snoozes, err := bucket(tx, bucketSnoozes)
	if err != nil {
		return err
	}
	authors, err := bucket(tx, bucketAuthors)
	if err != nil {
		return err
	}
	if err := putJSON(cases, []byte(c.ID), c); err != nil {
		return err
	}
	if old != nil && old.Status == StatusSnoozed {
		if err := snoozes.Delete(joinKey(timeKey(old.SnoozedUntil), old.ID)); err != nil {
			return err
		}
	}
	if c.Status == StatusSnoozed {
		if err := snoozes.Put(joinKey(timeKey(c.SnoozedUntil), c.ID), []byte{}); err != nil {
			return err
		}
	}
	if old != nil && old.AuthorKey != "" && old.AuthorKey != c.AuthorKey {
		if err := authors.Delete(joinKey(old.AuthorKey, old.ID)); err != nil {
			return err
		}
	}
	if c.AuthorKey != "" {
		ref := CaseRef{ID: c.ID, Status: c.Status, Assignee: c.Assignee, At: c.UpdatedAt}
		if err := putJSON(authors, joinKey(c.AuthorKey, c.ID), ref); err != nil {
			return err
		}
	}
	return nil
}
