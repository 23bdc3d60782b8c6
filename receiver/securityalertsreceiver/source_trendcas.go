package securityalertsreceiver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/trendcas"
)

// TrendCASConfig is the trend_cas block.
type TrendCASConfig struct {
	// ClientConfig is inline: endpoint, tls, timeout, headers, proxy_url, and auth, through which
	// an authenticator extension may supply the Authorization header instead of token.
	confighttp.ClientConfig `mapstructure:",squash"`
	Token                   configopaque.String `mapstructure:"token"`
	Services                []string            `mapstructure:"services"`
	Events                  []string            `mapstructure:"events"`
	Limit                   int                 `mapstructure:"limit"`
	RequestsPerMinute       int                 `mapstructure:"requests_per_minute"`
	RequestsPerDay          int                 `mapstructure:"requests_per_day"`
	QueryDelay              time.Duration       `mapstructure:"query_delay"`
}

const (
	// trendDocumentedLimit is the page size the SIEM document allows; newer pages of the
	// vendor's help allow 500, which is accepted when configured.
	trendDocumentedLimit = 200
	trendMaxLimit        = 500
)

// trendName is the form of the API's service and event names.
var trendName = regexp.MustCompile(`^[a-z0-9_]+$`)

var (
	errTrendToken = errors.New("must be set, unless auth names an authenticator extension")
	errTrendNames = errors.New("must list at least one name")
)

func defaultTrendCASConfig() TrendCASConfig {
	return TrendCASConfig{
		ClientConfig:      defaultHTTPClientConfig(),
		Services:          slices.Clone(trendcas.KnownServices),
		Events:            slices.Clone(trendcas.KnownEvents),
		Limit:             trendDocumentedLimit,
		RequestsPerMinute: trendcas.DocumentedPerMinute,
		RequestsPerDay:    trendcas.DocumentedPerDay,
		// A minute keeps each window clear of the events still being written when it is
		// read; the overlap (10m by default) re-reads behind the checkpoint for any indexed
		// later still. Longer only delays every event.
		QueryDelay: time.Minute,
	}
}

func (c *TrendCASConfig) validate(key string) error {
	var errs []error
	errs = append(errs, validateEndpoint(key+".endpoint", c.Endpoint))
	if c.Token == "" && !c.Auth.HasValue() {
		errs = append(errs, keyErr(key+".token", errTrendToken))
	}
	errs = append(errs, validateTrendNames(key+".services", c.Services), validateTrendNames(key+".events", c.Events))
	if c.Limit < 1 || c.Limit > trendMaxLimit {
		errs = append(errs, keyErr(key+".limit", pageSizeError(trendMaxLimit)))
	}
	if c.RequestsPerMinute <= 0 {
		errs = append(errs, keyErr(key+".requests_per_minute", errPositive))
	}
	if c.RequestsPerDay <= 0 {
		errs = append(errs, keyErr(key+".requests_per_day", errPositive))
	}
	if c.QueryDelay < 0 {
		errs = append(errs, keyErr(key+".query_delay", errNegative))
	}
	return errors.Join(errs...)
}

func validateTrendNames(key string, names []string) error {
	if len(names) == 0 {
		return keyErr(key, errTrendNames)
	}
	var errs []error
	for i, n := range names {
		switch {
		case !trendName.MatchString(n):
			errs = append(errs, fmt.Errorf("%s: %q is not a name the API takes (lower-case letters, digits, _)", key, n))
		case slices.Contains(names[:i], n):
			errs = append(errs, fmt.Errorf("%s: %q is listed twice", key, n))
		}
	}
	return errors.Join(errs...)
}

