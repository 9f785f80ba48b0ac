package matcher

import "github.com/kizuki-dev/kizuki/rules"

// Tone is how a post leans, whatever alert it warrants: a mention can read
// as negative ("Kumo Mobile is part of the problem") without a complaint
// strong enough to alert anyone.
type Tone string

// The tones of a post.
const (
	ToneNegative Tone = "negative"
	ToneNeutral  Tone = "neutral"
	TonePositive Tone = "positive"
)

// toneBar is the score from which a post that reached no category still
// leans one way: one moderate cue ("problem", "inspiring") without a
// contrary one. Alert thresholds stay where the rules put them.
const toneBar = 20

// Tone reads the decision's category, or when it has none, the side its
// scores lean to: actionable and risky together against positive.
func (d Decision) Tone() Tone {
	switch d.Category {
	case rules.Actionable, rules.Risky:
		return ToneNegative
	case rules.Positive:
		return TonePositive
	}
	neg := d.Scores[rules.Actionable] + d.Scores[rules.Risky]
	pos := d.Scores[rules.Positive]
	switch {
	case neg >= toneBar && neg >= pos:
		return ToneNegative
	case pos >= toneBar && pos > neg:
		return TonePositive
	}
	return ToneNeutral
}
