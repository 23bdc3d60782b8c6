// Package engine runs the streams of every source: one poll loop per stream, retries with
// backoff, delivery to the pipeline and checkpoints. It knows nothing of any vendor: a source
// is a set of Streams.
//
// Data flows one way: stream → page of records → sink (converter + consumer) → checkpoint.
package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/internal/record"
)

// Query says where a stream's next page starts.
type Query struct {
	// Since is the inclusive lower time bound of a time-window walk.
	Since time.Time
	// Cursor is the stored resume position of cursor-paged streams.
	Cursor string
	// PageToken continues a walk (typically the next link); empty starts a new walk.
	PageToken string
	// Initial is true while the stream has no checkpoint yet (Since is the initial lookback),
	// for APIs whose documented first synchronisation differs from the incremental one.
	Initial bool
}

// Page is one answer of a stream.
type Page struct {
	Records []record.Record
	// Next continues the walk; empty ends it.
	Next string
	// Cursor is the resume position after this page, for cursor-paged streams.
	Cursor string
	// Through, when set, says every record up to that time has been read (windowed APIs).
	Through time.Time
	// Backlog, on the last page of a walk, asks for another walk at once instead of waiting.
	Backlog bool
	// Unordered says the walk is not sorted by time (e.g. records selected by modification
	// time but served in another order). Its pages then only add to the seen-set, and the
	// watermark moves once, after the walk's last page, to the newest time of the whole walk: a
	// walk cut short must not leave a watermark beyond records it has not read yet.
	Unordered bool
	// Malformed counts items of the page that were not records and were skipped.
	Malformed int
}

// Stream is one (source, kind) feed, e.g. USM Anywhere alarms.
type Stream interface {
	// Name is unique within a receiver and stable across versions: it keys the checkpoint.
	Name() string
	Source() string
	Fetch(ctx context.Context, q Query) (Page, error)
}

// Sink hands records to the pipeline. A nil error means the pipeline accepted them.
type Sink interface {
	Deliver(ctx context.Context, s Stream, records []record.Record) error
	// Dropped is told of records that will not be emitted, and why.
	Dropped(s Stream, reason DropReason, n int)
}

// DropReason says why records were not emitted.
type DropReason string

const (
	// DropMalformed: the vendor sent an item that is not a record (not a JSON object).
	DropMalformed DropReason = "malformed"
	// DropRejected: the pipeline refused the records with a permanent error.
	DropRejected DropReason = "rejected"
)

// Settings are the engine's knobs, from the receiver's configuration.
type Settings struct {
	PollInterval    time.Duration
	InitialLookback time.Duration
	// Overlap is how far behind the watermark time-window streams re-read for late arrivals.
	Overlap time.Duration
	// MaxSeen bounds a stream's de-duplication set.
	MaxSeen int
	Retry   configretry.BackOffConfig
	Logger  *zap.Logger
	// Gate, when several collectors share the streams, admits each stream's polls only while
	// this one owns it. Nil: every stream is always polled.
	Gate Gate
	// Polled, when set, is told the outcome of every poll of a stream (nil: it read to the end
	// of the available data), for health reporting. It must not block.
	Polled func(s Stream, err error)
}

// Engine polls streams until Shutdown.
type Engine struct {
	settings Settings
	store    Store
	sink     Sink
	runners  []*runner
	cancel   context.CancelFunc
	done     sync.WaitGroup
}

// New prepares an engine; nothing runs until Start.
func New(settings Settings, store Store, sink Sink, streams []Stream) *Engine {
	e := &Engine{settings: settings, store: store, sink: sink}
	for _, s := range streams {
		e.runners = append(e.runners, &runner{engine: e, stream: s, log: settings.Logger.With(zap.String("stream", s.Name())), held: settings.Gate == nil})
	}
	return e
}

// Start launches one poll loop per stream.
func (e *Engine) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	for _, r := range e.runners {
		e.done.Add(1)
		go func() {
			defer e.done.Done()
			if e.settings.Gate != nil {
				r.gated(ctx, e.settings.Gate)
				return
			}
			r.loop(ctx)
		}()
	}
}

// Shutdown stops every loop and waits for them, or until ctx ends: a stream stuck where it
// does not heed cancellation must not hold the collector's shutdown past its deadline. A page
// in flight is abandoned without advancing its checkpoint.
func (e *Engine) Shutdown(ctx context.Context) error {
	if e.cancel != nil {
		e.cancel()
	}
	stopped := make(chan struct{})
	go func() {
		e.done.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("polling did not stop before the shutdown deadline: %w", ctx.Err())
	}
}

