package engine

import (
	"context"
	"time"
)

// readDirectly is how many pages of the API a span may hold for its check to read it rather
// than count its halves: below that, halving costs more requests than it saves.
const readDirectly = 4

// verify looks for late arrivals of a RangeStream in the overlap behind the watermark, and
// behind every watermark since the previous look: one count of the span when the API holds what
// the checkpoint remembers, a read of the span (or of its halves, counted in turn) where it
// holds more. Records a complete read no longer returns are marked gone, so that the next
// count matches.
//
// A count can hide a late arrival behind a record that left the stream's filtered set in the
// same span (an alarm closed under status=open): the totals then match. docs/reliability.md says
// so; streams whose records leave their set only through a filter on a field that changes
// (status, suppressed) are exposed to it.
func (r *runner) verify(ctx context.Context, s RangeStream, cp *Checkpoint) error {
	to := cp.Watermark
	from := cp.lastLook().Add(-r.engine.settings.Overlap).Truncate(time.Millisecond)
	if err := r.check(ctx, s, cp, from, to); err != nil {
		return err
	}
	cp.Verified = to
	return r.commit(ctx, cp)
}

// check makes sure every record the API holds in [from, to] was emitted.
func (r *runner) check(ctx context.Context, s RangeStream, cp *Checkpoint, from, to time.Time) error {
	walk := r.rangeWalk(s, cp, nil)
	count, err := walk.fetch(ctx, Range{From: from, To: to, CountOnly: true})
	r.overlap.spent(int(walk.requests.Load()))
	if err != nil {
		return err
	}
	// Only an exact count is compared with what the checkpoint remembers (and halving weighs the
	// difference only then): a capped or unknown one skips the scan of the seen-set.
	var present int64
	if count.Total >= 0 && !count.Capped {
		if present = cp.seenSet().countPresent(from, to); count.Total == present {
			return nil
		}
	}
	if count.Total >= 0 && halving(count, present, s.PageSize()) && to.Sub(from) >= 2*time.Millisecond {
		mid := from.Add(to.Sub(from) / 2).Truncate(time.Millisecond)
		if err := r.check(ctx, s, cp, from, mid); err != nil {
			return err
		}
		return r.check(ctx, s, cp, mid.Add(time.Millisecond), to)
	}
	return r.reread(ctx, s, cp, from, to)
}

// halving says whether a span whose count differs from the present records remembered is
// better halved than read: when it is capped (the count says nothing of where), or large and
// differing by few records. Where the difference is one record in every 2×readDirectly pages or
// more (records late in every page), most halves would differ too, and halving would read the
// whole span plus the counts of every level.
func halving(count RangePage, present int64, pageSize int) bool {
	if count.Capped {
		return true
	}
	pages := (count.Total + int64(pageSize) - 1) / int64(pageSize)
	differing := count.Total - present
	if differing < 0 {
		differing = -differing
	}
	return pages > readDirectly && differing*2*readDirectly < pages
}

// reread reads [from, to] whole, emitting what was missed, and marks gone what it no longer holds.
func (r *runner) reread(ctx context.Context, s RangeStream, cp *Checkpoint, from, to time.Time) error {
	walk := r.rangeWalk(s, cp, nil)
	walk.present = map[uint64]bool{}
	err := walk.run(ctx, Range{From: from, To: to})
	r.overlap.spent(int(walk.requests.Load()))
	if err != nil {
		return err
	}
	cp.seenSet().markGone(from, to, walk.present)
	return r.commit(ctx, cp)
}
