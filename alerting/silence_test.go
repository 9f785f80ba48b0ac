package alerting

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/store"
)

func TestSilenceMatches(t *testing.T) {
	t.Parallel()
	p := &post.Post{ID: "x:1", Platform: "x", Author: post.Author{ID: "12345", Handle: "Yuki_T"},
		Text: "ｋｕｍｏ モバイル、メンテナンス中？ Kumo Mobile maintenance window again"}
	d := &matcher.Decision{Brand: "Kumo Mobile", Rule: &rules.Rule{Brand: "Kumo Mobile", Pos: rules.Pos{File: "rules/kumo.yaml", Line: 1}}}
	tests := []struct {
		name string
		s    store.Silence
		want bool
	}{
		{"handle", store.Silence{Author: "yuki_t"}, true},
		{"@handle", store.Silence{Author: "@YUKI_T"}, true},
		{"platform:handle", store.Silence{Author: "x:@yuki_t"}, true},
		{"author key", store.Silence{Author: "x:12345"}, true},
		{"bare id", store.Silence{Author: "12345"}, true},
		{"other platform", store.Silence{Author: "bluesky:yuki_t"}, false},
		{"other author", store.Silence{Author: "yuki"}, false},
		{"brand", store.Silence{Brand: "kumo mobile"}, true},
		{"other brand", store.Silence{Brand: "Kumo Cloud"}, false},
		{"term", store.Silence{Term: "Maintenance"}, true},
		{"term in Japanese, kana folded", store.Silence{Term: "めんてなんす"}, true},
		{"term needs word boundaries", store.Silence{Term: "main"}, false},
		{"phrase", store.Silence{Term: "maintenance  window"}, true},
		{"rule by name", store.Silence{Rule: "kumo"}, true},
		{"rule by file name", store.Silence{Rule: "kumo.yaml"}, true},
		{"rule by path", store.Silence{Rule: "rules/kumo.yaml"}, true},
		{"other rule", store.Silence{Rule: "acme"}, false},
		{"all must match", store.Silence{Author: "yuki_t", Brand: "Kumo Cloud"}, false},
		{"all match", store.Silence{Author: "yuki_t", Brand: "Kumo Mobile", Term: "window"}, true},
		{"no matcher matches nothing", store.Silence{Comment: "oops"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := SilenceMatches(tc.s, p, d); got != tc.want {
				t.Errorf("SilenceMatches(%+v) = %v, want %v", tc.s, got, tc.want)
			}
		})
	}
	if SilenceMatches(store.Silence{Rule: "kumo"}, p, &matcher.Decision{Brand: "Kumo Mobile"}) {
		t.Error("a rule silence matched a decision without a rule")
	}
}

func TestSilencedByTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	p := &post.Post{ID: "x:1", Platform: "x", Author: post.Author{Handle: "yuki_t"}}
	d := &matcher.Decision{Brand: "Kumo Mobile"}
	sils := []store.Silence{
		{ID: "1", Author: "yuki_t", StartsAt: now.Add(-2 * time.Hour), EndsAt: now.Add(-time.Hour)}, // ended
		{ID: "2", Brand: "Kumo Cloud", StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour)},   // other brand
		{ID: "3", Author: "yuki_t", StartsAt: now.Add(time.Minute), EndsAt: now.Add(time.Hour)},     // not yet
	}
	if s, ok := Silenced(sils, p, d, now); ok {
		t.Errorf("silenced by %s: an ended, an unrelated and a future silence mute nothing", s.ID)
	}
	if s, ok := Silenced(sils, p, d, now.Add(time.Minute)); !ok || s.ID != "3" {
		t.Errorf("Silenced at its start = %v, %v; want silence 3", s.ID, ok)
	}
}

// iaText is the text of an ephemeral answer.
func iaText(t *testing.T, body string) string {
	t.Helper()
	var r iaReply
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	return r.Text
}

