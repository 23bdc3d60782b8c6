package securityalertsreceiver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/collectortest"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadata"
)

// TestCorruptCheckpointHoldsTheStream: a checkpoint that does not decode is reported by name and
// left as it is, and its stream does not start over at initial_lookback (which could re-emit a
// day of records or, after a long outage, skip what is older).
func TestCorruptCheckpointHoldsTheStream(t *testing.T) {
	usm := newFakeUSM(t)
	dir := t.TempDir()
	const garbage = `{"watermark": "not a time"`
	writeStored(t, dir, "usm_anywhere/alarms", garbage)

	cfg := testConfig(usm.URL)
	cfg.USMAnywhere.Get().Events.Enabled = false
	host, id := collectortest.FileStorageHost(t, dir)
	cfg.Storage = &id
	core, logged := observer.New(zapcore.WarnLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	logs := &consumertest.LogsSink{}
	stop := runWith(t, set, cfg, host, logs, nil)
	require.Eventually(t, func() bool {
		for _, e := range logged.All() {
			for _, f := range e.Context {
				if strings.Contains(f.String+errorText(f), "stored checkpoint of usm_anywhere/alarms is corrupt") {
					return true
				}
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond)
	stop()

	assert.Zero(t, logs.LogRecordCount(), "the stream started over instead of holding")
	assert.Equal(t, garbage, readStored(t, dir, "usm_anywhere/alarms"), "the corrupt checkpoint was overwritten")
}

func errorText(f zapcore.Field) string {
	if err, ok := f.Interface.(error); ok {
		return err.Error()
	}
	return ""
}

// storageClient opens the storage the receiver uses, on the real file_storage in dir.
func storageClient(t *testing.T, dir string) storage.Client {
	t.Helper()
	host, id := collectortest.FileStorageHost(t, dir)
	client, err := host.GetExtensions()[id].(storage.Extension).GetClient(context.Background(), component.KindReceiver, component.NewID(metadata.Type), "")
	require.NoError(t, err)
	return client
}

func writeStored(t *testing.T, dir, stream, value string) {
	client := storageClient(t, dir)
	require.NoError(t, client.Set(context.Background(), checkpointKey(stream), []byte(value)))
	require.NoError(t, client.Close(context.Background()))
}

func readStored(t *testing.T, dir, stream string) string {
	client := storageClient(t, dir)
	defer func() { require.NoError(t, client.Close(context.Background())) }()
	data, err := client.Get(context.Background(), checkpointKey(stream))
	require.NoError(t, err)
	return string(data)
}

// TestCheckpointsOfThePreviousReleaseAreResumed opens checkpoints written by release 0.1.0 (a
// file_storage database, testdata/checkpoints-v1): every stream resumes where that release
// stopped, and what it remembered emitting is not emitted again. A new format must never
// silently start over at initial_lookback.
func TestCheckpointsOfThePreviousReleaseAreResumed(t *testing.T) {
	dir := t.TempDir()
	stored, err := os.ReadFile(filepath.Join("testdata", "checkpoints-v1", "receiver_securityalerts_"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "receiver_securityalerts_"), stored, 0o600))

	// The USM Anywhere alarms' watermark in the sample, and an alarm its seen-set remembers there.
	watermark := time.Date(2026, 12, 1, 13, 10, 22, 369_000_000, time.UTC)
	tl := &timeline{}
	tl.add(usmAlarm("181f140e-0f07-42de-af14-e9fe046f052a", watermark), usmAlarm("after-upgrade", watermark.Add(time.Second)))
	usm := newUnkindUSM(t, tl)

	var ciscoAfter atomic.Value
	mux := http.NewServeMux()
	mux.HandleFunc("POST /iroh/oauth2/token", tokenHandler)
	mux.HandleFunc("POST /event-detection/customer/CTA1/events/search", func(w http.ResponseWriter, r *http.Request) {
		if authorized(w, r) {
			ciscoAfter.CompareAndSwap(nil, r.URL.Query().Get("after"))
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"items":[],"pageInfo":{"hasNextPage":false}}`))
		}
	})
	cisco := httptest.NewServer(mux)
	t.Cleanup(cisco.Close)

	cfg := usmAlarmsConfig(usm.URL, nil)
	cc := defaultCiscoGTAConfig()
	cc.Endpoint, cc.TokenURL, cc.ClientID, cc.ClientSecret, cc.CustomerID = cisco.URL, cisco.URL+"/iroh/oauth2/token", "id", "secret", "CTA1"
	cc.Alerts.Enabled, cc.Events.Enrich = false, false
	cfg.CiscoGTA = configoptional.Some(cc)
	host, id := collectortest.FileStorageHost(t, dir)
	cfg.Storage = &id
	sink := &consumertest.LogsSink{}
	stop := run(t, cfg, host, sink, nil)
	defer stop()

	require.Eventually(t, func() bool { return emittedIDs(sink.AllLogs())["after-upgrade"] == 1 }, 10*time.Second, 10*time.Millisecond)
	assert.NotContains(t, emittedIDs(sink.AllLogs()), "181f140e-0f07-42de-af14-e9fe046f052a", "emitted by the previous release, remembered through the upgrade")
	require.Eventually(t, func() bool { return ciscoAfter.Load() != nil }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, "973", ciscoAfter.Load(), "the Cisco events resume after their stored sequence number")
	assert.Equal(t, strconv.FormatInt(watermark.UnixMilli(), 10), tl.firstParams().Get("timestamp_occured_gte"), "the alarms resume at their stored watermark")
}
