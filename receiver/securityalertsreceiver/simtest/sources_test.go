package simtest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/securityalerts/securityalerts/internal/simulator"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/collectortest"
)

// instanceHeader carries the collector's service.instance.id when send_instance_id is on.
const instanceHeader = "X-Collector-Instance"

// headerAuth is an authenticator extension that adds one header, as a real one adds a token.
type headerAuth struct {
	component.StartFunc
	component.ShutdownFunc
}

const authHeader = "X-Auth-Extension"

func (headerAuth) RoundTripper(base http.RoundTripper) (http.RoundTripper, error) {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		req = req.Clone(req.Context())
		req.Header.Set(authHeader, "api-token")
		return base.RoundTrip(req)
	}), nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// headerLog remembers, per origin, which of the watched headers each request carried.
type headerLog struct {
	mu   sync.Mutex
	seen map[string]map[string]int // origin → header → requests carrying it
	all  map[string]int
}

func (l *headerLog) wrap(origin string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.all[origin]++
		for _, h := range []string{"X-Api-Key", authHeader, instanceHeader} {
			if r.Header.Get(h) != "" {
				l.seen[origin][h]++
			}
		}
		l.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (l *headerLog) count(origin, header string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if header == "" {
		return l.all[origin]
	}
	return l.seen[origin][header]
}

// The API's headers, its authenticator and the instance header go to the API only: the token
// request, to another origin, carries what OAuth needs and nothing else.
func TestTokenRequestsCarryNoneOfTheAPIsHeaders(t *testing.T) {
	sim := simulator.New(simulator.Options{Seed: 8, Backlog: 5})
	t.Cleanup(sim.Close)
	log := &headerLog{seen: map[string]map[string]int{"api": {}, "token": {}}, all: map[string]int{}}
	api := httptest.NewServer(log.wrap("api", sim.Handler()))
	token := httptest.NewServer(log.wrap("token", sim.Handler()))
	t.Cleanup(api.Close)
	t.Cleanup(token.Close)

	authID := component.MustNewID("headerauth")
	cfg := config(t, map[string]any{
		"send_instance_id": true,
		"cisco_gta": map[string]any{
			"endpoint": api.URL, "token_url": token.URL + "/iroh/oauth2/token",
			"client_id": simClientID, "client_secret": simClientSecret,
			"headers": map[string]any{"X-Api-Key": "api-only"},
			"auth":    map[string]any{"authenticator": authID.String()},
		},
	})

	set := settings(t)
	set.Resource.Attributes().PutStr("service.instance.id", "replica-1")
	logs := &consumertest.LogsSink{}
	stop := runWith(t, set, cfg, collectortest.Host(map[component.ID]component.Component{authID: headerAuth{}}), logs, nil)
	require.Eventually(t, func() bool { return logs.LogRecordCount() >= 10 }, 10*time.Second, 10*time.Millisecond)
	stop()

	require.Positive(t, log.count("token", ""), "no token request was made")
	for _, h := range []string{"X-Api-Key", authHeader, instanceHeader} {
		assert.Zero(t, log.count("token", h), "token requests carried %s", h)
		assert.Equal(t, log.count("api", ""), log.count("api", h), "API requests without %s", h)
	}
}
