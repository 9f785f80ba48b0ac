// Package query parses and evaluates the optional boolean query of a rule.
package query

import "errors"

// Query is a parsed boolean query. (Stub: being implemented.)
type Query struct{ src string }

// SyntaxError is a problem in a query, at a byte offset of its source.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string { return e.Msg }

// Parse parses src. (Stub: being implemented.)
func Parse(src string) (*Query, error) { return nil, errors.New("query: not implemented yet") }

// String returns the source of q.
func (q *Query) String() string { return q.src }
