package engine

import (
	"context"
	"sync"
	"time"
)

// pollLink walks a LinkStream from its checkpoint to the end of the available data: from its
// cursor, or from its watermark (the overlap earlier when its allowance says so).
func (r *runner) pollLink(ctx context.Context, s LinkStream, cp *Checkpoint) (backlog bool, err error) {
	st := r.engine.settings
	q := Query{Cursor: cp.Cursor, Initial: cp.Watermark.IsZero() && cp.Cursor == ""}
	widened := false
	switch {
	case q.Initial:
		q.Since = time.Now().Add(-st.InitialLookback)
	case cp.Cursor != "":
		// A cursor resumes exactly: nothing arrives behind it, there is no overlap to look at.
		q.Since = cp.Watermark
	default:
		q.Since = cp.Watermark
		if cp.Verified.IsZero() {
			// Never looked at: the overlap behind the watermark is what a look would read, so the
			// seen-set keeps it until one did.
			cp.Verified = cp.Watermark
		}
		if widened = st.Overlap > 0 && r.overlap.due(cp.Watermark.Sub(cp.lastLook()), st.Overlap); widened {
			q.Since = cp.lastLook().Add(-st.Overlap)
		}
	}
	from := cp.Watermark
	requests, backlog, err := r.walkLink(ctx, s, cp, q)
	if err != nil {
		return false, err
	}
	if widened {
		r.overlap.widenedWalk(requests)
		cp.Verified = from
		err = r.commit(ctx, cp)
	} else {
		r.overlap.plainWalk(requests)
	}
	return backlog, err
}

// earliest is the earlier of a and b, b when a is zero.
func earliest(a, b time.Time) time.Time {
	if !a.IsZero() && a.Before(b) {
		return a
	}
	return b
}

// walkLink follows the stream's pages from q. Invariant: the checkpoint advances only after the
// sink accepted the page (or refused it permanently).
func (r *runner) walkLink(ctx context.Context, s LinkStream, cp *Checkpoint, q Query) (requests int, backlog bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	pages := r.fetchPages(ctx, s, q)
	defer func() {
		// Nothing the walk started outlives it: pages fetched ahead of a failure are abandoned.
		cancel()
		for range pages.ready {
		}
		pages.wg.Wait()
	}()
	var walkNewest time.Time
	for st := range pages.ready {
		<-st.done
		requests++
		page, fetchErr := st.page, st.err
		if st.incomplete != nil {
			// Records not completed are not delivered: the page is read again.
			page.Records, fetchErr = nil, st.incomplete
		}
		if err := ctx.Err(); err != nil {
			return requests, false, err
		}
		// A stream may answer records together with an error that ends the walk (a next link
		// it refuses to follow): the records still go out, then the error is reported.
		if fetchErr != nil && len(page.Records) == 0 {
			return requests, false, fetchErr
		}
		// A cursor resumes exactly and needs no seen-set; time-window walks re-read and do.
		if err := r.deliver(ctx, cp, page.Records, page.Cursor == ""); err != nil {
			return requests, false, err
		}
		limit := r.limit()
		last := fetchErr == nil && page.Next == ""
		switch {
		case page.Cursor != "":
			cp.Cursor = page.Cursor
			cp.Watermark = maxTime(cp.Watermark, newest(page.Records, limit))
		case page.Unordered:
			walkNewest = maxTime(walkNewest, newest(page.Records, limit))
			if last {
				cp.Watermark = maxTime(cp.Watermark, page.Through, walkNewest)
			}
		default:
			cp.Watermark = maxTime(cp.Watermark, page.Through, newest(page.Records, limit))
		}
		if err := r.commit(ctx, cp); err != nil {
			return requests, false, err
		}
		r.counted(page.Malformed, page.Skipped, SkipHorizon)
		if fetchErr != nil {
			return requests, false, fetchErr
		}
		if last {
			return requests, page.Backlog, nil
		}
	}
	return requests, false, ctx.Err()
}

// pipelineDepth is how many pages a walk has fetched and not delivered yet at most: the next
// page's request goes out while this one is delivered (and, for pages to complete, while the
// pages before are completed), and no more are held.
const pipelineDepth = 4

// pagePipeline fetches a walk's pages in order, one request at a time as each needs the page
// before, and completes each in the background.
type pagePipeline struct {
	ready chan *fetched
	wg    sync.WaitGroup
}

// fetched is a page fetched, and completed once done is closed (incomplete: why not).
type fetched struct {
	page       Page
	err        error
	incomplete error
	done       chan struct{}
}

func (r *runner) fetchPages(ctx context.Context, s LinkStream, q Query) *pagePipeline {
	p := &pagePipeline{ready: make(chan *fetched, pipelineDepth-1)}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(p.ready)
		for {
			st := &fetched{done: make(chan struct{})}
			st.page, st.err = fetchLink(ctx, r, s, q)
			if st.err == nil && st.page.Complete != nil {
				complete := st.page.Complete
				p.wg.Add(1)
				go func() {
					defer p.wg.Done()
					defer close(st.done)
					_, st.incomplete = retry(ctx, r.engine.settings.Retry, r.log, "complete page", func() (struct{}, error) { return struct{}{}, complete(ctx) })
				}()
			} else {
				close(st.done)
			}
			select {
			case p.ready <- st:
			case <-ctx.Done():
				<-st.done
				return
			}
			if st.err != nil || st.page.Next == "" {
				return
			}
			q.PageToken = st.page.Next
		}
	}()
	return p
}

func fetchLink(ctx context.Context, r *runner, s LinkStream, q Query) (Page, error) {
	return retry(ctx, r.engine.settings.Retry, r.log, "fetch", func() (Page, error) { return s.Fetch(ctx, q) })
}
