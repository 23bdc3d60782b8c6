package securityalertsreceiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/cenkalti/backoff/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"

	"github.com/securityalerts/securityalerts/internal/apiclient"
	"github.com/securityalerts/securityalerts/internal/engine"
	"github.com/securityalerts/securityalerts/internal/trendcas"
)

// statusHost is a host that records the component status reported to it.
type statusHost struct {
	component.Host
	mu     sync.Mutex
	events []*componentstatus.Event
}

func newStatusHost() *statusHost { return &statusHost{Host: componenttest.NewNopHost()} }

func (h *statusHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev)
}

// reported returns the statuses reported so far, as "Status" or "Status: error".
func (h *statusHost) reported() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, len(h.events))
	for i, ev := range h.events {
		out[i] = statusKey(ev)
	}
	return out
}

// namedStream is a stream of which health and firstPoll read only the name and source.
type namedStream struct{ source, name string }

func (s namedStream) Name() string   { return s.name }
func (s namedStream) Source() string { return s.source }
func (namedStream) Fetch(context.Context, engine.Query) (engine.Page, error) {
	return engine.Page{}, errors.New("not polled in these tests")
}

var (
	usmAlarms   = namedStream{"usm_anywhere", "usm_anywhere/alarms"}
	usmEvents   = namedStream{"usm_anywhere", "usm_anywhere/events"}
	ciscoAlerts = namedStream{"cisco_gta", "cisco_gta/alerts"}
)

func unavailable(url string) error {
	return &apiclient.HTTPError{Method: http.MethodGet, URL: url, Status: http.StatusServiceUnavailable, Detail: "down for maintenance"}
}

func everyStream(string) bool { return true }

// The status is the worst source's, names every source still failing, and turns OK only once
// the last failing source passes again.
func TestStatusIsTheWorstSourceAndRecoversWhenAllPass(t *testing.T) {
	h := newHealth([]engine.Stream{usmAlarms, usmEvents, ciscoAlerts}, everyStream)
	host := newStatusHost()
	h.addHost(host)
	step := func(s engine.Stream, err error) {
		h.polled(s, err)
		h.report()
	}

	step(usmAlarms, nil)
	step(ciscoAlerts, unavailable("https://cisco/alerts"))
	step(usmEvents, unavailable("https://usm/events"))
	step(ciscoAlerts, nil) // one of two failing sources recovers: the other is still named
	step(usmEvents, nil)
	step(usmAlarms, nil) // unchanged: nothing reported

	assert.Equal(t, []string{
		"StatusOK",
		"StatusRecoverableError: cisco_gta: polls failing on 1 of 1 streams; cisco_gta/alerts: GET https://cisco/alerts: HTTP 503: down for maintenance",
		"StatusRecoverableError: cisco_gta: polls failing on 1 of 1 streams; cisco_gta/alerts: GET https://cisco/alerts: HTTP 503: down for maintenance" +
			" | usm_anywhere: polls failing on 1 of 2 streams; usm_anywhere/events: GET https://usm/events: HTTP 503: down for maintenance",
		"StatusRecoverableError: usm_anywhere: polls failing on 1 of 2 streams; usm_anywhere/events: GET https://usm/events: HTTP 503: down for maintenance",
		"StatusOK",
	}, host.reported())
}

// A refused credential is named first, above any failing source, and the status recovers once it
// passes again (a permanent error would be final in the collector's status machine).
func TestRefusedCredentialIsReportedUntilItPasses(t *testing.T) {
	h := newHealth([]engine.Stream{usmAlarms, ciscoAlerts}, everyStream)
	host := newStatusHost()
	h.addHost(host)
	refused := backoff.Permanent(&apiclient.TokenError{Status: http.StatusUnauthorized, Err: errors.New(`token request refused: oauth2: "invalid_client"`)})

	h.polled(ciscoAlerts, unavailable("https://cisco/alerts"))
	h.polled(usmAlarms, refused)
	h.report()
	h.polled(usmAlarms, nil)
	h.polled(ciscoAlerts, nil)
	h.report()

	assert.Equal(t, []string{
		`StatusRecoverableError: usm_anywhere: credentials refused on 1 of 1 streams; usm_anywhere/alarms: token request refused: oauth2: "invalid_client" | ` +
			`cisco_gta: polls failing on 1 of 1 streams; cisco_gta/alerts: GET https://cisco/alerts: HTTP 503: down for maintenance`,
		"StatusOK",
	}, host.reported())
}

// Each pipeline's instance of the shared receiver has its own status: a host added late gets
// the current one at once.
func TestEveryPipelineInstanceGetsTheStatus(t *testing.T) {
	h := newHealth([]engine.Stream{ciscoAlerts}, everyStream)
	logs, metrics := newStatusHost(), newStatusHost()
	h.addHost(logs)
	h.polled(ciscoAlerts, unavailable("https://cisco/alerts"))
	h.report()
	h.addHost(metrics)
	h.report()

	want := []string{"StatusRecoverableError: cisco_gta: polls failing on 1 of 1 streams; cisco_gta/alerts: GET https://cisco/alerts: HTTP 503: down for maintenance"}
	assert.Equal(t, want, logs.reported())
	assert.Equal(t, want, metrics.reported())
}

// With a leader elector, a stream that another replica leads now no longer counts here.
func TestStreamLedElsewhereDoesNotCount(t *testing.T) {
	owned := true
	h := newHealth([]engine.Stream{ciscoAlerts}, func(string) bool { return owned })
	host := newStatusHost()
	h.addHost(host)
	h.polled(ciscoAlerts, unavailable("https://cisco/alerts"))
	h.report()
	owned = false
	h.report()
	owned = true
	h.report() // led here again: its outcome of the previous term is forgotten

	assert.Equal(t, []string{
		"StatusRecoverableError: cisco_gta: polls failing on 1 of 1 streams; cisco_gta/alerts: GET https://cisco/alerts: HTTP 503: down for maintenance",
		"StatusOK",
	}, host.reported())
}

func TestCredentialsRefused(t *testing.T) {
	httpErr := func(status int) *apiclient.HTTPError {
		return &apiclient.HTTPError{Method: http.MethodGet, URL: "https://api/x", Status: status}
	}
	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"401 after a fresh token":         {backoff.Permanent(httpErr(http.StatusUnauthorized)), true},
		"403":                             {fmt.Errorf("page: %w", backoff.Permanent(httpErr(http.StatusForbidden))), true},
		"token endpoint refuses (400)":    {backoff.Permanent(&apiclient.TokenError{Status: http.StatusBadRequest, Err: errors.New("invalid_client")}), true},
		"Trend refuses its token":         {backoff.Permanent(&trendcas.APIError{HTTP: httpErr(http.StatusUnauthorized), Msg: "Invalid token"}), true},
		"token endpoint down (503)":       {&apiclient.TokenError{Status: http.StatusServiceUnavailable, Err: errors.New("unavailable")}, false},
		"token endpoint unreachable":      {&apiclient.TokenError{Err: errors.New("connection refused")}, false},
		"rate limited":                    {httpErr(http.StatusTooManyRequests), false},
		"server error":                    {httpErr(http.StatusBadGateway), false},
		"refused filter (400) is no auth": {backoff.Permanent(httpErr(http.StatusBadRequest)), false},
		"timeout":                         {context.DeadlineExceeded, false},
	} {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, tc.want, credentialsRefused(tc.err), "%v", tc.err)
		})
	}
}
