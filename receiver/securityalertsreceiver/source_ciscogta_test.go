package securityalertsreceiver

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
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/securityalerts/securityalerts/internal/simulator"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadata"
)

func TestCiscoConfigLoads(t *testing.T) {
	cfg := loadConfig(t, "cisco_full")
	require.NoError(t, confmap.Validate(cfg))
	c := cfg.CiscoGTA.Get()
	assert.Equal(t, "https://api.cta.eu.amp.cisco.com", c.Endpoint)
	assert.Equal(t, "https://visibility.eu.amp.cisco.com/iroh/oauth2/token", c.TokenURL)
	assert.Equal(t, "CTA123456789", c.CustomerID)
	assert.Equal(t, []any{"High", "Critical"}, c.Alerts.Filters["risk"])
	assert.True(t, c.ThreatDetections.Enabled)
	assert.True(t, c.Events.Enabled)
	assert.False(t, c.Events.Enrich)
	assert.True(t, c.Flows.Enabled)
	assert.Equal(t, 200, c.PageSize)
	assert.InDelta(t, 20.0, c.RequestsPerSecond, 0)
	assert.False(t, cfg.USMAnywhere.HasValue())

	minimal := loadConfig(t, "cisco_minimal").CiscoGTA.Get()
	require.NoError(t, confmap.Validate(loadConfig(t, "cisco_minimal")))
	assert.True(t, minimal.Alerts.Enabled)
	assert.False(t, minimal.ThreatDetections.Enabled)
	assert.True(t, minimal.Events.Enabled)
	assert.True(t, minimal.Events.Enrich, "enrichment is on by default")
	assert.False(t, minimal.Flows.Enabled, "flows are off by default")
	assert.Empty(t, minimal.CustomerID, "discovered when not set")
	assert.Equal(t, 1000, minimal.PageSize)
	assert.InDelta(t, 10.0, minimal.RequestsPerSecond, 0)
	assert.Equal(t, 30*time.Second, minimal.Timeout)
}

func TestCiscoSecretIsOpaque(t *testing.T) {
	conf := confmap.New()
	require.NoError(t, conf.Marshal(loadConfig(t, "cisco_minimal")))
	assert.NotContains(t, conf.ToStringMap()["cisco_gta"], "s3cr3t")
}

