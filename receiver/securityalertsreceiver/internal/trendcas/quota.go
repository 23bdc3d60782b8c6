package trendcas

import (
	"context"
	"math"
	"sync"
	"time"
)

// The API allows each token 10 requests a minute and 14,400 a day, across every (service, event)
// pair. Quota hands those requests out so that the server never has to refuse one we sent.
const (
	DocumentedPerMinute = 10
	DocumentedPerDay    = 14_400

	// MinuteWindow is a minute plus a margin: the server counts requests as they arrive, and a
	// request sent 60 s after another may arrive sooner after it than it was sent.
	MinuteWindow = time.Minute + time.Second
	// DayWindow is rolling: whether the server's day is rolling or a calendar day, at most
	// perDay requests in any 24 hours is also at most perDay in any calendar day.
	DayWindow = 24 * time.Hour
	// defaultPause is how long every pair waits after a quota refusal without Retry-After: the
	// minute window the server counts in.
	defaultPause = time.Minute
)

// Quota is the apiclient.Limiter shared by every stream of one token. It grants requests
// within both windows and, when several pairs wait, in round-robin order of pair (the pair is
// read from the request's context), so that a pair walking a long backlog takes one turn in
// every round and never starves the others.
type Quota struct {
	perMinute, perDay int
	// minute is the length of the window perMinute counts in: MinuteWindow, longer for a share
	// of less than one request a minute.
	minute time.Duration
	// day, when the token's day is shared with other clients, hands out the day's grants.
	day   Allowance
	clock clock

	mu          sync.Mutex
	grants      []time.Time // oldest first; only those within DayWindow are kept
	pausedUntil time.Time
	waiting     []*waiter
	ring        map[string]int // pair → its place in the round, in order of first request
	last        int            // place of the pair served last
	timer       stopper
	timerAt     time.Time
}

type waiter struct {
	place   int
	ready   chan struct{}
	granted bool
}

// NewQuota returns a limiter granting at most perMinute requests in any minute and perDay in
// any 24 hours.
func NewQuota(perMinute, perDay int) *Quota {
	return newQuota(perMinute, perDay, realClock{})
}

func newQuota(perMinute, perDay int, c clock) *Quota {
	return &Quota{perMinute: max(perMinute, 1), perDay: max(perDay, 1), minute: MinuteWindow, clock: c, ring: map[string]int{}, last: -1}
}

// Allowance hands out the grants of a token's day shared with other clients of the token
// (replicas): a request is sent only once the allowance let it count in the group's day.
type Allowance interface {
	// Take takes one grant, or returns false and later calls ready, from another goroutine,
	// once one may be had.
	Take(ready func()) bool
}

// ShareDay makes every grant also take one from day, the group's count of the token's day.
func (q *Quota) ShareDay(day Allowance) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.day = day
}

// SetPerMinute sets this client's share of the token's requests a minute, shared with other
// clients: n whole requests in any minute window, or, for a share below one, one request in a
// window of 1/n minutes (rounded up), never more; 0 sends nothing until a share is set.
func (q *Quota) SetPerMinute(n float64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case n >= 1-1e-9:
		q.perMinute, q.minute = int(n+1e-9), MinuteWindow
	case n > 0:
		q.perMinute, q.minute = 1, MinuteWindow*time.Duration(math.Ceil(1/n))
	default:
		q.perMinute = 0
	}
	q.dispatchLocked()
}

type pairKey struct{}

// withPair marks ctx as a request of pair, the unit of round-robin scheduling.
func withPair(ctx context.Context, pair string) context.Context {
	return context.WithValue(ctx, pairKey{}, pair)
}

// Wait blocks until a request may be sent, or ctx ends.
func (q *Quota) Wait(ctx context.Context) error {
	pair, _ := ctx.Value(pairKey{}).(string)
	q.mu.Lock()
	place, ok := q.ring[pair]
	if !ok {
		place = len(q.ring)
		q.ring[pair] = place
	}
	w := &waiter{place: place, ready: make(chan struct{})}
	q.waiting = append(q.waiting, w)
	q.dispatchLocked()
	q.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		q.mu.Lock()
		defer q.mu.Unlock()
		// A grant that raced the cancellation stays counted: an unused slot costs only time.
		if !w.granted {
			q.remove(w)
		}
		return ctx.Err()
	}
}

