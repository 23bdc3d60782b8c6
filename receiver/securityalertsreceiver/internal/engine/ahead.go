package engine

import "context"

// pending is a page being fetched in the background, so that a walk fetches its next page while
// the current one is delivered.
type pending[T any] struct {
	done   chan struct{}
	cancel context.CancelFunc
	page   T
	err    error
}

func fetchAhead[T any](ctx context.Context, fetch func(context.Context) (T, error)) *pending[T] {
	ctx, cancel := context.WithCancel(ctx)
	p := &pending[T]{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(p.done)
		p.page, p.err = fetch(ctx)
	}()
	return p
}

func (p *pending[T]) wait() (T, error) {
	<-p.done
	p.cancel()
	return p.page, p.err
}

// abandon stops a fetch whose page will not be delivered and waits for it: nothing a poll
// started outlives it.
func (p *pending[T]) abandon() {
	if p != nil {
		p.cancel()
		<-p.done
	}
}
