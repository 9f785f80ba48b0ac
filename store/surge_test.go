package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestMentionsCountEveryRelevantPost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t, newClock())
	base := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	tagged := Decision{Brand: "Kumo Mobile", Category: "risky", Relevant: true, Tagged: true} // no alert: still a mention
	irrelevant := Decision{Category: "none"}
	none := Decision{Brand: "Kumo Mobile", Category: "none", Relevant: true}
	other := Decision{Brand: "Sora Cafe", Category: "risky", Relevant: true, Alert: true}
	recs := []Recorded{
		rec("x:1", base.Add(1*time.Minute), alert),
		rec("x:2", base.Add(9*time.Minute), tagged),
		rec("x:3", base.Add(10*time.Minute), tagged),
		rec("x:4", base.Add(15*time.Minute), irrelevant),
		rec("x:5", base.Add(25*time.Minute), none),
		rec("x:6", base.Add(5*time.Minute), other),
		rec("x:1", base.Add(1*time.Minute), alert), // a repeat counts once
	}
	if _, err := s.RecordPosts(ctx, recs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		categories []string
		since      time.Time
		until      time.Time
		want       map[time.Time]int
	}{
		{"negative", []string{"risky", "actionable"}, base, base.Add(time.Hour),
			map[time.Time]int{base: 2, base.Add(10 * time.Minute): 1}},
		{"all categories", nil, base, base.Add(time.Hour),
			map[time.Time]int{base: 2, base.Add(10 * time.Minute): 1, base.Add(20 * time.Minute): 1}},
		{"since inside a slot starts at the next", []string{"risky", "actionable"}, base.Add(time.Minute), base.Add(time.Hour),
			map[time.Time]int{base.Add(10 * time.Minute): 1}},
		{"until excludes its slot", []string{"risky", "actionable"}, base, base.Add(10 * time.Minute),
			map[time.Time]int{base: 2}},
		{"until inside a slot includes it", []string{"risky"}, base, base.Add(11 * time.Minute),
			map[time.Time]int{base: 1, base.Add(10 * time.Minute): 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Mentions(ctx, "Kumo Mobile", tc.categories, tc.since, tc.until)
			if err != nil {
				t.Fatal(err)
			}
			if !mapsEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	since, ok, err := s.MentionsSince(ctx)
	if err != nil || !ok || !since.Equal(base) {
		t.Errorf("MentionsSince = %v %v %v, want %v", since, ok, err, base)
	}
	// An older post, replayed later, moves the start of the history back.
	if _, err := s.RecordPosts(ctx, []Recorded{rec("x:old", base.Add(-48*time.Hour+3*time.Minute), alert)}); err != nil {
		t.Fatal(err)
	}
	if since, _, _ := s.MentionsSince(ctx); !since.Equal(base.Add(-48 * time.Hour)) {
		t.Errorf("after an older post MentionsSince = %v", since)
	}
}

func TestMentionsSinceEmpty(t *testing.T) {
	t.Parallel()
	s := openTest(t, nil)
	if _, ok, err := s.MentionsSince(context.Background()); ok || err != nil {
		t.Errorf("empty store: ok %v err %v", ok, err)
	}
}

func TestDeleteMentionsBefore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t, newClock())
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var recs []Recorded
	for i, brand := range []string{"A", "Ab", "B"} {
		for day := range 5 {
			for _, cat := range []string{"risky", "actionable"} {
				d := Decision{Brand: brand, Category: cat, Relevant: true}
				recs = append(recs, rec(fmt.Sprintf("x:%d-%d-%s", i, day, cat), base.AddDate(0, 0, day), d))
			}
		}
	}
	if _, err := s.RecordPosts(ctx, recs); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteMentionsBefore(ctx, base.AddDate(0, 0, 3))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3*3*2 {
		t.Errorf("deleted %d counters, want 18 (3 brands, 3 days, 2 categories)", n)
	}
	for _, brand := range []string{"A", "Ab", "B"} {
		got, err := s.Mentions(ctx, brand, nil, base, base.AddDate(0, 0, 10))
		if err != nil {
			t.Fatal(err)
		}
		want := map[time.Time]int{base.AddDate(0, 0, 3): 2, base.AddDate(0, 0, 4): 2}
		if !mapsEqual(got, want) {
			t.Errorf("%s after deletion: %v, want %v", brand, got, want)
		}
	}
	if since, _, _ := s.MentionsSince(ctx); !since.Equal(base) {
		t.Errorf("the history start moved to %v", since)
	}
}

func TestSurgeLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newClock()
	s := openTest(t, clock)
	start := clock.Now()

	if _, ok, err := s.LatestSurge(ctx, "Kumo Mobile"); ok || err != nil {
		t.Fatalf("no surge yet: ok %v err %v", ok, err)
	}
	openAs := func(brand string, at time.Time) func(*Surge) (*Surge, error) {
		return func(last *Surge) (*Surge, error) {
			if last != nil && last.Active() {
				return nil, nil
			}
			return &Surge{Brand: brand, Status: SurgeOpen, StartedAt: at, AlertKey: "surge:" + brand + ":" + at.Format(time.RFC3339), Count: 12}, nil
		}
	}
	open := func(at time.Time) func(*Surge) (*Surge, error) { return openAs("Kumo Mobile", at) }
	sg, err := s.UpdateSurge(ctx, "Kumo Mobile", open(start))
	if err != nil || sg.Status != SurgeOpen || !sg.UpdatedAt.Equal(start) {
		t.Fatalf("open: %+v %v", sg, err)
	}
	// A second brand and a brand whose name extends the first do not mix.
	if _, err := s.UpdateSurge(ctx, "Kumo Mobile 2", openAs("Kumo Mobile 2", start.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Minute)
	if again, err := s.UpdateSurge(ctx, "Kumo Mobile", open(start.Add(10*time.Minute))); err != nil || !again.StartedAt.Equal(start) {
		t.Fatalf("an open surge is not opened twice: %+v %v", again, err)
	}
	latest, ok, err := s.LatestSurge(ctx, "Kumo Mobile")
	if err != nil || !ok || !latest.StartedAt.Equal(start) || latest.Count != 12 {
		t.Fatalf("latest %+v %v %v", latest, ok, err)
	}

	closed, err := s.CloseSurge(ctx, "Kumo Mobile", "U0SATO")
	if err != nil || closed.Status != SurgeClosed || closed.ClosedBy != "U0SATO" || !closed.EndedAt.Equal(clock.Now()) {
		t.Fatalf("close: %+v %v", closed, err)
	}
	if _, err := s.CloseSurge(ctx, "Kumo Mobile", "U0SATO"); !errors.Is(err, ErrNotFound) {
		t.Errorf("closing twice: %v, want ErrNotFound", err)
	}
	if _, err := s.UpdateSurge(ctx, "Kumo Mobile", func(*Surge) (*Surge, error) {
		return &Surge{Brand: "Kumo Mobile", Status: SurgeOpen, StartedAt: start.Add(-time.Hour)}, nil
	}); err == nil {
		t.Error("a surge starting before the latest was accepted")
	}
	if _, err := s.UpdateSurge(ctx, "Kumo Mobile", func(*Surge) (*Surge, error) {
		return &Surge{Brand: "Other", Status: SurgeOpen, StartedAt: start.Add(time.Hour)}, nil
	}); err == nil {
		t.Error("a surge of another brand was written under this one")
	}

	clock.Advance(24 * time.Hour)
	second := clock.Now()
	if _, err := s.UpdateSurge(ctx, "Kumo Mobile", open(second)); err != nil {
		t.Fatal(err)
	}
	all, err := s.Surges(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || !all[0].StartedAt.Equal(start) || all[1].Brand != "Kumo Mobile 2" || !all[2].StartedAt.Equal(second) {
		t.Fatalf("surges %+v", all)
	}
	recent, err := s.Surges(ctx, second.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(recent) != 2 { // the closed one ended a day ago
		t.Errorf("recent surges %+v", recent)
	}
}

func TestSentTimes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newClock()
	s := openTest(t, clock)
	for _, k := range []string{"x:1:alert", "x:2:alert"} {
		if _, err := s.Enqueue(ctx, OutboxItem{Key: k, Channel: "#c", Payload: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(3 * time.Minute)
	if err := s.MarkSent(ctx, "x:1:alert", "1.0"); err != nil {
		t.Fatal(err)
	}
	sent, err := s.SentTimes(ctx, []string{"x:1:alert", "x:2:alert", "x:3:alert"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 1 || !sent["x:1:alert"].Equal(clock.Now()) {
		t.Errorf("sent times %v", sent)
	}
}

func TestPostsBetween(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t, newClock())
	base := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	var recs []Recorded
	for i := range 6 {
		d := alert
		if i%2 == 1 {
			d = Decision{Brand: "Kumo Mobile", Category: "positive", Relevant: true}
		}
		recs = append(recs, rec(fmt.Sprintf("x:%d", i), base.Add(time.Duration(i)*10*time.Minute), d))
	}
	if _, err := s.RecordPosts(ctx, recs); err != nil {
		t.Fatal(err)
	}
	got, err := s.PostsBetween(ctx, base.Add(10*time.Minute), base.Add(50*time.Minute), nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.Post.ID)
	}
	if fmt.Sprint(ids) != "[x:1 x:2 x:3 x:4]" {
		t.Errorf("ids %v, want x:1..x:4 (since included, until excluded)", ids)
	}
	pos, err := s.PostsBetween(ctx, base, base.Add(time.Hour), func(r Recorded) bool { return r.Decision.Category == "positive" })
	if err != nil || len(pos) != 3 {
		t.Errorf("positive posts %d %v, want 3", len(pos), err)
	}
}

// TestMigrateCountMentions: a store of schema 1 (posts, no mention counters) gets the
// counters of its posts when opened, so the flame-up watch has a history at once.
func TestMigrateCountMentions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kizuki.db")
	base := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s, err := Open(path, Options{migrations: schemaMigrations()[:1]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordPosts(ctx, []Recorded{rec("x:1", base, alert), rec("x:2", base.Add(time.Minute), alert)}); err != nil {
		t.Fatal(err)
	}
	// As schema 1 left it: no counters.
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte(bucketMentions)) }); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v := schemaOf(t, s); v != 2 {
		t.Errorf("schema %d after opening, want 2", v)
	}
	got, err := s.Mentions(ctx, "Kumo Mobile", nil, base, base.Add(time.Hour))
	if err != nil || !mapsEqual(got, map[time.Time]int{base: 2}) {
		t.Errorf("mentions after migration %v %v", got, err)
	}
	if since, ok, _ := s.MentionsSince(ctx); !ok || !since.Equal(base) {
		t.Errorf("history start %v %v", since, ok)
	}
}
