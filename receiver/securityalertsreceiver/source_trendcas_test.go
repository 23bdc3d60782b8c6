package securityalertsreceiver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadata"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/trendcas"
)

func loadTrendConfig(t *testing.T, id string) *Config {
	t.Helper()
	return loadConfigFile(t, filepath.Join("testdata", "trendcas", "config.yaml"), id)
}

func TestTrendCASFullConfig(t *testing.T) {
	cfg := loadTrendConfig(t, "full")
	require.NoError(t, confmap.Validate(cfg))
	tc := cfg.TrendCAS.Get()
	assert.Equal(t, "https://api-eu.tmcas.trendmicro.com", tc.Endpoint)
	assert.Equal(t, 45*time.Second, tc.Timeout)
	assert.Equal(t, "s3cr3t-token", string(tc.Token))
	assert.Equal(t, []string{"exchange", "onedrive", "teams"}, tc.Services, "a configured list replaces the default")
	assert.Equal(t, []string{"ransomware", "dlp"}, tc.Events)
	assert.Equal(t, 100, tc.Limit)
	assert.Equal(t, 8, tc.RequestsPerMinute)
	assert.Equal(t, 10000, tc.RequestsPerDay)
	assert.Equal(t, 3*time.Minute, tc.QueryDelay)
}

func TestTrendCASDefaults(t *testing.T) {
	cfg := loadTrendConfig(t, "minimal")
	require.NoError(t, confmap.Validate(cfg))
	tc := cfg.TrendCAS.Get()
	assert.Equal(t, trendcas.KnownServices, tc.Services)
	assert.Equal(t, trendcas.KnownEvents, tc.Events)
	assert.Equal(t, 200, tc.Limit)
	assert.Equal(t, 10, tc.RequestsPerMinute)
	assert.Equal(t, 14_400, tc.RequestsPerDay)
	assert.Equal(t, time.Minute, tc.QueryDelay)
	assert.Equal(t, 30*time.Second, tc.Timeout)
	assert.False(t, cfg.USMAnywhere.HasValue(), "only the configured block is a source")
}

func TestTrendCASTokenMayComeFromAnAuthExtension(t *testing.T) {
	cfg := loadTrendConfig(t, "auth_extension")
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, "bearertokenauth", cfg.TrendCAS.Get().Auth.Get().AuthenticatorID.String())
}

func TestTrendCASTokenIsOpaque(t *testing.T) {
	conf := confmap.New()
	require.NoError(t, conf.Marshal(loadTrendConfig(t, "minimal")))
	assert.NotContains(t, conf.ToStringMap()["trend_cas"], "s3cr3t-token")
}

func TestTrendCASInvalidConfigNamesTheKey(t *testing.T) {
	valid := map[string]any{"endpoint": "https://api.tmcas.trendmicro.com", "token": "tok"}
	trend := func(overrides map[string]any) map[string]any { return sourceBlock("trend_cas", valid, overrides) }
	for _, tt := range []struct {
		name string
		conf map[string]any
		want string
	}{
		{"missing endpoint", trend(map[string]any{"endpoint": nil}), "trend_cas.endpoint: must be set"},
		{"relative endpoint", trend(map[string]any{"endpoint": "api.tmcas.trendmicro.com"}), "trend_cas.endpoint: \"api.tmcas.trendmicro.com\" must be an absolute"},
		{"missing token", trend(map[string]any{"token": nil}), "trend_cas.token: must be set, unless auth names an authenticator extension"},
		{"no services", trend(map[string]any{"services": []any{}}), "trend_cas.services: must list at least one name"},
		{"no events", trend(map[string]any{"events": []any{}}), "trend_cas.events: must list at least one name"},
		{"bad service name", trend(map[string]any{"services": []any{"OneDrive"}}), `trend_cas.services: "OneDrive" is not a name the API takes`},
		{"repeated event", trend(map[string]any{"events": []any{"dlp", "dlp"}}), `trend_cas.events: "dlp" is listed twice`},
		{"limit zero", trend(map[string]any{"limit": 0}), "trend_cas.limit: must be between 1 and 500"},
		{"limit too big", trend(map[string]any{"limit": 501}), "trend_cas.limit: must be between 1 and 500"},
		{"rate zero", trend(map[string]any{"requests_per_minute": 0}), "trend_cas.requests_per_minute: must be greater than zero"},
		{"rate negative", trend(map[string]any{"requests_per_minute": -5}), "trend_cas.requests_per_minute: must be greater than zero"},
		{"daily cap zero", trend(map[string]any{"requests_per_day": 0}), "trend_cas.requests_per_day: must be greater than zero"},
		{"negative delay", trend(map[string]any{"query_delay": "-1s"}), "trend_cas.query_delay: must not be negative"},
	} {
		t.Run(tt.name, func(t *testing.T) { requireInvalid(t, tt.conf, tt.want) })
	}
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(trend(map[string]any{"requests_per_minute": 600, "limit": 500})).Unmarshal(cfg))
	assert.NoError(t, confmap.Validate(cfg), "a raised limit is accepted (and warned about at start)")
}

