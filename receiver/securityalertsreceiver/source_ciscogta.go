package securityalertsreceiver

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"

	"github.com/securityalerts/securityalerts/internal/engine"
)

// CiscoGTAConfig is the cisco_gta block. SCAFFOLD: replaced by the cisco_gta source's implementation.
type CiscoGTAConfig struct {
	confighttp.ClientConfig `mapstructure:",squash"`
}

func defaultCiscoGTAConfig() CiscoGTAConfig {
	return CiscoGTAConfig{ClientConfig: defaultHTTPClientConfig()}
}

func (c *CiscoGTAConfig) validate(key string) error {
	return keyErr(key, errors.New("not supported yet"))
}

func (c *CiscoGTAConfig) streams(context.Context, *securityReceiver, component.Host) ([]engine.Stream, error) {
	return nil, errors.New("not supported yet")
}
