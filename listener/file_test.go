package listener

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuki-dev/kizuki/post"
)

func fileLine(id, text string) string {
	return fmt.Sprintf(`{"id":%q,"platform":"x","text":%q,"created_at":"2026-08-20T10:00:00Z"}`+"\n", id, text)
}

func fileAppend(t *testing.T, path, s string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
}

func fileIDs(ps []post.Post) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.ID)
	}
	return strings.Join(s, ",")
}

func TestFileTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posts.jsonl")
	fileAppend(t, path, fileLine("x:1", "一つ目")+"\n"+fileLine("x:2", "two"))
	src := NewFile(FileOptions{Path: path})
	ctx := context.Background()
	page, err := src.Search(ctx, Query{}, "")
	if err != nil || fileIDs(page.Posts) != "x:1,x:2" {
		t.Fatalf("first: %v %q", err, fileIDs(page.Posts))
	}
	if page.Posts[0].Text != "一つ目" {
		t.Errorf("text %q", page.Posts[0].Text)
	}
	// Nothing new.
	page, err = src.Search(ctx, Query{}, page.Cursor)
	if err != nil || len(page.Posts) != 0 {
		t.Fatalf("idle: %v %q", err, fileIDs(page.Posts))
	}
	// Appended lines, the last one partial.
	line4 := fileLine("x:4", "four")
	fileAppend(t, path, fileLine("x:3", "three")+line4[:10])
	page, err = src.Search(ctx, Query{}, page.Cursor)
	if err != nil || fileIDs(page.Posts) != "x:3" {
		t.Fatalf("append: %v %q", err, fileIDs(page.Posts))
	}
	// Still partial: nothing, cursor unchanged.
	page2, err := src.Search(ctx, Query{}, page.Cursor)
	if err != nil || len(page2.Posts) != 0 || page2.Cursor != page.Cursor {
		t.Fatalf("partial: %v %q %s→%s", err, fileIDs(page2.Posts), page.Cursor, page2.Cursor)
	}
	// Completed.
	fileAppend(t, path, line4[10:])
	page, err = src.Search(ctx, Query{}, page.Cursor)
	if err != nil || fileIDs(page.Posts) != "x:4" {
		t.Fatalf("completed: %v %q", err, fileIDs(page.Posts))
	}
	st, _ := os.Stat(path)
	if page.Cursor != fmt.Sprint(st.Size()) {
		t.Errorf("cursor %s, size %d", page.Cursor, st.Size())
	}
	// A fresh File (a restart) resumes from the cursor.
	fileAppend(t, path, fileLine("x:5", "five"))
	page, err = NewFile(FileOptions{Path: path}).Search(ctx, Query{}, page.Cursor)
	if err != nil || fileIDs(page.Posts) != "x:5" {
		t.Fatalf("restart: %v %q", err, fileIDs(page.Posts))
	}

	// Truncated: start over.
	if err := os.WriteFile(path, []byte(fileLine("x:9", "nine")), 0o644); err != nil {
		t.Fatal(err)
	}
	page, err = src.Search(ctx, Query{}, page.Cursor)
	if err != nil || fileIDs(page.Posts) != "x:9" {
		t.Fatalf("truncated: %v %q", err, fileIDs(page.Posts))
	}
}

func TestFileRotated(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "posts.jsonl")
	fileAppend(t, path, fileLine("x:1", "a"))
	src := NewFile(FileOptions{Path: path})
	page, err := src.Search(context.Background(), Query{}, "")
	if err != nil || fileIDs(page.Posts) != "x:1" {
		t.Fatalf("%v %q", err, fileIDs(page.Posts))
	}
	// Replaced by a new, larger file.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	fileAppend(t, path, fileLine("x:2", "b")+fileLine("x:3", "c"))
	page, err = src.Search(context.Background(), Query{}, page.Cursor)
	if err != nil || fileIDs(page.Posts) != "x:2,x:3" {
		t.Fatalf("rotated: %v %q", err, fileIDs(page.Posts))
	}
}

func TestFileBadLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.jsonl")
	fileAppend(t, path, fileLine("x:1", "ok")+"{not json\n"+fileLine("x:3", "ok"))
	ctx := context.Background()

	strict := NewFile(FileOptions{Path: path})
	page, err := strict.Search(ctx, Query{}, "")
	var le *post.LineError
	if !errors.As(err, &le) || le.Line != 2 || !strings.HasPrefix(err.Error(), path+":2:") {
		t.Fatalf("strict err = %v", err)
	}
	if fileIDs(page.Posts) != "x:1" || page.Cursor != fmt.Sprint(len(fileLine("x:1", "ok"))) {
		t.Errorf("strict page: %q cursor %s", fileIDs(page.Posts), page.Cursor)
	}
	// Retried from the returned cursor by a fresh process: same line number.
	if _, err := NewFile(FileOptions{Path: path}).Search(ctx, Query{}, page.Cursor); err == nil || !strings.HasPrefix(err.Error(), path+":2:") {
		t.Errorf("retry err = %v", err)
	}

	lax := NewFile(FileOptions{Path: path, SkipBad: true})
	page, err = lax.Search(ctx, Query{}, "")
	if err != nil || fileIDs(page.Posts) != "x:1,x:3" || lax.Skipped() != 1 {
		t.Fatalf("SkipBad: %v %q skipped %d", err, fileIDs(page.Posts), lax.Skipped())
	}
	// A later bad line gets its absolute line number.
	fileAppend(t, path, "\n"+`{"platform":"x"}`+"\n")
	page, err = strict.Search(ctx, Query{}, page.Cursor)
	if err == nil || !strings.HasPrefix(err.Error(), path+":5:") || !strings.Contains(err.Error(), `"id"`) {
		t.Errorf("later bad line: %v", err)
	}
}

