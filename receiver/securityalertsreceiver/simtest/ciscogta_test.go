package simtest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/securityalerts/securityalerts/internal/simulator"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/collectortest"
)

// splitOrigins serves the simulator from two origins, one for tokens and one for the API, and
// notes any request that carries a credential meant for the other.
type splitOrigins struct {
	sim        *simulator.Simulator
	api, token *httptest.Server

	mu         sync.Mutex
	violations []string
}

func newSplitOrigins(t *testing.T, opts simulator.Options) *splitOrigins {
	s := &splitOrigins{sim: simulator.New(opts)}
	t.Cleanup(s.sim.Close)
	guard := func(origin string, refuse func(*http.Request) bool) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refuse(r) {
				s.mu.Lock()
				s.violations = append(s.violations, origin+" got "+r.Method+" "+r.URL.Path+" with "+strings.SplitN(r.Header.Get("Authorization"), " ", 2)[0])
				s.mu.Unlock()
			}
			s.sim.Handler().ServeHTTP(w, r)
		})
	}
	s.api = httptest.NewServer(guard("api", func(r *http.Request) bool {
		_, _, basic := r.BasicAuth()
		return basic || strings.HasPrefix(r.URL.Path, "/iroh/")
	}))
	s.token = httptest.NewServer(guard("token", func(r *http.Request) bool {
		return strings.HasPrefix(r.Header.Get("Authorization"), "Bearer") || r.URL.Path != "/iroh/oauth2/token"
	}))
	t.Cleanup(s.api.Close)
	t.Cleanup(s.token.Close)
	return s
}

func ciscoConfig(t *testing.T, s *splitOrigins) *securityalertsreceiver.Config {
	cfg := config(t, map[string]any{"cisco_gta": map[string]any{
		"endpoint": s.api.URL, "token_url": s.token.URL + "/iroh/oauth2/token",
		"client_id": simClientID, "client_secret": simClientSecret,
		"threat_detections": map[string]any{"enabled": true}, "page_size": 7, "requests_per_second": 50,
	}})
	cfg.RetryOnFailure.MaxElapsedTime = 0 // retry until it works
	return cfg
}

// ciscoRecords indexes the emitted log records by kind and id.
func ciscoRecords(t *testing.T, sink *consumertest.LogsSink) map[string]map[string][]plog.LogRecord {
	out := map[string]map[string][]plog.LogRecord{}
	for _, ld := range sink.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			source, _ := rl.Resource().Attributes().Get("securityalerts.source")
			tenant, _ := rl.Resource().Attributes().Get("securityalerts.tenant")
			assert.Equal(t, "cisco_gta", source.Str())
			assert.Equal(t, simulator.CiscoCustomerID, tenant.Str(), "the tenant is the customer id")
			lrs := rl.ScopeLogs().At(0).LogRecords()
			for j := 0; j < lrs.Len(); j++ {
				kind, _ := lrs.At(j).Attributes().Get("securityalerts.kind")
				id, _ := lrs.At(j).Attributes().Get("securityalerts.id")
				if out[kind.Str()] == nil {
					out[kind.Str()] = map[string][]plog.LogRecord{}
				}
				out[kind.Str()][id.Str()] = append(out[kind.Str()][id.Str()], lrs.At(j))
			}
		}
	}
	return out
}

func TestCiscoAgainstTheSimulator(t *testing.T) {
	s := newSplitOrigins(t, simulator.Options{Seed: 7, Backlog: 25, ArrivalsPerSecond: 2, UpdatesPerSecond: 20})
	logs := &consumertest.LogsSink{}
	metrics := &consumertest.MetricsSink{}
	stop := run(t, ciscoConfig(t, s), componenttest.NewNopHost(), logs, metrics)

	var got map[string]map[string][]plog.LogRecord
	updated := func() bool {
		for _, versions := range got["alert"] {
			for _, lr := range versions {
				if v, _ := lr.Attributes().Get("cisco_gta.alert.update"); v.Str() == "true" && len(versions) > 1 {
					return true
				}
			}
		}
		return false
	}
	// Every backlog record arrives, and at least one alert is emitted again after a change.
	require.Eventually(t, func() bool {
		got = ciscoRecords(t, logs)
		return len(got["alert"]) >= 25 && len(got["event"]) >= 25 && len(got["threat_detection"]) >= 25 && updated() &&
			len(collectortest.OpenAlerts(metrics)) == 4
	}, 20*time.Second, 50*time.Millisecond)
	stop()

	got = ciscoRecords(t, logs)
	for kind, simKind := range map[string]string{"alert": "alert", "event": "event", "threat_detection": "threat_detection"} {
		for _, id := range s.sim.IDs("cisco_gta", simKind)[:25] {
			assert.Contains(t, got[kind], id, "%s %s never emitted", kind, id)
		}
	}
	convicting, contextual := 0, 0
	for _, versions := range got["event"] {
		assert.Len(t, versions, 1, "events are not repeated")
		attrs := versions[0].Attributes().AsRaw()
		switch attrs["cisco_gta.event.type"] {
		case "convicting":
			convicting++
			assert.NotEmpty(t, attrs["cisco_gta.threat_detection.id"])
			assert.NotEmpty(t, attrs["cisco_gta.alert.id"])
			assert.NotEmpty(t, attrs["cisco_gta.alert.risk"])
			assert.NotEmpty(t, attrs["security_rule.name"])
			assert.NotEqual(t, "info", attrs["securityalerts.severity"], "a convicting event takes its alert's risk")
		case "contextual":
			contextual++
			assert.Equal(t, "info", attrs["securityalerts.severity"])
		default:
			t.Errorf("event without cisco_gta.event.type: %v", attrs)
		}
	}
	assert.Positive(t, convicting)
	assert.Positive(t, contextual)
	var open int64
	for _, n := range collectortest.OpenAlerts(metrics) {
		open += n
	}
	assert.Positive(t, open)
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Empty(t, s.violations, "client credentials go only to token_url, the token only to the endpoint")
	stats := s.sim.Stats()
	assert.NotEmpty(t, stats.Requests["/auth/api-clients/me"], "the customer id was discovered")
}
