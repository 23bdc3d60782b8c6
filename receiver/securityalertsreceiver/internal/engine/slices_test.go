package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// slowRange is a fakeRange whose answers take latency, with a rate limit it declares (Paced),
// counting the requests in flight at once.
type slowRange struct {
	*fakeRange
	latency  time.Duration
	rate     float64
	inFlight atomic.Int32
	most     atomic.Int32
	fail     func(q Range) error
}

func (s *slowRange) RequestsPerSecond() float64 { return s.rate }

func (s *slowRange) FetchRange(ctx context.Context, q Range) (RangePage, error) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for m := s.most.Load(); n > m && !s.most.CompareAndSwap(m, n); m = s.most.Load() {
	}
	time.Sleep(s.latency)
	if s.fail != nil {
		if err := s.fail(q); err != nil {
			return RangePage{}, err
		}
	}
	return s.fakeRange.FetchRange(ctx, q)
}

func backlog(n int) []record.Record {
	out := make([]record.Record, n)
	for i := range out {
		out[i] = rec(fmt.Sprintf("b%05d", i), at(i*100))
	}
	return out
}

func drainSettings() Settings {
	s := keysetSettings()
	s.Overlap = 0 // the drain alone
	s.Retry.Enabled = false
	return s
}

// A backlog is read by several walks at once, each record once, and the checkpoint ends at the
// newest record.
func TestBacklogIsDrainedInSlicesAtOnce(t *testing.T) {
	stream := &slowRange{fakeRange: newFakeRange(10, backlog(1000)...), latency: 20 * time.Millisecond, rate: 200}
	sink := &fakeSink{}
	store := newStore()
	e := New(drainSettings(), store, sink, []Stream{stream})
	_, err := poll(e, 0)
	require.NoError(t, err)

	got := map[string]int{}
	for _, id := range delivered(sink) {
		got[id]++
	}
	assert.Len(t, got, 1000)
	for id, n := range got {
		assert.Equal(t, 1, n, id)
	}
	assert.Greater(t, int(stream.most.Load()), 2, "pages were read at once")
	assert.True(t, at(999*100).Equal(store.stored(t, "r").Watermark))
}

// A walk of a slice fails: the checkpoint stays at the prefix of slices read, and the next poll
// reads the rest without emitting again what the slices further on delivered.
func TestAFailedDrainResumesFromThePrefixWithoutDuplicates(t *testing.T) {
	stream := &slowRange{fakeRange: newFakeRange(10, backlog(1000)...), latency: 5 * time.Millisecond, rate: 1000}
	var failing atomic.Bool
	failing.Store(true)
	var calls atomic.Int32
	stream.fail = func(q Range) error {
		if failing.Load() && !q.To.IsZero() && q.From.After(at(30_000)) && q.From.Before(at(40_000)) && calls.Add(1) > 2 {
			return errors.New("connection reset")
		}
		return nil
	}
	sink := &fakeSink{}
	store := newStore()
	e := New(drainSettings(), store, sink, []Stream{stream})
	_, err := poll(e, 0)
	require.ErrorContains(t, err, "connection reset")
	cp := store.stored(t, "r")
	assert.True(t, cp.Watermark.Before(at(40_000)), "the watermark %v passed a slice not read", cp.Watermark)

	failing.Store(false)
	_, err = poll(e, 0)
	require.NoError(t, err)
	got := map[string]int{}
	for _, id := range delivered(sink) {
		got[id]++
	}
	assert.Len(t, got, 1000)
	dups := 0
	for _, n := range got {
		dups += n - 1
	}
	assert.Zero(t, dups, "what the slices past the failure delivered is remembered")
}

// A stream caught up keeps one walk; one without a rate limit too.
func TestASmallBacklogKeepsOneWalk(t *testing.T) {
	stream := &slowRange{fakeRange: newFakeRange(10, backlog(25)...), latency: 5 * time.Millisecond, rate: 1000}
	e := New(drainSettings(), newStore(), &fakeSink{}, []Stream{stream})
	_, err := poll(e, 0)
	require.NoError(t, err)
	assert.LessOrEqual(t, int(stream.most.Load()), 2, "one walk, and the page it fetches ahead")

	unpaced := newFakeRange(10, backlog(1000)...)
	var mu sync.Mutex
	inFlight, most := 0, 0
	unpaced.before = func(Range) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
	}
	e = New(drainSettings(), newStore(), &fakeSink{}, []Stream{unpaced})
	_, err = poll(e, 0)
	require.NoError(t, err)
	assert.LessOrEqual(t, most, 2)
}

func TestThePlanFollowsRateAndLatency(t *testing.T) {
	r := newRunner(New(drainSettings(), newStore(), &fakeSink{}, nil), newFakeRange(100))
	for _, tc := range []struct {
		rate    float64
		latency time.Duration
		want    int
	}{{100, 100 * time.Millisecond, 13}, {50, 100 * time.Millisecond, 7}, {100, time.Millisecond, 2}, {1000, time.Second, 40}} {
		stream := &slowRange{fakeRange: newFakeRange(100), rate: tc.rate}
		plan := r.planDrain(stream, RangePage{Total: 100_000, Records: []record.Record{rec("a", at(0))}}, tc.latency, recent.Add(-time.Hour))
		require.NotNil(t, plan)
		assert.Equal(t, tc.want, plan.workers, "%g/s at %s", tc.rate, tc.latency)
		assert.GreaterOrEqual(t, plan.slices, plan.workers)
	}
}

// However slow the first page, a drain's walks hold at most heldRecords records (about two pages
// each): at page 1000 four walks, at page 100 forty, and never fewer than two.
func TestTheWalksOfADrainHoldABoundedNumberOfRecords(t *testing.T) {
	r := newRunner(New(drainSettings(), newStore(), &fakeSink{}, nil), newFakeRange(100))
	for size, want := range map[int]int{100: 40, 500: 8, 1000: 4, 5000: 2} {
		stream := &slowRange{fakeRange: newFakeRange(size), rate: 100}
		plan := r.planDrain(stream, RangePage{Total: 10_000_000, Records: []record.Record{rec("a", at(0))}}, 2*time.Second, recent.Add(-time.Hour))
		require.NotNil(t, plan)
		assert.Equal(t, want, plan.workers, "page %d", size)
	}
}

// A plan may ask for more slices than its span has milliseconds (at least one per walk): the
// slices that would be empty are left out, and the span is read whole, each record once.
func TestADrainOfMoreSlicesThanMillisecondsReadsItsSpan(t *testing.T) {
	stream := &slowRange{fakeRange: newFakeRange(10, rec("x0", at(0)), rec("x2", at(2)), rec("x5", at(5))), rate: 1000}
	sink := &fakeSink{}
	e := New(drainSettings(), newStore(), sink, []Stream{stream})
	cp := &Checkpoint{}
	require.NoError(t, e.runners[0].drain(context.Background(), stream, cp, drainPlan{from: at(0), to: at(5), slices: 10, workers: 4}))
	assert.ElementsMatch(t, []string{"x0", "x2", "x5"}, delivered(sink))
	assert.True(t, at(5).Equal(cp.Watermark), "the watermark %v", cp.Watermark)
}