// fakeTrend serves the fixtures in testdata/trendcas for onedrive/securityrisk (two pages, snake
// case) and exchange/virtualanalyzer (camelCase), and empty lists for every other pair.
func fakeTrend(t *testing.T) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" || r.URL.Path != trendcas.Path {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		q := r.URL.Query()
		name := map[string]string{
			"onedrive/securityrisk":    "events-onedrive-securityrisk.json",
			"exchange/virtualanalyzer": "events-exchange-virtualanalyzer.json",
			"onedrive/securityrisk/2":  "events-onedrive-securityrisk-2.json",
		}[strings.TrimSuffix(q.Get("service")+"/"+q.Get("event")+"/"+q.Get("page"), "/")]
		if name == "" {
			_, _ = w.Write([]byte(`{"current_link":"","next_link":"","security_events":[]}`))
			return
		}
		data, err := os.ReadFile(filepath.Join("testdata", "trendcas", name))
		if !assert.NoError(t, err) {
			return
		}
		_, _ = w.Write([]byte(strings.ReplaceAll(string(data), "{{BASE}}", srv.URL)))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func trendTestConfig(endpoint string) *Config {
	cfg := testConfig(endpoint)
	cfg.USMAnywhere = configoptional.None[USMAnywhereConfig]()
	tc := defaultTrendCASConfig()
	tc.Endpoint = endpoint
	tc.Token = "tok"
	tc.Services = []string{"onedrive", "exchange"}
	tc.Events = []string{"securityrisk", "virtualanalyzer"}
	tc.RequestsPerMinute = 6000
	tc.QueryDelay = 0
	cfg.TrendCAS = configoptional.Some(tc)
	return cfg
}

func TestTrendCASLogsMatchGolden(t *testing.T) {
	srv := fakeTrend(t)
	sink := &consumertest.LogsSink{}
	stop := run(t, trendTestConfig(srv.URL), componenttest.NewNopHost(), sink, nil)
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= 4 }, 10*time.Second, 10*time.Millisecond)
	stop()

	requireGoldenLogs(t, filepath.Join("testdata", "trendcas", "golden_logs.yaml"), mergeLogs(sink.AllLogs(), trendcas.Kind))
}

func TestTrendCASWarnsAtStartWhenTheQuotaCannotKeepUp(t *testing.T) {
	srv := fakeTrend(t)
	cfg := trendTestConfig(srv.URL)
	cfg.PollInterval = time.Minute
	tc := cfg.TrendCAS.Get()
	tc.Services = []string{"exchange", "sharepoint", "onedrive", "dropbox", "box", "googledrive", "gmail", "teams"}
	tc.Events = trendcas.KnownEvents
	tc.RequestsPerMinute = 10
	tc.Limit = 300

	core, logs := observer.New(zap.WarnLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	r, err := NewFactory().CreateLogs(context.Background(), set, cfg, &consumertest.LogsSink{})
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, r.Shutdown(context.Background()))

	warned := logs.FilterMessageSnippet("quota cannot poll every service/event pair").All()
	require.Len(t, warned, 1)
	fields := warned[0].ContextMap()
	assert.EqualValues(t, 32, fields["pairs"])
	assert.Equal(t, "3m12s", fields["slowest_effective_interval"].(time.Duration).String(), "32 pairs at 10 a minute: each every 3.2 minutes")
	assert.Equal(t, 1, logs.FilterMessageSnippet("limit is above the 200").Len())
	assert.Zero(t, logs.FilterMessageSnippet("requests_per_minute is above").Len())

	tc.RequestsPerMinute = 20
	core, logs = observer.New(zap.WarnLevel)
	set.Logger = zap.New(core)
	r, err = NewFactory().CreateLogs(context.Background(), set, cfg, &consumertest.LogsSink{})
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Equal(t, 1, logs.FilterMessageSnippet("requests_per_minute is above the API's documented 10").Len())
}
