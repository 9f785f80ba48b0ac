package post

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxLineBytes bounds one JSON line, so that a file without newlines cannot
// make a reader buffer it whole.
const MaxLineBytes = 4 << 20

// LineError is a bad line of a JSON Lines input: FILE:LINE: what is wrong.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// Reader reads posts from JSON Lines, one post per line. Blank lines are
// allowed. A bad line yields a *LineError; the reader can go on after it.
type Reader struct {
	name string
	sc   *bufio.Scanner
	line int
}

// NewReader reads posts from r; name is used in error messages (a file
// name, or "-" for standard input).
func NewReader(r io.Reader, name string) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), MaxLineBytes)
	return &Reader{name: name, sc: sc}
}

// Line is the number of the line last read.
func (r *Reader) Line() int { return r.line }

// Next returns the next post, io.EOF at the end, or a *LineError for a bad
// line (after which Next may be called again).
func (r *Reader) Next() (Post, error) {
	for r.sc.Scan() {
		r.line++
		b := bytes.TrimSpace(r.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		p, err := Decode(b)
		if err != nil {
			return Post{}, &LineError{File: r.name, Line: r.line, Err: err}
		}
		return p, nil
	}
	if err := r.sc.Err(); err != nil {
		r.line++
		if errors.Is(err, bufio.ErrTooLong) {
			return Post{}, fmt.Errorf("%s:%d: line longer than %d bytes: %w", r.name, r.line, MaxLineBytes, err)
		}
		return Post{}, fmt.Errorf("read %s: %w", r.name, err)
	}
	return Post{}, io.EOF
}

// Decode parses and checks one post from its JSON form.
func Decode(b []byte) (Post, error) {
	var p Post
	if err := json.Unmarshal(b, &p); err != nil {
		return Post{}, explainJSON(err)
	}
	if err := p.Validate(); err != nil {
		return Post{}, err
	}
	return p, nil
}

// Validate reports the first thing that makes a post unusable.
func (p *Post) Validate() error {
	if strings.TrimSpace(p.ID) == "" {
		return errors.New(`missing "id": every post needs a unique id such as "x:1001"`)
	}
	for i := range p.Context {
		c := &p.Context[i]
		if strings.TrimSpace(c.ID) == "" {
			return fmt.Errorf(`context[%d]: missing "id"`, i)
		}
		if len(c.Context) > 0 {
			return fmt.Errorf(`context[%d]: posts in "context" must not have a context of their own`, i)
		}
	}
	return nil
}

func explainJSON(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("field %q: expected %s, got JSON %s", te.Field, te.Type, te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("not valid JSON at byte %d: %v", se.Offset, err)
	}
	return fmt.Errorf("not a post: %w", err)
}

// Writer writes values as JSON Lines.
type Writer struct {
	bw  *bufio.Writer
	enc *json.Encoder
}

// NewWriter writes JSON Lines to w. Call Flush when done.
func NewWriter(w io.Writer) *Writer {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &Writer{bw: bw, enc: enc}
}

// Write writes v as one line.
func (w *Writer) Write(v any) error {
	if err := w.enc.Encode(v); err != nil {
		return fmt.Errorf("write json line: %w", err)
	}
	return nil
}

// Flush writes any buffered lines.
func (w *Writer) Flush() error { return w.bw.Flush() }
