package main

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"
)

// tap notes when each data request arrived and how it was answered; token requests are not
// data requests, and /_sim is the simulator's own.
type tap struct {
	next http.Handler
	// only, when set, is the one path noted: a list's reads, not the listings beside them.
	only string

	mu    sync.Mutex
	times []time.Time
	codes map[int]int
	ready chan struct{}
	// inFlight is how many noted requests are being answered; mostInFlight the most at once, how
	// many walks the receiver had going.
	inFlight, mostInFlight int
}

func (t *tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/token") || strings.HasPrefix(r.URL.Path, "/_sim/") || (t.only != "" && r.URL.Path != t.only) {
		t.next.ServeHTTP(w, r)
		return
	}
	now := time.Now()
	t.mu.Lock()
	t.inFlight++
	t.mostInFlight = max(t.mostInFlight, t.inFlight)
	t.mu.Unlock()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	t.next.ServeHTTP(sw, r)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inFlight--
	t.init()
	if len(t.times) == 0 {
		close(t.ready)
	}
	t.times = append(t.times, now)
	t.codes[sw.status]++
}

func (t *tap) init() {
	if t.codes == nil {
		t.codes, t.ready = map[int]int{}, make(chan struct{})
	}
}

func (t *tap) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.times, t.codes, t.mostInFlight = nil, nil, 0
	t.init()
}

func (t *tap) first() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.times) == 0 {
		return time.Time{}
	}
	return t.times[0]
}

// waitFirst returns when the first data request arrived.
func (t *tap) waitFirst(ctx context.Context) time.Time {
	t.mu.Lock()
	t.init()
	ready := t.ready
	t.mu.Unlock()
	select {
	case <-ready:
	case <-ctx.Done():
	}
	return t.first()
}

// count is how many data requests arrived from `from` to `to` after the first.
func (t *tap) count(from, to time.Duration) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, at := range t.times {
		if after := at.Sub(t.times[0]); after >= from && after < to {
			n++
		}
	}
	return n
}

// concurrency is the most requests that were answered at once.
func (t *tap) concurrency() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mostInFlight
}

func (t *tap) statuses() map[int]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.codes)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.wrote {
		w.status, w.wrote = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}
