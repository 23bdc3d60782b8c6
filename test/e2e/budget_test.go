//go:build integration

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/securityalerts/securityalerts/extension/etcdextension/etcdtest"
	"github.com/securityalerts/securityalerts/internal/simulator"
)

// The limits of the one USM Anywhere client and the one Trend token the three replicas share,
// as configured in every replica; the simulator enforces Trend's as the API does.
const (
	budgetRate     = 20 // USM Anywhere requests_per_second
	trendPerMinute = 60 // small enough that the day is spent within the test, not so small that
	trendPerDay    = 90 // the minute is shared in fractions
	trendToken     = "sim-trend-token"
)

// TestReplicasShareEachCredentialsBudget runs three collectors on one etcd, sharing one USM
// Anywhere client (a backlog on eight streams) and one Trend token (six service/event pairs):
// the simulator, counting by credential across all of them, never sees more than the configured
// requests in any second or minute, Trend never refuses a request, the group's day ends where
// the token's does, and the quota gauge (reported by one replica) says what the simulator saw.
func TestReplicasShareEachCredentialsBudget(t *testing.T) {
	etcd := etcdtest.Start(t)
	sim := simulator.New(simulator.Options{
		Seed:              23,
		Backlogs:          map[string]int{"usm_anywhere/alarm": 6000, "usm_anywhere/event": 6000, "trend_cas/security_event": 3000},
		Lookback:          24 * time.Hour,
		ArrivalsPerSecond: 1,
		TrendCASPerMinute: trendPerMinute,
		TrendCASPerDay:    trendPerDay,
		RecordRequests:    true,
	})
	simURL, err := sim.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(sim.Close)
	gauge := newQuotaGaugeSink(t)
	trendSeen := newCountSampler(func() int64 { return sim.Stats().Credentials["trend_cas"][trendToken].DataRequests })
	defer trendSeen.stop()

	var collectors []*collector
	for i := 1; i <= replicas; i++ {
		collectors = append(collectors, startCollector(t, writeBudgetConfig(t, "replica-"+strconv.Itoa(i), etcd.Endpoint, simURL, gauge.url)))
	}
	// Each replica sends Trend nothing for a minute window after its etcd session opens (it
	// cannot know what was given up before), then the group spends the day.
	// Not fatal: what the simulator counted says more about a failure than the wait that failed.
	assert.Eventually(t, func() bool { return trendSeen.latest() >= trendPerDay }, 4*time.Minute, 50*time.Millisecond, "the token's day spent")
	assert.Eventually(t, func() bool { v, ok := gauge.latest(); return ok && v == 0 }, 30*time.Second, 50*time.Millisecond, "the quota gauge at zero")
	time.Sleep(3 * time.Second) // a few more polls: nothing may go beyond the day
	stats := sim.Stats()
	for _, c := range collectors {
		c.stop(t)
	}

	usm := stats.Credentials["usm_anywhere"]["sim-client"]
	trend := stats.Credentials["trend_cas"][trendToken]
	t.Logf("usm_anywhere: %d data requests, at most %d in a second and %d in a minute (limit %d/s)",
		usm.DataRequests, usm.MaxDataPerSecond, usm.MaxDataPerMinute, budgetRate)
	t.Logf("trend_cas: %d data requests, at most %d in a minute (limit %d/min, %d/day)", trend.DataRequests, trend.MaxDataPerMinute, trendPerMinute, trendPerDay)
	assert.LessOrEqual(t, usm.MaxDataPerSecond, budgetRate, "the group exceeded the client's rate in some second")
	assert.LessOrEqual(t, usm.MaxDataPerMinute, 60*budgetRate, "the group exceeded the client's rate over some minute")
	assert.LessOrEqual(t, trend.MaxDataPerMinute, trendPerMinute, "the group exceeded the token's minute")
	assert.EqualValues(t, trendPerDay, trend.DataRequests, "the group's day is the token's")
	refused := 0
	for _, path := range []string{"/v1/siem/security_events", "/siem/v1/security_events"} {
		refused += int(stats.Requests[path][http.StatusTooManyRequests])
	}
	assert.Zero(t, refused, "Trend refused requests for quota")

	// The streams were spread.
	spent := map[string]map[string]int{}
	for _, r := range sim.Requests() {
		if kind := budgetOf(r.Path); kind != "" {
			if spent[r.Client] == nil {
				spent[r.Client] = map[string]int{}
			}
			spent[r.Client][kind]++
		}
	}
	t.Logf("requests by replica: %v", spent)
	busiest, from, byReplica := busiestSecond(sim.Requests(), "usm_anywhere")
	t.Logf("busiest second of usm_anywhere by the request log: %d from %s, by replica %v", busiest, from.Format(time.RFC3339Nano), byReplica)
	if t.Failed() { // what each replica sent around then; the shares it was told are in its output
		for _, r := range sim.Requests() {
			if budgetOf(r.Path) == "usm_anywhere" && !r.Start.Before(from.Add(-2*time.Second)) && r.Start.Before(from.Add(2*time.Second)) {
				t.Logf("%s %s %s", r.Start.Format("15:04:05.000000"), r.Client, r.Query)
			}
		}
	}
	// Keys spread over the replicas whatever their source, so a replica may own no Trend pair
	// (and then holds no share of the token); eight USM Anywhere streams need at least two.
	usmSenders := 0
	for i := 1; i <= replicas; i++ {
		name := "replica-" + strconv.Itoa(i)
		assert.NotEmpty(t, spent[name], "%s sent nothing", name)
		if spent[name]["usm_anywhere"] > 0 {
			usmSenders++
		}
	}
	assert.GreaterOrEqual(t, usmSenders, 2, "the client's streams were not spread")

	// The gauge never says more is left than the simulator saw unspent, and ends at what it saw.
	points := gauge.all()
	require.NotEmpty(t, points)
	for _, p := range points {
		seen := trendSeen.before(p.at)
		assert.LessOrEqual(t, p.value, int64(trendPerDay)-seen, "at %s the gauge said %d left, after the simulator had seen %d", p.at.Format(time.RFC3339Nano), p.value, seen)
	}
	last, _ := gauge.latest()
	assert.Equal(t, int64(trendPerDay)-trend.DataRequests, last)
}

