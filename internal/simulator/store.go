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

// A stream is one kind of record a vendor serves, and the ways its records may misbehave.
type stream struct {
	generate generator
	// withoutID returns a copy of a record's fields without its id, for Options.MissingIDFraction;
	// nil where every record has one.
	withoutID func(fields map[string]any) map[string]any
	// status is the path of an alarm's status field, whose "open" becomes "closed" at
	// Options.AlarmsClosedPerSecond; nil where records do not close.
	status []string
	// clocked is set where lists are windows on the occurrence time, so that a device clock
	// ahead (Options.FutureFraction) puts records beyond a window ending now.
	clocked bool
}

// A record is one version of a stream's record. Its fields map is never changed in place, as
// pages encode it after the store's lock is released: a change (an alarm closing) replaces it,
// under the lock.
type record struct {
	id       string // the vendor id, or the one the record would have had if hasID is false
	occurred int64  // epoch ms, the key every vendor's lists are sorted and filtered by
	received int64  // epoch ms the API received it
	fields   map[string]any
	hasID    bool
	closed   int64   // epoch ms its status became closed, 0 while it has not
	held     *outage // hides it while its USM Central deployment is disconnected; nil: never
}

type streamKey struct{ source, kind string }

func (k streamKey) String() string { return k.source + "/" + k.kind }

// misbehaviour is what Options make a stream's new records do.
type misbehaviour struct {
	missingIDFraction float64
	futureFraction    float64
	futureSkew        time.Duration
	futureInBacklog   bool
}

// store holds one stream's records, sorted by occurrence time then id.
type store struct {
	stream
	misbehaviour
	// hold, when set, says which outage hides a record arriving now (nil: none); set before the
	// simulator serves, by the vendor whose records it holds back.
	hold func(fields map[string]any, now time.Time) *outage

	mu  sync.RWMutex
	rng *rand.Rand // draws the records' content
	// dice draw the misbehaviours, from a stream of their own so that switching one on does not
	// change the records a seed generates.
	dice     *rand.Rand
	byTime   []*record
	order    []*record           // in generation order
	open     []*record           // alarms whose status is open, in no order
	fieldSet map[string]struct{} // every field name any record has
}

// newStore seeds the stream's generator from seed and the stream's name, so that one stream's
// records do not change when another stream or vendor is added.
func newStore(seed uint64, key streamKey, s stream, m misbehaviour) *store {
	h := fnv.New64a()
	h.Write([]byte(key.String()))
	return &store{
		stream:       s,
		misbehaviour: m,
		rng:          rand.New(rand.NewPCG(seed, h.Sum64())),
		dice:         rand.New(rand.NewPCG(seed, h.Sum64()^0xd1ce)),
		fieldSet:     make(map[string]struct{}),
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
		occurred := t
		if st.futureInBacklog {
			occurred = st.deviceClock(t)
		}
		st.byTime = append(st.byTime, st.newRecord(occurred, received))
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
		occurred = st.deviceClock(occurred)
		st.insert(st.arrival(occurred, now))
		if st.rng.Float64() < twinFraction {
			st.insert(st.arrival(occurred, now))
		}
	}
}

// deviceClock is the occurrence time a device stamps on a record that occurred at ms: futureSkew
// ahead for futureFraction of them, on streams listed by occurrence time.
func (st *store) deviceClock(ms int64) int64 {
	if st.clocked && st.futureFraction > 0 && st.dice.Float64() < st.futureFraction {
		return ms + st.futureSkew.Milliseconds()
	}
	return ms
}

// arrival generates a record received at now, held back if its deployment is disconnected.
func (st *store) arrival(occurred int64, now time.Time) *record {
	r := st.newRecord(occurred, now.UnixMilli())
	if st.hold != nil {
		r.held = st.hold(r.fields, now)
	}
	return r
}

// newRecord generates a record and notes it; the caller holds mu and files it in byTime.
func (st *store) newRecord(occurred, received int64) *record {
	id, fields := st.generate(st.rng, time.UnixMilli(occurred).UTC(), time.UnixMilli(received).UTC())
	r := &record{id: id, occurred: occurred, received: received, fields: fields, hasID: true}
	if st.withoutID != nil && st.missingIDFraction > 0 && st.dice.Float64() < st.missingIDFraction {
		r.fields, r.hasID = st.withoutID(fields), false
	}
	st.order = append(st.order, r)
	if st.status != nil && fieldAt(r.fields, st.status) == "open" {
		st.open = append(st.open, r)
	}
	for name := range r.fields {
		st.fieldSet[name] = struct{}{}
	}
	return r
}

func (st *store) insert(r *record) {
	i, _ := slices.BinarySearchFunc(st.byTime, r, compareRecords)
	st.byTime = slices.Insert(st.byTime, i, r)
}

// compareRecords orders by occurrence time, then id, so that pages are stable among records of
// the same millisecond.
func compareRecords(a, b *record) int {
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
	out := make([]record, 0, len(st.order)-n)
	for _, r := range st.order[n:] {
		out = append(out, *r)
	}
	return out
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
	// shuffle, when set, orders the page's window by a hash of shuffle.seed and each record's id
	// instead of by time: the same seed gives the same order, page after page.
	shuffle *shuffle
	offset  int
	limit   int
}

type shuffle struct{ seed uint64 }

// page returns the records of q's page and how many records match q in all, as of now: records
// arriving between two requests shift later pages, as they do on the real APIs. Records held
// back by a disconnected deployment neither appear nor count.
func (st *store) page(q query) (items []record, total int) {
	nowMs := time.Now().UnixMilli()
	st.mu.RLock()
	defer st.mu.RUnlock()
	lo := sort.Search(len(st.byTime), func(i int) bool { return st.byTime[i].occurred >= q.from })
	hi := sort.Search(len(st.byTime), func(i int) bool { return st.byTime[i].occurred > q.to })
	window := st.byTime[lo:max(lo, hi)]
	served := func(r *record) bool { return !r.held.hides(nowMs) && (q.match == nil || q.match(r.fields)) }
	if q.shuffle != nil { // only what is served is shuffled: the order costs a hash per record
		var matched []*record
		for _, r := range window {
			if served(r) {
				matched = append(matched, r)
			}
		}
		window, served = q.shuffle.order(matched), func(*record) bool { return true }
	}
	for i := range window {
		r := window[i]
		if q.desc {
			r = window[len(window)-1-i]
		}
		if !served(r) {
			continue
		}
		if total >= q.offset && total < q.offset+q.limit {
			items = append(items, *r)
		}
		total++
	}
	return items, total
}

// order returns the records sorted by a hash of the seed and their ids: an order unrelated to
// time, stable for one seed however many records arrive in between.
func (s *shuffle) order(records []*record) []*record {
	type keyed struct {
		key uint64
		r   *record
	}
	ks := make([]keyed, len(records))
	for i, r := range records {
		h := fnv.New64a()
		var seed [8]byte
		binary.BigEndian.PutUint64(seed[:], s.seed)
		h.Write(seed[:])
		h.Write([]byte(r.id))
		ks[i] = keyed{h.Sum64(), r}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return cmp.Or(cmp.Compare(a.key, b.key), compareRecords(a.r, b.r)) })
	out := make([]*record, len(ks))
	for i, k := range ks {
		out[i] = k.r
	}
	return out
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
