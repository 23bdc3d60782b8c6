package simtest

import (
	"maps"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap/zaptest"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/collectortest"
)

// The simulator's client credentials.
const (
	simClientID     = "sim-client"
	simClientSecret = "sim-secret"
)

// config is the receiver's configuration as a collector config's block would give it, with
// poll and retry intervals short enough for a test.
func config(t *testing.T, block map[string]any) *securityalertsreceiver.Config {
	t.Helper()
	conf := map[string]any{
		"poll_interval":    "1s",
		"retry_on_failure": map[string]any{"initial_interval": "10ms", "max_interval": "50ms", "max_elapsed_time": "200ms"},
	}
	maps.Copy(conf, block)
	cfg := securityalertsreceiver.NewFactory().CreateDefaultConfig().(*securityalertsreceiver.Config)
	require.NoError(t, confmap.NewFromStringMap(conf).Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	return cfg
}

// usmConfig reads the simulator's USM Anywhere alarms and events at endpoint.
func usmConfig(t *testing.T, endpoint string) *securityalertsreceiver.Config {
	return config(t, map[string]any{"usm_anywhere": map[string]any{
		"endpoint": endpoint, "client_id": simClientID, "client_secret": simClientSecret,
		"events": map[string]any{"enabled": true},
	}})
}

// run starts the receiver for the given pipelines and returns its shutdown.
func run(t *testing.T, cfg *securityalertsreceiver.Config, host component.Host, logs consumer.Logs, metrics consumer.Metrics) func() {
	t.Helper()
	return runWith(t, settings(t), cfg, host, logs, metrics)
}

func runWith(t *testing.T, set receiver.Settings, cfg *securityalertsreceiver.Config, host component.Host, logs consumer.Logs, metrics consumer.Metrics) func() {
	t.Helper()
	return collectortest.Start(t, securityalertsreceiver.NewFactory(), set, cfg, host, logs, metrics)
}

func settings(t *testing.T) receiver.Settings {
	set := receivertest.NewNopSettings(securityalertsreceiver.NewFactory().Type())
	set.Logger = zaptest.NewLogger(t)
	return set
}
