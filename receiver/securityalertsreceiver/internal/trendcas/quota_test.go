package trendcas

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock moves only when told; timers due by then fire inside Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() bool { t.stopped = true; return true }

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) stopper {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due, later []*fakeTimer
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			due = append(due, t)
		default:
			later = append(later, t)
		}
	}
	c.timers = later
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

// grantLog runs Waits in goroutines and records, in order, which pair each grant went to.
type grantLog struct {
	t      *testing.T
	q      *Quota
	sent   atomic.Int64
	grants chan string
}

func newGrantLog(t *testing.T, q *Quota) *grantLog {
	return &grantLog{t: t, q: q, grants: make(chan string, 100)}
}

// wait queues one request of pair and returns once it waits or was granted.
func (g *grantLog) wait(pair string) {
	queued, sent := g.q.queued(), g.sent.Load()
	go func() {
		if err := g.q.Wait(withPair(context.Background(), pair)); err == nil {
			g.sent.Add(1)
			g.grants <- pair
		}
	}()
	require.Eventually(g.t, func() bool { return g.q.queued() > queued || g.sent.Load() > sent }, 5*time.Second, time.Millisecond)
}

func (g *grantLog) next() string {
	select {
	case p := <-g.grants:
		return p
	case <-time.After(5 * time.Second):
		g.t.Fatal("no grant")
		return ""
	}
}

func (q *Quota) queued() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiting)
}

func (q *Quota) granted() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.grants)
}

func TestQuotaMinuteWindow(t *testing.T) {
	clk := newFakeClock()
	q := newQuota(10, DocumentedPerDay, clk)
	g := newGrantLog(t, q)
	for range 10 {
		g.wait("a")
		g.next()
	}
	g.wait("a")
	clk.Advance(time.Minute)
	assert.Equal(t, 1, q.queued(), "the 11th request waits a minute plus the arrival margin")
	clk.Advance(time.Second)
	assert.Equal(t, "a", g.next())
	assert.EqualValues(t, DocumentedPerDay-11, q.Remaining())
}

func TestQuotaDayWindow(t *testing.T) {
	clk := newFakeClock()
	q := newQuota(100, 3, clk)
	g := newGrantLog(t, q)
	for range 3 { // at 0h, 1h and 2h
		g.wait("a")
		g.next()
		clk.Advance(time.Hour)
	}
	assert.EqualValues(t, 0, q.Remaining())
	g.wait("a")
	clk.Advance(21*time.Hour - time.Second)
	assert.Equal(t, 1, q.queued(), "the day's requests are spent until the first leaves the rolling day")
	clk.Advance(time.Second)
	g.next()
	assert.EqualValues(t, 0, q.Remaining(), "three in the last 24 hours again")
	clk.Advance(time.Hour)
	assert.EqualValues(t, 1, q.Remaining(), "the 1h request left the rolling day")
}

// TestQuotaRoundRobin: pair a walks a backlog and has two requests queued before b and c ask;
// first come, first served would starve b and c behind a, round robin serves them in turn.
func TestQuotaRoundRobin(t *testing.T) {
	clk := newFakeClock()
	q := newQuota(1, DocumentedPerDay, clk)
	g := newGrantLog(t, q)
	g.wait("a")
	require.Equal(t, "a", g.next())
	for _, p := range []string{"a", "a", "b", "c"} {
		g.wait(p)
	}
	var order []string
	for range 4 {
		clk.Advance(MinuteWindow)
		order = append(order, g.next())
	}
	assert.Equal(t, []string{"b", "c", "a", "a"}, order)
}

func TestQuotaPauseHoldsEveryPair(t *testing.T) {
	clk := newFakeClock()
	q := newQuota(10, DocumentedPerDay, clk)
	g := newGrantLog(t, q)
	q.Pause(30 * time.Second)
	g.wait("a")
	g.wait("b")
	clk.Advance(29 * time.Second)
	assert.Equal(t, 2, q.queued())
	clk.Advance(time.Second)
	assert.ElementsMatch(t, []string{"a", "b"}, []string{g.next(), g.next()})

	q.Pause(0) // no Retry-After: a full minute
	g.wait("a")
	clk.Advance(59 * time.Second)
	assert.Equal(t, 1, q.queued())
	clk.Advance(time.Second)
	assert.Equal(t, "a", g.next())
}

