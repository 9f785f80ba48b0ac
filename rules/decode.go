package rules

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/kizuki-dev/kizuki/internal/suggest"
	"github.com/kizuki-dev/kizuki/internal/yamlerr"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // quiet_hours time zones validate the same on every machine
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/kizuki-dev/kizuki/rules/query"
)

// Limits on what a rule file may hold.
const (
	MaxFileSize = 1 << 20 // bytes per file
	MaxTerms    = 100000  // keywords, terms, patterns… per file

	maxVisits          = 1000000 // YAML nodes looked at per file, aliases expanded
	maxProblemsPerFile = 100
)

// The keys of each level of a rule file.
var (
	brandKeys = []string{"brand", "keywords", "handles", "hashtags", "exclude", "require_any", "query",
		"languages", "match_in", "include_tagged", "builtin_signals", "thresholds", "routing", "quiet_hours", "signals",
		"surge", "velocity"}
	packKeys       = []string{"signals", "negators", "intensifiers"}
	signalKeys     = []string{"name", "category", "weight", "terms", "patterns", "negated", "disabled"}
	quietHoursKeys = []string{"start", "end", "timezone", "days"}
	categoryNames  = []string{string(Actionable), string(Risky), string(Positive)}
	weekdays       = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
)

// sigEntry is one entry of a file's signals list: a signal, or the name of
// one to switch off.
type sigEntry struct {
	sig      *Signal
	disabled bool
}

// parsedFile is one rule file, decoded and checked on its own.
type parsedFile struct {
	name     string
	builtin  bool
	rule     *Rule // nil for a pack file
	brandKey string
	// builtinSignals is the brand's builtin_signals (default true).
	builtinSignals bool
	signals        []sigEntry
	negators       map[string][]string
	intensifiers   map[string][]string
}

// decoder checks one file; problems are collected, not returned one by one.
type decoder struct {
	file    string
	src     []byte
	lines   []string
	probs   []Problem
	nTerms  int
	visits  int
	reCache map[string]*regexp.Regexp
}

// abort stops decoding a file whose limits are exceeded.
type abort struct{}

// parseFile decodes and checks one rule file. It never panics: a problem
// with the input, however hostile, is reported as a Problem.
func parseFile(name string, src []byte, builtin bool) (pf *parsedFile, probs []Problem) {
	d := &decoder{file: name, src: src, reCache: map[string]*regexp.Regexp{}}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(abort); !ok {
				d.probs = append(d.probs, Problem{Pos: Pos{name, 1}, Msg: fmt.Sprintf("cannot read the file: %v", r)})
			}
			pf = nil
		}
		probs = d.probs
	}()
	if len(src) > MaxFileSize {
		d.add(1, 0, "split it into several files", "file is %d bytes, more than the limit of 1 MiB", len(src))
		return nil, d.probs
	}
	root := d.parseYAML()
	if root == nil {
		return nil, d.probs
	}
	return d.file1(root, builtin), d.probs
}

func (d *decoder) add(line, col int, hint, format string, args ...any) {
	d.probs = append(d.probs, Problem{Pos: Pos{d.file, line}, Col: col, Msg: fmt.Sprintf(format, args...), Hint: hint})
	if len(d.probs) >= maxProblemsPerFile {
		d.probs = append(d.probs, Problem{Pos: Pos{d.file, line}, Msg: "too many problems, stopped checking this file"})
		panic(abort{})
	}
}

func (d *decoder) at(n *yaml.Node, hint, format string, args ...any) {
	d.add(n.Line, n.Column, hint, format, args...)
}

func (d *decoder) visit() {
	d.visits++
	if d.visits > maxVisits {
		d.add(1, 0, "use fewer aliases (*name)", "file is too complex: more than %d YAML values once aliases are expanded", maxVisits)
		panic(abort{})
	}
}

func (d *decoder) countTerm(n *yaml.Node) {
	d.nTerms++
	if d.nTerms > MaxTerms {
		d.at(n, "split it into several files", "more than %d keywords, terms and patterns in one file", MaxTerms)
		panic(abort{})
	}
}

// resolve follows aliases.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	d.visit()
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
		}
		n = n.Alias
		d.visit()
	}
	return n
}

