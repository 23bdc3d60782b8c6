package engine

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// fakeRange is a RangeStream over a list kept sorted by time, as the USM APIs serve theirs:
// inclusive bounds, pages of size, exact totals (or capped ones above cap).
type fakeRange struct {
	name string
	size int
	cap  int // totals above it are reported as cap, Capped; 0: exact
	// window, when set, refuses pages reaching past it as Elasticsearch does.
	window int

	mu      sync.Mutex
	records []record.Record
	queries []Range
	// before, when set, runs before each answer (outside the lock).
	before func(q Range)
}

func newFakeRange(size int, records ...record.Record) *fakeRange {
	f := &fakeRange{name: "r", size: size}
	f.add(records...)
	return f
}

func (f *fakeRange) Name() string   { return f.name }
func (f *fakeRange) Source() string { return "fake" }
func (f *fakeRange) PageSize() int  { return f.size }

func (f *fakeRange) add(records ...record.Record) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records = append(f.records, records...)
	slices.SortStableFunc(f.records, func(a, b record.Record) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID))
	})
}

func (f *fakeRange) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records = slices.DeleteFunc(f.records, func(r record.Record) bool { return r.ID == id })
}

func (f *fakeRange) FetchRange(_ context.Context, q Range) (RangePage, error) {
	f.mu.Lock()
	f.queries = append(f.queries, q)
	hook := f.before
	f.mu.Unlock()
	if hook != nil {
		hook(q)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	size := f.size
	if q.CountOnly {
		size = 1
	}
	if f.window > 0 && (q.Page+1)*size > f.window {
		return RangePage{}, backoff.Permanent(fmt.Errorf("page %d: %w", q.Page, ErrPastResultWindow))
	}
	var hits []record.Record
	for _, r := range f.records {
		if !r.Time.Before(q.From) && (q.To.IsZero() || !r.Time.After(q.To)) {
			hits = append(hits, r)
		}
	}
	page := RangePage{Total: int64(len(hits))}
	if f.cap > 0 && len(hits) > f.cap {
		page.Total, page.Capped = int64(f.cap), true
	}
	start := min(q.Page*size, len(hits))
	for _, r := range hits[start:min(start+size, len(hits))] {
		if q.Scope != "" && r.Tenant != q.Scope {
			page.OutOfScope = append(page.OutOfScope, r)
		} else {
			page.Records = append(page.Records, r)
		}
	}
	page.More = start+size < len(hits)
	return page, nil
}

func (f *fakeRange) rangeQueries() []Range {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.queries)
}

// counts splits the stream's queries into counts and page reads.
func (f *fakeRange) counts() (counts, reads int) {
	for _, q := range f.rangeQueries() {
		if q.CountOnly {
			counts++
		} else {
			reads++
		}
	}
	return counts, reads
}

// delivered lists every id the sink accepted, in order.
func delivered(s *fakeSink) []string {
	var out []string
	for _, page := range s.Accepted() {
		out = append(out, page...)
	}
	return out
}

// now is a time the records of these tests lie before: the engine's clock is real.
var recent = time.Now().Add(-time.Hour).Truncate(time.Millisecond)

func at(ms int) time.Time { return recent.Add(time.Duration(ms) * time.Millisecond) }

// keysetSettings are the test settings with a lookback that reaches the records at recent.
func keysetSettings() Settings {
	settings := testSettings()
	settings.InitialLookback = 2 * time.Hour
	return settings
}

