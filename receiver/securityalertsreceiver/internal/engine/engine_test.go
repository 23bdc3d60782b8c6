package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

func TestCheckpointAdvancesOnlyAfterSinkAccepted(t *testing.T) {
	settings := testSettings()
	settings.Retry.MaxElapsedTime = 30 * time.Millisecond // give up on the refusing sink quickly
	stream := pages("s", Page{Records: []record.Record{rec("a", t0), rec("b", t0.Add(time.Second))}})
	sink := &fakeSink{refuse: func([]record.Record) error { return errors.New("queue is full") }}
	store := newStore()
	e := New(settings, store, sink, []Stream{stream})

	_, err := poll(e, 0)
	require.Error(t, err)
	assert.ErrorContains(t, err, "queue is full")
	assert.False(t, store.has("s"), "no checkpoint before the sink accepted")
	assert.True(t, e.Status()[0].Watermark.IsZero())
	attempts := sink.Attempts()
	require.Greater(t, len(attempts), 1, "delivery is retried")
	for _, a := range attempts {
		assert.Equal(t, []string{"a", "b"}, a, "every attempt hands over the whole page")
	}
	assert.Empty(t, sink.Accepted())

	// The next poll walks again from the same (absent) checkpoint and delivers the same records.
	sink.setRefuse(nil)
	_, err = poll(e, 0)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"a", "b"}}, sink.Accepted())
	assert.True(t, t0.Add(time.Second).Equal(store.stored(t, "s").Watermark))
	qs := stream.Queries()
	require.Len(t, qs, 2)
	assert.WithinDuration(t, time.Now().Add(-testLookback), qs[1].Since, time.Minute, "still the initial lookback")
}

func TestSinkTransientFailureThenSuccessWithinOneWalk(t *testing.T) {
	var refusals atomic.Int32
	stream := pages("s", Page{Records: []record.Record{rec("a", t0)}})
	sink := &fakeSink{refuse: func([]record.Record) error {
		if refusals.Add(1) <= 2 {
			return errors.New("try later")
		}
		return nil
	}}
	store := newStore()
	e := New(testSettings(), store, sink, []Stream{stream})

	_, err := poll(e, 0)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"a"}, {"a"}, {"a"}}, sink.Attempts())
	assert.Equal(t, [][]string{{"a"}}, sink.Accepted())
	assert.True(t, t0.Equal(store.stored(t, "s").Watermark))
}

func TestPermanentSinkErrorDropsRecordsAndAdvances(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"permanent", consumererror.NewPermanent(errors.New("schema violation"))},
		{"wrapped permanent", fmt.Errorf("exporter: %w", consumererror.NewPermanent(errors.New("schema violation")))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := pages("s", Page{Records: []record.Record{rec("a", t0), rec("b", t0.Add(time.Second))}})
			sink := &fakeSink{refuse: func([]record.Record) error { return tc.err }}
			store := newStore()
			e := New(testSettings(), store, sink, []Stream{stream})

			_, err := poll(e, 0)
			require.NoError(t, err, "a permanent refusal does not fail the walk")
			assert.Len(t, sink.Attempts(), 1, "a permanent refusal is not retried")
			assert.Equal(t, 2, sink.droppedCount(DropRejected))
			cp := store.stored(t, "s")
			assert.True(t, t0.Add(time.Second).Equal(cp.Watermark), "the checkpoint moves past refused records")
			assert.True(t, cp.Has(rec("a", t0)))
		})
	}
}

func TestFetchErrorMidWalkKeepsLastAcceptedPage(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"retryable error, retries exhausted", &apiclient.HTTPError{Status: http.StatusServiceUnavailable}},
		{"permanent error", backoff.Permanent(&apiclient.HTTPError{Status: http.StatusNotFound})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			settings := testSettings()
			settings.Retry.MaxElapsedTime = 20 * time.Millisecond
			var page2 atomic.Int32
			stream := newStream("s", func(_ context.Context, q Query) (Page, error) {
				if q.PageToken == "" {
					return Page{Records: []record.Record{rec("a", t0)}, Next: "p2"}, nil
				}
				page2.Add(1)
				return Page{}, tc.err
			})
			sink := &fakeSink{}
			store := newStore()
			e := New(settings, store, sink, []Stream{stream})

			_, err := poll(e, 0)
			var he *apiclient.HTTPError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, [][]string{{"a"}}, sink.Accepted())
			cp := store.stored(t, "s")
			assert.True(t, t0.Equal(cp.Watermark), "checkpoint of page 1")
			assert.True(t, cp.Has(rec("a", t0)))
			if apiclient.IsPermanent(tc.err) {
				assert.EqualValues(t, 1, page2.Load())
			} else {
				assert.Greater(t, page2.Load(), int32(1), "retried before giving up")
			}

			// The next walk starts over from the checkpoint, not from the failed page.
			before := len(stream.Queries())
			_, _ = poll(e, 0)
			restart := stream.Queries()[before]
			assert.Empty(t, restart.PageToken)
			assert.True(t, t0.Add(-testOverlap).Equal(restart.Since), "since %v", restart.Since)
		})
	}
}

