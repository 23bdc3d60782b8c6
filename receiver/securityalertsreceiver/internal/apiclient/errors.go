package apiclient

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cenkalti/backoff/v5"
)

// ForeignOriginError reports a link or redirect to a host other than the configured endpoint.
type ForeignOriginError struct{ URL string }

func (e *ForeignOriginError) Error() string {
	return fmt.Sprintf("refusing to follow %s: it is not the configured endpoint's origin, credentials are only sent there", e.URL)
}

// TokenError is a failed token request: no answer from the token endpoint (Status 0), or its
// refusal. Health reporting tells a refused credential from an API that is down by it.
type TokenError struct {
	Status int
	Err    error
}

func (e *TokenError) Error() string { return e.Err.Error() }
func (e *TokenError) Unwrap() error { return e.Err }

// Refused is true when the token endpoint answered and turned the request down (any status
// below 500 but 408 and 429): retrying cannot fix it.
func (e *TokenError) Refused() bool {
	return e.Status > 0 && e.Status < 500 && e.Status != http.StatusTooManyRequests && e.Status != http.StatusRequestTimeout
}

// HTTPError is a non-2xx answer. Its message carries the start of the body, where the vendors
// put their error details.
type HTTPError struct {
	Method     string
	URL        string
	Status     int
	RetryAfter time.Duration
	Detail     string
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s %s: HTTP %d", e.Method, e.URL, e.Status)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return msg
}

// Unwrap lets the retry loop (cenkalti/backoff) see the server's Retry-After.
func (e *HTTPError) Unwrap() error {
	if e.RetryAfter > 0 {
		return &backoff.RetryAfterError{Duration: e.RetryAfter}
	}
	return nil
}

const maxDetail = 512

// Truncate keeps the start of a vendor's text for an error message: at most 512 bytes, cut on
// a character boundary and marked. A body may be megabytes, and may hold what the vendor
// echoed of the request.
func Truncate(text string) string {
	if len(text) <= maxDetail {
		return text
	}
	cut := maxDetail
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + "…"
}

// newHTTPError describes a failed answer. auth, the Authorization header the request carried,
// is cut out of the server's text: some servers echo the request in their error pages.
func newHTTPError(method string, u *url.URL, resp *response, auth string) *HTTPError {
	detail := Truncate(scrub(strings.TrimSpace(string(resp.body)), auth, strings.TrimSpace(strings.TrimPrefix(auth, "Bearer "))))
	return &HTTPError{
		Method: method, URL: redact(u), Status: resp.status, Detail: detail,
		RetryAfter: parseRetryAfter(resp.header.Get("Retry-After"), time.Now()),
	}
}

// scrub replaces every occurrence of the secrets in text.
func scrub(text string, secrets ...string) string {
	for _, s := range secrets {
		if s != "" {
			text = strings.ReplaceAll(text, s, "[REDACTED]")
		}
	}
	return text
}

// classify marks the answers that repeating cannot fix as permanent: client errors other than
// 408 and 429 (a 401 reaching here already survived one credentials refresh).
func classify(e *HTTPError) error {
	switch {
	case e.Status == http.StatusTooManyRequests, e.Status == http.StatusRequestTimeout, e.Status >= 500:
		return e
	default:
		return permanent(e)
	}
}

// parseRetryAfter reads both forms of RFC 9110: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func permanent(err error) error { return backoff.Permanent(err) }

// IsPermanent tells whether err is one that retrying cannot fix.
func IsPermanent(err error) bool {
	var p *backoff.PermanentError
	return errors.As(err, &p)
}

// MalformedError is a response body that does not decode. The page is retried; the message is
// what an operator sees, so it says where the body broke and how it starts.
type MalformedError struct {
	URL    string
	Size   int
	Head   string
	Reason error
}

func (e *MalformedError) Error() string {
	return fmt.Sprintf("malformed response from %s (%d bytes, starting %q): %v", e.URL, e.Size, e.Head, e.Reason)
}

func (e *MalformedError) Unwrap() error { return e.Reason }
