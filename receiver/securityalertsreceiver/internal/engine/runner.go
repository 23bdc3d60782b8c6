package engine

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// futureWarnEvery is how often a stream warns of records dated beyond now + MaxClockSkew.
const futureWarnEvery = time.Hour

// runner polls one stream. Invariants: only the runner's own goroutine (and the walks it starts,
// which hold walkMu to touch the checkpoint) changes the checkpoint, and it changes it only after
// the sink accepted the records it is about; it stores it before reporting progress.
type runner struct {
	engine *Engine
	stream Stream
	log    *zap.Logger

	// cp is the checkpoint as last stored, nil until loaded (or after a failed save: the next
	// poll reads the stored one again). saved is its encoding, so that an unchanged
	// checkpoint is never written again.
	cp    *Checkpoint
	saved []byte
	// overlap is the stream's allowance for looking again at the overlap window (see overlap.go).
	overlap overlapBudget
	// futureWarned is when the stream last warned of a future-dated record.
	futureWarned time.Time
	// pendingBackfills are spans the stream asked for, not yet stored in the checkpoint.
	pendingBackfills []Backfill

	mu        sync.Mutex // guards what Status reads
	held      bool       // polled by this process now (always, without a Gate)
	watermark time.Time
}

func newRunner(e *Engine, s Stream) *runner {
	return &runner{
		engine:  e,
		stream:  s,
		log:     e.settings.Logger.With(zap.String("stream", s.Name())),
		held:    e.settings.Gate == nil,
		overlap: newOverlapBudget(),
	}
}

func (r *runner) loop(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		backlog, err := r.poll(ctx)
		if ctx.Err() != nil {
			return
		}
		if polled := r.engine.settings.Polled; polled != nil {
			polled(r.stream, err)
		}
		wait := r.engine.settings.PollInterval
		switch {
		case err != nil:
			r.log.Warn("Poll failed; the checkpoint was kept and the next poll resumes from it", zap.Error(err))
		case backlog:
			wait = 0
		}
		timer.Reset(wait)
	}
}

// poll reads the stream from its checkpoint to the end of the available data.
func (r *runner) poll(ctx context.Context) (backlog bool, err error) {
	cp, err := r.checkpoint(ctx)
	if err != nil {
		return false, err
	}
	if ps, ok := r.stream.(PollStarter); ok {
		if err := ps.PollStarting(ctx); err != nil {
			return false, err
		}
	}
	switch s := r.stream.(type) {
	case RangeStream:
		return false, r.pollRange(ctx, s, cp)
	default:
		return r.pollLink(ctx, s.(LinkStream), cp)
	}
}

func (r *runner) checkpoint(ctx context.Context) (*Checkpoint, error) {
	if r.cp != nil {
		return r.cp, nil
	}
	data, err := r.engine.store.Load(ctx, r.stream.Name())
	if err != nil {
		return nil, fmt.Errorf("loading checkpoint: %w", err)
	}
	cp := &Checkpoint{}
	if data != nil {
		if cp, err = DecodeCheckpoint(data); err != nil {
			return nil, fmt.Errorf("stored checkpoint of %s is corrupt: %w", r.stream.Name(), err)
		}
		r.log.Info("Resuming from stored checkpoint", zap.Time("watermark", cp.Watermark), zap.String("cursor", cp.Cursor),
			zap.Int("seen", cp.SeenCount()))
	}
	if k, ok := r.stream.(Keeper); ok && cp.Kept != nil {
		k.Restore(cp.Kept)
	}
	r.cp, r.saved = cp, data
	r.setWatermark(cp.Watermark)
	return cp, nil
}

// commit stores cp, which the walk just advanced past records the sink accepted, unless it is
// what is stored already. A failed save leaves the stored checkpoint behind the records already
// delivered: they may be delivered again, never lost; the next poll starts from the stored one.
func (r *runner) commit(ctx context.Context, cp *Checkpoint) error {
	s := r.engine.settings
	cp.retain(s.Overlap, s.MaxSeen)
	if k, ok := r.stream.(Keeper); ok {
		cp.Kept = keptAtMost(k.Kept(), maxKept)
	}
	if err := ctx.Err(); err != nil {
		// Stopped (or no longer the owner) while the page was delivered: the checkpoint stays
		// for whoever polls next, who reads the page again. A duplicate, never a loss, and never
		// two writers of one checkpoint.
		return err
	}
	data := cp.Encode()
	if bytes.Equal(data, r.saved) {
		return nil
	}
	if err := r.engine.store.Save(ctx, r.stream.Name(), data); err != nil {
		r.cp, r.saved = nil, nil
		return fmt.Errorf("saving checkpoint: %w", err)
	}
	r.saved = data
	r.setWatermark(cp.Watermark)
	return nil
}

