package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Silence mutes alerts for a while, in Alertmanager's sense: while it is active, a post
// that matches it is recorded and searchable as any other, but not sent to Slack. Every
// matcher that is set must match (alerting.SilenceMatches says how each one matches); a
// silence sets at least one.
type Silence struct {
	ID string `json:"id"`

	// Author is a handle on any platform ("yuki_t", "@yuki_t"), a handle or author id on
	// one platform ("x:yuki_t"), or an author key as AuthorKey writes it ("x:12345").
	Author string `json:"author,omitempty"`
	// Brand is a rule's brand, as decisions name it.
	Brand string `json:"brand,omitempty"`
	// Term is a word or phrase of the post's text, matched as the rules' keywords are.
	Term string `json:"term,omitempty"`
	// Rule is a rule file: its path, its name ("kumo.yaml") or its name without the
	// extension ("kumo").
	Rule string `json:"rule,omitempty"`
	// AuthorHandle is the handle people read when Author is an id.
	AuthorHandle string `json:"author_handle,omitempty"`

	CreatedBy string    `json:"created_by"`
	Comment   string    `json:"comment,omitempty"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// ExpiredBy is who ended the silence before its time, if someone did.
	ExpiredBy string `json:"expired_by,omitempty"`
}

// Active reports whether the silence mutes at t: from StartsAt, until (not at) EndsAt.
func (s Silence) Active(at time.Time) bool {
	return !at.Before(s.StartsAt) && at.Before(s.EndsAt)
}

// Matchers describes what the silence matches, for people: `author=@yuki_t brand="Kumo Mobile"`.
func (s Silence) Matchers() string {
	var parts []string
	add := func(name, v string) {
		if v == "" {
			return
		}
		if strings.ContainsAny(v, " \t\"=") {
			v = strconv.Quote(v)
		}
		parts = append(parts, name+"="+v)
	}
	add("author", s.Author)
	if h := strings.TrimPrefix(s.AuthorHandle, "@"); h != "" && len(parts) > 0 && !strings.EqualFold(h, strings.TrimPrefix(s.Author, "@")) {
		parts[0] += " (@" + h + ")"
	}
	add("brand", s.Brand)
	add("term", s.Term)
	add("rule", s.Rule)
	return strings.Join(parts, " ")
}

// sameMatchers reports whether two silences mute the same posts.
func (s Silence) sameMatchers(o Silence) bool {
	norm := func(v string) string { return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(v), "@")) }
	return norm(s.Author) == norm(o.Author) && strings.EqualFold(s.Brand, o.Brand) &&
		strings.EqualFold(strings.TrimSpace(s.Term), strings.TrimSpace(o.Term)) && strings.EqualFold(s.Rule, o.Rule)
}

// ErrBadSilence: a silence without a matcher, without an author of the change, or whose end
// is not after its start and now.
var ErrBadSilence = errors.New("bad silence")

// AddSilence stores a new silence and returns it with its id. StartsAt defaults to now;
// CreatedAt and UpdatedAt are set. When an active silence with the same matchers exists
// (a second click on "Mute author"), no other is added: that one lasts until the later
// of the two ends, and created is false.
func (s *Store) AddSilence(ctx context.Context, sil Silence) (out Silence, created bool, err error) {
	now := s.now().UTC()
	sil.Author, sil.Brand, sil.Term, sil.Rule = strings.TrimSpace(sil.Author), strings.TrimSpace(sil.Brand),
		strings.TrimSpace(sil.Term), strings.TrimSpace(sil.Rule)
	if sil.StartsAt.IsZero() {
		sil.StartsAt = now
	}
	sil.StartsAt, sil.EndsAt = sil.StartsAt.UTC(), sil.EndsAt.UTC()
	switch {
	case sil.Author == "" && sil.Brand == "" && sil.Term == "" && sil.Rule == "":
		return Silence{}, false, fmt.Errorf("add silence: %w: set an author, a brand, a term or a rule", ErrBadSilence)
	case strings.TrimSpace(sil.CreatedBy) == "":
		return Silence{}, false, fmt.Errorf("add silence: %w: say who sets it", ErrBadSilence)
	case !sil.EndsAt.After(sil.StartsAt) || !sil.EndsAt.After(now):
		return Silence{}, false, fmt.Errorf("add silence: %w: it ends (%s) before it starts or before now", ErrBadSilence, sil.EndsAt.Format(time.RFC3339))
	}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketSilences)
		if err != nil {
			return err
		}
		all, err := silencesIn(b)
		if err != nil {
			return err
		}
		for _, old := range all {
			if old.Active(now) && old.sameMatchers(sil) {
				if sil.EndsAt.After(old.EndsAt) {
					old.EndsAt = sil.EndsAt
					old.UpdatedAt = now
					if err := putJSON(b, []byte(old.ID), old); err != nil {
						return err
					}
				}
				out = old
				return nil
			}
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		sil.ID = strconv.FormatUint(seq, 10)
		sil.CreatedAt, sil.UpdatedAt, sil.ExpiredBy = now, now, ""
		out, created = sil, true
		return putJSON(b, []byte(sil.ID), sil)
	})
	if err != nil {
		return Silence{}, false, fmt.Errorf("add silence: %w", err)
	}
	return out, created, nil
}

// Silences returns every silence, active, pending or ended, in the order they were added.
func (s *Store) Silences(ctx context.Context) ([]Silence, error) {
	var out []Silence
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketSilences)
		if err != nil {
			return err
		}
		out, err = silencesIn(b)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	return out, nil
}

// ActiveSilences returns the silences that mute at t, in the order they were added.
func (s *Store) ActiveSilences(ctx context.Context, at time.Time) ([]Silence, error) {
	all, err := s.Silences(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(sil Silence) bool { return !sil.Active(at) }), nil
}

// ExpireSilence ends a silence now, recording who did. A silence that already ended is
// returned as it is; an unknown id is ErrNotFound.
func (s *Store) ExpireSilence(ctx context.Context, id, actor string) (Silence, error) {
	var out Silence
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketSilences)
		if err != nil {
			return err
		}
		v := b.Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		if err := json.Unmarshal(v, &out); err != nil {
			return fmt.Errorf("decode silence: %w", err)
		}
		now := s.now().UTC()
		if !out.EndsAt.After(now) {
			return nil
		}
		if out.StartsAt.After(now) {
			out.StartsAt = now
		}
		out.EndsAt, out.UpdatedAt, out.ExpiredBy = now, now, actor
		return putJSON(b, []byte(id), out)
	})
	if err != nil {
		return Silence{}, fmt.Errorf("expire silence %s: %w", id, err)
	}
	return out, nil
}

// silencesIn decodes a silences bucket, ordered by id (ids are increasing numbers).
func silencesIn(b *bolt.Bucket) ([]Silence, error) {
	var out []Silence
	err := b.ForEach(func(k, v []byte) error {
		var sil Silence
		if err := json.Unmarshal(v, &sil); err != nil {
			return fmt.Errorf("silence %s: %w", k, err)
		}
		out = append(out, sil)
		return nil
	})
	slices.SortFunc(out, func(a, b Silence) int {
		if len(a.ID) != len(b.ID) {
			return len(a.ID) - len(b.ID)
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, err
}
