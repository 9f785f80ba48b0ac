package matcher

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/textnorm"
)

// Cues that live in code rather than in the signal pack, because they are
// about the shape of a post, not its words.
const (
	// jaQuestionWeight counts a Japanese question form found by morphology
	// when no question term of the pack did.
	jaQuestionWeight = 15
	// mixedPraiseBar is the negative score from which praise in the same
	// post counts half (sarcasm, "love the plan but the app is broken").
	mixedPraiseBar = 30
	// exclaimBonus is added to the leading category of a post with "!".
	exclaimBonus = 15
	// exclaimLean is what an exclamation says alone, in a post that is not
	// addressed to anyone and asks nothing ("See you all tomorrow!"):
	// enthusiasm, so positive, enough for the tone reading (toneBar) and
	// far from any alert threshold. Addressed to someone ("@airline get
	// me home!") it is as often a demand, so it says nothing there.
	exclaimLean = toneBar
	// maxHitsPerSignal bounds how many distinct terms of one signal count.
	maxHitsPerSignal = 3
	// negationWindow is how many words before an English term a negator
	// may stand ("not very happy").
	negationWindow = 3
)

// Reach bonuses for negative posts: a complaint from a large account, or
// one that spreads, is a risk whatever its words.
var reachSteps = []struct {
	followers, bonus int
}{{1_000_000, 30}, {100_000, 20}, {10_000, 10}}

var spreadSteps = []struct {
	shares, bonus int
}{{1000, 20}, {100, 10}}

// Indexes of the score array: [actionable, risky, positive].
const (
	riskyIndex    = 1
	positiveIndex = 2
)

func catIndex(c rules.Category) int {
	switch c {
	case rules.Actionable:
		return 0
	case rules.Risky:
		return 1
	case rules.Positive:
		return 2
	}
	return -1
}

