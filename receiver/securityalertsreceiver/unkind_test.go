package securityalertsreceiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/collectortest"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadata"
)

// These tests reproduce how records were lost when real APIs do what they do (see
// unkind_fakes_test.go); each failed on the sync model of release 0.1.0.

// emittedIDs counts every securityalerts.id the sink received.
func emittedIDs(batches []plog.Logs) map[string]int {
	out := map[string]int{}
	for _, ld := range batches {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			sls := ld.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					id, _ := lrs.At(k).Attributes().Get(attrID)
					out[id.Str()]++
				}
			}
		}
	}
	return out
}

func usmAlarmsConfig(endpoint string, filters map[string]any) *Config {
	cfg := testConfig(endpoint)
	usm := cfg.USMAnywhere.Get()
	usm.Events.Enabled = false
	usm.Alarms.Filters = filters
	usm.PageSize = 100
	cfg.InitialLookback = 6 * time.Hour
	return cfg
}

// An analyst closes an alarm the walk already read, while the receiver polls status=open: with
// offset pages every later alarm moves up one place and the one at the next page boundary was
// never read, and the watermark passed it by more than the overlap.
func TestClosedAlarmsDoNotShiftThePagesOfAWalk(t *testing.T) {
	tl := &timeline{}
	tl.add(alarmsEvery("a", 250, time.Now().Add(-5*time.Hour), time.Minute)...)
	tl.onRequest = func(n int, _ url.Values) {
		if n == 2 {
			tl.set("a-003", "status", "closed")
		}
	}
	srv := newUnkindUSM(t, tl)
	sink := &consumertest.LogsSink{}
	stop := run(t, usmAlarmsConfig(srv.URL, map[string]any{"status": "open"}), componenttest.NewNopHost(), sink, nil)
	require.Eventually(t, func() bool { return tl.requestCount() >= 10 }, 20*time.Second, 10*time.Millisecond, "several polls")
	stop()

	got := emittedIDs(sink.AllLogs())
	for _, r := range alarmsEvery("a", 250, time.Now(), time.Minute) {
		if r.id != "a-003" {
			assert.Contains(t, got, r.id, "an open alarm was never emitted")
		}
	}
}

// Same on USM Central, whose searches ask for 1-based page numbers.
func TestClosedAlarmsDoNotShiftCentralSearchPages(t *testing.T) {
	tl := &timeline{}
	for _, r := range alarmsEvery("c", 250, time.Now().Add(-5*time.Hour), time.Minute) {
		tl.add(centralAlarm(r))
	}
	tl.onRequest = func(n int, _ url.Values) {
		if n == 2 {
			tl.mu.Lock()
			for i, r := range tl.records {
				if r.id == "c-003" {
					inner := map[string]any{"status": "closed", "uuid": "c-003", "timestamp_occured": r.fields["alarm"].(map[string]any)["timestamp_occured"]}
					tl.records[i].fields = map[string]any{"id": "c-003", "tenantId": r.fields["tenantId"], "timestamp": r.ms, "alarm": inner}
				}
			}
			tl.mu.Unlock()
		}
	}
	srv := newUnkindCentral(t, &unkindCentral{tl: tl, cap: 10_000, window: 10_000})
	cfg := centralConfig(srv.URL)
	cfg.USMCentral.Get().Alarms.Filters = map[string]any{"status": "open"}
	sink := &consumertest.LogsSink{}
	stop := run(t, cfg, componenttest.NewNopHost(), sink, nil)
	require.Eventually(t, func() bool { return tl.requestCount() >= 10 }, 20*time.Second, 10*time.Millisecond, "several polls")
	stop()

	got := emittedIDs(sink.AllLogs())
	for _, r := range alarmsEvery("c", 250, time.Now(), time.Minute) {
		if r.id != "c-003" {
			assert.Contains(t, got, r.id, "an open alarm was never emitted")
		}
	}
}

func centralConfig(endpoint string) *Config {
	cfg := testConfig(endpoint)
	cfg.USMAnywhere = configoptional.None[USMAnywhereConfig]()
	central := defaultUSMCentralConfig()
	central.Endpoint, central.ClientID, central.ClientSecret = endpoint, "id", "secret"
	central.PageSize = 100
	cfg.USMCentral = configoptional.Some(central)
	cfg.InitialLookback = 6 * time.Hour
	return cfg
}