// StreamStatus is a stream's progress, for self-telemetry.
type StreamStatus struct {
	Stream    Stream
	Watermark time.Time
}

// Status reports the watermark (zero before its first record) of every stream this process
// polls: with a Gate, only those it owns now, so that replicas do not report each other's lag.
func (e *Engine) Status() []StreamStatus {
	out := make([]StreamStatus, 0, len(e.runners))
	for _, r := range e.runners {
		r.mu.Lock()
		held := r.held
		var wm time.Time
		if r.cp != nil {
			wm = r.cp.Watermark
		}
		r.mu.Unlock()
		if held {
			out = append(out, StreamStatus{Stream: r.stream, Watermark: wm})
		}
	}
	return out
}

type runner struct {
	engine *Engine
	stream Stream
	log    *zap.Logger

	mu   sync.Mutex
	cp   *Checkpoint // nil until loaded
	held bool        // polled by this process now (always, without a Gate)
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

// poll walks the stream from its checkpoint to the end of the available data. Invariant: the
// checkpoint advances only after the sink accepted the page (or refused it permanently).
func (r *runner) poll(ctx context.Context) (backlog bool, err error) {
	cp, err := r.checkpoint(ctx)
	if err != nil {
		return false, err
	}
	s := r.engine.settings
	q := Query{Since: cp.since(time.Now(), s.InitialLookback, s.Overlap), Cursor: cp.Cursor, Initial: cp.Watermark.IsZero() && cp.Cursor == ""}
	var walkNewest time.Time
	var ahead *pending
	defer func() { ahead.abandon() }()
	page, fetchErr := r.fetch(ctx, q)
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		// A stream may answer records together with an error that ends the walk (a next link
		// it refuses to follow): the records still go out, then the error is reported.
		if fetchErr != nil && len(page.Records) == 0 {
			return false, fetchErr
		}
		if fetchErr == nil && page.Next != "" {
			// The next page is fetched while this one is delivered. Fetches stay one at a time
			// and in order; only this page's checkpoint depends on its delivery.
			q.PageToken = page.Next
			ahead = r.fetchAhead(ctx, q)
		}
		if err := r.deliver(ctx, cp.unseen(page.Records)); err != nil {
			return false, err
		}
		if page.Unordered {
			walkNewest = maxTime(walkNewest, page.newest())
			if fetchErr == nil && page.Next == "" {
				page.Through = maxTime(page.Through, walkNewest)
			}
		}
		next := cp.advanced(page, s.Overlap, s.MaxSeen)
		if err := ctx.Err(); err != nil {
			// Stopped (or no longer the owner) while the page was delivered: the checkpoint
			// stays for whoever polls next, who reads the page again. A duplicate, never a loss,
			// and never two writers of one checkpoint.
			return false, err
		}
		if err := r.engine.store.Save(ctx, r.stream.Name(), next); err != nil {
			// The page is out but not recorded: it may be delivered again, never lost.
			return false, fmt.Errorf("saving checkpoint: %w", err)
		}
		r.mu.Lock()
		r.cp, cp = next, next
		r.mu.Unlock()
		if page.Malformed > 0 {
			// Counted once the page is behind the checkpoint: a page read again is not counted again.
			r.log.Warn("Skipped items that are not records", zap.Int("items", page.Malformed))
			r.engine.sink.Dropped(r.stream, DropMalformed, page.Malformed)
		}
		if fetchErr != nil {
			return false, fetchErr
		}
		if page.Next == "" {
			return page.Backlog, nil
		}
		page, fetchErr = ahead.wait()
	}
}

func (r *runner) deliver(ctx context.Context, records []record.Record) error {
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

func (r *runner) checkpoint(ctx context.Context) (*Checkpoint, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cp != nil {
		return r.cp, nil
	}
	cp, err := r.engine.store.Load(ctx, r.stream.Name())
	if err != nil {
		return nil, fmt.Errorf("loading checkpoint: %w", err)
	}
	if cp == nil {
		cp = &Checkpoint{}
	} else {
		r.log.Info("Resuming from stored checkpoint", zap.Time("watermark", cp.Watermark), zap.String("cursor", cp.Cursor))
	}
	r.cp = cp
	return cp, nil
}