// score adds up the signals of one candidate rule: [actionable, risky,
// positive], each clamped to 0..100.
func (m *Matcher) score(s *scratch, cr *compiledRule, reasons *[]string) [3]int {
	var sc [3]int
	if cap(s.seenSignal) < len(m.signals) {
		s.seenSignal = make([]uint8, len(m.signals))
	}
	seen := s.seenSignal[:len(m.signals)]
	clear(seen)
	text := s.text.Norm
	questionHit := false

	s.addStretched()
	counted := s.counted[:0]
	// problem is what the support and risk signals (not the general tone
	// ones) say against the brand: only a real problem halves praise.
	problem := 0
	// worded marks the categories that words, not only punctuation, speak for.
	var worded [3]bool
	contrastAt, contrast := lastContrast(text)
	for _, h := range s.hits {
		r := &m.refs[h.ref]
		if r.kind != kSignal || !cr.signalOn[r.owner] || seen[r.owner] >= maxHitsPerSignal {
			continue
		}
		sig := m.signals[r.owner]
		ci := catIndex(sig.Category)
		if ci < 0 || slices.Contains(counted, h.ref) {
			continue
		}
		// Overlapping terms of one signal ("refund", "refund request")
		// are one piece of evidence.
		if overlapsCounted(s.hits, counted, h, r.owner, m.refs) {
			continue
		}
		quoted := s.text.Lower[h.start:h.end] // as written, not kana-folded
		negated := s.negated(h, r)
		// "It would have been nice to be told": praise in a wish says the
		// opposite happened, as a negation would.
		if !negated && sig.Category == rules.Positive && !r.cjk && s.irrealis(h) {
			negated = true
		}
		// A negated word inside a phrase that carries its own negation
		// ("bad" in "not bad") is that phrase's evidence, not its own.
		if negated && insideSelfNegated(s.hits, h, cr, m.refs) {
			continue
		}
		nc := ci
		if negated {
			nc = catIndex(sig.Negated)
			// "Not unhappy" says the opposite of "unhappy", faintly: a
			// negated un-word is no complaint.
			if nc == ci && sig.Category != rules.Positive && !r.cjk && strings.HasPrefix(quoted, "un") {
				nc = -1
			}
			if nc < 0 {
				*reasons = append(*reasons, fmt.Sprintf("%q negated (%s): not counted", quoted, sig.Name))
				continue
			}
		}
		counted = append(counted, h.ref)
		// The first term of a signal counts in full, further distinct terms
		// at half: more evidence, with diminishing returns.
		w := sig.Weight
		if negated {
			w = abs(w) / 2
		}
		if seen[r.owner] > 0 {
			w /= 2
		}
		seen[r.owner]++
		extra := ""
		if negated {
			extra = ", negated"
		} else if w > 0 && s.intensified(h, r) {
			w = w * 3 / 2
			extra = ", intensified"
		} else if w > 0 && ci != riskyIndex && !isPunctuationSignal(sig.Name) && repeated(text, h) {
			w = w * 3 / 2
			extra = ", repeated"
		}
		cat := sig.Category
		if negated {
			cat = sig.Negated
		}
		// "Nice plan, but the app is broken": what follows "but" is what
		// the writer means. Risk cues keep their weight: emphasis is no
		// accusation.
		if w > 0 && nc != riskyIndex && contrastAt >= 0 && int(h.start) > contrastAt {
			w = w * 3 / 2
			extra += ", after \"" + contrast + "\""
		}
		sc[nc] += w
		if w > 0 && !isPunctuationSignal(sig.Name) {
			worded[nc] = true
		}
		if nc != positiveIndex && !strings.HasPrefix(sig.Name, "tone-") {
			problem += w
		}
		if isQuestionSignal(sig.Name) {
			questionHit = true
		}
		*reasons = append(*reasons, fmt.Sprintf("%q (%s%s) → %s %+d", quoted, sig.Name, extra, cat, w))
	}
	s.counted = counted

	// Patterns run only here, on candidates, and only for signals not
	// already counted.
	for _, idx := range cr.patterned {
		sig := m.signals[idx]
		if seen[idx] > 0 {
			continue
		}
		ci := catIndex(sig.Category)
		if ci < 0 {
			continue
		}
		for _, re := range m.patterns[idx] {
			if loc := re.find(text); loc != nil {
				seen[idx]++
				sc[ci] += sig.Weight
				if sig.Weight > 0 && !isPunctuationSignal(sig.Name) {
					worded[ci] = true
				}
				if ci != positiveIndex && !strings.HasPrefix(sig.Name, "tone-") {
					problem += sig.Weight
				}
				if isQuestionSignal(sig.Name) {
					questionHit = true
				}
				*reasons = append(*reasons, fmt.Sprintf("%q (%s pattern) → %s %+d", clip(s.text.Lower[loc[0]:loc[1]], 30), sig.Name, sig.Category, sig.Weight))
				break
			}
		}
	}

	if !questionHit && !m.cfg.NoMorphology && s.language() == "ja" && s.analysis().IsQuestion() {
		sc[0] += jaQuestionWeight
		*reasons = append(*reasons, fmt.Sprintf("question form (Japanese) → actionable +%d", jaQuestionWeight))
	}

	// An exclamation mark strengthens whatever the post already says
	// ("love it!", "still broken!!").
	if strings.Contains(text, "!") {
		i, top := -1, 0
		for c, v := range sc {
			if worded[c] && v > top {
				i, top = c, v
			}
		}
		if i >= 0 {
			sc[i] += exclaimBonus
			*reasons = append(*reasons, fmt.Sprintf("exclamation → %s +%d", []rules.Category{rules.Actionable, rules.Risky, rules.Positive}[i], exclaimBonus))
		} else if !worded[0] && !worded[1] && !strings.Contains(text, "?") && !s.addressed() {
			sc[positiveIndex] += exclaimLean
			*reasons = append(*reasons, fmt.Sprintf("exclamation without words, addressed to no one → positive +%d", exclaimLean))
		}
	}
	negative := sc[0] + sc[1]
	if negative > 0 {
		for _, st := range reachSteps {
			if s.p.Author.Followers >= st.followers {
				sc[1] += st.bonus
				*reasons = append(*reasons, fmt.Sprintf("%s followers → risky +%d", HumanCount(s.p.Author.Followers), st.bonus))
				break
			}
		}
		shares := s.p.Metrics.Reposts + s.p.Metrics.Quotes
		for _, st := range spreadSteps {
			if shares >= st.shares {
				sc[1] += st.bonus
				*reasons = append(*reasons, fmt.Sprintf("%s reposts and quotes → risky +%d", HumanCount(shares), st.bonus))
				break
			}
		}
		// Only a real problem halves praise: a topic word or a question
		// alongside thanks ("set up my eSIM in 5 mins, thank you!") does
		// not, and neither does a mood ("so much love for this, ughh").
		if sc[2] > 0 && negative >= mixedPraiseBar && problem >= mixedPraiseBar {
			sc[2] /= 2
			*reasons = append(*reasons, "praise mixed with a complaint → positive halved")
		}
	}
	for i := range sc {
		sc[i] = max(0, min(100, sc[i]))
	}
	return sc
}