func TestMalformedPageIsRetriedThenSucceeds(t *testing.T) {
	var calls atomic.Int32
	stream := newStream("s", func(context.Context, Query) (Page, error) {
		if calls.Add(1) <= 2 {
			return Page{}, &apiclient.MalformedError{URL: "https://h.test/x", Size: 6, Head: "<html>", Reason: errors.New("invalid character")}
		}
		return Page{Records: []record.Record{rec("a", t0)}}, nil
	})
	sink := &fakeSink{}
	store := newStore()
	e := New(testSettings(), store, sink, []Stream{stream})

	_, err := poll(e, 0)
	require.NoError(t, err)
	assert.EqualValues(t, 3, calls.Load())
	assert.Equal(t, [][]string{{"a"}}, sink.Accepted())
	assert.True(t, t0.Equal(store.stored(t, "s").Watermark))
}

func TestRecordsWithErrorAreDeliveredThenReported(t *testing.T) {
	foreign := &apiclient.ForeignOriginError{URL: "https://evil.test/x"}
	for _, tc := range []struct {
		name         string
		page         Page
		wantAccepted [][]string
		wantSaved    bool
	}{
		{"records and error", Page{Records: []record.Record{rec("a", t0)}, Next: "ignored"}, [][]string{{"a"}}, true},
		{"error alone", Page{}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			stream := newStream("s", func(context.Context, Query) (Page, error) {
				calls.Add(1)
				return tc.page, backoff.Permanent(foreign)
			})
			sink := &fakeSink{}
			store := newStore()
			e := New(testSettings(), store, sink, []Stream{stream})

			_, err := poll(e, 0)
			require.ErrorIs(t, err, foreign)
			assert.EqualValues(t, 1, calls.Load(), "neither retried nor continued")
			assert.Equal(t, tc.wantAccepted, sink.Accepted())
			assert.Equal(t, tc.wantSaved, store.has("s"))
			if tc.wantSaved {
				assert.True(t, t0.Equal(store.stored(t, "s").Watermark))
			}
		})
	}
}

func TestOverlapReReadsAreDeDuplicated(t *testing.T) {
	walks := [][]record.Record{
		{rec("a", t0), rec("b", t0.Add(5*time.Second))},
		// Re-read of the overlap: a and b again, c at b's very millisecond, d later, e twice.
		{rec("a", t0), rec("b", t0.Add(5*time.Second)), rec("c", t0.Add(5*time.Second+300*time.Microsecond)), rec("d", t0.Add(6*time.Second)), rec("e", t0.Add(6*time.Second)), rec("e", t0.Add(6*time.Second))},
		// Nothing new.
		{rec("b", t0.Add(5*time.Second)), rec("c", t0.Add(5*time.Second)), rec("d", t0.Add(6*time.Second))},
		// A record without an id is known by its content.
		{rec("", t0.Add(6*time.Second)), rec("d", t0.Add(6*time.Second)), rec("", t0.Add(6*time.Second))},
	}
	var walk atomic.Int32
	stream := newStream("s", func(context.Context, Query) (Page, error) {
		return Page{Records: walks[walk.Add(1)-1]}, nil
	})
	sink := &fakeSink{}
	store := newStore()
	e := New(testSettings(), store, sink, []Stream{stream})

	for range walks {
		_, err := poll(e, 0)
		require.NoError(t, err)
	}
	assert.Equal(t, [][]string{{"a", "b"}, {"c", "d", "e"}, {record.ContentID(map[string]any{"id": ""})}}, sink.Accepted())

	qs := stream.Queries()
	assert.True(t, t0.Add(5*time.Second-testOverlap).Equal(qs[1].Since), "second walk re-reads the overlap: %v", qs[1].Since)
	assert.True(t, t0.Add(5*time.Second-testOverlap).Equal(qs[2].Since), "and from the watermark the overlap was last read from: %v", qs[2].Since)
	cp := store.stored(t, "s")
	for _, r := range walks[1][:5] {
		assert.True(t, cp.Has(r), r.ID)
	}
}

