package alerting

// Silences are the mute stage of alerting, as in Alertmanager: the pipeline asks Silenced
// before it enqueues an alert, and a silenced post is recorded and indexed like any other,
// only not sent. Silences are set from an alert ("Mute author") or with
// `kizuki silence add`, and end by themselves.

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/store"
	"github.com/kizuki-dev/kizuki/textnorm"
)

// MuteAuthorFor is how long the alert's "Mute author" button mutes the post's author.
const MuteAuthorFor = 7 * 24 * time.Hour

// Silenced returns the first of silences that is active at now and matches the post and
// its decision.
func Silenced(silences []store.Silence, p *post.Post, d *matcher.Decision, now time.Time) (store.Silence, bool) {
	for _, s := range silences {
		if s.Active(now) && SilenceMatches(s, p, d) {
			return s, true
		}
	}
	return store.Silence{}, false
}

// SilenceMatches reports whether every matcher the silence sets matches (a silence that
// sets none matches nothing), whatever its time:
//
//   - Author: the post's author handle ("yuki_t" or "@yuki_t", on any platform), its
//     author id, or either one on one platform ("x:yuki_t", "x:12345", which is the
//     store's author key); letter case does not matter;
//   - Brand: the decision's brand, in any letter case;
//   - Term: a word or phrase of the post's text, normalized as the rules' keywords are
//     (width, case, kana) and, for Latin script, on word boundaries;
//   - Rule: the deciding rule's file: its path, its name, or its name without extension.
func SilenceMatches(s store.Silence, p *post.Post, d *matcher.Decision) bool {
	if s.Author == "" && s.Brand == "" && s.Term == "" && s.Rule == "" {
		return false
	}
	if s.Author != "" && !authorMatches(s.Author, p) {
		return false
	}
	if s.Brand != "" && !strings.EqualFold(strings.TrimSpace(s.Brand), d.Brand) {
		return false
	}
	if s.Term != "" && !termMatches(s.Term, p.Text) {
		return false
	}
	if s.Rule != "" && !ruleMatches(s.Rule, d) {
		return false
	}
	return true
}

func authorMatches(want string, p *post.Post) bool {
	want = strings.TrimPrefix(strings.TrimSpace(want), "@")
	handle := strings.TrimPrefix(p.Author.Handle, "@")
	if want == "" {
		return false
	}
	if strings.EqualFold(want, handle) || strings.EqualFold(want, p.Author.ID) {
		return true
	}
	platform, who, ok := strings.Cut(want, ":")
	if !ok {
		return false
	}
	pp := p.Platform
	if pp == "" {
		pp, _, _ = strings.Cut(p.ID, ":")
	}
	who = strings.TrimPrefix(who, "@")
	return strings.EqualFold(platform, pp) && who != "" &&
		(strings.EqualFold(who, handle) || strings.EqualFold(who, p.Author.ID))
}

func termMatches(term, text string) bool {
	t := textnorm.String(strings.TrimSpace(term))
	if t == "" {
		return false
	}
	s := textnorm.String(text)
	for from := 0; from <= len(s); {
		i := strings.Index(s[from:], t)
		if i < 0 {
			return false
		}
		start := from + i
		if textnorm.Bounded(s, start, start+len(t), false) {
			return true
		}
		from = start + 1
	}
	return false
}

func ruleMatches(want string, d *matcher.Decision) bool {
	if d.Rule == nil || d.Rule.Pos.File == "" {
		return false
	}
	file := d.Rule.Pos.File
	base := filepath.Base(file)
	want = strings.TrimSpace(want)
	return strings.EqualFold(want, file) || strings.EqualFold(want, base) ||
		strings.EqualFold(want, strings.TrimSuffix(base, filepath.Ext(base)))
}