// parseYAML returns the root node of the single document of the file, or
// nil after reporting why there is none.
func (d *decoder) parseYAML() *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(d.src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.add(1, 0, "a brand rule needs at least brand: and keywords:", "file is empty")
		} else {
			d.syntaxError(err)
		}
		return nil
	}
	for {
		var next yaml.Node
		err := dec.Decode(&next)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			d.syntaxError(err)
			return nil
		}
		if len(next.Content) == 1 && next.Content[0].Kind == yaml.ScalarNode && next.Content[0].Tag == "!!null" && next.Content[0].Value == "" {
			continue // an empty document after a trailing "---"
		}
		d.add(next.Line, 0, "put each brand in its own file", "more than one YAML document in the file (\"---\" starts a new one)")
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		d.add(1, 0, "", "file is not a YAML document")
		return nil
	}
	root := d.resolve(doc.Content[0])
	switch {
	case root.Kind == yaml.ScalarNode && root.Tag == "!!null":
		d.add(1, 0, "a brand rule needs at least brand: and keywords:", "file is empty")
		return nil
	case root.Kind != yaml.MappingNode:
		d.at(root, "start with brand: NAME for a brand rule, or signals: for a pack file",
			"a rule file must be a mapping of keys to values, not %s", kindName(root))
		return nil
	}
	return root
}

func (d *decoder) syntaxError(err error) {
	line, msg := yamlerr.Locate(err, d.src)
	hint := ""
	switch {
	case line-1 < len(d.srcLines()) && strings.Contains(leadingSpace(d.srcLines()[line-1]), "\t"):
		hint = "indent with spaces, not tabs"
	case strings.Contains(msg, "mapping values are not allowed"):
		hint = `quote a value that contains ": ", or check the indentation`
	case strings.Contains(msg, "did not find expected key"), strings.Contains(msg, "did not find expected '-'"):
		hint = "check the indentation"
	}
	d.add(line, 0, hint, "YAML syntax error: %s", msg)
}

func leadingSpace(s string) string {
	return s[:len(s)-len(strings.TrimLeft(s, " \t"))]
}

func (d *decoder) srcLines() []string {
	if d.lines == nil {
		d.lines = strings.Split(strings.ReplaceAll(string(d.src), "\r\n", "\n"), "\n")
	}
	return d.lines
}

// kindName describes what a node is, for messages; a rule file holds no
// secrets, so a string is shown.
func kindName(n *yaml.Node) string {
	if k := yamlerr.Kind(n); k != "a string" {
		return k
	}
	return fmt.Sprintf("the string %q", clip(n.Value))
}

func clip(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	return string([]rune(s)[:40]) + "…"
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// pair is one key: value of a mapping; val is resolved.
type pair struct {
	key      string
	knode    *yaml.Node
	val      *yaml.Node
	rawValue *yaml.Node
}

// pairs returns the entries of mapping n, reporting and dropping bad and
// repeated keys. where names the mapping in messages ("" at the top).
func (d *decoder) pairs(n *yaml.Node, where string) []pair {
	var out []pair
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := d.resolve(n.Content[i])
		v := d.resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.at(k, "", "a key%s must be a name, not %s", inWhere(where), kindName(k))
			continue
		}
		key := k.Value
		if key == "<<" && k.ShortTag() == "!!merge" {
			d.at(k, "repeat the keys, or use an alias (*name) for the whole value", "merge keys (<<) are not supported")
			continue
		}
		if first, dup := seen[key]; dup {
			d.at(k, "remove one of them", "%q appears twice%s (first at line %d)", key, inWhere(where), first)
			continue
		}
		seen[key] = k.Line
		out = append(out, pair{key: key, knode: k, val: v, rawValue: n.Content[i+1]})
	}
	return out
}

func inWhere(where string) string {
	if where == "" {
		return ""
	}
	return " in " + where
}

// mapping checks that p's value is a mapping (null counts as empty).
func (d *decoder) mapping(p pair, example string) ([]pair, bool) {
	switch {
	case isNull(p.val):
		return nil, true
	case p.val.Kind != yaml.MappingNode:
		d.at(p.val, "write it as "+example, "%s must be a mapping, not %s", p.key, kindName(p.val))
		return nil, false
	}
	return d.pairs(p.val, p.key), true
}

// str returns p's value as a trimmed string; empty values are a problem.
func (d *decoder) str(p pair) (string, bool) {
	v := p.val
	switch {
	case isNull(v):
		d.at(p.knode, yamlerr.CommentHint(p.rawValue, p.knode), "%s is empty", p.key)
		return "", false
	case v.Kind != yaml.ScalarNode:
		d.at(v, "", "%s must be a single value, not %s", p.key, kindName(v))
		return "", false
	}
	s := strings.TrimSpace(v.Value)
	if s == "" {
		d.at(v, "", "%s is empty", p.key)
		return "", false
	}
	return s, true
}

func (d *decoder) boolean(p pair) (bool, bool) {
	b, ok, hint := yamlerr.Bool(p.val)
	if !ok {
		d.at(p.val, hint, "%s must be true or false, not %s", p.key, kindName(p.val))
	}
	return b, ok
}

