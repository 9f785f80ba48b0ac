package quality

import (
	"path/filepath"
	"testing"

	"github.com/kizuki-dev/kizuki/rules"
)

type dataset struct {
	file    string
	classes []string
	gold    func(Example) string // "" drops the example
	pred    func(cat rules.Category) string
	metric  string
	// floor is what this code measured when the figure was last written
	// into BENCHMARKS.md, less a margin: falling under it is a regression.
	floor float64
}

func binary(pos string, cats ...rules.Category) func(rules.Category) string {
	return func(c rules.Category) string {
		for _, x := range cats {
			if c == x {
				return pos
			}
		}
		return "other"
	}
}

func TestQuality(t *testing.T) {
	dir, ok := FindData()
	if !ok {
		t.Skip("shared/data not found: quality is measured only where the data sets are")
	}
	m, err := CatchAll()
	if err != nil {
		t.Fatal(err)
	}
	sentiment := func(c rules.Category) string {
		switch c {
		case rules.Actionable, rules.Risky:
			return "negative"
		case rules.Positive:
			return "positive"
		}
		return "neutral"
	}
	sets := []dataset{
		{file: "tweeteval_sentiment_en.jsonl", classes: []string{"negative", "neutral", "positive"},
			gold: func(e Example) string { return e.Label }, pred: sentiment, metric: "macro-recall", floor: 56.8},
		{file: "complaints_en.jsonl", classes: []string{"complaint", "other"},
			gold: func(e Example) string {
				if e.Label == "complaint" {
					return "complaint"
				}
				return "other"
			}, pred: binary("complaint", rules.Actionable, rules.Risky), metric: "macro-F1", floor: 67.9},
		{file: "airline_sentiment_en.jsonl", classes: []string{"negative", "neutral", "positive"},
			gold: func(e Example) string { return e.Label }, pred: sentiment, metric: "macro-F1", floor: 62.4},
		{file: "tweeteval_offensive_en.jsonl", classes: []string{"offensive", "other"},
			gold: func(e Example) string {
				if e.Label == "offensive" {
					return "offensive"
				}
				return "other"
			}, pred: binary("offensive", rules.Risky), metric: "macro-F1", floor: 70.8},
		{file: "wrime_v1_test_ja.jsonl", classes: []string{"negative", "neutral", "positive"},
			gold: func(e Example) string {
				if e.Label == "mixed" {
					return ""
				}
				return e.Label
			}, pred: sentiment, metric: "macro-recall", floor: 51.6},
		{file: "japanese_toxicity_ja.jsonl", classes: []string{"toxic", "other"},
			gold: func(e Example) string {
				switch e.Label {
				case "toxic", "very_toxic":
					return "toxic"
				case "not_toxic":
					return "other"
				}
				return ""
			}, pred: binary("toxic", rules.Risky), metric: "macro-F1", floor: 65.4},
	}
	for _, ds := range sets {
		t.Run(ds.file, func(t *testing.T) {
			exs, err := Load(filepath.Join(dir, ds.file))
			if err != nil {
				t.Skipf("load: %v", err)
			}
			var kept []Example
			var gold []string
			for _, e := range exs {
				if g := ds.gold(e); g != "" {
					kept = append(kept, e)
					gold = append(gold, g)
				}
			}
			decs := Decide(m, kept)
			pred := make([]string, len(decs))
			for i, d := range decs {
				pred[i] = ds.pred(d.Category)
			}
			s := Score(gold, pred, ds.classes)
			t.Logf("%-30s n=%d macro-recall %.1f macro-F1 %.1f accuracy %.1f", ds.file, s.N, 100*s.MacroRecall, 100*s.MacroF1, 100*s.Accuracy)
			for _, c := range ds.classes {
				t.Logf("   %-10s P %.1f R %.1f F1 %.1f", c, 100*s.Precision[c], 100*s.Recall[c], 100*s.F1[c])
			}
			got := s.MacroF1
			if ds.metric == "macro-recall" {
				got = s.MacroRecall
			}
			if 100*got < ds.floor {
				t.Errorf("%s %s = %.1f, under the recorded floor %.1f", ds.file, ds.metric, 100*got, ds.floor)
			}
		})
	}
}
