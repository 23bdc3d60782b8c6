package simulator

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"
)

// twinFraction of records share their millisecond with the next one, so that clients resuming
// from an inclusive timestamp bound must de-duplicate at the boundary.
const twinFraction = 0.05

// backlogIndexLag bounds how long after it occurred a backlog record was received.
const backlogIndexLag = 5 * time.Minute

// A generator makes one record of a stream: its id and its JSON fields. It must draw every
// random choice from rng, so that a seed reproduces the records.
type generator func(rng *rand.Rand, occurred, received time.Time) (id string, fields map[string]any)

// A record is immutable once stored: pages share it without copying.
type record struct {
	id       string
	occurred int64 // epoch ms, the key every vendor's lists are sorted and filtered by
	fields   map[string]any
}

type streamKey struct{ source, kind string }

func (k streamKey) String() string { return k.source + "/" + k.kind }

// store holds one stream's records, sorted by occurrence time then id.
type store struct {
	gen generator

	mu       sync.RWMutex
	rng      *rand.Rand
	byTime   []record
	order    []record            // in generation order
	fieldSet map[string]struct{} // every field name any record has
}

// newStore seeds the stream's generator from seed and the stream's name, so that one stream's
// records do not change when another stream or vendor is added.
func newStore(seed uint64, key streamKey, gen generator) *store {
	h := fnv.New64a()
	h.Write([]byte(key.String()))
	return &store{
		gen:      gen,
		rng:      rand.New(rand.NewPCG(seed, h.Sum64())),
		fieldSet: make(map[string]struct{}),
	}
}

// fillBacklog adds n records occurring within lookback before end, generated oldest first.
func (st *store) fillBacklog(n int, end time.Time, lookback time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	endMs, span := end.UnixMilli(), max(lookback.Milliseconds(), 1)
	times := make([]int64, 0, n)
	for len(times) < n {
		t := endMs - st.rng.Int64N(span)
		times = append(times, t)
		if len(times) < n && st.rng.Float64() < twinFraction {
			times = append(times, t)
		}
	}
	slices.Sort(times)
	for _, t := range times {
		received := min(t+st.rng.Int64N(backlogIndexLag.Milliseconds()), endMs)
		st.byTime = append(st.byTime, st.generate(t, received))
	}
	slices.SortFunc(st.byTime, compareRecords)
}

// arrive adds n records received at now; lateFraction of them occurred up to lateMax earlier.
func (st *store) arrive(n int, now time.Time, lateFraction float64, lateMax time.Duration) {
	if n <= 0 {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	nowMs := now.UnixMilli()
	for range n {
		occurred := nowMs
		if st.rng.Float64() < lateFraction {
			occurred -= st.rng.Int64N(max(lateMax.Milliseconds(), 1))
		}
		st.insert(st.generate(occurred, nowMs))
		if st.rng.Float64() < twinFraction {
			st.insert(st.generate(occurred, nowMs))
		}
	}
}

// generate makes a record and notes it; the caller holds mu and files it in byTime.
func (st *store) generate(occurred, received int64) record {
	id, fields := st.gen(st.rng, time.UnixMilli(occurred).UTC(), time.UnixMilli(received).UTC())
	r := record{id: id, occurred: occurred, fields: fields}
	st.order = append(st.order, r)
	for name := range fields {
		st.fieldSet[name] = struct{}{}
	}
	return r
}

func (st *store) insert(r record) {
	i, _ := slices.BinarySearchFunc(st.byTime, r, compareRecords)
	st.byTime = slices.Insert(st.byTime, i, r)
}

// compareRecords orders by occurrence time, then id, so that pages are stable among records of
// the same millisecond.
func compareRecords(a, b record) int {
	return cmp.Or(cmp.Compare(a.occurred, b.occurred), cmp.Compare(a.id, b.id))
}

func (st *store) ids() []string {
	st.mu.RLock()
	defer st.mu.RUnlock()
	ids := make([]string, 0, len(st.order)) // [] rather than null in JSON
	for _, r := range st.order {
		ids = append(ids, r.id)
	}
	return ids
}

// generatedAfter returns the records generated after the first n, in generation order: vendors
// that number records as they appear (Cisco's modification sequence) import them from here.
func (st *store) generatedAfter(n int) []record {
	st.mu.RLock()
	defer st.mu.RUnlock()
	if n >= len(st.order) {
		return nil
	}
	return append([]record(nil), st.order[n:]...)
}

func (st *store) size() int {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return len(st.byTime)
}

// hasField reports whether any record has the field, i.e. whether a filter on it means anything.
func (st *store) hasField(name string) bool {
	st.mu.RLock()
	defer st.mu.RUnlock()
	_, ok := st.fieldSet[name]
	return ok
}

// query selects one page of a stream.
type query struct {
	from, to int64 // inclusive epoch-ms bounds on occurrence time
	match    func(fields map[string]any) bool
	desc     bool
	offset   int
	limit    int
}

// page returns the records of q's page and how many records match q in all, as of now: records
// arriving between two requests shift later pages, as they do on the real APIs.
func (st *store) page(q query) (items []record, total int) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	lo := sort.Search(len(st.byTime), func(i int) bool { return st.byTime[i].occurred >= q.from })
	hi := sort.Search(len(st.byTime), func(i int) bool { return st.byTime[i].occurred > q.to })
	window := st.byTime[lo:max(lo, hi)]
	for i := range window {
		r := window[i]
		if q.desc {
			r = window[len(window)-1-i]
		}
		if q.match != nil && !q.match(r.fields) {
			continue
		}
		if total >= q.offset && total < q.offset+q.limit {
			items = append(items, r)
		}
		total++
	}
	return items, total
}

// fieldEquals reports whether a record's field has the value want as a query parameter would
// spell it, or, for a list, holds it.
func fieldEquals(fields map[string]any, name, want string) bool {
	switch v := fields[name].(type) {
	case nil:
		return false
	case []string:
		return slices.Contains(v, want)
	case string:
		return v == want
	default:
		return fmt.Sprint(v) == want
	}
}

// newUUID draws a version-4-shaped UUID from rng, so that ids are reproducible.
func newUUID(rng *rand.Rand) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], rng.Uint64())
	binary.BigEndian.PutUint64(b[8:], rng.Uint64())
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
