package securityalertsreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadata"
)

func loadConfig(t *testing.T, id string) *Config {
	t.Helper()
	return loadConfigFile(t, filepath.Join("testdata", "config.yaml"), id)
}

// loadConfigFile loads the configuration named id (securityalerts/<id>) from file.
func loadConfigFile(t *testing.T, file, id string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(file)
	require.NoError(t, err)
	sub, err := cm.Sub(component.MustNewIDWithName(metadata.Type.String(), id).String())
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg
}

func TestLoadFullConfig(t *testing.T) {
	cfg := loadConfig(t, "full")
	require.NoError(t, confmap.Validate(cfg))

	assert.Equal(t, 30*time.Second, cfg.PollInterval)
	assert.Equal(t, 48*time.Hour, cfg.InitialLookback)
	assert.Equal(t, 5*time.Minute, cfg.Overlap)
	assert.Equal(t, 5000, cfg.MaxSeenIDs)
	assert.Equal(t, component.MustNewIDWithName("file_storage", "checkpoints"), *cfg.Storage)
	assert.Equal(t, component.MustNewID("etcd"), *cfg.LeaderElector)
	assert.Equal(t, 2*time.Minute, cfg.RetryOnFailure.MaxElapsedTime)
	assert.False(t, cfg.MetricsBuilderConfig.Metrics.SecurityalertsPollLag.Enabled)

	usm := cfg.USMAnywhere.Get()
	assert.Equal(t, "https://acme.alienvault.cloud", usm.Endpoint)
	assert.Equal(t, 20*time.Second, usm.Timeout)
	assert.Equal(t, "my-client", usm.ClientID)
	assert.Equal(t, "s3cr3t", string(usm.ClientSecret))
	assert.Equal(t, 500, usm.PageSize)
	assert.InDelta(t, 80.0, usm.RequestsPerSecond, 0)
	assert.True(t, usm.Events.Enabled)
	filters, err := filterValues("f", usm.Alarms.Filters, nil)
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{"status": {"open"}, "suppressed": {"false"}, "priority_label": {"high", "medium"}}, filters)
}

func TestMinimalConfigTakesDefaults(t *testing.T) {
	cfg := loadConfig(t, "minimal")
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, time.Minute, cfg.PollInterval)
	assert.Equal(t, 24*time.Hour, cfg.InitialLookback)
	assert.Equal(t, 10*time.Minute, cfg.Overlap)
	assert.Nil(t, cfg.Storage)
	assert.Nil(t, cfg.LeaderElector, "one collector polls everything unless told otherwise")
	usm := cfg.USMAnywhere.Get()
	assert.True(t, usm.Alarms.Enabled)
	assert.False(t, usm.Events.Enabled)
	assert.Equal(t, 100, usm.PageSize)
	assert.InDelta(t, 50.0, usm.RequestsPerSecond, 0)
	assert.Equal(t, 30*time.Second, usm.Timeout)
}

func TestSecretIsOpaque(t *testing.T) {
	cfg := loadConfig(t, "minimal")
	conf := confmap.New()
	require.NoError(t, conf.Marshal(cfg))
	assert.NotContains(t, conf.ToStringMap()["usm_anywhere"], "s3cr3t")
}

