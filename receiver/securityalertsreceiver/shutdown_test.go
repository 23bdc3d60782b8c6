package securityalertsreceiver

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/collectortest"
)

// Shutdown while a page is in flight abandons that page: it returns while the server still holds
// the request, the checkpoint stays at the last accepted page, and a restart delivers the rest.
func TestShutdownAbandonsThePageInFlight(t *testing.T) {
	tl := &timeline{}
	backlog := alarmsEvery("a", 60, time.Now().Add(-time.Hour), time.Minute/2)
	tl.add(backlog...)
	usm := newUnkindUSM(t, tl)
	var holdSecondPage atomic.Bool
	holdSecondPage.Store(true)
	held := make(chan struct{}, 1)
	var alarmRequests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The walk's second request: a fresh query from the first page's newest alarm.
		if r.URL.Path == "/api/2.0/alarms" && alarmRequests.Add(1) >= 2 && holdSecondPage.Load() {
			select {
			case held <- struct{}{}:
			default:
			}
			<-r.Context().Done() // until the client gives up
			return
		}
		usm.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	host, storageID := collectortest.FileStorageHost(t, dir)
	cfg := usmAlarmsConfig(srv.URL, nil)
	cfg.Storage = &storageID
	cfg.USMAnywhere.Get().PageSize = 20
	logs := &consumertest.LogsSink{}
	stop := run(t, cfg, host, logs, nil)
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("the second page was never requested")
	}

	stopped := make(chan struct{})
	go func() {
		stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second): // the collector's default shutdown budget is far longer
		t.Fatal("Shutdown waits for a response that never comes")
	}
	assert.Equal(t, 20, logs.LogRecordCount(), "only the first page was delivered")
	cp := storedCheckpoint(t, dir, "usm_anywhere/alarms")
	require.NotNil(t, cp)
	var newest time.Time
	for _, lr := range collectortest.LogRecords(logs) {
		if ts := lr.Timestamp().AsTime(); ts.After(newest) {
			newest = ts
		}
	}
	assert.True(t, cp.Watermark.Equal(newest), "checkpoint %s is not the first page's newest record %s", cp.Watermark, newest)

	holdSecondPage.Store(false)
	host, _ = collectortest.FileStorageHost(t, dir)
	rest := &consumertest.LogsSink{}
	stop = run(t, cfg, host, rest, nil)
	defer stop()
	require.Eventually(t, func() bool {
		return logs.LogRecordCount()+rest.LogRecordCount() >= len(backlog)
	}, 10*time.Second, 20*time.Millisecond)
	seen := map[string]bool{}
	for _, sink := range []*consumertest.LogsSink{logs, rest} {
		for _, lr := range collectortest.LogRecords(sink) {
			id, _ := lr.Attributes().Get(attrID)
			seen[id.Str()] = true
		}
	}
	for _, alarm := range backlog {
		assert.True(t, seen[alarm.id], "alarm %s lost across the shutdown", alarm.id)
	}
}