func TestQuotaCancelledWaitLeavesNoTrace(t *testing.T) {
	clk := newFakeClock()
	q := newQuota(1, DocumentedPerDay, clk)
	require.NoError(t, q.Wait(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- q.Wait(ctx) }()
	require.Eventually(t, func() bool { return q.queued() == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	assert.Equal(t, 0, q.queued())
	assert.Equal(t, 1, q.granted(), "the cancelled request used no slot")
}

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name              string
		pairs             int
		poll              time.Duration
		perMinute, perDay int
		every             time.Duration
		fits              bool
	}{
		{"the docs' example: 8 services × 4 events at 10/min", 32, time.Minute, 10, 14_400, 3200 * time.Millisecond * 60, false},
		{"every known pair at 10/min", 48, 5 * time.Minute, 10, 14_400, 5 * time.Minute, true},
		{"few pairs fit", 4, time.Minute, 10, 14_400, time.Minute, true},
		{"a raised minute limit meets the daily cap", 32, time.Minute, 100, 14_400, 3200 * time.Millisecond * 60, false},
		{"the daily cap alone", 10, time.Minute, 1000, 1440, 10 * time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			every, fits := Plan(tc.pairs, tc.poll, tc.perMinute, tc.perDay)
			assert.Equal(t, tc.every, every)
			assert.Equal(t, tc.fits, fits)
		})
	}
}

// A share of the minute moves with the group: nothing until one is set, a lowered share counts
// what was sent under the larger one, and a share below one stretches the window.
func TestQuotaSharedMinute(t *testing.T) {
	clk := newFakeClock()
	q := newQuota(10, DocumentedPerDay, clk)
	q.SetPerMinute(0)
	g := newGrantLog(t, q)
	g.wait("a")
	clk.Advance(time.Hour)
	assert.Equal(t, 1, q.queued(), "no share, no request")

	q.SetPerMinute(4)
	g.next()
	for range 3 {
		g.wait("a")
		g.next()
	}
	clk.Advance(30 * time.Second)
	q.SetPerMinute(2) // four were sent in the last 30 s
	g.wait("a")
	clk.Advance(MinuteWindow - 30*time.Second - time.Millisecond)
	assert.Equal(t, 1, q.queued(), "two of the four still in the window")
	clk.Advance(time.Millisecond)
	g.next()

	q.SetPerMinute(0.4) // one in any three windows
	for range 2 {
		g.wait("a")
		clk.Advance(3*MinuteWindow - time.Millisecond)
		assert.Equal(t, 1, q.queued(), "one in three windows")
		clk.Advance(time.Millisecond)
		g.next()
	}
}

// fakeAllowance is a group day with a fixed number of grants left; more can be added.
type fakeAllowance struct {
	mu    sync.Mutex
	left  int
	ready func()
}

func (a *fakeAllowance) Take(ready func()) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.left > 0 {
		a.left--
		return true
	}
	a.ready = ready
	return false
}

func (a *fakeAllowance) add(n int) {
	a.mu.Lock()
	a.left += n
	ready := a.ready
	a.mu.Unlock()
	if ready != nil {
		go ready()
	}
}

// With the day shared, a request goes only once the group's day gave it a grant, and only
// within the minute window: the allowance is asked when a slot is free, not before.
func TestQuotaSharedDay(t *testing.T) {
	clk := newFakeClock()
	q := newQuota(2, DocumentedPerDay, clk)
	day := &fakeAllowance{left: 3}
	q.ShareDay(day)
	g := newGrantLog(t, q)
	for range 2 {
		g.wait("a")
		g.next()
	}
	g.wait("a")
	assert.Equal(t, 1, day.left, "the third waits for the minute, and takes nothing of the day yet")
	clk.Advance(MinuteWindow)
	g.next()
	g.wait("a")
	clk.Advance(MinuteWindow)
	assert.Equal(t, 1, q.queued(), "the group's day is spent")
	day.add(1)
	g.next()
	assert.Zero(t, day.left)
}
