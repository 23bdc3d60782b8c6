package securityalertsreceiver

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/securityalerts/securityalerts/internal/apiclient"
	"github.com/securityalerts/securityalerts/internal/engine"
	"github.com/securityalerts/securityalerts/internal/record"
	"github.com/securityalerts/securityalerts/internal/usmanywhere"
)

// openCounter asks a source's API how many alarms or alerts are open, by severity.
type openCounter struct {
	resourceKey
	count func(ctx context.Context) (map[record.Severity]int64, error)
}

// buildSources returns the streams of every configured source.
func (r *securityReceiver) buildSources(ctx context.Context, host component.Host) ([]engine.Stream, error) {
	var streams []engine.Stream
	if r.cfg.USMAnywhere.HasValue() {
		s, err := r.usmAnywhereStreams(ctx, host, r.cfg.USMAnywhere.Get())
		if err != nil {
			return nil, err
		}
		streams = append(streams, s...)
	}
	return streams, nil
}

func (r *securityReceiver) usmAnywhereStreams(ctx context.Context, host component.Host, cfg *USMAnywhereConfig) ([]engine.Stream, error) {
	api, err := r.apiClient(ctx, host, usmanywhere.Source, cfg.ClientConfig, rate.Limit(cfg.RequestsPerSecond),
		func(hc *http.Client) apiclient.Credentials {
			// Tokens last 899 s; renewing a minute early keeps long walks from meeting a 401.
			return apiclient.NewClientCredentials(hc, cfg.Endpoint+usmanywhere.TokenPath, cfg.ClientID, string(cfg.ClientSecret), time.Minute)
		})
	if err != nil {
		return nil, err
	}
	if r.metrics != nil && r.cfg.Metrics.SecurityalertsAlertsOpen.Enabled {
		r.openCounters = append(r.openCounters, openCounter{
			resourceKey: resourceKey{usmanywhere.Source, api.Host()},
			count:       func(ctx context.Context) (map[record.Severity]int64, error) { return usmanywhere.OpenAlarms(ctx, api) },
		})
	}
	alarmFilters, _ := filterValues("", cfg.Alarms.Filters, usmanywhere.ReservedParams)
	eventFilters, _ := filterValues("", cfg.Events.Filters, usmanywhere.ReservedParams)
	return usmanywhere.NewStreams(api, usmanywhere.Config{
		PageSize: cfg.PageSize,
		Alarms:   usmanywhere.StreamConfig{Enabled: cfg.Alarms.Enabled, Filters: alarmFilters},
		Events:   usmanywhere.StreamConfig{Enabled: cfg.Events.Enabled, Filters: eventFilters},
	}), nil
}

// apiClient builds a source's HTTP client from its confighttp settings, with its own rate
// limiter (the vendors limit each API client) and credentials.
func (r *securityReceiver) apiClient(ctx context.Context, host component.Host, source string, hc confighttp.ClientConfig,
	limit rate.Limit, credentials func(*http.Client) apiclient.Credentials,
) (*apiclient.Client, error) {
	httpClient, err := hc.ToClient(ctx, host.GetExtensions(), r.set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	warnIfPlainHTTP(r.set.Logger, source, hc.Endpoint)
	api, err := apiclient.New(apiclient.Options{
		Endpoint:    hc.Endpoint,
		HTTPClient:  httpClient,
		Credentials: credentials(httpClient),
		Limiter:     rate.NewLimiter(limit, 1),
		Observe:     r.telemetry.observer(source),
	})
	if err != nil {
		return nil, err
	}
	r.telemetry.setTenant(source, api.Host())
	return api, nil
}

// warnIfPlainHTTP warns about credentials crossing a network in clear text. Loopback is fine
// (tests, a local TLS-terminating proxy), and a plain endpoint is never refused.
func warnIfPlainHTTP(log *zap.Logger, source, endpoint string) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" {
		return
	}
	if ip := net.ParseIP(u.Hostname()); (ip != nil && ip.IsLoopback()) || u.Hostname() == "localhost" {
		return
	}
	log.Warn("Endpoint uses plain http: credentials and data cross the network unencrypted", zap.String("source", source), zap.String("endpoint", endpoint))
}
