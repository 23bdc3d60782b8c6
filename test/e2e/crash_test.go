//go:build integration

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/internal/simulator"
)

const (
	pageSize = 50
	streams  = 2 // USM Anywhere alarms and events
)

// TestSurvivesFaultsAndSIGKILL runs the built collector against the simulator with faults on
// (429 + Retry-After, 500, truncated pages, token revocation, short-lived tokens), kills it with
// SIGKILL in the middle of the backlog, restarts it on the same file_storage, and checks that
// every simulated record reached the OTLP backend, with duplicates only around the crash.
func TestSurvivesFaultsAndSIGKILL(t *testing.T) {
	sim := simulator.New(simulator.Options{
		Seed:              42,
		Backlog:           2000,
		Lookback:          24 * time.Hour,
		ArrivalsPerSecond: 20,
		TokenTTL:          10 * time.Second,
	})
	simURL, err := sim.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(sim.Close)
	sim.SetFaults(simulator.Faults{
		Rate429:           0.05,
		RetryAfterSeconds: 1,
		Rate500:           0.05,
		TruncateBody:      0.03,
		RevokeEvery:       3 * time.Second,
	})

	sink := newOTLPSink(t)
	dir := t.TempDir()
	config := writeConfig(t, dir, simURL, sink.server.URL)

	first := startCollector(t, config)
	waitFor(t, 60*time.Second, "first records exported", func() bool { return len(sink.snapshot()) >= 300 })
	first.kill(t)
	atCrash := len(sink.snapshot())
	backlog := len(sim.IDs("usm_anywhere", "alarm")) + len(sim.IDs("usm_anywhere", "event"))
	require.Less(t, atCrash, backlog, "the kill must land mid-sync: the whole backlog was already exported")

	second := startCollector(t, config)
	// Records generated up to now must all arrive; the simulator keeps adding more meanwhile.
	time.Sleep(2 * time.Second)
	want := append(sim.IDs("usm_anywhere", "alarm"), sim.IDs("usm_anywhere", "event")...)
	var missing []string
	waitFor(t, 120*time.Second, "every simulated record exported", func() bool {
		got := sink.snapshot()
		missing = missing[:0]
		for _, id := range want {
			if got[id] == 0 {
				missing = append(missing, id)
			}
		}
		return len(missing) == 0
	})
	waitFor(t, 30*time.Second, "count metrics exported", func() bool {
		return sink.sawMetric("securityalerts.records") && sink.sawMetric("securityalerts.risk_score") && sink.sawMetric("securityalerts.api.requests")
	})
	second.stop(t)

	got := sink.snapshot()
	duplicates := 0
	for _, n := range got {
		duplicates += n - 1
	}
	stats := sim.Stats()
	t.Logf("records simulated (checked): %d, exported unique: %d, duplicates: %d, exported at crash: %d; simulator stats: %+v",
		len(want), len(got), duplicates, atCrash, stats)
	// A crash can repeat what was accepted after the last stored checkpoint: at most the page in
	// flight per stream, plus what the exporter's persistent queue had dequeued but not confirmed.
	assert.LessOrEqual(t, duplicates, 4*pageSize*streams, "duplicates beyond what one crash explains")
	assert.NotContains(t, second.output.String(), "panic")
}

func writeConfig(t *testing.T, dir, simURL, sinkURL string) string {
	t.Helper()
	storage := filepath.Join(dir, "storage")
	require.NoError(t, os.MkdirAll(storage, 0o700))
	config := fmt.Sprintf(`
extensions:
  file_storage:
    directory: %[1]s
receivers:
  securityalerts:
    poll_interval: 1s
    initial_lookback: 24h
    storage: file_storage
    retry_on_failure:
      enabled: true
      initial_interval: 50ms
      max_interval: 500ms
      max_elapsed_time: 0
    usm_anywhere:
      endpoint: %[2]s
      client_id: sim-client
      client_secret: sim-secret
      alarms: {enabled: true}
      events: {enabled: true}
      page_size: %[4]d
      requests_per_second: 40
exporters:
  otlphttp:
    endpoint: %[3]s
    sending_queue:
      enabled: true
      storage: file_storage
    retry_on_failure:
      enabled: true
      initial_interval: 100ms
      max_interval: 1s
service:
  extensions: [file_storage]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [securityalerts]
      exporters: [otlphttp]
    metrics:
      receivers: [securityalerts]
      exporters: [otlphttp]
`, storage, simURL, sinkURL, pageSize)
	path := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(config), 0o600))
	return path
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
