package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestSilences(t *testing.T) {
	t.Parallel()
	clock := newClock()
	s := openTest(t, clock)
	ctx := context.Background()
	now := clock.Now()
	week := 7 * 24 * time.Hour

	sil, created, err := s.AddSilence(ctx, Silence{Author: "x:u1", AuthorHandle: "yuki_t", CreatedBy: "U111",
		Comment: "muted from the alert of x:1", EndsAt: now.Add(week)})
	if err != nil || !created {
		t.Fatalf("AddSilence = %+v, %v, %v", sil, created, err)
	}
	if sil.ID != "1" || !sil.StartsAt.Equal(now) || !sil.CreatedAt.Equal(now) || !sil.Active(now) || sil.Active(now.Add(week)) {
		t.Errorf("silence %+v: want id 1, active from now for a week", sil)
	}
	if got := sil.Matchers(); got != "author=x:u1 (@yuki_t)" {
		t.Errorf("Matchers() = %q", got)
	}

	// The same matchers again (a second click): no new silence, the later end wins.
	again, created, err := s.AddSilence(ctx, Silence{Author: "X:U1", CreatedBy: "U222", EndsAt: now.Add(2 * week)})
	if err != nil || created || again.ID != "1" || !again.EndsAt.Equal(now.Add(2*week)) || again.CreatedBy != "U111" {
		t.Errorf("second AddSilence = %+v, created %v, %v; want silence 1 extended to two weeks", again, created, err)
	}
	shorter, created, _ := s.AddSilence(ctx, Silence{Author: "x:u1", CreatedBy: "U333", EndsAt: now.Add(time.Hour)})
	if created || !shorter.EndsAt.Equal(now.Add(2*week)) {
		t.Errorf("a shorter duplicate shortened the silence: %+v", shorter)
	}

	// A silence that starts later is pending, not active.
	later, _, err := s.AddSilence(ctx, Silence{Brand: "Kumo Mobile", Term: "maintenance", CreatedBy: "sato",
		StartsAt: now.Add(time.Hour), EndsAt: now.Add(3 * time.Hour)})
	if err != nil || later.ID != "2" {
		t.Fatalf("AddSilence(later) = %+v, %v", later, err)
	}
	if got := later.Matchers(); got != `brand="Kumo Mobile" term=maintenance` {
		t.Errorf("Matchers() = %q", got)
	}
	active, err := s.ActiveSilences(ctx, now)
	if err != nil || len(active) != 1 || active[0].ID != "1" {
		t.Errorf("ActiveSilences(now) = %+v, %v; want silence 1", active, err)
	}
	if active, _ := s.ActiveSilences(ctx, now.Add(2*time.Hour)); len(active) != 2 {
		t.Errorf("ActiveSilences(+2h) = %+v, want both", active)
	}
	if active, _ := s.ActiveSilences(ctx, now.Add(3*time.Hour)); len(active) != 1 {
		t.Errorf("ActiveSilences(+3h) = %+v, want only silence 1: silences end by themselves", active)
	}

	for _, bad := range []Silence{
		{CreatedBy: "sato", EndsAt: now.Add(time.Hour)},                                                       // no matcher
		{Brand: "Kumo Mobile", EndsAt: now.Add(time.Hour)},                                                    // nobody
		{Brand: "Kumo Mobile", CreatedBy: "sato", EndsAt: now},                                                // ends now
		{Brand: "Kumo Mobile", CreatedBy: "sato", StartsAt: now.Add(time.Hour), EndsAt: now.Add(time.Minute)}, // ends before it starts
	} {
		if _, _, err := s.AddSilence(ctx, bad); !errors.Is(err, ErrBadSilence) {
			t.Errorf("AddSilence(%+v) = %v, want ErrBadSilence", bad, err)
		}
	}

	// Expiring ends it now, and says who did; expiring again changes nothing.
	clock.Advance(time.Minute)
	exp, err := s.ExpireSilence(ctx, "1", "sato")
	if err != nil || !exp.EndsAt.Equal(clock.Now()) || exp.ExpiredBy != "sato" || exp.Active(clock.Now()) {
		t.Errorf("ExpireSilence = %+v, %v", exp, err)
	}
	clock.Advance(time.Minute)
	if again, err := s.ExpireSilence(ctx, "1", "suzuki"); err != nil || again.ExpiredBy != "sato" {
		t.Errorf("second ExpireSilence = %+v, %v; want it unchanged", again, err)
	}
	// A pending silence expired before its start never becomes active.
	if exp, err := s.ExpireSilence(ctx, "2", "sato"); err != nil || exp.Active(now.Add(2*time.Hour)) {
		t.Errorf("expired pending silence = %+v, %v", exp, err)
	}
	if _, err := s.ExpireSilence(ctx, "404", "sato"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ExpireSilence(404) = %v, want ErrNotFound", err)
	}

	// After the first one ended, the same matchers make a new silence.
	if n, created, err := s.AddSilence(ctx, Silence{Author: "x:u1", CreatedBy: "U111", EndsAt: clock.Now().Add(week)}); err != nil || !created || n.ID != "3" {
		t.Errorf("AddSilence after expiry = %+v, %v, %v; want a new silence 3", n, created, err)
	}
}

func TestSilencesListInIDOrder(t *testing.T) {
	t.Parallel()
	clock := newClock()
	s := openTest(t, clock)
	ctx := context.Background()
	for i := range 12 {
		if _, _, err := s.AddSilence(ctx, Silence{Term: fmt.Sprint("term", i), CreatedBy: "sato", EndsAt: clock.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Silences(ctx)
	if err != nil || len(all) != 12 {
		t.Fatalf("Silences = %d, %v", len(all), err)
	}
	for i, sil := range all {
		if sil.ID != fmt.Sprint(i+1) {
			t.Fatalf("silence %d has id %s: want the order they were added (10 after 9)", i, sil.ID)
		}
	}
}