func TestMaxSeenDropsTheOldestIDs(t *testing.T) {
	settings := testSettings()
	settings.MaxSeen = 2
	page := Page{Records: []record.Record{rec("a", t0), rec("b", t0.Add(time.Second)), rec("c", t0.Add(2*time.Second))}}
	stream := pages("s", page)
	sink := &fakeSink{}
	store := newStore()
	e := New(settings, store, sink, []Stream{stream})

	for range 2 {
		_, err := poll(e, 0)
		require.NoError(t, err)
	}
	cp := store.stored(t, "s")
	assert.Equal(t, 2, cp.SeenCount())
	assert.True(t, cp.Has(page.Records[1]) && cp.Has(page.Records[2]), "b and c are remembered")
	// a fell out of the bounded set: it goes out twice (a duplicate, never a loss).
	assert.Equal(t, [][]string{{"a", "b", "c"}, {"a"}}, sink.Accepted())
}

// withSeen is cp remembering records.
func withSeen(cp Checkpoint, records ...record.Record) *Checkpoint {
	cp.remember(records)
	return &cp
}

func TestOnePageAdvancesTheCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		name     string
		before   *Checkpoint
		page     Page
		maxSeen  int
		wantWM   time.Time
		wantCur  string
		wantSeen []record.Record // exactly these are remembered
	}{
		{
			name:     "first page",
			page:     Page{Records: []record.Record{rec("a", t0), rec("b", t0.Add(time.Second))}},
			wantWM:   t0.Add(time.Second),
			wantSeen: []record.Record{rec("a", t0), rec("b", t0.Add(time.Second))},
		},
		{
			name:     "seen is pruned to the overlap window behind the watermark it was last checked from",
			before:   withSeen(Checkpoint{Watermark: t0}, rec("old", t0.Add(-20*time.Minute)), rec("edge", t0.Add(-testOverlap)), rec("recent", t0.Add(-time.Minute))),
			page:     Page{Records: []record.Record{rec("x", t0.Add(time.Minute))}},
			wantWM:   t0.Add(time.Minute),
			wantSeen: []record.Record{rec("edge", t0.Add(-testOverlap)), rec("recent", t0.Add(-time.Minute)), rec("x", t0.Add(time.Minute))},
		},
		{
			name:     "a late record older than the window is not remembered",
			before:   &Checkpoint{Watermark: t0},
			page:     Page{Records: []record.Record{rec("late", t0.Add(-time.Hour)), rec("y", t0)}},
			wantWM:   t0,
			wantSeen: []record.Record{rec("y", t0)},
		},
		{
			name:     "bounded by maxSeen, oldest dropped",
			page:     Page{Records: []record.Record{rec("c", t0.Add(2*time.Second)), rec("a", t0), rec("d", t0.Add(3*time.Second)), rec("b", t0.Add(time.Second))}},
			maxSeen:  2,
			wantWM:   t0.Add(3 * time.Second),
			wantSeen: []record.Record{rec("c", t0.Add(2*time.Second)), rec("d", t0.Add(3*time.Second))},
		},
		{
			name:     "a record without time counts at the watermark; one without id is remembered by its content",
			before:   &Checkpoint{Watermark: t0},
			page:     Page{Records: []record.Record{rec("timeless", time.Time{}), rec("", t0)}},
			wantWM:   t0,
			wantSeen: []record.Record{rec("timeless", t0), {ID: record.ContentID(map[string]any{"id": ""}), Time: t0}},
		},
		{
			name:     "Through advances an empty window; the window behind the previous watermark stays remembered",
			before:   withSeen(Checkpoint{Watermark: t0}, rec("a", t0)),
			page:     Page{Through: t0.Add(time.Hour)},
			wantWM:   t0.Add(time.Hour),
			wantSeen: []record.Record{rec("a", t0)},
		},
		{
			name:     "the watermark never goes back",
			before:   &Checkpoint{Watermark: t0},
			page:     Page{Records: []record.Record{rec("old", t0.Add(-time.Minute))}, Through: t0.Add(-time.Hour)},
			wantWM:   t0,
			wantSeen: []record.Record{rec("old", t0.Add(-time.Minute))},
		},
		{
			name:     "a modified record is remembered by id and modification time, and progresses by the latter",
			page:     Page{Records: []record.Record{modified("a", t0.Add(-time.Hour), t0.Add(time.Minute))}},
			wantWM:   t0.Add(time.Minute),
			wantSeen: []record.Record{modified("a", t0.Add(-time.Hour), t0.Add(time.Minute))},
		},
		{
			name:     "the last page of an unordered walk moves the watermark by its Through",
			before:   &Checkpoint{Watermark: t0},
			page:     Page{Records: []record.Record{rec("a", t0.Add(time.Hour))}, Unordered: true, Through: t0.Add(2 * time.Hour)},
			wantWM:   t0.Add(2 * time.Hour),
			wantSeen: []record.Record{rec("a", t0.Add(time.Hour))},
		},
		{
			name:    "cursor streams keep the cursor and no seen set",
			before:  &Checkpoint{Cursor: "c1"},
			page:    Page{Records: []record.Record{rec("b", t0)}, Cursor: "c2"},
			wantWM:  t0,
			wantCur: "c2",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			settings := testSettings()
			if tc.maxSeen != 0 {
				settings.MaxSeen = tc.maxSeen
			}
			store := newStore()
			if tc.before != nil {
				store.put(t, "s", tc.before)
			}
			e := New(settings, store, &fakeSink{}, []Stream{pages("s", tc.page)})
			_, err := poll(e, 0)
			require.NoError(t, err)
			got := store.stored(t, "s")
			assert.True(t, tc.wantWM.Equal(got.Watermark), "watermark %v, want %v", got.Watermark, tc.wantWM)
			assert.Equal(t, tc.wantCur, got.Cursor)
			assert.Equal(t, len(tc.wantSeen), got.SeenCount())
			for _, r := range tc.wantSeen {
				assert.True(t, got.Has(r), "%s not remembered", seenKey(r))
			}
		})
	}
}

