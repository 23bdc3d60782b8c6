package engine

import (
	"context"
	"sync"
	"time"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// Checkpoint is how far a stream got. It advances only after the pipeline accepted a page, and is
// stored then, so a crash at any point resumes at or before the first record not yet accepted.
type Checkpoint struct {
	// Watermark is the newest occurrence time delivered (or covered by a finished window), or
	// the newest modification time for streams whose records carry one. It never passes now +
	// max_clock_skew: a record dated further ahead is emitted without moving it.
	Watermark time.Time
	// Cursor is the resume position of cursor-paged streams (e.g. a modification sequence number).
	Cursor string
	// Verified is the watermark at the last complete check for late arrivals: the overlap
	// behind it was read again (or counted) since they could have arrived. Zero: never checked.
	Verified time.Time
	// Backfills are spans to read again that the stream asked for and that are not done yet.
	Backfills []Backfill
	// Kept are the times a Keeper stream keeps.
	Kept map[string]time.Time
	// seen holds the records emitted within the overlap window (and ahead of the watermark), so
	// that re-reads emit nothing twice. Nil for cursor streams, which need none.
	seen *seenSet
}

// SeenCount is how many records the checkpoint remembers for de-duplication.
func (c *Checkpoint) SeenCount() int {
	if c.seen == nil {
		return 0
	}
	return c.seen.len()
}

// Has reports whether the checkpoint remembers r as emitted.
func (c *Checkpoint) Has(r record.Record) bool { return c.seen != nil && c.seen.has(r) }

func (c *Checkpoint) seenSet() *seenSet {
	if c.seen == nil {
		c.seen = newSeenSet(0)
	}
	return c.seen
}

// unseen returns the records of a page not emitted before, dropping repeats within the page.
func (c *Checkpoint) unseen(records []record.Record) []record.Record {
	fresh := make([]record.Record, 0, len(records))
	inPage := make(map[uint64]struct{}, len(records))
	for _, r := range records {
		h := seenHash(seenKey(r))
		if c.seen != nil {
			if _, done := c.seen.entries[h]; done {
				continue
			}
		}
		if _, dup := inPage[h]; dup {
			continue
		}
		inPage[h] = struct{}{}
		fresh = append(fresh, r)
	}
	return fresh
}

// remember adds delivered records to the seen-set, at the watermark when they carry no time.
func (c *Checkpoint) remember(records []record.Record) {
	s := c.seenSet()
	for _, r := range records {
		s.add(r, c.Watermark)
	}
}

// lastLook is the watermark at the last look at the overlap for late arrivals, the watermark
// itself while none was made.
func (c *Checkpoint) lastLook() time.Time { return earliest(c.Verified, c.Watermark) }

// retain keeps the seen entries a re-read may still meet: those within overlap behind the
// oldest of the watermark, the last verification and the position of a span being read again,
// at most maxSeen of them.
func (c *Checkpoint) retain(overlap time.Duration, maxSeen int) {
	if c.seen == nil {
		return
	}
	from := c.lastLook()
	for _, b := range c.Backfills {
		from = earliest(b.From, from)
	}
	c.seen.retain(from.Add(-overlap), maxSeen)
}

// syncTime is what a record's stream progresses by: when it was last modified for streams that
// re-emit changes, else when it occurred.
func syncTime(r record.Record) time.Time {
	if !r.Modified.IsZero() {
		return r.Modified
	}
	return r.Time
}

func maxTime(first time.Time, others ...time.Time) time.Time {
	for _, t := range others {
		if t.After(first) {
			first = t
		}
	}
	return first
}

// Store keeps encoded checkpoints by stream name.
type Store interface {
	// Load returns nil and no error when the stream has no checkpoint yet.
	Load(ctx context.Context, stream string) ([]byte, error)
	Save(ctx context.Context, stream string, data []byte) error
}

// MemoryStore keeps checkpoints for the life of the process (no storage extension configured).
type MemoryStore struct {
	mu   sync.Mutex
	data map[string][]byte
}

func NewMemoryStore() *MemoryStore { return &MemoryStore{data: map[string][]byte{}} }

func (m *MemoryStore) Load(_ context.Context, stream string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.data[stream], nil
}

func (m *MemoryStore) Save(_ context.Context, stream string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data[stream] = data
	return nil
}
