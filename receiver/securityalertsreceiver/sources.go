package securityalertsreceiver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/internal/apiclient"
	"github.com/securityalerts/securityalerts/internal/engine"
)

// buildSources returns the streams of every configured source.
func (r *securityReceiver) buildSources(ctx context.Context, host component.Host) ([]engine.Stream, error) {
	var streams []engine.Stream
	for _, s := range r.cfg.sources() {
		ss, err := s.streams(ctx, r, host)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.key, err)
		}
		streams = append(streams, ss...)
	}
	return streams, nil
}

// apiClient builds a source's HTTP client from its confighttp settings, with its own rate
// limiter (the vendors limit each API client) and credentials.
func (r *securityReceiver) apiClient(ctx context.Context, host component.Host, source string, hc confighttp.ClientConfig,
	limiter apiclient.Limiter, credentials func(*http.Client) apiclient.Credentials,
) (*apiclient.Client, error) {
	api, err := r.secondaryAPIClient(ctx, host, source, hc, limiter, credentials)
	if err != nil {
		return nil, err
	}
	r.telemetry.setTenant(source, api.Host())
	return api, nil
}

// secondaryAPIClient is apiClient for a further API of a source (a USM Central deployment's own
// USM Anywhere API): its requests count for the source, whose tenant stays its main endpoint's.
func (r *securityReceiver) secondaryAPIClient(ctx context.Context, host component.Host, source string, hc confighttp.ClientConfig,
	limiter apiclient.Limiter, credentials func(*http.Client) apiclient.Credentials,
) (*apiclient.Client, error) {
	httpClient, err := hc.ToClient(ctx, host.GetExtensions(), r.set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	withInstanceHeader(httpClient, r.set)
	warnIfPlainHTTP(r.set.Logger, source, hc.Endpoint)
	return apiclient.New(apiclient.Options{
		Endpoint:    hc.Endpoint,
		HTTPClient:  httpClient,
		Credentials: credentials(httpClient),
		Limiter:     limiter,
		Observe:     r.telemetry.observer(source),
	})
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