// One alarm from a device whose clock runs a day ahead must not move the watermark into the
// future: every correctly dated alarm after it was filtered out.
func TestFutureDatedRecordDoesNotSilenceTheStream(t *testing.T) {
	tl := &timeline{}
	tl.add(usmAlarm("now-1", time.Now().Add(-5*time.Minute)), usmAlarm("tomorrow", time.Now().Add(24*time.Hour)))
	srv := newUnkindUSM(t, tl)
	sink := &consumertest.LogsSink{}
	stop := run(t, usmAlarmsConfig(srv.URL, nil), componenttest.NewNopHost(), sink, nil)
	defer stop()
	require.Eventually(t, func() bool { return len(emittedIDs(sink.AllLogs())) == 2 }, 10*time.Second, 10*time.Millisecond)

	tl.add(usmAlarm("later", time.Now()))
	require.Eventually(t, func() bool { return emittedIDs(sink.AllLogs())["later"] == 1 }, 10*time.Second, 10*time.Millisecond,
		"an alarm dated now never arrived after one dated tomorrow")
	assert.Equal(t, 1, emittedIDs(sink.AllLogs())["tomorrow"], "the future-dated alarm is emitted once")
}

// USM Central sits on Elasticsearch: totals are capped ("gte") and pages past the result window
// are refused. A walk that ends on the cap is a backlog, not the end: with a poll interval of an
// hour, every alarm must still arrive now.
func TestCentralCappedTotalIsABacklog(t *testing.T) {
	tl := &timeline{}
	for _, r := range alarmsEvery("c", 1200, time.Now().Add(-2*time.Hour), 5*time.Second) {
		tl.add(centralAlarm(r))
	}
	srv := newUnkindCentral(t, &unkindCentral{tl: tl, cap: 1000, window: 1000})
	cfg := centralConfig(srv.URL)
	cfg.PollInterval = time.Hour
	sink := &consumertest.LogsSink{}
	stop := run(t, cfg, componenttest.NewNopHost(), sink, nil)
	defer stop()
	require.Eventually(t, func() bool { return len(emittedIDs(sink.AllLogs())) == 1200 }, 30*time.Second, 20*time.Millisecond,
		"alarms beyond the capped total waited for the next poll")
}

// acceptFirst accepts the first batch and refuses every later one, like a backend that goes
// away mid-walk.
type acceptFirst struct {
	consumertest.LogsSink
	batches atomic.Int32
	refused atomic.Int32
}

func (a *acceptFirst) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if a.batches.Add(1) > 1 {
		a.refused.Add(1)
		return errors.New("backend down")
	}
	return a.LogsSink.ConsumeLogs(ctx, ld)
}

func trendPairConfig(endpoint string) *Config {
	cfg := trendTestConfig(endpoint)
	tc := cfg.TrendCAS.Get()
	tc.Services, tc.Events, tc.Limit = []string{"exchange"}, []string{"securityrisk"}, 100
	return cfg
}

// Nothing says Trend's pages are oldest first. Stopped after the first page of a window (served
// newest first), the receiver must not lose the rest of the window.
func TestTrendWindowStoppedMidWalkLosesNothing(t *testing.T) {
	tl := &timeline{}
	for i := range 300 {
		tl.add(trendEvent(fmt.Sprintf("t-%03d", i), time.Now().Add(-2*time.Hour).Add(time.Duration(i)*20*time.Second)))
	}
	srv := newUnkindTrend(t, &unkindTrend{tl: tl, horizon: 72 * time.Hour})
	dir := t.TempDir()
	cfg := trendPairConfig(srv.URL)
	host, id := collectortest.FileStorageHost(t, dir)
	cfg.Storage = &id

	first := &acceptFirst{}
	stop := run(t, cfg, host, first, nil)
	require.Eventually(t, func() bool { return first.refused.Load() >= 2 }, 10*time.Second, 10*time.Millisecond)
	stop()

	second := &consumertest.LogsSink{}
	host, _ = collectortest.FileStorageHost(t, dir)
	stop = run(t, cfg, host, second, nil)
	defer stop()
	require.Eventually(t, func() bool {
		got := emittedIDs(append(first.AllLogs(), second.AllLogs()...))
		return len(got) == 300
	}, 15*time.Second, 20*time.Millisecond, "events of the window were lost")
}

