package securityalertsreceiver

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"golang.org/x/time/rate"

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
// client is built on the first poll: the default endpoint needs the console's deployment list.
func (d *USMCentralDirectConfig) streams(r *securityReceiver, host component.Host, dir *usmcentral.Directory, name string) []engine.Stream {
	limiter := rate.NewLimiter(rate.Limit(d.RequestsPerSecond), 1)
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
		if hc.Endpoint == "" {
			hc.Endpoint = "https://" + dep.Tenant()
		}
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
	return usmanywhere.NewConnectedStreams(connect, usmanywhere.Config{
		PageSize:     d.PageSize,
		Events:       usmanywhere.StreamConfig{Enabled: true, Filters: filters},
		Source:       usmcentral.Source,
		StreamPrefix: usmcentral.Source + "/" + name + "/",
	})
}
