package securityalertsreceiver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/internal/apiclient"
	"github.com/securityalerts/securityalerts/internal/engine"
	"github.com/securityalerts/securityalerts/internal/usmanywhere"
	"github.com/securityalerts/securityalerts/internal/usmcentral"
)

// USMCentralDirectDeployments maps deployment names to credentials of their own USM Anywhere API.
type USMCentralDirectDeployments map[string]USMCentralDirectConfig

// USMCentralDirectConfig reads one deployment's events from its own USM Anywhere API.
type USMCentralDirectConfig struct {
	// ClientConfig's endpoint defaults to https://<the deployment's fqdn>, learnt from the console.
	confighttp.ClientConfig `mapstructure:",squash"`
	ClientID                string              `mapstructure:"client_id"`
	ClientSecret            configopaque.String `mapstructure:"client_secret"`
	Events                  struct {
		// Filters are USM Anywhere's query parameters, as in the usm_anywhere block.
		Filters map[string]any `mapstructure:"filters"`
	} `mapstructure:"events"`
	PageSize          int     `mapstructure:"page_size"`
	RequestsPerSecond float64 `mapstructure:"requests_per_second"`
}

func defaultUSMCentralDirectConfig() USMCentralDirectConfig {
	usm := defaultUSMAnywhereConfig()
	return USMCentralDirectConfig{ClientConfig: usm.ClientConfig, PageSize: usm.PageSize, RequestsPerSecond: usm.RequestsPerSecond}
}

// Unmarshal starts every entry from the defaults: the collector gives map values none.
func (m *USMCentralDirectDeployments) Unmarshal(conf *confmap.Conf) error {
	out := USMCentralDirectDeployments{}
	for name := range conf.ToStringMap() {
		sub, err := conf.Sub(name)
		if err != nil {
			return err
		}
		entry := defaultUSMCentralDirectConfig()
		if err := sub.Unmarshal(&entry); err != nil {
			return err
		}
		out[name] = entry
	}
	*m = out
	return nil
}

func (d *USMCentralDirectConfig) validate(key string) error {
	var errs []error
	if d.Endpoint != "" {
		errs = append(errs, validateEndpoint(key+".endpoint", d.Endpoint))
	}
	errs = append(errs, validateClientCredentials(key, d.ClientID, string(d.ClientSecret))...)
	errs = append(errs, validatePaging(key, d.PageSize, usmMaxPageSize, d.RequestsPerSecond, usmMaxRequestsPerSecond)...)
	_, err := filterValues(key+".events.filters", d.Events.Filters, usmanywhere.ReservedParams)
	return errors.Join(append(errs, err)...)
}

// streams reads the deployment's events through the USM Anywhere client, named
// "usm_central/<name>/events" under the usm_central source, the deployment's fqdn as tenant. The
// client is built on the first poll: the default endpoint needs the console's deployment list,
// and is used only if allowedHosts allow the host it names; the endpoint is logged once.
func (d *USMCentralDirectConfig) streams(r *securityReceiver, host component.Host, dir *usmcentral.Directory, name string, allowedHosts []string) []engine.Stream {
	// The deployment's own API client: its limit is that client's, on the deployment's tenant.
	budget, limiter := r.rateBudget(d.RequestsPerSecond, usmanywhere.Source, cmp.Or(d.Endpoint, "usm_central deployment "+name), d.ClientID)
	var (
		mu     sync.Mutex
		api    *apiclient.Client
		tenant string
	)
	connect := func(ctx context.Context) (*apiclient.Client, string, error) {
		mu.Lock()
		defer mu.Unlock()
		if api != nil {
			return api, tenant, nil
		}
		dep, err := dir.Find(ctx, name)
		if err != nil {
			return nil, "", err
		}
		hc := d.ClientConfig
		from := "configuration"
		if hc.Endpoint == "" {
			if !hostAllowed(dep.Tenant(), allowedHosts) {
				return nil, "", backoff.Permanent(fmt.Errorf("deployment %q: the console lists its host as %q, which deployments.allowed_hosts does not allow: its credentials are not sent there",
					name, dep.Tenant()))
			}
			hc.Endpoint, from = "https://"+dep.Tenant(), "the console's listing, allowed by deployments.allowed_hosts"
		}
		r.set.Logger.Info("Reading a deployment's events from its own USM Anywhere API", zap.String("source", usmcentral.Source),
			zap.String("deployment", name), zap.String("endpoint", apiclient.Redact(hc.Endpoint)), zap.String("from", from))
		built, err := r.secondaryAPIClient(ctx, host, usmcentral.Source, hc, limiter, func(h *http.Client) apiclient.Credentials {
			return apiclient.NewClientCredentials(h, hc.Endpoint+usmanywhere.TokenPath, d.ClientID, string(d.ClientSecret), time.Minute)
		})
		if err != nil {
			return nil, "", backoff.Permanent(err) // a configuration fault: the next poll tries again
		}
		api, tenant = built, dep.Tenant()
		return api, tenant, nil
	}
	filters, _ := filterValues("", d.Events.Filters, usmanywhere.ReservedParams)
	streams := usmanywhere.NewConnectedStreams(connect, usmanywhere.Config{
		PageSize:          d.PageSize,
		RequestsPerSecond: d.RequestsPerSecond,
		Events:            usmanywhere.StreamConfig{Enabled: true, Filters: filters},
		Source:            usmcentral.Source,
		StreamPrefix:      usmcentral.Source + "/" + name + "/",
	})
	budget.spentBy(streams)
	return streams
}

// validHostPattern accepts a host name or host:port, or "*." and a domain: no scheme, user info,
// path or other wildcard.
func validHostPattern(pattern string) bool {
	return validHost(strings.TrimPrefix(pattern, "*."))
}

// validHost is a bare host[:port]: what "https://" may be put in front of to name an origin.
func validHost(host string) bool {
	u, err := url.Parse("https://" + host)
	return err == nil && host != "" && u.Host == host && u.User == nil && u.Path == "" && u.RawQuery == "" && u.Fragment == "" &&
		!strings.ContainsAny(host, "*@ ")
}

// hostAllowed reports whether patterns allow host: one equal to it (case-insensitive), or
// "*.domain" for any host below domain.
func hostAllowed(host string, patterns []string) bool {
	if !validHost(host) {
		return false
	}
	host = strings.ToLower(host)
	for _, p := range patterns {
		p = strings.ToLower(p)
		if host == p || (strings.HasPrefix(p, "*.") && strings.HasSuffix(host, p[1:])) {
			return true
		}
	}
	return false
}
