package securityalertsreceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

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
