package engine

import (
	"hash/fnv"
	"sort"
	"time"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// seenSet remembers the records emitted within a stream's overlap window, so that re-reads of
// the window emit nothing twice. It keeps a 64-bit hash of each record's key (its id, and for
// records re-emitted on change its modification time) rather than the id itself: a fixed 8 bytes
// per record whatever the vendor's id, which keeps a checkpoint of the default 100,000 records
// near 1 MiB (etcd refuses requests over 1.5 MiB). Two records of one window sharing a hash
// would make the second look seen: at 64 bits and 100,000 records, about once in 4·10⁹ windows.
type seenSet struct {
	entries map[uint64]seenEntry
}

type seenEntry struct {
	// ms is the record's sync time in unix ms (occurrence, or modification for records
	// re-emitted on change): entries leave the set once it falls behind the retention horizon.
	ms int64
	// gone marks a record a full re-read of its time no longer returned (it left the stream's
	// filtered set, e.g. an alarm closed under status=open). It still de-duplicates, should it
	// come back, but is not counted among the records the API should still have.
	gone bool
}

func newSeenSet(capacity int) *seenSet {
	return &seenSet{entries: make(map[uint64]seenEntry, capacity)}
}

// seenHash is the hash the set keeps of a record's seen key.
func seenHash(key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	return h.Sum64()
}

// seenKey names the version of a record the set remembers: its id, and for records re-emitted on
// change also the modification time, so that an update is not taken for a repeat.
func seenKey(r record.Record) string {
	if r.Modified.IsZero() {
		return r.ID
	}
	return r.ID + "@" + r.Modified.UTC().Format(time.RFC3339Nano)
}

func (s *seenSet) len() int {
	if s == nil {
		return 0
	}
	return len(s.entries)
}

func (s *seenSet) has(r record.Record) bool {
	_, ok := s.entries[seenHash(seenKey(r))]
	return ok
}

// add remembers r at its sync time, or at fallback when it has none. A record seen again is
// present again: it is no longer gone.
func (s *seenSet) add(r record.Record, fallback time.Time) {
	t := syncTime(r)
	if t.IsZero() {
		t = fallback
	}
	s.entries[seenHash(seenKey(r))] = seenEntry{ms: t.UnixMilli()}
}

// countPresent is how many records not gone the set holds at sync times within [from, to].
func (s *seenSet) countPresent(from, to time.Time) int64 {
	lo, hi := from.UnixMilli(), to.UnixMilli()
	var n int64
	for _, e := range s.entries {
		if !e.gone && e.ms >= lo && e.ms <= hi {
			n++
		}
	}
	return n
}

// markGone marks every record within [from, to] not among present as gone: a complete read of
// that span did not return it.
func (s *seenSet) markGone(from, to time.Time, present map[uint64]bool) {
	lo, hi := from.UnixMilli(), to.UnixMilli()
	for h, e := range s.entries {
		if e.ms >= lo && e.ms <= hi && !present[h] {
			e.gone = true
			s.entries[h] = e
		}
	}
}

// retain drops the entries behind horizon, then the oldest beyond limit (dropping one risks a
// duplicate, never a loss).
func (s *seenSet) retain(horizon time.Time, limit int) {
	h := horizon.UnixMilli()
	for k, e := range s.entries {
		if e.ms < h {
			delete(s.entries, k)
		}
	}
	if limit <= 0 || len(s.entries) <= limit {
		return
	}
	all := s.sorted()
	for _, e := range all[:len(all)-limit] {
		delete(s.entries, e.hash)
	}
}

type hashedEntry struct {
	hash uint64
	seenEntry
}

// sorted lists the entries oldest first (ties by hash), the order they are encoded in.
func (s *seenSet) sorted() []hashedEntry {
	if s == nil {
		return nil
	}
	all := make([]hashedEntry, 0, len(s.entries))
	for h, e := range s.entries {
		all = append(all, hashedEntry{h, e})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].ms != all[j].ms {
			return all[i].ms < all[j].ms
		}
		return all[i].hash < all[j].hash
	})
	return all
}
