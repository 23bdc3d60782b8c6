package ciscogta

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configretry"
	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/streamtest"
)

// alertBook is a customer's alerts, changed by the test between polls.
type alertBook struct {
	mu     sync.Mutex
	alerts map[string]map[string]any
}

func (b *alertBook) set(id, status string, triggered, modified time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.alerts[id] = map[string]any{"id": id, "risk": "Medium", "status": map[string]any{"value": status}, "triggeredAt": iso(triggered), "modifiedAt": iso(modified)}
}

// serve answers triggeredAfter and modifiedAfter queries one alert per page.
func (b *alertBook) serve(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		defer b.mu.Unlock()
		q := r.URL.Query()
		key, bound := "triggeredAt", q.Get("triggeredAfter")
		if bound == "" {
			key, bound = "modifiedAt", q.Get("modifiedAfter")
		}
		after, err := time.Parse(time.RFC3339, bound)
		require.NoError(t, err)
		var matching []map[string]any
		for _, id := range []string{"a1", "a2"} {
			if a, ok := b.alerts[id]; ok && id > q.Get("after") {
				if at, _ := time.Parse(time.RFC3339, a[key].(string)); at.After(after) {
					matching = append(matching, a)
				}
			}
		}
		if len(matching) == 0 {
			writePage(w, nil, false, nil, "")
			return
		}
		writePage(w, matching[:1], len(matching) > 1, matching[0]["id"], "")
	}
}

type recordingSink struct {
	streamtest.Uncounted
	mu      sync.Mutex
	records []record.Record
}

func (s *recordingSink) Deliver(_ context.Context, _ engine.Stream, rs []record.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = append(s.records, rs...)
	return nil
}

func (s *recordingSink) take() []record.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.records
	s.records = nil
	return out
}

// savingStore tells of every checkpoint saved, i.e. of every page the engine is done with.
type savingStore struct {
	*engine.MemoryStore
	saved chan struct{}
}

func (s *savingStore) Save(ctx context.Context, stream string, data []byte) error {
	err := s.MemoryStore.Save(ctx, stream, data)
	s.saved <- struct{}{}
	return err
}

func TestAlertUpdatesAreReEmittedOnce(t *testing.T) {
	f := newFakeAPI(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	book := &alertBook{alerts: map[string]map[string]any{}}
	book.set("a1", "New", now.Add(-time.Hour), now.Add(-time.Hour))
	book.set("a2", "New", now.Add(-time.Hour), now.Add(-50*time.Minute))
	f.mux.HandleFunc("GET "+alertsPath, book.serve(t))
	stream := streamNamed(t, NewStreams(f.client(t), Config{PageSize: 1, Alerts: StreamConfig{Enabled: true}}), "cisco_gta/alerts")
	store := &savingStore{MemoryStore: engine.NewMemoryStore(), saved: make(chan struct{}, 10)}
	sink := &recordingSink{}

	// walk runs one walk of the stream, of pages pages (one alert each).
	walk := func(pages int) {
		e := engine.New(engine.Settings{
			PollInterval: time.Hour, InitialLookback: 2 * time.Hour, Overlap: 10 * time.Minute, MaxSeen: 100,
			Retry: configretry.BackOffConfig{}, Logger: zap.NewNop(),
		}, store, sink, []engine.Stream{stream})
		e.Start()
		defer func() { require.NoError(t, e.Shutdown(context.Background())) }()
		for range pages {
			select {
			case <-store.saved:
			case <-time.After(5 * time.Second):
				t.Fatal("the walk did not complete")
			}
		}
	}

	walk(2)
	got := sink.take()
	require.Len(t, got, 2)
	assert.Equal(t, "false", got[0].Attributes[AttrAlertUpdate])

	// a1 is closed: the next walk emits it again, as an update; a2, unchanged, is not repeated.
	book.set("a1", "Closed", now.Add(-time.Hour), now.Add(-time.Minute))
	walk(2) // modifiedAfter = 50 min ago − the 10 min overlap: both alerts
	got = sink.take()
	require.Len(t, got, 1)
	assert.Equal(t, "a1", got[0].ID)
	assert.Equal(t, map[string]any{AttrAlertStatus: "Closed", AttrAlertUpdate: "true", record.AttrStatus: "closed"}, got[0].Attributes)
	assert.True(t, now.Add(-time.Hour).Equal(got[0].Time), "Timestamp stays the trigger time")

	// Nothing changed: the overlap re-read emits nothing. It reaches back the overlap behind the
	// watermark the overlap was last read from (50 min ago), so both alerts again.
	walk(1)
	assert.Empty(t, sink.take())
	assert.Len(t, f.seen(alertsPath), 6)
}