// TestInvalidConfigNamesTheKey checks that every invalid value fails validation with a message
// naming the offending key, as the collector prints it at start.
func TestInvalidConfigNamesTheKey(t *testing.T) {
	valid := map[string]any{
		"endpoint": "https://acme.alienvault.cloud", "client_id": "id", "client_secret": "secret",
	}
	usm := func(overrides map[string]any) map[string]any { return sourceBlock("usm_anywhere", valid, overrides) }
	tests := []struct {
		name string
		conf map[string]any
		want string
	}{
		{"no source", map[string]any{}, "no source configured"},
		{"poll interval too short", merge(usm(nil), map[string]any{"poll_interval": "500ms"}), "poll_interval: must be at least 1s"},
		{"zero lookback", merge(usm(nil), map[string]any{"initial_lookback": "0s"}), "initial_lookback: must be greater than zero"},
		{"negative overlap", merge(usm(nil), map[string]any{"overlap": "-1m"}), "overlap: must not be negative"},
		{"zero seen ids", merge(usm(nil), map[string]any{"max_seen_ids": 0}), "max_seen_ids: must be greater than zero"},
		{"negative clock skew", merge(usm(nil), map[string]any{"max_clock_skew": "-1s"}), "max_clock_skew: must not be negative"},
		{"clock skew beyond the overlap", merge(usm(nil), map[string]any{"max_clock_skew": "11m"}), "max_clock_skew: must not exceed overlap"},
		{"missing endpoint", usm(map[string]any{"endpoint": nil}), "usm_anywhere.endpoint: must be set"},
		{"relative endpoint", usm(map[string]any{"endpoint": "acme.alienvault.cloud"}), "usm_anywhere.endpoint: \"acme.alienvault.cloud\" must be an absolute"},
		{"ftp endpoint", usm(map[string]any{"endpoint": "ftp://acme"}), "usm_anywhere.endpoint"},
		{"missing client id", usm(map[string]any{"client_id": nil}), "usm_anywhere.client_id: must be set"},
		{"missing secret", usm(map[string]any{"client_secret": nil}), "usm_anywhere.client_secret: must be set"},
		{"page size zero", usm(map[string]any{"page_size": 0}), "usm_anywhere.page_size: must be between 1 and 1000"},
		{"page size too big", usm(map[string]any{"page_size": 5000}), "usm_anywhere.page_size: must be between 1 and 1000"},
		{"rate zero", usm(map[string]any{"requests_per_second": 0}), "usm_anywhere.requests_per_second: must be greater than 0 and at most 100"},
		{"rate above API limit", usm(map[string]any{"requests_per_second": 150}), "usm_anywhere.requests_per_second"},
		{"no stream", usm(map[string]any{"alarms": map[string]any{"enabled": false}}), "usm_anywhere: enables no stream"},
		{"reserved filter", usm(map[string]any{"alarms": map[string]any{"enabled": true, "filters": map[string]any{"sort": "x"}}}), "usm_anywhere.alarms.filters.sort: is set by the receiver"},
		{"reserved time filter", usm(map[string]any{"events": map[string]any{"enabled": true, "filters": map[string]any{"timestamp_occurred_gte": "1"}}}), "usm_anywhere.events.filters.timestamp_occurred_gte"},
		{"map filter value", usm(map[string]any{"alarms": map[string]any{"enabled": true, "filters": map[string]any{"status": map[string]any{"a": 1}}}}), "usm_anywhere.alarms.filters.status: must be a string"},
		{"empty list filter", usm(map[string]any{"alarms": map[string]any{"enabled": true, "filters": map[string]any{"status": []any{}}}}), "usm_anywhere.alarms.filters.status"},
		// Found by FuzzConfig (testdata/fuzz/FuzzConfig): the name is quoted so the line stays one line.
		{"filter name with a tab", usm(map[string]any{"alarms": map[string]any{"enabled": true, "filters": map[string]any{"m\tity_label": "x"}}}), `usm_anywhere.alarms.filters."m\tity_label": is not a parameter name: it contains spaces or control characters`},
		{"filter name with a space", usm(map[string]any{"alarms": map[string]any{"enabled": true, "filters": map[string]any{"status ": "open"}}}), `usm_anywhere.alarms.filters."status ": is not a parameter name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { requireInvalid(t, tt.conf, tt.want) })
	}
}

func TestUnknownKeyIsRefusedByName(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	err := confmap.NewFromStringMap(map[string]any{"usm_anywhere": map[string]any{"clientid": "x"}}).Unmarshal(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "clientid")
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
