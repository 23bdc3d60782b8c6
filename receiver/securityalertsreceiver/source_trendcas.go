package securityalertsreceiver

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"

	"github.com/securityalerts/securityalerts/internal/engine"
)

// TrendCASConfig is the trend_cas block. SCAFFOLD: replaced by the trend_cas source's implementation.
type TrendCASConfig struct {
	confighttp.ClientConfig `mapstructure:",squash"`
}

func defaultTrendCASConfig() TrendCASConfig {
	return TrendCASConfig{ClientConfig: defaultHTTPClientConfig()}
}

func (c *TrendCASConfig) validate(key string) error {
	return keyErr(key, errors.New("not supported yet"))
}

func (c *TrendCASConfig) streams(context.Context, *securityReceiver, component.Host) ([]engine.Stream, error) {
	return nil, errors.New("not supported yet")
}