func TestModifiedRecordsAreReEmittedOncePerVersion(t *testing.T) {
	m1, m2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
	walks := [][]record.Record{
		{modified("a", t0, t0), modified("b", t0, m1)},
		// a was changed: a new version. b again unchanged: a repeat.
		{modified("b", t0, m1), modified("a", t0, m2)},
		{modified("a", t0, m2), modified("b", t0, m1)},
	}
	var walk atomic.Int32
	stream := newStream("s", func(context.Context, Query) (Page, error) {
		return Page{Records: walks[walk.Add(1)-1]}, nil
	})
	sink := &fakeSink{}
	store := newStore()
	e := New(testSettings(), store, sink, []Stream{stream})
	for range walks {
		_, err := poll(e, 0)
		require.NoError(t, err)
	}
	assert.Equal(t, [][]string{{"a", "b"}, {"a"}}, sink.Accepted())
	qs := stream.Queries()
	assert.True(t, m1.Add(-testOverlap).Equal(qs[1].Since), "the watermark follows modification, not occurrence: %v", qs[1].Since)
	assert.True(t, m2.Equal(store.stored(t, "s").Watermark))
}

func TestUnorderedWalkMovesTheWatermarkOnlyWhenComplete(t *testing.T) {
	var failPage2 atomic.Bool
	failPage2.Store(true)
	stream := newStream("s", func(_ context.Context, q Query) (Page, error) {
		if q.PageToken == "" {
			// The newest record comes first: a watermark taken from this page would skip b.
			return Page{Records: []record.Record{rec("late", t0.Add(time.Hour))}, Next: "p2", Unordered: true}, nil
		}
		if failPage2.Load() {
			return Page{}, backoff.Permanent(errors.New("gone"))
		}
		return Page{Records: []record.Record{rec("b", t0)}, Unordered: true}, nil
	})
	sink := &fakeSink{}
	store := newStore()
	e := New(testSettings(), store, sink, []Stream{stream})

	_, err := poll(e, 0)
	require.Error(t, err)
	cp := store.stored(t, "s")
	assert.True(t, cp.Watermark.IsZero(), "a walk cut short leaves the watermark: %v", cp.Watermark)
	assert.True(t, cp.Has(rec("late", t0.Add(time.Hour))))

	failPage2.Store(false)
	_, err = poll(e, 0)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"late"}, {"b"}}, sink.Accepted(), "the re-walk skips what was delivered")
	assert.True(t, t0.Add(time.Hour).Equal(store.stored(t, "s").Watermark))

	qs := stream.Queries()
	assert.True(t, qs[0].Initial)
	assert.True(t, qs[2].Initial, "still the first sync after a walk cut short")
	_, err = poll(e, 0)
	require.NoError(t, err)
	assert.False(t, stream.Queries()[4].Initial)
}