func (r *runner) setWatermark(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.watermark = t
}

// deliver hands the records of a page the checkpoint does not remember to the sink, and on
// acceptance, when the walk re-reads (remember), remembers them all. Records without an id get
// one from their content, so that re-reads recognise them.
func (r *runner) deliver(ctx context.Context, cp *Checkpoint, records []record.Record, remember bool) error {
	fillIDs(records)
	fresh := cp.unseen(records)
	if err := r.deliverFresh(ctx, fresh); err != nil {
		return err
	}
	r.noteFuture(fresh)
	if remember {
		cp.remember(records)
	}
	return nil
}

// fillIDs gives every record without an id one made of its content.
func fillIDs(records []record.Record) {
	for i := range records {
		if records[i].ID == "" {
			records[i].ID = record.ContentID(records[i].Body)
		}
	}
}

func (r *runner) deliverFresh(ctx context.Context, records []record.Record) error {
	if len(records) == 0 {
		return nil
	}
	// Each attempt converts the records again: a consumer may have mutated the batch it refused.
	_, err := retry(ctx, r.engine.settings.Retry, r.log, "deliver", func() (struct{}, error) {
		err := r.engine.sink.Deliver(ctx, r.stream, records)
		if consumererror.IsPermanent(err) {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, err
	})
	if consumererror.IsPermanent(err) {
		r.log.Error("Pipeline refused records permanently; they are dropped", zap.Int("records", len(records)), zap.Error(err))
		r.engine.sink.Dropped(r.stream, DropRejected, len(records))
		return nil
	}
	if err != nil {
		return fmt.Errorf("pipeline refused page, checkpoint kept: %w", err)
	}
	return nil
}

// limit is the latest time a record may move a watermark to: now + MaxClockSkew.
func (r *runner) limit() time.Time { return time.Now().Add(r.engine.settings.MaxClockSkew) }

// noteFuture counts the delivered records dated beyond the limit, and warns of them once an hour.
func (r *runner) noteFuture(records []record.Record) {
	limit := r.limit()
	n := 0
	var first record.Record
	for _, rec := range records {
		if rec.Time.After(limit) {
			if n == 0 {
				first = rec
			}
			n++
		}
	}
	if n == 0 {
		return
	}
	r.engine.sink.FutureDated(r.stream, n)
	if now := time.Now(); now.Sub(r.futureWarned) >= futureWarnEvery {
		r.futureWarned = now
		r.log.Warn("Records dated in the future (a device clock runs ahead?): emitted, but they do not move the checkpoint",
			zap.Int("records", n), zap.String("id", first.ID), zap.Time("dated", first.Time),
			zap.Duration("max_clock_skew", r.engine.settings.MaxClockSkew))
	}
}

// counted reports a page's malformed items and skipped span once the page is behind the
// checkpoint, so that a page read again after a refused delivery is not counted twice.
func (r *runner) counted(malformed int, skipped *Span, reason SkipReason) {
	if malformed > 0 {
		r.log.Warn("Skipped items that are not records", zap.Int("items", malformed))
		r.engine.sink.Dropped(r.stream, DropMalformed, malformed)
	}
	if skipped != nil {
		r.log.Warn("A span of the stream cannot be read and is skipped",
			zap.Time("from", skipped.From), zap.Time("to", skipped.To), zap.String("reason", string(reason)))
		r.engine.sink.Skipped(r.stream, *skipped, reason)
	}
}

// keptAtMost keeps the newest limit times of kept, which must fit the checkpoint's header.
func keptAtMost(kept map[string]time.Time, limit int) map[string]time.Time {
	if len(kept) <= limit {
		return kept
	}
	names := slices.SortedFunc(maps.Keys(kept), func(a, b string) int { return kept[b].Compare(kept[a]) })
	out := make(map[string]time.Time, limit)
	for _, n := range names[:limit] {
		out[n] = kept[n]
	}
	return out
}
