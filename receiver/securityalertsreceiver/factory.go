package securityalertsreceiver

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadata"
)

// NewFactory returns the factory of the securityalerts receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithLogs(createLogs, metadata.LogsStability),
		receiver.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		PollInterval:         time.Minute,
		InitialLookback:      24 * time.Hour,
		Overlap:              10 * time.Minute,
		MaxClockSkew:         time.Minute,
		MaxSeenIDs:           100_000,
		RetryOnFailure:       configretry.NewDefaultBackOffConfig(),
		BodyFormat:           BodyFormatVendor,
		USMAnywhere:          configoptional.Default(defaultUSMAnywhereConfig()),
		USMCentral:           configoptional.Default(defaultUSMCentralConfig()),
		CiscoGTA:             configoptional.Default(defaultCiscoGTAConfig()),
		TrendCAS:             configoptional.Default(defaultTrendCASConfig()),
		MetricsBuilderConfig: metadata.DefaultMetricsBuilderConfig(),
	}
}

func defaultHTTPClientConfig() confighttp.ClientConfig {
	hc := confighttp.NewDefaultClientConfig()
	hc.Timeout = 30 * time.Second
	return hc
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	r := receivers.getOrCreate(cfg.(*Config), set)
	r.setLogs(next)
	return r, nil
}

func createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	r := receivers.getOrCreate(cfg.(*Config), set)
	r.setMetrics(next)
	return r, nil
}
