package post

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Extraction of @mentions, #hashtags, URLs and e-mail addresses from post
// text. Mentions and hashtags follow twitter-text (the conformance suite in
// shared/conformance): posts are written for that grammar, so the platform's
// own entities and ours agree. URLs and e-mail addresses use a smaller
// grammar; they exist mostly so that a "#frag" or "@name" inside a link or an
// address is not taken for a hashtag or a mention.
//
// Every scanner is a single forward pass with O(1) look-behind, so the cost
// is linear in the text, and invalid UTF-8 only ever reads as a non-letter.

// EntityKind says what an Entity is.
type EntityKind string

// The kinds of Entity.
const (
	EntityMention EntityKind = "mention"
	EntityHashtag EntityKind = "hashtag"
	EntityURL     EntityKind = "url"
	EntityEmail   EntityKind = "email"
)

// Entity is one mention, hashtag, URL or e-mail address found in a text.
type Entity struct {
	Kind EntityKind
	// Text is the screen name or hashtag without its "@" or "#", or the
	// URL or address as written.
	Text string
	// Start and End are byte offsets into the text; text[Start:End] is the
	// whole entity, including its "@" or "#".
	Start, End int
}

// Maximum lengths from twitter-text.
const (
	maxScreenName = 20
	maxListSlug   = 25
)

// Entities returns the mentions, hashtags, URLs and e-mail addresses of text,
// sorted by Start and non-overlapping. Where two overlap the one starting
// first wins (as in twitter-text), so "@x" or "#x" inside a URL or an e-mail
// address is not reported.
func Entities(text string) []Entity {
	var all []Entity
	all = scanURLs(text, all)
	all = scanEmails(text, all)
	all = scanHashtags(text, all)
	all = scanMentions(text, all)
	if len(all) == 0 {
		return nil
	}
	slices.SortStableFunc(all, func(a, b Entity) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return b.End - a.End // longer first
	})
	kept := all[:0]
	end := 0
	for _, e := range all {
		if e.Start >= end {
			kept = append(kept, e)
			end = e.End
		}
	}
	return kept
}

// ExtractMentions returns the screen names mentioned in text, without "@",
// in order and as written. As in twitter-text, "@user/list" is a list, not
// a mention, and a run longer than 20 characters yields its first 20.
func ExtractMentions(text string) []string {
	return entityTexts(text, EntityMention)
}

// ExtractHashtags returns the hashtags of text, without "#", in order.
func ExtractHashtags(text string) []string {
	return entityTexts(text, EntityHashtag)
}

func entityTexts(text string, kind EntityKind) []string {
	var out []string
	for _, e := range Entities(text) {
		if e.Kind == kind {
			out = append(out, e.Text)
		}
	}
	return out
}

// ExtractReplyTo returns the screen name text replies to: the mention it
// starts with, after optional white space. It returns "" if there is none.
func ExtractReplyTo(text string) string {
	i := 0
	for i < len(text) {
		r, w := utf8.DecodeRuneInString(text[i:])
		if !isReplySpace(r) {
			break
		}
		i += w
	}
	w := atSignLen(text, i)
	if w == 0 {
		return ""
	}
	start := i + w
	end := start
	for end < len(text) && end-start < maxScreenName && isScreenNameByte(text[end]) {
		end++
	}
	if end == start || invalidMentionEnd(text[end:]) {
		return ""
	}
	return text[start:end]
}

// MentionsOrExtract returns the mentions the platform reported, or if it
// reported none (nil), those extracted from the text.
func (p *Post) MentionsOrExtract() []string {
	if p == nil {
		return nil
	}
	if p.Mentions != nil {
		return p.Mentions
	}
	return ExtractMentions(p.Text)
}

// HashtagsOrExtract returns the hashtags the platform reported, or if it
// reported none (nil), those extracted from the text.
func (p *Post) HashtagsOrExtract() []string {
	if p == nil {
		return nil
	}
	if p.Hashtags != nil {
		return p.Hashtags
	}
	return ExtractHashtags(p.Text)
}

// --- mentions ---

