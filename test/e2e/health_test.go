//go:build integration

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/internal/simulator"
)

// TestHealthEndpointFollowsTheSources runs the built collector on two sources, each on a
// simulator of its own so that one can fail while the other works, with health_check v2 reading
// component status. The health endpoint turns unhealthy, naming usm_anywhere alone, while its
// requests keep failing past retries, and healthy again once they pass; it turns unhealthy at
// once, with the vendor's refusal, when the credential is revoked, and healthy again, with
// records flowing, once it is restored.
func TestHealthEndpointFollowsTheSources(t *testing.T) {
	usm := startSimulator(t)
	trend := startSimulator(t)
	sink := newOTLPSink(t)
	health := freeLoopbackAddr(t)
	config := writeHealthConfig(t, usm.url, trend.url, sink.url(), health)

	first := startCollector(t, config)
	waitFor(t, 60*time.Second, "records of both sources", func() bool {
		return sink.exportedFrom("usm_anywhere") > 0 && sink.exportedFrom("trend_cas") > 0
	})
	waitForHealth(t, health, http.StatusOK, "StatusOK", "")

	usm.sim.SetFaults(simulator.Faults{Rate500: 1})
	status := waitForHealth(t, health, http.StatusInternalServerError, "StatusRecoverableError", "usm_anywhere: polls failing on")
	assert.NotContains(t, status.Error, "trend_cas", "the working source is not named")
	assert.Contains(t, status.Error, "HTTP 500")

	usm.sim.SetFaults(simulator.Faults{})
	waitForHealth(t, health, http.StatusOK, "StatusOK", "")

	usm.sim.SetCredentialsRevoked(true)
	status = waitForHealth(t, health, http.StatusInternalServerError, "StatusRecoverableError", "usm_anywhere: credentials refused on")
	assert.Contains(t, status.Error, "token request refused: HTTP 401", "the vendor's refusal is in the status")
	assert.NotContains(t, status.Error, "trend_cas")

	usm.sim.SetCredentialsRevoked(false)
	before := sink.exportedFrom("usm_anywhere")
	waitFor(t, 60*time.Second, "usm_anywhere's records flowing again", func() bool { return sink.exportedFrom("usm_anywhere") > before })
	waitForHealth(t, health, http.StatusOK, "StatusOK", "")
	first.stop(t)
}

// runningSimulator is a simulator serving on loopback.
type runningSimulator struct {
	sim *simulator.Simulator
	url string
}

func startSimulator(t *testing.T) runningSimulator {
	t.Helper()
	sim := simulator.New(simulator.Options{
		Seed: 7, Backlog: 50, Lookback: time.Hour, ArrivalsPerSecond: 2,
		TrendCASPerMinute: 100_000, TrendCASPerDay: 10_000_000,
	})
	url, err := sim.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(sim.Close)
	return runningSimulator{sim: sim, url: url}
}

// writeHealthConfig is a collector on USM Anywhere's alarms and Trend's security events, with a
// short retry budget and recovery_duration, so that the status turns within seconds.
func writeHealthConfig(t *testing.T, usmURL, trendURL, sinkURL, healthAddr string) string {
	t.Helper()
	dir := t.TempDir()
	config := fmt.Sprintf(`
extensions:
  file_storage:
    directory: %[1]s
  healthcheckv2:
    use_v2: true
    component_health:
      include_permanent_errors: true
      include_recoverable_errors: true
      recovery_duration: 1s
    http:
      endpoint: %[5]s
      status: {enabled: true, path: /health/status}
receivers:
  securityalerts:
    poll_interval: 1s
    initial_lookback: 1h
    storage: file_storage
    retry_on_failure: {enabled: true, initial_interval: 50ms, max_interval: 200ms, max_elapsed_time: 1s}
    usm_anywhere:
      endpoint: %[2]s
      client_id: sim-client
      client_secret: sim-secret
    trend_cas:
      endpoint: %[3]s
      token: sim-trend-token
      services: [exchange]
      events: [securityrisk]
      requests_per_minute: 100000
      requests_per_day: 10000000
      query_delay: 0s
processors:
  memory_limiter: {check_interval: 1s, limit_mib: 400, spike_limit_mib: 100}
exporters:
  otlp_http:
    endpoint: %[4]s
service:
  extensions: [file_storage, healthcheckv2]
  telemetry:
    metrics: {level: none}
  pipelines:
    logs: {receivers: [securityalerts], processors: [memory_limiter], exporters: [otlp_http]}
    metrics: {receivers: [securityalerts], processors: [memory_limiter], exporters: [otlp_http]}
`, dir, usmURL, trendURL, sinkURL, healthAddr)
	path := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(config), 0o600))
	return path
}

// healthStatus is the body of health_check v2's status endpoint.
type healthStatus struct {
	Healthy bool   `json:"healthy"`
	Status  string `json:"status"`
	Error   string `json:"error"`
	code    int
}

func readHealth(t *testing.T, addr string) healthStatus {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/health/status")
	if err != nil {
		return healthStatus{Status: "unreachable: " + err.Error()}
	}
	defer resp.Body.Close()
	var status healthStatus
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&status))
	status.code = resp.StatusCode
	return status
}

// waitForHealth waits until the endpoint answers code with the status, and an error holding
// errorPart, and returns that answer.
func waitForHealth(t *testing.T, addr string, code int, status, errorPart string) healthStatus {
	t.Helper()
	var last healthStatus
	waitFor(t, 60*time.Second, fmt.Sprintf("health %d %s %q", code, status, errorPart), func() bool {
		last = readHealth(t, addr)
		return last.code == code && last.Status == status && strings.Contains(last.Error, errorPart)
	})
	return last
}

// exportedFrom counts the distinct records of source the sink received.
func (s *otlpSink) exportedFrom(source string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for key := range s.records {
		if strings.HasPrefix(key, source+"/") {
			n++
		}
	}
	return n
}