func TestKeysetWalkReadsEveryRecordOnceThroughTies(t *testing.T) {
	// Pages of 2; three records share 20 ms, more than a page.
	stream := newFakeRange(2, rec("a", at(0)), rec("b", at(10)), rec("c", at(20)), rec("d", at(20)), rec("e", at(20)), rec("f", at(30)))
	sink := &fakeSink{}
	store := newStore()
	settings := keysetSettings()
	e := New(settings, store, sink, []Stream{stream})

	_, err := poll(e, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c", "d", "e", "f"}, delivered(sink), "each once, in order")
	assert.True(t, at(30).Equal(store.stored(t, "r").Watermark))
	var walk []string
	for _, q := range stream.rangeQueries() {
		if !q.CountOnly && q.To.IsZero() {
			walk = append(walk, fmt.Sprintf("%d/%d", q.From.Sub(recent).Milliseconds(), q.Page))
		}
	}
	assert.Equal(t, []string{"10/0", "20/0", "20/1"}, walk[1:],
		"each page a fresh query from the newest time delivered; a run longer than a page by page")
}

// An alarm the walk read leaves the filtered list mid-walk: with offsets the next page would
// start one record later and skip one; a keyset walk does not care.
func TestRecordsLeavingTheListMidWalkShiftNothing(t *testing.T) {
	var records []record.Record
	for i := range 10 {
		records = append(records, rec(fmt.Sprintf("a%d", i), at(i*1000)))
	}
	stream := newFakeRange(3, records...)
	var once sync.Once
	stream.before = func(q Range) {
		if q.From.After(at(0)) {
			once.Do(func() { stream.remove("a1") })
		}
	}
	sink := &fakeSink{}
	settings := keysetSettings()
	e := New(settings, newStore(), sink, []Stream{stream})
	_, err := poll(e, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"}, delivered(sink))
}

func TestFutureDatedRecordsAreEmittedWithoutMovingTheWatermark(t *testing.T) {
	stream := newFakeRange(10, rec("now", at(0)), rec("tomorrow", time.Now().Add(24*time.Hour)))
	sink := &fakeSink{}
	store := newStore()
	settings := keysetSettings()
	settings.MaxClockSkew = time.Minute
	e := New(settings, store, sink, []Stream{stream})
	_, err := poll(e, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"now", "tomorrow"}, delivered(sink))
	assert.True(t, at(0).Equal(store.stored(t, "r").Watermark), "the watermark stays at the newest record not ahead of now + skew")
	assert.Equal(t, 1, sink.future)

	stream.add(rec("later", at(5)))
	_, err = poll(e, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"now", "tomorrow", "later"}, delivered(sink), "a record dated correctly after it still arrives, the future one once")
}

// A record that shows up behind the watermark (indexed late) is found by counting the overlap:
// one count, then a read of the span where the API holds more than the checkpoint remembers.
func TestLateArrivalsAreFoundByCountingTheOverlap(t *testing.T) {
	stream := newFakeRange(10, rec("a", at(0)), rec("b", at(60_000)))
	sink := &fakeSink{}
	settings := keysetSettings()
	e := New(settings, newStore(), sink, []Stream{stream})
	_, err := poll(e, 0) // the first poll checks its overlap at once
	require.NoError(t, err)
	counts, _ := stream.counts()
	assert.Equal(t, 1, counts, "the overlap matched: one count, no read")

	stream.add(rec("late", at(30_000)))
	for range 4 { // the allowance pays for one look every fourth quiet poll
		_, err = poll(e, 0)
		require.NoError(t, err)
	}
	assert.Equal(t, []string{"a", "b", "late"}, delivered(sink))
	counts, _ = stream.counts()
	assert.Equal(t, 2, counts)
}

// A record that left the list (an alarm closed) is found gone by the read its missing count
// causes, and no longer counted: the next look is one count again.
func TestRecordsGoneFromTheListAreNotReadForAgain(t *testing.T) {
	stream := newFakeRange(10, rec("a", at(0)), rec("b", at(1000)), rec("c", at(2000)))
	sink := &fakeSink{}
	settings := keysetSettings()
	e := New(settings, newStore(), sink, []Stream{stream})
	r := e.runners[0]
	_, err := poll(e, 0)
	require.NoError(t, err)

	stream.remove("b")
	looks := func() (counts, reads int) {
		before := len(stream.rangeQueries())
		r.overlap.allowance = 1
		_, err := poll(e, 0)
		require.NoError(t, err)
		for _, q := range stream.rangeQueries()[before:] {
			switch {
			case q.CountOnly:
				counts++
			case !q.To.IsZero():
				reads++
			}
		}
		return counts, reads
	}
	counts, reads := looks()
	assert.Equal(t, 1, counts)
	assert.Equal(t, 1, reads, "two counted where three were remembered: the span is read")
	counts, reads = looks()
	assert.Equal(t, 1, counts)
	assert.Zero(t, reads, "b is known gone: the count matches")
	assert.Equal(t, []string{"a", "b", "c"}, delivered(sink))
}

// A span the API counts as too large (or capped) is halved until its halves are small enough to
// read, and only the half holding the late arrival is read.
func TestLargeSpansAreHalvedUntilTheLateArrivalIsFound(t *testing.T) {
	var records []record.Record
	for i := range 200 {
		records = append(records, rec(fmt.Sprintf("r%03d", i), at(i*1000)))
	}
	stream := newFakeRange(10, records...)
	stream.cap = 100
	sink := &fakeSink{}
	settings := keysetSettings()
	settings.Overlap = time.Hour
	e := New(settings, newStore(), sink, []Stream{stream})
	_, err := poll(e, 0)
	require.NoError(t, err)
	before := len(stream.rangeQueries())

	stream.add(rec("late", at(150_500)))
	e.runners[0].overlap.allowance = 1
	_, err = poll(e, 0)
	require.NoError(t, err)
	assert.Contains(t, delivered(sink), "late")
	var reads int
	for _, q := range stream.rangeQueries()[before:] {
		if !q.CountOnly && !q.To.IsZero() {
			reads++
			assert.LessOrEqual(t, q.To.Sub(q.From), 60*time.Second, "only a small span around the late arrival is read")
		}
	}
	assert.Positive(t, reads)
	assert.Less(t, len(stream.rangeQueries())-before, 25, "far fewer requests than reading 200 records by pages of 10")
}

