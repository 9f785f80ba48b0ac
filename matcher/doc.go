// Package matcher turns rules into one compiled automaton and decides, for
// each post, whether it is about a brand, whether it tags the brand, whether
// it sits inside someone else's conversation, and which category it needs
// (actionable, risky, positive, none) with a score and plain reasons.
//
// Order of evaluation, for every post:
//
//  1. normalize the text (textnorm: NFKC, case, kana) exactly as the rule
//     terms were normalized at compile time;
//  2. one Aho-Corasick pass finds every keyword, exclusion, context term,
//     query term, signal term, negator and intensifier of every rule; a hit
//     counts only on a word boundary where its script needs one;
//  3. candidate rules: a keyword hit, a tag (mention, hashtag, reply to a
//     brand account), or a query whose terms hit (or that needs no term);
//  4. per candidate: language, exclusions, require_any (post or thread),
//     the query; then signals with negation (English: a negator within
//     three words before; Japanese: kagome morphology after the term),
//     intensifiers, patterns, question form, reach and engagement;
//  5. the category is risky when risky reaches its threshold, else the better
//     of actionable and positive at or above theirs; the rule
//     with the strongest decision wins.
//
// A Matcher is immutable and safe for concurrent use; rebuild it to reload
// rules.
package matcher