// integer reads a whole number within lo..hi.
func (d *decoder) integer(p pair, what string, lo, hi int) (int, bool) {
	v := p.val
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!float" {
		d.at(v, "", "%s must be a whole number, not %s", what, v.Value)
		return 0, false
	}
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" {
		d.at(v, "", "%s must be a number from %d to %d, not %s", what, lo, hi, kindName(v))
		return 0, false
	}
	s := strings.ReplaceAll(v.Value, "_", "")
	base := 10
	if t := strings.TrimLeft(s, "+-"); len(t) > 1 && t[0] == '0' && strings.ContainsRune("xXoObB", rune(t[1])) {
		base = 0
	}
	n, err := strconv.ParseInt(s, base, 64)
	if err != nil || n < int64(lo) || n > int64(hi) {
		d.at(v, "", "%s %s is outside %d..%d", what, v.Value, lo, hi)
		return 0, false
	}
	return int(n), true
}

// item is one string of a list, trimmed, with its node.
type item struct {
	s string
	n *yaml.Node
}

// strList reads a list of strings; what names one element ("keyword").
// A null value is an empty list. Empty elements are problems and dropped.
func (d *decoder) strList(p pair, what string) []item {
	return d.strListOf(p.val, p.key, what, true)
}

func (d *decoder) strListOf(v *yaml.Node, key, what string, trim bool) []item {
	switch {
	case isNull(v):
		return nil
	case v.Kind == yaml.ScalarNode:
		d.at(v, yamlerr.ListHint(v.Value), "%s must be a list, not a single value", key)
		return nil
	case v.Kind != yaml.SequenceNode:
		d.at(v, "write it as a list: [a, b]", "%s must be a list, not %s", key, kindName(v))
		return nil
	}
	var out []item
	for _, e := range v.Content {
		e = d.resolve(e)
		d.countTerm(e)
		if e.Kind != yaml.ScalarNode {
			hint := ""
			if e.Kind == yaml.MappingNode && len(e.Content) == 2 && e.Content[0].Kind == yaml.ScalarNode && e.Content[1].Kind == yaml.ScalarNode {
				hint = fmt.Sprintf("quote it: %q", e.Content[0].Value+": "+e.Content[1].Value)
			}
			d.at(e, hint, "each %s in %s must be a string, not %s", what, key, kindName(e))
			continue
		}
		s := e.Value
		if trim || strings.TrimSpace(s) == "" {
			s = strings.TrimSpace(s)
		}
		if s == "" || isNull(e) {
			d.at(e, "remove it", "empty %s in %s", what, key)
			continue
		}
		out = append(out, item{s, e})
	}
	return out
}

func strs(items []item) []string {
	if len(items) == 0 {
		return nil
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.s
	}
	return out
}