// busiestSecond finds the second (by arrival) with the most requests of a budget, and who sent them.
func busiestSecond(requests []simulator.Request, budget string) (int, time.Time, map[string]int) {
	var times []simulator.Request
	for _, r := range requests {
		if budgetOf(r.Path) == budget {
			times = append(times, r)
		}
	}
	slices.SortFunc(times, func(a, b simulator.Request) int { return a.Start.Compare(b.Start) })
	best, bestAt, start := 0, 0, 0
	for end := range times {
		for !times[start].Start.Add(time.Second).After(times[end].Start) {
			start++
		}
		if n := end - start + 1; n > best {
			best, bestAt = n, start
		}
	}
	byReplica := map[string]int{}
	for _, r := range times[bestAt : bestAt+best] {
		byReplica[r.Client]++
	}
	if best == 0 {
		return 0, time.Time{}, byReplica
	}
	return best, times[bestAt].Start, byReplica
}

func budgetOf(path string) string {
	switch path {
	case "/api/2.0/alarms", "/api/2.0/events":
		return "usm_anywhere"
	case "/v1/siem/security_events", "/siem/v1/security_events":
		return "trend_cas"
	}
	return ""
}

// writeBudgetConfig is one replica's configuration: the scaling test's USM Anywhere streams (a
// smaller page, so that the backlog keeps the client busy), six Trend pairs, and the metrics.
func writeBudgetConfig(t *testing.T, replica, etcdURL, simURL, metricsURL string) string {
	t.Helper()
	return writeReplicaConfig(t, replica, etcdURL, fmt.Sprintf(`
    usm_anywhere:
      endpoint: %[1]s
      client_id: sim-client
      client_secret: sim-secret
      alarms: {enabled: true, filters: {priority_label: [%[2]s]}}
      events: {enabled: true, filters: {plugin: [%[3]s]}}
      page_size: 5
      requests_per_second: %[4]d
    trend_cas:
      endpoint: %[1]s
      token: %[5]s
      services: [exchange, sharepoint]
      events: [securityrisk, dlp, ransomware]
      limit: 25
      query_delay: 0s
      requests_per_minute: %[6]d
      requests_per_day: %[7]d
exporters:
  debug:
    verbosity: basic
  otlp_http:
    endpoint: %[8]s`, simURL, quoted(alarmLabels), quoted(eventPlugins), budgetRate, trendToken, trendPerMinute, trendPerDay, metricsURL), `
    logs:
      receivers: [securityalerts]
      exporters: [debug]
    metrics:
      receivers: [securityalerts]
      exporters: [otlp_http]`)
}

// quotaGaugeSink is an OTLP/HTTP metrics backend keeping every point of the quota gauge.
type quotaGaugeSink struct {
	url    string
	mu     sync.Mutex
	points []gaugePoint
}

type gaugePoint struct {
	at    time.Time
	value int64
}

func newQuotaGaugeSink(t *testing.T) *quotaGaugeSink {
	s := &quotaGaugeSink{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := pmetricotlp.NewExportRequest()
		if !decode(w, r, req.UnmarshalProto) {
			return
		}
		s.mu.Lock()
		for _, rm := range req.Metrics().ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() != "securityalerts.api.quota.remaining" || m.Type() != pmetric.MetricTypeGauge {
						continue
					}
					for _, dp := range m.Gauge().DataPoints().All() {
						s.points = append(s.points, gaugePoint{dp.Timestamp().AsTime(), dp.IntValue()})
					}
				}
			}
		}
		s.mu.Unlock()
		writeProto(w, pmetricotlp.NewExportResponse().MarshalProto)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *quotaGaugeSink) all() []gaugePoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]gaugePoint(nil), s.points...)
}

// latest is the newest point by its timestamp.
func (s *quotaGaugeSink) latest() (int64, bool) {
	var newest gaugePoint
	for _, p := range s.all() {
		if p.at.After(newest.at) {
			newest = p
		}
	}
	return newest.value, !newest.at.IsZero()
}

// countSampler samples a growing count every 50 ms, to say what it was before a moment.
type countSampler struct {
	mu      sync.Mutex
	samples []gaugePoint
	done    chan struct{}
	wg      sync.WaitGroup
}

func newCountSampler(read func() int64) *countSampler {
	s := &countSampler{done: make(chan struct{}), samples: []gaugePoint{{time.Now(), read()}}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-tick.C:
			}
			v := read()
			s.mu.Lock()
			s.samples = append(s.samples, gaugePoint{time.Now(), v})
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *countSampler) stop() {
	close(s.done)
	s.wg.Wait()
}

func (s *countSampler) latest() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples[len(s.samples)-1].value
}

// before is the count sampled last before t: at most what it was at t.
func (s *countSampler) before(t time.Time) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var v int64
	for _, p := range s.samples {
		if p.at.Before(t) {
			v = p.value
		}
	}
	return v
}
