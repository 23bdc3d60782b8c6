package engine

import "context"

// fetch reads a page of the walk, retrying as configured. fetchAhead does it in the background,
// so that a walk fetches its next page while the current one is delivered.
func (r *runner) fetch(ctx context.Context, q Query) (Page, error) {
	return retry(ctx, r.engine.settings.Retry, r.log, "fetch", func() (Page, error) { return r.stream.Fetch(ctx, q) })
}

// pending is a page being fetched in the background.
type pending struct {
	done   chan struct{}
	cancel context.CancelFunc
	page   Page
	err    error
}

func (r *runner) fetchAhead(ctx context.Context, q Query) *pending {
	ctx, cancel := context.WithCancel(ctx)
	p := &pending{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(p.done)
		p.page, p.err = r.fetch(ctx, q)
	}()
	return p
}

func (p *pending) wait() (Page, error) {
	<-p.done
	p.cancel()
	return p.page, p.err
}

// abandon stops a fetch whose page will not be delivered and waits for it: nothing a poll
// started outlives it.
func (p *pending) abandon() {
	if p != nil {
		p.cancel()
		<-p.done
	}
}
