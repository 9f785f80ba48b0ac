// Package rules defines Kizuki's rule files: what a brand is (keywords,
// handles, hashtags, exclusions, an optional boolean query), which signals
// say a post needs a human, thresholds, routing and quiet hours. It loads
// YAML strictly and reports problems as file:line: message. The built-in
// signal pack (rules/builtin) is written in the same format and embedded.
package rules

import (
	"regexp"
)

// Category is what a post needs from a human.
type Category string

// The categories of a decision. None means nothing to do.
const (
	Actionable Category = "actionable"
	Risky      Category = "risky"
	Positive   Category = "positive"
	None       Category = "none"
)

// Categories lists the categories that can alert, in order of urgency.
var Categories = []Category{Risky, Actionable, Positive}

// Valid reports whether c is one of the alerting categories.
func (c Category) Valid() bool {
	return c == Actionable || c == Risky || c == Positive
}

// Where a keyword may be found. A keyword inside a URL, an e-mail address,
// another account's @handle or a hashtag still counts unless the rule
// restricts MatchIn; the decision's reasons always say where it was found.
const (
	InText    = "text"
	InURL     = "url"
	InEmail   = "email"
	InHandle  = "handle"
	InHashtag = "hashtag"
)

// Places lists every valid match_in value.
var Places = []string{InText, InURL, InEmail, InHandle, InHashtag}

// Default thresholds: a category wins only when its score reaches this.
var DefaultThresholds = map[Category]int{Actionable: 35, Risky: 45, Positive: 35}

// Pos is a position in a rule file.
type Pos struct {
	File string
	Line int
}

// Set is everything loaded from a rules directory plus the built-in pack:
// brand rules in file order and the shared signal lexicon.
type Set struct {
	Rules []*Rule
	// Pack is the global signal lexicon: the built-in pack with the user's
	// pack files (rule files without a brand) layered over it by name.
	Pack Pack
	// Files is every file that was loaded, built-in ones as "builtin/NAME".
	Files []string
}

// Pack is a set of signals and language cues shared by all brands.
type Pack struct {
	Signals []*Signal
	// Negators and Intensifiers per language ("en", "ja"), as written
	// (trimmed; the matcher normalizes), merged over all pack files.
	Negators     map[string][]string
	Intensifiers map[string][]string
}

// Rule is one brand, compiled from one rule file with defaults applied.
type Rule struct {
	Pos        Pos
	Brand      string
	Keywords   []string
	Handles    []string // lower-cased, without "@"
	Hashtags   []string // as written, without "#" (the matcher normalizes)
	Exclude    []string
	RequireAny []string
	// Query is the optional boolean query (nil when absent); its source
	// text is QuerySrc.
	Query    Query
	QuerySrc string
	// Languages limits the rule to posts in these languages; empty means any.
	Languages []string
	// MatchIn limits where keywords count; never empty after loading.
	MatchIn []string
	// IncludeTagged makes tagged posts alert too; by default a post that
	// tags the brand is left to the brand's own inbox.
	IncludeTagged bool
	// Signals are the effective signals for this brand: the pack (unless
	// switched off) with this file's signals replacing those of the same
	// name, and disabled ones removed.
	Signals    []*Signal
	Thresholds map[Category]int
	Routing    map[Category]string
	QuietHours *QuietHours
	// Surge and Velocity tune the flame-up watch (see watch.go); defaults when absent.
	Surge    Surge
	Velocity Velocity
}

// Query is a compiled boolean query; package rules/query implements it.
// Declared here so that Rule does not tie every user of rules to the parser.
type Query interface {
	String() string
}

// Signal is a named cue that a post belongs to a category.
type Signal struct {
	Pos      Pos
	Name     string
	Category Category
	// Weight is added to the category's score (0–100 scale) when the
	// signal is hit, once per post however often it occurs.
	Weight int
	// Terms per language ("en", "ja", or "any"); matched like keywords.
	// A term ending in "*" matches any word that starts with it.
	Terms map[string][]string
	// Patterns are RE2 expressions run on the normalized text of posts
	// that are already candidates for a brand.
	Patterns []*regexp.Regexp
	// Negated is the category a negated hit counts toward, at half the
	// weight ("not happy" → actionable); None drops negated hits.
	Negated Category
	// Source says where the signal came from ("builtin/support.yaml").
	Source string
}

// QuietHours hold actionable and positive alerts outside open hours; risky
// alerts always go through.
type QuietHours struct {
	Start    string   // "22:00"
	End      string   // "08:00"
	Timezone string   // IANA name, e.g. "Asia/Tokyo"
	Days     []string // "mon".."sun"; empty means every day
}