// scanMentions implements twitter-text's validMentionOrList plus its
// end-of-match check. lastEnd mimics the regexp engine: a character consumed
// by an earlier match cannot serve as the "preceding character" of the next.
func scanMentions(text string, out []Entity) []Entity {
	if !strings.ContainsRune(text, '@') && !strings.ContainsRune(text, '＠') {
		return out
	}
	lastEnd := 0
	for i := 0; i < len(text); {
		w := atSignLen(text, i)
		if w == 0 {
			i++
			continue
		}
		if !mentionPrecedingOK(text, i, lastEnd) {
			i += w
			continue
		}
		nameStart := i + w
		nameEnd := nameStart
		for nameEnd < len(text) && nameEnd-nameStart < maxScreenName && isScreenNameByte(text[nameEnd]) {
			nameEnd++
		}
		if nameEnd == nameStart {
			i += w
			continue
		}
		end := nameEnd
		list := false
		if end+1 < len(text) && text[end] == '/' && isASCIILetter(text[end+1]) {
			j := end + 2
			for j < len(text) && j-(end+1) < maxListSlug && isListSlugByte(text[j]) {
				j++
			}
			end, list = j, true
		}
		start := i
		lastEnd, i = end, end
		// Lists are not mentions (twitter-text's extractMentionedScreennames
		// drops them too).
		if list || invalidMentionEnd(text[end:]) {
			continue
		}
		out = append(out, Entity{Kind: EntityMention, Text: text[nameStart:nameEnd], Start: start, End: nameEnd})
	}
	return out
}

// mentionPrecedingOK reports whether the at sign at i may start a mention:
// it is at the start, or follows a character that is not alphanumeric nor
// one of _!#$%&*@＠ (so e-mail addresses and "f!@k" don't count), or
// follows "RT"/"RT:" as in old-style retweets.
func mentionPrecedingOK(text string, i, lastEnd int) bool {
	if i == 0 {
		return true
	}
	r, w := utf8.DecodeLastRuneInString(text[:i])
	p := i - w
	if p < lastEnd {
		return false
	}
	if !isMentionBlocker(r) {
		return true
	}
	// "RT@x": "rt" in any case, itself not preceded by [a-z0-9_+~.-].
	if (r != 't' && r != 'T') || p == 0 || (text[p-1] != 'r' && text[p-1] != 'R') || p-1 < lastEnd {
		return false
	}
	if p-1 == 0 {
		return true
	}
	b, bw := utf8.DecodeLastRuneInString(text[:p-1])
	if p-1-bw < lastEnd {
		return false
	}
	return !(b < utf8.RuneSelf && (isScreenNameByte(byte(b)) || strings.IndexByte("+~.-", byte(b)) >= 0))
}

func isMentionBlocker(r rune) bool {
	if r < utf8.RuneSelf {
		return isScreenNameByte(byte(r)) || strings.IndexByte("!#$%&*@", byte(r)) >= 0
	}
	return r == '＠'
}

// invalidMentionEnd: a name followed by an at sign (an e-mail address), an
// accented Latin letter (the name goes on) or "://" (a URL) is no mention.
func invalidMentionEnd(after string) bool {
	if strings.HasPrefix(after, "://") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(after)
	return r == '@' || r == '＠' || isLatinAccent(r)
}

// atSignLen returns the byte length of the "@" or "＠" at text[i], or 0.
func atSignLen(text string, i int) int {
	if i >= len(text) {
		return 0
	}
	if text[i] == '@' {
		return 1
	}
	if strings.HasPrefix(text[i:], "＠") {
		return len("＠")
	}
	return 0
}

func isScreenNameByte(c byte) bool { return isASCIIAlnum(c) || c == '_' }

func isListSlugByte(c byte) bool { return isASCIIAlnum(c) || c == '_' || c == '-' }

// isLatinAccent is twitter-text's LATIN_ACCENTS_CHARS.
func isLatinAccent(r rune) bool {
	switch {
	case r >= 0xC0 && r <= 0xD6, r >= 0xD8 && r <= 0xF6, r >= 0xF8 && r <= 0x24F,
		r >= 0x300 && r <= 0x36F, r >= 0x1E00 && r <= 0x1EFF:
		return true
	}
	switch r {
	case 0x253, 0x254, 0x256, 0x257, 0x259, 0x25B, 0x263, 0x268, 0x26F, 0x272, 0x289, 0x28B, 0x2BB:
		return true
	}
	return false
}

