package etcdextension

import (
	"context"
	"maps"
	"sync"
	"time"

	"go.uber.org/zap"
)

// budgets shares request budgets (a vendor's limit per credential) among the replicas. Under its
// prefix, etcd holds for each budget and each participant (a registration, in one session):
//
//	<budget>/share/<member>.<n>  {"share": 11, "weight": 3, "limit": 30, "window_seconds": 1}
//
// on the session's lease. share is what the participant may send per window; weight, how many
// of the budget's keys its replica leads. Every replica computes the same target shares from the
// weights (apportion), but targets only say what each should want. What each may send is its
// share in etcd, and two rules keep the shares' sum within the limit in every window:
//
//   - a share is raised only by a transaction that fails if any share of the budget changed
//     since this replica read them, and only into room the others leave: sum <= limit in etcd;
//   - room that another participant gave up (a share lowered or deleted, its lease expired) is
//     used only a window after this replica saw it go, so that what that participant sent under
//     its old share has left every window before anyone sends in its place. A participant
//     lowers its own sending first and its share in etcd after, and stops sending before its
//     lease can expire (the session's guard), so "saw it go" is never before "stopped using it".
//
// A replica whose session starts knows nothing of what was given up before: it raises nothing
// for a window. Writes happen when shares or weights change (replicas joining or leaving, keys
// moving), never per request.
type budgets struct {
	prefix  string
	timeout time.Duration
	log     *zap.Logger

	mu      sync.Mutex
	parts   map[*participant]struct{}
	seq     int
	leaders map[string]string // escaped elected key → the member leading it
	changed chan struct{}     // capacity 1: registrations or leaders changed
}

// participant is one ShareBudget registration.
type participant struct {
	budget string // escaped
	limit  float64
	window time.Duration
	keys   []string // escaped elected keys
	apply  func(share float64)
	id     int
}

// claim is a participant's record in etcd.
type claim struct {
	Share  float64 `json:"share"`
	Weight int     `json:"weight"`
	Limit  float64 `json:"limit"`
	Window float64 `json:"window_seconds"`
}

func newBudgets(prefix string, timeout time.Duration, log *zap.Logger) *budgets {
	return &budgets{prefix: prefix, timeout: timeout, log: log, parts: map[*participant]struct{}{}, changed: make(chan struct{}, 1)}
}

func (b *budgets) register(budget string, limit float64, window time.Duration, keys []string, apply func(float64)) (withdraw func()) {
	escaped := make([]string, len(keys))
	for i, k := range keys {
		escaped[i] = escape(k)
	}
	b.mu.Lock()
	b.seq++
	p := &participant{budget: escape(budget), limit: limit, window: window, keys: escaped, apply: apply, id: b.seq}
	b.parts[p] = struct{}{}
	b.mu.Unlock()
	p.apply(0)
	b.poke()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.parts, p)
			b.mu.Unlock()
			p.apply(0)
			b.poke()
		})
	}
}

// observe takes the elector's view of who leads each key. The elector tells it after every
// event of its prefix, most of which (candidacies, refreshes) change no leader: those wake
// nothing.
func (b *budgets) observe(leaders map[string]string) {
	b.mu.Lock()
	same := b.leaders != nil && maps.Equal(b.leaders, leaders)
	b.leaders = leaders
	b.mu.Unlock()
	if !same {
		b.poke()
	}
}

func (b *budgets) poke() { signal(b.changed) }

func (b *budgets) snapshot() ([]*participant, map[string]string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	parts := make([]*participant, 0, len(b.parts))
	for p := range b.parts {
		parts = append(parts, p)
	}
	return parts, b.leaders
}

// start serves the budgets within session s until the returned stop is called.
func (b *budgets) start(s *session) (stop func()) {
	ctx, cancel := context.WithCancel(s.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.serve(ctx, s)
	}()
	return func() {
		cancel()
		<-done
	}
}
