package securityalertsreceiver

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
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
	// MaxClockSkew is how far ahead of now a record's time may move a stream's checkpoint: a
	// record dated further ahead (a device clock running fast) is emitted without moving it.
	MaxClockSkew time.Duration `mapstructure:"max_clock_skew"`
	// MaxSeenIDs bounds each stream's set of ids remembered for that de-duplication.
	MaxSeenIDs int `mapstructure:"max_seen_ids"`
	// Storage is the id of a storage extension (file_storage) for checkpoints; without it they
	// live in memory and a restart begins again at InitialLookback.
	Storage *component.ID `mapstructure:"storage"`
	// LeaderElector is the id of a leader-election extension (etcd, k8s_leader_elector) when
	// several collectors share the streams: each stream is then polled only by the replica
	// that leads it, from the checkpoints in the shared storage. See docs/scaling.md.
	LeaderElector *component.ID `mapstructure:"leader_elector"`
	// SendInstanceID sends the collector's service.instance.id to the vendors' APIs, in the
	// X-Collector-Instance header of every API request. Off by default: an identifier leaves
	// only with the user's consent.
	SendInstanceID bool `mapstructure:"send_instance_id"`
	// RetryOnFailure governs retries of failed API requests and refused deliveries.
	RetryOnFailure configretry.BackOffConfig `mapstructure:"retry_on_failure"`
	// BodyFormat is what each log record's body holds: the vendor's object as it came (vendor,
	// the default), or an OCSF 1.8.0 event keeping that object in unmapped (ocsf).
	BodyFormat BodyFormat `mapstructure:"body_format"`

	// The sources: any subset of the four blocks. Each is in its source_<name>.go file.
	USMAnywhere configoptional.Optional[USMAnywhereConfig] `mapstructure:"usm_anywhere"`
	USMCentral  configoptional.Optional[USMCentralConfig]  `mapstructure:"usm_central"`
	CiscoGTA    configoptional.Optional[CiscoGTAConfig]    `mapstructure:"cisco_gta"`
	TrendCAS    configoptional.Optional[TrendCASConfig]    `mapstructure:"trend_cas"`

	metadata.MetricsBuilderConfig `mapstructure:",squash"`
}

// BodyFormat names the shape of a log record's body.
type BodyFormat string

const (
	BodyFormatVendor BodyFormat = "vendor"
	BodyFormatOCSF   BodyFormat = "ocsf"
)

// StreamConfig turns one list of a source on or off and filters it.
type StreamConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Filters are the API's own query parameters. A list value polls each value separately.
	Filters map[string]any `mapstructure:"filters"`
}

var (
	errNoSource        = errors.New("no source configured: add at least one of usm_anywhere, usm_central, cisco_gta, trend_cas")
	errPollInterval    = errors.New("must be at least 1s")
	errPositive        = errors.New("must be greater than zero")
	errNegative        = errors.New("must not be negative")
	errMissing         = errors.New("must be set")
	errEndpoint        = errors.New("must be an absolute http:// or https:// URL")
	errNoStreamEnabled = errors.New("enables no stream: set alarms.enabled or events.enabled")
	errReservedFilter  = errors.New("is set by the receiver and cannot be a filter")
	errFilterValue     = errors.New("must be a string, number, boolean or a list of them")
	errFilterName      = errors.New("is not a parameter name: it contains spaces or control characters")
	// A watermark that far ahead of a record dated correctly would leave it where the overlap,
	// which looks that far behind the watermark, cannot see it.
	errSkewBeyondOverlap = errors.New("must not exceed overlap")
	errBodyFormat        = errors.New("must be vendor or ocsf")
)

func keyErr(key string, err error) error { return fmt.Errorf("%s: %w", key, err) }

// plainKey is a key segment that reads unambiguously in an error line as it is.
var plainKey = regexp.MustCompile(`^[A-Za-z0-9_.\-]+$`)