// file1 decodes the top level of a rule file.
func (d *decoder) file1(root *yaml.Node, builtin bool) *parsedFile {
	ps := d.pairs(root, "")
	pf := &parsedFile{name: d.file, builtin: builtin, builtinSignals: true}
	isBrand := false
	for _, p := range ps {
		if p.key == "brand" {
			isBrand = true
		}
	}
	if isBrand && builtin {
		d.at(root, "", "the built-in pack cannot hold brand rules")
		return nil
	}
	var r *Rule
	if isBrand {
		r = &Rule{
			MatchIn:    append([]string(nil), Places...),
			Thresholds: map[Category]int{},
			Routing:    map[Category]string{},
			Surge:      DefaultSurge(),
			Velocity:   DefaultVelocity(),
		}
		for c, t := range DefaultThresholds {
			r.Thresholds[c] = t
		}
		pf.rule = r
	}
	var keywordsPair, queryPair *pair
	keywordsBad := false
	for i := range ps {
		p := ps[i]
		switch p.key {
		case "signals":
			pf.signals = d.signals(p)
			continue
		case "negators", "intensifiers":
			if isBrand {
				d.at(p.knode, "move it to a pack file, a file without brand:", "%s are only allowed in pack files, not in a brand rule", p.key)
				continue
			}
			m := d.langLists(p, strings.TrimSuffix(p.key, "s"))
			if p.key == "negators" {
				pf.negators = m
			} else {
				pf.intensifiers = m
			}
			continue
		}
		if !contains(brandKeys, p.key) {
			keys := packKeys
			if isBrand {
				keys = brandKeys
			}
			s := suggest.Nearest(p.key, keys)
			if s == "" {
				s = suggest.Nearest(p.key, append(append([]string(nil), brandKeys...), packKeys...))
			}
			d.at(p.knode, suggest.DidYouMean(s), "unknown key %q", p.key)
			continue
		}
		if !isBrand {
			d.at(p.knode, "add brand: NAME to make this a brand rule, or move it to one", "%s is only allowed in a brand rule (a file with brand:)", p.key)
			continue
		}
		switch p.key {
		case "brand":
			r.Pos = Pos{d.file, p.knode.Line}
			if s, ok := d.str(p); ok {
				r.Brand = s
				pf.brandKey = strings.ToLower(strings.Join(strings.Fields(s), " "))
			}
		case "keywords":
			keywordsPair = &ps[i]
			before := len(d.probs)
			r.Keywords = strs(d.strList(p, "keyword"))
			keywordsBad = len(d.probs) > before
		case "handles":
			r.Handles = d.handles(p)
		case "hashtags":
			r.Hashtags = d.hashtags(p)
		case "exclude":
			r.Exclude = strs(d.strList(p, "exclusion"))
		case "require_any":
			r.RequireAny = strs(d.strList(p, "term"))
		case "query":
			queryPair = &ps[i]
		case "languages":
			r.Languages = d.languages(p)
		case "match_in":
			if m := d.matchIn(p); m != nil {
				r.MatchIn = m
			}
		case "include_tagged":
			r.IncludeTagged, _ = d.boolean(p)
		case "builtin_signals":
			if b, ok := d.boolean(p); ok {
				pf.builtinSignals = b
			}
		case "thresholds":
			d.thresholds(p, r)
		case "routing":
			d.routing(p, r)
		case "quiet_hours":
			r.QuietHours = d.quietHours(p)
		case "surge":
			d.surge(p, r)
		case "velocity":
			d.velocity(p, r)
		}
	}
	if r == nil {
		return pf
	}
	if r.Surge.Pos.File == "" {
		r.Surge.Pos = r.Pos
	}
	if r.Velocity.Pos.File == "" {
		r.Velocity.Pos = r.Pos
	}
	if queryPair != nil {
		d.query(*queryPair, r)
	}
	switch {
	case queryPair != nil:
		if r.Query != nil && len(r.Keywords) == 0 {
			if q, ok := r.Query.(*query.Query); ok && !q.HasPositiveTerm() {
				d.at(queryPair.val, "add keywords:, or a term every match must contain", "without keywords, the query needs a term that every matching post contains")
			}
		}
	case keywordsPair == nil:
		d.add(r.Pos.Line, 0, "add keywords: [a, b], or a query:", "brand %q has no keywords", r.Brand)
	case len(r.Keywords) == 0 && !keywordsBad:
		d.at(keywordsPair.knode, "add at least one keyword, or a query:", "keywords is empty")
	}
	return pf
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (d *decoder) handles(p pair) []string {
	var out []string
	for _, it := range d.strList(p, "handle") {
		h := strings.ToLower(strings.TrimLeft(it.s, "@"))
		switch {
		case h == "":
			d.at(it.n, "", "empty handle in handles")
		case strings.IndexFunc(h, unicode.IsSpace) >= 0:
			d.at(it.n, "a handle is one word, without spaces", "handle %q contains a space", it.s)
		default:
			out = append(out, h)
		}
	}
	return out
}

func (d *decoder) hashtags(p pair) []string {
	var out []string
	for _, it := range d.strList(p, "hashtag") {
		h := strings.TrimLeft(it.s, "#＃")
		switch {
		case h == "":
			d.at(it.n, "", "empty hashtag in hashtags")
		case strings.IndexFunc(h, unicode.IsSpace) >= 0:
			d.at(it.n, "a hashtag is one word, without spaces", "hashtag %q contains a space", it.s)
		default:
			out = append(out, h)
		}
	}
	return out
}

var langCodeRE = regexp.MustCompile(`^[a-z]{2,3}$`)

// notLanguages are two-letter codes people write for a language although
// they are country codes, not ISO 639 language codes.
var notLanguages = map[string]string{"jp": "ja", "cn": "zh", "us": "en", "gb": "en"}

var languageNames = map[string]string{
	"english": "en", "japanese": "ja", "chinese": "zh", "korean": "ko", "spanish": "es",
	"french": "fr", "german": "de", "portuguese": "pt", "italian": "it", "russian": "ru",
}

// checkLang returns a message and hint when code is not a language code
// ("any" is allowed where allowAny).
func checkLang(code string, allowAny bool) (msg, hint string) {
	if code == "any" {
		if allowAny {
			return "", ""
		}
		return `"any" is not a language here`, "leave languages out to accept every language"
	}
	if langCodeRE.MatchString(code) {
		if to, bad := notLanguages[code]; bad {
			return fmt.Sprintf("%q is a country code, not a language code", code), suggest.DidYouMean(to)
		}
		return "", ""
	}
	msg = fmt.Sprintf("unknown language code %q", code)
	l := strings.ToLower(code)
	if i := strings.IndexAny(l, "-_"); i > 0 {
		l = l[:i]
	}
	if to, ok := languageNames[l]; ok {
		return msg, suggest.DidYouMean(to)
	}
	if langCodeRE.MatchString(l) {
		if to, bad := notLanguages[l]; bad {
			l = to
		}
		return msg, suggest.DidYouMean(l)
	}
	if allowAny && strings.EqualFold(code, "any") {
		return msg, suggest.DidYouMean("any")
	}
	hint = `use a two- or three-letter code like "en" or "ja"`
	if allowAny {
		hint += `, or "any"`
	}
	return msg, hint
}

func (d *decoder) languages(p pair) []string {
	var out []string
	for _, it := range d.strList(p, "language") {
		if msg, hint := checkLang(it.s, false); msg != "" {
			d.at(it.n, hint, "%s", msg)
			continue
		}
		out = append(out, it.s)
	}
	return out
}

func (d *decoder) matchIn(p pair) []string {
	items := d.strList(p, "place")
	if len(items) == 0 {
		if !isNull(p.val) && p.val.Kind == yaml.SequenceNode && len(p.val.Content) == 0 {
			d.at(p.val, "leave match_in out to match everywhere", "match_in is empty")
		}
		return nil
	}
	var out []string
	for _, it := range items {
		if !contains(Places, it.s) {
			hint := suggest.DidYouMean(suggest.Nearest(it.s, Places))
			if hint == "" {
				hint = "use " + strings.Join(Places, ", ")
			}
			d.at(it.n, hint, "unknown match_in value %q", it.s)
			continue
		}
		if !contains(out, it.s) {
			out = append(out, it.s)
		}
	}
	return out
}

// category reads a category name; withNone allows "none".
func (d *decoder) category(n *yaml.Node, what string, withNone bool) (Category, bool) {
	valid := categoryNames
	if withNone {
		valid = append(append([]string(nil), categoryNames...), string(None))
	}
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.at(n, "use "+strings.Join(valid, ", "), "%s must be a category, not %s", what, kindName(n))
		return "", false
	}
	s := strings.TrimSpace(n.Value)
	if contains(valid, s) {
		return Category(s), true
	}
	hint := suggest.DidYouMean(suggest.Nearest(s, valid))
	if hint == "" {
		hint = "use " + strings.Join(valid, ", ")
		if !withNone && s == string(None) {
			hint = "use disabled: true to switch a signal off"
		}
	}
	d.at(n, hint, "unknown category %q", s)
	return "", false
}

