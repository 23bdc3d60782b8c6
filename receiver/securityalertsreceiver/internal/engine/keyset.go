package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// ErrPastResultWindow is what a RangeStream answers for a page its API will not serve because it
// lies too deep in a result set (Elasticsearch's result window). A keyset walk goes that deep
// only within a run of records sharing one millisecond; the rest of the run is skipped.
var ErrPastResultWindow = errors.New("page past the API's result window")

// pollRange walks a RangeStream from its watermark to the end of its data, then reads again the
// spans it asked for, then, when its allowance says so, looks at the overlap for late arrivals.
func (r *runner) pollRange(ctx context.Context, s RangeStream, cp *Checkpoint) error {
	from := cp.Watermark
	if from.IsZero() {
		from = time.Now().Add(-r.engine.settings.InitialLookback)
	}
	walk := r.rangeWalk(s, cp, func(t time.Time) { cp.Watermark = maxTime(cp.Watermark, t) })
	walk.split = true
	err := walk.run(ctx, Range{From: from})
	r.overlap.plainWalk(int(walk.requests.Load()))
	if err != nil {
		return err
	}
	if err := r.backfill(ctx, s, cp); err != nil {
		return err
	}
	overlap := r.engine.settings.Overlap
	if overlap > 0 && !cp.Watermark.IsZero() && r.overlap.due(cp.Watermark.Sub(cp.lastLook()), overlap) {
		return r.verify(ctx, s, cp)
	}
	return nil
}

// rangeWalk is one keyset walk of a RangeStream.
type rangeWalk struct {
	r  *runner
	s  RangeStream
	cp *Checkpoint
	// moved is told, once a page is delivered and before it is committed, the newest time up to
	// which the walk has read everything (nil: the walk moves no position of the checkpoint).
	moved func(t time.Time)
	// present, when set, gathers the seen hash of every record the walk reads.
	present map[uint64]bool
	// split lets the walk drain a backlog its first page announces in slices walked at once.
	split bool
	// mu guards the checkpoint when several walks share it (the slices of a drain).
	mu sync.Locker
	// requests counts the walk's requests.
	requests atomic.Int64
}

func (r *runner) rangeWalk(s RangeStream, cp *Checkpoint, moved func(time.Time)) *rangeWalk {
	return &rangeWalk{r: r, s: s, cp: cp, moved: moved, mu: nopLocker{}}
}

// nopLocker guards what one walk alone touches.
type nopLocker struct{}

func (nopLocker) Lock()   {}
func (nopLocker) Unlock() {}

// run walks from q until the API has no more records in its range. Invariant: the checkpoint
// moves only after the sink accepted the page (or refused it permanently).
func (w *rangeWalk) run(ctx context.Context, q Range) error {
	var ahead *pending[RangePage]
	defer func() { ahead.abandon() }()
	started := time.Now()
	page, err := w.fetch(ctx, q)
	took := time.Since(started)
	for first := true; ; first = false {
		if errors.Is(err, ErrPastResultWindow) {
			// More records share q.From than the API pages through: skip the rest of them.
			skipped := Span{From: q.From, To: q.From}
			w.r.counted(0, &skipped, SkipResultWindow)
			q = Range{From: q.From.Add(time.Millisecond), To: q.To, Scope: q.Scope}
			page, err = w.fetch(ctx, q)
			continue
		}
		if err != nil {
			return err
		}
		progress := latestUpTo(page, w.r.limit())
		next, more := nextRange(q, page, progress)
		var plan *drainPlan
		if first && more && w.split {
			plan = w.r.planDrain(w.s, page, took, progress)
		}
		if more && plan == nil {
			// The next page is fetched while this one is delivered: its query depends only on
			// what this page holds, not on its delivery.
			ahead = fetchAhead(ctx, func(ctx context.Context) (RangePage, error) { return w.fetch(ctx, next) })
		}
		if err := w.deliver(ctx, page); err != nil {
			return err
		}
		if err := w.advance(ctx, progress, page.Malformed); err != nil {
			return err
		}
		if plan != nil {
			if err := w.r.drain(ctx, w.s, w.cp, *plan); err != nil {
				return err
			}
			// The backlog up to the plan's end is read: on from the watermark, one page at a time.
			q = Range{From: w.cp.Watermark, Scope: q.Scope}
			page, err = w.fetch(ctx, q)
			continue
		}
		if !more {
			return nil
		}
		q = next
		page, err = ahead.wait()
		ahead = nil
	}
}