// isReplySpace is twitter-text's UNICODE_SPACES plus its directional marks,
// which may precede the "@" of a reply.
func isReplySpace(r rune) bool {
	switch {
	case r >= 0x09 && r <= 0x0D, r == 0x20, r == 0x85, r == 0xA0, r == 0x1680, r == 0x180E,
		r >= 0x2000 && r <= 0x200A, r == 0x2028, r == 0x2029, r == 0x202F, r == 0x205F, r == 0x3000:
		return true
	case r == 0x061C, r == 0x200E, r == 0x200F, r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// --- hashtags ---

// scanHashtags implements twitter-text's VALID_HASHTAG: "#" or "＃", not
// preceded by a hashtag character or "&" (HTML entities like "&#39;"), then
// a run of letters, marks, decimal digits and a few joiners that contains
// at least one letter or mark, not followed by another "#" or by "://".
func scanHashtags(text string, out []Entity) []Entity {
	lastEnd := 0
	for i := 0; i < len(text); {
		w := hashSignLen(text, i)
		if w == 0 {
			i++
			continue
		}
		if !hashtagPrecedingOK(text, i, lastEnd) {
			i += w
			continue
		}
		tagStart := i + w
		// "#️⃣" is the keycap emoji, not a hashtag.
		if r, _ := utf8.DecodeRuneInString(text[tagStart:]); r == 0xFE0F || r == 0x20E3 {
			i += w
			continue
		}
		j, letter := tagStart, false
		for j < len(text) {
			r, rw := utf8.DecodeRuneInString(text[j:])
			if isHashtagLetter(r) {
				letter = true
			} else if !isHashtagNumeralOrSpecial(r) {
				break
			}
			j += rw
		}
		if !letter {
			i += w
			continue
		}
		start := i
		lastEnd, i = j, j
		if hashSignLen(text, j) > 0 || strings.HasPrefix(text[j:], "://") {
			continue
		}
		out = append(out, Entity{Kind: EntityHashtag, Text: text[tagStart:j], Start: start, End: j})
	}
	return out
}

func hashtagPrecedingOK(text string, i, lastEnd int) bool {
	if i == 0 {
		return true
	}
	r, w := utf8.DecodeLastRuneInString(text[:i])
	if i-w < lastEnd {
		return false
	}
	if r == 0xFE0E || r == 0xFE0F { // emoji variation selectors are marks, but end an emoji
		return true
	}
	return r != '&' && !isHashtagLetter(r) && !isHashtagNumeralOrSpecial(r)
}

func hashSignLen(text string, i int) int {
	if i >= len(text) {
		return 0
	}
	if text[i] == '#' {
		return 1
	}
	if strings.HasPrefix(text[i:], "＃") {
		return len("＃")
	}
	return 0
}

func isHashtagLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return isASCIILetter(byte(r))
	}
	return unicode.IsLetter(r) || unicode.IsMark(r)
}

func isHashtagNumeralOrSpecial(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || (r >= '0' && r <= '9')
	}
	switch r {
	case 0x200C, 0x200D, // zero-width (non-)joiner: Persian, Sinhala
		0xA67E, 0x05BE, 0x05F3, 0x05F4, // Cyrillic kavyka, Hebrew maqaf, geresh, gershayim
		0xFF5E, 0x301C, // fullwidth tilde, wave dash: "メ～テレ"
		0x309B, 0x309C, 0x30A0, 0x30FB, 0x3003, // kana voicing marks, double hyphen, middle dot, ditto
		0x0F0B, 0x0F0C, // Tibetan tsheg
		0x00B7: // middle dot: "il·lusió"
		return true
	}
	return unicode.Is(unicode.Nd, r)
}

// --- e-mail addresses ---

// scanEmails finds local@domain.tld with an ASCII local part of
// [A-Za-z0-9._%+-] holding at least one alphanumeric and an ASCII domain
// whose top-level label is two or more letters.
func scanEmails(text string, out []Entity) []Entity {
	lastEnd := 0
	for i := 0; i < len(text); i++ {
		if text[i] != '@' {
			continue
		}
		// Runs before and after different "@"s never overlap: linear.
		s := i
		for s > lastEnd && isEmailLocalByte(text[s-1]) {
			s--
		}
		for s < i && text[s] == '.' {
			s++
		}
		local := text[s:i]
		if !validEmailLocal(local) {
			continue
		}
		e := i + 1
		for e < len(text) && isDomainByte(text[e]) {
			e++
		}
		e = i + 1 + len(trimDomain(text[i+1:e]))
		if !validDomain(text[i+1:e], false) || atSignLen(text, e) > 0 {
			continue
		}
		out = append(out, Entity{Kind: EntityEmail, Text: text[s:e], Start: s, End: e})
		lastEnd = e
		i = e - 1
	}
	return out
}