// categoryKey checks a mapping key that must name a category.
func (d *decoder) categoryKey(p pair, where string) (Category, bool) {
	if contains(categoryNames, p.key) {
		return Category(p.key), true
	}
	hint := suggest.DidYouMean(suggest.Nearest(p.key, categoryNames))
	if hint == "" {
		hint = "use " + strings.Join(categoryNames, ", ")
	}
	d.at(p.knode, hint, "unknown category %q in %s", p.key, where)
	return "", false
}

func (d *decoder) thresholds(p pair, r *Rule) {
	ps, _ := d.mapping(p, "thresholds: {actionable: 35, risky: 45, positive: 35}")
	for _, e := range ps {
		c, ok := d.categoryKey(e, "thresholds")
		if !ok {
			continue
		}
		if t, ok := d.integer(e, "threshold "+e.key, 0, 100); ok {
			r.Thresholds[c] = t
		}
	}
}

var (
	channelIDRE   = regexp.MustCompile(`^[CGD][A-Z0-9]{6,}$`)
	channelNameRE = regexp.MustCompile(`^#?[\p{Ll}\p{Lo}\p{Nd}_-]{1,80}$`)
)

func (d *decoder) routing(p pair, r *Rule) {
	ps, _ := d.mapping(p, `routing: {actionable: "#support"}`)
	for _, e := range ps {
		c, ok := d.categoryKey(e, "routing")
		if !ok {
			continue
		}
		e.key = "routing channel for " + e.key
		ch, ok := d.str(e)
		if !ok {
			continue
		}
		if !channelIDRE.MatchString(ch) && !channelNameRE.MatchString(ch) {
			hint := `use "#name" (lower case, digits, - and _) or a channel ID like C0123ABC`
			if s := slugChannel(ch); s != "" && channelNameRE.MatchString(s) {
				hint = suggest.DidYouMean(s)
			}
			d.at(e.val, hint, "%q is not a Slack channel name or ID", ch)
			continue
		}
		r.Routing[c] = ch
	}
}

