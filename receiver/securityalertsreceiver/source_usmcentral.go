package securityalertsreceiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/internal/apiclient"
	"github.com/securityalerts/securityalerts/internal/engine"
	"github.com/securityalerts/securityalerts/internal/usmcentral"
)

// USMCentralConfig is the usm_central block.
type USMCentralConfig struct {
	confighttp.ClientConfig `mapstructure:",squash"`
	ClientID                string                      `mapstructure:"client_id"`
	ClientSecret            configopaque.String         `mapstructure:"client_secret"`
	Alarms                  USMCentralStreamConfig      `mapstructure:"alarms"`
	Events                  USMCentralStreamConfig      `mapstructure:"events"`
	PageSize                int                         `mapstructure:"page_size"`
	RequestsPerSecond       float64                     `mapstructure:"requests_per_second"`
	Deployments             USMCentralDeploymentsConfig `mapstructure:"deployments"`
}

// USMCentralStreamConfig is one search: filters become its find object.
type USMCentralStreamConfig struct {
	StreamConfig `mapstructure:",squash"`
	// Path is where the search is POSTed; the public clients take it as a parameter.
	Path string `mapstructure:"path"`
}

// USMCentralDeploymentsConfig selects the console's deployments (tenants).
type USMCentralDeploymentsConfig struct {
	// Include, when not empty, keeps only the deployments named (name or fqdn); Exclude drops some.
	Include []string `mapstructure:"include"`
	Exclude []string `mapstructure:"exclude"`
	// RefreshEvery is how many polls pass between two listings of the deployments.
	RefreshEvery int `mapstructure:"refresh_every"`
	// USMAnywhere gives deployments, by name, credentials of their own USM Anywhere API, whose
	// events are then read there instead of through the console.
	USMAnywhere USMCentralDirectDeployments `mapstructure:"usm_anywhere"`
	// AllowedHosts are the hosts ("acme.alienvault.cloud", or "*.alienvault.cloud" for any
	// subdomain) to which a deployment's own credentials may be sent when its endpoint is left
	// to the fqdn the console lists: the console's answer alone never chooses where they go.
	AllowedHosts []string `mapstructure:"allowed_hosts"`
}

const (
	centralMaxPageSize = 1000
	// The console allows 100 GET and 50 POST per second per client; searches are POSTs.
	centralMaxRequestsPerSecond = 50
)

func defaultUSMCentralConfig() USMCentralConfig {
	return USMCentralConfig{
		ClientConfig: defaultHTTPClientConfig(),
		Alarms:       USMCentralStreamConfig{StreamConfig: StreamConfig{Enabled: true}, Path: usmcentral.DefaultAlarmsPath},
		Events:       USMCentralStreamConfig{StreamConfig: StreamConfig{Enabled: false}, Path: usmcentral.DefaultEventsPath},
		PageSize:     100,
		// Half the POST limit leaves room for the console's other API clients.
		RequestsPerSecond: 25,
		Deployments:       USMCentralDeploymentsConfig{RefreshEvery: 10},
	}
}

var (
	errSearchPath      = errors.New("must be a path starting with /")
	errDeploymentLeft  = errors.New("names a deployment that include/exclude leaves out")
	errEmptyDeployment = errors.New("must not contain an empty name")
	errDirectEndpoint  = errors.New("must be set, or deployments.allowed_hosts must list the hosts the console may name for it: its credentials go nowhere the configuration does not name")
	errHostPattern     = errors.New("is not a host name, host:port, or *. followed by a domain")
)

func (c *USMCentralConfig) validate(key string) error {
	var errs []error
	errs = append(errs, validateEndpoint(key+".endpoint", c.Endpoint))
	errs = append(errs, validateClientCredentials(key, c.ClientID, string(c.ClientSecret))...)
	errs = append(errs, validatePaging(key, c.PageSize, centralMaxPageSize, c.RequestsPerSecond, centralMaxRequestsPerSecond)...)
	if !c.Alarms.Enabled && !c.Events.Enabled && len(c.Deployments.USMAnywhere) == 0 {
		errs = append(errs, keyErr(key, errNoStreamEnabled))
	}
	for name, s := range map[string]USMCentralStreamConfig{"alarms": c.Alarms, "events": c.Events} {
		if !strings.HasPrefix(s.Path, "/") {
			errs = append(errs, keyErr(key+"."+name+".path", errSearchPath))
		}
		_, err := filterValues(key+"."+name+".filters", s.Filters, nil)
		errs = append(errs, err)
	}
	errs = append(errs, c.Deployments.validate(key+".deployments"))
	return errors.Join(errs...)
}

