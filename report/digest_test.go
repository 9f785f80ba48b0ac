package report

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/alerting"
	"github.com/kizuki-dev/kizuki/store"
)

func TestDigestFromHistory(t *testing.T) {
	ctx := context.Background()
	st := buildStore(t)
	if _, err := st.UpdateSurge(ctx, "Kumo Mobile", func(*store.Surge) (*store.Surge, error) {
		return &store.Surge{Brand: "Kumo Mobile", Status: store.SurgeEnded, StartedAt: at(20, 10, 20), EndedAt: at(20, 13, 40),
			AlertKey: "surge:Kumo Mobile:20261120T0120Z", Peak: 57, Expected: 2}, nil
	}); err != nil {
		t.Fatal(err)
	}
	opt := DigestOptions{Channel: "#kizuki-digest", Location: tokyo(t), ResponseTarget: time.Hour, Japanese: ja}
	now := at(21, 9, 0)
	d, err := BuildDigest(ctx, st, opt, now)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Day.Equal(at(20, 0, 0)) {
		t.Errorf("day %v, want 11/20 (yesterday in Tokyo)", d.Day)
	}
	// 11/20: x:109 positive, x:110 actionable, x:111 risky, hn:112 actionable.
	if got := counts2(d.Alerts); got != "risky 1, actionable 2, positive 1" {
		t.Errorf("alerts %s", got)
	}
	if d.Claimed != 2 || d.Resolved != 1 || d.Dismissed != 0 {
		t.Errorf("claimed %d resolved %d dismissed %d, want 2 1 0 (events of 11/20 only)", d.Claimed, d.Resolved, d.Dismissed)
	}
	if d.FirstResponse.N != 2 || d.FirstResponse.Median != 9*time.Minute || d.FirstResponse.P90 != 12*time.Minute {
		t.Errorf("first response %+v", d.FirstResponse)
	}
	// Open past the target: x:100 (11/17), x:110 (11/20 16:05), x:113 (11/21 00:07); not the
	// snoozed x:111 nor the claimed hn:112.
	var ids []string
	for _, c := range d.Overdue {
		ids = append(ids, c.Post.ID)
	}
	if strings.Join(ids, ",") != "x:100,x:110,x:113" || d.OverdueTotal != 3 {
		t.Errorf("overdue %v (%d)", ids, d.OverdueTotal)
	}
	if len(d.Positive) != 1 || d.Positive[0].Post.ID != "x:109" {
		t.Errorf("positive %+v", d.Positive)
	}
	if len(d.Surges) != 1 || d.Surges[0].Peak != 57 {
		t.Errorf("surges %+v", d.Surges)
	}

	// The blocks, end to end from the store.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(alerting.DigestMessage(d)); err != nil {
		t.Fatal(err)
	}
	golden(t, "digest.json", b.Bytes())

	// Enqueued once a day, however often the schedule fires.
	for i, want := range []bool{true, false} {
		added, err := EnqueueDigest(ctx, st, opt, now.Add(time.Duration(i)*time.Hour))
		if err != nil || added != want {
			t.Fatalf("enqueue #%d: added %v err %v, want %v", i+1, added, err, want)
		}
	}
	items, err := st.Pending(ctx, now.Add(24*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, it := range items {
		if it.Key == "digest:2026-11-20" {
			found = true
			var a alerting.Alert
			if err := json.Unmarshal(it.Payload, &a); err != nil || a.Kind != alerting.KindNotice || it.Channel != "#kizuki-digest" {
				t.Errorf("digest item %s %+v %v", it.Channel, a.Message, err)
			}
		}
	}
	if !found {
		t.Error("no digest in the outbox")
	}
	if _, err := EnqueueDigest(ctx, st, DigestOptions{}, now); err == nil {
		t.Error("a digest without a channel was enqueued")
	}
}

func counts2(cs []alerting.DigestCount) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Name+" "+strconv.Itoa(c.N))
	}
	return strings.Join(parts, ", ")
}