// keyPath names the entry name of the map at key parent: "parent.name", or, for a name a user
// wrote with spaces, quotes or control characters, parent."name" quoted as Go does, so that an
// error line stays one readable line that starts with the key it is about.
func keyPath(parent, name string) string {
	if plainKey.MatchString(name) {
		return parent + "." + name
	}
	return parent + "." + strconv.Quote(name)
}

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
	switch {
	case c.MaxClockSkew < 0:
		errs = append(errs, keyErr("max_clock_skew", errNegative))
	case c.MaxClockSkew > c.Overlap && c.Overlap >= 0:
		errs = append(errs, keyErr("max_clock_skew", errSkewBeyondOverlap))
	}
	if c.MaxSeenIDs <= 0 {
		errs = append(errs, keyErr("max_seen_ids", errPositive))
	}
	if c.BodyFormat != BodyFormatVendor && c.BodyFormat != BodyFormatOCSF {
		errs = append(errs, fmt.Errorf("body_format: %q %w", c.BodyFormat, errBodyFormat))
	}
	sources := c.sources()
	if len(sources) == 0 {
		errs = append(errs, errNoSource)
	}
	for _, s := range sources {
		errs = append(errs, s.validate(s.key))
	}
	return errors.Join(errs...)
}

// source is one configured source block.
type source interface {
	// validate checks the block; key prefixes every error ("usm_anywhere.page_size: …").
	validate(key string) error
	// streams builds the source's clients and streams, registering its gauges with r. No network.
	streams(ctx context.Context, r *securityReceiver, host component.Host) ([]engine.Stream, error)
}

type configuredSource struct {
	source
	key string
}

// sources lists the blocks present in the configuration, in a fixed order.
func (c *Config) sources() []configuredSource {
	var out []configuredSource
	if c.USMAnywhere.HasValue() {
		out = append(out, configuredSource{c.USMAnywhere.Get(), "usm_anywhere"})
	}
	if c.USMCentral.HasValue() {
		out = append(out, configuredSource{c.USMCentral.Get(), "usm_central"})
	}
	if c.CiscoGTA.HasValue() {
		out = append(out, configuredSource{c.CiscoGTA.Get(), "cisco_gta"})
	}
	if c.TrendCAS.HasValue() {
		out = append(out, configuredSource{c.TrendCAS.Get(), "trend_cas"})
	}
	return out
}

// requestRateError says a requests_per_second value is outside (0, limit].
func requestRateError(limit float64) error {
	return fmt.Errorf("must be greater than 0 and at most %g (the API's limit)", limit)
}

// pageSizeError says a page_size value is outside [1, limit].
func pageSizeError(limit int) error {
	return fmt.Errorf("must be between 1 and %d", limit)
}

func validateEndpoint(key, endpoint string) error {
	if endpoint == "" {
		return keyErr(key, errMissing)
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%s: %q %w", key, apiclient.Redact(endpoint), errEndpoint)
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
		switch {
		case strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 || name == "":
			// No API takes such a parameter; sent, it would filter nothing or be refused.
			errs = append(errs, keyErr(keyPath(key, name), errFilterName))
			continue
		case slices.Contains(reserved, strings.ToLower(name)):
			errs = append(errs, keyErr(keyPath(key, name), errReservedFilter))
			continue
		}
		values, ok := scalars(filters[name])
		if !ok || len(values) == 0 {
			errs = append(errs, keyErr(keyPath(key, name), errFilterValue))
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

// validateClientCredentials checks the client_id and client_secret of an OAuth2 client.
func validateClientCredentials(key, clientID, clientSecret string) []error {
	var errs []error
	if clientID == "" {
		errs = append(errs, keyErr(key+".client_id", errMissing))
	}
	if clientSecret == "" {
		errs = append(errs, keyErr(key+".client_secret", errMissing))
	}
	return errs
}

// validatePaging checks page_size within [1, maxPageSize] and requests_per_second within
// (0, maxRate].
func validatePaging(key string, pageSize, maxPageSize int, requestsPerSecond, maxRate float64) []error {
	var errs []error
	if pageSize < 1 || pageSize > maxPageSize {
		errs = append(errs, keyErr(key+".page_size", pageSizeError(maxPageSize)))
	}
	if requestsPerSecond <= 0 || requestsPerSecond > maxRate {
		errs = append(errs, keyErr(key+".requests_per_second", requestRateError(maxRate)))
	}
	return errs
}
