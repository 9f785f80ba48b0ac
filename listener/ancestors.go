package listener

import (
	"container/list"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/kizuki-dev/kizuki/post"
)

// Thread context without asking twice. The posts a search found and the
// ancestors fetched are cached (a small LRU with an age limit), so that a
// thread's shared ancestors are fetched once, and the parents that the
// posts of the last poll will need are remembered, so that where the
// platform can look up several posts at once (X /2/tweets?ids=, v1.1
// statuses/lookup, Bluesky getPosts, Mastodon statuses?id[]=, Reddit
// /api/info) the first Thread of a poll fetches the parents of the whole
// page in one request per level of the threads, and the next Threads find
// them cached.

const (
	ancestorCacheSize = 2000
	ancestorTTL       = time.Hour
	maxWanted         = 1000
)

// lru is a least-recently-used cache of at most max entries, each kept
// for ttl at most. It is safe for concurrent use.
type lru[K comparable, V any] struct {
	max int
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	ll *list.List // of *lruItem, most recent first
	m  map[K]*list.Element
}

type lruItem[K comparable, V any] struct {
	k  K
	v  V
	at time.Time
}

func newLRU[K comparable, V any](max int, ttl time.Duration, now func() time.Time) *lru[K, V] {
	if now == nil {
		now = time.Now
	}
	return &lru[K, V]{max: max, ttl: ttl, now: now, ll: list.New(), m: map[K]*list.Element{}}
}

func (c *lru[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	e, ok := c.m[k]
	if !ok {
		return zero, false
	}
	it := e.Value.(*lruItem[K, V])
	if c.ttl > 0 && c.now().Sub(it.at) > c.ttl {
		c.ll.Remove(e)
		delete(c.m, k)
		return zero, false
	}
	c.ll.MoveToFront(e)
	return it.v, true
}

func (c *lru[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		it := e.Value.(*lruItem[K, V])
		it.v, it.at = v, c.now()
		c.ll.MoveToFront(e)
		return
	}
	c.m[k] = c.ll.PushFront(&lruItem[K, V]{k: k, v: v, at: c.now()})
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.m, last.Value.(*lruItem[K, V]).k)
	}
}

func (c *lru[K, V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// ancestor is a cached post, or the note that the platform does not show
// it (deleted, removed, protected, blocked).
type ancestor struct {
	post post.Post
	gone bool
}

// threads is a source's thread-context state.
type threads struct {
	cache *lru[string, ancestor]

	mu     sync.Mutex
	wanted []string // parents needed and not cached, first wanted first
}

func newThreads(now func() time.Time) *threads {
	return &threads{cache: newLRU[string, ancestor](ancestorCacheSize, ancestorTTL, now)}
}

// newPoll forgets the parents wanted by the previous poll.
func (t *threads) newPoll() {
	t.mu.Lock()
	t.wanted = nil
	t.mu.Unlock()
}

// seen caches posts (without their context) and wants their parents.
func (t *threads) seen(posts ...post.Post) {
	parents := make([]string, 0, len(posts))
	for _, p := range posts {
		p.Context = nil
		t.cache.put(p.ID, ancestor{post: p})
		if p.ReplyTo != "" {
			parents = append(parents, p.ReplyTo)
		}
	}
	t.want(parents...)
}

// gone caches ids as not shown by the platform.
func (t *threads) gone(ids ...string) {
	for _, id := range ids {
		t.cache.put(id, ancestor{gone: true})
	}
}

// cached reports whether id is in the cache (found or gone).
func (t *threads) cached(id string) bool {
	_, ok := t.cache.get(id)
	return ok
}

// want notes parent ids that posts will ask for, unless cached.
func (t *threads) want(ids ...string) {
	for _, id := range ids {
		if t.cached(id) {
			continue
		}
		t.mu.Lock()
		if len(t.wanted) < maxWanted && !slices.Contains(t.wanted, id) {
			t.wanted = append(t.wanted, id)
		}
		t.mu.Unlock()
	}
}

// batch returns first and up to n-1 other wanted ids that are not cached
// and accepted by ok, and stops wanting them.
func (t *threads) batch(first string, n int, ok func(id string) bool) []string {
	out := []string{first}
	t.mu.Lock()
	wanted := t.wanted
	t.wanted = nil
	t.mu.Unlock()
	var keep []string
	for _, id := range wanted {
		switch {
		case id == first:
		case len(out) < n && ok(id) && !t.cached(id):
			out = append(out, id)
		case len(out) >= n:
			keep = append(keep, id)
		}
	}
	t.mu.Lock()
	t.wanted = append(keep, t.wanted...)
	t.mu.Unlock()
	return out
}

// root returns the id of the first post of p's thread if the cache holds
// the whole chain up to it.
func (t *threads) root(p post.Post) (string, bool) {
	for range ancestorCacheSize {
		if p.ReplyTo == "" {
			return p.ID, true
		}
		a, ok := t.cache.get(p.ReplyTo)
		if !ok || a.gone {
			return "", false
		}
		p = a.post
	}
	return "", false
}

// fetchFunc fetches the missing parent of child (the post being walked
// from), with need ancestors still wanted from missing up. It caches what
// it finds (threads.seen) and marks what the platform does not show
// (threads.gone); a missing id it leaves uncached ends the chain.
type fetchFunc func(ctx context.Context, child post.Post, missing string, need int) error

// walk returns up to depth ancestors of p, oldest first, from the cache,
// fetching what is missing. A gone ancestor ends the chain. With an error,
// the ancestors found so far are returned too.
func (t *threads) walk(ctx context.Context, p post.Post, depth int, fetch fetchFunc) ([]post.Post, error) {
	var chain []post.Post // nearest first
	child, parent := p, p.ReplyTo
	var err error
	for parent != "" && len(chain) < depth {
		a, ok := t.cache.get(parent)
		if !ok {
			if err = fetch(ctx, child, parent, depth-len(chain)); err != nil {
				break
			}
			if a, ok = t.cache.get(parent); !ok {
				break
			}
		}
		if a.gone {
			break
		}
		chain = append(chain, a.post)
		child, parent = a.post, a.post.ReplyTo
	}
	slices.Reverse(chain)
	return chain, err
}
