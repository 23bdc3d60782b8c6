// Package engine runs the streams of every source: one poll loop per stream, keyset walks and
// cursor walks, retries with backoff, delivery to the pipeline, checkpoints, the cheap re-reading
// of the overlap window for late arrivals, and spans read again on a stream's request. It knows
// nothing of any vendor: a source is a set of Streams.
//
// Data flows one way: stream → page of records → sink (converter + consumer) → checkpoint.
package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/config/configretry"
	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// Sink hands records to the pipeline. A nil error means the pipeline accepted them.
type Sink interface {
	Deliver(ctx context.Context, s Stream, records []record.Record) error
	// Dropped is told of records that will not be emitted, and why.
	Dropped(s Stream, reason DropReason, n int)
	// FutureDated is told of records dated beyond now + MaxClockSkew: emitted, but not moving
	// the watermark.
	FutureDated(s Stream, n int)
	// Skipped is told of a span of a stream that cannot be read, and why.
	Skipped(s Stream, span Span, reason SkipReason)
}

// DropReason says why records were not emitted.
type DropReason string

const (
	// DropMalformed: the vendor sent an item that is not a record (not a JSON object).
	DropMalformed DropReason = "malformed"
	// DropRejected: the pipeline refused the records with a permanent error.
	DropRejected DropReason = "rejected"
)

// SkipReason says why a span of a stream was not read.
type SkipReason string

const (
	// SkipHorizon: the span is older than the API keeps (Trend Micro: 72 hours).
	SkipHorizon SkipReason = "horizon"
	// SkipResultWindow: more records share one millisecond than the API pages through.
	SkipResultWindow SkipReason = "result_window"
)

// Settings are the engine's knobs, from the receiver's configuration.
type Settings struct {
	PollInterval    time.Duration
	InitialLookback time.Duration
	// Overlap is how far behind the watermark time-window streams look for late arrivals.
	Overlap time.Duration
	// MaxClockSkew is how far ahead of now a record's time may move a watermark.
	MaxClockSkew time.Duration
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

// New prepares an engine; nothing runs until Start. Every stream must be a RangeStream or a
// LinkStream.
func New(settings Settings, store Store, sink Sink, streams []Stream) *Engine {
	e := &Engine{settings: settings, store: store, sink: sink}
	for _, s := range streams {
		switch s.(type) {
		case RangeStream, LinkStream:
		default:
			panic(fmt.Sprintf("engine: stream %s is neither a RangeStream nor a LinkStream", s.Name()))
		}
		e.runners = append(e.runners, newRunner(e, s))
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
		held, wm := r.held, r.watermark
		r.mu.Unlock()
		if held {
			out = append(out, StreamStatus{Stream: r.stream, Watermark: wm})
		}
	}
	return out
}
