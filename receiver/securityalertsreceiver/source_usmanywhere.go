package securityalertsreceiver

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/securityalerts/securityalerts/internal/apiclient"
	"github.com/securityalerts/securityalerts/internal/engine"
	"github.com/securityalerts/securityalerts/internal/usmanywhere"
)

// USMAnywhereConfig is the usm_anywhere block.
type USMAnywhereConfig struct {
	confighttp.ClientConfig `mapstructure:",squash"`
	ClientID                string              `mapstructure:"client_id"`
	ClientSecret            configopaque.String `mapstructure:"client_secret"`
	Alarms                  StreamConfig        `mapstructure:"alarms"`
	Events                  StreamConfig        `mapstructure:"events"`
	PageSize                int                 `mapstructure:"page_size"`
	RequestsPerSecond       float64             `mapstructure:"requests_per_second"`
}

const (
	usmMaxPageSize          = 1000
	usmMaxRequestsPerSecond = 100 // the documented per-client GET limit
)

func defaultUSMAnywhereConfig() USMAnywhereConfig {
	return USMAnywhereConfig{
		ClientConfig: defaultHTTPClientConfig(),
		Alarms:       StreamConfig{Enabled: true},
		Events:       StreamConfig{Enabled: false},
		PageSize:     100,
		// Half the documented 100 GET/s leaves room for the tenant's other API clients.
		RequestsPerSecond: 50,
	}
}

func (u *USMAnywhereConfig) validate(key string) error {
	var errs []error
	errs = append(errs, validateEndpoint(key+".endpoint", u.Endpoint))
	if u.ClientID == "" {
		errs = append(errs, keyErr(key+".client_id", errMissing))
	}
	if u.ClientSecret == "" {
		errs = append(errs, keyErr(key+".client_secret", errMissing))
	}
	if u.PageSize < 1 || u.PageSize > usmMaxPageSize {
		errs = append(errs, keyErr(key+".page_size", pageSizeError(usmMaxPageSize)))
	}
	if u.RequestsPerSecond <= 0 || u.RequestsPerSecond > usmMaxRequestsPerSecond {
		errs = append(errs, keyErr(key+".requests_per_second", requestRateError(usmMaxRequestsPerSecond)))
	}
	if !u.Alarms.Enabled && !u.Events.Enabled {
		errs = append(errs, keyErr(key, errNoStreamEnabled))
	}
	for name, s := range map[string]StreamConfig{"alarms": u.Alarms, "events": u.Events} {
		_, err := filterValues(key+"."+name+".filters", s.Filters, usmanywhere.ReservedParams)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (cfg *USMAnywhereConfig) streams(ctx context.Context, r *securityReceiver, host component.Host) ([]engine.Stream, error) {
	budget, limiter := r.rateBudget(cfg.RequestsPerSecond, usmanywhere.Source, cfg.Endpoint, cfg.ClientID)
	api, err := r.apiClient(ctx, host, usmanywhere.Source, cfg.ClientConfig, limiter,
		func(hc *http.Client) apiclient.Credentials {
			// Tokens last 899 s; renewing a minute early keeps long walks from meeting a 401.
			return apiclient.NewClientCredentials(hc, cfg.Endpoint+usmanywhere.TokenPath, cfg.ClientID, string(cfg.ClientSecret), time.Minute)
		})
	if err != nil {
		return nil, err
	}
	if r.metrics != nil && r.cfg.Metrics.SecurityalertsAlertsOpen.Enabled {
		r.probes = append(r.probes, probe{source: usmanywhere.Source, read: func(ctx context.Context, g gauges) error {
			open, err := usmanywhere.OpenAlarms(ctx, api)
			for severity, n := range open {
				g.OpenAlerts(api.Host(), severity, n)
			}
			return err
		}})
	}
	alarmFilters, _ := filterValues("", cfg.Alarms.Filters, usmanywhere.ReservedParams)
	eventFilters, _ := filterValues("", cfg.Events.Filters, usmanywhere.ReservedParams)
	streams := usmanywhere.NewStreams(api, usmanywhere.Config{
		PageSize:          cfg.PageSize,
		RequestsPerSecond: cfg.RequestsPerSecond,
		Alarms:            usmanywhere.StreamConfig{Enabled: cfg.Alarms.Enabled, Filters: alarmFilters},
		Events:            usmanywhere.StreamConfig{Enabled: cfg.Events.Enabled, Filters: eventFilters},
	})
	budget.spentBy(streams, usmanywhere.Source)
	return streams, nil
}