// After downtime a window can start more than 72 h back; the API refuses it with a 400. The pair
// must start at the horizon, not be disabled for good.
func TestTrendWindowPastTheHorizonStartsAtTheHorizon(t *testing.T) {
	tl := &timeline{}
	tl.add(trendEvent("too-old", time.Now().Add(-90*time.Hour)), trendEvent("recent", time.Now().Add(-48*time.Hour)),
		trendEvent("fresh", time.Now().Add(-time.Hour)))
	srv := newUnkindTrend(t, &unkindTrend{tl: tl, horizon: 72 * time.Hour})
	cfg := trendPairConfig(srv.URL)
	cfg.InitialLookback = 96 * time.Hour
	sink := &consumertest.LogsSink{}
	stop := run(t, cfg, componenttest.NewNopHost(), sink, nil)
	defer stop()
	require.Eventually(t, func() bool {
		got := emittedIDs(sink.AllLogs())
		return got["recent"] == 1 && got["fresh"] == 1
	}, 15*time.Second, 20*time.Millisecond, "the pair stopped at the 72 h horizon")
}

// countingStorage is a storage extension in memory that counts the writes of every key and
// remembers the largest value written.
type countingStorage struct {
	component.StartFunc
	component.ShutdownFunc
	mu      sync.Mutex
	data    map[string][]byte
	sets    map[string]int
	largest int
}

func newCountingStorage() *countingStorage {
	return &countingStorage{data: map[string][]byte{}, sets: map[string]int{}}
}

func (s *countingStorage) GetClient(context.Context, component.Kind, component.ID, string) (storage.Client, error) {
	return s, nil
}

func (s *countingStorage) Get(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data[key], nil
}

func (s *countingStorage) Set(_ context.Context, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[key] = append([]byte(nil), value...)
	s.sets[key]++
	s.largest = max(s.largest, len(value))
	return nil
}

func (s *countingStorage) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.data, key)
	return nil
}

func (s *countingStorage) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		var err error
		switch op.Type {
		case storage.Get:
			op.Value, err = s.Get(ctx, op.Key)
		case storage.Set:
			err = s.Set(ctx, op.Key, op.Value)
		case storage.Delete:
			err = s.Delete(ctx, op.Key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *countingStorage) Close(context.Context) error { return nil }

func (s *countingStorage) writes(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sets[key]
}

func countingStorageHost(s *countingStorage) (component.Host, component.ID) {
	id := component.MustNewID("counting_storage")
	return collectortest.Host(map[component.ID]component.Component{id: s}), id
}

// A poll that reads nothing new (every overlap re-read) must not rewrite the checkpoint.
func TestCheckpointIsWrittenOnlyWhenItChanges(t *testing.T) {
	tl := &timeline{}
	tl.add(alarmsEvery("a", 3, time.Now().Add(-3*time.Minute), time.Minute)...)
	srv := newUnkindUSM(t, tl)
	store := newCountingStorage()
	host, id := countingStorageHost(store)
	cfg := usmAlarmsConfig(srv.URL, nil)
	cfg.Storage = &id
	sink := &consumertest.LogsSink{}
	stop := run(t, cfg, host, sink, nil)
	require.Eventually(t, func() bool { return tl.requestCount() >= 6 }, 20*time.Second, 10*time.Millisecond, "several polls")
	stop()
	require.Len(t, emittedIDs(sink.AllLogs()), 3)
	// Once for the alarms, and at most once more when the overlap behind them was checked.
	assert.LessOrEqual(t, store.writes("checkpoint/usm_anywhere/alarms"), 2)
}

// etcd refuses a request over 1.5 MiB: a checkpoint remembering the default 100,000 ids must fit.
func TestHundredThousandSeenIDsFitAnEtcdRequest(t *testing.T) {
	const n, etcdMaxRequestBytes = 100_000, 1536 * 1024
	start := time.Now().Add(-5 * time.Minute)
	alarms := make([]fakeRecord, n)
	for i := range alarms {
		rec := usmAlarm(fmt.Sprintf("%08x-5c2e-4d1b-9f3a-%012x", i, i), start.Add(time.Duration(i)*2*time.Millisecond))
		rec.fields = map[string]any{"uuid": rec.id, "timestamp_occured": rec.fields["timestamp_occured"]}
		alarms[i] = rec
	}
	tl := &timeline{}
	tl.add(alarms...)
	srv := newUnkindUSM(t, tl)
	store := newCountingStorage()
	host, id := countingStorageHost(store)
	cfg := usmAlarmsConfig(srv.URL, nil)
	cfg.Storage = &id
	cfg.USMAnywhere.Get().PageSize = 1000
	cfg.USMAnywhere.Get().RequestsPerSecond = 100
	logs := &countingLogs{}
	stop := run(t, cfg, host, logs, nil)
	require.Eventually(t, func() bool { return logs.records.Load() >= n }, 60*time.Second, 20*time.Millisecond)
	stop()
	assert.LessOrEqual(t, store.largest, etcdMaxRequestBytes-1024, "the largest checkpoint, with room for the key and the request")
}

// countingLogs counts records without keeping them.
type countingLogs struct {
	consumertest.LogsSink
	records atomic.Int64
}

func (c *countingLogs) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	c.records.Add(int64(ld.LogRecordCount()))
	return nil
}

