package securityalertsreceiver

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"

	"github.com/securityalerts/securityalerts/internal/engine"
)

// USMCentralConfig is the usm_central block. SCAFFOLD: replaced by the usm_central source's implementation.
type USMCentralConfig struct {
	confighttp.ClientConfig `mapstructure:",squash"`
}

func defaultUSMCentralConfig() USMCentralConfig {
	return USMCentralConfig{ClientConfig: defaultHTTPClientConfig()}
}

func (c *USMCentralConfig) validate(key string) error {
	return keyErr(key, errors.New("not supported yet"))
}

func (c *USMCentralConfig) streams(context.Context, *securityReceiver, component.Host) ([]engine.Stream, error) {
	return nil, errors.New("not supported yet")
}