func TestFileErrors(t *testing.T) {
	src := NewFile(FileOptions{Path: filepath.Join(t.TempDir(), "missing.jsonl")})
	if _, err := src.Search(context.Background(), Query{}, ""); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := src.Search(context.Background(), Query{}, "abc"); err == nil {
		t.Error("bad cursor accepted")
	}
}

func TestFileStdin(t *testing.T) {
	in := fileLine("x:1", "a") + "oops\n" + fileLine("x:2", "b")
	src := NewFile(FileOptions{Path: "-", Stdin: strings.NewReader(in), SkipBad: true})
	page, err := src.Search(context.Background(), Query{}, "")
	if err != nil || fileIDs(page.Posts) != "x:1,x:2" || src.Skipped() != 1 {
		t.Fatalf("stdin: %v %q %d", err, fileIDs(page.Posts), src.Skipped())
	}
	page, err = src.Search(context.Background(), Query{}, page.Cursor)
	if err != nil || len(page.Posts) != 0 {
		t.Fatalf("stdin after EOF: %v %q", err, fileIDs(page.Posts))
	}

	strict := NewFile(FileOptions{Path: "-", Stdin: strings.NewReader(in)})
	page, err = strict.Search(context.Background(), Query{}, "")
	if err == nil || !strings.HasPrefix(err.Error(), "-:2:") || fileIDs(page.Posts) != "x:1" {
		t.Fatalf("strict stdin: %v %q", err, fileIDs(page.Posts))
	}
	// Going on after the error reads the rest.
	page, err = strict.Search(context.Background(), Query{}, "")
	if err != nil || fileIDs(page.Posts) != "x:2" {
		t.Fatalf("strict stdin rest: %v %q", err, fileIDs(page.Posts))
	}
}

func TestFileThreadRefresh(t *testing.T) {
	src := NewFile(FileOptions{Path: "-"})
	p := post.Post{ID: "x:3", Context: []post.Post{{ID: "x:1"}, {ID: "x:2"}}}
	th, err := src.Thread(context.Background(), p, 10)
	if err != nil || fileIDs(th) != "x:1,x:2" {
		t.Errorf("Thread = %q, %v", fileIDs(th), err)
	}
	th, _ = src.Thread(context.Background(), p, 1)
	if fileIDs(th) != "x:2" {
		t.Errorf("Thread depth 1 = %q", fileIDs(th))
	}
	if m, err := src.Refresh(context.Background(), []string{"x:1"}); err != nil || m == nil || len(m) != 0 {
		t.Errorf("Refresh = %v, %v", m, err)
	}
}

func TestFileLongLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "long.jsonl")
	long := `{"id":"x:big","text":"` + strings.Repeat("あ", post.MaxLineBytes/3+10) + `"}` + "\n"
	fileAppend(t, path, fileLine("x:1", "a")+long+fileLine("x:2", "b"))
	src := NewFile(FileOptions{Path: path, SkipBad: true})
	page, err := src.Search(context.Background(), Query{}, "")
	if err != nil || fileIDs(page.Posts) != "x:1,x:2" || src.Skipped() != 1 {
		t.Fatalf("long line: %v %q %d", err, fileIDs(page.Posts), src.Skipped())
	}
	_, err = NewFile(FileOptions{Path: path}).Search(context.Background(), Query{}, "")
	if err == nil || !strings.HasPrefix(err.Error(), path+":2: line longer") {
		t.Errorf("strict long line: %v", err)
	}
}

func TestFilePages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posts.jsonl")
	fileAppend(t, path, fileLine("x:1", "one")+fileLine("x:2", "two")+"\n"+fileLine("x:3", "three")+fileLine("x:4", "four")+fileLine("x:5", "five"))
	src := NewFile(FileOptions{Path: path, PageSize: 2})
	ctx := context.Background()
	var got []string
	cursor := ""
	for i := 0; ; i++ {
		page, err := src.Search(ctx, Query{}, cursor)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fileIDs(page.Posts))
		cursor = page.Cursor
		if !page.More {
			break
		}
		if i > 10 {
			t.Fatal("More never ends")
		}
	}
	if strings.Join(got, "|") != "x:1,x:2|x:3,x:4|x:5" {
		t.Errorf("pages %q", got)
	}
	// Exactly a page left: the last full page may say More, the next one is empty.
	fileAppend(t, path, fileLine("x:6", "six")+fileLine("x:7", "seven"))
	page, err := src.Search(ctx, Query{}, cursor)
	if err != nil || fileIDs(page.Posts) != "x:6,x:7" || page.More {
		t.Errorf("last page %q, more %v, %v", fileIDs(page.Posts), page.More, err)
	}
}
