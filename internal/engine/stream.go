package engine

import (
	"context"
	"time"

	"github.com/securityalerts/securityalerts/internal/record"
)

// Stream is one (source, kind) feed, e.g. USM Anywhere alarms. It is a LinkStream or a
// RangeStream: the engine walks each kind its own way.
type Stream interface {
	// Name is unique within a receiver and stable across versions: it keys the checkpoint.
	Name() string
	Source() string
}

// RangeStream is a list the API filters by an inclusive range of occurrence time and sorts by it,
// oldest first (USM Anywhere, USM Central). The engine walks it by keyset: each page is a fresh
// query from the newest time already delivered, so records leaving the list (an alarm closed
// under status=open) or arriving in it never shift a page, and no walk goes deep into a result
// window. Only a run of records sharing one millisecond longer than a page is paged by offset.
type RangeStream interface {
	Stream
	FetchRange(ctx context.Context, r Range) (RangePage, error)
	// PageSize is how many records a page of the stream holds.
	PageSize() int
}

// Range selects one page of a RangeStream.
type Range struct {
	// From and To bound the occurrence time, inclusively; a zero To leaves the range open.
	From, To time.Time
	// Page is the 0-based page within the range: above 0 only while a run of records sharing
	// From is longer than a page.
	Page int
	// CountOnly asks for Total alone: the stream may ask the API for the smallest page.
	CountOnly bool
	// Scope, when set, restricts the range to a part of the stream the stream itself named in a
	// Backfill (e.g. one USM Central deployment).
	Scope string
}

// RangePage is one answer of a RangeStream.
type RangePage struct {
	// Records are the page's records the stream emits; Malformed counts the items that were not
	// records.
	Records   []record.Record
	Malformed int
	// Withheld are the page's records the stream does not emit (a deployment left out): they
	// still move the walk on, and the engine remembers them as the API counts them.
	Withheld []record.Record
	// OutOfScope are the page's records outside the range's Scope: they move the walk on, and
	// are neither emitted nor remembered (whether they were emitted is the other walks' business).
	OutOfScope []record.Record
	// More says the API holds more records in the range after this page.
	More bool
	// Total is how many records match the range, -1 when the API does not tell; Capped says it
	// is only a lower bound (Elasticsearch stops counting at a limit).
	Total  int64
	Capped bool
}

// PollStarter is a stream told when each of its polls begins (to list again what it reads from,
// say); an error ends the poll before it read anything.
type PollStarter interface {
	PollStarting(ctx context.Context) error
}

// Backfiller is a RangeStream that learns of spans to read again, e.g. a USM Central deployment
// that reconnects and delivers records buffered while it was away, with their original times.
type Backfiller interface {
	RangeStream
	// Backfills returns the spans learnt of since the last call, each once.
	Backfills() []Backfill
}

// Keeper is a stream that keeps named times in its checkpoint, what it must know again after a
// restart (when each USM Central deployment was last seen connected, to read a reconnecting one
// from there). The engine gives them back when it loads the checkpoint, before the first poll
// starts, and stores them with every checkpoint.
type Keeper interface {
	Kept() map[string]time.Time
	Restore(kept map[string]time.Time)
}

// Backfill is a span of a stream to read again, restricted to Scope.
type Backfill struct {
	Scope string    `json:"scope"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
}

// LinkStream is a feed continued by what the API answers: a next link, a cursor or a sequence
// number (Trend Micro's windows, Cisco's collections).
type LinkStream interface {
	Stream
	Fetch(ctx context.Context, q Query) (Page, error)
}

// Query says where a LinkStream's next page starts.
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

// Page is one answer of a LinkStream.
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
	// Unordered says the walk is not sorted by time (records selected by modification time but
	// served in another order, or a window's pages in no promised order). Its pages only add to
	// the seen-set, and the watermark moves once, after the walk's last page, to the newest time
	// of the whole walk: a walk cut short must not leave a watermark beyond records it has not
	// read yet.
	Unordered bool
	// Malformed counts items of the page that were not records and were skipped.
	Malformed int
	// Skipped, when set, is a span the walk cannot read (older than the API keeps), reported
	// once with the page that skipped it.
	Skipped *Span
	// Complete, when set, finishes the page's records (further lookups, e.g. Cisco's parent
	// detections and alerts of events) before they are delivered. The engine runs it while it
	// fetches the pages after: the lookups of one page need not wait for the next page, whose
	// request needs only Next. An error fails the page as a fetch error would.
	Complete func(ctx context.Context) error
}

// Span is an interval of time.
type Span struct{ From, To time.Time }

// newest is the latest sync time among records, ignoring those dated after limit.
func newest(records []record.Record, limit time.Time) time.Time {
	return latest(records, limit, syncTime)
}

// newestOccurrence is the latest occurrence time among records, ignoring those after limit.
func newestOccurrence(records []record.Record, limit time.Time) time.Time {
	return latest(records, limit, func(r record.Record) time.Time { return r.Time })
}

func latest(records []record.Record, limit time.Time, at func(record.Record) time.Time) time.Time {
	var t time.Time
	for _, r := range records {
		if st := at(r); !st.After(limit) {
			t = maxTime(t, st)
		}
	}
	return t
}