func isEmailLocalByte(c byte) bool {
	return isASCIIAlnum(c) || strings.IndexByte("._%+-", c) >= 0
}

func validEmailLocal(local string) bool {
	if local == "" || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for i := 0; i < len(local); i++ {
		if isASCIIAlnum(local[i]) {
			return true
		}
	}
	return false
}

// --- URLs ---

// scanURLs finds http(s) URLs and bare domains ending in a known top-level
// domain, each with an optional port, path and query. It tries only at the
// start of ASCII alphanumeric runs, so the work is linear.
func scanURLs(text string, out []Entity) []Entity {
	for i := 0; i < len(text); {
		if !isASCIIAlnum(text[i]) || (i > 0 && isASCIIAlnum(text[i-1])) {
			i++
			continue
		}
		if end := matchURL(text, i); end > i {
			out = append(out, Entity{Kind: EntityURL, Text: text[i:end], Start: i, End: end})
			i = end
			continue
		}
		for i++; i < len(text) && isASCIIAlnum(text[i]); i++ {
		}
	}
	return out
}

// matchURL returns the end of the URL starting at i, or i if there is none.
func matchURL(text string, i int) int {
	var prev rune = -1
	if i > 0 {
		prev, _ = utf8.DecodeLastRuneInString(text[:i])
	}
	// As in twitter-text: no URL right after an alphanumeric, "@", "$" or
	// "#" (that would be a mention, cashtag or hashtag), nor a bidi override.
	if prev >= 0 && (prev < utf8.RuneSelf && (isASCIIAlnum(byte(prev)) || strings.ContainsRune("@$#", prev)) ||
		prev == '＠' || prev == '＃' || (prev >= 0x202A && prev <= 0x202E)) {
		return i
	}
	scheme := 0
	switch {
	case hasPrefixFold(text[i:], "https://"):
		scheme = len("https://")
	case hasPrefixFold(text[i:], "http://"):
		scheme = len("http://")
	}
	if scheme == 0 && prev >= 0 && strings.ContainsRune("-_./", prev) {
		// Without a scheme, "a/b.com" or "x.y.com" suffixes are not URLs.
		return i
	}
	hostStart := i + scheme
	hostEnd := scanHost(text, hostStart, scheme > 0)
	if hostEnd == hostStart {
		return i
	}
	host := text[hostStart:hostEnd]
	if !validDomain(host, scheme == 0) {
		return i
	}
	end := hostEnd
	if end+1 < len(text) && text[end] == ':' && isASCIIDigit(text[end+1]) {
		j := end + 1
		for j < len(text) && j-end <= 5 && isASCIIDigit(text[j]) {
			j++
		}
		end = j
	}
	if atSignLen(text, end) > 0 {
		return i // "a.com@b": the local part of an e-mail address
	}
	pathStart := end
	if end < len(text) && (text[end] == '/' || text[end] == '?') {
		end = scanPath(text, end)
	}
	// twitter-text: a bare "name.cc" with a country-code TLD and no path is
	// too likely a typo ("nike.It"), except for .co and .tv.
	if scheme == 0 && end == pathStart {
		tld := strings.ToLower(host[strings.LastIndexByte(host, '.')+1:])
		if len(tld) == 2 && tld != "co" && tld != "tv" && strings.Count(host, ".") == 1 {
			return i
		}
	}
	return end
}

