// Package apiclient is the HTTP layer every vendor client shares: it sends requests only to the
// configured endpoint's origin, waits on the source's rate limiter, attaches credentials, caps
// response bodies and turns HTTP failures into errors the engine knows how to retry.
package apiclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultMaxBodyBytes bounds a response body; a page of 1000 large alarms stays well below it.
const DefaultMaxBodyBytes = 64 << 20

// Limiter paces requests; *rate.Limiter is one. A source with several limits (per minute and per
// day) passes one that waits on all of them.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Credentials yields the value of the Authorization header. Invalidate tells it that the value
// was refused (HTTP 401), so that the next call fetches a fresh one.
type Credentials interface {
	Authorization(ctx context.Context) (string, error)
	Invalidate(refused string)
}

// Options configure a Client.
type Options struct {
	// Endpoint is the API's base URL; its origin is the only one credentials are sent to.
	Endpoint string
	// HTTPClient is built from the user's confighttp settings (TLS, proxy, timeout, headers).
	HTTPClient *http.Client
	// Credentials may be nil when the HTTP client itself authenticates (static headers, auth extension).
	Credentials Credentials
	// Limiter is shared by every stream of one source, as the vendors' limits are per API client.
	Limiter Limiter
	// MaxBodyBytes caps a response body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Observe is told the outcome of every request (status 0: no response) for self-telemetry.
	Observe func(status int, took time.Duration)
}

// Client sends requests to one API.
type Client struct {
	base    *url.URL
	http    *http.Client
	creds   Credentials
	limiter Limiter
	maxBody int64
	observe func(int, time.Duration)
}

// New validates the endpoint and returns a Client.
func New(o Options) (*Client, error) {
	base, err := url.Parse(strings.TrimRight(o.Endpoint, "/"))
	if err != nil || base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") {
		return nil, fmt.Errorf("endpoint %q is not an http(s) URL", Redact(o.Endpoint))
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	c := &Client{base: base, creds: o.Credentials, limiter: o.Limiter, maxBody: o.MaxBodyBytes, observe: o.Observe}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
	}
	// A redirect is a link like any other: never follow one off our origin with credentials.
	c.http = confineRedirects(hc, base)
	return c, nil
}

// Host is the endpoint's host, the tenant identity of single-tenant sources.
func (c *Client) Host() string { return c.base.Host }

// URL joins path and query onto the endpoint.
func (c *Client) URL(path string, query url.Values) string {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = query.Encode()
	return u.String()
}

// Resolve turns a link from a response (absolute or relative) into an absolute URL, refusing any
// link that leaves the endpoint's origin: following it would hand our token to another host.
func (c *Client) Resolve(link string) (string, error) {
	// Both refusals are permanent: the page is refetched on a retryable error, and the same
	// page would carry the same link. Neither message repeats the link's query string.
	ref, err := url.Parse(link)
	if err != nil {
		return "", permanent(fmt.Errorf("unparsable link: %w", stripURL(err)))
	}
	u := c.base.ResolveReference(ref)
	if !c.sameOrigin(u) {
		return "", permanent(&ForeignOriginError{URL: redact(u)})
	}
	return u.String(), nil
}

// Get fetches rawURL and returns the body of a 2xx response.
func (c *Client) Get(ctx context.Context, rawURL string) ([]byte, error) {
	return c.Do(ctx, http.MethodGet, rawURL, "", nil)
}

// Do sends one request and returns the body of a 2xx response. A 401 is answered once by
// fetching fresh credentials and repeating the request; other failures become *HTTPError.
func (c *Client) Do(ctx context.Context, method, rawURL, contentType string, body []byte) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, permanent(fmt.Errorf("unparsable URL: %w", stripURL(err)))
	}
	if !c.sameOrigin(u) {
		return nil, permanent(&ForeignOriginError{URL: redact(u)})
	}
	for refreshed := false; ; refreshed = true {
		resp, auth, err := c.send(ctx, method, u, contentType, body)
		if err != nil {
			return nil, err
		}
		if resp.status == http.StatusUnauthorized && c.creds != nil && !refreshed {
			c.creds.Invalidate(auth)
			continue
		}
		if resp.status < 200 || resp.status > 299 {
			return nil, classify(newHTTPError(method, u, resp, auth))
		}
		return resp.body, nil
	}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (c *Client) send(ctx context.Context, method string, u *url.URL, contentType string, body []byte) (*response, string, error) {
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return nil, "", err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, "", permanent(err)
	}
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	var auth string
	if c.creds != nil {
		if auth, err = c.creds.Authorization(ctx); err != nil {
			return nil, "", err
		}
		req.Header.Set("Authorization", auth)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.report(0, start)
		var foreign *ForeignOriginError
		if errors.As(err, &foreign) {
			return nil, auth, permanent(foreign)
		}
		return nil, auth, fmt.Errorf("%s %s: %w", method, redact(u), stripURL(err))
	}
	defer resp.Body.Close()
	data, err := readBody(resp.Body, c.maxBody+1)
	c.report(resp.StatusCode, start)
	if err != nil {
		return nil, auth, fmt.Errorf("%s %s: reading body: %w", method, redact(u), err)
	}
	if int64(len(data)) > c.maxBody {
		return nil, auth, permanent(fmt.Errorf("%s %s: response body exceeds %d bytes", method, redact(u), c.maxBody))
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, auth, nil
}

func (c *Client) report(status int, start time.Time) {
	if c.observe != nil {
		c.observe(status, time.Since(start))
	}
}

func (c *Client) sameOrigin(u *url.URL) bool { return sameOrigin(u, c.base) }

// confineRedirects returns a copy of hc that follows redirects only within origin. Go re-sends
// credentials on a redirect to the same host name (any port) or a subdomain; we send them to one
// origin only.
func confineRedirects(hc *http.Client, origin *url.URL) *http.Client {
	confined := *hc
	confined.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if origin == nil || !sameOrigin(req.URL, origin) {
			return &ForeignOriginError{URL: redact(req.URL)}
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &confined
}

func sameOrigin(u, origin *url.URL) bool {
	return strings.EqualFold(u.Scheme, origin.Scheme) && strings.EqualFold(hostPort(u), hostPort(origin))
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return u.Hostname() + ":443"
	}
	return u.Hostname() + ":80"
}

// redact keeps a URL fit for logs: no user info, no query string (filters may carry secrets).
func redact(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return r.String()
}

// Redact is redact for a URL as configured or received; one that does not parse is kept only
// if it cannot hold user info.
func Redact(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		return redact(u)
	}
	if strings.Contains(rawURL, "@") {
		return "(an unparsable URL)"
	}
	return rawURL
}

// stripURL drops the *url.Error wrapper, whose message repeats the full URL with its query.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
