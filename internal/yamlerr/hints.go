package yamlerr

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Kind describes what a node is, for messages: "a mapping", "a list",
// "empty", "a number", "true/false" or "a string". It never shows a value,
// which could be a secret.
func Kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "empty"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "true/false"
		}
		return "a string"
	}
	return "something else"
}

// ListHint is the hint for a single value where a list is expected:
// `write it as a list: [a, b]` (a comma-separated string is split).
func ListHint(value string) string {
	var items []string
	for part := range strings.SplitSeq(value, ",") {
		if part = strings.TrimSpace(part); part != "" {
			items = append(items, Quote(part))
		}
	}
	if len(items) == 0 {
		return "write it as a list: [a, b]"
	}
	return "write it as a list: [" + strings.Join(items, ", ") + "]"
}

// Quote quotes s when it could not be written as a plain scalar in a flow
// list.
func Quote(s string) string {
	if s == "" || strings.ContainsAny(s, ":#[]{},&*!|>'\"%@`\\\n\t") || strings.HasPrefix(s, "-") ||
		strings.HasPrefix(s, "?") || s != strings.TrimSpace(s) {
		return strconv.Quote(s)
	}
	return s
}

// CommentHint explains an empty value that was meant to start with "#":
// YAML read it as a comment. value and key are the nodes of the pair as
// written; "" when there is nothing to explain.
func CommentHint(value, key *yaml.Node) string {
	for _, c := range []string{value.LineComment, key.LineComment} {
		if strings.HasPrefix(c, "#") && len(c) > 1 && c[1] != ' ' {
			return fmt.Sprintf("quote it: %q; an unquoted # starts a comment", strings.TrimSpace(c))
		}
	}
	return ""
}

// Bool reads a boolean node. When it is not one, ok is false and hint says
// what to write for the yes/no/on/off people type for booleans.
func Bool(v *yaml.Node) (b, ok bool, hint string) {
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!bool" {
		return strings.EqualFold(v.Value, "true"), true, ""
	}
	if v.Kind == yaml.ScalarNode {
		switch strings.ToLower(v.Value) {
		case "yes", "on", "y":
			hint = "write true"
		case "no", "off", "n":
			hint = "write false"
		}
	}
	return false, false, hint
}
