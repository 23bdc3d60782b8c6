package securityalertsreceiver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

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
	host, id := fileStorageHost(t, dir)
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
	host, id := fileStorageHost(t, dir)
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
