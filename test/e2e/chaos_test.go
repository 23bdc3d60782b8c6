//go:build integration

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/internal/simulator"
)

// chaosStreams are the simulated record streams the chaos configuration polls, by source.
var chaosStreams = map[string][]string{
	"usm_anywhere": {"alarm", "event"},
	"usm_central":  {"alarm", "event"},
	"cisco_gta":    {"alert", "threat_detection", "event"},
	"trend_cas":    {"security_event"},
}

// TestChaos runs the built collector on all four sources at once with every fault the simulator
// has switched on (429 bursts with Retry-After, 500s, connection resets, responses stalled past
// the client timeout, truncated pages, token revocation, late arrivals that shift pages, alert
// updates), and every way the real APIs are unkind: alarms closed while the receiver walks
// status=open, device clocks a day ahead, records without ids, USM Central's Elasticsearch total
// cap and result window, Trend pages in no order and a first window past its 72-hour horizon, a
// USM Central deployment that disconnects and comes back with the records it buffered, Cisco
// repeating a cursor. Besides: a next-page link to a foreign host for a while, the OTLP backend
// going away and coming back, and two SIGKILLs (mid-backlog, mid-window) with restarts on
// file_storage. Every record that should arrive must reach the backend (every one but the alarms
// closed, which may leave the open set before they are read), with duplicates at most 1 %, no
// credential sent to the foreign host, and the collector never exiting on its own.
func TestChaos(t *testing.T) {
	sim := simulator.New(simulator.Options{
		Seed:                42,
		Backlog:             1000,
		Lookback:            2 * time.Hour,
		ArrivalsPerSecond:   2,
		LateArrivalFraction: 0.1,
		LateArrivalMax:      20 * time.Second,
		UpdatesPerSecond:    2,
		TokenTTL:            10 * time.Second,
		TrendCASPerMinute:   100_000,
		TrendCASPerDay:      10_000_000,
		// The unkind real APIs.
		AlarmsClosedPerSecond: 1,
		FutureFraction:        0.02,
		MissingIDFraction:     0.05,
		CentralTotalCap:       400,
		CentralResultWindow:   400,
		TrendCASShuffledPages: true,
	})
	simURL, err := sim.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(sim.Close)
	faults := simulator.Faults{
		Rate429: 0.04, RetryAfterSeconds: 1, Rate500: 0.04, TruncateBody: 0.03,
		ResetRate: 0.02, StallRate: 0.01, StallFor: 5 * time.Second, RevokeEvery: 4 * time.Second,
		CiscoRepeatCursor: 0.02,
	}
	sim.SetFaults(faults)
	foreign := newForeignHost(t)
	sink := newOTLPSink(t)
	config := writeChaosConfig(t, simURL, sink.url())
	backlog := len(owed(sim))

	first := startCollector(t, config)
	waitFor(t, 90*time.Second, "a quarter of the backlog exported", func() bool { return sink.exported() >= backlog/4 })
	first.kill(t)
	atFirstKill := sink.exported()
	phases := []string{"before the first kill: " + duplicateFigures(sink)}
	require.Less(t, atFirstKill, backlog, "the first kill must land mid-sync")

	second := startCollector(t, config)
	// A deployment drops off the console; what it generates meanwhile shows up, with its original
	// times, when it comes back.
	const away = 8 * time.Second
	require.NoError(t, sim.DisconnectDeployment("globex", away))
	back := time.Now().Add(away)
	withForeign := faults
	withForeign.ForeignNextHost = foreign.addr()
	sim.SetFaults(withForeign)
	time.Sleep(3 * time.Second)
	sim.SetFaults(faults)
	phases = append(phases, "after the first restart: "+duplicateFigures(sink))
	sink.stop()
	time.Sleep(4 * time.Second) // the collector keeps polling into its persistent queue
	second.kill(t)
	atSecondKill := sink.exported()
	sink.start(t)

	third := startCollector(t, config)
	time.Sleep(2 * time.Second)
	phases = append(phases, "after the second restart: "+duplicateFigures(sink))
	// What exists now must all arrive, once the deployment is back; more keeps arriving meanwhile.
	time.Sleep(time.Until(back))
	want := owed(sim)
	var missing []string
	t.Cleanup(func() {
		if len(missing) > 0 {
			t.Logf("%d records missing, for example %v", len(missing), missing[:min(len(missing), 20)])
			for source, kinds := range chaosStreams {
				for _, kind := range kinds {
					for _, r := range sim.Records(source, kind) {
						for _, m := range missing {
							if strings.HasSuffix(m, "/"+r.ID) {
								t.Logf("missing %s (%s): occurred %s, visible from %s, held until %s", m, kind, r.Occurred, r.Received, r.HeldUntil)
							}
						}
					}
				}
			}
		}
	})
	waitFor(t, 3*time.Minute, "every simulated record exported", func() bool {
		missing = sink.missing(want)
		return len(missing) == 0
	})
	waitFor(t, 30*time.Second, "the metrics of every source exported", func() bool {
		for _, name := range []string{
			"securityalerts.records", "securityalerts.risk_score", "securityalerts.api.requests", "securityalerts.alerts.open",
			"securityalerts.deployments", "securityalerts.api.quota.remaining",
			"securityalerts.records.future_dated", "securityalerts.sync.skipped",
		} {
			if !sink.sawMetric(name) {
				return false
			}
		}
		return true
	})
	third.stop(t)

	checked := len(want)
	duplicates, _, versions := sink.duplicates()
	stats := sim.Stats()
	t.Logf("chaos figures: records simulated and checked %d (backlog %d), exported distinct records %d, record versions %d, duplicate deliveries %s (%.2f%%; %s); exported at first kill %d, at second kill %d; faults injected %s; 429s from the rate limit %d; tokens issued %d; requests to the foreign host %d",
		checked, backlog, sink.exported(), versions, duplicateFigures(sink), 100*float64(duplicates)/float64(versions), strings.Join(phases, ", "),
		atFirstKill, atSecondKill, formatCounts(stats.Faults), stats.RateLimited, stats.TokensIssued, foreign.requests())
	assert.LessOrEqual(t, float64(duplicates), 0.01*float64(versions), "duplicates beyond 1 percent")
	assert.Zero(t, foreign.requests(), "a request followed a next-page link to a foreign host: %v", foreign.seen())
	for _, kind := range []string{"rate_429", "rate_500", "truncate_body", "reset", "stall", "foreign_next_host", "revoke_every", "cisco_repeat_cursor"} {
		assert.Positive(t, stats.Faults[kind], "fault %s was never injected", kind)
	}
	for _, c := range []*collector{first, second, third} {
		assert.NotContains(t, c.output.String(), "panic")
	}
}

