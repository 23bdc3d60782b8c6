package securityalertsreceiver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
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
// credentials gets an HTTP client of its own for the token requests: the same transport (TLS,
// proxy, timeout), without the API's headers and auth, which are for the API's origin only (a
// token URL may be another host), and without the instance header.
func (r *securityReceiver) secondaryAPIClient(ctx context.Context, host component.Host, source string, hc confighttp.ClientConfig,
	limiter apiclient.Limiter, credentials func(*http.Client) apiclient.Credentials,
) (*apiclient.Client, error) {
	httpClient, err := hc.ToClient(ctx, host.GetExtensions(), r.set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	if r.cfg.SendInstanceID {
		withInstanceHeader(httpClient, r.set)
	}
	tokenConfig := hc
	tokenConfig.Headers, tokenConfig.Auth, tokenConfig.Compression = nil, configoptional.None[configauth.Config](), ""
	tokenClient, err := tokenConfig.ToClient(ctx, host.GetExtensions(), r.set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	warnIfPlainHTTP(r.set.Logger, source, "endpoint", hc.Endpoint)
	return apiclient.New(apiclient.Options{
		Endpoint:    hc.Endpoint,
		HTTPClient:  httpClient,
		Credentials: credentials(tokenClient),
		Limiter:     limiter,
		Observe:     r.telemetry.observer(source),
	})
}

// warnIfPlainHTTP warns about credentials crossing a network in clear text, naming the key of
// the URL and the URL without its user info. Loopback is fine (tests, a local TLS-terminating
// proxy), and a plain URL is never refused.
func warnIfPlainHTTP(log *zap.Logger, source, key, endpoint string) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" {
		return
	}
	if ip := net.ParseIP(u.Hostname()); (ip != nil && ip.IsLoopback()) || u.Hostname() == "localhost" {
		return
	}
	log.Warn("Endpoint uses plain http: credentials and data cross the network unencrypted",
		zap.String("source", source), zap.String("key", key), zap.String("endpoint", apiclient.Redact(endpoint)))
}