func (d *USMCentralDeploymentsConfig) validate(key string) error {
	var errs []error
	if d.RefreshEvery < 1 {
		errs = append(errs, keyErr(key+".refresh_every", errPositive))
	}
	for name, names := range map[string][]string{"include": d.Include, "exclude": d.Exclude} {
		for _, n := range names {
			if strings.TrimSpace(n) == "" {
				errs = append(errs, keyErr(key+"."+name, errEmptyDeployment))
			}
		}
	}
	for i, pattern := range d.AllowedHosts {
		if !validHostPattern(pattern) {
			errs = append(errs, fmt.Errorf("%s.allowed_hosts[%d]: %q %w", key, i, pattern, errHostPattern))
		}
	}
	for _, name := range d.USMAnywhere.names() {
		direct := d.USMAnywhere[name]
		dkey := keyPath(key+".usm_anywhere", name)
		if (len(d.Include) > 0 && !containsFold(d.Include, name)) || containsFold(d.Exclude, name) {
			errs = append(errs, keyErr(dkey, errDeploymentLeft))
		}
		if direct.Endpoint == "" && len(d.AllowedHosts) == 0 {
			errs = append(errs, keyErr(dkey+".endpoint", errDirectEndpoint))
		}
		errs = append(errs, direct.validate(dkey))
	}
	return errors.Join(errs...)
}

func containsFold(names []string, name string) bool {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// find turns a search's filters into its find object: a key without a dot is a field of the
// searched object ("status" → "alarm.status"), a dotted key is passed as written.
func (s USMCentralStreamConfig) find(kind string) map[string][]string {
	values, _ := filterValues("", s.Filters, nil)
	find := make(map[string][]string, len(values))
	for k, v := range values {
		if !strings.Contains(k, ".") {
			k = kind + "." + k
		}
		find[k] = v
	}
	return find
}

func (c *USMCentralConfig) streams(ctx context.Context, r *securityReceiver, host component.Host) ([]engine.Stream, error) {
	budget, limiter := r.rateBudget(c.RequestsPerSecond, usmcentral.Source, c.Endpoint, c.ClientID)
	api, err := r.apiClient(ctx, host, usmcentral.Source, c.ClientConfig, limiter,
		func(hc *http.Client) apiclient.Credentials {
			return apiclient.NewClientCredentials(hc, c.Endpoint+usmcentral.TokenPath, c.ClientID, string(c.ClientSecret), time.Minute)
		})
	if err != nil {
		return nil, err
	}
	log := r.set.Logger.With(zap.String("source", usmcentral.Source))
	dir := usmcentral.NewDirectory(api, usmcentral.DirectoryConfig{
		RefreshEvery: c.Deployments.RefreshEvery,
		Include:      c.Deployments.Include,
		Exclude:      c.Deployments.Exclude,
		OnStatus: func(d usmcentral.Deployment, previous string) {
			fields := []zap.Field{zap.String("deployment", d.Name), zap.String("tenant", d.Tenant()), zap.String("status", d.Status())}
			if d.Healthy() {
				log.Info("Deployment is connected again", append(fields, zap.String("previous", previous))...)
				return
			}
			log.Warn("Deployment is not connected to the console: its alarms and events stop arriving", fields...)
		},
		OnError: func(err error) {
			log.Warn("Listing the console's deployments failed; the previous listing stays in use", zap.Error(err))
		},
	})
	c.addProbe(r, api, dir)
	streams := usmcentral.NewStreams(api, dir, usmcentral.Config{
		PageSize:          c.PageSize,
		RequestsPerSecond: c.RequestsPerSecond,
		Alarms:            usmcentral.StreamConfig{Enabled: c.Alarms.Enabled, Path: c.Alarms.Path, Find: c.Alarms.find("alarm")},
		Events:            usmcentral.StreamConfig{Enabled: c.Events.Enabled, Path: c.Events.Path, Find: c.Events.find("event")},
		DirectEvents:      c.Deployments.USMAnywhere.names(),
	})
	budget.spentBy(streams, usmcentral.Source)
	for _, name := range c.Deployments.USMAnywhere.names() {
		direct := c.Deployments.USMAnywhere[name]
		streams = append(streams, direct.streams(r, host, dir, name, c.Deployments.AllowedHosts)...)
	}
	return streams, nil
}

// addProbe reads the deployments by connection status and the open alarms; both on the
// console's resource, as neither count is per deployment (see usmcentral.OpenAlarms).
func (c *USMCentralConfig) addProbe(r *securityReceiver, api *apiclient.Client, dir *usmcentral.Directory) {
	deployments := r.cfg.Metrics.SecurityalertsDeployments.Enabled
	open := r.cfg.Metrics.SecurityalertsAlertsOpen.Enabled && c.Alarms.Enabled
	if r.metrics == nil || (!deployments && !open) {
		return
	}
	r.probes = append(r.probes, probe{source: usmcentral.Source, read: func(ctx context.Context, g gauges) error {
		var errs []error
		if deployments {
			counts, err := dir.Counts(ctx)
			for status, n := range counts {
				g.Deployments(api.Host(), status, n)
			}
			errs = append(errs, err)
		}
		if open {
			counts, err := usmcentral.OpenAlarms(ctx, api, c.Alarms.Path)
			for severity, n := range counts {
				g.OpenAlerts(api.Host(), severity, n)
			}
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}})
}

// names lists the deployments with credentials of their own, sorted: stream order is stable.
func (m USMCentralDirectDeployments) names() []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