func TestCursorStreamStoresCursorAndNoSeen(t *testing.T) {
	stream := newStream("s", func(_ context.Context, q Query) (Page, error) {
		switch {
		case q.Cursor == "" && q.PageToken == "":
			return Page{Records: []record.Record{rec("a", t0)}, Cursor: "c1", Next: "p2"}, nil
		case q.Cursor == "" && q.PageToken == "p2":
			return Page{Records: []record.Record{rec("b", t0.Add(time.Second))}, Cursor: "c2"}, nil
		case q.Cursor == "c2":
			return Page{Records: []record.Record{rec("c", t0.Add(2*time.Second))}, Cursor: "c3"}, nil
		}
		return Page{}, backoff.Permanent(fmt.Errorf("unexpected query %+v", q))
	})
	sink := &fakeSink{}
	store := newStore()
	e := New(testSettings(), store, sink, []Stream{stream})

	_, err := poll(e, 0)
	require.NoError(t, err)
	cp := store.stored(t, "s")
	assert.Equal(t, "c2", cp.Cursor)
	assert.Zero(t, cp.SeenCount())

	_, err = poll(e, 0)
	require.NoError(t, err)
	assert.Equal(t, "c3", store.stored(t, "s").Cursor)
	assert.Equal(t, [][]string{{"a"}, {"b"}, {"c"}}, sink.Accepted())
}

func TestFirstPollUsesInitialLookbackAndResumeUsesStoredCheckpoint(t *testing.T) {
	newEngine := func(store Store, stream *fakeStream, sink Sink) *Engine {
		return New(testSettings(), store, sink, []Stream{stream})
	}
	page := Page{Records: []record.Record{rec("a", t0), rec("b", t0.Add(time.Second))}}
	store := newStore()

	// First run: nothing stored, the walk starts at now − initial lookback.
	first := pages("s", page)
	sink1 := &fakeSink{}
	e1 := newEngine(store, first, sink1)
	before := time.Now()
	e1.Start()
	eventually(t, func() bool { return store.has("s") }, "first run never saved a checkpoint")
	e1.Shutdown(context.Background())
	require.NotEmpty(t, first.Queries())
	since := first.Queries()[0].Since
	assert.False(t, since.Before(before.Add(-testLookback)), "since %v", since)
	assert.False(t, since.After(time.Now().Add(-testLookback)), "since %v", since)

	// Second run (a restart): same store, new engine. It resumes at watermark − overlap and
	// remembers what the first run delivered.
	second := pages("s", Page{Records: append(page.Records, rec("c", t0.Add(2*time.Second)))})
	sink2 := &fakeSink{notify: make(chan struct{}, 1)}
	e2 := newEngine(store, second, sink2)
	e2.Start()
	select {
	case <-sink2.notify:
	case <-time.After(2 * time.Second):
		t.Fatal("second run delivered nothing")
	}
	e2.Shutdown(context.Background())
	require.NotEmpty(t, second.Queries())
	assert.True(t, t0.Add(time.Second-testOverlap).Equal(second.Queries()[0].Since), "since %v", second.Queries()[0].Since)
	assert.Equal(t, [][]string{{"a", "b"}}, sink1.Accepted())
	assert.Equal(t, [][]string{{"c"}}, sink2.Accepted())
}

func TestBacklogStartsTheNextWalkAtOnce(t *testing.T) {
	var walks atomic.Int32
	stream := newStream("s", func(context.Context, Query) (Page, error) {
		n := walks.Add(1)
		return Page{Records: []record.Record{rec(fmt.Sprint(n), t0.Add(time.Duration(n)*time.Second))}, Backlog: n == 1}, nil
	})
	settings := testSettings() // PollInterval is an hour: only Backlog explains a second walk
	e := New(settings, newStore(), &fakeSink{}, []Stream{stream})
	e.Start()
	defer e.Shutdown(context.Background())

	eventually(t, func() bool { return walks.Load() == 2 }, "no second walk after a backlog")
	time.Sleep(50 * time.Millisecond)
	assert.EqualValues(t, 2, walks.Load(), "without backlog the stream waits for the poll interval")
}

