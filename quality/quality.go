// Package quality measures triage quality on public labelled posts (in
// ../shared/data, never copied into the repository) with the metric each
// data set's paper uses. Run: go test ./quality -run Quality -v
package quality

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/rules/query"
)

// Example is one labelled post of a data set.
type Example struct {
	ID    string         `json:"id"`
	Lang  string         `json:"lang"`
	Text  string         `json:"text"`
	Label string         `json:"label"`
	Extra map[string]any `json:"-"`
}

// FindData walks up from the working directory to shared/data.
func FindData() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		cand := filepath.Join(dir, "shared", "data")
		if fi, err := os.Stat(cand); err == nil && fi.IsDir() {
			return cand, true
		}
		cand = filepath.Join(dir, "..", "shared", "data")
		if fi, err := os.Stat(cand); err == nil && fi.IsDir() {
			return cand, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Load reads a data set file.
func Load(path string) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Example
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var ex Example
		if err := json.Unmarshal(sc.Bytes(), &ex); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if err := json.Unmarshal(sc.Bytes(), &ex.Extra); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		out = append(out, ex)
	}
	return out, sc.Err()
}

// CatchAll compiles the built-in pack with one rule that takes every post
// as relevant, so that classification is measured on its own (the data
// sets do not mention our brand).
func CatchAll() (*matcher.Matcher, error) {
	set, err := rules.LoadFS(rules.Builtin(), nil, rules.Options{})
	if err != nil {
		return nil, err
	}
	q, err := query.Parse("NOT lang:zz")
	if err != nil {
		return nil, err
	}
	r := &rules.Rule{
		Brand:      "Eval",
		Query:      q,
		QuerySrc:   q.String(),
		MatchIn:    rules.Places,
		Signals:    set.Pack.Signals,
		Thresholds: rules.DefaultThresholds,
	}
	set.Rules = append(set.Rules, r)
	return matcher.Compile(set, matcher.Config{})
}

// Decide runs the matcher on each example.
func Decide(m *matcher.Matcher, exs []Example) []matcher.Decision {
	out := make([]matcher.Decision, len(exs))
	t := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for i, ex := range exs {
		p := post.Post{ID: ex.ID, Platform: "eval", Text: ex.Text, Lang: ex.Lang, CreatedAt: t}
		out[i] = m.Decide(&p)
	}
	return out
}

// Sentiment maps a decision to negative / neutral / positive by its tone:
// the category when it has one (actionable and risky are negative), else
// the side its scores lean to (matcher.Decision.Tone).
func Sentiment(d matcher.Decision) string { return string(d.Tone()) }

// CategorySentiment maps by the category alone: actionable and risky are
// negative, positive positive, none neutral. What alerts would say.
func CategorySentiment(d matcher.Decision) string {
	switch d.Category {
	case rules.Actionable, rules.Risky:
		return "negative"
	case rules.Positive:
		return "positive"
	}
	return "neutral"
}

// Scores holds per-class precision/recall/F1 and their macro averages.
type Scores struct {
	Classes           []string
	Precision, Recall map[string]float64
	F1                map[string]float64
	MacroRecall       float64
	MacroF1, Accuracy float64
	N                 int
	Confusion         map[[2]string]int
}

// Score compares gold and predicted labels over the given classes.
func Score(gold, pred []string, classes []string) Scores {
	s := Scores{Classes: classes, Precision: map[string]float64{}, Recall: map[string]float64{}, F1: map[string]float64{},
		Confusion: map[[2]string]int{}, N: len(gold)}
	correct := 0
	for i := range gold {
		s.Confusion[[2]string{gold[i], pred[i]}]++
		if gold[i] == pred[i] {
			correct++
		}
	}
	for _, c := range classes {
		tp, fp, fn := 0, 0, 0
		for i := range gold {
			switch {
			case gold[i] == c && pred[i] == c:
				tp++
			case gold[i] != c && pred[i] == c:
				fp++
			case gold[i] == c && pred[i] != c:
				fn++
			}
		}
		p := ratio(tp, tp+fp)
		r := ratio(tp, tp+fn)
		s.Precision[c], s.Recall[c] = p, r
		if p+r > 0 {
			s.F1[c] = 2 * p * r / (p + r)
		}
		s.MacroRecall += r / float64(len(classes))
		s.MacroF1 += s.F1[c] / float64(len(classes))
	}
	s.Accuracy = ratio(correct, len(gold))
	return s
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
