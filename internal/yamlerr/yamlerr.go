// Package yamlerr turns go.yaml.in/yaml/v3's syntax errors into a line and
// a message, for file:line reports of rule and config files.
package yamlerr

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
)

// parserErrors are the messages of yaml.v3's parser, which counts lines
// from 0, as opposed to its scanner, which counts from 1.
var parserErrors = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"found duplicate %YAML directive":        true,
	"found duplicate %TAG directive":         true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

var (
	lineRE          = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	unknownAnchorRE = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// Locate returns the 1-based line of a yaml.v3 decoding error in src and
// its message without the "yaml: line N:" prefix. An error without a line
// (an unknown anchor) is placed where src first uses the anchor, else at 1.
func Locate(err error, src []byte) (line int, msg string) {
	msg, line = err.Error(), 1
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if parserErrors[msg] {
			line++
		}
		return line, msg
	}
	if m := unknownAnchorRE.FindStringSubmatch(msg); m != nil {
		if i := bytes.Index(src, []byte("*"+m[1])); i >= 0 {
			line = 1 + bytes.Count(src[:i], []byte("\n"))
		}
	}
	return line, strings.TrimPrefix(msg, "yaml: ")
}
