package engine

import (
	"context"

	"go.uber.org/zap"
)

// Gate admits a stream's polls only while this process owns the stream, when several
// collectors share the same streams and must never poll one at the same time.
type Gate interface {
	// Hold blocks until this process owns stream. It returns a context that ends as soon as it
	// stops owning it, and release, to be called once nothing runs under that context any
	// more: only then may the stream go to another process. It fails only when ctx ends.
	Hold(ctx context.Context, stream string) (owned context.Context, release func(), err error)
}

// gated polls the stream during each period this process owns it. Each period starts from
// the stored checkpoint, which the previous owner (this process or another) left.
func (r *runner) gated(ctx context.Context, gate Gate) {
	for {
		owned, release, err := gate.Hold(ctx, r.stream.Name())
		if err != nil {
			return
		}
		r.setHeld(true)
		r.log.Info("Owning the stream: polling from its stored checkpoint")
		polling, stop := context.WithCancel(owned)
		stopAtShutdown := context.AfterFunc(ctx, stop)
		r.loop(polling)
		stopAtShutdown()
		stop()
		r.setHeld(false)
		release()
		if ctx.Err() != nil {
			return
		}
		r.log.Info("No longer owning the stream: polling stopped", zap.NamedError("reason", context.Cause(owned)))
	}
}

// setHeld marks the stream as polled by this process or not. Either way the checkpoint in
// memory is forgotten: another process may advance the stored one meanwhile. It runs between
// polls, on the goroutine that polls.
func (r *runner) setHeld(held bool) {
	r.cp, r.saved = nil, nil
	r.mu.Lock()
	defer r.mu.Unlock()
	r.held = held
}
