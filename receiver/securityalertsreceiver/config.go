package securityalertsreceiver

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"

	"github.com/securityalerts/securityalerts/internal/usmanywhere"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadata"
)

// Config is the receiver's configuration; see the README for every key.
type Config struct {
	// PollInterval is how often every stream is polled once it has caught up.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// InitialLookback is how far back a stream's very first poll reaches.
	InitialLookback time.Duration `mapstructure:"initial_lookback"`
	// Overlap is how far behind its checkpoint a time-filtered stream re-reads, to catch records
	// the vendor indexed late; records already emitted are recognised by id and skipped.
	Overlap time.Duration `mapstructure:"overlap"`
	// MaxSeenIDs bounds each stream's set of ids remembered for that de-duplication.
	MaxSeenIDs int `mapstructure:"max_seen_ids"`
	// Storage is the id of a storage extension (file_storage) for checkpoints; without it they
	// live in memory and a restart begins again at InitialLookback.
	Storage *component.ID `mapstructure:"storage"`
	// RetryOnFailure governs retries of failed API requests and refused deliveries.
	RetryOnFailure configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	USMAnywhere configoptional.Optional[USMAnywhereConfig] `mapstructure:"usm_anywhere"`

	metadata.MetricsBuilderConfig `mapstructure:",squash"`
}

// StreamConfig turns one list of a source on or off and filters it.
type StreamConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Filters are the API's own query parameters. A list value polls each value separately.
	Filters map[string]any `mapstructure:"filters"`
}

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

var (
	errNoSource          = errors.New("no source configured: add at least one of usm_anywhere")
	errPollInterval      = errors.New("must be at least 1s")
	errPositive          = errors.New("must be greater than zero")
	errNegative          = errors.New("must not be negative")
	errMissing           = errors.New("must be set")
	errEndpoint          = errors.New("must be an absolute http:// or https:// URL")
	errNoStreamEnabled   = errors.New("enables no stream: set alarms.enabled or events.enabled")
	errReservedFilter    = errors.New("is set by the receiver and cannot be a filter")
	errFilterValue       = errors.New("must be a string, number, boolean or a list of them")
	errPageSizeRange     = fmt.Errorf("must be between 1 and %d", usmMaxPageSize)
	errRequestsRateRange = fmt.Errorf("must be greater than 0 and at most %d (the API's limit)", usmMaxRequestsPerSecond)
)

func keyErr(key string, err error) error { return fmt.Errorf("%s: %w", key, err) }

// Validate checks every key; each error names the key it is about.
func (c *Config) Validate() error {
	var errs []error
	if c.PollInterval < time.Second {
		errs = append(errs, keyErr("poll_interval", errPollInterval))
	}
	if c.InitialLookback <= 0 {
		errs = append(errs, keyErr("initial_lookback", errPositive))
	}
	if c.Overlap < 0 {
		errs = append(errs, keyErr("overlap", errNegative))
	}
	if c.MaxSeenIDs <= 0 {
		errs = append(errs, keyErr("max_seen_ids", errPositive))
	}
	if !c.USMAnywhere.HasValue() {
		errs = append(errs, errNoSource)
	} else {
		errs = append(errs, c.USMAnywhere.Get().validate("usm_anywhere"))
	}
	return errors.Join(errs...)
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
		errs = append(errs, keyErr(key+".page_size", errPageSizeRange))
	}
	if u.RequestsPerSecond <= 0 || u.RequestsPerSecond > usmMaxRequestsPerSecond {
		errs = append(errs, keyErr(key+".requests_per_second", errRequestsRateRange))
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

func validateEndpoint(key, endpoint string) error {
	if endpoint == "" {
		return keyErr(key, errMissing)
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%s: %q %w", key, endpoint, errEndpoint)
	}
	return nil
}

// filterValues normalises filters to the query parameters they stand for: a scalar is one
// value, a list several.
func filterValues(key string, filters map[string]any, reserved []string) (map[string][]string, error) {
	out := make(map[string][]string, len(filters))
	names := make([]string, 0, len(filters))
	for name := range filters {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		if slices.Contains(reserved, strings.ToLower(name)) {
			errs = append(errs, keyErr(key+"."+name, errReservedFilter))
			continue
		}
		values, ok := scalars(filters[name])
		if !ok || len(values) == 0 {
			errs = append(errs, keyErr(key+"."+name, errFilterValue))
			continue
		}
		out[name] = values
	}
	return out, errors.Join(errs...)
}

func scalars(v any) ([]string, bool) {
	switch x := v.(type) {
	case string, bool, int, int64, float64, uint64:
		return []string{fmt.Sprint(x)}, true
	case []any:
		out := make([]string, 0, len(x))
		for _, item := range x {
			s, ok := scalars(item)
			if !ok || len(s) != 1 {
				return nil, false
			}
			out = append(out, s[0])
		}
		return out, true
	}
	return nil, false
}