// Pause holds every request back for d: the server refused one for quota, so the allowance
// is spent elsewhere (another client of the same token) and every pair must wait.
func (q *Quota) Pause(d time.Duration) {
	if d <= 0 {
		d = defaultPause
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if until := q.clock.Now().Add(d); until.After(q.pausedUntil) {
		q.pausedUntil = until
	}
	q.dispatchLocked()
}

// Remaining is how many requests the rolling day still allows.
func (q *Quota) Remaining() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.expire(q.clock.Now())
	return int64(max(q.perDay-len(q.grants), 0))
}

func (q *Quota) dispatch() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.dispatchLocked()
}

// dispatchLocked grants every request the windows (and the shared day) allow now and arms a
// timer for the next. Without a share of the minute, nothing goes until one is set.
func (q *Quota) dispatchLocked() {
	for len(q.waiting) > 0 && q.perMinute > 0 {
		now := q.clock.Now()
		at := q.nextSlot(now)
		if at.After(now) {
			q.arm(now, at)
			return
		}
		if q.day != nil && !q.day.Take(q.dispatch) {
			return
		}
		w := q.pick()
		q.remove(w)
		q.last = w.place
		q.grants = append(q.grants, now)
		w.granted = true
		close(w.ready)
	}
}

// nextSlot is when the next request may go: after any pause, and once the oldest grant that
// fills a window has left it.
func (q *Quota) nextSlot(now time.Time) time.Time {
	q.expire(now)
	at := now
	if q.pausedUntil.After(at) {
		at = q.pausedUntil
	}
	for _, w := range []struct {
		limit  int
		length time.Duration
	}{{q.perMinute, q.minute}, {q.perDay, DayWindow}} {
		if n := len(q.grants); n >= w.limit {
			if free := q.grants[n-w.limit].Add(w.length); free.After(at) {
				at = free
			}
		}
	}
	return at
}

func (q *Quota) expire(now time.Time) {
	i := 0
	for i < len(q.grants) && !q.grants[i].Add(DayWindow).After(now) {
		i++
	}
	q.grants = q.grants[i:]
}

// pick returns the waiter of the first pair after the one served last, in ring order; a pair
// with several waiters has them served first come, first served.
func (q *Quota) pick() *waiter {
	n := len(q.ring)
	var best *waiter
	bestDist := n
	for _, w := range q.waiting {
		if d := (w.place - q.last - 1 + n) % n; d < bestDist {
			best, bestDist = w, d
		}
	}
	return best
}

func (q *Quota) remove(w *waiter) {
	for i, x := range q.waiting {
		if x == w {
			q.waiting = append(q.waiting[:i], q.waiting[i+1:]...)
			return
		}
	}
}

func (q *Quota) arm(now, at time.Time) {
	if q.timer != nil {
		if q.timerAt.Equal(at) {
			return
		}
		q.timer.Stop()
	}
	q.timer, q.timerAt = q.clock.AfterFunc(at.Sub(now), q.dispatch), at
}

// Plan is how often each of pairs can be polled when each poll is one request: the poll
// interval, unless the quota cannot fit pairs requests per interval.
func Plan(pairs int, poll time.Duration, perMinute, perDay int) (every time.Duration, fits bool) {
	byMinute := time.Duration(float64(time.Minute) * float64(pairs) / float64(max(perMinute, 1)))
	byDay := time.Duration(float64(DayWindow) * float64(pairs) / float64(max(perDay, 1)))
	every = max(poll, byMinute, byDay)
	return every, every == poll
}

type stopper interface{ Stop() bool }

// clock is time as Quota sees it; tests move a fake one by hand.
type clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) stopper
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) }
