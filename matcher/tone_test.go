package matcher

import (
	"testing"

	"github.com/kizuki-dev/kizuki/rules"
)

// The reading of a post beyond its words: negation, contrast, wishes,
// stretched and repeated words, and the tone of a post that alerts no one.
func TestReading(t *testing.T) {
	t.Parallel()
	m := compile(t, map[string]string{"kumo.yaml": kumo})
	tests := []struct {
		name   string
		text   string
		cat    rules.Category
		tone   Tone
		reason string // a reason that must be there ("" for none)
		absent string // a reason that must not be there ("" for none)
	}{
		{"negated complaint word counts half", "Kumo Mobile, don't get me angry", rules.None, ToneNeutral,
			`"angry" (tone-en-negative-strong, negated) → actionable`, ""},
		{"a word inside a self-negating phrase is the phrase's", "Kumo Mobile is not bad at all", rules.Positive, TonePositive,
			`"not bad" (tone-en-positive-phrases)`, `"bad"`},
		{"litotes is no complaint", "Kumo Mobile? I'm not unhappy with it", rules.None, ToneNeutral,
			`"unhappy" negated (tone-en-negative-strong): not counted`, ""},
		{"the clause after but weighs more", "Kumo Mobile has a lovely shop but the app is awful", rules.Actionable, ToneNegative,
			`"awful" (tone-en-negative-strong, after "but")`, ""},
		{"praise in a wish is negated", "Kumo Mobile, it would have been nice to be told", rules.None, ToneNegative,
			`"nice" (tone-en-positive-strong, negated)`, "→ positive"},
		{"a hope is no wish", "Kumo Mobile, a bigger data plan would be great", rules.Positive, TonePositive,
			`"great" (tone-en-positive-strong)`, "negated"},
		{"a wish if", "Kumo Mobile, it would be nice if someone answered", rules.None, ToneNegative,
			`"nice" (tone-en-positive-strong, negated)`, ""},
		{"wishing someone well is no wish", "Kumo Mobile, wish you all a happy new year", rules.Positive, TonePositive,
			"", "negated"},
		{"stretched word", "kumo mobile is soooo gooood", rules.Positive, TonePositive,
			`(tone-en-positive-strong`, ""},
		{"stretched no is a cry, not a negator", "kumo mobile noooo the app crashed again", rules.Actionable, ToneNegative,
			"", "negated"},
		{"repeated emoji is emphasis", "Kumo Mobile 😍😍", rules.Positive, TonePositive,
			`"😍" (tone-emoji-positive, repeated)`, ""},
		{"one moderate cue leans without alerting", "Kumo Mobile is part of the problem", rules.None, ToneNegative,
			`"problem" (tone-en-negative) → actionable +24`, ""},
		{"a mild cue alone is neutral", "Kumo Mobile, okay", rules.None, ToneNeutral, "", ""},
		{"exclamation strengthens words, not punctuation alone", "Kumo Mobile new plans are out!!!", rules.None, TonePositive,
			"exclamation without words, addressed to no one → positive +20", "exclamation → risky"},
		{"an exclamation addressed to someone says nothing alone", "@kumomobile get me home!", rules.None, ToneNeutral,
			"", "exclamation"},
		{"an exclamation with a question says nothing alone", "Kumo Mobile new plans are out?!", rules.None, ToneNeutral,
			"", "exclamation"},
		{"an intensifier strengthens the next word only", "Kumo Mobile support is so slow 😞", rules.Actionable, ToneNegative,
			"", `"😞" (tone-emoji-negative, intensified)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := m.Decide(mk("1", tc.text))
			if d.Category != tc.cat {
				t.Errorf("category %s (%d), want %s; reasons %q", d.Category, d.Score, tc.cat, d.Reasons)
			}
			if got := d.Tone(); got != tc.tone {
				t.Errorf("tone %s, want %s; scores %v, reasons %q", got, tc.tone, d.Scores, d.Reasons)
			}
			if tc.reason != "" && !hasReason(d, tc.reason) {
				t.Errorf("no reason %q in %q", tc.reason, d.Reasons)
			}
			if tc.absent != "" && hasReason(d, tc.absent) {
				t.Errorf("reason %q should not be in %q", tc.absent, d.Reasons)
			}
		})
	}
}

// Praise beside a support problem or a question is halved (a complaint or
// a question is what needs an answer); beside a mere mood it is not.
func TestMixedPraise(t *testing.T) {
	t.Parallel()
	m := compile(t, map[string]string{"kumo.yaml": kumo})
	if d := m.Decide(mk("1", "Kumo Mobile, is the youth plan worth it? heard it's cheap")); d.Category != rules.Actionable {
		t.Errorf("a question with praise words is %s: %q", d.Category, d.Reasons)
	}
	if d := m.Decide(mk("2", "love the plan but Kumo Mobile app is not working since Monday")); !hasReason(d, "positive halved") {
		t.Errorf("praise beside an outage not halved: %q", d.Reasons)
	}
	if d := m.Decide(mk("3", "bummer about the rain, but Kumo Mobile is honestly the best")); hasReason(d, "positive halved") || d.Tone() != TonePositive {
		t.Errorf("a mood halved praise (tone %s): %q", d.Tone(), d.Reasons)
	}
}

func TestSqueeze(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		keep int
		want string
	}{
		{"soooo good", 1, "so good"},
		{"soooo good", 2, "soo good"},
		{"goood", 2, "good"},
		{"no run here", 1, "no run here"},
		{"aaa", 1, "a"},
	} {
		got, from := squeeze(tc.in, tc.keep)
		if got != tc.want {
			t.Errorf("squeeze(%q, %d) = %q, want %q", tc.in, tc.keep, got, tc.want)
		}
		if len(from) != len(got)+1 || int(from[len(got)]) != len(tc.in) {
			t.Errorf("squeeze(%q, %d): offsets %v do not map back", tc.in, tc.keep, from)
		}
	}
	if stretched("good food") || !stretched("gooood") {
		t.Error("stretched misreads runs")
	}
}
