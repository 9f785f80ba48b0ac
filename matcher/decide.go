package matcher

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kizuki-dev/kizuki/japanese"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/rules/query"
	"github.com/kizuki-dev/kizuki/textnorm"
)

// hit is one bounded occurrence of a ref in a text.
type hit struct {
	start, end int32
	ref        int32
}

// scratch is per-call working memory, pooled so that deciding a post that
// is not a candidate allocates almost nothing.
type scratch struct {
	hits        []hit
	ctxHits     []hit
	cands       []int32
	words       []int
	ctxWords    []int
	text        textnorm.Text
	ctxText     string
	ctxDone     bool
	entities    []post.Entity
	entDone     bool
	ja          *japanese.Analysis
	jaDone      bool
	lang        string
	p           *post.Post
	m           *Matcher
	wordsDone   bool
	ctxWDone    bool
	rule        int32
	seenSignal  []uint8
	counted     []int32
	stretchDone bool
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (m *Matcher) walk(text string, dst []hit) []hit {
	m.trie.Walk([]byte(text), func(end, n, pattern int64) bool {
		start := int(end - n + 1)
		stop := int(end + 1)
		r := m.patRefs[pattern]
		for i := r[0]; i < r[1]; i++ {
			if textnorm.Bounded(text, start, stop, m.refs[i].prefix) {
				dst = append(dst, hit{start: int32(start), end: int32(stop), ref: i})
			}
		}
		return true
	})
	return dst
}

// Decide returns the decision for one post.
func (m *Matcher) Decide(p *post.Post) Decision {
	s := scratchPool.Get().(*scratch)
	defer func() {
		*s = scratch{hits: s.hits[:0], ctxHits: s.ctxHits[:0], cands: s.cands[:0], words: s.words[:0],
			ctxWords: s.ctxWords[:0], seenSignal: s.seenSignal[:0], counted: s.counted[:0]}
		scratchPool.Put(s)
	}()
	s.p, s.m = p, m
	s.text = textnorm.Normalize(p.Text)
	s.hits = m.walk(s.text.Norm, s.hits)

	for _, h := range s.hits {
		r := &m.refs[h.ref]
		if r.kind == kKeyword || r.kind == kQuery && m.rules[r.owner].needsTerm {
			s.cands = append(s.cands, r.owner)
		}
	}
	tags := m.tags(p)
	for _, t := range tags {
		s.cands = append(s.cands, t.rule)
	}
	s.cands = append(s.cands, m.alwaysVerify...)
	if len(s.cands) == 0 {
		return Decision{ID: p.ID, Category: rules.None, Reasons: []string{"no keyword, handle or hashtag of any rule"}}
	}
	slices.Sort(s.cands)
	s.cands = slices.Compact(s.cands)

	var best Decision
	have := false
	for _, ri := range s.cands {
		d := m.decideRule(s, ri, tags)
		if !have || better(d, best) {
			best, have = d, true
		}
	}
	best.Analysis = s.ja // an analysis is never reused: s is reset below
	return best
}

// better orders decisions: relevant first, then alerting, then score.
func better(a, b Decision) bool {
	if a.Relevant != b.Relevant {
		return a.Relevant
	}
	if a.Alert != b.Alert {
		return a.Alert
	}
	return a.Score > b.Score
}

// tag is a reason a post belongs to a rule without any keyword.
type tag struct {
	rule   int32
	reason string
}

func (m *Matcher) tags(p *post.Post) []tag {
	var out []tag
	if len(m.handles) > 0 {
		mentions := p.Mentions
		if mentions == nil && strings.ContainsAny(p.Text, "@＠") {
			mentions = post.ExtractMentions(p.Text)
		}
		for _, h := range mentions {
			for _, ri := range m.handles[strings.ToLower(strings.TrimPrefix(h, "@"))] {
				out = append(out, tag{ri, "mentions @" + h})
			}
		}
		if parent, ok := p.Parent(); ok {
			for _, ri := range m.handles[strings.ToLower(parent.Author.Handle)] {
				out = append(out, tag{ri, "replies to @" + parent.Author.Handle})
			}
		}
	}
	if len(m.hashtags) > 0 {
		hashtags := p.Hashtags
		if hashtags == nil && strings.ContainsAny(p.Text, "#＃") {
			hashtags = post.ExtractHashtags(p.Text)
		}
		for _, h := range hashtags {
			for _, ri := range m.hashtags[textnorm.String(strings.TrimPrefix(h, "#"))] {
				out = append(out, tag{ri, "carries #" + h})
			}
		}
	}
	return out
}

func (s *scratch) language() string {
	if s.lang == "" {
		switch {
		case s.p.Lang != "":
			s.lang = strings.ToLower(s.p.Lang)
		case japanese.LooksJapanese(s.p.Text):
			s.lang = "ja"
		default:
			s.lang = "und"
		}
	}
	return s.lang
}

func (s *scratch) entitiesOf() []post.Entity {
	if !s.entDone {
		s.entities = post.Entities(s.text.Norm)
		s.entDone = true
	}
	return s.entities
}

// where says in which part of the text a hit sits: text, url, email,
// handle or hashtag.
func (s *scratch) where(h hit) string {
	if !strings.ContainsAny(s.text.Norm, "@#.:") {
		return rules.InText
	}
	for _, e := range s.entitiesOf() {
		if int(h.start) >= e.Start && int(h.end) <= e.End {
			switch e.Kind {
			case post.EntityURL:
				return rules.InURL
			case post.EntityEmail:
				return rules.InEmail
			case post.EntityMention:
				return rules.InHandle
			case post.EntityHashtag:
				return rules.InHashtag
			}
		}
	}
	return rules.InText
}

// context normalizes and scans the thread before the post, once.
func (s *scratch) context() {
	if s.ctxDone {
		return
	}
	s.ctxDone = true
	if len(s.p.Context) == 0 {
		return
	}
	var b strings.Builder
	for i, c := range s.p.Context {
		if i > 0 {
			b.WriteString(" \n ")
		}
		b.WriteString(textnorm.String(c.Text))
	}
	s.ctxText = b.String()
	s.ctxHits = s.m.walk(s.ctxText, s.ctxHits)
}

func (s *scratch) analysis() *japanese.Analysis {
	if !s.jaDone {
		s.ja = s.m.ja.Analyze(s.text.Lower)
		s.jaDone = true
	}
	return s.ja
}

func (m *Matcher) decideRule(s *scratch, ri int32, tags []tag) Decision {
	cr := &m.rules[ri]
	p := s.p
	d := Decision{ID: p.ID, Category: rules.None, Rule: cr.Rule, Reasons: []string{}}
	var reasons []string
	s.rule = ri

	if !cr.anyLang && !langAllowed(cr.Languages, s.language()) {
		d.Reasons = append(reasons, fmt.Sprintf("%s: language %q is not in languages %v", cr.Brand, s.language(), cr.Languages))
		return d
	}

	var tagReasons []string
	for _, t := range tags {
		if t.rule == ri {
			tagReasons = append(tagReasons, t.reason)
		}
	}
	d.Tagged = len(tagReasons) > 0

	// Keywords, with where they were found.
	var found []string
	for _, h := range s.hits {
		r := &m.refs[h.ref]
		if r.kind != kKeyword || r.owner != ri || insideKeyword(s.hits, h, ri, m.refs) {
			continue
		}
		w := s.where(h)
		if !slices.Contains(cr.MatchIn, w) {
			reasons = append(reasons, fmt.Sprintf("keyword %q in a %s ignored (match_in: %v)", r.term, w, cr.MatchIn))
			continue
		}
		if w == rules.InText {
			found = append(found, fmt.Sprintf("keyword %q", r.term))
		} else {
			found = append(found, fmt.Sprintf("keyword %q inside a %s", r.term, w))
		}
	}
	found = slices.Compact(found)

	for _, h := range s.hits {
		r := &m.refs[h.ref]
		if r.kind == kExclude && r.owner == ri {
			d.Reasons = append(reasons, fmt.Sprintf("%s: excluded by %q", cr.Brand, r.term))
			return d
		}
	}
	if p.Author.Handle != "" {
		if slices.Contains(m.handles[strings.ToLower(p.Author.Handle)], ri) {
			d.Reasons = append(reasons, fmt.Sprintf("%s: posted by the brand's own account @%s", cr.Brand, p.Author.Handle))
			return d
		}
	}
	if len(found) == 0 && !d.Tagged && len(cr.Keywords) > 0 {
		d.Reasons = append(reasons, cr.Brand+": no keyword where match_in allows it")
		return d
	}
	if len(cr.RequireAny) > 0 && !s.requireAny(ri) {
		d.Reasons = append(reasons, fmt.Sprintf("%s: none of require_any %v in the post or its thread", cr.Brand, cr.RequireAny))
		return d
	}
	// The query narrows keyword matches; a post that tags the brand belongs
	// to it whatever the query says.
	if cr.query != nil && !d.Tagged {
		if !cr.query.Eval(queryDoc{s}) {
			d.Reasons = append(reasons, fmt.Sprintf("%s: query does not match", cr.Brand))
			return d
		}
		if len(found) == 0 && !d.Tagged {
			found = append(found, "query matches")
		}
	}
	d.Relevant = true
	d.Brand = cr.Brand
	reasons = append(reasons, fmt.Sprintf("about %s: %s", cr.Brand, strings.Join(append(found, tagReasons...), ", ")))

	sc := m.score(s, cr, &reasons)
	d.Scores = map[rules.Category]int{rules.Actionable: sc[0], rules.Risky: sc[1], rules.Positive: sc[2]}

	// Conversation and brand replies.
	d.InConversation, d.BrandReplied = m.conversation(s, ri, &reasons)
	if d.InConversation {
		for i, c := range []rules.Category{rules.Actionable, rules.Positive} {
			_ = i
			if v := d.Scores[c]; v > 0 {
				d.Scores[c] = v * 7 / 10
			}
		}
	}

	// Risk first: a post at or above the risky threshold is risky whatever
	// else it is (a boycott call is also a complaint, but the risk team must
	// see it). Otherwise the higher of actionable and positive that reaches
	// its threshold.
	d.Category = rules.None
	for _, c := range rules.Categories {
		d.Score = max(d.Score, d.Scores[c])
	}
	bestScore := -1
	if v := d.Scores[rules.Risky]; v >= cr.Thresholds[rules.Risky] {
		d.Category, bestScore = rules.Risky, v
	} else {
		for _, c := range []rules.Category{rules.Actionable, rules.Positive} {
			if v := d.Scores[c]; v >= cr.Thresholds[c] && v > bestScore {
				d.Category, bestScore = c, v
			}
		}
	}
	// Complaint and risk cues that each fall short still make a complaint
	// together ("lies" + "so disappointed").
	if d.Category == rules.None && d.Scores[rules.Actionable] > 0 && d.Scores[rules.Risky] > 0 {
		if v := d.Scores[rules.Actionable] + d.Scores[rules.Risky]; v >= cr.Thresholds[rules.Actionable] {
			d.Category, bestScore = rules.Actionable, min(v, 100)
			reasons = append(reasons, "complaint and risk cues together → actionable")
		}
	}
	if d.Category != rules.None {
		d.Score = bestScore
		d.Channel = cr.Routing[d.Category]
		reasons = append(reasons, fmt.Sprintf("%s %d ≥ threshold %d", d.Category, bestScore, cr.Thresholds[d.Category]))
	} else if d.Score > 0 {
		reasons = append(reasons, fmt.Sprintf("no category reached its threshold (best %d)", d.Score))
	}
	d.Alert = d.Category != rules.None
	if d.Alert && d.Tagged && !cr.IncludeTagged {
		d.Alert = false
		reasons = append(reasons, "tags the brand: left to the brand's own inbox (set include_tagged: true to alert)")
	}
	d.Reasons = reasons
	return d
}

func langAllowed(allowed []string, lang string) bool {
	for _, a := range allowed {
		if strings.EqualFold(a, lang) || strings.HasPrefix(lang, strings.ToLower(a)+"-") {
			return true
		}
	}
	return false
}

func (s *scratch) requireAny(ri int32) bool {
	for _, h := range s.hits {
		if r := &s.m.refs[h.ref]; r.kind == kRequire && r.owner == ri {
			return true
		}
	}
	s.context()
	for _, h := range s.ctxHits {
		if r := &s.m.refs[h.ref]; r.kind == kRequire && r.owner == ri {
			return true
		}
	}
	return false
}

// conversation decides whether the post replies into a thread between
// other people, and whether a brand account already answered in it.
func (m *Matcher) conversation(s *scratch, ri int32, reasons *[]string) (inConv, brandReplied bool) {
	p := s.p
	isBrand := func(h string) bool { return slices.Contains(m.handles[strings.ToLower(h)], ri) }
	self := strings.ToLower(p.Author.Handle)
	var others []string
	add := func(h string) {
		h = strings.ToLower(strings.TrimPrefix(h, "@"))
		if h == "" || h == self || isBrand(h) || slices.Contains(others, h) {
			return
		}
		others = append(others, h)
	}
	for _, c := range p.Context {
		if isBrand(c.Author.Handle) {
			if !brandReplied {
				*reasons = append(*reasons, fmt.Sprintf("@%s already replied in this thread (%s): avoid answering twice",
					c.Author.Handle, c.CreatedAt.UTC().Format(time.DateTime+" MST")))
			}
			brandReplied = true
			continue
		}
		add(c.Author.Handle)
	}
	if p.ReplyTo == "" {
		return false, brandReplied
	}
	if len(p.Context) == 0 {
		add(post.ExtractReplyTo(p.Text))
	}
	if len(others) > 0 {
		sort.Strings(others)
		if len(others) > 3 {
			others = append(others[:3], "…")
		}
		*reasons = append(*reasons, fmt.Sprintf("replies inside a conversation of others (@%s): join with care; actionable and positive ×0.7",
			strings.Join(others, ", @")))
		return true, brandReplied
	}
	return false, brandReplied
}

// queryDoc adapts a post to the query evaluator.
type queryDoc struct{ s *scratch }

func (q queryDoc) Find(t query.Term, context bool) []int {
	s := q.s
	kind, hits, text := kQuery, s.hits, s.text.Norm
	if context {
		s.context()
		kind, hits, text = kQueryCtx, s.ctxHits, s.ctxText
	}
	var words *[]int
	if context {
		if !s.ctxWDone {
			s.ctxWords = textnorm.WordStarts(text, s.ctxWords)
			s.ctxWDone = true
		}
		words = &s.ctxWords
	} else {
		if !s.wordsDone {
			s.words = textnorm.WordStarts(text, s.words)
			s.wordsDone = true
		}
		words = &s.words
	}
	// A fresh slice: NEAR holds one result while asking for another.
	var out []int
	for _, h := range hits {
		r := &s.m.refs[h.ref]
		if r.kind == kind && r.owner == s.rule && r.qterm == t {
			i, _ := slices.BinarySearch(*words, int(h.start))
			out = append(out, i)
		}
	}
	return out
}

func (q queryDoc) Field(name string) string {
	p := q.s.p
	switch name {
	case "lang":
		return q.s.language()
	case "platform":
		return strings.ToLower(p.Platform)
	case "author":
		return strings.ToLower(strings.TrimPrefix(p.Author.Handle, "@"))
	}
	return ""
}

func (q queryDoc) Followers() int { return q.s.p.Author.Followers }

// insideKeyword reports whether h lies within a longer keyword hit of the
// same rule ("クモモバ" inside "クモモバイル"): one mention, one reason.
func insideKeyword(hits []hit, h hit, rule int32, refs []ref) bool {
	for _, o := range hits {
		r := &refs[o.ref]
		if r.kind == kKeyword && r.owner == rule && o.start <= h.start && o.end >= h.end && o.end-o.start > h.end-h.start {
			return true
		}
	}
	return false
}
