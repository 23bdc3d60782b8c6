package etcdextension

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configtls"
)

// Config is the etcd extension's configuration; docs/scaling.md explains every key.
type Config struct {
	// Endpoints are the etcd cluster's client URLs (http://host:2379, or https:// with tls).
	Endpoints []string `mapstructure:"endpoints"`
	// KeyPrefix scopes every key the extension writes: collectors that must coordinate share it,
	// unrelated deployments on the same etcd cluster use different ones.
	KeyPrefix string `mapstructure:"key_prefix"`
	// SessionTTL is the lease of this collector's session: how long after its last renewal a
	// replica that stopped (crashed, partitioned) still holds its keys, so the failover bound.
	SessionTTL time.Duration `mapstructure:"session_ttl"`
	// DialTimeout bounds connecting (and authenticating) to etcd.
	DialTimeout time.Duration `mapstructure:"dial_timeout"`
	// RequestTimeout bounds each storage request.
	RequestTimeout time.Duration `mapstructure:"request_timeout"`
	// TLS is the collector's standard client TLS block; insecure (the default) means plaintext.
	TLS configtls.ClientConfig `mapstructure:"tls"`
	// Username and Password authenticate to an etcd cluster with auth enabled.
	Username string              `mapstructure:"username"`
	Password configopaque.String `mapstructure:"password"`
	// AllowPlaintextPassword sends the password to endpoints that are not loopback without
	// TLS: the user says the network between the collector and etcd is trusted.
	AllowPlaintextPassword bool `mapstructure:"allow_plaintext_password"`
}

// minSessionTTL is etcd's smallest lease with its default heartbeat and election timeout
// (1.5 × the election timeout, rounded up to whole seconds).
const minSessionTTL = 2 * time.Second

func createDefaultConfig() *Config {
	return &Config{
		Endpoints:      []string{"http://127.0.0.1:2379"},
		KeyPrefix:      "/otelcol/",
		SessionTTL:     10 * time.Second,
		DialTimeout:    5 * time.Second,
		RequestTimeout: 5 * time.Second,
		TLS:            configtls.ClientConfig{Insecure: true},
	}
}

var (
	errMissing     = errors.New("must be set")
	errPositive    = errors.New("must be greater than zero")
	errWholeSecond = fmt.Errorf("must be whole seconds (etcd leases are) and at least %s", minSessionTTL)
	errEndpoint    = errors.New("must be host:port or an http:// or https:// URL with a host")
	errHTTPS       = errors.New("an https:// endpoint needs tls.insecure: false")
	errHTTP        = errors.New("an http:// endpoint is never encrypted, whatever tls says: use https:// (or host:port) with tls")
	errPassword    = errors.New("must be set together with username")
	errPlaintext   = errors.New("would cross the network in clear text: use https:// endpoints with tls, or set allow_plaintext_password: true")
)

func keyErr(key string, err error) error { return fmt.Errorf("%s: %w", key, err) }

// Validate checks every key; each error names the key it is about.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Endpoints) == 0 {
		errs = append(errs, keyErr("endpoints", errMissing))
	}
	for i, ep := range c.Endpoints {
		u, err := endpointURL(ep)
		key := fmt.Sprintf("endpoints[%d]", i)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %q %w", key, redact(ep), errEndpoint))
		case u.Scheme == "https" && c.TLS.Insecure:
			errs = append(errs, keyErr(key, errHTTPS))
		case u.Scheme == "http" && !c.TLS.Insecure:
			errs = append(errs, keyErr(key, errHTTP))
		}
	}
	if plain := c.plaintextEndpoints(); c.Password != "" && !c.AllowPlaintextPassword && len(plain) > 0 {
		errs = append(errs, fmt.Errorf("password: sent to %s %w", strings.Join(plain, ", "), errPlaintext))
	}
	if c.KeyPrefix == "" {
		errs = append(errs, keyErr("key_prefix", errMissing))
	}
	if c.SessionTTL < minSessionTTL || c.SessionTTL%time.Second != 0 {
		errs = append(errs, keyErr("session_ttl", errWholeSecond))
	}
	if c.DialTimeout <= 0 {
		errs = append(errs, keyErr("dial_timeout", errPositive))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, keyErr("request_timeout", errPositive))
	}
	if c.Password != "" && c.Username == "" {
		errs = append(errs, keyErr("password", errPassword))
	}
	if err := c.TLS.Validate(); err != nil {
		errs = append(errs, keyErr("tls", err))
	}
	return errors.Join(errs...)
}

// endpointURL parses an endpoint as the etcd client does: a URL, or a bare host:port (whose
// scheme is left empty: the client encrypts it exactly when tls is set).
func endpointURL(ep string) (*url.URL, error) {
	if !strings.Contains(ep, "://") {
		if _, _, err := net.SplitHostPort(ep); err != nil {
			return nil, err
		}
		return &url.URL{Host: ep}, nil
	}
	u, err := url.Parse(ep)
	if err != nil {
		return nil, err
	}
	if u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, errEndpoint
	}
	return u, nil
}

// plaintextEndpoints are the endpoints (redacted) reached without TLS across a network: the
// etcd client never encrypts an http:// endpoint, and a bare host:port only with tls set.
// Loopback is not a network anyone else can read.
func (c *Config) plaintextEndpoints() []string {
	var out []string
	for _, ep := range c.Endpoints {
		u, err := endpointURL(ep)
		if err != nil || u.Scheme == "https" || (u.Scheme == "" && !c.TLS.Insecure) || isLoopback(u.Hostname()) {
			continue
		}
		out = append(out, redact(ep))
	}
	return out
}

func isLoopback(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	return host == "localhost"
}

// redact drops the user info of an endpoint, for messages and logs.
func redact(ep string) string {
	scheme, rest, found := strings.Cut(ep, "://")
	if !found {
		scheme, rest = "", ep
	}
	host, _, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(host, "@"); i >= 0 {
		rest = rest[i+1:]
	}
	if !found {
		return rest
	}
	return scheme + "://" + rest
}
