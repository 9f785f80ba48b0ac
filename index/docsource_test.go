package index

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// memDocs is a DocSource over a map, as the store is one over its posts.
type memDocs struct {
	mu   sync.Mutex
	docs map[string]Doc
	err  error
}

func (m *memDocs) Docs(_ context.Context, ids []string) (map[string]Doc, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	out := map[string]Doc{}
	for _, id := range ids {
		if d, ok := m.docs[id]; ok {
			out[id] = d
		}
	}
	return out, nil
}

// TestDocSource checks that an index whose docs live elsewhere answers as
// one that stores them: the same hits, docs, scores and highlights; that it
// skips a hit whose doc is gone; and that it is smaller on disk.
func TestDocSource(t *testing.T) {
	t.Parallel()
	stored := corpusIndex(t)
	src := &memDocs{docs: map[string]Doc{}}
	for _, d := range corpus() {
		src.docs[d.ID] = d
	}
	dir := filepath.Join(t.TempDir(), "index")
	ix, err := Open(dir, Options{Docs: src})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ix.Close() })
	if err := ix.Index(context.Background(), corpus()); err != nil {
		t.Fatal(err)
	}
	for _, r := range []Request{
		{Query: "返金", Highlight: true},
		{Query: `"dropped my call"`, Highlight: true, Sort: "best"},
		{Query: "context:返金", Highlight: true},
		{Brand: "Kumo Mobile", Category: "risky"},
		{},
	} {
		r.Limit = 100
		want, got := find(t, stored, r), find(t, ix, r)
		if got.Total != want.Total || len(got.Hits) != len(want.Hits) {
			t.Fatalf("%+v: %d hits of %d, want %d of %d", r, len(got.Hits), got.Total, len(want.Hits), want.Total)
		}
		for i := range want.Hits {
			if !reflect.DeepEqual(got.Hits[i], want.Hits[i]) {
				t.Errorf("%+v: hit %d\n got  %+v\n want %+v", r, i, got.Hits[i], want.Hits[i])
			}
		}
	}

	src.mu.Lock()
	delete(src.docs, "x:1")
	src.mu.Unlock()
	res := find(t, ix, Request{Query: "返金"})
	if got := sorted(ids(res)); !reflect.DeepEqual(got, sorted([]string{"x:9", "x:10", "x:11"})) || res.Total != 3 {
		t.Errorf("with x:1 gone from the source: hits %v of %d, want x:10 x:11 x:9 of 3", got, res.Total)
	}
	src.mu.Lock()
	src.err = errors.New("store closed")
	src.mu.Unlock()
	if _, err := ix.Search(context.Background(), Request{Query: "返金"}); err == nil || !strings.Contains(err.Error(), "store closed") {
		t.Errorf("search with a failing source: %v", err)
	}

	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "store") {
		t.Errorf("opening it without its docs: %v, want an error about the store", err)
	}
}

// TestDocSourceIndexIsSmaller indexes the same docs with and without their
// copy in the index.
func TestDocSourceIndexIsSmaller(t *testing.T) {
	t.Parallel()
	docs := synthDocs(2000)
	size := func(opt Options) int64 {
		dir := filepath.Join(t.TempDir(), "index")
		ix, err := Open(dir, opt)
		if err != nil {
			t.Fatal(err)
		}
		if err := ix.Index(context.Background(), docs); err != nil {
			t.Fatal(err)
		}
		if err := ix.Close(); err != nil {
			t.Fatal(err)
		}
		return dirSize(t, dir)
	}
	with, without := size(Options{}), size(Options{Docs: &memDocs{}})
	if without >= with*3/4 {
		t.Errorf("index without the docs is %d bytes, with them %d: want at most three quarters", without, with)
	}
	t.Logf("index of %d docs: %d bytes with the docs, %d without", len(docs), with, without)
}