// scanHost returns the end of the host name at text[start:]. With unicode,
// non-ASCII letters may appear (IDN), but a top-level label running from
// ASCII into other script ("example.comです") is cut where the script
// changes, because Japanese text often follows a URL without a space.
func scanHost(text string, start int, unicodeOK bool) int {
	j, labelStart := start, start
	// State of the labels before labelStart, kept so that the cut check
	// below costs O(label), not O(host).
	labelsOK, dots, asciiLabel := true, 0, true
	for j < len(text) {
		c := text[j]
		if isDomainByte(c) {
			if c == '.' {
				l := text[labelStart:j]
				if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
					labelsOK = false
				}
				dots++
				labelStart, asciiLabel = j+1, true
			}
			j++
			continue
		}
		if !unicodeOK || c < utf8.RuneSelf {
			break
		}
		r, w := utf8.DecodeRuneInString(text[j:])
		if !(unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r)) {
			break
		}
		if asciiLabel && labelsOK && dots > 0 && j-labelStart >= 2 && allASCIILetters(text[labelStart:j]) {
			return j
		}
		asciiLabel = false
		j += w
	}
	return start + len(trimDomain(text[start:j]))
}

// trimDomain drops the dots and hyphens a sentence may put after a domain.
func trimDomain(s string) string {
	return strings.TrimRight(s, ".-")
}

// validDomain checks labels and the top-level domain: letters only, two or
// more; for a bare domain (known) it must also be in the list of TLDs.
func validDomain(host string, known bool) bool {
	dot := strings.LastIndexByte(host, '.')
	if dot <= 0 {
		return false
	}
	tld := host[dot+1:]
	if utf8.RuneCountInString(tld) < 2 {
		return false
	}
	for _, r := range tld {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	if known && !knownTLDs[strings.ToLower(tld)] {
		return false
	}
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
	}
	return true
}

// scanPath returns the end of the path and query starting at text[i] ("/"
// or "?"). Like twitter-text it allows ASCII, Latin accents and Cyrillic,
// stops at other scripts, and drops trailing punctuation and unbalanced ")".
func scanPath(text string, i int) int {
	start := i
	opens, closes := 0, 0
	for i < len(text) {
		r, w := utf8.DecodeRuneInString(text[i:])
		if !isPathRune(r) {
			break
		}
		switch r {
		case '(':
			opens++
		case ')':
			closes++
		}
		i += w
	}
	for i > start+1 {
		r, w := utf8.DecodeLastRuneInString(text[start:i])
		if isPathEndRune(r) || (r == ')' && closes <= opens) {
			break
		}
		switch r {
		case '(':
			opens--
		case ')':
			closes--
		}
		i -= w
	}
	if i == start+1 && text[start] == '?' {
		return start // a lone "?" ends a sentence
	}
	return i
}

func isPathRune(r rune) bool {
	if r < utf8.RuneSelf {
		return isASCIIAlnum(byte(r)) || strings.ContainsRune("!*';:=+,.$/%#[]-_~|&@?()", r)
	}
	return isPathEndRune(r) || r == 0x2013 // en dash
}

func isPathEndRune(r rune) bool {
	if r < utf8.RuneSelf {
		return isASCIIAlnum(byte(r)) || strings.ContainsRune("=_#/+-&", r)
	}
	return isLatinAccent(r) || unicode.Is(unicode.Cyrillic, r)
}

// knownTLDs are the top-level domains a bare domain (no scheme) may end in:
// common generic ones and the country codes.
var knownTLDs = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range strings.Fields(`
		com net org edu gov mil int info biz name pro aero coop museum mobi asia tel travel jobs cat
		app dev page blog shop store online site website tech xyz club top live news cloud art design
		media email link click space fun world today life game games studio team social tokyo
		ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo br bs
		bt bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee
		eg er es et eu fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk
		hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la
		lb lc li lk lr ls lt lu lv ly ma mc md me mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my
		mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro
		rs ru rw sa sb sc sd se sg sh si sk sl sm sn so sr ss st su sv sx sy sz tc td tf tg th tj tk
		tl tm tn to tr tt tv tw tz ua ug uk us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw`) {
		m[t] = true
	}
	return m
}()

// --- bytes ---

func isASCIILetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

func isASCIIDigit(c byte) bool { return c >= '0' && c <= '9' }

func isASCIIAlnum(c byte) bool { return isASCIILetter(c) || isASCIIDigit(c) }

func isDomainByte(c byte) bool { return isASCIIAlnum(c) || c == '-' || c == '.' }

func allASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isASCIILetter(s[i]) {
			return false
		}
	}
	return true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
