package listener

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/kizuki-dev/kizuki/post"
)

// FileOptions configure a File source.
type FileOptions struct {
	Name    string    // default "file"
	Path    string    // a JSON Lines file; "-" reads Stdin
	Stdin   io.Reader // default os.Stdin
	SkipBad bool      // skip (and count) bad lines instead of failing
	// PageSize bounds the posts one Search returns (default 2,000), so that a large
	// backfill file is taken in pages of bounded memory; Page.More says there is more.
	PageSize int
}

// defaultFilePage: a few seconds of work per page, a few MB of memory.
const defaultFilePage = 2000

// File is a source reading posts from a JSON Lines file, one post per line
// in the form of package post, as another tool (or a test) writes them.
//
// A file is tailed across polls: the cursor is the byte offset (a decimal
// string) just past the last complete line read. A partial last line (no
// newline yet) is left for the next poll. A file that shrank below the
// cursor, or was replaced by another file while this process watched it,
// is read again from the start.
//
// Standard input ("-") is read until EOF; its cursor is unused.
type File struct {
	opt FileOptions

	skipped int

	// stdin state
	stdin *post.Reader

	// line numbering: the line number at byte offset lineAt, so that
	// errors name absolute lines without rescanning the file each poll.
	lineAt   int64
	lineNo   int
	lastInfo os.FileInfo
}

var (
	_ Source   = (*File)(nil)
	_ Budgeted = (*File)(nil)
)

// NewFile returns a File with defaults filled in.
func NewFile(opt FileOptions) *File {
	if opt.Name == "" {
		opt.Name = "file"
	}
	if opt.Stdin == nil {
		opt.Stdin = os.Stdin
	}
	if opt.PageSize <= 0 {
		opt.PageSize = defaultFilePage
	}
	return &File{opt: opt, lineAt: -1}
}

// Name implements Source.
func (f *File) Name() string { return f.opt.Name }

// Remaining implements Budgeted: a file has no read budget.
func (f *File) Remaining() (n int, limited bool) { return 0, false }

// Skipped returns how many bad lines were skipped so far (with SkipBad).
func (f *File) Skipped() int { return f.skipped }

// Search implements Source: it returns the posts appended since cursor.
//
// A bad line is skipped and counted when SkipBad is set. Otherwise Search
// returns the posts before it, a cursor pointing at the start of the bad
// line, and a *post.LineError naming FILE:LINE; later polls fail on the
// same line until it is fixed.
func (f *File) Search(ctx context.Context, q Query, cursor string) (Page, error) {
	if f.opt.Path == "-" {
		return f.searchStdin(ctx)
	}
	var off int64
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n < 0 {
			return Page{Cursor: cursor}, fmt.Errorf("%s: bad cursor %q: want a byte offset", f.opt.Name, cursor)
		}
		off = n
	}
	fh, err := os.Open(f.opt.Path)
	if err != nil {
		return Page{Cursor: cursor}, fmt.Errorf("%s: %w", f.opt.Name, err)
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return Page{Cursor: cursor}, fmt.Errorf("%s: %w", f.opt.Name, err)
	}
	if info.Size() < off || (f.lastInfo != nil && !os.SameFile(f.lastInfo, info)) {
		off = 0 // truncated or rotated
		f.lineAt = -1
	}
	f.lastInfo = info
	line, err := f.lineAtOffset(fh, off)
	if err != nil {
		return Page{Cursor: strconv.FormatInt(off, 10)}, err
	}
	if _, err := fh.Seek(off, io.SeekStart); err != nil {
		return Page{Cursor: strconv.FormatInt(off, 10)}, fmt.Errorf("%s: %w", f.opt.Name, err)
	}
	// Read only up to the size seen now; what is appended meanwhile is
	// for the next poll.
	br := bufio.NewReaderSize(io.LimitReader(fh, info.Size()-off), 64*1024)
	var posts []post.Post
	for {
		if err := ctx.Err(); err != nil {
			f.lineAt, f.lineNo = off, line
			return Page{Posts: posts, Cursor: strconv.FormatInt(off, 10)}, err
		}
		if len(posts) >= f.opt.PageSize {
			f.lineAt, f.lineNo = off, line
			return Page{Posts: posts, Cursor: strconv.FormatInt(off, 10), More: off < info.Size()}, nil
		}
		b, n, complete, err := readLine(br)
		if err != nil {
			f.lineAt, f.lineNo = off, line
			return Page{Posts: posts, Cursor: strconv.FormatInt(off, 10)}, fmt.Errorf("read %s: %w", f.opt.Path, err)
		}
		if !complete { // EOF, perhaps after a partial line
			break
		}
		lineNo := line + 1
		var lerr error
		if b == nil {
			lerr = &post.LineError{File: f.opt.Path, Line: lineNo, Err: fmt.Errorf("line longer than %d bytes", post.MaxLineBytes)}
		} else if t := bytes.TrimSpace(b); len(t) > 0 {
			p, err := post.Decode(t)
			if err != nil {
				lerr = &post.LineError{File: f.opt.Path, Line: lineNo, Err: err}
			} else {
				posts = append(posts, p)
			}
		}
		if lerr != nil && !f.opt.SkipBad {
			f.lineAt, f.lineNo = off, line
			return Page{Posts: posts, Cursor: strconv.FormatInt(off, 10)}, lerr
		}
		if lerr != nil {
			f.skipped++
		}
		off += n
		line = lineNo
	}
	f.lineAt, f.lineNo = off, line
	return Page{Posts: posts, Cursor: strconv.FormatInt(off, 10)}, nil
}

