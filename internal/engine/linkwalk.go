package engine

import (
	"context"
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
		if widened = st.Overlap > 0 && r.overlap.due(); widened {
			q.Since = earliest(cp.Verified, cp.Watermark).Add(-st.Overlap)
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
	var walkNewest time.Time
	var ahead *pending[Page]
	defer func() { ahead.abandon() }()
	page, fetchErr := fetchLink(ctx, r, s, q)
	requests++
	for {
		if err := ctx.Err(); err != nil {
			return requests, false, err
		}
		// A stream may answer records together with an error that ends the walk (a next link
		// it refuses to follow): the records still go out, then the error is reported.
		if fetchErr != nil && len(page.Records) == 0 {
			return requests, false, fetchErr
		}
		if fetchErr == nil && page.Next != "" {
			// The next page is fetched while this one is delivered. Fetches stay one at a time
			// and in order; only this page's checkpoint depends on its delivery.
			q.PageToken = page.Next
			ahead = fetchAhead(ctx, func(ctx context.Context) (Page, error) { return fetchLink(ctx, r, s, q) })
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
		page, fetchErr = ahead.wait()
		requests++
	}
}

func fetchLink(ctx context.Context, r *runner, s LinkStream, q Query) (Page, error) {
	return retry(ctx, r.engine.settings.Retry, r.log, "fetch", func() (Page, error) { return s.Fetch(ctx, q) })
}
