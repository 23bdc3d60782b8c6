package securityalertsreceiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap/zaptest"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/collectortest"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadata"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadatatest"
)

// fakeUSM serves the fixtures in testdata/usm: three alarms (and one item that is not an alarm)
// over two pages, and one event under the eventResources key.
type fakeUSM struct {
	*httptest.Server
	mu      sync.Mutex
	queries []string      // the alarms list's first-page queries, in order
	served  []http.Header // every request's headers, with its path under "Path"
}

func newFakeUSM(t *testing.T) *fakeUSM {
	f := &fakeUSM{}
	page := func(w http.ResponseWriter, name string) {
		data, err := os.ReadFile(filepath.Join("testdata", "usm", name))
		require.NoError(t, err)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(strings.ReplaceAll(string(data), "{{BASE}}", f.URL)))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/2.0/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		if id, secret, ok := r.BasicAuth(); !ok || id != "id" || secret != "secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"tok","token_type":"bearer","expires_in":899}`))
	})
	mux.HandleFunc("GET /api/2.0/alarms", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		q := r.URL.Query()
		if q.Get("status") == "open" && q.Get("size") == "1" {
			// The fixtures' open alarms: one low, one high (the third is "in review").
			open := map[string]int{"low": 1, "high": 1}[q.Get("priority_label")]
			_, _ = fmt.Fprintf(w, `{"page":{"size":1,"totalElements":%d,"totalPages":%d,"number":0}}`, open, open)
			return
		}
		if q.Get("page") == "1" {
			page(w, "alarms-1.json")
			return
		}
		f.mu.Lock()
		f.queries = append(f.queries, r.URL.RawQuery)
		f.mu.Unlock()
		page(w, "alarms-0.json")
	})
	mux.HandleFunc("GET /api/2.0/events", func(w http.ResponseWriter, _ *http.Request) { page(w, "events-0.json") })
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Clone()
		header.Set("Path", r.URL.Path)
		f.mu.Lock()
		f.served = append(f.served, header)
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// requests is how many requests were made for path.
func (f *fakeUSM) requests(path string) int {
	n := 0
	for _, h := range f.requestHeaders() {
		if h.Get("Path") == path {
			n++
		}
	}
	return n
}

func (f *fakeUSM) requestHeaders() []http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.served)
}

func (f *fakeUSM) firstPageQueries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.queries...)
}

func testConfig(endpoint string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.PollInterval = time.Second
	cfg.RetryOnFailure.InitialInterval = 10 * time.Millisecond
	cfg.RetryOnFailure.MaxInterval = 50 * time.Millisecond
	cfg.RetryOnFailure.MaxElapsedTime = 200 * time.Millisecond
	usm := defaultUSMAnywhereConfig()
	usm.Endpoint = endpoint
	usm.ClientID = "id"
	usm.ClientSecret = "secret"
	usm.Events.Enabled = true
	cfg.USMAnywhere = configoptional.Some(usm)
	return cfg
}

// run starts the receiver for the given pipelines and returns its shutdown.
func run(t *testing.T, cfg *Config, host component.Host, logs consumer.Logs, metrics consumer.Metrics) func() {
	t.Helper()
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zaptest.NewLogger(t)
	return runWith(t, set, cfg, host, logs, metrics)
}

func runWith(t *testing.T, set receiver.Settings, cfg *Config, host component.Host, logs consumer.Logs, metrics consumer.Metrics) func() {
	t.Helper()
	return collectortest.Start(t, NewFactory(), set, cfg, host, logs, metrics)
}

func TestLogsMatchGolden(t *testing.T) {
	usm := newFakeUSM(t)
	sink := &consumertest.LogsSink{}
	stop := run(t, testConfig(usm.URL), componenttest.NewNopHost(), sink, nil)
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= 4 }, 10*time.Second, 10*time.Millisecond)
	stop()

	batches := sink.AllLogs()
	replaceHost(batches, strings.TrimPrefix(usm.URL, "http://"))
	requireGoldenLogs(t, filepath.Join("testdata", "golden", "usm_anywhere_logs.yaml"), mergeLogs(batches, "alarm", "event"))
}