// slugChannel turns "Kumo Support" into "#kumo-support".
func slugChannel(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimLeft(s, "#")) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-':
			b.WriteRune(r)
		case unicode.IsSpace(r) || r == '.':
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "#" + b.String()
}

var clockRE = regexp.MustCompile(`^([01]\d|2[0-3]):[0-5]\d$`)
var looseClockRE = regexp.MustCompile(`^(\d{1,2})[:.h](\d{2})$`)

func (d *decoder) quietHours(p pair) *QuietHours {
	ps, ok := d.mapping(p, `quiet_hours: {start: "22:00", end: "08:00", timezone: Asia/Tokyo}`)
	if !ok || isNull(p.val) {
		return nil
	}
	q := &QuietHours{}
	good := true
	seen := map[string]bool{}
	for _, e := range ps {
		seen[e.key] = true
		switch e.key {
		case "start", "end":
			s, ok := d.clock(e)
			good = good && ok
			if e.key == "start" {
				q.Start = s
			} else {
				q.End = s
			}
		case "timezone":
			tz, ok := d.str(e)
			if ok {
				ok = d.timezone(e.val, tz)
			}
			good = good && ok
			q.Timezone = tz
		case "days":
			for _, it := range d.strList(e, "day") {
				day := strings.ToLower(it.s)
				if contains(weekdays, day) {
					q.Days = append(q.Days, day)
					continue
				}
				hint := ""
				if len(day) >= 3 && contains(weekdays, day[:3]) {
					hint = suggest.DidYouMean(day[:3])
				} else if s := suggest.Nearest(day, weekdays); s != "" {
					hint = suggest.DidYouMean(s)
				} else {
					hint = "use " + strings.Join(weekdays, ", ")
				}
				d.at(it.n, hint, "unknown day %q", it.s)
				good = false
			}
		default:
			d.at(e.knode, suggest.DidYouMean(suggest.Nearest(e.key, quietHoursKeys)), "unknown key %q in quiet_hours", e.key)
			good = false
		}
	}
	for _, k := range []string{"start", "end", "timezone"} {
		if !seen[k] {
			example := map[string]string{"start": `start: "22:00"`, "end": `end: "08:00"`, "timezone": "timezone: Asia/Tokyo"}[k]
			d.at(p.knode, "add "+example, "quiet_hours has no %s", k)
			good = false
		}
	}
	if good && q.Start == q.End {
		d.at(p.knode, "", "quiet_hours start and end are both %s", q.Start)
		good = false
	}
	if !good {
		return nil
	}
	return q
}

func (d *decoder) clock(e pair) (string, bool) {
	v := e.val
	if v.Kind != yaml.ScalarNode || isNull(v) {
		d.at(v, `write it as "22:00"`, "quiet_hours %s must be a time like \"22:00\", not %s", e.key, kindName(v))
		return "", false
	}
	s := strings.TrimSpace(v.Value)
	if clockRE.MatchString(s) || (e.key == "end" && s == "24:00") {
		return s, true
	}
	hint := `write it as HH:MM, 00:00 to 23:59`
	if m := looseClockRE.FindStringSubmatch(s); m != nil {
		if h, _ := strconv.Atoi(m[1]); h < 24 {
			if c := fmt.Sprintf("%02d:%s", h, m[2]); clockRE.MatchString(c) {
				hint = suggest.DidYouMean(c)
			}
		}
	}
	d.at(v, hint, "quiet_hours %s %q is not a time like \"22:00\"", e.key, s)
	return "", false
}

var tzAbbrev = map[string]string{
	"JST": "Asia/Tokyo", "KST": "Asia/Seoul", "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles",
	"BST": "Europe/London", "IST": "Asia/Kolkata", "AEST": "Australia/Sydney", "CEST": "Europe/Paris",
	"SGT": "Asia/Singapore", "HKT": "Asia/Hong_Kong",
}

func (d *decoder) timezone(n *yaml.Node, tz string) bool {
	if tz != "Local" {
		if _, err := time.LoadLocation(tz); err == nil {
			return true
		}
	}
	hint := `use an IANA name like "Asia/Tokyo"`
	if to, ok := tzAbbrev[strings.ToUpper(tz)]; ok {
		hint = suggest.DidYouMean(to)
	} else if fixed := titleZone(tz); fixed != tz {
		if _, err := time.LoadLocation(fixed); err == nil {
			hint = suggest.DidYouMean(fixed)
		}
	}
	d.at(n, hint, "unknown time zone %q", tz)
	return false
}