// A record without an id is the same record at every re-read: it is emitted once.
func TestRecordsWithoutIDAreEmittedOnce(t *testing.T) {
	tl := &timeline{}
	for i := range 3 {
		tl.add(usmAlarm("", time.Now().Add(-time.Duration(3-i)*time.Minute)))
	}
	srv := newUnkindUSM(t, tl)
	sink := &consumertest.LogsSink{}
	stop := run(t, usmAlarmsConfig(srv.URL, nil), componenttest.NewNopHost(), sink, nil)
	require.Eventually(t, func() bool { return tl.requestCount() >= 5 }, 20*time.Second, 10*time.Millisecond, "several polls")
	stop()
	assert.Equal(t, 3, sink.LogRecordCount(), "records without an id were emitted again at every poll")
}

// A Cisco server that answers the same cursor again must not make the receiver emit the same
// page at every poll.
func TestRepeatedCiscoCursorDeliversNothingNew(t *testing.T) {
	var requests atomic.Int32
	page := `{"items":[{"id":"ev-1","timestamp":"2026-01-01T00:00:00.000Z"},{"id":"ev-2","timestamp":"2026-01-01T00:00:01.000Z"}],` +
		`"pageInfo":{"hasNextPage":true,"endCursor":"5"}}`
	mux := http.NewServeMux()
	mux.HandleFunc("POST /iroh/oauth2/token", tokenHandler)
	mux.HandleFunc("POST /event-detection/customer/CTA1/events/search", func(w http.ResponseWriter, r *http.Request) {
		if authorized(w, r) {
			requests.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(page)) // whatever the after parameter, the same page and cursor
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg := testConfig(srv.URL)
	cfg.USMAnywhere = configoptional.None[USMAnywhereConfig]()
	cisco := defaultCiscoGTAConfig()
	cisco.Endpoint, cisco.TokenURL, cisco.ClientID, cisco.ClientSecret = srv.URL, srv.URL+"/iroh/oauth2/token", "id", "secret"
	cisco.CustomerID = "CTA1"
	cisco.Alerts.Enabled, cisco.Events.Enrich = false, false
	cfg.CiscoGTA = configoptional.Some(cisco)
	sink := &consumertest.LogsSink{}
	stop := run(t, cfg, componenttest.NewNopHost(), sink, nil)
	require.Eventually(t, func() bool { return requests.Load() >= 6 }, 20*time.Second, 10*time.Millisecond, "several polls")
	stop()
	assert.Equal(t, map[string]int{"ev-1": 1, "ev-2": 1}, emittedIDs(sink.AllLogs()))
}

// limitedStorage refuses values above a size, as etcd refuses requests over 1.5 MiB.
type limitedStorage struct {
	*countingStorage
	max int
}

func (l limitedStorage) MaxValueBytes() int { return l.max }

func TestMaxSeenIDsThatCannotFitTheStorageAreRefusedAtStart(t *testing.T) {
	id := component.MustNewID("limited_storage")
	host := collectortest.Host(map[component.ID]component.Component{
		id: limitedStorage{countingStorage: newCountingStorage(), max: 1536<<10 - 4096},
	})
	for _, tc := range []struct {
		seen int
		ok   bool
	}{{100_000, true}, {150_000, false}} {
		cfg := usmAlarmsConfig("http://127.0.0.1:1", nil)
		cfg.Storage, cfg.MaxSeenIDs = &id, tc.seen
		r, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
		require.NoError(t, err)
		err = r.Start(context.Background(), host)
		if tc.ok {
			require.NoError(t, err, "the default fits etcd")
		} else {
			require.ErrorContains(t, err, "max_seen_ids: 150000 ids make checkpoints of up to")
		}
		require.NoError(t, r.Shutdown(context.Background()))
	}
}