// addressed reports a post written to someone: a reply, or a text that
// opens with an @-mention.
func (s *scratch) addressed() bool {
	return s.p.ReplyTo != "" || strings.HasPrefix(strings.TrimSpace(s.text.Norm), "@")
}

// negated reports whether a signal hit is negated: for Japanese by the
// morphology after it, for spaced scripts by a negator shortly before it.
func (s *scratch) negated(h hit, r *ref) bool {
	if r.cjk {
		if s.m.cfg.NoMorphology {
			return false
		}
		return s.analysis().NegatedAt(int(h.start), int(h.end))
	}
	if r.selfNeg {
		return false
	}
	text := s.text.Norm
	for _, n := range s.hits {
		// Japanese negation comes from morphology after a term; a Japanese
		// negator before an emoji or a Latin word does not negate it.
		if nr := &s.m.refs[n.ref]; nr.kind != kNegator || nr.cjk || n.end > h.start {
			continue
		}
		between := text[n.end:h.start]
		if len(between) > 60 || strings.ContainsAny(between, ".!?;,:") || strings.Contains(between, " but ") {
			continue
		}
		if len(textnorm.WordStarts(between, nil)) <= negationWindow {
			return true
		}
	}
	return false
}

// intensified reports an intensifier right before a hit ("so slow",
// 「めっちゃ遅い」).
func (s *scratch) intensified(h hit, r *ref) bool {
	text := s.text.Norm
	for _, n := range s.hits {
		if s.m.refs[n.ref].kind != kIntensifier || n.end > h.start {
			continue
		}
		between := text[n.end:h.start]
		if r.cjk {
			if len(between) <= 6 {
				return true
			}
			continue
		}
		if len(between) < 20 && !strings.ContainsAny(between, ".!?;,") && len(textnorm.WordStarts(between, nil)) <= 1 &&
			!s.signalBetween(n.end, h.start) {
			return true
		}
	}
	return false
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// HumanCount formats counts as people say them: 950, 1.2k, 12k, 1.2M. Reasons and alerts
// use it alike, so "12k followers" reads the same everywhere.
func HumanCount(n int) string {
	switch {
	case n >= 1_000_000:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/1e6), ".0") + "M"
	case n >= 10_000:
		return fmt.Sprintf("%dk", n/1000)
	case n >= 1000:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/1e3), ".0") + "k"
	}
	return fmt.Sprint(n)
}

// overlapsCounted reports whether h overlaps a hit already counted for the
// same signal.
func overlapsCounted(hits []hit, counted []int32, h hit, sig int32, refs []ref) bool {
	for _, o := range hits {
		if o.end <= h.start || o.start >= h.end || o == h {
			continue
		}
		if refs[o.ref].kind == kSignal && refs[o.ref].owner == sig && slices.Contains(counted, o.ref) {
			return true
		}
	}
	return false
}

// isQuestionSignal names the pack's question signals, which make the code's
// own Japanese question-form cue redundant.
func isQuestionSignal(name string) bool {
	return name == "question" || name == "question-mark"
}