// owed lists every record the simulator holds on the polled streams that the backend must
// receive: by source and id, or for a record without one, by its content. The USM alarms are
// read with status=open: those not open are not owed, nor those closed since they were (they
// may leave the set before the receiver reads them). USM Central's searches and Trend's windows
// end at now: a record dated ahead of now is read once its time comes, not during this test.
func owed(sim *simulator.Simulator) []recordKey {
	var out []recordKey
	now := time.Now()
	for source, kinds := range chaosStreams {
		for _, kind := range kinds {
			for _, r := range sim.Records(source, kind) {
				switch {
				case kind == "alarm" && (source == "usm_anywhere" || source == "usm_central") && (!r.Closed.IsZero() || alarmStatus(r.Fields) != "open"):
				case (source == "usm_central" || source == "trend_cas") && r.Occurred.After(now):
				case r.HasID:
					out = append(out, recordKey{source: source, id: r.ID})
				default:
					out = append(out, recordKey{source: source, content: canonicalJSON(r.Fields)})
				}
			}
		}
	}
	return out
}

// alarmStatus is a USM alarm's status, or a USM Central search result's alarm's.
func alarmStatus(fields map[string]any) string {
	if inner, ok := fields["alarm"].(map[string]any); ok {
		fields = inner
	}
	status, _ := fields["status"].(string)
	return status
}

