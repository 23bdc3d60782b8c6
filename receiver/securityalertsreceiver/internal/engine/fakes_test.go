package engine

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configretry"
	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// t0 is the occurrence time the fake records are placed around.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	testOverlap  = 10 * time.Minute
	testLookback = 24 * time.Hour
)

// testSettings retries fast: 1 ms, doubling, at most 5 ms apart, giving up after 2 s.
func testSettings() Settings {
	return Settings{
		PollInterval:    time.Hour,
		InitialLookback: testLookback,
		Overlap:         testOverlap,
		MaxSeen:         1000,
		Retry: configretry.BackOffConfig{
			Enabled:         true,
			InitialInterval: time.Millisecond,
			Multiplier:      2,
			MaxInterval:     5 * time.Millisecond,
			MaxElapsedTime:  2 * time.Second,
		},
		Logger: zap.NewNop(),
	}
}

func rec(id string, at time.Time) record.Record {
	return record.Record{ID: id, Kind: "alarm", Time: at, Body: map[string]any{"id": id}}
}

// modified is a record re-emitted on change, last changed at mod.
func modified(id string, at, mod time.Time) record.Record {
	r := rec(id, at)
	r.Modified = mod
	return r
}

func ids(records []record.Record) []string {
	out := make([]string, 0, len(records))
	for _, r := range records {
		out = append(out, r.ID)
	}
	return out
}

// fakeStream answers Fetch with fetch and remembers every query.
type fakeStream struct {
	name  string
	fetch func(ctx context.Context, q Query) (Page, error)

	mu      sync.Mutex
	queries []Query
}

func newStream(name string, fetch func(ctx context.Context, q Query) (Page, error)) *fakeStream {
	return &fakeStream{name: name, fetch: fetch}
}

// pages returns a stream that answers the same pages on every walk: the first page for an empty
// PageToken, the others by the Next of the page before.
func pages(name string, ps ...Page) *fakeStream {
	return newStream(name, func(_ context.Context, q Query) (Page, error) {
		if q.PageToken == "" {
			return ps[0], nil
		}
		for i, p := range ps[:len(ps)-1] {
			if p.Next == q.PageToken {
				return ps[i+1], nil
			}
		}
		return Page{}, errors.New("unknown page token " + q.PageToken)
	})
}

func (s *fakeStream) Name() string   { return s.name }
func (s *fakeStream) Source() string { return "fake" }

func (s *fakeStream) Fetch(ctx context.Context, q Query) (Page, error) {
	s.mu.Lock()
	s.queries = append(s.queries, q)
	s.mu.Unlock()
	return s.fetch(ctx, q)
}

func (s *fakeStream) Queries() []Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Query(nil), s.queries...)
}

// fakeSink accepts every page unless refuse says otherwise, and remembers every attempt.
type fakeSink struct {
	mu       sync.Mutex
	refuse   func(records []record.Record) error
	attempts [][]string // ids of every Deliver call
	accepted [][]string // ids of the calls that returned nil
	dropped  map[DropReason]int
	future   int
	skipped  []Span
	notify   chan struct{} // when set, told of every accepted page
}

func (s *fakeSink) Deliver(_ context.Context, _ Stream, records []record.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts = append(s.attempts, ids(records))
	if s.refuse != nil {
		if err := s.refuse(records); err != nil {
			return err
		}
	}
	s.accepted = append(s.accepted, ids(records))
	if s.notify != nil {
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
	return nil
}

func (s *fakeSink) Dropped(_ Stream, reason DropReason, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropped == nil {
		s.dropped = map[DropReason]int{}
	}
	s.dropped[reason] += n
}

func (s *fakeSink) FutureDated(_ Stream, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.future += n
}

func (s *fakeSink) Skipped(_ Stream, span Span, _ SkipReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skipped = append(s.skipped, span)
}

func (s *fakeSink) setRefuse(f func([]record.Record) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = f
}

func (s *fakeSink) Attempts() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]string(nil), s.attempts...)
}

func (s *fakeSink) Accepted() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]string(nil), s.accepted...)
}

func (s *fakeSink) droppedCount(reason DropReason) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped[reason]
}

// fakeStore is a MemoryStore whose Load and Save can be made to fail.
type fakeStore struct {
	*MemoryStore
	mu      sync.Mutex
	loadErr error
	saveErr error
	saves   int
}

func newStore() *fakeStore { return &fakeStore{MemoryStore: NewMemoryStore()} }

func (s *fakeStore) Load(ctx context.Context, stream string) ([]byte, error) {
	s.mu.Lock()
	err := s.loadErr
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s.MemoryStore.Load(ctx, stream)
}

func (s *fakeStore) Save(ctx context.Context, stream string, data []byte) error {
	s.mu.Lock()
	err := s.saveErr
	if err == nil {
		s.saves++
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.MemoryStore.Save(ctx, stream, data)
}

// put stores cp as another process would.
func (s *fakeStore) put(t *testing.T, stream string, cp *Checkpoint) {
	t.Helper()
	require.NoError(t, s.MemoryStore.Save(context.Background(), stream, cp.Encode()))
}

func (s *fakeStore) setSaveErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saveErr = err
}

// stored returns the stream's stored checkpoint; it fails the test when there is none.
func (s *fakeStore) stored(t *testing.T, stream string) *Checkpoint {
	t.Helper()
	data, err := s.MemoryStore.Load(context.Background(), stream)
	require.NoError(t, err)
	require.NotNil(t, data, "no checkpoint stored for %s", stream)
	cp, err := DecodeCheckpoint(data)
	require.NoError(t, err)
	return cp
}

func (s *fakeStore) has(stream string) bool {
	data, _ := s.MemoryStore.Load(context.Background(), stream)
	return data != nil
}

// poll runs one walk of the engine's i-th stream in the test goroutine.
func poll(e *Engine, i int) (backlog bool, err error) {
	return e.runners[i].poll(context.Background())
}

// eventually waits up to 2 s for cond.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 2*time.Second, time.Millisecond, msg)
}