// insideSelfNegated reports whether h lies inside a longer signal hit whose
// term carries its own negation ("not bad", "no problem"), of a signal the
// rule uses.
func insideSelfNegated(hits []hit, h hit, cr *compiledRule, refs []ref) bool {
	for _, o := range hits {
		r := &refs[o.ref]
		if r.kind == kSignal && r.selfNeg && cr.signalOn[r.owner] && o.start <= h.start && o.end >= h.end && o.end-o.start > h.end-h.start {
			return true
		}
	}
	return false
}

// contrastWords turn a sentence around; what follows the last one weighs
// more. Not "though" or "although": the clause after them concedes.
var contrastWords = []string{" but ", " however", " nevertheless", " nonetheless"}

// lastContrast returns the offset of the last contrast word in a text and
// the word; -1 if there is none.
func lastContrast(text string) (int, string) {
	at, word := -1, ""
	for _, w := range contrastWords {
		if i := strings.LastIndex(text, w); i > at {
			at, word = i, strings.TrimSpace(w)
		}
	}
	return at, word
}

// isPunctuationSignal names the pack's signals that read punctuation ("?",
// "!!!"): an exclamation mark strengthens what words say, not these.
func isPunctuationSignal(name string) bool {
	return name == "question-mark" || name == "shouting"
}

// signalBetween reports a signal term inside text[from:to]: "so" in "so
// cute 😭" strengthens "cute", not the emoji after it.
func (s *scratch) signalBetween(from, to int32) bool {
	for _, o := range s.hits {
		if s.m.refs[o.ref].kind == kSignal && o.start >= from && o.end <= to {
			return true
		}
	}
	return false
}

// irrealisCues open a wish or a might-have-been: praise right after one
// ("would have been nice", "I wish it were faster") says it did not happen.
// "Would be" only with an "if" after the praise ("it would be nice if
// someone answered"); alone it is a hope ("that would be great").
var irrealisCues = []struct {
	cue    string
	withIf bool
}{
	{"would have been ", false}, {"would've been ", false}, {"could have been ", false}, {"could've been ", false},
	{"should have been ", false}, {"should've been ", false}, {"wish ", false}, {"wished ", false},
	{"if only ", false}, {"would be ", true}, {"it'd be ", true},
}

// greeted are the words after "wish" that make it a greeting ("wish you a
// happy new year"), not a wish that things were otherwise.
var greeted = []string{"you", "u", "y'all", "yall", "everyone", "everybody", "all", "them", "him", "her", "us"}

// irrealis reports an irrealis cue at most two words before h, in the same
// sentence.
func (s *scratch) irrealis(h hit) bool {
	text := s.text.Norm
	from := max(0, int(h.start)-40)
	before := text[from:h.start]
	if i := strings.LastIndexAny(before, ".!?;"); i >= 0 {
		before = before[i+1:]
	}
	after := text[h.end:]
	if i := strings.IndexAny(after, ".!?;"); i >= 0 {
		after = after[:i]
	}
	for _, c := range irrealisCues {
		i := strings.LastIndex(before, c.cue)
		if i < 0 || i > 0 && before[i-1] != ' ' {
			continue
		}
		rest := before[i+len(c.cue):]
		if len(textnorm.WordStarts(rest, nil)) > 2 {
			continue
		}
		if c.withIf && !strings.Contains(after, " if ") {
			continue
		}
		if strings.HasPrefix(c.cue, "wish") && slices.Contains(greeted, firstWord(rest)) {
			continue
		}
		return true
	}
	return false
}

func firstWord(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i]
	}
	return s
}

// repeated reports a term written again right after itself, as people
// repeat emoji and cries ("😂😂😂", "ugh ugh"): emphasis of a mood, so it
// strengthens actionable and positive cues, not risk cues.
func repeated(text string, h hit) bool {
	term := text[h.start:h.end]
	rest := strings.TrimLeft(text[h.end:], " ")
	return strings.HasPrefix(rest, term)
}
