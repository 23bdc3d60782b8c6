package securityalertsreceiver

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/internal/apiclient"
	"github.com/securityalerts/securityalerts/internal/ciscogta"
	"github.com/securityalerts/securityalerts/internal/engine"
)

// CiscoGTAConfig is the cisco_gta block.
type CiscoGTAConfig struct {
	// Endpoint (in ClientConfig) is the regional API host, e.g. https://api.cta.eu.amp.cisco.com;
	// the access token is sent only there.
	confighttp.ClientConfig `mapstructure:",squash"`
	// TokenURL is the SecureX token endpoint, e.g.
	// https://visibility.eu.amp.cisco.com/iroh/oauth2/token; the client credentials go only there.
	TokenURL     string              `mapstructure:"token_url"`
	ClientID     string              `mapstructure:"client_id"`
	ClientSecret configopaque.String `mapstructure:"client_secret"`
	// CustomerID is the tenant; when empty it is read from /auth/api-clients/me.
	CustomerID       string            `mapstructure:"customer_id"`
	Alerts           StreamConfig      `mapstructure:"alerts"`
	ThreatDetections StreamConfig      `mapstructure:"threat_detections"`
	Events           CiscoEventsConfig `mapstructure:"events"`
	// Flows are off by default: there are an order of magnitude more of them than events.
	Flows             StreamConfig `mapstructure:"flows"`
	PageSize          int          `mapstructure:"page_size"`
	RequestsPerSecond float64      `mapstructure:"requests_per_second"`
}

// CiscoEventsConfig is the events list, which can be enriched with the parents of each event.
type CiscoEventsConfig struct {
	StreamConfig `mapstructure:",squash"`
	// Enrich links each event to its threat detections and alerts (their ids, the alert risk,
	// the detection title), using the bulk resources and a bounded cache.
	Enrich bool `mapstructure:"enrich"`
}

const (
	// ciscoCourtesyRate: Cisco documents no rate limit. Its own sample clients send one request at
	// a time; above this rate (ours, not Cisco's) the receiver warns at start, as a typo must not
	// hammer a shared API unnoticed. A 429's Retry-After is honoured whatever the setting.
	ciscoCourtesyRate = 50
	// ciscoTokenRefreshEarly is what Cisco's own client does with its 600 s tokens.
	ciscoTokenRefreshEarly = 30 * time.Second
)

var errNoCiscoStream = errors.New("enables no stream: set alerts.enabled, threat_detections.enabled, events.enabled or flows.enabled")

func defaultCiscoGTAConfig() CiscoGTAConfig {
	return CiscoGTAConfig{
		ClientConfig: defaultHTTPClientConfig(),
		Alerts:       StreamConfig{Enabled: true},
		Events:       CiscoEventsConfig{StreamConfig: StreamConfig{Enabled: true}, Enrich: true},
		// The API's own default and maximum: the fewest requests for a first sync.
		PageSize:          ciscogta.MaxPageSize,
		RequestsPerSecond: 10,
	}
}

func (c *CiscoGTAConfig) validate(key string) error {
	errs := []error{
		validateEndpoint(key+".endpoint", c.Endpoint),
		validateEndpoint(key+".token_url", c.TokenURL),
	}
	if c.ClientID == "" {
		errs = append(errs, keyErr(key+".client_id", errMissing))
	}
	if c.ClientSecret == "" {
		errs = append(errs, keyErr(key+".client_secret", errMissing))
	}
	if c.PageSize < 1 || c.PageSize > ciscogta.MaxPageSize {
		errs = append(errs, keyErr(key+".page_size", pageSizeError(ciscogta.MaxPageSize)))
	}
	if c.RequestsPerSecond <= 0 {
		errs = append(errs, keyErr(key+".requests_per_second", errPositive))
	}
	lists := c.lists()
	enabled := false
	for _, name := range []string{"alerts", "threat_detections", "events", "flows"} {
		enabled = enabled || lists[name].Enabled
		_, err := filterValues(key+"."+name+".filters", lists[name].Filters, ciscogta.ReservedParams)
		errs = append(errs, err)
	}
	if !enabled {
		errs = append(errs, keyErr(key, errNoCiscoStream))
	}
	return errors.Join(errs...)
}

func (c *CiscoGTAConfig) lists() map[string]StreamConfig {
	return map[string]StreamConfig{
		"alerts": c.Alerts, "threat_detections": c.ThreatDetections, "events": c.Events.StreamConfig, "flows": c.Flows,
	}
}

func (c *CiscoGTAConfig) streams(ctx context.Context, r *securityReceiver, host component.Host) ([]engine.Stream, error) {
	if c.RequestsPerSecond > ciscoCourtesyRate {
		r.set.Logger.Warn("cisco_gta.requests_per_second is above 50, this receiver's courtesy ceiling: Cisco documents no rate limit, "+
			"but an API client sending this fast may be throttled (429) or blocked by Cisco",
			zap.Float64("requests_per_second", c.RequestsPerSecond))
	}
	budget, limiter := r.rateBudget(c.RequestsPerSecond, ciscogta.Source, c.Endpoint, c.ClientID)
	api, err := r.apiClient(ctx, host, ciscogta.Source, c.ClientConfig, limiter,
		func(hc *http.Client) apiclient.Credentials {
			return apiclient.NewClientCredentials(hc, c.TokenURL, c.ClientID, string(c.ClientSecret), ciscoTokenRefreshEarly)
		})
	if err != nil {
		return nil, err
	}
	warnIfPlainHTTP(r.set.Logger, ciscogta.Source, "token_url", c.TokenURL)
	// The tenant is the customer id, not the API host.
	if c.CustomerID != "" {
		r.telemetry.setTenant(ciscogta.Source, c.CustomerID)
	}
	client := ciscogta.NewClient(api, c.CustomerID, func(id string) {
		r.set.Logger.Info("cisco_gta.customer_id is not set: using the customer id the API client belongs to",
			zap.String("customer_id", id), zap.String("from", ciscogta.MePath))
		r.telemetry.setTenant(ciscogta.Source, id)
	})
	if r.metrics != nil && r.cfg.Metrics.SecurityalertsAlertsOpen.Enabled && c.Alerts.Enabled {
		r.probes = append(r.probes, probe{source: ciscogta.Source, read: func(ctx context.Context, g gauges) error {
			tenant, open, err := ciscogta.OpenAlerts(ctx, client)
			for severity, n := range open {
				g.OpenAlerts(tenant, severity, n)
			}
			return err
		}})
	}
	stream := func(s StreamConfig) ciscogta.StreamConfig {
		return ciscogta.StreamConfig{Enabled: s.Enabled, Filters: s.Filters}
	}
	streams := ciscogta.NewStreams(client, ciscogta.Config{
		PageSize:         c.PageSize,
		Alerts:           stream(c.Alerts),
		ThreatDetections: stream(c.ThreatDetections),
		Events:           stream(c.Events.StreamConfig),
		Flows:            stream(c.Flows),
		EnrichEvents:     c.Events.Enrich,
	})
	budget.spentBy(streams, ciscogta.Source)
	return streams, nil
}