// titleZone turns "asia/tokyo" into "Asia/Tokyo".
func titleZone(tz string) string {
	parts := strings.Split(tz, "/")
	for i, p := range parts {
		words := strings.Split(p, "_")
		for j, w := range words {
			if w != "" {
				words[j] = strings.ToUpper(w[:1]) + strings.ToLower(w[1:])
			}
		}
		parts[i] = strings.Join(words, "_")
	}
	return strings.Join(parts, "/")
}

// langLists reads a mapping of language code to list of strings.
func (d *decoder) langLists(p pair, what string) map[string][]string {
	ps, _ := d.mapping(p, p.key+": {en: [a, b], ja: [c]}")
	if ps == nil {
		return nil
	}
	out := map[string][]string{}
	for _, e := range ps {
		code := e.key
		if msg, hint := checkLang(code, true); msg != "" {
			d.at(e.knode, hint, "%s: %s", p.key, msg)
			continue
		}
		items := d.strListOf(e.val, p.key+"."+code, what, true)
		out[code] = append(out[code], strs(items)...)
	}
	return out
}

func (d *decoder) signals(p pair) []sigEntry {
	v := p.val
	switch {
	case isNull(v):
		return nil
	case v.Kind != yaml.SequenceNode:
		d.at(v, "write it as a list of signals, each starting with - name:", "signals must be a list, not %s", kindName(v))
		return nil
	}
	var out []sigEntry
	names := map[string]int{}
	for _, e := range v.Content {
		e = d.resolve(e)
		if e.Kind != yaml.MappingNode {
			d.at(e, "write each signal as - name: NAME, with category:, weight: and terms: below", "a signal must be a mapping, not %s", kindName(e))
			continue
		}
		se, ok := d.signal(e)
		if se.sig == nil {
			continue
		}
		if first, dup := names[se.sig.Name]; dup {
			d.at(e, "rename or remove one of them", "signal %q is defined twice in this file (first at line %d)", se.sig.Name, first)
			continue
		}
		names[se.sig.Name] = e.Line
		if ok {
			out = append(out, se)
		}
	}
	return out
}

func (d *decoder) signal(n *yaml.Node) (sigEntry, bool) {
	s := &Signal{Pos: Pos{d.file, n.Line}, Negated: None, Source: d.file}
	good := true
	var disabled, hasName, hasCat, hasWeight bool
	for _, e := range d.pairs(n, "a signal") {
		switch e.key {
		case "name":
			hasName = true
			if name, ok := d.str(e); ok {
				s.Name = name
			} else {
				good = false
			}
		case "category":
			hasCat = true
			c, ok := d.category(e.val, "category", false)
			s.Category, good = c, good && ok
		case "weight":
			hasWeight = true
			w, ok := d.integer(e, "weight", -100, 100)
			s.Weight, good = w, good && ok
		case "terms":
			if e.val.Kind == yaml.SequenceNode {
				var words []string
				for _, it := range e.val.Content {
					if it.Kind == yaml.ScalarNode && len(words) < 3 {
						words = append(words, yamlerr.Quote(it.Value))
					}
				}
				d.at(e.val, "write it as terms: {any: ["+strings.Join(words, ", ")+"]}, or per language: {en: [...], ja: [...]}",
					"terms must be a mapping of language to a list of terms, not a list")
				good = false
				continue
			}
			s.Terms = d.terms(e)
		case "patterns":
			s.Patterns = d.patterns(e)
		case "negated":
			c, ok := d.category(e.val, "negated", true)
			s.Negated, good = c, good && ok
		case "disabled":
			b, ok := d.boolean(e)
			disabled, good = b || !ok, good && ok
		default:
			d.at(e.knode, suggest.DidYouMean(suggest.Nearest(e.key, signalKeys)), "unknown key %q in a signal", e.key)
			good = false
		}
	}
	if s.Name == "" {
		if !hasName {
			d.at(n, "add name: NAME", "a signal has no name")
		}
		return sigEntry{}, false
	}
	if disabled {
		return sigEntry{sig: s, disabled: true}, good
	}
	if !hasCat {
		d.at(n, "add category: actionable, risky or positive", "signal %q has no category", s.Name)
		good = false
	}
	if !hasWeight {
		d.at(n, "add weight: a number from -100 to 100", "signal %q has no weight", s.Name)
		good = false
	}
	if len(s.Terms) == 0 && len(s.Patterns) == 0 && good {
		d.at(n, "add terms: {en: [...]} or patterns: [...]", "signal %q has no terms or patterns", s.Name)
		good = false
	}
	return sigEntry{sig: s}, good
}

