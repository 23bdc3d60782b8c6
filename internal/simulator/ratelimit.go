package simulator

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// clientLimiter is a token bucket per API client, as vendors limit each client separately. Its
// burst is one second's allowance: "100 requests per second" admits 100 at once, then 100/s.
type clientLimiter struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex
	clients map[string]*rate.Limiter
}

// newClientLimiter limits each client to perSecond requests; perSecond <= 0 means no limit.
func newClientLimiter(perSecond float64) *clientLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &clientLimiter{limit: rate.Limit(perSecond), burst: max(int(perSecond), 1), clients: make(map[string]*rate.Limiter)}
}

// allow takes a token from client's bucket, or says how long until one is due.
func (l *clientLimiter) allow(client string) (wait time.Duration, ok bool) {
	if l == nil {
		return 0, true
	}
	l.mu.Lock()
	lim, found := l.clients[client]
	if !found {
		lim = rate.NewLimiter(l.limit, l.burst)
		l.clients[client] = lim
	}
	l.mu.Unlock()
	now := time.Now()
	res := lim.ReserveN(now, 1)
	if wait = res.DelayFrom(now); wait > 0 {
		res.CancelAt(now) // a refused request must not use up the allowance of later ones
		return wait, false
	}
	return 0, true
}

// windowLimiter admits at most limit events in any window-long interval (a sliding log), as
// APIs with a quota per minute or per day count. It does no locking: its owner does.
type windowLimiter struct {
	limit  int
	window time.Duration
	times  []time.Time // oldest first
}

// newWindowLimiter returns a limiter of limit events per window; limit <= 0 means no limit.
func newWindowLimiter(limit int, window time.Duration) *windowLimiter {
	if limit <= 0 {
		return nil
	}
	return &windowLimiter{limit: limit, window: window}
}

// full says whether another event at now would exceed the limit.
func (l *windowLimiter) full(now time.Time) bool {
	if l == nil {
		return false
	}
	i := 0
	for i < len(l.times) && !l.times[i].Add(l.window).After(now) {
		i++
	}
	l.times = l.times[i:]
	return len(l.times) >= l.limit
}

func (l *windowLimiter) add(now time.Time) {
	if l != nil {
		l.times = append(l.times, now)
	}
}
