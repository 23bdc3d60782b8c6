package simulator

import (
	"maps"
	"slices"
	"sync/atomic"
	"time"
)

// Records that change after they were generated: alarms that close, and records held back while
// their USM Central deployment is disconnected.

// closeRandom closes up to n open alarms, picked uniformly among every open one however old, at
// now: a client paging by offset through status=open sees the later pages shift.
func (st *store) closeRandom(n int, now time.Time) {
	if st.status == nil || n <= 0 {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for range n {
		if len(st.open) == 0 {
			return
		}
		i, last := st.dice.IntN(len(st.open)), len(st.open)-1
		r := st.open[i]
		st.open[i], st.open = st.open[last], st.open[:last]
		// A new map, not a change to the one that pages already served may be encoding.
		r.fields, r.closed = withField(r.fields, st.status, "closed"), now.UnixMilli()
	}
}

// fieldAt reads a value at a path of nested objects; nil if a step is missing.
func fieldAt(fields map[string]any, path []string) any {
	for _, step := range path[:len(path)-1] {
		fields, _ = fields[step].(map[string]any)
	}
	return fields[path[len(path)-1]]
}

// withField returns a copy of fields with the value at path set, copying each object on the way
// and sharing the rest.
func withField(fields map[string]any, path []string, v any) map[string]any {
	out := maps.Clone(fields)
	if len(path) == 1 {
		out[path[0]] = v
		return out
	}
	inner, _ := fields[path[0]].(map[string]any)
	out[path[0]] = withField(inner, path[1:], v)
	return out
}

// without returns a copy of fields lacking the keys at the given paths, copying each object on
// the way to one and sharing the rest.
func without(fields map[string]any, paths ...[]string) map[string]any {
	out := maps.Clone(fields)
	for _, path := range paths {
		if len(path) == 1 {
			delete(out, path[0])
			continue
		}
		if inner, ok := out[path[0]].(map[string]any); ok {
			out[path[0]] = without(inner, path[1:])
		}
	}
	return out
}

// An outage is one disconnection of a USM Central deployment: the records its deployment sends
// meanwhile stay hidden until it ends. until may move while it lasts, hence atomic: pages read
// it under the store's read lock only.
type outage struct{ until atomic.Int64 } // epoch ms

// hides reports whether the outage still hides its records at nowMs; a nil outage hides nothing.
func (o *outage) hides(nowMs int64) bool { return o != nil && nowMs < o.until.Load() }

// Record is one record as the simulator holds it, for tests to tell what a client is owed.
type Record struct {
	// ID is the record's vendor id, or, when HasID is false, the id it would have had: the
	// record is served without its id field(s) (Options.MissingIDFraction), and its Fields tell
	// it apart.
	ID    string `json:"id"`
	HasID bool   `json:"has_id"`
	// Occurred is the occurrence time lists sort and filter by, FutureSkew ahead for a device
	// clock ahead; Received is when the API received it (an arrival's generation time).
	Occurred time.Time `json:"occurred"`
	Received time.Time `json:"received"`
	// Closed is when the alarm's status changed from open to closed; zero while it has not.
	Closed time.Time `json:"closed,omitzero"`
	// HeldUntil is when the record's disconnected USM Central deployment reconnects (or did),
	// from when on searches return it; zero for a record never held back.
	HeldUntil time.Time `json:"held_until,omitzero"`
	// Fields are the record as served now (USM Anywhere adds _links per request), a copy.
	Fields map[string]any `json:"fields"`
}

// Records returns every record of the stream ever generated, in generation order, as they are
// now; nil for an unknown stream.
func (s *Simulator) Records(source, kind string) []Record {
	st, ok := s.stores[streamKey{source, kind}]
	if !ok {
		return nil
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]Record, len(st.order))
	for i, r := range st.order {
		out[i] = Record{
			ID: r.id, HasID: r.hasID, Fields: deepCopy(r.fields).(map[string]any),
			Occurred: time.UnixMilli(r.occurred).UTC(), Received: time.UnixMilli(r.received).UTC(),
			Closed: msTime(r.closed),
		}
		if r.held != nil {
			out[i].HeldUntil = msTime(r.held.until.Load())
		}
	}
	return out
}

// Closed returns when each closed alarm of the stream was closed (Options.AlarmsClosedPerSecond),
// by id; empty for a stream whose records do not close, nil for an unknown stream.
func (s *Simulator) Closed(source, kind string) map[string]time.Time {
	st, ok := s.stores[streamKey{source, kind}]
	if !ok {
		return nil
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	closed := map[string]time.Time{}
	for _, r := range st.order {
		if r.closed != 0 {
			closed[r.id] = msTime(r.closed)
		}
	}
	return closed
}

// msTime is epoch ms as a UTC time, zero for 0.
func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// deepCopy copies the objects and lists of a record, which pages share and tests must not reach.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = deepCopy(e)
		}
		return out
	case []map[string]any:
		if v == nil {
			return v
		}
		out := make([]map[string]any, len(v))
		for i, e := range v {
			out[i] = deepCopy(e).(map[string]any)
		}
		return out
	case []any:
		if v == nil {
			return v
		}
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopy(e)
		}
		return out
	case []string:
		return slices.Clone(v)
	}
	return v // strings, numbers, booleans, nil: immutable
}