// At the defaults a caught-up stream spends at most 1.25 times the requests of its new data.
func TestOverlapCostsAQuarterOfTheNewData(t *testing.T) {
	stream := newFakeRange(100, rec("a", at(0)))
	settings := keysetSettings()
	e := New(settings, newStore(), &fakeSink{}, []Stream{stream})
	const polls = 40
	for range polls {
		_, err := poll(e, 0)
		require.NoError(t, err)
	}
	counts, reads := stream.counts()
	assert.Equal(t, polls, reads, "one request of new data a poll")
	assert.LessOrEqual(t, float64(counts+reads), 1.25*polls+1, "counts %d", counts)
	assert.Positive(t, counts, "the overlap is still looked at")
}

// Records late in every page differ in every half of a span: it is read once, not halved.
func TestASpanLateInEveryPageIsReadNotHalved(t *testing.T) {
	var records []record.Record
	for i := range 200 {
		records = append(records, rec(fmt.Sprintf("r%03d", i), at(i*1000)))
	}
	stream := newFakeRange(10, records...)
	sink := &fakeSink{}
	settings := keysetSettings()
	settings.Overlap = time.Hour
	e := New(settings, newStore(), sink, []Stream{stream})
	e.runners[0].overlap.allowance = 0 // no look yet
	_, err := poll(e, 0)
	require.NoError(t, err)
	before := len(stream.rangeQueries())

	for i := range 20 { // one late record every ten: one in every page
		stream.add(rec(fmt.Sprintf("late%02d", i), at(i*10_000+500)))
	}
	e.runners[0].overlap.allowance = 1
	_, err = poll(e, 0)
	require.NoError(t, err)
	var counts, reads int
	for _, q := range stream.rangeQueries()[before:] {
		switch {
		case q.CountOnly:
			counts++
		case !q.To.IsZero():
			reads++
		}
	}
	assert.Equal(t, 1, counts, "the span is counted once")
	assert.Equal(t, 25, reads, "and read whole: 220 records by keyset pages of 10, each starting at the time the previous ended")
	assert.Len(t, delivered(sink), 220)
}

// However deep in debt the allowance, a look is due once the watermark has moved lookDeadline
// overlaps past the previous one, so a late record is found within a bounded span of its time.
func TestALookIsNeverPutOffPastTheDeadline(t *testing.T) {
	stream := newFakeRange(100, rec("a", at(0)), rec("b", at(60_000)))
	sink := &fakeSink{}
	settings := keysetSettings()
	e := New(settings, newStore(), sink, []Stream{stream})
	_, err := poll(e, 0) // looks at once
	require.NoError(t, err)
	e.runners[0].overlap.allowance = -1000 // as after costly looks at late records

	stream.add(rec("late", at(30_000))) // behind the watermark
	step := testOverlap / 2
	for i := 1; i <= 2*lookDeadline; i++ {
		stream.add(rec(fmt.Sprintf("new%d", i), at(60_000+int((time.Duration(i)*step).Milliseconds()))))
		_, err = poll(e, 0)
		require.NoError(t, err)
	}
	assert.Contains(t, delivered(sink), "late", "found by the look the deadline forced")
}

// A span the stream asks to read again is read for its scope, and survives a crash mid-way.
type backfillingRange struct {
	*fakeRange
	mu    sync.Mutex
	spans []Backfill
}

func (b *backfillingRange) Backfills() []Backfill {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.spans
	b.spans = nil
	return out
}

