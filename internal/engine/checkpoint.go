package engine

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/securityalerts/securityalerts/internal/record"
)

// Checkpoint is how far a stream got. It is stored after the pipeline accepted a page, never
// before, so a crash at any point resumes at or before the first record not yet accepted.
type Checkpoint struct {
	// Watermark is the newest occurrence time delivered (or covered by a finished window), or
	// the newest modification time for streams whose records carry one.
	Watermark time.Time `json:"watermark,omitzero"`
	// Cursor is the resume position of cursor-paged streams (e.g. a modification sequence number).
	Cursor string `json:"cursor,omitempty"`
	// Seen maps the ids emitted within the overlap window behind Watermark to their occurrence
	// (or, for records re-emitted on change, modification) time in unix ms; see seenKey. Time-window queries are inclusive and re-read that window for late
	// arrivals; Seen is what keeps those re-reads from emitting a record twice.
	Seen map[string]int64 `json:"seen,omitempty"`
}

// since is the lower time bound of the next walk: the overlap window behind the watermark, or
// the initial lookback on a stream's first poll.
func (c *Checkpoint) since(now time.Time, initialLookback, overlap time.Duration) time.Time {
	if c.Watermark.IsZero() {
		return now.Add(-initialLookback)
	}
	return c.Watermark.Add(-overlap)
}

// seenKey names the version of a record the seen-set remembers: its id, and for records
// re-emitted on change also the modification time, so that an update is not taken for a repeat.
func seenKey(r record.Record) string {
	if r.Modified.IsZero() {
		return r.ID
	}
	return r.ID + "@" + r.Modified.UTC().Format(time.RFC3339Nano)
}

// syncTime is what a record's stream progresses by: when it was last modified for streams that
// re-emit changes, else when it occurred.
func syncTime(r record.Record) time.Time {
	if !r.Modified.IsZero() {
		return r.Modified
	}
	return r.Time
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// newest is the latest sync time among the page's records.
func (p Page) newest() time.Time {
	var t time.Time
	for _, r := range p.Records {
		t = maxTime(t, syncTime(r))
	}
	return t
}

// unseen returns the records of a page not emitted before, dropping repeats within the page.
func (c *Checkpoint) unseen(records []record.Record) []record.Record {
	fresh := make([]record.Record, 0, len(records))
	inPage := make(map[string]struct{}, len(records))
	for _, r := range records {
		if r.ID != "" {
			key := seenKey(r)
			if _, done := c.Seen[key]; done {
				continue
			}
			if _, dup := inPage[key]; dup {
				continue
			}
			inPage[key] = struct{}{}
		}
		fresh = append(fresh, r)
	}
	return fresh
}

// advanced returns the checkpoint after page was accepted. Cursor streams resume exactly at
// their cursor and keep no seen-set; time streams remember the ids inside the overlap window,
// at most maxSeen of them (dropping the oldest risks a duplicate, never a loss). An unordered
// page moves the watermark only by its Through.
func (c *Checkpoint) advanced(page Page, overlap time.Duration, maxSeen int) *Checkpoint {
	next := &Checkpoint{Watermark: maxTime(c.Watermark, page.Through), Cursor: c.Cursor}
	if !page.Unordered {
		next.Watermark = maxTime(next.Watermark, page.newest())
	}
	if page.Cursor != "" {
		next.Cursor = page.Cursor
		return next
	}
	horizon := next.Watermark.Add(-overlap).UnixMilli()
	next.Seen = make(map[string]int64, len(c.Seen)+len(page.Records))
	for id, ms := range c.Seen {
		if ms >= horizon {
			next.Seen[id] = ms
		}
	}
	for _, r := range page.Records {
		if r.ID == "" {
			continue
		}
		ms := next.Watermark.UnixMilli()
		if t := syncTime(r); !t.IsZero() {
			ms = t.UnixMilli()
		}
		if ms >= horizon {
			next.Seen[seenKey(r)] = ms
		}
	}
	trimOldest(next.Seen, maxSeen)
	return next
}

func trimOldest(seen map[string]int64, limit int) {
	if limit <= 0 || len(seen) <= limit {
		return
	}
	type entry struct {
		id string
		ms int64
	}
	all := make([]entry, 0, len(seen))
	for id, ms := range seen {
		all = append(all, entry{id, ms})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ms < all[j].ms })
	for _, e := range all[:len(all)-limit] {
		delete(seen, e.id)
	}
}

// Store keeps checkpoints by stream name.
type Store interface {
	// Load returns nil and no error when the stream has no checkpoint yet.
	Load(ctx context.Context, stream string) (*Checkpoint, error)
	Save(ctx context.Context, stream string, cp *Checkpoint) error
}

// MemoryStore keeps checkpoints for the life of the process (no storage extension configured).
type MemoryStore struct {
	mu  sync.Mutex
	cps map[string]Checkpoint
}

func NewMemoryStore() *MemoryStore { return &MemoryStore{cps: map[string]Checkpoint{}} }

func (m *MemoryStore) Load(_ context.Context, stream string) (*Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp, ok := m.cps[stream]
	if !ok {
		return nil, nil
	}
	return &cp, nil
}

func (m *MemoryStore) Save(_ context.Context, stream string, cp *Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cps[stream] = *cp
	return nil
}
