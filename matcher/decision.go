package matcher

import (
	"github.com/kizuki-dev/kizuki/japanese"
	"github.com/kizuki-dev/kizuki/rules"
)

// Decision is what Kizuki decides about one post. Its JSON form is the
// decision contract of DESIGN.md; the other fields are for the daemon.
type Decision struct {
	ID             string         `json:"id"`
	Brand          string         `json:"brand"`
	Relevant       bool           `json:"relevant"`
	Tagged         bool           `json:"tagged"`
	Category       rules.Category `json:"category"`
	Score          int            `json:"score"`
	Alert          bool           `json:"alert"`
	InConversation bool           `json:"in_conversation"`
	Reasons        []string       `json:"reasons"`

	// Rule is the rule that decided, nil when no rule was a candidate.
	Rule *rules.Rule `json:"-"`
	// Scores per category, before the threshold was applied.
	Scores map[rules.Category]int `json:"-"`
	// BrandReplied is set when a brand account already posted in the thread.
	BrandReplied bool `json:"-"`
	// Channel is where the alert goes, from the rule's routing ("" = default).
	Channel string `json:"-"`
	// Analysis is the Japanese analysis of the post's text, if deciding
	// needed one, for the search index to reuse (index.Doc.Analysis). It is
	// read-only.
	Analysis *japanese.Analysis `json:"-"`
}