func TestInvalidCiscoConfigNamesTheKey(t *testing.T) {
	cisco := func(overrides map[string]any) map[string]any {
		block := map[string]any{
			"endpoint": "https://api.cta.eu.amp.cisco.com", "token_url": "https://visibility.eu.amp.cisco.com/iroh/oauth2/token",
			"client_id": "id", "client_secret": "secret",
		}
		for k, v := range overrides {
			if v == nil {
				delete(block, k)
			} else {
				block[k] = v
			}
		}
		return map[string]any{"cisco_gta": block}
	}
	off := map[string]any{"enabled": false}
	for _, tt := range []struct {
		name string
		conf map[string]any
		want string
	}{
		{"missing endpoint", cisco(map[string]any{"endpoint": nil}), "cisco_gta.endpoint: must be set"},
		{"relative endpoint", cisco(map[string]any{"endpoint": "api.cta.eu.amp.cisco.com"}), "cisco_gta.endpoint: \"api.cta.eu.amp.cisco.com\" must be an absolute"},
		{"missing token url", cisco(map[string]any{"token_url": nil}), "cisco_gta.token_url: must be set"},
		{"bad token url", cisco(map[string]any{"token_url": "visibility/iroh"}), "cisco_gta.token_url: \"visibility/iroh\" must be an absolute"},
		{"missing client id", cisco(map[string]any{"client_id": nil}), "cisco_gta.client_id: must be set"},
		{"missing secret", cisco(map[string]any{"client_secret": nil}), "cisco_gta.client_secret: must be set"},
		{"page size zero", cisco(map[string]any{"page_size": 0}), "cisco_gta.page_size: must be between 1 and 1000"},
		{"page size too big", cisco(map[string]any{"page_size": 1001}), "cisco_gta.page_size: must be between 1 and 1000"},
		{"rate zero", cisco(map[string]any{"requests_per_second": 0}), "cisco_gta.requests_per_second: must be greater than zero"},
		{"no stream", cisco(map[string]any{"alerts": off, "events": off}), "cisco_gta: enables no stream"},
		{"reserved alert filter", cisco(map[string]any{"alerts": map[string]any{"enabled": true, "filters": map[string]any{"modifiedAfter": "x"}}}), "cisco_gta.alerts.filters.modifiedAfter: is set by the receiver"},
		{"reserved event filter", cisco(map[string]any{"events": map[string]any{"enabled": true, "filters": map[string]any{"after": "1"}}}), "cisco_gta.events.filters.after"},
		{"bad detection filter", cisco(map[string]any{"threat_detections": map[string]any{"enabled": true, "filters": map[string]any{"x": map[string]any{}}}}), "cisco_gta.threat_detections.filters.x: must be a string"},
		{"bad flow filter", cisco(map[string]any{"flows": map[string]any{"enabled": true, "filters": map[string]any{"y": []any{}}}}), "cisco_gta.flows.filters.y"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			require.NoError(t, confmap.NewFromStringMap(tt.conf).Unmarshal(cfg))
			err := confmap.Validate(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

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

func ciscoTestConfig(s *splitOrigins) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.PollInterval = time.Second
	cfg.RetryOnFailure.InitialInterval = 10 * time.Millisecond
	cfg.RetryOnFailure.MaxInterval = 50 * time.Millisecond
	c := defaultCiscoGTAConfig()
	c.Endpoint = s.api.URL
	c.TokenURL = s.token.URL + "/iroh/oauth2/token"
	c.ClientID, c.ClientSecret = "sim-client", "sim-secret"
	c.ThreatDetections.Enabled = true
	c.PageSize = 7
	c.RequestsPerSecond = 50
	cfg.CiscoGTA = configoptional.Some(c)
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
				kind, _ := lrs.At(j).Attributes().Get(attrKind)
				id, _ := lrs.At(j).Attributes().Get(attrID)
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
	stop := run(t, ciscoTestConfig(s), componenttest.NewNopHost(), logs, metrics)

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
			len(openAlerts(metrics)) == 4
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
			assert.NotEqual(t, "info", attrs[attrSeverity], "a convicting event takes its alert's risk")
		case "contextual":
			contextual++
			assert.Equal(t, "info", attrs[attrSeverity])
		default:
			t.Errorf("event without cisco_gta.event.type: %v", attrs)
		}
	}
	assert.Positive(t, convicting)
	assert.Positive(t, contextual)
	var open int64
	for _, n := range openAlerts(metrics) {
		open += n
	}
	assert.Positive(t, open)
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Empty(t, s.violations, "client credentials go only to token_url, the token only to the endpoint")
	stats := s.sim.Stats()
	assert.NotEmpty(t, stats.Requests["/auth/api-clients/me"], "the customer id was discovered")
}

// Cisco documents no rate limit: a rate above the receiver's courtesy ceiling is accepted, and
// the warning says whose ceiling it is and what the risk is.
func TestCiscoRateAboveTheCourtesyCeilingIsWarnedOf(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(sourceBlock("cisco_gta", map[string]any{
		"endpoint": "http://127.0.0.1:1", "token_url": "http://127.0.0.1:1/iroh/oauth2/token",
		"client_id": "id", "client_secret": "secret", "requests_per_second": 200,
	}, nil)).Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))

	core, logged := observer.New(zapcore.WarnLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	stop := runWith(t, set, cfg, componenttest.NewNopHost(), consumertest.NewNop(), nil)
	stop()
	warned := logged.FilterMessageSnippet("this receiver's courtesy ceiling: Cisco documents no rate limit").All()
	require.Len(t, warned, 1)
	assert.EqualValues(t, 200, warned[0].ContextMap()["requests_per_second"])
}