func (c *TrendCASConfig) streams(ctx context.Context, r *securityReceiver, host component.Host) ([]engine.Stream, error) {
	log := r.set.Logger.With(zap.String("source", trendcas.Source))
	quota := trendcas.NewQuota(c.RequestsPerMinute, c.RequestsPerDay)
	hc := c.ClientConfig
	if c.Token != "" {
		// A static header rather than apiclient.Credentials: a 401 retried with the same token
		// would only spend quota. An auth extension, if also configured, sets the header last.
		hc.Headers = slices.Clone(c.Headers)
		hc.Headers.Set("Authorization", "Bearer "+c.Token)
	}
	api, err := r.apiClient(ctx, host, trendcas.Source, hc, quota, func(*http.Client) apiclient.Credentials { return nil })
	if err != nil {
		return nil, err
	}
	c.warnAboutQuota(log, r.cfg.PollInterval)
	budget, remaining := r.quotaBudget(quota, c.RequestsPerMinute, c.RequestsPerDay, log, trendcas.Source, c.Endpoint, c.credential())
	r.quotas[trendcas.Source] = remaining
	if r.metrics != nil && r.cfg.Metrics.SecurityalertsAPIQuotaRemaining.Enabled {
		r.probes = append(r.probes, probe{source: trendcas.Source, read: func(ctx context.Context, g gauges) error {
			n, err := remaining(ctx)
			if err == nil {
				g.QuotaRemaining(api.Host(), n)
			}
			return err
		}})
	}
	client := trendcas.NewClient(api, quota, log)
	streams := client.Streams(trendcas.Config{Services: c.Services, Events: c.Events, Limit: c.Limit, QueryDelay: c.QueryDelay})
	budget.spentBy(streams, trendcas.Source)
	return streams, nil
}

// credential is what the API counts the quota by: the token, or the authenticator supplying it.
func (c *TrendCASConfig) credential() string {
	if c.Token != "" {
		return "token " + string(c.Token)
	}
	return "auth " + c.Auth.Get().AuthenticatorID.String()
}

// quotaBudget shares a Trend token's quota among the replicas when they share budgets: the
// minute by shares (the quota sends nothing until it has one), the day by the grants ledger. It
// returns the budget and what reads the quota left: the group's when shared, else this quota's.
func (r *securityReceiver) quotaBudget(quota *trendcas.Quota, perMinute, perDay int, log *zap.Logger, credential ...string,
) (*requestBudget, func(context.Context) (int64, error)) {
	alone := func(context.Context) (int64, error) { return quota.Remaining(), nil }
	if r.sharing == nil {
		return &requestBudget{}, alone
	}
	var mu sync.Mutex
	share := 0.0
	b := r.sharedBudget(float64(perMinute), trendcas.MinuteWindow, func(s float64) {
		mu.Lock()
		share = s
		mu.Unlock()
		quota.SetPerMinute(s)
	}, credential...)
	quota.SetPerMinute(0)
	if r.ledger == nil {
		log.Warn("leader_elector shares the minute but keeps no shared ledger: each replica counts the day's requests alone")
		return b, alone
	}
	day := newGroupDay(r.ledger, b.key, perDay, func() int {
		mu.Lock()
		defer mu.Unlock()
		return max(1, int(math.Ceil(share)))
	}, log)
	quota.ShareDay(day)
	r.withdraw = append(r.withdraw, day.close)
	return b, func(ctx context.Context) (int64, error) {
		used, err := r.ledger.GrantsUsed(ctx, b.key)
		return int64(max(perDay-used, 0)), err
	}
}

// warnAboutQuota says once, at start, what the quota means for this configuration.
func (c *TrendCASConfig) warnAboutQuota(log *zap.Logger, poll time.Duration) {
	if c.RequestsPerMinute > trendcas.DocumentedPerMinute {
		log.Warn("requests_per_minute is above the API's documented 10 a minute: unless this token's limit was raised, the API will refuse requests",
			zap.Int("requests_per_minute", c.RequestsPerMinute))
	}
	if c.Limit > trendDocumentedLimit {
		log.Warn("limit is above the 200 the SIEM API document allows: a site that refuses it answers 400, which disables every pair",
			zap.Int("limit", c.Limit))
	}
	pairs := len(c.Services) * len(c.Events)
	if every, fits := trendcas.Plan(pairs, poll, c.RequestsPerMinute, c.RequestsPerDay); !fits {
		log.Warn("The request quota cannot poll every service/event pair each poll_interval: pairs take turns, and each is polled at most this often",
			zap.Int("pairs", pairs), zap.Duration("poll_interval", poll),
			zap.Int("requests_per_minute", c.RequestsPerMinute), zap.Int("requests_per_day", c.RequestsPerDay),
			zap.Duration("slowest_effective_interval", every))
	}
}