// mergeLogs puts every batch's records under one resource per kind, in the given order, so that
// the comparison does not depend on how polls split the pages or which stream answered first.
// The tenant (the test server's random port) becomes a fixed value.
func mergeLogs(batches []plog.Logs, kinds ...string) plog.Logs {
	merged := plog.NewLogs()
	byKind := map[string]plog.LogRecordSlice{}
	for _, kind := range kinds {
		rl := merged.ResourceLogs().AppendEmpty()
		byKind[kind] = rl.ScopeLogs().AppendEmpty().LogRecords()
	}
	for _, b := range batches {
		for i := 0; i < b.ResourceLogs().Len(); i++ {
			rl := b.ResourceLogs().At(i)
			sl := rl.ScopeLogs().At(0)
			kind, _ := sl.LogRecords().At(0).Attributes().Get(attrKind)
			target := merged.ResourceLogs().At(slices.Index(kinds, kind.Str()))
			rl.Resource().CopyTo(target.Resource())
			target.Resource().Attributes().PutStr("securityalerts.tenant", "tenant.test")
			sl.Scope().CopyTo(target.ScopeLogs().At(0).Scope())
			sl.LogRecords().MoveAndAppendTo(byKind[kind.Str()])
		}
	}
	return merged
}

// failingLogs refuses every batch until accept is set, like an exporter whose backend is down.
type failingLogs struct {
	consumertest.LogsSink
	accept  atomic.Bool
	refused atomic.Int64
}

func (f *failingLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if !f.accept.Load() {
		f.refused.Add(1)
		return errors.New("backend down")
	}
	return f.LogsSink.ConsumeLogs(ctx, ld)
}