func (w *rangeWalk) fetch(ctx context.Context, q Range) (RangePage, error) {
	w.requests.Add(1)
	return retry(ctx, w.r.engine.settings.Retry, w.r.log, "fetch", func() (RangePage, error) { return w.s.FetchRange(ctx, q) })
}

// deliver emits the page's records the checkpoint does not remember, then remembers them and
// those withheld, so that the overlap's counts, which include them, match. The delivery itself
// runs outside the lock, so that the walks of a drain deliver at once.
func (w *rangeWalk) deliver(ctx context.Context, page RangePage) error {
	fillIDs(page.Records)
	fillIDs(page.Withheld)
	w.mu.Lock()
	fresh := w.cp.unseen(page.Records)
	w.mu.Unlock()
	if err := w.r.deliverFresh(ctx, fresh); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.r.noteFuture(fresh)
	w.cp.remember(page.Records)
	w.cp.remember(page.Withheld)
	if w.present != nil {
		for _, list := range [][]record.Record{page.Records, page.Withheld} {
			for _, rec := range list {
				w.present[seenHash(seenKey(rec))] = true
			}
		}
	}
	return nil
}

// advance moves the walk's position once a page is delivered, and commits.
func (w *rangeWalk) advance(ctx context.Context, progress time.Time, malformed int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.moved != nil && !progress.IsZero() {
		w.moved(progress)
	}
	if err := w.r.commit(ctx, w.cp); err != nil {
		return err
	}
	w.r.counted(malformed, nil, "")
	return nil
}

// latestUpTo is the newest occurrence on the page not after limit: how far the walk has read.
func latestUpTo(page RangePage, limit time.Time) time.Time {
	return maxTime(newestOccurrence(page.Records, limit), newestOccurrence(page.Withheld, limit), newestOccurrence(page.OutOfScope, limit))
}

// NextRange is the query that follows q and its page, and whether there is one: how the engine
// walks a RangeStream, for tests that walk one without it. limit is now + the clock skew allowed.
func NextRange(q Range, page RangePage, limit time.Time) (Range, bool) {
	return nextRange(q, page, latestUpTo(page, limit))
}

// nextRange is the query after q: a fresh first page from the newest time read when the page got
// further than q.From, else (a run of records sharing q.From, or records dated beyond the limit)
// q's next page.
func nextRange(q Range, page RangePage, progress time.Time) (Range, bool) {
	if !page.More || len(page.Records)+len(page.Withheld)+len(page.OutOfScope)+page.Malformed == 0 {
		return q, false // an empty page that says more follows would be asked again for ever
	}
	if progress.After(q.From) {
		q.From, q.Page = progress, 0
	} else {
		q.Page++
	}
	return q, true
}

// backfill reads again, one after the other, the spans the stream asked for, each from where it
// got to: a crash or a refused delivery resumes it, as the spans are part of the checkpoint.
func (r *runner) backfill(ctx context.Context, s RangeStream, cp *Checkpoint) error {
	if bf, ok := s.(Backfiller); ok {
		r.pendingBackfills = append(r.pendingBackfills, bf.Backfills()...)
	}
	if len(r.pendingBackfills) > 0 {
		floor := time.Now().Add(-r.engine.settings.InitialLookback)
		for _, b := range r.pendingBackfills {
			if b.From.Before(floor) {
				b.From = floor
			}
			if b.To.IsZero() || b.To.After(cp.Watermark) {
				b.To = cp.Watermark // what lies after it the walks of new data read
			}
			if b.To.After(b.From) && len(cp.Backfills) < maxBackfills { // more spans than that are rather a full re-read
				r.log.Info("Reading a span again for records that arrived late", zap.String("scope", b.Scope), zap.Time("from", b.From), zap.Time("to", b.To))
				cp.Backfills = append(cp.Backfills, b)
			}
		}
		if err := r.commit(ctx, cp); err != nil {
			return err
		}
		r.pendingBackfills = nil
	}
	for len(cp.Backfills) > 0 {
		b := &cp.Backfills[0]
		walk := r.rangeWalk(s, cp, func(t time.Time) { b.From = maxTime(b.From, t) })
		if err := walk.run(ctx, Range{From: b.From, To: b.To, Scope: b.Scope}); err != nil {
			return err
		}
		r.log.Info("Span read again", zap.String("scope", b.Scope), zap.Time("to", b.To), zap.Int64("requests", walk.requests.Load()))
		cp.Backfills = cp.Backfills[1:]
		if err := r.commit(ctx, cp); err != nil {
			return err
		}
	}
	return nil
}
