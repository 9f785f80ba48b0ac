package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestSentRefPostponeAndPendingExcept(t *testing.T) {
	t.Parallel()
	clock := newClock()
	s := openTest(t, clock)
	ctx := context.Background()
	now := clock.Now()
	for _, it := range []OutboxItem{
		{Key: "a", Channel: "C1"},
		{Key: "b", Channel: "C2"},
		{Key: "c", Channel: "C1"},
		{Key: "d", Channel: "C3"},
	} {
		if _, err := s.Enqueue(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	keys := func(items []OutboxItem) []string {
		var ks []string
		for _, it := range items {
			ks = append(ks, it.Key)
		}
		return ks
	}

	if _, ok, err := s.SentRef(ctx, "a"); err != nil || ok {
		t.Errorf("SentRef of a pending key = %v, %v; want not sent", ok, err)
	}
	if ok, err := s.OutboxPending(ctx, "a"); err != nil || !ok {
		t.Errorf("OutboxPending(a) = %v, %v; want true", ok, err)
	}
	if err := s.MarkSent(ctx, "a", "1700000000.000100"); err != nil {
		t.Fatal(err)
	}
	if ref, ok, err := s.SentRef(ctx, "a"); err != nil || !ok || ref != "1700000000.000100" {
		t.Errorf("SentRef(a) = %q, %v, %v", ref, ok, err)
	}
	if ok, _ := s.OutboxPending(ctx, "a"); ok {
		t.Error("a sent item is still pending")
	}
	if ref, ok, err := s.SentRef(ctx, "nope"); err != nil || ok || ref != "" {
		t.Errorf("SentRef of an unknown key = %q, %v, %v", ref, ok, err)
	}

	// Postpone holds an item back in its place, without an attempt.
	if err := s.Postpone(ctx, "b", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := s.PendingExcept(ctx, now, 0, nil)
	if err != nil || !slices.Equal(keys(got), []string{"c", "d"}) {
		t.Fatalf("PendingExcept(now) = %v, %v; want [c d]", keys(got), err)
	}
	got, _ = s.PendingExcept(ctx, now.Add(time.Minute), 0, nil)
	if !slices.Equal(keys(got), []string{"b", "c", "d"}) || got[0].Attempts != 0 || got[0].LastError != "" {
		t.Errorf("PendingExcept(later) = %+v; want b first, untouched", got)
	}
	if err := s.Postpone(ctx, "a", now); !errors.Is(err, ErrNotFound) {
		t.Errorf("Postpone of a sent key = %v, want ErrNotFound", err)
	}

	// Skipped channels do not count toward the limit.
	got, _ = s.PendingExcept(ctx, now.Add(time.Minute), 1, func(ch string) bool { return ch != "C3" })
	if !slices.Equal(keys(got), []string{"d"}) {
		t.Errorf("PendingExcept(skip all but C3, limit 1) = %v, want [d]", keys(got))
	}
}