// readLine reads one line including its newline. It returns the line
// without the newline (nil if longer than post.MaxLineBytes, whose bytes
// are still consumed), the bytes consumed, and whether the line was
// complete; at EOF without a newline, complete is false.
func readLine(br *bufio.Reader) (line []byte, n int64, complete bool, err error) {
	var buf []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		n += int64(len(chunk))
		if !tooLong {
			if len(buf)+len(chunk) > post.MaxLineBytes+1 {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case err == nil:
			if tooLong {
				return nil, n, true, nil
			}
			return buf[:len(buf)-1], n, true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil, n, false, nil
		default:
			return nil, n, false, err
		}
	}
}

// lineAtOffset returns the number of lines before off, counting them from
// the start unless remembered from the previous poll.
func (f *File) lineAtOffset(fh *os.File, off int64) (int, error) {
	if off == 0 {
		return 0, nil
	}
	if off == f.lineAt {
		return f.lineNo, nil
	}
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("%s: %w", f.opt.Name, err)
	}
	br := bufio.NewReaderSize(io.LimitReader(fh, off), 64*1024)
	n := 0
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
			n++
		}
		if err == nil || errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		return 0, fmt.Errorf("read %s: %w", f.opt.Path, err)
	}
}

// searchStdin reads posts from standard input until EOF. Later polls go on
// where the previous one stopped (after EOF, they return nothing).
func (f *File) searchStdin(ctx context.Context) (Page, error) {
	if f.stdin == nil {
		f.stdin = post.NewReader(f.opt.Stdin, "-")
	}
	var posts []post.Post
	for {
		if err := ctx.Err(); err != nil {
			return Page{Posts: posts}, err
		}
		p, err := f.stdin.Next()
		if errors.Is(err, io.EOF) {
			return Page{Posts: posts}, nil
		}
		var le *post.LineError
		if errors.As(err, &le) && f.opt.SkipBad {
			f.skipped++
			continue
		}
		if err != nil {
			return Page{Posts: posts}, err
		}
		posts = append(posts, p)
	}
}

// Thread implements Source: posts read from a file already carry their
// context.
func (f *File) Thread(ctx context.Context, p post.Post, depth int) ([]post.Post, error) {
	return CarriedThread(p, depth), nil
}

// CarriedThread is the thread a post carries with it (post.Context), cut to its last
// depth posts: the Thread of sources whose posts come with their context.
func CarriedThread(p post.Post, depth int) []post.Post {
	c := p.Context
	if depth >= 0 && len(c) > depth {
		c = c[len(c)-depth:]
	}
	return c
}

// Refresh implements Source: a file has no newer counts.
func (f *File) Refresh(ctx context.Context, ids []string) (map[string]post.Metrics, error) {
	return map[string]post.Metrics{}, nil
}