func (d *decoder) terms(p pair) map[string][]string {
	ps, _ := d.mapping(p, "terms: {en: [a, b], ja: [c]}")
	if len(ps) == 0 {
		return nil
	}
	out := map[string][]string{}
	for _, e := range ps {
		code := e.key
		if msg, hint := checkLang(code, true); msg != "" {
			d.at(e.knode, hint, "terms: %s", msg)
			continue
		}
		for _, it := range d.strListOf(e.val, "terms."+code, "term", true) {
			if i := strings.IndexByte(it.s, '*'); i >= 0 && (i != len(it.s)-1 || i == 0) {
				d.at(it.n, `write "word*" to match every word that starts with "word"`, `"*" is only allowed at the end of a term: %q`, it.s)
				continue
			}
			out[code] = append(out[code], it.s)
		}
	}
	return out
}

var perlOnlyRE = regexp.MustCompile(`\(\?<?[=!]|\\[1-9]`)

func (d *decoder) patterns(p pair) []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, it := range d.strListOf(p.val, p.key, "pattern", false) {
		re, ok := d.reCache[it.s]
		if !ok {
			var err error
			re, err = regexp.Compile(it.s)
			if err != nil {
				hint := ""
				if perlOnlyRE.MatchString(it.s) {
					hint = "patterns are RE2: no lookaround (?=…) (?!…) and no backreferences \\1"
				}
				d.at(it.n, hint, "bad pattern: %v", err)
			}
			d.reCache[it.s] = re
		}
		if re != nil {
			out = append(out, re)
		}
	}
	return out
}

// query parses the brand's query and reports syntax errors at their line
// and column inside the YAML scalar.
func (d *decoder) query(p pair, r *Rule) {
	src, ok := d.str(p)
	if !ok {
		return
	}
	q, err := query.Parse(p.val.Value)
	if err != nil {
		var se *query.SyntaxError
		if errors.As(err, &se) {
			line, col := d.locate(p.val, se.Offset)
			d.add(line, col, "", "query, column %d: %s", col, se.Msg)
		} else {
			d.at(p.val, "", "query: %v", err)
		}
		return
	}
	r.Query = q
	r.QuerySrc = src
}

// locate maps a byte offset in the value of scalar n to a line and column
// of the file. It is exact for one-line scalars and a best effort for
// multi-line ones.
func (d *decoder) locate(n *yaml.Node, off int) (line, col int) {
	v := n.Value
	off = max(0, min(off, len(v)))
	prefix := v[:off]
	lines := d.srcLines()
	if n.Line < 1 || n.Line > len(lines) {
		return n.Line, n.Column
	}
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		return locateBlock(lines, n.Line, utf8.RuneCountInString(prefix))
	}
	quote := 0
	escapes := 0
	switch n.Style {
	case yaml.SingleQuotedStyle:
		quote = 1
		escapes = strings.Count(prefix, "'")
	case yaml.DoubleQuotedStyle:
		quote = 1
		escapes = strings.Count(prefix, `"`) + strings.Count(prefix, `\`)
	}
	first := []rune(lines[n.Line-1])
	start := n.Column - 1 + quote // rune index where the value starts
	if start > len(first) {
		return n.Line, n.Column
	}
	rest := string(first[start:])
	if !strings.Contains(v, "\n") && utf8.RuneCountInString(rest) >= utf8.RuneCountInString(v)+quote {
		return n.Line, n.Column + quote + utf8.RuneCountInString(prefix) + escapes
	}
	// A flow scalar over several lines: line breaks were folded to spaces.
	want := utf8.RuneCountInString(prefix)
	pos := 0
	for i := n.Line - 1; i < len(lines); i++ {
		text, indent := strings.TrimRight(rest, " \t"), start
		if i > n.Line-1 {
			text = strings.TrimSpace(lines[i])
			indent = utf8.RuneCountInString(leadingSpace(lines[i]))
		}
		l := utf8.RuneCountInString(text)
		if want <= pos+l {
			return i + 1, indent + 1 + want - pos
		}
		pos += l + 1
	}
	return n.Line, n.Column
}

func locateBlock(lines []string, header, want int) (int, int) {
	indent := -1
	pos := 0
	for i := header; i < len(lines); i++ { // lines[header] is the line after the header
		ln := lines[i]
		if strings.TrimSpace(ln) == "" {
			pos++
			continue
		}
		ind := utf8.RuneCountInString(leadingSpace(ln))
		if indent < 0 {
			indent = ind
		} else if ind < indent {
			break
		}
		text := []rune(ln)[indent:]
		if want <= pos+len(text) {
			return i + 1, indent + 1 + want - pos
		}
		pos += len(text) + 1
	}
	return header + 1, 0
}