func TestCheckpointAdvancesOnlyAfterAcceptanceAndSurvivesRestart(t *testing.T) {
	usm := newFakeUSM(t)
	dir := t.TempDir()
	cfg := testConfig(usm.URL)
	cfg.USMAnywhere.Get().Events.Enabled = false
	host, id := collectortest.FileStorageHost(t, dir)
	cfg.Storage = &id

	logs := &failingLogs{}
	stop := run(t, cfg, host, logs, nil)
	require.Eventually(t, func() bool { return logs.refused.Load() >= 3 }, 10*time.Second, 10*time.Millisecond)
	stop()
	assert.Nil(t, storedCheckpoint(t, dir, "usm_anywhere/alarms"), "a refused page must not advance the checkpoint")

	// Once the pipeline accepts, the same records arrive and the checkpoint moves to the newest.
	logs.accept.Store(true)
	host, _ = collectortest.FileStorageHost(t, dir)
	stop = run(t, cfg, host, logs, nil)
	require.Eventually(t, func() bool { return logs.LogRecordCount() >= 3 }, 10*time.Second, 10*time.Millisecond)
	stop()
	cp := storedCheckpoint(t, dir, "usm_anywhere/alarms")
	require.NotNil(t, cp)
	assert.Equal(t, int64(1517932136000), cp.Watermark.UnixMilli())
	assert.Equal(t, 3, cp.SeenCount())

	// A restarted receiver resumes from the stored checkpoint (a fresh query from the newest
	// alarm delivered; the overlap behind it is counted for late arrivals) and emits nothing twice.
	before := len(usm.firstPageQueries())
	logs2 := &consumertest.LogsSink{}
	host, _ = collectortest.FileStorageHost(t, dir)
	stop = run(t, cfg, host, logs2, nil)
	require.Eventually(t, func() bool { return len(usm.firstPageQueries()) > before }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	stop()
	resumed := usm.firstPageQueries()[before]
	assert.Contains(t, resumed, "timestamp_occured_gte=1517932136000", "resume at the watermark")
	assert.Contains(t, resumed, "sort=timestamp_occured%2Casc")
	assert.Zero(t, logs2.LogRecordCount(), "records already emitted were emitted again")
}

func TestPermanentRefusalDropsAndAdvances(t *testing.T) {
	usm := newFakeUSM(t)
	cfg := testConfig(usm.URL)
	cfg.USMAnywhere.Get().Events.Enabled = false
	metrics := &consumertest.MetricsSink{}
	stop := run(t, cfg, componenttest.NewNopHost(), consumertest.NewErr(consumererror.NewPermanent(errors.New("bad data"))), metrics)
	require.Eventually(t, func() bool {
		return collectortest.SumValue(metrics, "securityalerts.records.dropped", map[string]string{"reason": "rejected"}) >= 3
	}, 10*time.Second, 20*time.Millisecond)
	stop()
	assert.Positive(t, collectortest.SumValue(metrics, "securityalerts.records.dropped", map[string]string{"reason": "malformed"}))
}

func TestMetricsCountRecordsAndRisk(t *testing.T) {
	usm := newFakeUSM(t)
	logs := &consumertest.LogsSink{}
	metrics := &consumertest.MetricsSink{}
	stop := run(t, testConfig(usm.URL), componenttest.NewNopHost(), logs, metrics)
	require.Eventually(t, func() bool {
		return collectortest.SumValue(metrics, "securityalerts.records", nil) >= 4 && collectortest.SumValue(metrics, "securityalerts.api.requests", nil) > 0
	}, 10*time.Second, 20*time.Millisecond)
	stop()

	// Fixtures: alarms low, high, high (priority 60); one info event. Risk = 1 + 7 + 7 + 0.
	assert.EqualValues(t, 2, collectortest.SumValue(metrics, "securityalerts.records", map[string]string{"kind": "alarm", "severity": "high"}))
	assert.EqualValues(t, 1, collectortest.SumValue(metrics, "securityalerts.records", map[string]string{"kind": "alarm", "severity": "low"}))
	assert.EqualValues(t, 1, collectortest.SumValue(metrics, "securityalerts.records", map[string]string{"kind": "event", "severity": "info"}))
	assert.EqualValues(t, 15, collectortest.SumValue(metrics, "securityalerts.risk_score", map[string]string{"kind": "alarm"}))
	assert.Positive(t, collectortest.SumValue(metrics, "securityalerts.api.requests", map[string]string{"http.response.status_code": "200"}))
	assert.Equal(t, map[string]int64{"low": 1, "medium": 0, "high": 1}, collectortest.OpenAlerts(metrics))
	// Severities not seen yet are series at zero, so that their first record is an increase.
	assert.Equal(t, 10, countPoints(metrics, "securityalerts.records"), "5 severities × (alarm, event)")
	assert.Zero(t, collectortest.SumValue(metrics, "securityalerts.records", map[string]string{"kind": "alarm", "severity": "critical"}))
}

func TestRequestDurationHistogramInCollectorTelemetry(t *testing.T) {
	usm := newFakeUSM(t)
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	logs := &consumertest.LogsSink{}
	stop := runWith(t, metadatatest.NewSettings(tt), testConfig(usm.URL), componenttest.NewNopHost(), logs, nil)
	require.Eventually(t, func() bool { return logs.LogRecordCount() >= 4 }, 10*time.Second, 20*time.Millisecond)
	stop()

	got, err := tt.GetMetric("otelcol_receiver_securityalerts_api_request_duration")
	require.NoError(t, err)
	hist, ok := got.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "%T is not a histogram", got.Data)
	var ok200 uint64
	for _, dp := range hist.DataPoints {
		source, _ := dp.Attributes.Value("source")
		status, _ := dp.Attributes.Value("http.response.status_code")
		assert.Equal(t, "usm_anywhere", source.AsString())
		if status.AsInt64() == 200 {
			ok200 += dp.Count
		}
	}
	assert.GreaterOrEqual(t, ok200, uint64(2), "one page of alarms and one of events at least")
}

// countPoints is the number of data points of a sum in the newest emission.
func countPoints(sink *consumertest.MetricsSink, name string) int {
	n := 0
	collectortest.LatestMetric(sink, name, func(m pmetric.Metric) { n += m.Sum().DataPoints().Len() })
	return n
}

// storedCheckpoint reads a checkpoint straight from the storage the receiver wrote to.
func storedCheckpoint(t *testing.T, dir, stream string) *engine.Checkpoint {
	t.Helper()
	data := readStored(t, dir, stream)
	if data == "" {
		return nil
	}
	cp, err := engine.DecodeCheckpoint([]byte(data))
	require.NoError(t, err)
	return cp
}
