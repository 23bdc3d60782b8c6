package trendcas

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/cenkalti/backoff/v5"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
)

// quotaCode and quotaMessage mark a quota refusal, whatever HTTP status carries it.
const (
	quotaCode    = -4290001
	quotaMessage = "maximum allowed requests exceeded"
)

// APIError is a refusal in Trend's error format, {"code": -4000001, "traceId": "…", "msg": "…"}:
// the trace id is what Trend support asks for.
type APIError struct {
	HTTP    *apiclient.HTTPError
	Code    int64
	TraceID string
	Msg     string
	// retryAfter is how long a quota refusal holds every pair back.
	retryAfter time.Duration
}

func (e *APIError) Error() string {
	if e.Code == 0 && e.TraceID == "" && e.Msg == "" {
		return e.HTTP.Error() // not Trend's format: the body's start says more than nothing
	}
	msg := fmt.Sprintf("%s %s: HTTP %d: code %d, traceId %q: %s", e.HTTP.Method, e.HTTP.URL, e.HTTP.Status, e.Code, e.TraceID, e.Msg)
	if e.retryAfter > 0 {
		msg += fmt.Sprintf(" (every pair waits %s)", e.retryAfter)
	}
	return msg
}

// Unwrap exposes the HTTP error and, for a quota refusal, the wait before a retry.
func (e *APIError) Unwrap() []error {
	errs := []error{e.HTTP}
	if e.retryAfter > 0 {
		errs = append(errs, &backoff.RetryAfterError{Duration: e.retryAfter})
	}
	return errs
}

// Quota reports a refusal for exceeding the request quota: HTTP 429, Trend's code -4290001, or
// its message, as the API has been seen to send each of them.
func (e *APIError) Quota() bool {
	return e.HTTP.Status == http.StatusTooManyRequests || e.Code == quotaCode ||
		strings.Contains(strings.ToLower(e.Msg), quotaMessage)
}

// UnknownPair reports a refusal of the request's service or event type itself: an HTTP 400 whose
// message names the service or event parameter and not the time range or page size. The API's
// document gives no code for it (every 400 is -4000001), so the message is all there is; a 400
// about anything else fails the poll and the pair is tried again at the next one.
func (e *APIError) UnknownPair() bool {
	if e.HTTP.Status != http.StatusBadRequest || e.Quota() {
		return false
	}
	msg := strings.ToLower(e.Msg)
	if msg == "" {
		msg = strings.ToLower(e.HTTP.Detail)
	}
	names, aboutRange := false, false
	for _, word := range strings.FieldsFunc(msg, func(r rune) bool { return !unicode.IsLetter(r) }) {
		switch word {
		case "service", "event", "services", "events":
			names = true
		case "start", "end", "time", "range", "limit", "window":
			aboutRange = true
		}
	}
	return names && !aboutRange
}

// errorBody is Trend's error format; camelCase and snake_case both occur.
type errorBody struct {
	Code     json.Number `json:"code"`
	TraceID  string      `json:"traceId"`
	TraceID2 string      `json:"trace_id"`
	Msg      string      `json:"msg"`
	Message  string      `json:"message"`
}

// apiError keeps the start of the vendor's texts only: a body handed over whole (a 200 answer
// that is an error, see decodePage) may be megabytes.
func (b errorBody) apiError(he *apiclient.HTTPError) *APIError {
	code, _ := b.Code.Int64()
	capped := *he
	capped.Detail = apiclient.Truncate(he.Detail)
	return &APIError{
		HTTP: &capped, Code: code,
		TraceID: apiclient.Truncate(cmp.Or(b.TraceID, b.TraceID2)), Msg: apiclient.Truncate(cmp.Or(b.Msg, b.Message)),
	}
}

// classify turns a failed request into the error the engine acts on: a quota refusal pauses
// every pair and is retried after the pause; 5xx and 408 are retried; any other refusal is
// permanent. Errors without an HTTP answer (network, context) pass unchanged.
func classify(err error, quota *Quota) error {
	var he *apiclient.HTTPError
	if !errors.As(err, &he) {
		return err
	}
	var body errorBody
	_ = json.Unmarshal([]byte(he.Detail), &body) // not Trend's format: the fields stay empty
	ae := body.apiError(he)
	switch {
	case ae.Quota():
		ae.retryAfter = he.RetryAfter
		if ae.retryAfter <= 0 {
			ae.retryAfter = defaultPause
		}
		quota.Pause(ae.retryAfter)
		return ae
	case he.Status >= 500, he.Status == http.StatusRequestTimeout:
		return ae
	default:
		return backoff.Permanent(ae)
	}
}

// apiErrorOf returns the APIError in err's chain, if any.
func apiErrorOf(err error) (*APIError, bool) {
	var ae *APIError
	ok := errors.As(err, &ae)
	return ae, ok
}