func TestFailedPollWaitsForThePollInterval(t *testing.T) {
	var walks atomic.Int32
	stream := newStream("s", func(context.Context, Query) (Page, error) {
		walks.Add(1)
		return Page{}, backoff.Permanent(errors.New("forbidden"))
	})
	settings := testSettings()
	settings.PollInterval = 30 * time.Millisecond
	e := New(settings, newStore(), &fakeSink{}, []Stream{stream})
	e.Start()
	eventually(t, func() bool { return walks.Load() >= 2 }, "the stream is polled again after a failure")
	e.Shutdown(context.Background())
}

func TestShutdownReturnsPromptly(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fetch func(ctx context.Context) (Page, error)
		retry func(*Settings)
	}{
		{
			name: "fetch blocks on its context",
			fetch: func(ctx context.Context) (Page, error) {
				<-ctx.Done()
				return Page{}, ctx.Err()
			},
		},
		{
			name: "retry waits out a long Retry-After",
			fetch: func(context.Context) (Page, error) {
				return Page{}, &apiclient.HTTPError{Status: http.StatusTooManyRequests, RetryAfter: time.Minute}
			},
			retry: func(s *Settings) { s.Retry.MaxElapsedTime = time.Hour },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started := make(chan struct{}, 1)
			stream := newStream("s", func(ctx context.Context, _ Query) (Page, error) {
				select {
				case started <- struct{}{}:
				default:
				}
				return tc.fetch(ctx)
			})
			settings := testSettings()
			if tc.retry != nil {
				tc.retry(&settings)
			}
			store := newStore()
			e := New(settings, store, &fakeSink{}, []Stream{stream})
			e.Start()
			select {
			case <-started:
			case <-time.After(2 * time.Second):
				t.Fatal("fetch never started")
			}
			time.Sleep(10 * time.Millisecond) // let it block

			done := make(chan struct{})
			go func() { e.Shutdown(context.Background()); close(done) }()
			select {
			case <-done:
			case <-time.After(time.Second):
				t.Fatal("Shutdown did not return")
			}
			assert.False(t, store.has("s"), "an abandoned page does not advance the checkpoint")
		})
	}
}

// A fetch that does not heed cancellation (a stuck dependency) must not hold the collector's
// shutdown past its deadline.
func TestShutdownHonoursItsDeadline(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	var once atomic.Bool
	stream := newStream("s", func(context.Context, Query) (Page, error) {
		if once.CompareAndSwap(false, true) {
			close(started)
		}
		<-release // ignores its context
		return Page{}, nil
	})
	e := New(testSettings(), newStore(), &fakeSink{}, []Stream{stream})
	e.Start()
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	returned := make(chan error, 1)
	go func() { returned <- e.Shutdown(ctx) }()
	select {
	case err := <-returned:
		require.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown waited past its deadline")
	}
	close(release)
	require.NoError(t, e.Shutdown(context.Background()), "once the fetch returns, every loop ends")
}

func TestPolledIsToldEveryOutcome(t *testing.T) {
	var calls atomic.Int32
	stream := newStream("s", func(context.Context, Query) (Page, error) {
		if calls.Add(1) == 1 {
			return Page{}, backoff.Permanent(errors.New("refused"))
		}
		return Page{}, nil
	})
	outcomes := make(chan error, 10)
	settings := testSettings()
	settings.PollInterval = 10 * time.Millisecond
	settings.Polled = func(s Stream, err error) {
		assert.Equal(t, "s", s.Name())
		select {
		case outcomes <- err:
		default:
		}
	}
	e := New(settings, newStore(), &fakeSink{}, []Stream{stream})
	e.Start()
	defer e.Shutdown(context.Background())
	require.ErrorContains(t, <-outcomes, "refused")
	require.NoError(t, <-outcomes, "the next poll succeeds")
}

func TestShutdownWithoutStart(t *testing.T) {
	e := New(testSettings(), newStore(), &fakeSink{}, []Stream{pages("s", Page{})})
	e.Shutdown(context.Background())
}