func duplicateFigures(sink *otlpSink) string {
	extra, bySource, _ := sink.duplicates()
	counts := make(map[string]int64, len(bySource))
	for source, n := range bySource {
		counts[source] = int64(n)
	}
	return fmt.Sprintf("%d [%s]", extra, formatCounts(counts))
}

func formatCounts(counts map[string]int64) string {
	parts := make([]string, 0, len(counts))
	for k, v := range counts {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// foreignHost is where the simulator points next-page links for a while: nothing should ever
// reach it, least of all a credential.
type foreignHost struct {
	server *httptest.Server
	mu     sync.Mutex
	got    []string
}

func newForeignHost(t *testing.T) *foreignHost {
	f := &foreignHost{}
	f.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.got = append(f.got, fmt.Sprintf("%s %s (Authorization set: %t)", r.Method, r.URL, r.Header.Get("Authorization") != ""))
		f.mu.Unlock()
		http.Error(w, "foreign", http.StatusTeapot)
	}))
	t.Cleanup(f.server.Close)
	return f
}

func (f *foreignHost) addr() string { return strings.TrimPrefix(f.server.URL, "http://") }

func (f *foreignHost) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.got)
}

func (f *foreignHost) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

func writeChaosConfig(t *testing.T, simURL, sinkURL string) string {
	t.Helper()
	dir := t.TempDir()
	storage := filepath.Join(dir, "storage")
	require.NoError(t, os.MkdirAll(storage, 0o700))
	config := fmt.Sprintf(`
extensions:
  file_storage:
    directory: %[1]s
receivers:
  securityalerts:
    poll_interval: 1s
    # Beyond Trend's 72-hour horizon: its first window must start there.
    initial_lookback: 96h
    storage: file_storage
    retry_on_failure:
      enabled: true
      initial_interval: 50ms
      max_interval: 500ms
      max_elapsed_time: 0
    usm_anywhere:
      endpoint: %[2]s
      timeout: 2s
      client_id: sim-client
      client_secret: sim-secret
      alarms: {enabled: true, filters: {status: open}}
      events: {enabled: true}
      page_size: 25
      requests_per_second: 40
    usm_central:
      endpoint: %[2]s
      timeout: 2s
      client_id: sim-client
      client_secret: sim-secret
      alarms: {enabled: true, filters: {status: open}}
      events: {enabled: true}
      page_size: 25
      requests_per_second: 40
      deployments: {refresh_every: 2}
    cisco_gta:
      endpoint: %[2]s
      token_url: %[2]s/iroh/oauth2/token
      timeout: 2s
      client_id: sim-client
      client_secret: sim-secret
      alerts: {enabled: true}
      threat_detections: {enabled: true}
      events: {enabled: true}
      page_size: 25
      requests_per_second: 40
    trend_cas:
      endpoint: %[2]s
      timeout: 2s
      token: sim-trend-token
      limit: 25
      requests_per_minute: 100000
      requests_per_day: 10000000
      query_delay: 0s
exporters:
  otlp_http:
    endpoint: %[3]s
    sending_queue:
      enabled: true
      storage: file_storage
      # Each consumer's request in flight at a crash is sent again after the restart: fewer
      # consumers, fewer duplicates (at this volume two keep up).
      num_consumers: 2
    retry_on_failure:
      enabled: true
      initial_interval: 100ms
      max_interval: 1s
      max_elapsed_time: 0
service:
  extensions: [file_storage]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [securityalerts]
      exporters: [otlp_http]
    metrics:
      receivers: [securityalerts]
      exporters: [otlp_http]
`, storage, simURL, sinkURL)
	path := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(config), 0o600))
	return path
}
