package trendcas

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"github.com/cenkalti/backoff/v5"
	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
)

// Paths of the security events list: public clients of the real API use the first; the
// vendor's SIEM document writes the second. The first that answers anything but 404 is kept.
const (
	Path         = "/v1/siem/security_events"
	FallbackPath = "/siem/v1/security_events"
)

// Client reads one site's security events with one token. Its streams share the token's quota
// and the discovered path.
type Client struct {
	api   *apiclient.Client
	quota *Quota
	log   *zap.Logger

	// probing is held by the one request finding out which path answers, so that the other
	// pairs do not each spend quota on a 404.
	probing chan struct{}
	mu      sync.Mutex
	path    string
}

// NewClient returns a client whose requests go through api, which must pace them with quota.
func NewClient(api *apiclient.Client, quota *Quota, log *zap.Logger) *Client {
	return &Client{api: api, quota: quota, log: log, probing: make(chan struct{}, 1)}
}

// Quota is the token's quota, for the quota-remaining gauge.
func (c *Client) Quota() *Quota { return c.quota }

// first fetches the first page of a walk and returns its body and URL.
func (c *Client) first(ctx context.Context, params url.Values) ([]byte, string, error) {
	if path := c.knownPath(); path != "" {
		u := c.api.URL(path, params)
		body, err := c.get(ctx, u)
		return body, u, err
	}
	select {
	case c.probing <- struct{}{}:
		defer func() { <-c.probing }()
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
	if path := c.knownPath(); path != "" { // found while this request waited
		u := c.api.URL(path, params)
		body, err := c.get(ctx, u)
		return body, u, err
	}
	for _, path := range []string{Path, FallbackPath} {
		u := c.api.URL(path, params)
		body, err := c.get(ctx, u)
		if status(err) == http.StatusNotFound {
			c.log.Info("Security events path answered 404", zap.String("path", path))
			continue
		}
		if answered(err) {
			c.mu.Lock()
			c.path = path
			c.mu.Unlock()
			c.log.Info("Security events are read from this path", zap.String("path", path), zap.Bool("fallback", path == FallbackPath))
		}
		return body, u, err
	}
	return nil, "", backoff.Permanent(fmt.Errorf("neither %s nor %s exists at %s (both answered 404): check the endpoint",
		Path, FallbackPath, c.api.Host()))
}

// get fetches u and classifies a failure.
func (c *Client) get(ctx context.Context, u string) ([]byte, error) {
	body, err := c.api.Get(ctx, u)
	if err != nil {
		return nil, classify(err, c.quota)
	}
	return body, nil
}

func (c *Client) knownPath() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.path
}

// status is the HTTP status of a failed request, 0 without one.
func status(err error) int {
	var he *apiclient.HTTPError
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
}

// answered says whether the path exists: the server answered, and neither with 404 nor with
// a failure (quota, 5xx, network) that may come before routing.
func answered(err error) bool {
	if err == nil {
		return true
	}
	s := status(err)
	return s != 0 && s != http.StatusNotFound && s < 500 && s != http.StatusTooManyRequests && s != http.StatusRequestTimeout
}