func TestStatusReportsWatermarks(t *testing.T) {
	store := newStore()
	store.put(t, "resumed", &Checkpoint{Watermark: t0.Add(-time.Hour)})
	streams := []Stream{
		pages("fresh", Page{Records: []record.Record{rec("a", t0)}}),
		pages("resumed", Page{}),
		pages("idle", Page{}),
	}
	e := New(testSettings(), store, &fakeSink{}, streams)

	for _, st := range e.Status() {
		assert.True(t, st.Watermark.IsZero(), "%s before its first poll", st.Stream.Name())
	}
	for i := range 3 {
		_, err := poll(e, i)
		require.NoError(t, err)
	}
	status := e.Status()
	require.Len(t, status, 3)
	for i, want := range []time.Time{t0, t0.Add(-time.Hour), {}} {
		assert.Same(t, streams[i], status[i].Stream)
		assert.True(t, want.Equal(status[i].Watermark), "%s: %v", streams[i].Name(), status[i].Watermark)
	}
}

func TestMalformedItemsAreCountedAsDropped(t *testing.T) {
	stream := pages("s",
		Page{Records: []record.Record{rec("a", t0)}, Malformed: 3, Next: "p2"},
		Page{Malformed: 2},
	)
	sink := &fakeSink{}
	store := newStore()
	e := New(testSettings(), store, sink, []Stream{stream})

	_, err := poll(e, 0)
	require.NoError(t, err)
	assert.Equal(t, 5, sink.droppedCount(DropMalformed))
	assert.Zero(t, sink.droppedCount(DropRejected))
	assert.Equal(t, [][]string{{"a"}}, sink.Accepted(), "an all-malformed page delivers nothing")
	assert.True(t, t0.Equal(store.stored(t, "s").Watermark))
}

func TestMalformedItemsOfAPageReadAgainAreCountedOnce(t *testing.T) {
	settings := testSettings()
	settings.Retry.MaxElapsedTime = 20 * time.Millisecond
	var refuse atomic.Bool
	refuse.Store(true)
	sink := &fakeSink{refuse: func([]record.Record) error {
		if refuse.Load() {
			return errors.New("queue is full")
		}
		return nil
	}}
	stream := pages("s", Page{Records: []record.Record{rec("a", t0)}, Malformed: 3})
	e := New(settings, newStore(), sink, []Stream{stream})

	_, err := poll(e, 0)
	require.Error(t, err, "the page was refused")
	assert.Zero(t, sink.droppedCount(DropMalformed), "counted before the page was behind the checkpoint")
	refuse.Store(false)
	_, err = poll(e, 0)
	require.NoError(t, err)
	assert.Equal(t, 3, sink.droppedCount(DropMalformed), "the page read twice counts its malformed items once")
}

func TestCheckpointSaveFailureRedeliversRatherThanLoses(t *testing.T) {
	stream := pages("s", Page{Records: []record.Record{rec("a", t0)}})
	sink := &fakeSink{}
	store := newStore()
	store.setSaveErr(errors.New("disk full"))
	e := New(testSettings(), store, sink, []Stream{stream})

	_, err := poll(e, 0)
	require.ErrorContains(t, err, "disk full")
	assert.True(t, e.Status()[0].Watermark.IsZero(), "the checkpoint in memory is not advanced either")

	store.setSaveErr(nil)
	_, err = poll(e, 0)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"a"}, {"a"}}, sink.Accepted())
	assert.True(t, t0.Equal(store.stored(t, "s").Watermark))
}

func TestCheckpointLoadFailure(t *testing.T) {
	stream := pages("s", Page{Records: []record.Record{rec("a", t0)}})
	store := newStore()
	store.loadErr = errors.New("storage offline")
	e := New(testSettings(), store, &fakeSink{}, []Stream{stream})

	_, err := poll(e, 0)
	require.ErrorContains(t, err, "storage offline")
	assert.Empty(t, stream.Queries(), "no walk without a checkpoint")
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter time.Duration
		maxElapsed time.Duration
		wantCalls  int32
		minGap     time.Duration
	}{
		{"waits Retry-After instead of the 1 ms backoff", 80 * time.Millisecond, 2 * time.Second, 2, 80 * time.Millisecond},
		{"gives up when Retry-After exceeds the retry budget", time.Minute, 2 * time.Second, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			var first time.Time
			var gap time.Duration
			stream := newStream("s", func(context.Context, Query) (Page, error) {
				if calls.Add(1) == 1 {
					first = time.Now()
					return Page{}, &apiclient.HTTPError{Status: http.StatusTooManyRequests, RetryAfter: tc.retryAfter}
				}
				gap = time.Since(first)
				return Page{Records: []record.Record{rec("a", t0)}}, nil
			})
			settings := testSettings()
			settings.Retry.MaxElapsedTime = tc.maxElapsed
			e := New(settings, newStore(), &fakeSink{}, []Stream{stream})

			start := time.Now()
			_, err := poll(e, 0)
			assert.Equal(t, tc.wantCalls, calls.Load())
			if tc.wantCalls == 1 {
				var he *apiclient.HTTPError
				require.ErrorAs(t, err, &he)
				assert.Less(t, time.Since(start), time.Second, "did not wait a Retry-After it could not afford")
				return
			}
			require.NoError(t, err)
			assert.GreaterOrEqual(t, gap, tc.minGap)
		})
	}
}

