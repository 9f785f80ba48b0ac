// Package japanese analyzes Japanese post text morphologically (kagome with
// the IPA dictionary) to tell whether a matched signal term is negated and
// whether a post asks a question.
//
// Why a morphological analyzer and not regexps: Japanese has no spaces, and
// the same characters mean different things depending on the word they
// belong to. ない negates in 使えない and 問題ない but is part of the word in
// 少ない, 危ない and つまらない; ん negates in ません and 使えん but is the
// explanatory の in 使えないんだ; ねー negates in 使えねー but is a friendly
// particle in 最高だねー; 最高じゃない? is praise, 最高じゃない is not; 使わなきゃ
// ("I have to use it") contains a negative form but no negation. kagome
// splits the text into words with part of speech, base form and conjugation,
// which is what these rules need.
//
// The IPA dictionary costs about 0.7 s and 90 MB to load, so an [Analyzer]
// loads it once, on first use (or on [Analyzer.Preload]), and is then safe
// for concurrent use. Text is expected in the lower-case NFKC form that
// textnorm produces (kana as written): byte offsets of terms matched on the
// normalized text are valid offsets into it.
package japanese