// muteEnv is an interactions handler with muting, over a store holding an alerted post.
func muteEnv(t *testing.T, now time.Time) (*Interactions, *store.Store) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "kizuki.db"), store.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ctx := t.Context()
	p := post.Post{ID: "x:1", Platform: "x", Text: "Kumo Mobile again", Author: post.Author{ID: "u1", Handle: "spam<!here>"}}
	if _, err := st.RecordPosts(ctx, []store.Recorded{{Post: p, Decision: store.Decision{Brand: "Kumo Mobile", Alert: true}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.OpenCase(ctx, store.Case{ID: "x:1", Channel: "C1"}); err != nil {
		t.Fatal(err)
	}
	h := NewInteractions(InteractionOptions{SigningSecret: iaTestSecret, Cases: st, Mutes: st,
		Now: func() time.Time { return now }, Location: time.FixedZone("JST", 9*3600), HTTPClient: iaNewHook(t).client()})
	return h, st
}

func TestInteractMuteAuthor(t *testing.T) {
	t.Parallel()
	now := time.Now()
	h, st := muteEnv(t, now)
	ctx := t.Context()

	code, body := iaServe(h, iaSignedRequest(iaFormBody(iaButton("U111", ActionMuteAuthor, "x:1")), now))
	body = iaText(t, body)
	if code != http.StatusOK || !strings.Contains(body, "Muted @spam&lt;!here&gt; until") ||
		!strings.Contains(body, "kizuki silence expire 1") {
		t.Fatalf("got %d %s", code, body)
	}
	sils, err := st.ActiveSilences(ctx, now)
	if err != nil || len(sils) != 1 {
		t.Fatalf("active silences %+v, %v; want one", sils, err)
	}
	s := sils[0]
	if s.Author != "x:u1" || s.AuthorHandle != "spam<!here>" || s.CreatedBy != "U111" || !s.EndsAt.Equal(now.Add(MuteAuthorFor)) ||
		!strings.Contains(s.Comment, "x:1") {
		t.Errorf("silence %+v", s)
	}
	// The author's next post is silenced; the case itself is untouched.
	next := &post.Post{ID: "x:2", Platform: "x", Author: post.Author{ID: "u1", Handle: "renamed"}}
	if _, ok := Silenced(sils, next, &matcher.Decision{Brand: "Kumo Mobile"}, now.Add(time.Hour)); !ok {
		t.Error("the author's next post is not silenced")
	}
	if c, _, _ := st.GetCase(ctx, "x:1"); c.Status != store.StatusOpen {
		t.Errorf("case became %s", c.Status)
	}
	items, err := st.Pending(ctx, now.Add(time.Hour), 0)
	if err != nil || len(items) != 1 || items[0].Key != "x:1:muted:1" || items[0].Channel != "C1" {
		t.Fatalf("outbox %+v, %v; want the thread note", items, err)
	}
	var note Alert
	if err := json.Unmarshal(items[0].Payload, &note); err != nil {
		t.Fatal(err)
	}
	blocks, _ := json.Marshal(note.Blocks)
	if note.Kind != KindReply || note.ThreadKey != "x:1:alert" || !strings.Contains(string(blocks), `by \u003c@U111\u003e`) {
		t.Errorf("thread note %+v %s", note.Message, blocks)
	}
	assertNoEntities(t, strings.ReplaceAll(string(blocks), `\u003c@U111\u003e`, ""))

	// A second click: the same silence, no second note.
	_, body = iaServe(h, iaSignedRequest(iaFormBody(iaButton("U222", ActionMuteAuthor, "x:1")), now))
	if !strings.Contains(body, "Already muted") {
		t.Errorf("second click: %s", body)
	}
	if items, _ := st.Pending(ctx, now.Add(time.Hour), 0); len(items) != 1 {
		t.Errorf("outbox has %d items after a second click, want 1", len(items))
	}
	if all, _ := st.Silences(ctx); len(all) != 1 {
		t.Errorf("%d silences, want 1", len(all))
	}
}

func TestInteractMuteWithoutStoreOrPost(t *testing.T) {
	t.Parallel()
	now := time.Now()
	env := iaNewEnv(t, now, nil, "x:1")
	_, body := iaServe(env.h, iaSignedRequest(iaFormBody(iaButton("U111", ActionMuteAuthor, "x:1")), now))
	if !strings.Contains(body, "kizuki silence add") {
		t.Errorf("without Mutes: %s", body)
	}
	h, _ := muteEnv(t, now)
	_, body = iaServe(h, iaSignedRequest(iaFormBody(iaButton("U111", ActionMuteAuthor, "x:404")), now))
	if !strings.Contains(body, "not recorded") {
		t.Errorf("unknown post: %s", body)
	}
}

func TestInteractExtraActionsAndUpdates(t *testing.T) {
	t.Parallel()
	now := time.Now()
	h, st := muteEnv(t, now)
	var closed []string
	h.actions = map[string]ActionFunc{ActionCloseSurge: func(_ context.Context, a *slack.BlockAction, actor string) (string, error) {
		closed = append(closed, a.Value+" by "+actor)
		return "Incident closed.", nil
	}}
	h.onChange = UpdateOnChange(st, nil)

	_, body := iaServe(h, iaSignedRequest(iaFormBody(iaButton("U111", ActionCloseSurge, "Kumo Mobile")), now))
	if len(closed) != 1 || closed[0] != "Kumo Mobile by U111" || !strings.Contains(body, "Incident closed.") {
		t.Errorf("close surge: calls %q, body %s", closed, body)
	}

	// A claim re-renders the alert through the outbox.
	if code, _ := iaServe(h, iaSignedRequest(iaFormBody(iaButton("U111", ActionClaim, "x:1")), now)); code != http.StatusOK {
		t.Fatalf("claim: %d", code)
	}
	items, _ := st.Pending(t.Context(), now.Add(time.Hour), 0)
	if len(items) != 1 || !strings.HasPrefix(items[0].Key, "x:1:update:") || items[0].Channel != "C1" {
		t.Fatalf("outbox %+v, want one update", items)
	}
	var up Alert
	if err := json.Unmarshal(items[0].Payload, &up); err != nil {
		t.Fatal(err)
	}
	if up.Kind != KindUpdate || up.ThreadKey != "x:1:alert" || up.Case.Status != store.StatusClaimed || up.Post.ID != "x:1" {
		t.Errorf("update %+v", up)
	}
	if b, _ := json.Marshal(Blocks(up)); !strings.Contains(string(b), "Claimed by") {
		t.Errorf("update layout does not show the claim: %s", b)
	}
}