func TestRetryDisabledMakesOneAttempt(t *testing.T) {
	var calls atomic.Int32
	stream := newStream("s", func(context.Context, Query) (Page, error) {
		calls.Add(1)
		return Page{}, &apiclient.HTTPError{Status: http.StatusServiceUnavailable}
	})
	settings := testSettings()
	settings.Retry.Enabled = false
	e := New(settings, newStore(), &fakeSink{}, []Stream{stream})

	_, err := poll(e, 0)
	require.Error(t, err)
	assert.EqualValues(t, 1, calls.Load())
}

func TestMemoryStore(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryStore()
	data, err := m.Load(ctx, "s")
	require.NoError(t, err)
	assert.Nil(t, data)

	require.NoError(t, m.Save(ctx, "s", []byte("cp")))
	data, err = m.Load(ctx, "s")
	require.NoError(t, err)
	assert.Equal(t, "cp", string(data))
	data, err = m.Load(ctx, "other")
	require.NoError(t, err)
	assert.Nil(t, data)
}

func TestNextPageIsFetchedWhileThePageIsDelivered(t *testing.T) {
	p1 := Page{Records: []record.Record{rec("a", t0)}, Next: "p2"}
	p2 := Page{Records: []record.Record{rec("b", t0.Add(time.Second))}}
	secondFetched := make(chan struct{})
	stream := newStream("s", func(_ context.Context, q Query) (Page, error) {
		if q.PageToken == "" {
			return p1, nil
		}
		close(secondFetched)
		return p2, nil
	})
	sink := &fakeSink{refuse: func(records []record.Record) error {
		if records[0].ID == "a" {
			// Delivering the first page waits for the second to be requested.
			select {
			case <-secondFetched:
			case <-time.After(2 * time.Second):
				return consumererror.NewPermanent(errors.New("the next page was not fetched during delivery"))
			}
		}
		return nil
	}}
	store := newStore()
	e := New(testSettings(), store, sink, []Stream{stream})

	_, err := poll(e, 0)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"a"}, {"b"}}, sink.Accepted(), "pages are delivered in order")
	assert.Zero(t, sink.droppedCount(DropRejected))
	assert.Equal(t, []string{"", "p2"}, pageTokens(stream.Queries()), "one fetch per page, in order")
	assert.True(t, t0.Add(time.Second).Equal(store.stored(t, "s").Watermark))
}

func TestFailedDeliveryAbandonsThePageFetchedAhead(t *testing.T) {
	settings := testSettings()
	settings.Retry.MaxElapsedTime = 20 * time.Millisecond
	cancelled := make(chan struct{})
	stream := newStream("s", func(ctx context.Context, q Query) (Page, error) {
		if q.PageToken == "" {
			return Page{Records: []record.Record{rec("a", t0)}, Next: "p2"}, nil
		}
		<-ctx.Done() // the page after a refused one is never needed
		close(cancelled)
		return Page{}, ctx.Err()
	})
	sink := &fakeSink{refuse: func([]record.Record) error { return errors.New("queue is full") }}
	store := newStore()
	e := New(settings, store, sink, []Stream{stream})

	_, err := poll(e, 0)
	require.ErrorContains(t, err, "queue is full")
	select {
	case <-cancelled: // and poll returned only after the fetch ahead had ended
	default:
		t.Fatal("poll returned while the fetch ahead was still running")
	}
	assert.False(t, store.has("s"), "no checkpoint moved")
	assert.Empty(t, sink.Accepted())
}

func pageTokens(qs []Query) []string {
	out := make([]string, 0, len(qs))
	for _, q := range qs {
		out = append(out, q.PageToken)
	}
	return out
}