func TestBackfillsAreReadAgainAndResumed(t *testing.T) {
	fr := newFakeRange(2, rec("a", at(0)), rec("b", at(1000)), rec("c", at(2000)), rec("d", at(3000)))
	stream := &backfillingRange{fakeRange: fr}
	sink := &fakeSink{}
	store := newStore()
	settings := keysetSettings()
	settings.Overlap = time.Millisecond // nothing behind the watermark is re-read by the overlap
	e := New(settings, store, sink, []Stream{stream})
	_, err := poll(e, 0)
	require.NoError(t, err)

	// Buffered records of a deployment that reconnects show up with old times.
	for _, r := range []record.Record{rec("old1", at(500)), rec("old2", at(1500)), rec("old3", at(2500))} {
		r.Tenant = "tenant"
		fr.add(r)
	}
	stream.spans = []Backfill{{Scope: "tenant", From: at(0)}}
	var fail sync.Once
	fr.before = func(q Range) {
		if q.Scope == "tenant" && q.From.After(at(0)) {
			fail.Do(func() { store.setSaveErr(fmt.Errorf("disk full")) })
		}
	}
	_, err = poll(e, 0)
	require.ErrorContains(t, err, "disk full", "a crash mid-span")
	store.setSaveErr(nil)
	cp := store.stored(t, "r")
	require.Len(t, cp.Backfills, 1, "the span is part of the checkpoint")

	_, err = poll(e, 0)
	require.NoError(t, err)
	got := delivered(sink)
	for _, id := range []string{"old1", "old2", "old3"} {
		assert.Contains(t, got, id)
	}
	assert.Empty(t, store.stored(t, "r").Backfills, "done")
	for _, q := range fr.rangeQueries() {
		if q.Scope != "" {
			assert.False(t, q.To.IsZero(), "a span ends at the watermark: what follows, the walks of new data read")
		}
	}
}

func TestARunPastTheResultWindowIsSkipped(t *testing.T) {
	var records []record.Record
	for i := range 5 {
		records = append(records, rec(fmt.Sprintf("tie%d", i), at(0)))
	}
	stream := newFakeRange(2, append(records, rec("after", at(1)))...)
	stream.window = 4
	sink := &fakeSink{}
	settings := keysetSettings()
	settings.Overlap = 0 // the walk alone
	e := New(settings, newStore(), sink, []Stream{stream})
	_, err := poll(e, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"tie0", "tie1", "tie2", "tie3", "after"}, delivered(sink))
	require.Len(t, sink.skipped, 1)
	assert.True(t, at(0).Equal(sink.skipped[0].From))
}

// A stream told of its polls is told once at the start of each, before anything is read.
type startingRange struct {
	*fakeRange
	starts int
	err    error
}

func (s *startingRange) PollStarting(context.Context) error {
	s.starts++
	return s.err
}

func TestPollStarterIsToldOfEveryPoll(t *testing.T) {
	stream := &startingRange{fakeRange: newFakeRange(1, rec("a", at(0)), rec("b", at(1)))}
	e := New(testSettings(), newStore(), &fakeSink{}, []Stream{stream})
	_, err := poll(e, 0)
	require.NoError(t, err)
	assert.Equal(t, 1, stream.starts, "once for a walk of several pages")
	stream.err = fmt.Errorf("listing failed")
	before := len(stream.rangeQueries())
	_, err = poll(e, 0)
	require.ErrorContains(t, err, "listing failed")
	assert.Len(t, stream.rangeQueries(), before, "nothing read")
}

// keepingRange keeps a time in its checkpoint and is given it back.
type keepingRange struct {
	*fakeRange
	kept, restored map[string]time.Time
}

func (k *keepingRange) Kept() map[string]time.Time        { return k.kept }
func (k *keepingRange) Restore(kept map[string]time.Time) { k.restored = kept }

func TestKeptTimesSurviveARestart(t *testing.T) {
	store := newStore()
	first := &keepingRange{fakeRange: newFakeRange(10, rec("a", at(0))), kept: map[string]time.Time{"acme": t0}}
	_, err := poll(New(testSettings(), store, &fakeSink{}, []Stream{first}), 0)
	require.NoError(t, err)

	second := &keepingRange{fakeRange: newFakeRange(10)}
	_, err = poll(New(testSettings(), store, &fakeSink{}, []Stream{second}), 0)
	require.NoError(t, err)
	require.Contains(t, second.restored, "acme")
	assert.True(t, t0.Equal(second.restored["acme"]))
}

// A span read again for one scope meets the other scopes' records: it must not take them as
// emitted, or a late arrival among them would never be.
func TestASpanReadForOneScopeLeavesTheOthersUnread(t *testing.T) {
	acme := func(id string, at time.Time) record.Record { r := rec(id, at); r.Tenant = "acme"; return r }
	fr := newFakeRange(10, acme("a1", at(0)), acme("a2", at(2000)))
	stream := &backfillingRange{fakeRange: fr}
	sink := &fakeSink{}
	settings := keysetSettings()
	e := New(settings, newStore(), sink, []Stream{stream})
	_, err := poll(e, 0)
	require.NoError(t, err)

	// globex comes back with a buffered record; acme's late one shows up in the same span.
	globex := rec("g1", at(1000))
	globex.Tenant = "globex"
	fr.add(globex, acme("a-late", at(1500)))
	stream.spans = []Backfill{{Scope: "globex", From: at(0)}}
	e.runners[0].overlap.allowance = 1
	_, err = poll(e, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"a1", "a2", "g1", "a-late"}, delivered(sink), "the late acme record is found by the overlap's count")
}
