package listener

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// ErrBudget is wrapped by the errors of a source whose daily read budget
// does not allow the read.
var ErrBudget = errors.New("daily read budget spent")

// Budgeted is a source with an optional daily read budget; the daemon
// exports Remaining as a gauge. limited is false when the source has no
// budget (n is then meaningless).
type Budgeted interface {
	Remaining() (n int, limited bool)
}

// The units a budget counts.
const (
	UnitPosts    = "posts"    // X bills every post read
	UnitRequests = "requests" // other platforms limit requests
)

// purpose is what a read is for. Searches may spend the whole budget;
// when it runs low, engagement refreshes stop first (below a fifth of the
// day's budget), then thread fetches (below a tenth), so that what is left
// goes to finding new posts.
type purpose int

const (
	forSearch purpose = iota
	forThread
	forRefresh
)

func (p purpose) String() string {
	return [...]string{"search", "thread", "refresh"}[p]
}

// Budget counts one source's reads per UTC day against a daily limit. A
// nil *Budget, or one with a limit of 0, is unlimited. It is safe for
// concurrent use.
type Budget struct {
	source string
	limit  int
	unit   string
	now    func() time.Time

	mu   sync.Mutex
	day  string // the UTC date used counts for
	used int
}

// NewBudget returns the budget of a source: limit units of unit
// (UnitPosts or UnitRequests) per UTC day; 0 or less is unlimited.
func NewBudget(source string, limit int, unit string, now func() time.Time) *Budget {
	if now == nil {
		now = time.Now
	}
	return &Budget{source: source, limit: max(limit, 0), unit: unit, now: now}
}

// orBudget returns b, or a new budget if b is nil.
func orBudget(b *Budget, source string, limit int, unit string, now func() time.Time) *Budget {
	if b != nil {
		return b
	}
	return NewBudget(source, limit, unit, now)
}

// Limit is the daily limit; 0 is unlimited.
func (b *Budget) Limit() int {
	if b == nil {
		return 0
	}
	return b.limit
}

// Unit is what the budget counts: UnitPosts or UnitRequests.
func (b *Budget) Unit() string {
	if b == nil {
		return ""
	}
	return b.unit
}

// Remaining returns what is left of today's budget; limited is false for
// an unlimited budget.
func (b *Budget) Remaining() (n int, limited bool) {
	if b == nil || b.limit == 0 {
		return 0, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.remainingLocked(), true
}

func (b *Budget) remainingLocked() int {
	if day := b.now().UTC().Format(time.DateOnly); day != b.day {
		b.day, b.used = day, 0
	}
	return max(b.limit-b.used, 0)
}

// floor is what must stay unspent for reads of purpose p to go ahead.
func (b *Budget) floor(p purpose) int {
	switch p {
	case forRefresh:
		return b.limit / 5
	case forThread:
		return b.limit / 10
	}
	return 0
}

// allowance is how much may be spent now for purpose p (math.MaxInt when
// unlimited).
func (b *Budget) allowance(p purpose) int {
	if b == nil || b.limit == 0 {
		return math.MaxInt
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(b.remainingLocked()-b.floor(p), 0)
}

// take spends n units for purpose p, or spends nothing and returns an
// error wrapping ErrBudget if the allowance is smaller.
func (b *Budget) take(p purpose, n int) error {
	if b == nil || b.limit == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.remainingLocked()-b.floor(p) < n {
		return b.errorLocked(p)
	}
	b.used += n
	return nil
}

// charge counts n units already read (posts counted from a response).
func (b *Budget) charge(n int) {
	if b == nil || b.limit == 0 || n <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.remainingLocked() // roll the day over first
	b.used += n
}

// refuse is the error for a read of purpose p that the budget does not
// allow.
func (b *Budget) refuse(p purpose) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.errorLocked(p)
}

func (b *Budget) errorLocked(p purpose) error {
	left := b.remainingLocked()
	if p == forSearch || left == 0 {
		return fmt.Errorf("%s %s: %w (%d %s per UTC day)", b.source, p, ErrBudget, b.limit, b.unit)
	}
	return fmt.Errorf("%s %s: %w: %d of %d %s left, kept for searches", b.source, p, ErrBudget, left, b.limit, b.unit)
}
