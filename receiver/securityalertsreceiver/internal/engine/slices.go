package engine

import (
	"context"
	"math"
	"sync"
	"time"

	"go.uber.org/zap"
)

// A backlog drains at one round trip a page when a walk reads one page at a time: 10 pages a
// second at 100 ms of latency, a tenth of what USM Anywhere allows. So a RangeStream whose first
// page says much more follows walks the span still to read as time slices, several at once,
// each a keyset walk of its own, within the stream's rate limit.
//
// The slice rule: as many walks at once as keep the rate limit busy, by Little's law: workers =
// ceil(rate × latency × 1.25), the latency being the first page's, between 2 and maxWorkers, and
// no more than hold heldRecords records: each walk holds about two pages (the one delivered and
// the one fetched ahead), so a drain's memory is bounded whatever the page size and whatever made
// the first page slow (a server's work on a large index counts as latency too). At page 100 the
// bound allows 40 walks; at page 1000, 4, where decoding, not the round trip, is the limit. The
// span is cut into slices expected to hold slicePages pages each (from the API's count and
// assuming records spread evenly; a dense slice is just walked longer), handed out oldest first.
//
// Invariant: the checkpoint's watermark advances only over the contiguous prefix of slices read
// (to the newest record read in it, or in the first slice not done); records of slices further on are remembered
// in the seen-set, so a crash or a refused delivery re-reads them without emitting them again. A
// worker starts a slice at most aheadFactor × workers slices past that prefix, which bounds what
// the seen-set holds beyond the watermark.
const (
	maxWorkers   = 64
	slicePages   = 4
	aheadFactor  = 2
	latencyBound = 1.25
	// heldRecords is ~80 MiB of decoded USM alarms (~10 KB each, measured by make bench).
	heldRecords = 8000
)

// Paced is a stream whose requests wait on a rate limit.
type Paced interface {
	RequestsPerSecond() float64
}

// drainPlan is how a backlog is drained: the span [from, to] in slices, by workers walks at once.
type drainPlan struct {
	from, to time.Time
	slices   int
	workers  int
}

// planDrain decides, from the first page of a walk and how long it took, whether the rest is a
// backlog worth walking in slices. Nil: walk on one page at a time.
func (r *runner) planDrain(s RangeStream, page RangePage, took time.Duration, progress time.Time) *drainPlan {
	paced, ok := s.(Paced)
	if !ok || page.Total < 0 || progress.IsZero() {
		return nil
	}
	workers := int(math.Ceil(paced.RequestsPerSecond() * took.Seconds() * latencyBound))
	size := int64(s.PageSize())
	workers = min(max(workers, 2), maxWorkers, max(2, heldRecords/int(2*size)))
	remaining := page.Total - int64(len(page.Records)+len(page.Withheld)+len(page.OutOfScope))
	if remaining <= 2*size || remaining <= int64(workers)*size {
		return nil // a few pages: one walk reads them as fast
	}
	to := time.Now().Truncate(time.Millisecond)
	if !to.After(progress) {
		return nil
	}
	slices := int(min((remaining+slicePages*size-1)/(slicePages*size), int64(to.Sub(progress)/time.Millisecond)))
	return &drainPlan{from: progress, to: to, slices: max(slices, workers), workers: min(workers, max(slices, 1))}
}

// slice is one span of a drain, walked by one worker.
type slice struct {
	from, to time.Time // inclusive
	read     time.Time // everything up to here is read (zero: nothing yet)
	done     bool
}

// drain walks a plan's slices concurrently. Its lock guards the checkpoint and the runner's
// commits while it runs.
type drain struct {
	r      *runner
	s      RangeStream
	cp     *Checkpoint
	ahead  int
	mu     sync.Mutex
	turn   *sync.Cond // signalled when the prefix moves or the drain stops
	slices []*slice
	next   int
	prefix int // slices before it are done
	failed error
}

func (r *runner) drain(ctx context.Context, s RangeStream, cp *Checkpoint, plan drainPlan) error {
	r.log.Info("Draining a backlog in slices walked at once", zap.Time("from", plan.from), zap.Time("to", plan.to),
		zap.Int("slices", plan.slices), zap.Int("walks", plan.workers))
	d := &drain{r: r, s: s, cp: cp, ahead: aheadFactor * plan.workers}
	d.turn = sync.NewCond(&d.mu)
	// Each slice starts a millisecond after the previous one's end; a slice that would end
	// before it starts (more slices than the span has milliseconds) is left out.
	span := plan.to.Sub(plan.from)
	from := plan.from.Truncate(time.Millisecond)
	for i := range plan.slices {
		to := plan.from.Add(span * time.Duration(i+1) / time.Duration(plan.slices)).Truncate(time.Millisecond)
		if i == plan.slices-1 {
			to = plan.to
		}
		if !to.Before(from) {
			d.slices = append(d.slices, &slice{from: from, to: to})
			from = to.Add(time.Millisecond)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range plan.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sl := d.take(); sl != nil; sl = d.take() {
				if err := d.walk(ctx, sl); err != nil {
					d.fail(err)
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	return d.failed
}

// take hands out the next slice, once it is within reach of the prefix; nil when none is left
// or the drain failed.
func (d *drain) take() *slice {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.failed == nil && d.next < len(d.slices) && d.next >= d.prefix+d.ahead {
		d.turn.Wait()
	}
	if d.failed != nil || d.next >= len(d.slices) {
		return nil
	}
	sl := d.slices[d.next]
	d.next++
	return sl
}

func (d *drain) fail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failed == nil {
		d.failed = err
	}
	d.turn.Broadcast()
}

// walk reads one slice by keyset, each page delivered and then committed with the prefix.
func (d *drain) walk(ctx context.Context, sl *slice) error {
	w := d.r.rangeWalk(d.s, d.cp, func(t time.Time) { d.moved(sl, t) })
	w.mu = &d.mu
	if err := w.run(ctx, Range{From: sl.from, To: sl.to}); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	sl.done = true
	d.moved(sl, time.Time{})
	return d.r.commit(ctx, d.cp)
}

// moved records a slice's progress and moves the watermark over the prefix of slices read, to
// the newest record read there (not to the prefix's end: a record arriving late with a time in
// between is still met by the walk of new data after the drain); d.mu is held.
func (d *drain) moved(sl *slice, t time.Time) {
	sl.read = maxTime(sl.read, t)
	for d.prefix < len(d.slices) && d.slices[d.prefix].done {
		d.cp.Watermark = maxTime(d.cp.Watermark, d.slices[d.prefix].read)
		d.prefix++
	}
	if d.prefix < len(d.slices) {
		d.cp.Watermark = maxTime(d.cp.Watermark, d.slices[d.prefix].read)
	}
	d.turn.Broadcast()
}
